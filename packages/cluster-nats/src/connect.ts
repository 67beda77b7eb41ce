import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { ClusterConfig } from '@cwts/core/cluster';
import { clusterNames, leaseTimings, type ClusterNames } from './names.js';

export interface ClusterHandles {
  nc: NatsConnection;
  names: ClusterNames;
  leases: KV;
  members: KV;
  control: KV;
}

/** How long the stream keeps published fills, orders and state. */
const STREAM_MAX_AGE_NS = 7 * 24 * 3600 * 1e9;

/**
 * Connects and makes sure the cluster's buckets and stream exist (creating them is idempotent;
 * every shard and the aggregator do it, whichever comes first).
 */
export async function openCluster(cfg: ClusterConfig, clientName: string): Promise<ClusterHandles> {
  const nc = await connect({ servers: cfg.servers, name: clientName, timeout: 5000, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  try {
    const names = clusterNames(cfg.name);
    const { ttlMs } = leaseTimings(cfg.takeover_ms);
    // A KV call that has not answered in half a lease lifetime is of no use to a renewal: fail
    // it and try again next round, instead of the client's default 5 s per call while cut off.
    const kvm = new Kvm(jetstream(nc, { timeout: Math.max(1000, Math.round(ttlMs / 2)) }));
    const leases = await kvm.create(names.leases, { history: 1, ttl: ttlMs, replicas: cfg.replicas });
    const members = await kvm.create(names.members, { history: 1, ttl: ttlMs, replicas: cfg.replicas });
    const control = await kvm.create(names.control, { history: 5, replicas: cfg.replicas });
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.info(names.stream);
    } catch {
      try {
        await jsm.streams.add({ name: names.stream, subjects: [names.all], retention: RetentionPolicy.Limits, storage: StorageType.File, max_age: STREAM_MAX_AGE_NS, num_replicas: cfg.replicas });
      } catch (err) {
        // Another process created it between our info and add.
        await jsm.streams.info(names.stream).catch(() => Promise.reject(err));
      }
    }
    return { nc, names, leases, members, control };
  } catch (err) {
    await nc.close().catch(() => {});
    throw err;
  }
}

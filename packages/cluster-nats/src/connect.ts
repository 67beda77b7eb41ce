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
 * The answers nats-server gives the loser of two simultaneous creations of one stream (2.9 can
 * say "subjects overlap" although the other stream is this very one, still being created).
 */
const CREATION_RACE = /subjects overlap with an existing stream|stream name already in use/i;
const CREATION_ATTEMPTS = 6;

/**
 * Runs an idempotent creation again while it loses a race with another process creating the same
 * thing; once the winner's stream is in place the retry finds it and succeeds. Any other error
 * (or the race still lost after the last attempt) is thrown.
 */
async function createRacing<T>(create: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (err) {
      if (attempt >= CREATION_ATTEMPTS || !CREATION_RACE.test((err as Error)?.message ?? '')) throw err;
      await new Promise((r) => setTimeout(r, 25 * attempt));
    }
  }
}

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
    const leases = await createRacing(() => kvm.create(names.leases, { history: 1, ttl: ttlMs, replicas: cfg.replicas }));
    const members = await createRacing(() => kvm.create(names.members, { history: 1, ttl: ttlMs, replicas: cfg.replicas }));
    const control = await createRacing(() => kvm.create(names.control, { history: 5, replicas: cfg.replicas }));
    const jsm = await jetstreamManager(nc);
    await createRacing(async () => {
      try {
        await jsm.streams.info(names.stream);
      } catch {
        await jsm.streams.add({ name: names.stream, subjects: [names.all], retention: RetentionPolicy.Limits, storage: StorageType.File, max_age: STREAM_MAX_AGE_NS, num_replicas: cfg.replicas });
      }
    });
    return { nc, names, leases, members, control };
  } catch (err) {
    await nc.close().catch(() => {});
    throw err;
  }
}

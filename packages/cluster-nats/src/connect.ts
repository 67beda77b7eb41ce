import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { ClusterConfig } from '@cwts/core/cluster';
import { errorText } from './errors.js';
import { clusterNames, leaseTimings, leaseTimingsWithin, legacyStreamName, type ClusterNames, type LeaseTimings } from './names.js';

export interface ClusterHandles {
  nc: NatsConnection;
  names: ClusterNames;
  leases: KV;
  members: KV;
  control: KV;
  /**
   * The lease timings to count leases and membership by: the configured ones, unless a bucket
   * keeps keys for less (its max_age could not be raised): then the bucket's (the smaller binds).
   */
  timings: LeaseTimings;
  /** What was found or changed about the buckets' max_age, for the caller's log. */
  notices: string[];
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
 * Makes the bucket keep keys for at least `wantMs` and returns how long it really keeps them
 * (ms; 0: no max_age). A bucket made by an earlier deployment keeps the max_age of the
 * takeover_ms it ran with, and the KV client reuses it as it is. A shorter one is raised: that
 * never shortens a key anyone counts on (a shard still on the old setting counts its leases for
 * less than the bucket now keeps them). A longer one is never lowered here: a shard running
 * with the longer setting (a rolling change, a rollback) would count its leases past their
 * expiry. Leases then just outlive a dead shard for longer (takeover slower than configured).
 */
async function keepAtLeast(jsm: JetStreamManager, kv: KV, bucket: string, wantMs: number, notices: string[]): Promise<number> {
  const have = (await kv.status()).ttl;
  if (have === 0 || have >= wantMs) {
    if (have !== wantMs) notices.push(`KV bucket ${bucket} keeps keys ${have === 0 ? 'forever' : `${have} ms`}, longer than this process's lease lifetime ${wantMs} ms (0.6 x takeover_ms): kept as it is, a dead shard's keys outlive it that long; lower it by hand only once no process runs with the longer takeover_ms (docs/scale-out.md)`);
    return have;
  }
  try {
    await jsm.streams.update(`KV_${bucket}`, { max_age: wantMs * 1_000_000 });
  } catch (err) {
    notices.push(`KV bucket ${bucket} keeps keys ${have} ms, less than this process's lease lifetime ${wantMs} ms, and raising it failed (${errorText(err)}): leases are counted by the bucket's ${have} ms; raise it by hand (nats stream edit KV_${bucket} --max-age=${wantMs}ms) or set takeover_ms back`);
    return have;
  }
  const now = (await kv.status()).ttl;
  notices.push(`KV bucket ${bucket} kept keys ${have} ms, less than this process's lease lifetime ${wantMs} ms (takeover_ms raised): raised to ${now === 0 ? 'forever' : `${now} ms`}`);
  return now;
}

/** The stream's info, or undefined where the server has no stream of that name (any other failure is thrown). */
async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if ((err as Error)?.name === 'StreamNotFoundError' || /stream not found/i.test((err as Error)?.message ?? '')) return undefined;
    throw err;
  }
}

/**
 * Makes sure a stream stores the cluster's subjects and returns its name: `names.stream`, or the
 * stream an earlier version named for this cluster (upper-cased: legacyStreamName) where that one
 * stores them. A stream of the cluster's name that stores other subjects belongs to another
 * cluster (earlier versions gave `prod` and `PROD` the one stream `CWTS_PROD`): used as it is,
 * nothing this cluster publishes would be stored, so that is an error naming both.
 */
async function ensureStream(jsm: JetStreamManager, cfg: ClusterConfig, names: ClusterNames, notices: string[]): Promise<string> {
  const stores = (i: StreamInfo) => (i.config.subjects ?? []).includes(names.all);
  const found = await streamInfo(jsm, names.stream);
  if (found) {
    if (stores(found)) return names.stream;
    throw new Error(
      `cluster ${JSON.stringify(cfg.name)}: the JetStream stream ${names.stream} exists but stores ${JSON.stringify(found.config.subjects ?? [])}, not ${names.all}: it belongs to another cluster ` +
        `(earlier versions gave cluster names that differ only in case one stream, named for the upper-cased name), and nothing this cluster publishes would be stored. ` +
        `Rename this cluster, or move the other one off that stream (docs/scale-out.md, "Stream names")`,
    );
  }
  const legacy = legacyStreamName(cfg.name);
  if (legacy !== names.stream) {
    const old = await streamInfo(jsm, legacy);
    if (old && stores(old)) {
      notices.push(`the JetStream stream ${legacy} (named by an earlier version) stores this cluster's subjects: kept as it is; a new deployment of this name would use ${names.stream} (docs/scale-out.md, "Stream names")`);
      return legacy;
    }
  }
  await jsm.streams.add({ name: names.stream, subjects: [names.all], retention: RetentionPolicy.Limits, storage: StorageType.File, max_age: STREAM_MAX_AGE_NS, num_replicas: cfg.replicas });
  return names.stream;
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
    const notices: string[] = [];
    const kept = [await keepAtLeast(jsm, leases, names.leases, ttlMs, notices), await keepAtLeast(jsm, members, names.members, ttlMs, notices)].filter((k) => k > 0);
    const timings = leaseTimingsWithin(cfg.takeover_ms, kept.length > 0 ? Math.min(...kept) : 0);
    const stream = await createRacing(() => ensureStream(jsm, cfg, names, notices));
    return { nc, names: { ...names, stream }, leases, members, control, timings, notices };
  } catch (err) {
    await nc.close().catch(() => {});
    throw err;
  }
}

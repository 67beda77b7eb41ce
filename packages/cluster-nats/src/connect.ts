import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { ClusterConfig } from '@cwts/core/cluster';
import { errorText } from './errors.js';
import { clusterNames, leaseTimings, leaseTimingsWithin, legacyStreamName, type ClusterNames, type LeaseTimings } from './names.js';

export interface ClusterHandles {
  nc: NatsConnection;
  /** Its `stream` is updated in place where the stream is recreated under another name (ClusterStore.recover). */
  names: ClusterNames;
  leases: KV;
  members: KV;
  control: KV;
  /**
   * The lease timings to count leases and membership by: the configured ones, unless a bucket
   * keeps keys for less (its max_age could not be raised): then the bucket's (the smaller binds).
   * Live: the same object as `store.timings`, updated in place when a recreated bucket is checked.
   */
  timings: LeaseTimings;
  /** What was found or changed about the buckets' max_age, for the caller's log. */
  notices: string[];
  /** Keeps the buckets and stream there after the start (a server that lost its store). */
  store: ClusterStore;
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
async function keepAtLeast(jsm: JetStreamManager, kv: KV, bucket: string, wantMs: number, notices: string[]): Promise<BucketKept> {
  const before = await kv.status();
  const have = before.ttl;
  const kept = (ms: number, created = before.streamInfo.created): BucketKept => ({ created, keptMs: ms });
  if (have === 0 || have >= wantMs) {
    if (have !== wantMs) notices.push(`KV bucket ${bucket} keeps keys ${have === 0 ? 'forever' : `${have} ms`}, longer than this process's lease lifetime ${wantMs} ms (0.6 x takeover_ms): kept as it is, a dead shard's keys outlive it that long; lower it by hand only once no process runs with the longer takeover_ms (docs/scale-out.md)`);
    return kept(have);
  }
  try {
    await jsm.streams.update(`KV_${bucket}`, { max_age: wantMs * 1_000_000 });
  } catch (err) {
    notices.push(`KV bucket ${bucket} keeps keys ${have} ms, less than this process's lease lifetime ${wantMs} ms, and raising it failed (${errorText(err)}): leases are counted by the bucket's ${have} ms; raise it by hand (nats stream edit KV_${bucket} --max-age=${wantMs}ms) or set takeover_ms back`);
    return kept(have);
  }
  const after = await kv.status();
  const now = after.ttl;
  notices.push(`KV bucket ${bucket} kept keys ${have} ms, less than this process's lease lifetime ${wantMs} ms (takeover_ms raised, or the bucket recreated by a process with a shorter one): raised to ${now === 0 ? 'forever' : `${now} ms`}`);
  return kept(now, after.streamInfo.created);
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

/** What a bucket keeps keys for (ms; 0: no max_age), and which bucket that is (its stream's creation time). */
interface BucketKept {
  created: string;
  keptMs: number;
}

/** What `keep` answers. */
export interface KeptNow {
  /**
   * The longest max_age (ms) of any lease bucket this process has seen, the one before a
   * recreation included: no shard counts a lease in a bucket longer than that bucket keeps it,
   * so a newer bucket's quarantine lasts at least this (0: none seen with a max_age).
   */
  leasesLongestMs: number;
}

/**
 * The cluster's buckets and stream, created by whichever process comes first (openCluster), and
 * again by a running process that finds them gone: a NATS server that lost its store (replicas = 1
 * on a lost disk) answers every KV call of a running process with a timeout, and no process
 * would ever trade again until one was restarted. `recover` (after a failed call) recreates them
 * with the same code openCluster runs; `keep` (whenever a recreated bucket is noticed) makes the
 * lease and member buckets keep keys for at least this process's lease lifetime, or shrinks
 * `timings` to what they keep, before anything is counted in them.
 */
export class ClusterStore {
  /** Live: the same object everywhere it was handed out (handles, shard, leases, membership). */
  readonly timings: LeaseTimings;
  /** Where notices after the start go (recreations, max_age changes). */
  onNotice: (message: string) => void = () => {};
  private kv: { leases: KV; members: KV; control: KV } | undefined;
  private seen: { leases?: BucketKept; members?: BucketKept } = {};
  private leasesLongestMs = 0;
  private recovering: Promise<boolean> | undefined;
  private keeping: Promise<KeptNow> | undefined;

  constructor(
    private readonly cfg: ClusterConfig,
    /** The handles' names: `stream` is set to the stream in use. */
    private readonly names: ClusterNames,
    private readonly kvm: Kvm,
    private readonly jsm: JetStreamManager,
    /** For the probes of `recover`: a short timeout (a probe cut off from the server must not hold up the round for long). */
    private readonly probeJsm: JetStreamManager,
  ) {
    this.timings = leaseTimings(cfg.takeover_ms);
  }

  /** The lease lifetime this process counts by, from its takeover_ms (the least a bucket must keep). */
  private get needMs(): number {
    return leaseTimings(this.cfg.takeover_ms).ttlMs;
  }

  /**
   * What a (re)created lease or member bucket keeps keys for: this process's need, or longer where
   * the bucket it replaces kept them longer (a shard with a longer takeover_ms may still count
   * leases and epochs that long; it raises the new bucket only once it notices it).
   */
  private createTtl(bucket: 'leases' | 'members'): number {
    const before = this.seen[bucket]?.keptMs;
    if (before === undefined) return this.needMs;
    return before === 0 ? 0 : Math.max(this.needMs, before);
  }

  /** Creates whatever is missing (idempotent: every process does it), keeps the buckets' max_age, makes sure of the stream. */
  async ensure(notices: string[]): Promise<{ leases: KV; members: KV; control: KV }> {
    const n = this.names;
    const replicas = this.cfg.replicas;
    const leases = await createRacing(() => this.kvm.create(n.leases, { history: 1, ttl: this.createTtl('leases'), replicas }));
    const members = await createRacing(() => this.kvm.create(n.members, { history: 1, ttl: this.createTtl('members'), replicas }));
    const control = await createRacing(() => this.kvm.create(n.control, { history: 5, replicas }));
    // The first handles stay in use: they address the buckets by name, so they work on recreated ones.
    this.kv ??= { leases, members, control };
    await this.keepBoth(notices);
    n.stream = await createRacing(() => ensureStream(this.jsm, this.cfg, clusterNames(this.cfg.name), notices));
    return { leases, members, control };
  }

  private async keepBoth(notices: string[]): Promise<void> {
    const kv = this.kv!;
    const need = this.needMs;
    const leases = await keepAtLeast(this.jsm, kv.leases, this.names.leases, need, notices);
    const members = await keepAtLeast(this.jsm, kv.members, this.names.members, need, notices);
    this.seen = { leases, members };
    if (leases.keptMs > this.leasesLongestMs) this.leasesLongestMs = leases.keptMs;
    const kept = [leases.keptMs, members.keptMs].filter((k) => k > 0);
    const next = leaseTimingsWithin(this.cfg.takeover_ms, kept.length > 0 ? Math.min(...kept) : 0);
    if (next.ttlMs !== this.timings.ttlMs) notices.push(`leases and membership are counted for ${next.ttlMs} ms from now on (was ${this.timings.ttlMs} ms; renewed every ${next.tickMs} ms): the buckets keep keys no longer`);
    Object.assign(this.timings, next);
  }

  /**
   * Re-reads both buckets' max_age and makes them keep keys at least this process's lease
   * lifetime (raised as at the start), or shrinks `timings` to what they keep where that fails.
   * Called whenever a recreated bucket is noticed, before any lease or epoch is counted in it.
   * Throws where the server does not answer (nothing may be counted in the bucket then).
   */
  keep(): Promise<KeptNow> {
    this.keeping ??= (async () => {
      const notices: string[] = [];
      try {
        await this.keepBoth(notices);
      } finally {
        for (const m of notices) this.onNotice(m);
      }
      return { leasesLongestMs: this.leasesLongestMs };
    })().finally(() => (this.keeping = undefined));
    return this.keeping;
  }

  /**
   * After a KV or stream call failed: whether the server has lost the buckets or the stream (it
   * answers "stream not found" at once where its KV calls just time out), and if so recreates
   * them as openCluster does. True when something was recreated. Never throws: a server that
   * does not answer is asked again after the next failure.
   */
  recover(): Promise<boolean> {
    this.recovering ??= this.recoverOnce().finally(() => (this.recovering = undefined));
    return this.recovering;
  }

  private async recoverOnce(): Promise<boolean> {
    if (!this.kv) return false;
    const n = this.names;
    const streams = [`KV_${n.leases}`, `KV_${n.members}`, `KV_${n.control}`, n.stream];
    let found: (StreamInfo | undefined)[];
    try {
      found = await Promise.all(streams.map((name) => streamInfo(this.probeJsm, name)));
    } catch {
      return false; // no answer (cut off, JetStream not ready yet): the next failure asks again
    }
    const missing = streams.filter((_, i) => !found[i]);
    if (missing.length === 0) return false;
    const notices: string[] = [];
    try {
      await this.ensure(notices);
    } catch (err) {
      notices.push(`the NATS server has no ${missing.join(', ')} (it lost its store?), and recreating them failed (${errorText(err)}): retried after the next failed call`);
      return false;
    } finally {
      for (const m of notices) this.onNotice(m);
    }
    this.onNotice(`the NATS server had no ${missing.join(', ')} (it lost its store?): recreated; no lease is taken from the new lease bucket for a lease lifetime (docs/scale-out.md, "NATS loses its store")`);
    return true;
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
    const callTimeout = Math.max(1000, Math.round(ttlMs / 2));
    const kvm = new Kvm(jetstream(nc, { timeout: callTimeout }));
    const store = new ClusterStore(cfg, names, kvm, await jetstreamManager(nc), await jetstreamManager(nc, { timeout: callTimeout }));
    const notices: string[] = [];
    const { leases, members, control } = await store.ensure(notices);
    return { nc, names, leases, members, control, timings: store.timings, notices, store };
  } catch (err) {
    await nc.close().catch(() => {});
    throw err;
  }
}

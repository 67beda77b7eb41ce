/**
 * Every name the cluster puts on the NATS server, derived from `[cluster] name`, so several
 * clusters can share one server without seeing each other.
 */

/** KV keys allow `[-/_=.A-Za-z0-9]`; `.` separates tokens. Anything else in a symbol is `=XX` (hex). */
function keyToken(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, (ch) => `=${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(2, '0')}`);
}

/** The lease key of a symbol, e.g. `binance.BTCUSDT` (KV keys cannot hold `:`). */
export function leaseKey(exchange: string, symbol: string): string {
  return `${keyToken(exchange)}.${keyToken(symbol)}`;
}

export interface ClusterNames {
  /** KV bucket: one key per symbol, its value the holding shard; max_age = lease lifetime. */
  leases: string;
  /** KV bucket: one key per live shard (heartbeat); max_age = lease lifetime. */
  members: string;
  /** KV bucket without expiry: `budget` (reservations of max_total_position), `halt`, `reduce` and `peak`. */
  control: string;
  /** JetStream stream holding every published subject of the cluster. */
  stream: string;
  /** `cwts.<cluster>.<kind>.<shard>`. */
  subject(kind: PublishedKind, shard: string): string;
  /** Every subject of one kind, any shard. */
  allOf(kind: PublishedKind): string;
  /** Every subject of the cluster. */
  all: string;
}

/** What shards and the aggregator publish (docs/scale-out.md lists the payloads). */
export type PublishedKind = 'fill' | 'order' | 'state' | 'risk' | 'lease' | 'member' | 'halt' | 'reduce' | 'budget' | 'aggregate';

export const BUDGET_KEY = 'budget';
export const HALT_KEY = 'halt';
/** Set by the aggregator while the portfolio VaR is above cluster.max_var: the cluster is REDUCING. */
export const REDUCE_KEY = 'reduce';
/** The aggregator's drawdown reference (the peak of the summed equity); `--resume` resets it. */
export const PEAK_KEY = 'peak';

export function clusterNames(cluster: string): ClusterNames {
  const c = keyToken(cluster);
  return {
    leases: `cwts_${c}_leases`,
    members: `cwts_${c}_members`,
    control: `cwts_${c}_control`,
    stream: `CWTS_${c.toUpperCase()}`,
    subject: (kind, shard) => `cwts.${c}.${kind}.${keyToken(shard)}`,
    allOf: (kind) => `cwts.${c}.${kind}.*`,
    all: `cwts.${c}.>`,
  };
}

/** Lease timings derived from `[cluster] takeover_ms` (see config-schema.ts). */
export interface LeaseTimings {
  /** The lease bucket's max_age: a lease not renewed for this long disappears. */
  ttlMs: number;
  /** Renewal and takeover poll period. */
  tickMs: number;
  /** A lease stops counting locally this long before the server can expire it. */
  marginMs: number;
}

export function leaseTimings(takeoverMs: number): LeaseTimings {
  const ttlMs = Math.round(takeoverMs * 0.6);
  return { ttlMs, tickMs: Math.max(100, Math.round(takeoverMs * 0.15)), marginMs: Math.round(ttlMs * 0.2) };
}

/**
 * The timings of a shard whose buckets really keep a key `keptMs` (the smaller of the lease and
 * member buckets' max_age; 0: no max_age). A lease is never counted longer than the server keeps
 * it: where the bucket keeps keys for less than `takeover_ms` asks, the lifetime, renewal period
 * and margin follow the bucket (the same proportions), so no stall can outlast a key we count.
 */
export function leaseTimingsWithin(takeoverMs: number, keptMs: number): LeaseTimings {
  const t = leaseTimings(takeoverMs);
  if (!(keptMs > 0) || keptMs >= t.ttlMs) return t;
  return { ttlMs: keptMs, tickMs: Math.max(100, Math.round(keptMs / 4)), marginMs: Math.round(keptMs * 0.2) };
}

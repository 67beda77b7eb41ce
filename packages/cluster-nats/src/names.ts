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
  /**
   * JetStream stream holding every published subject of the cluster (streamName). openCluster
   * answers with the one really in use: an earlier version's (legacyStreamName) where that one
   * stores the cluster's subjects.
   */
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
    stream: streamName(cluster),
    subject: (kind, shard) => `cwts.${c}.${kind}.${keyToken(shard)}`,
    allOf: (kind) => `cwts.${c}.${kind}.*`,
    all: `cwts.${c}.>`,
  };
}

/**
 * The cluster's stream: `CWTS_` and the name upper-cased, as earlier versions named it, for a name
 * without lower-case letters (`PROD` -> `CWTS_PROD`); a name with some gets `=L` and a bit mask
 * of which characters are lower-case (hex, 4 characters a digit, first character in the lowest
 * bit of the first digit), so names that differ only in case get streams whose names differ even
 * case-folded (nats-server keeps a stream's files in a directory of its name, and a file system
 * may ignore case): `prod` -> `CWTS_PROD=LF`, `Prod` -> `CWTS_PROD=LE`. `=L` never occurs
 * otherwise: the key-token escape puts hex digits after `=`. Earlier versions upper-cased every
 * name, so `prod` and `PROD` shared one stream and the second stored nothing (openCluster keeps
 * an earlier version's stream where it stores this cluster's subjects: legacyStreamName).
 */
export function streamName(cluster: string): string {
  const c = keyToken(cluster);
  const upper = c.toUpperCase();
  if (upper === c) return `CWTS_${upper}`;
  let mask = '';
  for (let i = 0; i < c.length; i += 4) {
    let digit = 0;
    for (let k = 0; k < 4 && i + k < c.length; k++) if (/[a-z]/.test(c[i + k]!)) digit |= 1 << k;
    mask += digit.toString(16).toUpperCase();
  }
  return `CWTS_${upper}=L${mask}`;
}

/** The stream name earlier versions gave every cluster (upper-cased: names that differ only in case collide). */
export function legacyStreamName(cluster: string): string {
  return `CWTS_${keyToken(cluster).toUpperCase()}`;
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

import { commonToNumber } from '@cwts/core/risk';

/** The latest `state` message of one shard, as the aggregator keeps it (common units: quote x 10^-18). */
export interface ShardState {
  shard: string;
  instance: string;
  /** Per process, in publish order: orders the states of one instance. */
  seq: number;
  /** The shard's wall clock when it published: shown, never used to order or age states. */
  ts: number;
  /**
   * The members-bucket revision at which the shard's membership epoch began (server-assigned,
   * increasing): orders two processes of one shard id. Undefined before the first epoch, or
   * from a shard that does not publish it.
   */
  epochRevision: number | undefined;
  /**
   * When the members bucket that epochRevision counts in was created (server ms): revisions
   * restart in a recreated bucket (a store lost, the buckets deleted), so it ranks first.
   * Undefined from a shard that does not publish it (ranks as the oldest bucket).
   */
  epochBucketCreated: number | undefined;
  equity: bigint;
  /** The shard's own equity peak (its risk manager's), when it publishes one. */
  peak: bigint | undefined;
  grossExposure: bigint | undefined;
  reserved: bigint | undefined;
  riskState: string;
  /** `exchange:symbol` -> signed position notional at the shard's mark (common units); undefined: the shard did not value it. */
  positions: Map<string, bigint | undefined>;
  /** `exchange:symbol` -> mark (quote per unit of base) of every instrument the shard has one for. */
  marks: Map<string, number>;
}

export interface AggregateSummary {
  shards: number;
  /** Shards whose last state is older than the stale limit; their last exposure still counts (positions outlive a process). */
  stale: string[];
  equity: bigint;
  peak: bigint;
  /** (peak - equity) / peak, 0 when the peak is not positive. */
  drawdown: number;
  grossExposure: bigint;
  reserved: bigint;
  halted: string[];
  /** States dropped as superseded: older than the instance's latest (seq), or from a replaced process (counter). */
  superseded: number;
}

export interface PortfolioAggregateOptions {
  /** The aggregator's own monotonic clock (ms): every state is stamped with its receive time. */
  monoMs: () => number;
  /** A shard whose last state was received longer ago than this (takeover_ms) is stale. */
  staleAfterMs: number;
}

/** Replaced processes remembered per shard id (their late messages are dropped). */
const RETIRED_PER_SHARD = 16;

interface Held extends ShardState {
  /** The aggregator's monotonic ms when this state arrived (-Infinity: restored, never received). */
  receivedAt: number;
  /** The highest (epochBucketCreated, epochRevision) seen from this instance. */
  rank: Rank | undefined;
  /** Read from the stream at start (restore): nothing says whether its process is alive or long gone. */
  restored: boolean;
}

/**
 * A process replaced without being known older (no comparable rank: silent, or restored from
 * the stream): kept out while the current one reports, never shut out for good.
 */
interface Displaced {
  instance: string;
  /** Its last state's seq: anything up to it is a late or replayed copy. */
  seq: number;
  /** Replaced as a restored state: it was never heard from since the restart, so not for its silence. */
  restored: boolean;
}

/**
 * Orders two membership epochs: the later members bucket first, then the later revision in it.
 * `bucket` undefined: the shard did not say which bucket its revision counts in (an older
 * version, or one that could not read it): it ranks as the oldest bucket, which is only a guess.
 */
interface Rank {
  bucket: number | undefined;
  revision: number;
}

function rankOf(s: ShardState): Rank | undefined {
  return s.epochRevision === undefined ? undefined : { bucket: s.epochBucketCreated, revision: s.epochRevision };
}

function above(a: Rank, b: Rank): boolean {
  const ab = a.bucket ?? 0;
  const bb = b.bucket ?? 0;
  return ab !== bb ? ab > bb : a.revision > b.revision;
}

/** Both epochs' buckets known: their order is the server's, not a guess. */
function comparable(a: Rank | undefined, b: Rank | undefined): boolean {
  return a?.bucket !== undefined && b?.bucket !== undefined;
}

const INT = /^-?\d+$/;
const DECIMAL = /^\d+(\.\d+)?$/;

/** Parses a shard's published state; undefined when it is not one (counted by the caller, never trusted). */
export function parseShardState(raw: unknown): ShardState | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const m = raw as Record<string, unknown>;
  const int = (v: unknown): bigint | undefined => (typeof v === 'string' && INT.test(v) ? BigInt(v) : undefined);
  const equity = int(m.equity);
  if (typeof m.shard !== 'string' || typeof m.instance !== 'string' || typeof m.ts !== 'number' || equity === undefined || typeof m.riskState !== 'string') return undefined;
  if (typeof m.seq !== 'number' || !Number.isSafeInteger(m.seq) || m.seq < 0) return undefined;
  let epochRevision: number | undefined;
  if (m.epochRevision !== undefined && m.epochRevision !== null) {
    if (typeof m.epochRevision !== 'number' || !Number.isSafeInteger(m.epochRevision) || m.epochRevision <= 0) return undefined;
    epochRevision = m.epochRevision;
  }
  let epochBucketCreated: number | undefined;
  if (m.epochBucketCreated !== undefined && m.epochBucketCreated !== null) {
    if (typeof m.epochBucketCreated !== 'number' || !Number.isSafeInteger(m.epochBucketCreated)) return undefined;
    epochBucketCreated = m.epochBucketCreated;
  }
  const positions = new Map<string, bigint | undefined>();
  if (m.positions !== undefined) {
    if (!Array.isArray(m.positions)) return undefined;
    for (const p of m.positions as unknown[]) {
      if (p === null || typeof p !== 'object') return undefined;
      const { exchange, symbol, qty, value } = p as Record<string, unknown>;
      if (typeof exchange !== 'string' || typeof symbol !== 'string' || typeof qty !== 'number' || !Number.isSafeInteger(qty)) return undefined;
      if (value !== undefined && value !== null && int(value) === undefined) return undefined;
      positions.set(`${exchange}:${symbol}`, value === undefined || value === null ? undefined : int(value));
    }
  }
  const marks = new Map<string, number>();
  if (m.marks !== undefined) {
    if (m.marks === null || typeof m.marks !== 'object' || Array.isArray(m.marks)) return undefined;
    for (const [k, v] of Object.entries(m.marks as Record<string, unknown>)) {
      const x = typeof v === 'string' && DECIMAL.test(v) ? Number(v) : Number.NaN;
      if (!(x > 0 && Number.isFinite(x))) return undefined;
      marks.set(k, x);
    }
  }
  return { shard: m.shard, instance: m.instance, seq: m.seq, ts: m.ts, epochRevision, epochBucketCreated, equity, peak: int(m.peak), grossExposure: int(m.grossExposure), reserved: int(m.reserved), riskState: m.riskState, positions, marks };
}

/**
 * Portfolio-wide view over every shard's latest state: summed equity and its peak (drawdown),
 * summed worst-case gross exposure and reservations. A shard that stopped reporting keeps its
 * last figures: its positions are still at the venue until someone closes them.
 *
 * Shard clocks are never trusted for order or age: within one process (`instance`) the higher
 * `seq` wins; between two processes of one shard id the later membership epoch (the members
 * bucket's creation time, then `epochRevision`, both assigned by the server) wins, and any
 * newcomer once the current one has been silent for `staleAfterMs`. A process shown older by a
 * comparable rank is remembered and its messages dropped until it ranks above the current one
 * (a later epoch of its own); one replaced without such a proof (for its silence, or a state
 * restored from the stream) may come back. Staleness and the
 * freshest mark use the aggregator's own receive time.
 */
export class PortfolioAggregate {
  private readonly shards = new Map<string, Held>();
  private readonly retired = new Map<string, string[]>();
  private readonly displaced = new Map<string, Displaced[]>();
  private peak: bigint | undefined;
  /** While the monotonic clock is below this, the sum of the shards' published peaks is a floor for the peak. */
  private seedUntil: number | undefined;
  rejected = 0;
  superseded = 0;

  constructor(private readonly o: PortfolioAggregateOptions) {
    // No drawdown reference known yet (setPeak / resetPeak say otherwise): cautious, see summary().
    this.seedUntil = o.monoMs() + o.staleAfterMs;
  }

  /** Keeps `s` if it is the shard's newest state; false when it was dropped as superseded. */
  update(s: ShardState): boolean {
    const now = this.o.monoMs();
    const prev = this.shards.get(s.shard);
    if (this.retired.get(s.shard)?.includes(s.instance)) {
      // A process shown older keeps its instance when it begins a new epoch (its member key
      // lapsed, then it created one again once the other process left): ranked above the current
      // holder, both buckets known, it is the shard's current process, not a late message (those
      // carry the rank it was retired with). Anything else from it is dropped.
      const r = rankOf(s);
      if (!(prev && prev.instance !== s.instance && r && prev.rank && comparable(r, prev.rank) && above(r, prev.rank))) return this.drop();
      this.unretire(s.shard, s.instance);
    }
    if (prev && prev.instance === s.instance) {
      if (s.seq <= prev.seq) return this.drop(); // out of order, or a duplicate
      const r = rankOf(s);
      const rank = r !== undefined && (prev.rank === undefined || above(r, prev.rank)) ? r : prev.rank;
      this.shards.set(s.shard, { ...s, receivedAt: now, rank, restored: false });
      return true;
    }
    const d = this.displaced.get(s.shard)?.find((x) => x.instance === s.instance);
    if (d && s.seq <= d.seq) return this.drop(); // sent before it was replaced
    if (prev) {
      const r = rankOf(s);
      const ranked = prev.rank !== undefined && r !== undefined;
      const higher = ranked && above(r!, prev.rank!);
      if (ranked && comparable(r, prev.rank)) {
        // Both buckets known: the server's order, whatever either one's silence. Before, a
        // restored state (never received, so always "silent") was replaced by the first state of
        // any other process of the shard id and retired for good: a zombie of an earlier epoch
        // publishing first after an aggregator restart had its figures counted and shut the live
        // shard out until the next restart.
        if (!higher) {
          this.retire(s.shard, s.instance); // an older process: nothing of it counts any more
          return this.drop();
        }
        this.retire(s.shard, prev.instance);
      } else {
        // No proof of order (a rank missing, or ranked without its bucket: only a guess). The
        // newcomer replaces a holder that has been silent for staleAfterMs or was restored (its
        // rank may come from a members bucket since recreated, and a newcomer that reports is
        // the better figure), or one it ranks above by the guess, unless it was itself replaced
        // for its silence: then it waits for the current one to fall silent in turn (else its
        // first late state would win back at once). The holder is not retired: a rank without
        // its bucket once retired a restarted process whose bucket read had failed, for its
        // whole life; it may come back by the same rules.
        const silent = prev.restored || now - prev.receivedAt > this.o.staleAfterMs;
        if (!silent && !(higher && (d === undefined || d.restored))) return this.drop();
        this.displace(s.shard, { instance: prev.instance, seq: prev.seq, restored: prev.restored });
      }
    }
    if (d) this.undisplace(s.shard, s.instance);
    this.shards.set(s.shard, { ...s, receivedAt: now, rank: rankOf(s), restored: false });
    return true;
  }

  /**
   * A shard's last state from the stream, published before this process started (a restart):
   * counted like any state, and stale until the shard publishes again (a dead shard's positions
   * are still at the venue). Ignored when the shard has reported since; false then. Its process
   * is neither known alive nor known silent: a process of the shard id that reports replaces it
   * unless a comparable rank shows that one older (then it is retired, as while live).
   */
  restore(s: ShardState): boolean {
    if (this.shards.has(s.shard) || this.retired.get(s.shard)?.includes(s.instance)) return false;
    this.shards.set(s.shard, { ...s, receivedAt: Number.NEGATIVE_INFINITY, rank: rankOf(s), restored: true });
    return true;
  }

  private drop(): false {
    this.superseded++;
    return false;
  }

  private retire(shard: string, instance: string): void {
    this.undisplace(shard, instance);
    const list = this.retired.get(shard) ?? [];
    list.push(instance);
    if (list.length > RETIRED_PER_SHARD) list.shift();
    this.retired.set(shard, list);
  }

  private unretire(shard: string, instance: string): void {
    const list = this.retired.get(shard);
    if (list) this.retired.set(shard, list.filter((x) => x !== instance));
  }

  private displace(shard: string, d: Displaced): void {
    const list = (this.displaced.get(shard) ?? []).filter((x) => x.instance !== d.instance);
    list.push(d);
    if (list.length > RETIRED_PER_SHARD) list.shift();
    this.displaced.set(shard, list);
  }

  private undisplace(shard: string, instance: string): void {
    const list = this.displaced.get(shard);
    if (list) this.displaced.set(shard, list.filter((x) => x.instance !== instance));
  }

  /** A persisted drawdown reference: the peak is at least this from now on (the higher one wins). */
  setPeak(peak: bigint): void {
    this.seedUntil = undefined;
    if (this.peak === undefined || peak > this.peak) this.peak = peak;
  }

  /** The operator accepted the drawdown (`--resume`): the peak restarts at the summed equity of the next summary. */
  resetPeak(): void {
    this.seedUntil = undefined;
    this.peak = undefined;
  }

  private isStale(s: Held, now: number): boolean {
    return now - s.receivedAt > this.o.staleAfterMs;
  }

  /**
   * Signed exposure per instrument (quote currency), summed over every shard, stale ones
   * included (their positions are still at the venue), and the instruments that some shard
   * holds without a value (left out of the sum).
   */
  exposures(): { exposures: Map<string, number>; unvalued: string[] } {
    const sum = new Map<string, bigint>();
    const unvalued = new Set<string>();
    for (const s of this.shards.values()) {
      for (const [k, v] of s.positions) {
        if (v === undefined) unvalued.add(k);
        else sum.set(k, (sum.get(k) ?? 0n) + v);
      }
    }
    return { exposures: new Map([...sum].map(([k, v]) => [k, commonToNumber(v)])), unvalued: [...unvalued].sort() };
  }

  /** The latest mark of each instrument from the most recently received shard state that is not stale. */
  marks(): Map<string, number> {
    const now = this.o.monoMs();
    const best = new Map<string, { at: number; mark: number }>();
    for (const s of this.shards.values()) {
      if (this.isStale(s, now)) continue;
      for (const [k, mark] of s.marks) {
        const b = best.get(k);
        if (!b || s.receivedAt > b.at) best.set(k, { at: s.receivedAt, mark });
      }
    }
    return new Map([...best].map(([k, v]) => [k, v.mark]));
  }

  /**
   * The portfolio view now. The peak is the highest summed equity seen, from a persisted one
   * (setPeak) when there is one; without one, during the first `staleAfterMs` (every live shard
   * has reported by then) the sum of the shards' own published peaks counts too: at least the
   * peak of the sum, so the drawdown is never understated after a restart.
   */
  summary(): AggregateSummary {
    const now = this.o.monoMs();
    let equity = 0n;
    let shardPeaks = 0n;
    let gross = 0n;
    let reserved = 0n;
    const stale: string[] = [];
    const halted: string[] = [];
    for (const s of this.shards.values()) {
      equity += s.equity;
      shardPeaks += s.peak !== undefined && s.peak > s.equity ? s.peak : s.equity;
      gross += s.grossExposure ?? 0n;
      reserved += s.reserved ?? 0n;
      if (this.isStale(s, now)) stale.push(s.shard);
      if (s.riskState === 'HALTED') halted.push(s.shard);
    }
    if (this.seedUntil !== undefined && now >= this.seedUntil) this.seedUntil = undefined;
    if (this.shards.size > 0) {
      const candidate = this.seedUntil !== undefined && shardPeaks > equity ? shardPeaks : equity;
      if (this.peak === undefined || candidate > this.peak) this.peak = candidate;
    }
    const peak = this.peak ?? 0n;
    const drawdown = peak > 0n ? Number(((peak - equity) * 1_000_000n) / peak) / 1_000_000 : 0;
    return { shards: this.shards.size, stale: stale.sort(), equity, peak, drawdown, grossExposure: gross, reserved, halted: halted.sort(), superseded: this.superseded };
  }
}

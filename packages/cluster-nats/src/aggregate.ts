import { commonToNumber } from '@cwts/core/risk';

/** The latest `state` message of one shard, as the aggregator keeps it (common units: quote x 10^-18). */
export interface ShardState {
  shard: string;
  instance: string;
  ts: number;
  equity: bigint;
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
  return { shard: m.shard, instance: m.instance, ts: m.ts, equity, grossExposure: int(m.grossExposure), reserved: int(m.reserved), riskState: m.riskState, positions, marks };
}

/**
 * Portfolio-wide view over every shard's latest state: summed equity and its peak (drawdown),
 * summed worst-case gross exposure and reservations. A shard that stopped reporting keeps its
 * last figures: its positions are still at the venue until someone closes them.
 */
export class PortfolioAggregate {
  private readonly shards = new Map<string, ShardState>();
  private peak: bigint | undefined;
  rejected = 0;

  update(s: ShardState): void {
    const prev = this.shards.get(s.shard);
    if (prev && prev.instance === s.instance && prev.ts > s.ts) return; // out of order
    this.shards.set(s.shard, s);
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

  /** The latest mark of each instrument from the freshest shard state that is not stale. */
  marks(nowMs: number, staleAfterMs: number): Map<string, number> {
    const best = new Map<string, { ts: number; mark: number }>();
    for (const s of this.shards.values()) {
      if (nowMs - s.ts > staleAfterMs) continue;
      for (const [k, mark] of s.marks) {
        const b = best.get(k);
        if (!b || s.ts > b.ts) best.set(k, { ts: s.ts, mark });
      }
    }
    return new Map([...best].map(([k, v]) => [k, v.mark]));
  }

  summary(nowMs: number, staleAfterMs: number): AggregateSummary {
    let equity = 0n;
    let gross = 0n;
    let reserved = 0n;
    const stale: string[] = [];
    const halted: string[] = [];
    for (const s of this.shards.values()) {
      equity += s.equity;
      gross += s.grossExposure ?? 0n;
      reserved += s.reserved ?? 0n;
      if (nowMs - s.ts > staleAfterMs) stale.push(s.shard);
      if (s.riskState === 'HALTED') halted.push(s.shard);
    }
    if (this.shards.size > 0 && (this.peak === undefined || equity > this.peak)) this.peak = equity;
    const peak = this.peak ?? 0n;
    const drawdown = peak > 0n ? Number(((peak - equity) * 1_000_000n) / peak) / 1_000_000 : 0;
    return { shards: this.shards.size, stale: stale.sort(), equity, peak, drawdown, grossExposure: gross, reserved, halted: halted.sort() };
  }
}

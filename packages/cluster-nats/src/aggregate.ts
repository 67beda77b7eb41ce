/** The latest `state` message of one shard, as the aggregator keeps it (common units: quote x 10^-18). */
export interface ShardState {
  shard: string;
  instance: string;
  ts: number;
  equity: bigint;
  grossExposure: bigint | undefined;
  reserved: bigint | undefined;
  riskState: string;
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

/** Parses a shard's published state; undefined when it is not one (counted by the caller, never trusted). */
export function parseShardState(raw: unknown): ShardState | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const m = raw as Record<string, unknown>;
  const int = (v: unknown): bigint | undefined => (typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : undefined);
  const equity = int(m.equity);
  if (typeof m.shard !== 'string' || typeof m.instance !== 'string' || typeof m.ts !== 'number' || equity === undefined || typeof m.riskState !== 'string') return undefined;
  return { shard: m.shard, instance: m.instance, ts: m.ts, equity, grossExposure: int(m.grossExposure), reserved: int(m.reserved), riskState: m.riskState };
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

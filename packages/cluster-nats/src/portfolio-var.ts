import { computeVaR, type VaRMethod, type VaRResult } from '@cwts/core/risk';

export interface PortfolioVaROptions {
  /** [risk] var_confidence. */
  confidence: number;
  method: Extract<VaRMethod, 'historical' | 'parametric'>;
  /** Returns kept per instrument. */
  window: number;
  /** Fewer common returns than this: no VaR. */
  minReturns: number;
}

export interface PortfolioVaRResult extends VaRResult {
  /** Exposure per instrument (quote currency, signed: position notional at the mark, all shards together). */
  exposures: Record<string, number>;
  /**
   * Instruments with a position but too short a return history: left out, so the VaR is a lower
   * bound (the aggregator may set REDUCING on it, never clear it).
   */
  missing: string[];
}

/**
 * Consecutive samples an instrument's mark may be missing from (no fresh state carries it: a
 * shard restarting, a feed resyncing) before its return series starts again.
 */
export const MAX_GAP_SAMPLES = 2;

/**
 * Portfolio-wide VaR across shards. The aggregator samples every instrument's mark (from the
 * shards' published state) once per period into a return series per instrument, and computes
 * the VaR of the summed positions with core's VaR code (risk/var.ts), as each shard's
 * RiskManager does for its own book. An instrument whose mark is missing in a sample keeps its
 * series across up to MAX_GAP_SAMPLES missed samples, as core's RiskManager.sampleMarks keeps it:
 * the next return spans the gap (at most MAX_GAP_SAMPLES + 1 periods, larger in expectation than
 * one period's, so the VaR errs high), and a short gap no longer costs `minReturns` periods with
 * the instrument left out of the VaR. A longer gap starts the series again.
 */
export class PortfolioVaR {
  private readonly series = new Map<string, { last: number; returns: number[]; missed: number }>();

  constructor(private readonly o: PortfolioVaROptions) {}

  /** One sampling period: `marks` are the latest fresh marks (quote per unit, > 0). */
  sample(marks: ReadonlyMap<string, number>): void {
    for (const [k, s] of [...this.series]) if (!marks.has(k) && ++s.missed > MAX_GAP_SAMPLES) this.series.delete(k);
    for (const [k, m] of marks) {
      if (!(m > 0 && Number.isFinite(m))) {
        this.series.delete(k);
        continue;
      }
      const s = this.series.get(k);
      if (!s) {
        this.series.set(k, { last: m, returns: [], missed: 0 });
        continue;
      }
      s.returns.push(m / s.last - 1);
      if (s.returns.length > this.o.window) s.returns.shift();
      s.last = m;
      s.missed = 0;
    }
  }

  returnsOf(key: string): readonly number[] {
    return this.series.get(key)?.returns ?? [];
  }

  /**
   * VaR of `exposures` (quote currency per instrument) over one sampling period, on the
   * instruments' common history (the last T returns of each, T the shortest among them).
   * Undefined when no exposed instrument has `minReturns` returns yet.
   */
  async compute(exposures: ReadonlyMap<string, number>): Promise<PortfolioVaRResult | undefined> {
    const names: string[] = [];
    const weights: number[] = [];
    const cols: number[][] = [];
    const missing: string[] = [];
    for (const [k, w] of exposures) {
      if (w === 0) continue;
      const r = this.returnsOf(k);
      if (r.length < this.o.minReturns) {
        missing.push(k);
        continue;
      }
      names.push(k);
      weights.push(w);
      cols.push(r as number[]);
    }
    if (names.length === 0) return undefined;
    const T = Math.min(...cols.map((c) => c.length));
    const rows: number[][] = [];
    for (let t = 0; t < T; t++) rows.push(cols.map((c) => c[c.length - T + t]!));
    const r = await computeVaR(this.o.method, rows, weights, this.o.confidence);
    return { ...r, exposures: Object.fromEntries(names.map((n, j) => [n, weights[j]!])), missing: missing.sort() };
  }
}

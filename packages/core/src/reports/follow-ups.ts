import { instrumentKey, notionalExponent, type Instrument } from '../domain/instrument.js';
import { commonToDecimal, toCommon } from '../risk/portfolio.js';
import type { SessionRecord } from './session.js';

/** What followed one detector's signals within a horizon. */
export interface DetectorFollowUp {
  detector: string;
  signals: number;
  /** Signals with at least one fill on the same instrument within the horizon. */
  signalsWithFills: number;
  /** Distinct fills within the horizon after any of the detector's signals. */
  fills: number;
  /**
   * Mark-out of those fills at the horizon: for each fill, side x (mark(fill.ts + horizon) -
   * price) x qty, exact, quote units (a buy that the price then rose above earned this much).
   */
  markoutPnl: string;
  /** Fees of those fills, quote units. */
  fees: string;
  /** Mean price move in the signal's direction over the horizon, basis points; null when no mark. */
  meanMoveBps: number | null;
}

/** Mark (half-ticks) of an instrument at time t: the last sample at or before t, else the final mark. */
export function markAt(s: SessionRecord, key: string, t: number): number | undefined {
  const m = s.marks[key];
  if (!m || m.ts.length === 0 || t >= s.end) return s.finalMarks[key] ?? (m ? m.halfTicks[m.halfTicks.length - 1] : undefined);
  let lo = 0;
  let hi = m.ts.length - 1;
  if (m.ts[0]! > t) return undefined;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (m.ts[mid]! <= t) lo = mid;
    else hi = mid - 1;
  }
  return m.halfTicks[lo];
}

export function detectorFollowUps(s: SessionRecord, horizonMs: number): DetectorFollowUp[] {
  const instruments = new Map<string, Instrument>(s.instruments.map((i) => [instrumentKey(i.exchange, i.symbol), i]));
  const fillsBy = new Map<string, number[]>();
  s.fills.forEach((f, idx) => {
    const k = instrumentKey(f.exchange, f.symbol);
    (fillsBy.get(k) ?? fillsBy.set(k, []).get(k)!).push(idx);
  });
  const out: DetectorFollowUp[] = [];
  for (const detector of [...new Set(s.signals.map((x) => x.detector))].sort()) {
    const mine = s.signals.filter((x) => x.detector === detector);
    const fillSet = new Set<number>();
    let withFills = 0;
    let moveSum = 0;
    let moveN = 0;
    for (const sig of mine) {
      const key = instrumentKey(sig.exchange, sig.symbol);
      let any = false;
      for (const idx of fillsBy.get(key) ?? []) {
        const f = s.fills[idx]!;
        if (f.ts >= sig.ts && f.ts <= sig.ts + horizonMs) {
          fillSet.add(idx);
          any = true;
        }
      }
      if (any) withFills++;
      const a = markAt(s, key, sig.ts);
      const b = markAt(s, key, sig.ts + horizonMs);
      if (a !== undefined && b !== undefined && a > 0 && sig.direction !== 0) {
        moveSum += (sig.direction * (b - a) * 10_000) / a;
        moveN++;
      }
    }
    let markout = 0n;
    let fees = 0n;
    for (const idx of fillSet) {
      const f = s.fills[idx]!;
      const key = instrumentKey(f.exchange, f.symbol);
      const inst = instruments.get(key);
      const mark = markAt(s, key, f.ts + horizonMs);
      if (!inst) continue;
      const exp = notionalExponent(inst);
      const scale = inst.priceScale.mantissa * inst.qtyScale.mantissa;
      fees += toCommon(f.feeAtoms, exp);
      if (mark === undefined) continue;
      // Half-ticks x lots, halved exactly at the common exponent (which is finer by >= 1 digit).
      const halfTicksLots = BigInt(f.side === 'buy' ? mark - 2 * f.price : 2 * f.price - mark) * BigInt(f.qty) * scale;
      markout += toCommon(halfTicksLots * 5n, exp + 1);
    }
    out.push({ detector, signals: mine.length, signalsWithFills: withFills, fills: fillSet.size, markoutPnl: commonToDecimal(markout), fees: commonToDecimal(fees), meanMoveBps: moveN > 0 ? moveSum / moveN : null });
  }
  return out;
}

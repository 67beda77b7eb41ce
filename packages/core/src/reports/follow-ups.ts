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

/**
 * Index of the first of `ts` (ascending) that is >= `t` (`ts.length` when none): a binary search,
 * reading at most ceil(log2(n + 1)) elements.
 */
export function firstAtOrAfter(ts: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first of `ts` (ascending) that is > `t` (`ts.length` when none); as firstAtOrAfter. */
export function firstAfter(ts: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The fills of one instrument in time order: their indexes in `SessionRecord.fills` and their times. */
interface FillsInTime {
  idx: number[];
  ts: number[];
}

/**
 * What followed each detector's signals within `horizonMs`. Fills per instrument are put in
 * time order once; each signal finds the fills in [its ts, its ts + horizon] by binary search,
 * and the distinct fills of a detector are the union of those windows, walked once per
 * instrument (the windows of signals in time order only move forward). Work is
 * O((fills + signals) log(fills + signals)), not signals x fills: a day of a signal and a fill
 * every second took minutes the other way.
 */
export function detectorFollowUps(s: SessionRecord, horizonMs: number): DetectorFollowUp[] {
  const instruments = new Map<string, Instrument>(s.instruments.map((i) => [instrumentKey(i.exchange, i.symbol), i]));
  const fillsBy = new Map<string, FillsInTime>();
  {
    const order = new Map<string, number[]>();
    s.fills.forEach((f, idx) => {
      const k = instrumentKey(f.exchange, f.symbol);
      (order.get(k) ?? order.set(k, []).get(k)!).push(idx);
    });
    // A journal lists fills in the order they were journaled; a clock step can put them out of time order.
    for (const [k, idx] of order) {
      const ts = idx.map((i) => s.fills[i]!.ts);
      const byTime = idx.map((_, j) => j).sort((a, b) => ts[a]! - ts[b]! || a - b);
      fillsBy.set(k, { idx: byTime.map((j) => idx[j]!), ts: byTime.map((j) => ts[j]!) });
    }
  }
  const out: DetectorFollowUp[] = [];
  const signalsBy = new Map<string, SessionRecord['signals']>();
  for (const sig of s.signals) (signalsBy.get(sig.detector) ?? signalsBy.set(sig.detector, []).get(sig.detector)!).push(sig);
  for (const detector of [...signalsBy.keys()].sort()) {
    const mine = signalsBy.get(detector)!;
    const fillSet: number[] = [];
    let withFills = 0;
    let moveSum = 0;
    let moveN = 0;
    const byInstrument = new Map<string, number[]>();
    for (const sig of mine) {
      const key = instrumentKey(sig.exchange, sig.symbol);
      (byInstrument.get(key) ?? byInstrument.set(key, []).get(key)!).push(sig.ts);
      const a = markAt(s, key, sig.ts);
      const b = markAt(s, key, sig.ts + horizonMs);
      if (a !== undefined && b !== undefined && a > 0 && sig.direction !== 0) {
        moveSum += (sig.direction * (b - a) * 10_000) / a;
        moveN++;
      }
    }
    for (const [key, sigTs] of byInstrument) {
      const fills = fillsBy.get(key);
      if (!fills) continue;
      sigTs.sort((a, b) => a - b);
      // fills[covered..] are not yet counted for this detector
      let covered = 0;
      for (const t of sigTs) {
        const lo = firstAtOrAfter(fills.ts, t);
        const hi = firstAfter(fills.ts, t + horizonMs);
        if (hi > lo) withFills++;
        for (let j = Math.max(lo, covered); j < hi; j++) fillSet.push(fills.idx[j]!);
        covered = Math.max(covered, hi);
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
    out.push({ detector, signals: mine.length, signalsWithFills: withFills, fills: fillSet.length, markoutPnl: commonToDecimal(markout), fees: commonToDecimal(fees), meanMoveBps: moveN > 0 ? moveSum / moveN : null });
  }
  return out;
}

import { instrumentKey, lotsToQty, notionalAtoms, notionalExponent, type Instrument } from '../domain/instrument.js';
import { commonToDecimal, commonToNumber, Portfolio, toCommon } from '../risk/portfolio.js';
import type { CapitalChange, SessionFill, SessionRecord } from './session.js';

/** Return frequency of the Sharpe and Sortino ratios, and their annualization (crypto trades 24/7). */
export interface RatioFrequency {
  /** Return period in milliseconds. */
  periodMs: number;
  /** Periods per 365-day year; ratios are the per-period ratio x sqrt(periodsPerYear). */
  periodsPerYear: number;
  label: string;
}

export const MINUTE_RETURNS: RatioFrequency = { periodMs: 60_000, periodsPerYear: 525_600, label: '1-minute returns, annualized x sqrt(525600)' };

/** PnL figures as exact decimal strings in quote units. */
export interface PnlFigures {
  realized: string;
  unrealized: string;
  fees: string;
  /** realized + unrealized - fees. */
  net: string;
}

export interface TradeFigures {
  fills: number;
  /** Closed round trips (flat -> position -> flat, or a flip through zero). */
  trades: number;
  wins: number;
  losses: number;
  /** wins / trades; null without closed trades. */
  winRate: number | null;
  /** Mean net PnL of winning / losing trades (decimal, truncated toward zero at 1e-18); null without any. */
  avgWin: string | null;
  avgLoss: string | null;
  /** Sum of |price x qty| over fills, quote units, exact. */
  turnover: string;
  /** Time with a non-zero position, ms, and as a fraction of the session. */
  exposureMs: number;
  exposureRatio: number | null;
}

export interface SymbolStatistics extends PnlFigures, TradeFigures {
  exchange: string;
  symbol: string;
  /** Position at the end, decimal base units. */
  position: string;
}

export interface VenueStatistics extends PnlFigures, TradeFigures {
  exchange: string;
}

export interface SessionStatistics extends PnlFigures, TradeFigures {
  start: number;
  end: number;
  durationMs: number;
  initialEquity: string;
  /** initialEquity + the capital changes + net. */
  finalEquity: string;
  /**
   * Changes of the starting capital during the session (a journal over a restart with another
   * `[risk] initial_equity`): deposits (> 0) and withdrawals (< 0), quote units; absent when none.
   */
  capitalChanges?: { ts: number; amount: string }[];
  /**
   * net / initialEquity; with capital changes the time-weighted return (the change is not a
   * return: docs/reports.md). Null when no initial equity is configured.
   */
  return: number | null;
  /** Largest peak-to-trough fall of equity, quote units (positive or "0"). */
  maxDrawdown: string;
  /**
   * Largest fall as a share of its peak, (peak - trough) / peak, as the risk engine's
   * drawdownRatio: not always the largest amount's fall. 0 without a fall; null without initial
   * equity (a fraction of peak PnL means nothing).
   */
  maxDrawdownRatio: number | null;
  /** Peak and trough of that share's fall (null without one, or without initial equity). */
  maxDrawdownRatioPeakTs: number | null;
  maxDrawdownRatioTroughTs: number | null;
  /** Peak and trough of the largest amount's fall. */
  maxDrawdownPeakTs: number | null;
  maxDrawdownTroughTs: number | null;
  /** Longest time under a previous equity peak (until recovered, or until the end), ms. */
  maxDrawdownDurationMs: number;
  sharpe: number | null;
  sortino: number | null;
  ratioFrequency: string;
  /** Number of returns behind the ratios. */
  ratioPeriods: number;
  /** turnover / initialEquity; null without initial equity. */
  turnoverRatio: number | null;
  bySymbol: SymbolStatistics[];
  byVenue: VenueStatistics[];
}

/**
 * Equity (capital + net PnL) x 10^-18 at each PnL sample, the capital being the initial one plus
 * the changes so far (a journal: each snapshot's own risk equity); `flows` are those changes.
 */
export function equitySeries(s: SessionRecord): { ts: number[]; equity: bigint[]; flows: readonly CapitalChange[] } {
  const ts: number[] = [];
  const equity: bigint[] = [];
  const flows = s.capitalChanges ?? [];
  let capital = s.initialEquity;
  let f = 0;
  for (let k = 0; k < s.pnl.length; k++) {
    const p = s.pnl[k]!;
    while (f < flows.length && flows[f]!.index <= k) capital += flows[f++]!.amount;
    ts.push(p.ts);
    equity.push(capital + p.realized + p.unrealized - p.fees);
  }
  return { ts, equity, flows };
}

/**
 * Drawdown (peak so far - equity, >= 0) x 10^-18 at each PnL sample. A capital change moves the
 * peak by its amount, as the risk engine moves its restored peak: a withdrawal is not a fall.
 */
export function drawdownSeries(equity: readonly bigint[], flows: readonly CapitalChange[] = []): bigint[] {
  const out: bigint[] = [];
  walkPeaks(equity, flows, (_k, e, peak) => out.push(peak - e));
  return out;
}

/**
 * The peak walk drawdownSeries and the statistics' maxDrawdown share, so the chart and the
 * figures cannot disagree: each capital change moves the peak by its amount before the sample
 * it starts at (`index`), as the risk engine moves its restored peak; one at or before the first
 * sample is already in that sample's equity. `visit` sees each sample with the peak after it,
 * and `top`: the sample is that peak (at or above the one before; an equal sample restarts the
 * underwater time).
 */
function walkPeaks(equity: readonly bigint[], flows: readonly CapitalChange[], visit: (k: number, e: bigint, peak: bigint, top: boolean) => void): void {
  let peak: bigint | undefined;
  let f = 0;
  for (let k = 0; k < equity.length; k++) {
    const e = equity[k]!;
    while (f < flows.length && flows[f]!.index <= k) {
      if (peak !== undefined) peak += flows[f]!.amount;
      f++;
    }
    const top = peak === undefined || e >= peak;
    if (top) peak = e;
    visit(k, e, peak!, top);
  }
}

/**
 * The summary statistics of a session: a pure function of the record. Money is recomputed
 * from the fills in integers (FIFO lots, the engine's own Position) and marked at `finalMarks`;
 * ratios are floats by the formulas in docs/reports.md.
 */
export function sessionStatistics(s: SessionRecord, freq: RatioFrequency = MINUTE_RETURNS): SessionStatistics {
  const durationMs = Math.max(0, s.end - s.start);
  const instruments = new Map(s.instruments.map((i) => [instrumentKey(i.exchange, i.symbol), i]));
  const fillsBy = new Map<string, SessionFill[]>();
  for (const f of s.fills) {
    const k = instrumentKey(f.exchange, f.symbol);
    if (!instruments.has(k)) throw new Error(`fill ${f.clientOrderId} is on ${k}, which the session does not list`);
    let list = fillsBy.get(k);
    if (!list) fillsBy.set(k, (list = []));
    list.push(f);
  }
  const bySymbol: SymbolStatistics[] = [];
  const acc: Accumulated[] = [];
  for (const [key, inst] of instruments) {
    const fills = fillsBy.get(key) ?? [];
    if (fills.length === 0) continue;
    const a = accumulate(inst, fills, s.finalMarks[key], s.end);
    acc.push(a);
    bySymbol.push({ exchange: inst.exchange, symbol: inst.symbol, ...pnlFigures(a), ...tradeFigures(a, durationMs), position: lotsToQty(inst, a.position) });
  }
  const byVenue: VenueStatistics[] = [];
  for (const ex of [...new Set(acc.map((a) => a.instrument.exchange))]) {
    const m = merge(acc.filter((a) => a.instrument.exchange === ex));
    byVenue.push({ exchange: ex, ...pnlFigures(m), ...tradeFigures(m, durationMs) });
  }
  const all = merge(acc);

  const { ts, equity, flows } = equitySeries(s);
  const dd = maxDrawdown(ts, equity, s.end, flows);
  const net = all.realized + all.unrealized - all.fees;
  const initial = s.initialEquity;
  const deposited = flows.reduce((a, x) => a + x.amount, 0n);
  const ratios = returnRatios(ts, equity, s.start, s.end, freq, flows);
  return {
    start: s.start,
    end: s.end,
    durationMs,
    initialEquity: commonToDecimal(initial),
    finalEquity: commonToDecimal(initial + deposited + net),
    ...(flows.length > 0 ? { capitalChanges: flows.map((x) => ({ ts: x.ts, amount: commonToDecimal(x.amount) })) } : {}),
    ...pnlFigures(all),
    ...tradeFigures(all, durationMs),
    return: initial > 0n ? timeWeightedReturn(initial, net, equity, flows) : null,
    maxDrawdown: commonToDecimal(dd.amount),
    maxDrawdownRatio: initial > 0n ? ratio(dd.ratio.num, dd.ratio.den) : null,
    maxDrawdownRatioPeakTs: initial > 0n ? dd.ratio.peakTs : null,
    maxDrawdownRatioTroughTs: initial > 0n ? dd.ratio.troughTs : null,
    maxDrawdownPeakTs: dd.peakTs,
    maxDrawdownTroughTs: dd.troughTs,
    maxDrawdownDurationMs: dd.longestUnderwaterMs,
    sharpe: ratios.sharpe,
    sortino: ratios.sortino,
    ratioFrequency: freq.label,
    ratioPeriods: ratios.n,
    turnoverRatio: initial > 0n ? ratio(all.turnover, initial) : null,
    bySymbol,
    byVenue,
  };
}

/**
 * net / initial without capital changes. With them, the return of each stretch between two
 * changes, chained: prod(E before the change / E after the previous one) - 1, from `initial` to
 * the final equity (initial + changes + net); a deposit is not a gain nor a withdrawal a loss.
 * Null when the equity a stretch starts from is <= 0.
 */
function timeWeightedReturn(initial: bigint, net: bigint, equity: readonly bigint[], flows: readonly CapitalChange[]): number | null {
  if (flows.length === 0) return ratio(net, initial);
  let base = initial;
  let growth = 1;
  let deposited = 0n;
  for (const x of flows) {
    // `index` is never 0: the first sample defines the initial capital.
    const before = equity[x.index - 1] ?? base;
    growth *= ratio(before, base);
    base = before + x.amount;
    deposited += x.amount;
    if (base <= 0n) return null;
  }
  return growth * ratio(initial + deposited + net, base) - 1;
}

/** a / b for bigints of the same unit, as a float without first rounding either to 2^53. */
function ratio(a: bigint, b: bigint): number {
  // Scale to keep ~17 significant digits of the quotient, then one float division.
  const q = (a * 10n ** 18n) / b;
  return Number(q) / 1e18;
}

interface Accumulated {
  instrument: Instrument;
  realized: bigint;
  unrealized: bigint;
  fees: bigint;
  turnover: bigint;
  fills: number;
  /** Closed round trips' net PnL x 10^-18. */
  tradeNets: bigint[];
  position: number;
  /** [from, to) intervals with a non-zero position. */
  exposed: [number, number][];
}

function accumulate(inst: Instrument, fills: readonly SessionFill[], finalMark: number | undefined, end: number): Accumulated {
  const p = new Portfolio();
  const pos = p.position(inst);
  const exp = notionalExponent(inst);
  const scale = inst.priceScale.mantissa * inst.qtyScale.mantissa;
  const common = (ticksLots: bigint) => toCommon(ticksLots * scale, exp);
  let turnover = 0n;
  const tradeNets: bigint[] = [];
  let tradeRealized = 0n;
  let tradeFees = 0n;
  let openSince: number | undefined;
  const exposed: [number, number][] = [];
  for (const f of fills) {
    const before = pos.qty;
    const realizedBefore = pos.realizedTicksLots;
    pos.applyFill(f.side, f.price, f.qty, f.feeAtoms);
    pos.lastPrice = f.price;
    const after = pos.qty;
    turnover += toCommon(notionalAtoms(inst, f.price, f.qty), exp);
    tradeRealized += pos.realizedTicksLots - realizedBefore;
    // The fill that closes (or flips) a round trip carries its whole fee into that trade.
    tradeFees += toCommon(f.feeAtoms, exp);
    const closed = before !== 0 && (after === 0 || Math.sign(after) !== Math.sign(before));
    if (closed) {
      tradeNets.push(common(tradeRealized) - tradeFees);
      tradeRealized = 0n;
      tradeFees = 0n;
    }
    if (before === 0 && after !== 0) openSince = f.ts;
    else if (before !== 0 && after === 0 && openSince !== undefined) {
      // A journal lists fills in the order they were journaled: after a step back of the host
      // clock the closing fill can be stamped before the opening one. Zero, not negative, time.
      exposed.push([openSince, Math.max(openSince, f.ts)]);
      openSince = undefined;
    }
  }
  if (openSince !== undefined) exposed.push([openSince, Math.max(openSince, end)]);
  const t = p.totals(() => finalMark);
  return { instrument: inst, realized: t.realized, unrealized: t.unrealized, fees: t.fees, turnover, fills: fills.length, tradeNets, position: pos.qty, exposed };
}

/** Sums per-instrument results; exposure is the union of the instruments' exposed time. */
function merge(parts: readonly Accumulated[]): Accumulated {
  const m: Accumulated = { instrument: parts[0]?.instrument as Instrument, realized: 0n, unrealized: 0n, fees: 0n, turnover: 0n, fills: 0, tradeNets: [], position: 0, exposed: [] };
  for (const a of parts) {
    m.realized += a.realized;
    m.unrealized += a.unrealized;
    m.fees += a.fees;
    m.turnover += a.turnover;
    m.fills += a.fills;
    // Loops, not push(...xs): a spread passes every element as an argument, and V8 overflows
    // its stack past ~10^5 of them (a day of market making closes more round trips than that).
    for (const n of a.tradeNets) m.tradeNets.push(n);
    for (const iv of a.exposed) m.exposed.push(iv);
  }
  m.exposed = unionIntervals(m.exposed);
  return m;
}

function unionIntervals(list: [number, number][]): [number, number][] {
  const sorted = [...list].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

function pnlFigures(a: Accumulated): PnlFigures {
  return { realized: commonToDecimal(a.realized), unrealized: commonToDecimal(a.unrealized), fees: commonToDecimal(a.fees), net: commonToDecimal(a.realized + a.unrealized - a.fees) };
}

function tradeFigures(a: Accumulated, durationMs: number): TradeFigures {
  const wins = a.tradeNets.filter((n) => n > 0n);
  const losses = a.tradeNets.filter((n) => n < 0n);
  const mean = (xs: bigint[]) => (xs.length === 0 ? null : commonToDecimal(xs.reduce((x, y) => x + y, 0n) / BigInt(xs.length)));
  const exposureMs = a.exposed.reduce((t, [x, y]) => t + (y - x), 0);
  return {
    fills: a.fills,
    trades: a.tradeNets.length,
    wins: wins.length,
    losses: losses.length,
    winRate: a.tradeNets.length === 0 ? null : wins.length / a.tradeNets.length,
    avgWin: mean(wins),
    avgLoss: mean(losses),
    turnover: commonToDecimal(a.turnover),
    exposureMs,
    exposureRatio: durationMs > 0 ? exposureMs / durationMs : null,
  };
}

/**
 * The largest fall by amount and, separately, by share of its peak: they are different falls
 * when equity grew in between (100 -> 50 is 50 %, 1000 -> 900 is a larger amount but 10 %), and
 * the share is what the risk engine's drawdownRatio (cwts_drawdown_ratio, the HALT) measures.
 */
function maxDrawdown(ts: readonly number[], equity: readonly bigint[], end: number, flows: readonly CapitalChange[] = []) {
  let peakTs = 0;
  let best = { amount: 0n, peak: 0n, peakTs: null as number | null, troughTs: null as number | null };
  // (peak - e) / peak as an exact fraction num / den, compared by cross-multiplying (den > 0)
  let worst = { num: 0n, den: 1n, peakTs: null as number | null, troughTs: null as number | null };
  let underwaterSince: number | undefined;
  let longest = 0;
  walkPeaks(equity, flows, (k, e, peak, top) => {
    if (top) {
      if (underwaterSince !== undefined) longest = Math.max(longest, ts[k]! - underwaterSince);
      underwaterSince = undefined;
      peakTs = ts[k]!;
      return;
    }
    underwaterSince ??= peakTs;
    if (peak - e > best.amount) best = { amount: peak - e, peak, peakTs, troughTs: ts[k]! };
    // A fall from a peak at or below zero counts as 1 (all of it), as EquityTracker.drawdownRatio does.
    const [num, den] = peak > 0n ? [peak - e, peak] : [1n, 1n];
    if (num * worst.den > worst.num * den) worst = { num, den, peakTs, troughTs: ts[k]! };
  });
  if (underwaterSince !== undefined) longest = Math.max(longest, end - underwaterSince);
  return { ...best, ratio: worst, longestUnderwaterMs: longest };
}

/**
 * Sharpe and Sortino of period returns. Equity is read at each period boundary (start + k x
 * periodMs, the last sample at or before it), and at `end` when a sample lies after the last
 * boundary (the session's last, partial period); r_k = (E_k - F_k) / E_{k-1} - 1, F_k the capital
 * changes (`flows`) among the samples read since E_{k-1} (0 but across a restart with another
 * starting capital: a deposit is not a return). Sharpe = mean(r) /
 * stdev(r) (sample, n - 1) x sqrt(periodsPerYear); Sortino = mean(r) / sqrt(sum(min(r, 0)^2) / n)
 * x sqrt(periodsPerYear). Null with fewer than two returns, a zero denominator, or any level E_k <= 0
 * (the first and the last included).
 *
 * The boundaries between two samples all read the same level, so their returns are exactly 0:
 * such a flat stretch is counted (`zeroReturns`), never walked or stored one period at a time.
 * Work and memory are O(samples) whatever the span: a span of 8,000 years (a `--to` of
 * 9999-12-31, a clock gone wrong) has 4 x 10^9 minutes, which as an array took ~240 GB.
 */
export function returnRatios(
  ts: readonly number[], equity: readonly bigint[], start: number, end: number, freq: RatioFrequency, flows: readonly CapitalChange[] = [],
): { sharpe: number | null; sortino: number | null; n: number; nonZeroReturns: number[]; zeroReturns: number } {
  const P = freq.periodMs;
  const none = { sharpe: null, sortino: null, n: 0, nonZeroReturns: [], zeroReturns: 0 };
  const nonZeroReturns: number[] = [];
  let zeroReturns = 0;
  let previous: number | undefined;
  /** Capital changes among the samples read since the last level: not a return. */
  let flow = 0n;
  let f = 0;
  const read = (k: number): bigint => {
    while (f < flows.length && flows[f]!.index <= k) flow += flows[f++]!.amount;
    return equity[k]!;
  };
  /** `count` equal levels at consecutive boundaries: one return against the level before, then count - 1 zeros. */
  const levels = (level: bigint, count: number): boolean => {
    // Any level at or below zero (the last one included: an account that ends blown up) makes
    // the returns meaningless (E_k / E_{k-1} - 1 below -100%, or a division by <= 0). Checked on
    // the exact bigint, not its float.
    if (level <= 0n) return false;
    const x = commonToNumber(level);
    if (previous !== undefined) {
      // (E_k - F_k) / E_{k-1} - 1, F_k the capital changes since E_{k-1}: E_k - F_k <= 0 is an
      // account at or below zero before a deposit.
      const moved = level - flow;
      if (moved <= 0n) return false;
      const r = commonToNumber(moved) / previous - 1;
      if (r === 0) zeroReturns++;
      else nonZeroReturns.push(r);
    }
    zeroReturns += count - 1;
    previous = x;
    flow = 0n;
    return true;
  };
  // Boundaries b_j = start + j x P for j = 0..lastBoundary. At b_j the level is the last sample at
  // or before it; it changes only at the first boundary at or after a sample's time.
  const lastBoundary = end >= start ? Math.floor((end - start) / P) : -1;
  let k = 0;
  let last: bigint | undefined;
  let j = 0;
  while (j <= lastBoundary) {
    const b = start + j * P;
    while (k < ts.length && ts[k]! <= b) last = read(k++);
    // the next boundary at which another sample is seen (past the last boundary when none is)
    const next = k < ts.length ? Math.min(lastBoundary + 1, firstBoundaryAtOrAfter(ts[k]!, start, P, j + 1)) : lastBoundary + 1;
    if (last !== undefined && !levels(last, next - j)) return none;
    j = next;
  }
  // The samples after the last boundary: where a session that ends between two boundaries
  // ends, blown up or not; without them its last partial period is never looked at.
  if (k < ts.length && ts[k]! <= end) {
    while (k < ts.length && ts[k]! <= end) last = read(k++);
    if (!levels(last!, 1)) return none;
  }
  const n = nonZeroReturns.length + zeroReturns;
  if (n < 2) return { sharpe: null, sortino: null, n, nonZeroReturns, zeroReturns };
  const mean = nonZeroReturns.reduce((a, b) => a + b, 0) / n;
  // sum over all returns of (r - mean)^2: the zero returns add mean^2 each
  const variance = (nonZeroReturns.reduce((a, r) => a + (r - mean) ** 2, 0) + zeroReturns * mean ** 2) / (n - 1);
  const downside = Math.sqrt(nonZeroReturns.reduce((a, r) => a + Math.min(r, 0) ** 2, 0) / n);
  const annual = Math.sqrt(freq.periodsPerYear);
  return {
    sharpe: variance > 0 ? (mean / Math.sqrt(variance)) * annual : null,
    sortino: downside > 0 ? (mean / downside) * annual : null,
    n,
    nonZeroReturns,
    zeroReturns,
  };
}

/** The least j >= `atLeast` with start + j x periodMs >= t; exact in integers (a float quotient can round across one). */
function firstBoundaryAtOrAfter(t: number, start: number, periodMs: number, atLeast: number): number {
  let j = Math.max(atLeast, Math.floor((t - start) / periodMs));
  while (j > atLeast && start + (j - 1) * periodMs >= t) j--;
  while (start + j * periodMs < t) j++;
  return j;
}

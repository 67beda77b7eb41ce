import type { Instrument } from '../domain/instrument.js';
import type { RiskStateName } from '../risk/risk-state.js';

/**
 * What a report is made of: one trading session (a replay, or a live run read back from its
 * journal) as plain series. Money stays integer: fills in ticks, lots and quote atoms; PnL
 * samples x 10^-COMMON_EXPONENT quote units. Times are epoch milliseconds on the session's
 * clock (venue time in a replay).
 */
export interface SessionRecord {
  instruments: Instrument[];
  /** Starting capital x 10^-18 quote units (`[risk] initial_equity`); 0 when not configured. */
  initialEquity: bigint;
  start: number;
  end: number;
  /** PnL over time, sampled on a timer and after every fill; ts ascending. */
  pnl: PnlSample[];
  fills: SessionFill[];
  signals: SessionSignal[];
  /** Mark price per `exchange:symbol` over time, in half-ticks (2 x mid, or 2 x last trade). */
  marks: Record<string, { ts: number[]; halfTicks: number[] }>;
  /** Mark per `exchange:symbol` at `end`, in half-ticks (what the closing unrealized PnL uses). */
  finalMarks: Record<string, number>;
  /** Risk state at `start` and every change after it. */
  risk: { ts: number; state: RiskStateName; reason: string }[];
  /** Tick-to-order latency as a histogram (upper bounds in seconds, non-cumulative counts); absent when not measured. */
  latency?: { le: number[]; counts: number[] };
  /** What is wrong with the inputs the report was built from (damaged recording lines), shown at the top of the page; absent when nothing is. */
  warnings?: string[];
  /**
   * What a reader should know about the inputs that is not damage (the span of time a recording's
   * prices cover), shown at the top of the page; absent when nothing. Unlike a warning it does not
   * change the exit code.
   */
  notes?: string[];
}

export interface PnlSample {
  ts: number;
  realized: bigint;
  unrealized: bigint;
  fees: bigint;
}

export interface SessionFill {
  ts: number;
  exchange: string;
  symbol: string;
  clientOrderId: string;
  side: 'buy' | 'sell';
  /** Ticks. */
  price: number;
  /** Lots. */
  qty: number;
  /** Quote atoms at the instrument's notional exponent. */
  feeAtoms: bigint;
}

export interface SessionSignal {
  ts: number;
  id: string;
  detector: string;
  exchange: string;
  symbol: string;
  direction: 1 | -1 | 0;
  strength: number;
}

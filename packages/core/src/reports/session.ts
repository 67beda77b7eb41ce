import type { Instrument } from '../domain/instrument.js';
import type { RiskStateName } from '../risk/risk-state.js';

/**
 * What a report is made of: one trading session (a replay, or a live run read back from its
 * journal) as plain series. Money stays integer: fills in ticks, lots and quote atoms; PnL
 * samples x 10^-COMMON_EXPONENT quote units. Times are epoch milliseconds on the session's
 * clock (venue time in a replay, although the replayed engine's own clock, which the strategy
 * reads, follows the receive times as it did live: docs/reports.md).
 */
export interface SessionRecord {
  instruments: Instrument[];
  /** Starting capital x 10^-18 quote units: the risk engine's (risk/starting-capital.ts) for a replay, equity - PnL of the first snapshot for a journal. */
  initialEquity: bigint;
  /**
   * Changes of the starting capital during the session (a journal over a restart with another
   * `[risk] initial_equity`), index ascending: deposits and withdrawals, not PnL. Equity at PnL
   * sample k is initialEquity + the changes at indexes <= k + its PnL. Absent: none.
   */
  capitalChanges?: CapitalChange[];
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
  /** What became of the session's orders; absent where the source does not say (a journal read back: not yet). */
  orders?: SessionOrders;
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

/**
 * The session's orders by how they ended. `sent` = filled + cancelled + rejected + open; `refused`
 * never reached a venue and is not among them.
 */
export interface SessionOrders {
  /** Orders the engine handed to a venue. */
  sent: number;
  /** Ended filled completely. */
  filled: number;
  /** Ended cancelled: IOC and market remainders, cancels asked for, a venue's rejection after a partial fill. */
  cancelled: number;
  /** Rejected by the venue without a fill. */
  rejected: number;
  /** The venue's rejections by reason (`rejected` in total); "unknown" where the venue gave none. */
  rejectReasons: Record<string, number>;
  /** Still working when the session ended. */
  open: number;
  /** Refused by the engine before they were sent (risk checks, a book not synced, HALT...): never at a venue. */
  refused: number;
}

export interface CapitalChange {
  /** Index in `pnl` of the first sample in the new capital. */
  index: number;
  ts: number;
  /** New capital - old, x 10^-18 quote units (negative: a withdrawal). */
  amount: bigint;
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

import type { InstrumentTrading } from '@cwts/core';
import type { SimEvent } from './generator.js';

/**
 * A pair's trading status from a recording: one the live engine saw change during the run (the
 * recorder's `trading_status` line, at the market event it was first seen at), or each header's
 * status at load, delivered before its file's first market record. Not delivered to the engine
 * as an event: the simulated venue answers MarketDataClient.tradingStatus with it from then on.
 */
export interface ReplayTradingStatus {
  type: 'trading_status';
  exchange: string;
  symbol: string;
  trading: InstrumentTrading;
  /** Venue time it holds from (the market record it came before). */
  ts: number;
  recvTs: number;
}

export type ReplayItem = SimEvent | ReplayTradingStatus;

/** An item and its merge key (microseconds) across files. */
export interface Keyed {
  key: number;
  item: ReplayItem;
  /** Line of the record in its file, for messages (0: not known). */
  lineNo?: number;
  /**
   * Set on a trade that goes back in its stream, or whose receive time is damaged: why. Counted
   * out of order when it is delivered, unless it is dropped then as a repeat of a trade already
   * delivered (a duplicate counts once, as malformed).
   */
  late?: string;
}

/**
 * Where a per-format reader reports what it found wrong; ReplaySource counts and logs it.
 * The meaning of each kind is in docs/reliability.md ("Replay of damaged recordings").
 */
export interface ReplayDamageSink {
  /** Not a record (not JSON, binary, too long), a record that fails validation, or a duplicated trade line: not replayed. */
  malformed(file: string, lineNo: number, message: string): void;
  /** A valid record replay does not apply (an instrument the recording does not declare). */
  skipped(file: string, lineNo: number, message: string): void;
  /** A valid record that goes back in its stream (sequence or time): replayed as recorded. */
  outOfOrder(file: string, lineNo: number, message: string): void;
  /** The file ends inside a record: that record is not replayed. */
  truncated(file: string, message: string): void;
  /** Worth a warning, not damage (no header, an unknown recording version). */
  note(file: string, lineNo: number, message: string): void;
}

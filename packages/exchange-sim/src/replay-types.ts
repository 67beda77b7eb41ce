import type { SimEvent } from './generator.js';

export type ReplayItem = SimEvent;

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

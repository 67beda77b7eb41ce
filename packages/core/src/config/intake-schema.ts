/**
 * `[performance]` keys of venue intake on worker threads (intake/, docs/configuration.md
 * "Venue intake"): spread into the performance table.
 */
import { int, oneOf } from './fields.js';

export const INTAKE_MODES = ['inline', 'worker'] as const;
export type IntakeMode = (typeof INTAKE_MODES)[number];

export const intakeKeys = {
  /**
   * "worker" (default, measured faster: docs/performance.md, "Inline vs worker intake"): a venue
   * whose adapter supports it (Binance) parses on its own thread and hands events over through
   * a SharedArrayBuffer ring; the others stay inline. "inline": every venue's socket and parsing
   * on the engine thread.
   */
  intake: oneOf(INTAKE_MODES).default('worker'),
  /** Feed records per worker ring (64 bytes each; rounded up to a power of two). */
  intake_ring_records: int({ min: 1024, max: 1 << 24 }).default(65536),
  /** A worker with no heartbeat for this long is hung: replaced, its venue not SYNCED meanwhile. */
  intake_hung_after_ms: int({ min: 100, max: 600_000 }).default(2000),
  /** Worker failures in a row without a book sync before the venue's intake stops restarting. */
  intake_max_restarts: int({ min: 0, max: 1000 }).default(5),
};

import type { Instrument } from '../domain/instrument.js';
import type { ExecutionReport, Order, OrderStatus } from '../domain/orders.js';
import type { Signal } from '../domain/signal.js';

/** The engine's risk state names (risk/risk-state.ts); the journal sits below the engine. */
export type RiskStateName = 'ACTIVE' | 'REDUCING' | 'HALTED';

/**
 * What the engine appends to the journal. Appends are queued in memory and committed in
 * batches (see JournalStore); each record lands in its own table.
 */
export type JournalRecord =
  /** An order as it left the engine (status pending_new). */
  | { t: 'order'; order: Order; ts: number }
  /** A venue report and the order's state after applying it (fills also go to `fills`). */
  | { t: 'report'; report: ExecutionReport; order: Pick<Order, 'status' | 'filledQty' | 'feeAtoms' | 'venueOrderId' | 'symbol'>; feeAsset: string; ts: number }
  | { t: 'risk'; from: RiskStateName; to: RiskStateName; reason: string; who: string; ts: number }
  /** Equity and its peak, both x 10^-18 quote units (COMMON_EXPONENT). */
  | { t: 'peak'; peak: bigint; equity: bigint; why: string; ts: number }
  | { t: 'signal'; signal: Signal; ts: number }
  /** Totals x 10^-18; marks are half-ticks per `exchange:symbol`. */
  | { t: 'snapshot'; why: 'timer' | 'fill' | 'stop'; equity: bigint; realized: bigint; unrealized: bigint; fees: bigint; marks: Record<string, number>; ts: number }
  /**
   * Something reconciliation decided. `closed` ends an order the venue does not have; the
   * other kinds are the record of a mismatch and what was done about it.
   */
  | { t: 'reconcile'; exchange: string; clientOrderId?: string; kind: ReconcileEventKind; detail: string; ts: number }
  /** A component's persisted state (cooldowns and the like); the last value per key wins. */
  | { t: 'state'; scope: string; key: string; value: unknown; ts: number }
  | { t: 'instrument'; instrument: Instrument };

export type ReconcileEventKind = 'closed' | 'mismatch' | 'recovered' | 'adopted' | 'halted' | 'unavailable';

export type JournalRecordType = JournalRecord['t'];

/** The last state of an order, as the `orders` table has it. */
export interface JournaledOrderRow {
  clientOrderId: string;
  status: OrderStatus;
  filledQty: number;
}

/** One replayable event of an earlier run, in journal order. */
export type ReplayEvent =
  | { seq: number; t: 'order'; order: Order }
  | { seq: number; t: 'report'; report: ExecutionReport; feeAsset: string }
  | { seq: number; t: 'reconcile'; exchange: string; clientOrderId?: string; kind: ReconcileEventKind; detail: string; ts: number };

export interface RunRecord {
  runId: number;
  startedAt: number;
  endedAt: number | undefined;
  pid: number;
  host: string;
  systemName: string | undefined;
  configDigest: string | undefined;
  cleanExit: boolean;
}

/** Everything a restart needs, read in one pass at open. */
export interface JournalContents {
  /** Orders, reports and reconciliation closes, ordered by seq. */
  events: ReplayEvent[];
  instruments: Instrument[];
  lastRisk: { to: RiskStateName; reason: string; who: string; ts: number } | undefined;
  lastPeak: { peak: bigint; equity: bigint; ts: number } | undefined;
  /**
   * The marks (half-ticks per `exchange:symbol`) of the last snapshot row: a restart values its
   * positions at them until their books give a mark, not at a last fill that may be weeks old
   * against a peak measured at the market of then. Absent: no snapshot, or one that cannot be read.
   */
  lastMarks?: Record<string, number>;
  state: { scope: string; key: string; value: unknown; ts: number }[];
  /**
   * Per exchange, the venue time reconciliation reads trades from: the last fill journaled while
   * the venue was reconciled (store.ts, tradesWatermarks); absent: from when the journal began.
   */
  lastFillTs: Record<string, number>;
  /**
   * When the journal began: the earliest of its first run's start and its earliest order. No
   * order of ours, so no trade of ours, is older; reconciliation of a venue without a journaled
   * fill pulls trades from here, not from the account's whole history.
   */
  startedTs: number | undefined;
  /** The highest client-order-id number reserved by an earlier run (ids at or below are used or burnt). */
  reservedClientIds: number;
  /** The run before this one, if any. */
  previousRun: RunRecord | undefined;
  counts: { orders: number; fills: number; reports: number; signals: number; snapshots: number };
  /**
   * Order and report rows that could not be read (a damaged body or json): left out of
   * `events` and counted; the restore halts trading when there are any (engine/rebuild.ts).
   */
  unreadable: { orders: number; reports: number; first: { table: 'orders' | 'execution_reports' | 'orders.reports'; at: string; reason: string }[] };
}

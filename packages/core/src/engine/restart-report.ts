/** What a restart restored and what reconciliation found: `/status` restoredFrom and reconcile. */

/** What a restart restored, for the first log lines and `/status` (`restoredFrom`). */
export interface RestoreSummary {
  journal: string;
  /** Wall time of the restore, ISO. */
  at: string;
  previousRun: { runId: number; startedAt: string; endedAt: string | null; cleanExit: boolean } | null;
  orders: number;
  openOrders: number;
  fills: number;
  positions: { exchange: string; symbol: string; qty: string; realizedPnl: string; fees: string }[];
  realizedPnl: string;
  fees: string;
  riskState: { state: string; reason: string } | null;
  peakEquity: string | null;
  nextClientId: number;
  componentState: number;
  /** Order and report rows the journal could not read (damaged): left out, and trading starts HALTED. */
  unreadableRecords: number;
  /** Reports the journal holds that the engine cannot book (a fill of -5 lots): left out, and trading starts HALTED. */
  unbookableReports: number;
  /**
   * Open orders restored for venues the config no longer names, per venue (the first 20 ids):
   * possibly still working there, out of this process's reach, and not counted as working
   * (engine/rebuild.ts, setAsideUnconfigured). Empty when there are none.
   */
  ordersOnUnconfiguredVenues: { exchange: string; orders: number; clientOrderIds: string[] }[];
}

export type MismatchKind = 'fill_while_down' | 'status' | 'unknown_order' | 'unknown_trade' | 'position' | 'balance' | 'venue_unreachable';

export interface ReconcileMismatch {
  exchange: string;
  kind: MismatchKind;
  clientOrderId?: string;
  symbol?: string;
  detail: string;
}

export interface ReconcileResult {
  /** Wall time it ended, ISO. */
  at: string;
  policy: 'adopt-venue' | 'halt';
  venues: {
    exchange: string;
    ordersChecked: number;
    fillsApplied: number;
    closed: number;
    mismatches: number;
    capabilities: string[];
    /** Balance check: assets compared, or why none were ('baseline recorded', 'no cash ledger'). */
    balances?: { compared: string[] } | { skipped: string };
  }[];
  mismatches: ReconcileMismatch[];
  /**
   * Fills of orders that were open at the venue while we were down, booked from the venue's
   * reports: expected (an order kept across a restart fills), so not mismatches.
   */
  recovered: ReconcileMismatch[];
}

/**
 * A venue's trade watermark: where reconciliation at the next start reads the venue's trades
 * from (JournalContents.lastFillTs; store.ts, tradesWatermarks). Its own file so the engine,
 * which writes it, does not load the SQLite store to name it.
 */

/** Component state scope of the watermarks, keyed by venue. */
export const TRADES_WATERMARK_SCOPE = 'reconcile.trades';

/** A venue's trade watermark as journaled (TRADES_WATERMARK_SCOPE). */
export interface TradesWatermark {
  /**
   * Venue time its trades are read from, or (`reconciled`) were read from; null: from when the
   * journal began (no journaled fill was the watermark yet).
   */
  ts: number | null;
  /** Its reconciliation completed: fills journaled after this record move the watermark on. */
  reconciled: boolean;
}

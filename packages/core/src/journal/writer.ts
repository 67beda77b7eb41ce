import type { Database as Db, Statement } from 'better-sqlite3';

import { journalStringify } from './json.js';
import { BodyEncoder, joinFolded } from './record-body.js';
import type { JournalRecord } from './records.js';

/** What the writer commits: the engine's records, plus the meta rows the store itself keeps. */
export type QueuedRecord = JournalRecord | { t: 'meta'; key: string; value: string };

/** Rows per multi-row INSERT: one statement call binds this many rows (fewer calls, one plan). */
const ROWS_PER_INSERT = 32;

const ORDER_COLUMNS = 'client_id, seq, exchange, symbol, side, type, price, qty, tif, source, status, filled_qty, fee_atoms, venue_order_id, created_ts, updated_ts, body, reports, last_seq';
const REPORT_COLUMNS = 'seq, client_id, exchange, kind, status_after, venue_ts, ts, body';

/** Column positions in an order row that a later report of the same commit updates. */
const O_STATUS = 10;
const O_FILLED = 11;
const O_FEE = 12;
const O_VENUE_ID = 13;
const O_UPDATED = 15;
/** The reports kept in the row (schema v4) and the seq of the last of them. */
const O_REPORTS = 17;
const O_LAST_SEQ = 18;
const ORDER_WIDTH = 19;

/** An order's state after a report, as `updateOrder` binds it. */
type OrderUpdate = [status: string, filledQty: number, feeAtoms: string, venueOrderId: string | null, updatedTs: number, clientId: string];

/**
 * Turns records into rows. Runs on the writer thread (writer-worker.ts), which owns the only
 * connection that writes records; every record gets the next `seq`, one counter across tables,
 * so a rebuild replays rows in the order they were appended.
 *
 * Per commit, what costs the most per record is batched (docs/journal.md, "the writer's CPU"):
 * order and report rows go in with multi-row INSERTs at the end of the commit; a report's status
 * update of an order inserted in the same commit is folded into that order's row (the common
 * case: the order, its ack and its cancel or fill within one batch), and the updates of older
 * orders are merged to one UPDATE per order. Every other record is written as it comes.
 *
 * Fewer rows (schema v4): a report that books no fill (ack, cancel, reject, expiry) of an order
 * whose row this commit inserts is kept in that row's `reports` column (record-body.ts,
 * `foldedReport`) instead of a row of its own in `execution_reports`: an order acked and
 * cancelled within one batch is one row, not three. Fill reports always get their own row
 * (beside their `fills` row). Recovery and export read both places (read-rows.ts), by seq.
 */
export class JournalWriter {
  private nextSeq: number;
  private readonly db: Db;
  private readonly stmts: Record<string, Statement>;
  private readonly commitTx: (recs: readonly QueuedRecord[]) => void;
  private readonly body = new BodyEncoder();
  private readonly insertOrders = new Map<number, Statement>();
  private readonly insertReports = new Map<number, Statement>();
  /** This commit's order rows not yet inserted, and where each client id's row starts. */
  private readonly orderRows = new RowBatch(ORDER_WIDTH);
  private readonly orderRowById = new Map<string, number>();
  /** Rows a report was folded into (their state is not the order record's own). */
  private readonly folded = new Set<number>();
  private readonly reportRows = new RowBatch(8);
  /** Updates of orders inserted by earlier commits: the last state per client id. */
  private readonly updates = new Map<string, OrderUpdate>();

  constructor(db: Db) {
    this.db = db;
    this.nextSeq = maxSeq(db) + 1;
    this.stmts = prepareAll(db);
    this.commitTx = db.transaction((recs: readonly QueuedRecord[]) => {
      this.body.reset();
      for (let i = 0; i < recs.length; i++) this.write(this.nextSeq++, recs[i]!);
      this.flushRows();
    });
  }

  /** Commits the records in one transaction; on failure nothing of them is written (and no seq used). */
  commit(recs: readonly QueuedRecord[]): void {
    const seqBefore = this.nextSeq;
    try {
      this.commitTx(recs);
    } catch (err) {
      this.nextSeq = seqBefore;
      this.orderRows.clear();
      this.orderRowById.clear();
      this.folded.clear();
      this.reportRows.clear();
      this.updates.clear();
      throw err;
    }
  }

  private write(seq: number, rec: QueuedRecord): void {
    const s = this.stmts;
    switch (rec.t) {
      case 'order': {
        const o = rec.order;
        const b = this.orderRows.add();
        const v = this.orderRows.values;
        v[b] = o.clientOrderId;
        v[b + 1] = seq;
        v[b + 2] = o.exchange;
        v[b + 3] = o.symbol;
        v[b + 4] = o.side;
        v[b + 5] = o.type;
        v[b + 6] = o.price ?? null;
        v[b + 7] = o.qty;
        v[b + 8] = o.tif;
        v[b + 9] = o.source;
        v[b + O_STATUS] = o.status;
        v[b + O_FILLED] = o.filledQty;
        v[b + O_FEE] = atomsText(o.feeAtoms);
        v[b + O_VENUE_ID] = o.venueOrderId ?? null;
        v[b + 14] = o.createdTs;
        v[b + O_UPDATED] = o.updatedTs;
        v[b + 16] = this.body.order(o);
        v[b + O_REPORTS] = null;
        v[b + O_LAST_SEQ] = null;
        // A second record of one client id is ignored on insert (ON CONFLICT DO NOTHING): the first stays.
        if (!this.orderRowById.has(o.clientOrderId)) this.orderRowById.set(o.clientOrderId, b);
        break;
      }
      case 'report': {
        const r = rec.report;
        const row = r.kind === 'fill' ? undefined : this.foldTarget(r.clientOrderId, r.exchange);
        if (row !== undefined) {
          const v = this.orderRows.values;
          v[row + O_REPORTS] = joinFolded(v[row + O_REPORTS] as Buffer | null, this.body.foldedReport(seq, r, rec.feeAsset, rec.order.status, rec.ts, v[row + 3] as string, v[row + 4] as string));
          v[row + O_LAST_SEQ] = seq;
          this.updateOrder(r.clientOrderId, rec.order.status, rec.order.filledQty, atomsText(rec.order.feeAtoms), rec.order.venueOrderId ?? null, rec.ts);
          break;
        }
        const b = this.reportRows.add();
        const v = this.reportRows.values;
        v[b] = seq;
        v[b + 1] = r.clientOrderId;
        v[b + 2] = r.exchange;
        v[b + 3] = r.kind;
        v[b + 4] = rec.order.status;
        v[b + 5] = r.ts;
        v[b + 6] = rec.ts;
        v[b + 7] = this.body.report(r, rec.feeAsset);
        this.updateOrder(r.clientOrderId, rec.order.status, rec.order.filledQty, atomsText(rec.order.feeAtoms), rec.order.venueOrderId ?? null, rec.ts);
        if (r.kind === 'fill') s.insertFill!.run(seq, r.exchange, r.symbol, r.clientOrderId, r.tradeId ?? null, r.side, r.lastPrice, r.lastQty, atomsText(r.feeAtoms), rec.feeAsset, r.liquidity ?? null, r.ts, rec.ts);
        break;
      }
      case 'risk':
        s.insertRisk!.run(seq, rec.from, rec.to, rec.reason, rec.who, rec.ts);
        break;
      case 'peak':
        s.insertPeak!.run(seq, rec.peak.toString(), rec.equity.toString(), rec.why, rec.ts);
        break;
      case 'signal': {
        const g = rec.signal;
        s.insertSignal!.run(seq, g.id, g.detector, g.exchange, g.symbol, g.direction, Number.isFinite(g.strength) ? g.strength : 0, g.ts, journalStringify(g));
        break;
      }
      case 'snapshot':
        s.insertSnapshot!.run(seq, rec.why, rec.equity.toString(), rec.realized.toString(), rec.unrealized.toString(), rec.fees.toString(), JSON.stringify(rec.marks), rec.ts);
        break;
      case 'reconcile':
        s.insertReconcile!.run(seq, rec.exchange, rec.clientOrderId ?? null, rec.kind, rec.detail, rec.ts);
        if (rec.kind === 'closed' && rec.clientOrderId) {
          // The close reads the order's status: everything before it must be in the table.
          this.flushRows();
          s.closeOrder!.run(rec.ts, rec.clientOrderId);
        }
        break;
      case 'state':
        s.putState!.run(rec.scope, rec.key, seq, journalStringify(rec.value), rec.ts);
        break;
      case 'instrument':
        s.putInstrument!.run(rec.instrument.exchange, rec.instrument.symbol, journalStringify(rec.instrument));
        break;
      case 'meta':
        s.setMeta!.run(rec.key, rec.value);
        break;
    }
  }

  /**
   * The row of this commit a report of `clientId` is kept in (folded), if any: the order's row
   * is inserted by this commit, of the same exchange, and no earlier report of this commit went
   * to an older row (the order record here is then a repeat, ignored on insert).
   */
  private foldTarget(clientId: string, exchange: string): number | undefined {
    if (this.updates.has(clientId)) return undefined;
    const b = this.orderRowById.get(clientId);
    return b !== undefined && this.orderRows.values[b + 2] === exchange ? b : undefined;
  }

  /** What `UPDATE orders SET status = ?, ... venue_order_id = coalesce(?, venue_order_id)` would do, batched. */
  private updateOrder(clientId: string, status: string, filledQty: number, feeAtoms: string, venueOrderId: string | null, ts: number): void {
    const before = this.updates.get(clientId);
    // Folded into this commit's row of the order, unless earlier reports of this commit already
    // target a row from an earlier commit (the order record here is then a repeat, ignored on insert).
    const b = before ? undefined : this.orderRowById.get(clientId);
    if (b !== undefined) {
      const v = this.orderRows.values;
      v[b + O_STATUS] = status;
      v[b + O_FILLED] = filledQty;
      v[b + O_FEE] = feeAtoms;
      if (venueOrderId !== null) v[b + O_VENUE_ID] = venueOrderId;
      v[b + O_UPDATED] = ts;
      this.folded.add(b);
      return;
    }
    this.updates.set(clientId, [status, filledQty, feeAtoms, venueOrderId ?? before?.[3] ?? null, ts, clientId]);
  }

  /** Writes the rows this commit has gathered so far. */
  private flushRows(): void {
    const orders = this.orderRows;
    for (let first = 0; first < orders.rows; first += ROWS_PER_INSERT) {
      const n = Math.min(ROWS_PER_INSERT, orders.rows - first);
      const inserted = this.multiInsert(this.insertOrders, 'orders', ORDER_COLUMNS, ' ON CONFLICT (client_id) DO NOTHING', n, orders.args(first, n)).changes;
      // A client id already in the table kept its row: the reports folded into this one are
      // applied to it as updates instead (rare: a record journaled twice).
      if (inserted < n) {
        const v = orders.values;
        for (let b = first * orders.width; b < (first + n) * orders.width; b += orders.width) {
          if (this.folded.has(b)) this.stmts.updateOrder!.run(v[b + O_STATUS], v[b + O_FILLED], v[b + O_FEE], v[b + O_VENUE_ID], v[b + O_UPDATED], v[b]);
          // Its reports go to the row that stayed (added to what it keeps), unless this row is that one.
          if (v[b + O_REPORTS] !== null && this.stmts.orderSeq!.get(v[b]) !== v[b + 1]) this.stmts.appendReports!.run(v[b + O_REPORTS], v[b + O_LAST_SEQ], v[b]);
        }
      }
    }
    orders.clear();
    this.orderRowById.clear();
    this.folded.clear();
    for (const u of this.updates.values()) this.stmts.updateOrder!.run(u);
    this.updates.clear();
    const reports = this.reportRows;
    for (let first = 0; first < reports.rows; first += ROWS_PER_INSERT) {
      const n = Math.min(ROWS_PER_INSERT, reports.rows - first);
      this.multiInsert(this.insertReports, 'execution_reports', REPORT_COLUMNS, '', n, reports.args(first, n));
    }
    reports.clear();
  }

  private multiInsert(cache: Map<number, Statement>, table: string, columns: string, tail: string, rows: number, args: unknown[]): { changes: number } {
    let stmt = cache.get(rows);
    if (!stmt) {
      const one = `(${columns.split(',').map(() => '?').join(', ')})`;
      stmt = this.db.prepare(`INSERT INTO ${table} (${columns}) VALUES ${Array.from({ length: rows }, () => one).join(', ')}${tail}`);
      cache.set(rows, stmt);
    }
    return stmt.run(args);
  }
}

/**
 * Whether a failed commit is the fault of a record in it (and would fail the same way at every
 * retry) rather than of the database: anything thrown while encoding or binding a value (a
 * TypeError or RangeError: a number where a bigint belongs, a string that is not one), or
 * SQLite's refusal of a value (a constraint such as NOT NULL, a type mismatch, a value too big).
 * Everything else (a full disk, I/O, a lock, a busy database, corruption) is the database's: the
 * records are kept and retried, as before.
 */
export function isRecordFault(err: unknown): boolean {
  if (err instanceof TypeError || err instanceof RangeError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return false;
  return code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG' || code === 'SQLITE_RANGE';
}

/**
 * One table's rows of a commit, flat (`width` values a row) and reused from commit to commit, so
 * gathering rows allocates no array per row; bound in chunks of ROWS_PER_INSERT rows.
 */
class RowBatch {
  readonly values: unknown[] = [];
  rows = 0;
  private readonly full: unknown[];

  constructor(readonly width: number) {
    this.full = new Array<unknown>(width * ROWS_PER_INSERT);
  }

  /** Adds a row; returns the index of its first value. */
  add(): number {
    return this.width * this.rows++;
  }

  /** The values of rows [first, first + n) as one binding array (reused when n is a full chunk). */
  args(first: number, n: number): unknown[] {
    const out = n === ROWS_PER_INSERT ? this.full : new Array<unknown>(n * this.width);
    const from = first * this.width;
    for (let i = 0; i < n * this.width; i++) out[i] = this.values[from + i];
    return out;
  }

  clear(): void {
    this.rows = 0;
  }
}

function prepareAll(db: Db): Record<string, Statement> {
  return {
    orderSeq: db.prepare('SELECT seq FROM orders WHERE client_id = ?').pluck(),
    appendReports: db.prepare("UPDATE orders SET reports = CAST(coalesce(reports, x'') || ? AS BLOB), last_seq = max(coalesce(last_seq, 0), ?) WHERE client_id = ?"),
    updateOrder: db.prepare('UPDATE orders SET status = ?, filled_qty = ?, fee_atoms = ?, venue_order_id = coalesce(?, venue_order_id), updated_ts = ? WHERE client_id = ?'),
    closeOrder: db.prepare("UPDATE orders SET status = 'cancelled', updated_ts = ? WHERE client_id = ? AND status NOT IN ('filled', 'cancelled', 'rejected')"),
    insertFill: db.prepare(
      'INSERT OR IGNORE INTO fills (seq, exchange, symbol, client_id, trade_id, side, price, qty, fee_atoms, fee_asset, liquidity, venue_ts, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    insertRisk: db.prepare('INSERT INTO risk_transitions (seq, from_state, to_state, reason, who, ts) VALUES (?, ?, ?, ?, ?, ?)'),
    insertPeak: db.prepare('INSERT INTO equity_peaks (seq, peak, equity, why, ts) VALUES (?, ?, ?, ?, ?)'),
    insertSignal: db.prepare('INSERT INTO signals (seq, id, detector, exchange, symbol, direction, strength, ts, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    insertSnapshot: db.prepare('INSERT INTO snapshots (seq, why, equity, realized, unrealized, fees, marks, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    insertReconcile: db.prepare('INSERT INTO reconcile_events (seq, exchange, client_id, kind, detail, ts) VALUES (?, ?, ?, ?, ?, ?)'),
    putState: db.prepare('INSERT OR REPLACE INTO component_state (scope, key, seq, value, ts) VALUES (?, ?, ?, ?, ?)'),
    putInstrument: db.prepare('INSERT OR REPLACE INTO instruments (exchange, symbol, json) VALUES (?, ?, ?)'),
    setMeta: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
  };
}

/** Fee atoms as the decimal TEXT of their columns; zero (acks, cancels, most reports) without a bigint conversion. */
function atomsText(v: bigint): string {
  return v === 0n ? '0' : v.toString();
}

const SEQ_TABLES = ['orders', 'execution_reports', 'fills', 'risk_transitions', 'equity_peaks', 'signals', 'snapshots', 'reconcile_events', 'component_state'];

/** The last seq used, across every table (the next record's is one more). */
export function maxSeq(db: Db): number {
  // An order row's folded reports (schema v4) have later seqs than the row's own: `last_seq`.
  const sql = [...SEQ_TABLES.map((t) => `SELECT max(seq) AS m FROM ${t}`), 'SELECT max(last_seq) AS m FROM orders'].join(' UNION ALL ');
  const row = db.prepare(`SELECT max(m) AS m FROM (${sql})`).get() as { m: number | null };
  return row.m ?? 0;
}

import type { Database as Db, Statement } from 'better-sqlite3';

import { journalStringify } from './json.js';
import { BodyEncoder } from './record-body.js';
import type { JournalRecord } from './records.js';

/** What the writer commits: the engine's records, plus the meta rows the store itself keeps. */
export type QueuedRecord = JournalRecord | { t: 'meta'; key: string; value: string };

/**
 * Turns records into rows. Runs on the writer thread (writer-worker.ts), which owns the only
 * connection that writes records; every record gets the next `seq`, one counter across tables,
 * so a rebuild replays rows in the order they were appended.
 */
export class JournalWriter {
  private nextSeq: number;
  private readonly stmts: Record<string, Statement>;
  private readonly commitTx: (recs: readonly QueuedRecord[]) => void;
  private readonly body = new BodyEncoder();

  constructor(db: Db) {
    this.nextSeq = maxSeq(db) + 1;
    this.stmts = prepareAll(db);
    this.commitTx = db.transaction((recs: readonly QueuedRecord[]) => {
      for (let i = 0; i < recs.length; i++) this.write(this.nextSeq++, recs[i]!);
    });
  }

  /** Commits the records in one transaction; on failure nothing of them is written (and no seq used). */
  commit(recs: readonly QueuedRecord[]): void {
    const seqBefore = this.nextSeq;
    try {
      this.commitTx(recs);
    } catch (err) {
      this.nextSeq = seqBefore;
      throw err;
    }
  }

  private write(seq: number, rec: QueuedRecord): void {
    const s = this.stmts;
    switch (rec.t) {
      case 'order': {
        const o = rec.order;
        s.insertOrder!.run(o.clientOrderId, seq, o.exchange, o.symbol, o.side, o.type, o.price ?? null, o.qty, o.tif, o.source, o.status, o.filledQty, atomsText(o.feeAtoms), o.venueOrderId ?? null, o.createdTs, o.updatedTs, this.body.order(o));
        break;
      }
      case 'report': {
        const r = rec.report;
        s.insertReport!.run(seq, r.clientOrderId, r.exchange, r.kind, rec.order.status, r.ts, rec.ts, this.body.report(r, rec.feeAsset));
        s.updateOrder!.run(rec.order.status, rec.order.filledQty, atomsText(rec.order.feeAtoms), rec.order.venueOrderId ?? null, rec.ts, r.clientOrderId);
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
        if (rec.kind === 'closed' && rec.clientOrderId) s.closeOrder!.run(rec.ts, rec.clientOrderId);
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
}

function prepareAll(db: Db): Record<string, Statement> {
  return {
    insertOrder: db.prepare(
      `INSERT INTO orders (client_id, seq, exchange, symbol, side, type, price, qty, tif, source, status, filled_qty, fee_atoms, venue_order_id, created_ts, updated_ts, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_id) DO NOTHING`,
    ),
    updateOrder: db.prepare('UPDATE orders SET status = ?, filled_qty = ?, fee_atoms = ?, venue_order_id = coalesce(?, venue_order_id), updated_ts = ? WHERE client_id = ?'),
    closeOrder: db.prepare("UPDATE orders SET status = 'cancelled', updated_ts = ? WHERE client_id = ? AND status NOT IN ('filled', 'cancelled', 'rejected')"),
    insertReport: db.prepare('INSERT INTO execution_reports (seq, client_id, exchange, kind, status_after, venue_ts, ts, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
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

function maxSeq(db: Db): number {
  const sql = SEQ_TABLES.map((t) => `SELECT max(seq) AS m FROM ${t}`).join(' UNION ALL ');
  const row = db.prepare(`SELECT max(m) AS m FROM (${sql})`).get() as { m: number | null };
  return row.m ?? 0;
}

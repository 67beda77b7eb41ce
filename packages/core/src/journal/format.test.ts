import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';

import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { journalStringify } from './json.js';
import { readOrderRows, readReportRows, type UnreadableRow } from './read-rows.js';
import { BodyEncoder } from './record-body.js';
import type { JournalRecord } from './records.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { JournalStore } from './store.js';

const BTC = defineInstrument({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

function path(): string {
  return join(mkdtempSync(join(tmpdir(), 'cwts-journal-format-')), 'j.db');
}
function order(n: number, over: Partial<Order> = {}): Order {
  return {
    exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000 + n, qty: 10, tif: 'GTC', source: 'test',
    clientOrderId: `cw-${n}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 1000 + n, updatedTs: 1000 + n, ...over,
  };
}
function report(n: number, kind: ExecutionReport['kind'], over: Partial<ExecutionReport> = {}): ExecutionReport {
  return { kind, exchange: 'sim', symbol: 'BTCUSDT', clientOrderId: `cw-${n}`, side: 'buy', lastPrice: 0, lastQty: 0, leavesQty: 10, cumQty: 0, feeAtoms: 0n, ts: 2000 + n, ...over };
}
type After = Extract<JournalRecord, { t: 'report' }>['order'];
const after = (status: After['status'], filledQty = 0, feeAtoms = 0n, venueOrderId?: string): After => ({ status, filledQty, feeAtoms, venueOrderId, symbol: 'BTCUSDT' });
const noUnreadable = (row: UnreadableRow) => {
  throw new Error(`unexpected unreadable row: ${JSON.stringify(row)}`);
};

describe('journal format v3', () => {
  it('round-trips every record kind through the writer thread and back through recovery', () => {
    const p = path();
    const s = JournalStore.open(p, { fsync: 'batch', batchMs: 60_000 });
    const full = order(1, { reduceOnly: true, reason: 'whale:sim:BTCUSDT:1', text: 'note', venueOrderId: 'pre' });
    const market = order(2, { type: 'market', price: undefined, tif: 'IOC' });
    delete market.price;
    const fill = report(1, 'fill', { lastPrice: 5_000_001, lastQty: 4, leavesQty: 6, cumQty: 4, feeAtoms: 2n ** 70n, feeAsset: 'BNB', liquidity: 'maker', tradeId: 'T1', venueOrderId: 'V1' });
    const reports: [ExecutionReport, After][] = [
      [report(1, 'ack', { venueOrderId: 'V1' }), after('open', 0, 0n, 'V1')],
      [fill, after('partially_filled', 4, 2n ** 70n)],
      [report(1, 'cancelled', { leavesQty: 0, cumQty: 4, text: 'by user' }), after('cancelled', 4, 2n ** 70n)],
      [report(2, 'rejected', { leavesQty: 0, rejectReason: 'INSUFFICIENT_BALANCE', rejects: 'order', text: 'no money' }), after('rejected')],
      [report(3, 'expired', { leavesQty: 0 }), after('cancelled')],
    ];
    const recs: JournalRecord[] = [
      { t: 'instrument', instrument: BTC },
      { t: 'order', order: full, ts: 1 },
      { t: 'order', order: market, ts: 2 },
      ...reports.map(([r, o], i): JournalRecord => ({ t: 'report', report: r, order: o, feeAsset: 'USDT', ts: 10 + i })),
      { t: 'risk', from: 'ACTIVE', to: 'HALTED', reason: 'drawdown 12%', who: 'risk', ts: 20 },
      { t: 'peak', peak: 10n ** 30n, equity: -(10n ** 25n), why: 'fill', ts: 21 },
      { t: 'signal', signal: { id: 'whale:sim:BTCUSDT:1', detector: 'whale', kind: 'whale', exchange: 'sim', symbol: 'BTCUSDT', ts: 5, direction: 1, strength: 3.5, evidence: { big: 2n ** 65n } }, ts: 22 },
      { t: 'snapshot', why: 'fill', equity: 1n, realized: 2n, unrealized: -3n, fees: 4n, marks: { 'sim:BTCUSDT': 10_000_001 }, ts: 23 },
      { t: 'reconcile', exchange: 'sim', clientOrderId: 'cw-2', kind: 'closed', detail: 'venue does not know it', ts: 24 },
      { t: 'state', scope: 'whale-follower', key: 'lastEntry', value: { at: 123, qty: 5n }, ts: 25 },
    ];
    for (const r of recs) s.append(r);
    s.reserveClientIds(1000);
    s.close();

    const back = JournalStore.open(p);
    const c = back.load();
    expect(c.unreadable).toEqual({ orders: 0, reports: 0, first: [] });
    const reset = { status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n };
    expect(c.events).toEqual([
      { seq: 2, t: 'order', order: { ...full, ...reset } },
      { seq: 3, t: 'order', order: { ...market, ...reset } },
      ...reports.map(([r], i) => ({ seq: 4 + i, t: 'report', report: r, feeAsset: 'USDT' })),
      { seq: 13, t: 'reconcile', exchange: 'sim', clientOrderId: 'cw-2', kind: 'closed', detail: 'venue does not know it', ts: 24 },
    ]);
    // The order rows as appended (export reads these), exactly.
    expect([...readOrderRows(back.database, noUnreadable)].map((r) => r.order)).toEqual([full, market]);
    expect([...readReportRows(back.database, noUnreadable)].map((r) => [r.report, r.statusAfter])).toEqual(reports.map(([r, o]) => [r, o.status]));
    expect(c.instruments).toEqual([BTC]);
    expect(c.lastRisk).toEqual({ to: 'HALTED', reason: 'drawdown 12%', who: 'risk', ts: 20 });
    expect(c.lastPeak).toEqual({ peak: 10n ** 30n, equity: -(10n ** 25n), ts: 21 });
    expect(c.state).toEqual([{ scope: 'whale-follower', key: 'lastEntry', value: { at: 123, qty: 5n }, ts: 25 }]);
    expect(c.lastFillTs).toEqual({ sim: 2001 });
    expect(c.reservedClientIds).toBe(1000);
    expect(c.counts).toMatchObject({ orders: 2, fills: 1, reports: 5, signals: 1, snapshots: 1 });
    // The order table's current state: cw-1 after its cancel (venue id kept), cw-2 closed by reconciliation.
    expect(back.database.prepare('SELECT client_id, status, filled_qty, fee_atoms, venue_order_id FROM orders ORDER BY seq').all()).toEqual([
      { client_id: 'cw-1', status: 'cancelled', filled_qty: 4, fee_atoms: String(2n ** 70n), venue_order_id: 'V1' },
      { client_id: 'cw-2', status: 'rejected', filled_qty: 0, fee_atoms: '0', venue_order_id: null },
    ]);
    back.close();
  });

  it("keeps the orders table's status right however reports and orders fall across commits", () => {
    const p = path();
    const s = JournalStore.open(p, { fsync: 'batch', batchMs: 60_000 });
    const status = () => s.database.prepare('SELECT client_id, status, filled_qty, venue_order_id, updated_ts FROM orders ORDER BY seq').all();
    // One commit: the order, its ack (venue id), a fill (no venue id: the id stays).
    s.append({ t: 'order', order: order(1), ts: 1 });
    s.append({ t: 'report', report: report(1, 'ack'), order: after('open', 0, 0n, 'V1'), feeAsset: 'USDT', ts: 2 });
    s.append({ t: 'report', report: report(1, 'fill', { tradeId: 'a', lastQty: 3, cumQty: 3 }), order: after('partially_filled', 3), feeAsset: 'USDT', ts: 3 });
    s.flush();
    expect(status()).toEqual([{ client_id: 'cw-1', status: 'partially_filled', filled_qty: 3, venue_order_id: 'V1', updated_ts: 3 }]);
    // Later commits: two reports of an older order merge into one update; a repeated order record is ignored.
    s.append({ t: 'report', report: report(1, 'fill', { tradeId: 'b', lastQty: 2, cumQty: 5 }), order: after('partially_filled', 5, 0n, 'V1b'), feeAsset: 'USDT', ts: 4 });
    s.append({ t: 'order', order: order(1, { price: 1 }), ts: 5 });
    s.append({ t: 'report', report: report(1, 'fill', { tradeId: 'c', lastQty: 5, cumQty: 10 }), order: after('filled', 10), feeAsset: 'USDT', ts: 6 });
    s.flush();
    expect(status()).toEqual([{ client_id: 'cw-1', status: 'filled', filled_qty: 10, venue_order_id: 'V1b', updated_ts: 6 }]);
    expect(s.database.prepare("SELECT price FROM orders WHERE client_id = 'cw-1'").pluck().get()).toBe(5_000_001);
    // A reconciliation close in the same commit as the order's ack sees the ack first.
    s.append({ t: 'order', order: order(2), ts: 7 });
    s.append({ t: 'report', report: report(2, 'ack'), order: after('open'), feeAsset: 'USDT', ts: 8 });
    s.append({ t: 'reconcile', exchange: 'sim', clientOrderId: 'cw-2', kind: 'closed', detail: 'gone', ts: 9 });
    s.append({ t: 'order', order: order(3), ts: 10 });
    s.flush();
    expect(status()).toMatchObject([{ client_id: 'cw-1' }, { client_id: 'cw-2', status: 'cancelled', updated_ts: 9 }, { client_id: 'cw-3', status: 'pending_new' }]);
    // More than one multi-row insert's worth in one commit, all in seq order.
    for (let n = 10; n < 110; n++) {
      s.append({ t: 'order', order: order(n), ts: n });
      s.append({ t: 'report', report: report(n, 'ack'), order: after('open'), feeAsset: 'USDT', ts: n });
    }
    s.flush();
    const c = s.load();
    expect(c.events.filter((e) => e.t === 'order').map((e) => (e.t === 'order' ? e.order.clientOrderId : ''))).toEqual(['cw-1', 'cw-2', 'cw-3', ...Array.from({ length: 100 }, (_, i) => `cw-${i + 10}`)]);
    expect(c.events.map((e) => e.seq)).toEqual([...c.events.map((e) => e.seq)].sort((a, b) => a - b));
    expect(s.database.prepare("SELECT count(*) FROM orders WHERE status = 'open'").pluck().get()).toBe(100);
    s.close();
  });

  it('migrates a version 2 journal: its json rows restore as before, new rows get a body, both are read', () => {
    const p = path();
    const v2 = new Database(p);
    v2.exec(MIGRATIONS[0]!);
    v2.exec(MIGRATIONS[1]!);
    v2.pragma('user_version = 2');
    // Rows as the v2 writer made them.
    const old = order(1, { reason: 'legacy', feeAtoms: 0n });
    const oldFill = report(1, 'fill', { lastPrice: 5_000_001, lastQty: 10, leavesQty: 0, cumQty: 10, feeAtoms: 2n ** 64n, tradeId: 'T1', liquidity: 'taker' });
    v2.prepare(
      `INSERT INTO orders (client_id, seq, exchange, symbol, side, type, price, qty, tif, source, status, filled_qty, fee_atoms, venue_order_id, created_ts, updated_ts, json)
       VALUES (?, 1, 'sim', 'BTCUSDT', 'buy', 'limit', ?, 10, 'GTC', 'test', 'filled', 10, ?, NULL, ?, ?, ?)`,
    ).run(old.clientOrderId, old.price, String(2n ** 64n), old.createdTs, old.updatedTs, journalStringify(old));
    v2.prepare("INSERT INTO execution_reports (seq, client_id, exchange, kind, status_after, venue_ts, ts, json) VALUES (2, 'cw-1', 'sim', 'fill', 'filled', ?, 5, ?)").run(oldFill.ts, journalStringify({ ...oldFill, feeAsset: 'USDT' }));
    v2.prepare("INSERT INTO fills (seq, exchange, symbol, client_id, trade_id, side, price, qty, fee_atoms, fee_asset, liquidity, venue_ts, ts) VALUES (2, 'sim', 'BTCUSDT', 'cw-1', 'T1', 'buy', 5000001, 10, ?, 'USDT', 'taker', ?, 5)").run(String(2n ** 64n), oldFill.ts);
    v2.close();

    // A read-only tool (export) reads the journal before any v3 build has opened it for writing.
    const ro = JournalStore.openReadOnly(p);
    expect([...readOrderRows(ro, noUnreadable)].map((r) => r.order)).toEqual([old]);
    ro.close();

    const s = JournalStore.open(p, { fsync: 'batch', batchMs: 60_000 });
    expect(s.opened.schemaFrom).toBe(2);
    expect(s.database.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const reset = { status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n };
    expect(s.load().events).toEqual([
      { seq: 1, t: 'order', order: { ...old, ...reset } },
      { seq: 2, t: 'report', report: oldFill, feeAsset: 'USDT' },
    ]);
    const fresh = order(2);
    s.append({ t: 'order', order: fresh, ts: 6 });
    s.append({ t: 'report', report: report(2, 'ack'), order: after('open'), feeAsset: 'USDT', ts: 7 });
    s.close();

    const again = JournalStore.open(p);
    expect(again.opened.schemaFrom).toBe(SCHEMA_VERSION);
    const rows = again.database.prepare('SELECT client_id, body IS NOT NULL AS has_body, json IS NOT NULL AS has_json, status FROM orders ORDER BY seq').all();
    expect(rows).toEqual([{ client_id: 'cw-1', has_body: 0, has_json: 1, status: 'filled' }, { client_id: 'cw-2', has_body: 1, has_json: 0, status: 'open' }]);
    const c = again.load();
    expect(c.unreadable.orders + c.unreadable.reports).toBe(0);
    expect(c.events.map((e) => [e.seq, e.t])).toEqual([[1, 'order'], [2, 'report'], [3, 'order'], [4, 'report']]);
    expect(c.events[2]).toEqual({ seq: 3, t: 'order', order: fresh });
    again.close();
  });

  it('a damaged body, json or folded report is refused and counted; the rest restores and nothing throws', () => {
    const p = path();
    const s = JournalStore.open(p, { fsync: 'batch', batchMs: 60_000 });
    for (let n = 1; n <= 3; n++) {
      s.append({ t: 'order', order: order(n), ts: n });
      // Acks committed with their order are kept in its row (orders.reports).
      s.append({ t: 'report', report: report(n, 'ack'), order: after('open'), feeAsset: 'USDT', ts: n });
    }
    s.append({ t: 'report', report: report(3, 'fill', { tradeId: 'T3', lastQty: 1, cumQty: 1 }), order: after('partially_filled', 1), feeAsset: 'USDT', ts: 4 });
    s.close();
    const db = new Database(p);
    expect(db.prepare('SELECT count(*) FROM execution_reports').pluck().get()).toBe(1);
    db.prepare("UPDATE orders SET body = substr(body, 1, length(body) - 3) WHERE client_id = 'cw-2'").run();
    db.prepare("UPDATE execution_reports SET body = NULL, json = '{\"kind\":' WHERE client_id = 'cw-3'").run();
    db.prepare("UPDATE orders SET reports = 'not a blob' WHERE client_id = 'cw-1'").run();
    const folded = Buffer.from(db.prepare("SELECT reports FROM orders WHERE client_id = 'cw-3'").pluck().get() as Buffer);
    folded[12] = folded[12]! ^ 0xff;
    db.prepare("UPDATE orders SET reports = ? WHERE client_id = 'cw-3'").run(folded);
    db.close();

    const r = JournalStore.open(p);
    const c = r.load();
    expect(c.unreadable.orders).toBe(1);
    expect(c.unreadable.reports).toBe(3);
    expect(c.unreadable.first).toEqual([
      { table: 'orders', at: 'seq 3 (cw-2)', reason: expect.stringMatching(/trailer|checksum/) },
      { table: 'orders.reports', at: 'order seq 1 (cw-1)', reason: expect.stringMatching(/not a BLOB/) },
      { table: 'orders.reports', at: 'order seq 5 (cw-3)', reason: expect.stringMatching(/folded report 1: .*checksum/) },
      { table: 'execution_reports', at: 'seq 7 (cw-3)', reason: expect.stringMatching(/json does not parse/) },
    ]);
    // cw-2's order row is damaged but the ack kept in it is not: it reads.
    expect(c.events.map((e) => [e.seq, e.t])).toEqual([[1, 'order'], [4, 'report'], [5, 'order']]);
    r.close();
  });

  it('keeps reports without a fill in their order row when committed with it, and restores them in seq order', () => {
    const p = path();
    const s = JournalStore.open(p, { fsync: 'batch', batchMs: 60_000 });
    // One commit: cw-1 acked and cancelled, cw-2 acked and filled, cw-3's ack before its order arrives in a later commit.
    s.append({ t: 'order', order: order(1), ts: 1 });
    s.append({ t: 'order', order: order(2), ts: 2 });
    s.append({ t: 'report', report: report(1, 'ack', { venueOrderId: 'V1' }), order: after('open', 0, 0n, 'V1'), feeAsset: 'USDT', ts: 3 });
    s.append({ t: 'report', report: report(2, 'ack'), order: after('open'), feeAsset: 'USDT', ts: 4 });
    s.append({ t: 'report', report: report(1, 'cancelled', { leavesQty: 0, text: 'by user' }), order: after('cancelled', 0, 0n, 'V1'), feeAsset: 'USDT', ts: 5 });
    s.append({ t: 'report', report: report(2, 'fill', { tradeId: 'T2', lastQty: 10, cumQty: 10, leavesQty: 0 }), order: after('filled', 10), feeAsset: 'USDT', ts: 6 });
    s.append({ t: 'report', report: report(3, 'ack'), order: after('open'), feeAsset: 'USDT', ts: 7 });
    s.flush();
    // The next commit: a repeated cw-1 record (ignored on insert) whose new report goes to the row that stayed.
    s.append({ t: 'order', order: order(1, { price: 1 }), ts: 8 });
    s.append({ t: 'report', report: report(1, 'expired', { leavesQty: 0 }), order: after('cancelled', 0, 0n, 'V1'), feeAsset: 'USDT', ts: 9 });
    s.close();

    const back = JournalStore.open(p);
    const rows = back.database.prepare('SELECT client_id, status, reports IS NOT NULL AS folded, last_seq FROM orders ORDER BY seq').all();
    expect(rows).toEqual([
      { client_id: 'cw-1', status: 'cancelled', folded: 1, last_seq: 9 },
      { client_id: 'cw-2', status: 'filled', folded: 1, last_seq: 4 },
    ]);
    // Only the fill and the report of an order not in its commit have rows of their own.
    expect(back.database.prepare('SELECT seq, kind FROM execution_reports ORDER BY seq').all()).toEqual([{ seq: 6, kind: 'fill' }, { seq: 7, kind: 'ack' }]);
    const reports = [...readReportRows(back.database, noUnreadable)];
    expect(reports.map((r) => [r.seq, r.report.clientOrderId, r.report.kind, r.statusAfter, r.ts])).toEqual([
      [3, 'cw-1', 'ack', 'open', 3],
      [4, 'cw-2', 'ack', 'open', 4],
      [5, 'cw-1', 'cancelled', 'cancelled', 5],
      [6, 'cw-2', 'fill', 'filled', 6],
      [7, 'cw-3', 'ack', 'open', 7],
      [9, 'cw-1', 'expired', 'cancelled', 9],
    ]);
    expect(reports[0]!.report).toEqual(report(1, 'ack', { venueOrderId: 'V1' }));
    expect(reports[2]!.report).toEqual(report(1, 'cancelled', { leavesQty: 0, text: 'by user' }));
    expect(back.load().counts).toMatchObject({ orders: 2, reports: 6, fills: 1 });
    // The seq counter starts past the last folded report (9), not past the last row's own seq.
    back.append({ t: 'order', order: order(4), ts: 10 });
    back.close();
    const again = JournalStore.open(p);
    expect(again.database.prepare("SELECT seq FROM orders WHERE client_id = 'cw-4'").pluck().get()).toBe(10);
    again.close();
  });

  it('migrates a version 3 journal: its rows restore as before, new orders keep their reports', () => {
    const p = path();
    const v3 = new Database(p);
    for (const m of MIGRATIONS.slice(0, 3)) v3.exec(m);
    v3.pragma('user_version = 3');
    const enc = new BodyEncoder();
    const o = order(1);
    const ack = report(1, 'ack', { venueOrderId: 'V1' });
    v3.prepare(
      `INSERT INTO orders (client_id, seq, exchange, symbol, side, type, price, qty, tif, source, status, filled_qty, fee_atoms, venue_order_id, created_ts, updated_ts, body)
       VALUES ('cw-1', 1, 'sim', 'BTCUSDT', 'buy', 'limit', ?, 10, 'GTC', 'test', 'open', 0, '0', 'V1', ?, ?, ?)`,
    ).run(o.price, o.createdTs, o.updatedTs, enc.order(o));
    v3.prepare("INSERT INTO execution_reports (seq, client_id, exchange, kind, status_after, venue_ts, ts, body) VALUES (2, 'cw-1', 'sim', 'ack', 'open', ?, 2, ?)").run(ack.ts, enc.report(ack, 'USDT'));
    v3.close();

    const s = JournalStore.open(p, { fsync: 'batch', batchMs: 60_000 });
    expect(s.opened.schemaFrom).toBe(3);
    expect(s.database.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const reset = { status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n };
    expect(s.load().events).toEqual([
      { seq: 1, t: 'order', order: { ...o, ...reset } },
      { seq: 2, t: 'report', report: ack, feeAsset: 'USDT' },
    ]);
    s.append({ t: 'order', order: order(2), ts: 3 });
    s.append({ t: 'report', report: report(2, 'ack'), order: after('open'), feeAsset: 'USDT', ts: 4 });
    s.close();
    const again = JournalStore.open(p);
    expect(again.database.prepare('SELECT client_id, reports IS NOT NULL AS folded FROM orders ORDER BY seq').all()).toEqual([
      { client_id: 'cw-1', folded: 0 },
      { client_id: 'cw-2', folded: 1 },
    ]);
    const c = again.load();
    expect(c.unreadable.orders + c.unreadable.reports).toBe(0);
    expect(c.events.map((e) => [e.seq, e.t])).toEqual([[1, 'order'], [2, 'report'], [3, 'order'], [4, 'report']]);
    again.close();
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { orderValueProblem, type ExecutionReport, type Order, type OrderIntent } from '../domain/orders.js';
import { OrderManager, type ReportOutcome } from '../engine/order-manager.js';
import type { JournalError } from './errors.js';
import { JournalStore } from './store.js';
import { isRecordFault } from './writer.js';

/**
 * What the engine accepts, the journal must store and a restart must read back (docs/journal.md,
 * "Records the writer cannot store"). A record the writer could not store once failed its whole
 * batch at every retry, every record queued after it (fills included) with it; one it stored but
 * a restart could not read was left out of the restored position, and the start came up HALTED.
 */

const INTENT: OrderIntent = { exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 't' };

function tmpJournal(): string {
  return join(mkdtempSync(join(tmpdir(), 'cwts-unstorable-')), 'j.db');
}

/** What engine.ts onExecutionReport does with a report: apply it, and journal it only if applied. */
function onReport(om: OrderManager, s: JournalStore, r: ExecutionReport, now: number): ReportOutcome {
  const out = om.apply(r, now);
  if (out.kind === 'applied') {
    const o = out.order;
    s.append({ t: 'report', report: r, order: { status: o.status, filledQty: o.filledQty, feeAtoms: o.feeAtoms, venueOrderId: o.venueOrderId, symbol: o.symbol }, feeAsset: r.feeAsset ?? 'USDT', ts: now });
  }
  return out;
}

function cancelOf(o: Order, over: Record<string, unknown> = {}): ExecutionReport {
  return { kind: 'cancelled', exchange: 'sim', symbol: 'BTCUSDT', clientOrderId: o.clientOrderId, side: 'buy', lastPrice: 0, lastQty: 0, leavesQty: 0, cumQty: 0, feeAtoms: 0n, ts: 5, ...over } as ExecutionReport;
}

function fillOf(o: Order, over: Record<string, unknown> = {}): ExecutionReport {
  return { kind: 'fill', exchange: 'sim', symbol: 'BTCUSDT', clientOrderId: o.clientOrderId, side: 'buy', lastPrice: 100, lastQty: 10, leavesQty: 0, cumQty: 10, feeAtoms: 3n, tradeId: `t-${o.clientOrderId}`, ts: 6, ...over } as ExecutionReport;
}

async function until(done: () => boolean): Promise<void> {
  const end = Date.now() + 30_000;
  while (!done() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

describe('a non-fill report the engine would journal must not wedge the journal writer', () => {
  /** A third-party adapter's cancel of order a (committed earlier), then a genuine fill of order b. */
  function cancelThenFill(bad: Record<string, unknown>): { cancel: ReportOutcome; flushError: string | undefined; fillsCommitted: number; aOpen: boolean } {
    const s = JournalStore.open(tmpJournal(), { fsync: 'batch', batchMs: 60_000 });
    const om = new OrderManager();
    const a = om.create(INTENT, 1);
    const b = om.create(INTENT, 1);
    s.append({ t: 'order', order: { ...a }, ts: 1 });
    s.append({ t: 'order', order: { ...b }, ts: 1 });
    s.flush();
    const cancel = onReport(om, s, cancelOf(a, bad), 5);
    onReport(om, s, fillOf(b), 6);
    let flushError: string | undefined;
    try {
      s.flush();
    } catch (err) {
      flushError = (err as Error).message;
    }
    const fillsCommitted = s.database.prepare('SELECT count(*) FROM fills').pluck().get() as number;
    s.close({ clean: false });
    return { cancel, flushError, fillsCommitted, aOpen: om.get(a.clientOrderId)!.status === 'pending_new' };
  }

  it('a cancel whose fee is the number 0 (not 0n) is refused (fill_fee) before it is applied; the fill after it is committed', () => {
    const r = cancelThenFill({ feeAtoms: 0 });
    expect(r.cancel).toMatchObject({ kind: 'invalid', reason: 'fill_fee' });
    expect(r.aOpen).toBe(true);
    expect(r.flushError).toBeUndefined();
    expect(r.fillsCommitted).toBe(1);
  });

  it('a cancel without a venue time is refused (field): venue_ts is NOT NULL', () => {
    const r = cancelThenFill({ ts: undefined });
    expect(r.cancel).toMatchObject({ kind: 'invalid', reason: 'field', detail: 'venue time undefined is not a finite number' });
    expect(r.flushError).toBeUndefined();
    expect(r.fillsCommitted).toBe(1);
  });

  it('a cancel without quantities or fee (a plain-JS adapter) is applied, committed and read back as it was', () => {
    const path = tmpJournal();
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
    const om = new OrderManager();
    const a = om.create(INTENT, 1);
    s.append({ t: 'order', order: { ...a }, ts: 1 });
    const bare = cancelOf(a);
    for (const k of ['lastPrice', 'lastQty', 'leavesQty', 'cumQty', 'feeAtoms'] as const) delete bare[k];
    expect(onReport(om, s, bare, 5).kind).toBe('applied');
    s.close();
    const again = JournalStore.open(path);
    const c = again.load();
    again.close();
    expect(c.unreadable).toMatchObject({ orders: 0, reports: 0 });
    const back = c.events.find((e) => e.t === 'report');
    expect(back).toMatchObject({ t: 'report', report: { kind: 'cancelled', clientOrderId: a.clientOrderId, ts: 5 } });
    expect(Object.keys((back as { report: object }).report).sort()).toEqual(['clientOrderId', 'exchange', 'kind', 'side', 'symbol', 'ts']);
  });
});

describe('an order intent the engine would send must not wedge the journal writer', () => {
  it("a plain-JS strategy's reason that is a number (a signal's numeric id) is refused before it is sent", () => {
    const intent = { ...INTENT, source: 'js-strategy', reason: 4711 } as unknown as OrderIntent;
    expect(orderValueProblem(intent)).toBe('reason must be a string when given, got 4711');
  });
});

describe('a fill the engine books reads back at restart', () => {
  function bookAndRestart(over: Record<string, unknown>): { out: ReportOutcome; unreadable: number; restoredFills: number } {
    const path = tmpJournal();
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
    const om = new OrderManager();
    const o = om.create(INTENT, 1);
    s.append({ t: 'order', order: { ...o }, ts: 1 });
    const out = onReport(om, s, fillOf(o, over), 6);
    s.close();
    const again = JournalStore.open(path);
    const c = again.load();
    again.close();
    return { out, unreadable: c.unreadable.orders + c.unreadable.reports, restoredFills: c.events.filter((e) => e.t === 'report' && e.report.kind === 'fill').length };
  }

  it("liquidity 'Maker' (a third-party adapter's casing) is refused (field), as the restart's decoder would: never booked, never unreadable", () => {
    const r = bookAndRestart({ liquidity: 'Maker' });
    expect(r.out).toMatchObject({ kind: 'invalid', reason: 'field', detail: 'liquidity "Maker" is neither maker nor taker' });
    expect({ unreadable: r.unreadable, restoredFills: r.restoredFills }).toEqual({ unreadable: 0, restoredFills: 0 });
  });

  it('a fee with more than 400 digits (past what a restart decodes) is refused (fill_fee); the largest the restart reads, either sign, is booked and restored', () => {
    const tooLong = bookAndRestart({ feeAtoms: 10n ** 400n });
    expect(tooLong.out).toMatchObject({ kind: 'invalid', reason: 'fill_fee' });
    expect({ unreadable: tooLong.unreadable, restoredFills: tooLong.restoredFills }).toEqual({ unreadable: 0, restoredFills: 0 });
    expect(bookAndRestart({ feeAtoms: -(10n ** 399n) }).out).toMatchObject({ kind: 'invalid', reason: 'fill_fee' });
    for (const fee of [10n ** 400n - 1n, -(10n ** 399n) + 1n]) {
      const r = bookAndRestart({ feeAtoms: fee });
      expect(r.out).toMatchObject({ kind: 'applied', fill: true });
      expect({ unreadable: r.unreadable, restoredFills: r.restoredFills }).toEqual({ unreadable: 0, restoredFills: 1 });
    }
  });

  it('a fill without cumQty or leavesQty (an adapter that does not track them) is booked and restored', () => {
    const r = bookAndRestart({ cumQty: undefined, leavesQty: undefined });
    expect(r.out).toMatchObject({ kind: 'applied', fill: true });
    expect({ unreadable: r.unreadable, restoredFills: r.restoredFills }).toEqual({ unreadable: 0, restoredFills: 1 });
  });

  it('any report the engine applies, any field replaced by a hostile value, is committed and read back, and the replay books it again', () => {
    const hostile: unknown[] = [undefined, null, 0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 0n, 5n, '', 'x', 'Maker', 'maker', 'taker', 'order', 'request', 'sell', 'SELL', 'a'.repeat(201), true, {}, []];
    const fields = ['side', 'lastPrice', 'lastQty', 'leavesQty', 'cumQty', 'feeAtoms', 'feeAsset', 'liquidity', 'tradeId', 'rejectReason', 'rejects', 'text', 'ts', 'venueOrderId'];
    const cases = fc.sample(
      fc.record({
        kind: fc.constantFrom('ack', 'fill', 'cancelled', 'rejected', 'expired'),
        patch: fc.array(fc.tuple(fc.constantFrom(...fields), fc.constantFrom(...hostile)), { minLength: 1, maxLength: 3 }),
      }),
      { numRuns: 400, seed: 20_240_601 },
    );
    const path = tmpJournal();
    const errors: JournalError[] = [];
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, onError: (e) => errors.push(e) });
    const om = new OrderManager();
    let applied = 0;
    cases.forEach(({ kind, patch }, n) => {
      const o = om.create(INTENT, n);
      s.append({ t: 'order', order: { ...o }, ts: n });
      const base = kind === 'fill' ? fillOf(o) : { ...cancelOf(o), kind };
      const r = { ...base, ...Object.fromEntries(patch) } as ExecutionReport;
      if (onReport(om, s, r, n).kind === 'applied') applied++;
    });
    expect(applied).toBeGreaterThan(20);
    expect(() => s.flush()).not.toThrow();
    expect(s.writerStats.setAside).toBe(0);
    expect(errors).toEqual([]);
    s.close();

    const again = JournalStore.open(path);
    const c = again.load();
    again.close();
    expect(c.unreadable).toMatchObject({ orders: 0, reports: 0 });
    expect(c.events.filter((e) => e.t === 'report')).toHaveLength(applied);
    // the restore's replay (engine/rebuild.ts) refuses none of them as unbookable
    const replay = new OrderManager(undefined, { minClosed: Infinity, closedMs: Infinity, maxClosed: Infinity });
    const refused: string[] = [];
    for (const e of c.events) {
      if (e.t === 'order') replay.restore({ ...e.order });
      else if (e.t === 'report') {
        const out = replay.apply(e.report, e.report.ts);
        if (out.kind !== 'applied') refused.push(`${e.report.clientOrderId}: ${out.kind}`);
      }
    }
    expect(refused).toEqual([]);
  });
});

describe('the writer sets aside a record it cannot store, never the records around it', () => {
  it('batch: reported once as a write error naming it, counted; the fill after it and later records are committed', async () => {
    const path = tmpJournal();
    const errors: string[] = [];
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, onError: (e) => errors.push(e.message) });
    const om = new OrderManager();
    const a = om.create(INTENT, 1);
    const b = om.create(INTENT, 1);
    s.append({ t: 'order', order: { ...a }, ts: 1 });
    s.append({ t: 'order', order: { ...b }, ts: 1 });
    s.flush();
    // A report that reached the journal past the engine's check (a bug): a number where a bigint belongs.
    const status = { status: 'cancelled' as const, filledQty: 0, feeAtoms: 0n, venueOrderId: undefined, symbol: 'BTCUSDT' };
    s.append({ t: 'report', report: cancelOf(a, { feeAtoms: 0 }), order: status, feeAsset: 'USDT', ts: 5 });
    s.append({ t: 'report', report: fillOf(b), order: { ...status, status: 'filled', filledQty: 10, feeAtoms: 3n }, feeAsset: 'USDT', ts: 6 });
    expect(() => s.flush()).toThrow(/a cancelled report of order cw-1 could not be stored and was set aside, not journaled \(the records around it are\)/);
    await until(() => errors.length > 0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^journal .*: a cancelled report of order cw-1 could not be stored and was set aside/);
    expect(s.database.prepare('SELECT count(*) FROM fills').pluck().get()).toBe(1);
    expect(s.writerStats.setAside).toBe(1);
    expect(s.pending).toBe(0);
    // Nothing is retried: the next commits go through, and report nothing more.
    const c = om.create(INTENT, 7);
    s.append({ t: 'order', order: { ...c }, ts: 7 });
    expect(s.flush()).toBe(1);
    expect(s.database.prepare('SELECT client_id FROM orders ORDER BY seq').pluck().all()).toEqual([a.clientOrderId, b.clientOrderId, c.clientOrderId]);
    expect(errors).toHaveLength(1);
    s.close();
  });

  it('always: an order record it cannot store is refused (append false: the order is not sent), and later appends commit', () => {
    const path = tmpJournal();
    const errors: string[] = [];
    const s = JournalStore.open(path, { fsync: 'always', onError: (e) => errors.push(e.message) });
    const om = new OrderManager();
    const bad = { ...om.create(INTENT, 1), reason: 4711 } as unknown as Order;
    expect(s.append({ t: 'order', order: bad, ts: 1 })).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/the order record of cw-1 could not be stored and was set aside/);
    const good = om.create(INTENT, 2);
    expect(s.append({ t: 'order', order: { ...good }, ts: 2 })).toBe(true);
    expect(s.database.prepare('SELECT client_id FROM orders').pluck().all()).toEqual([good.clientOrderId]);
    expect(s.writerStats.setAside).toBe(1);
    s.close();
  });

  it("a failure is the record's when encoding or binding it throws or SQLite refuses its value; a busy, full or failing database is not (kept, retried)", () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (x INTEGER NOT NULL)');
    const caught = (f: () => unknown): unknown => {
      try {
        f();
      } catch (err) {
        return err;
      }
      throw new Error('did not throw');
    };
    expect(isRecordFault(caught(() => db.prepare('INSERT INTO t (x) VALUES (?)').run(null)))).toBe(true);
    expect(isRecordFault(caught(() => db.prepare('INSERT INTO t (x) VALUES (?)').run({})))).toBe(true);
    expect(isRecordFault(caught(() => Buffer.allocUnsafe(Number.NaN)))).toBe(true);
    db.close();
    for (const code of ['SQLITE_BUSY', 'SQLITE_FULL', 'SQLITE_IOERR_WRITE', 'SQLITE_READONLY', 'SQLITE_CORRUPT', 'SQLITE_LOCKED']) {
      expect(isRecordFault(Object.assign(new Error(code), { code })), code).toBe(false);
    }
    expect(isRecordFault(Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT_NOTNULL' }))).toBe(true);
    expect(isRecordFault(new Error('anything else'))).toBe(false);
  });
});

describe('the client id reservation is fsynced under batch', () => {
  it('commits with synchronous FULL; the commits around it keep the policy (NORMAL)', () => {
    const s = JournalStore.open(tmpJournal(), { fsync: 'batch', batchMs: 60_000 });
    const om = new OrderManager();
    s.append({ t: 'order', order: { ...om.create(INTENT, 1) }, ts: 1 });
    s.flush();
    expect(s.writerStats.fullSyncCommits).toBe(0);
    s.reserveClientIds(1000);
    expect(s.writerStats.fullSyncCommits).toBe(1);
    s.append({ t: 'order', order: { ...om.create(INTENT, 2) }, ts: 2 });
    s.flush();
    expect(s.writerStats.fullSyncCommits).toBe(1);
    s.close();
  });

  it('a reservation taken ahead is published only by a durable commit that stored everything: one that set a record aside publishes nothing', () => {
    const s = JournalStore.open(tmpJournal(), { fsync: 'batch', batchMs: 60_000, onError: () => {} });
    const om = new OrderManager();
    const a = om.create(INTENT, 1);
    s.append({ t: 'order', order: { ...a }, ts: 1 });
    s.reserveClientIds(1000);
    expect(s.durableClientIds).toBe(1000);
    // A record the writer cannot store travels with the reservation: that commit reports a problem.
    const status = { status: 'cancelled' as const, filledQty: 0, feeAtoms: 0n, venueOrderId: undefined, symbol: 'BTCUSDT' };
    s.append({ t: 'report', report: cancelOf(a, { feeAtoms: 0 }), order: status, feeAsset: 'USDT', ts: 5 });
    s.reserveClientIdsAhead(2000);
    try {
      s.flush();
    } catch {
      // the set-aside record may be reported here too
    }
    expect(s.writerStats.setAside).toBe(1);
    // The engine does not issue ids above 1000 without waiting: its next block is reserved blocking.
    expect(s.durableClientIds).toBe(1000);
    s.reserveClientIds(2000);
    expect(s.durableClientIds).toBe(2000);
    s.close();
  });

  it('under always every commit is FULL', () => {
    const s = JournalStore.open(tmpJournal(), { fsync: 'always' });
    const om = new OrderManager();
    const before = s.writerStats.fullSyncCommits;
    s.append({ t: 'order', order: { ...om.create(INTENT, 1) }, ts: 1 });
    s.reserveClientIds(1000);
    expect(s.writerStats.fullSyncCommits - before).toBe(2);
    s.close();
  });
});

/**
 * A record the writer sets aside in the final commit at close() (the records queued in the last
 * batch_ms before SIGTERM) was lost silently: close() posts the queue without waiting for its
 * answer, the commit set the record aside (its error went out as an event the closing thread
 * never reads), and the 'close' request then found nothing pending and answered ok: the run was
 * stamped clean_exit = 1, no HALT, onError never called. The close answer now names every
 * set-aside record the engine thread has not read (docs/journal.md, "Records the writer cannot
 * store").
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';

import type { ExecutionReport, Order, OrderIntent } from '../domain/orders.js';
import { OrderManager } from '../engine/order-manager.js';
import { JournalStore } from './store.js';

const INTENT: OrderIntent = { exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 't' };

describe('a record set aside by the final commit at close()', () => {
  it('leaves the run unclean with a HALT, and is reported to onError', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-review-close-')), 'j.db');
    const errors: string[] = [];
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, onError: (e) => errors.push(e.message) });
    const om = new OrderManager();
    const a = om.create(INTENT, 1);
    // queued in the last batch before shutdown: an order record the writer cannot store
    // (created_ts NOT NULL; e.g. an order adopted from a venue listing without a creation time),
    // and a genuine fill of it
    s.append({ t: 'order', order: { ...a, createdTs: undefined } as unknown as Order, ts: 1 });
    const fill: ExecutionReport = { kind: 'fill', exchange: 'sim', symbol: 'BTCUSDT', clientOrderId: a.clientOrderId, side: 'buy', lastPrice: 100, lastQty: 10, leavesQty: 0, cumQty: 10, feeAtoms: 3n, tradeId: 't1', ts: 6 };
    s.append({ t: 'report', report: fill, order: { status: 'filled', filledQty: 10, feeAtoms: 3n, venueOrderId: undefined, symbol: 'BTCUSDT' }, feeAsset: 'USDT', ts: 6 });
    s.close();
    await new Promise((r) => setTimeout(r, 200));

    const db = new Database(path, { readonly: true });
    const orders = db.prepare('SELECT count(*) FROM orders').pluck().get();
    const run = db.prepare('SELECT ended_at IS NOT NULL AS ended, clean_exit FROM runs ORDER BY run_id DESC LIMIT 1').get() as { ended: number; clean_exit: number };
    const lastRisk = db.prepare('SELECT to_state FROM risk_transitions ORDER BY seq DESC LIMIT 1').pluck().get();
    db.close();
    expect(orders).toBe(0); // the order record was set aside (not stored)
    expect({ cleanExit: run.clean_exit, lastRisk, reported: errors.some((e) => /set aside/.test(e)) }).toEqual({ cleanExit: 0, lastRisk: 'HALTED', reported: true });
  });

  it('one set aside earlier in the run, already reported to onError, does not make the close unclean', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-close-seen-')), 'j.db');
    const errors: string[] = [];
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 10, onError: (e) => errors.push(e.message) });
    const a = new OrderManager().create(INTENT, 1);
    s.append({ t: 'order', order: { ...a, createdTs: undefined } as unknown as Order, ts: 1 });
    for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(errors).toEqual([expect.stringMatching(/set aside/)]);
    s.close();
    const db = new Database(path, { readonly: true });
    const run = db.prepare('SELECT clean_exit FROM runs ORDER BY run_id DESC LIMIT 1').get() as { clean_exit: number };
    const halts = db.prepare("SELECT count(*) FROM risk_transitions WHERE to_state = 'HALTED'").pluck().get();
    db.close();
    // the run's own HALT on that error is the engine's (onError); the close adds none
    expect({ cleanExit: run.clean_exit, halts, reports: errors.length }).toEqual({ cleanExit: 1, halts: 0, reports: 1 });
  });
});

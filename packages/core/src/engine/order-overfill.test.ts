/**
 * A fill that takes an order past its quantity is refused (order-manager.ts, overfill), except
 * on an order adopted from a venue trade, whose quantity grows with its trades, and in the replay
 * of a journal, which books what the live engine booked.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport, OrderIntent } from '../domain/orders.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { OrderManager } from './order-manager.js';
import { attachJournal } from './rebuild.js';
import { riskTestEngine } from './risk-test-engine.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot = (seq: number): BookSnapshotEvent => ({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] });

function engineOn(path: string, venue: ScriptedVenue) {
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const engine = new Engine({
    clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, journal: store, onShutdown: 'keep', onReconcileMismatch: 'adopt-venue',
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  attachJournal(engine, store, silentLogger());
  return { engine, metrics };
}

const venueTrade = (clientOrderId: string, qty: number, tradeId: string, ts: number): ExecutionReport =>
  ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId, side: 'buy', lastPrice: 5_000_000, lastQty: qty, cumQty: 0, leavesQty: 0, feeAtoms: 0n, liquidity: 'taker', tradeId, ts });

describe('OrderManager: fills past the order quantity', () => {
  const intent: OrderIntent = { exchange: 'x', symbol: 'S', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 't' };
  const fill = (id: string, lastQty: number, tradeId?: string): ExecutionReport =>
    ({ kind: 'fill', exchange: 'x', symbol: 'S', clientOrderId: id, side: 'buy', lastPrice: 100, lastQty, leavesQty: 0, cumQty: 0, feeAtoms: 0n, tradeId, ts: 1 });

  it('refuses a fill that takes filledQty past qty (with or without a trade id), and nothing of it is applied', () => {
    const m = new OrderManager('cw');
    const o = m.create(intent, 1);
    expect(m.apply(fill(o.clientOrderId, 7, 'a'), 2).kind).toBe('applied');
    const out = m.apply(fill(o.clientOrderId, 4, 'b'), 3);
    expect(out).toMatchObject({ kind: 'invalid', reason: 'fill_qty' });
    expect(m.apply(fill(o.clientOrderId, 4), 4)).toMatchObject({ kind: 'invalid', reason: 'fill_qty' });
    expect({ filledQty: o.filledQty, status: o.status, updatedTs: o.updatedTs }).toEqual({ filledQty: 7, status: 'partially_filled', updatedTs: 2 });
    // the refused trade id was not noted: the venue's real fill under it still books
    expect(m.hasTrade(o.clientOrderId, 'b')).toBe(false);
    expect(m.apply(fill(o.clientOrderId, 3, 'b'), 5).kind).toBe('applied');
    expect({ filledQty: o.filledQty, status: o.status }).toEqual({ filledQty: 10, status: 'filled' });
  });

  it('a fill of a filled order repeated under its own trade id is a duplicate, not an invalid report', () => {
    const m = new OrderManager('cw');
    const o = m.create(intent, 1);
    m.apply(fill(o.clientOrderId, 10, 'a'), 2);
    expect(m.apply(fill(o.clientOrderId, 10, 'a'), 3).kind).toBe('duplicate');
  });

  it('books a journaled fill past the quantity in a replay (the live engine booked it)', () => {
    const m = new OrderManager('cw');
    const o = m.create(intent, 1);
    m.apply(fill(o.clientOrderId, 10, 'a'), 2, true);
    expect(m.apply(fill(o.clientOrderId, 5, 'b'), 3, true).kind).toBe('applied');
    expect(o.filledQty).toBe(15);
  });
});

describe('engine: fills past the order quantity', () => {
  it('a reduce-only exit reported filled twice over (another trade id, then none) is not booked past its quantity: the position does not flip', async () => {
    const { engine, venue, trade, submit, metrics } = await riskTestEngine();
    trade('buy', 5);
    const r = submit({ side: 'sell', qty: 5, price: 5_000_000, reduceOnly: true });
    expect(r.accepted, r.message).toBe(true);
    const exit = venue.submitted.at(-1)!;
    venue.report(exit, { kind: 'ack', leavesQty: 5 });
    venue.report(exit, { kind: 'fill', lastPrice: 5_000_000, lastQty: 5, cumQty: 5, leavesQty: 0, tradeId: 'x1' });
    venue.report(exit, { kind: 'fill', lastPrice: 5_000_000, lastQty: 5, cumQty: 10, leavesQty: 0, tradeId: 'x2' });
    venue.report(exit, { kind: 'fill', lastPrice: 5_000_000, lastQty: 5, cumQty: 15, leavesQty: 0 });
    const o = engine.orders.get(r.clientOrderId!)!;
    expect({ filledQty: o.filledQty, status: o.status, position: engine.portfolio.qty('v', 'BTCUSDT') }).toEqual({ filledQty: 5, status: 'filled', position: 0 });
    expect(await metrics.text()).toMatch(/cwts_execution_reports_invalid_total\{exchange="v",reason="fill_qty"\} 2/);
    await engine.stop();
  });
});

describe('reconciliation and restore: orders adopted from venue trades', () => {
  it('books every trade of an order the journal never saw (its quantity grows with them), and a restart restores the same', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-overfill-')), 'j.db');
    // two trades of one order the journal never saw (its record lost in a crash)
    const trades = [venueTrade('cw-77', 5, '200', 1_000_000), venueTrade('cw-77', 7, '201', 1_000_001)];
    const v1 = new ScriptedVenue('v', [BTC]);
    v1.tradesSince = async () => trades;
    const a = engineOn(path, v1).engine;
    await a.start();
    const adopted = a.orders.get('cw-77')!;
    expect({ qty: adopted.qty, filledQty: adopted.filledQty, status: adopted.status, position: a.portfolio.qty('v', 'BTCUSDT') }).toEqual({ qty: 12, filledQty: 12, status: 'filled', position: 12 });
    await a.stop('SIGTERM');

    // The journal holds the order as adopted (5 lots, its first trade) and both fills: the
    // shape journals written before overfills were refused have too.
    const v2 = new ScriptedVenue('v', [BTC]);
    v2.tradesSince = async () => trades;
    const { engine: b, metrics } = engineOn(path, v2);
    await b.start();
    expect(b.restoredFrom!.unbookableReports).toBe(0);
    expect(b.riskState.state).toBe('ACTIVE');
    expect({ qty: b.orders.get('cw-77')!.qty, filledQty: b.orders.get('cw-77')!.filledQty, position: b.portfolio.qty('v', 'BTCUSDT') }).toEqual({ qty: 12, filledQty: 12, position: 12 });
    expect(await metrics.text()).not.toMatch(/cwts_execution_reports_invalid_total\{exchange="v",reason="fill_qty"\} [1-9]/);
    await b.stop('test');
  });

  it('a journal in which an order was booked past its quantity (before such fills were refused) restores what was booked, without halting', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-overfill-')), 'j.db');
    const v1 = new ScriptedVenue('v', [BTC]);
    const a = engineOn(path, v1).engine;
    await a.start();
    v1.sink!.onMarketEvent(snapshot(1));
    const r = a.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_100, qty: 5, tif: 'GTC', source: 'test' });
    expect(r.accepted, r.message).toBe(true);
    const id = r.clientOrderId!;
    // what an engine before this change journaled for a fill of 5 and the same fill again under another trade id
    for (const [tradeId, filledQty] of [['x1', 5], ['x2', 10]] as const) {
      a.journal({ t: 'report', report: { ...venueTrade(id, 5, tradeId, 1_000_000), lastPrice: 5_000_100 }, order: { status: 'filled', filledQty, feeAtoms: 0n, venueOrderId: undefined, symbol: 'BTCUSDT' }, feeAsset: 'USDT', ts: 1_000_000 });
    }
    await a.stop('SIGTERM');

    const v2 = new ScriptedVenue('v', [BTC]);
    const b = engineOn(path, v2).engine;
    await b.start();
    expect(b.restoredFrom!.unbookableReports).toBe(0);
    expect(b.riskState.state).toBe('ACTIVE');
    expect({ filledQty: b.orders.get(id)!.filledQty, position: b.portfolio.qty('v', 'BTCUSDT') }).toEqual({ filledQty: 10, position: 10 });
    await b.stop('test');
  });
});

/**
 * `closedOrders.maxClosed = 0` keeps no closed order in memory. Reconciliation brings a journaled
 * order that has left memory back (OrderManager.reviveJournaled) to book a venue trade of it onto
 * it: brought back closed, it was forgotten again before it was returned, and the trade was
 * refused ("cannot be brought back") instead of booked.
 */
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport, Order, OrderIntent } from '../domain/orders.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { OrderManager } from './order-manager.js';
import { HandTimers, ScriptedVenue } from './test-venue.js';

const NONE_CLOSED = { minClosed: 0, closedMs: 0, maxClosed: 0 };
const intent: OrderIntent = { exchange: 'x', symbol: 'S', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 't' };
const report = (clientOrderId: string, kind: ExecutionReport['kind'], extra: Partial<ExecutionReport> = {}): ExecutionReport => ({
  kind, exchange: 'x', symbol: 'S', clientOrderId, side: 'buy', lastPrice: 0, lastQty: 0, leavesQty: 0, cumQty: 0, feeAtoms: 0n, ts: 0, ...extra,
});

/** An order noted as journaled, filled 4 of 10 lots, cancelled: forgotten at once. */
function forgottenJournaled(): { m: OrderManager; id: string } {
  const m = new OrderManager('cw', NONE_CLOSED);
  const o = m.create(intent, 0);
  m.noteJournaled(o);
  m.apply(report(o.clientOrderId, 'fill', { tradeId: 't1', lastPrice: 100, lastQty: 4 }), 10);
  m.apply(report(o.clientOrderId, 'cancelled'), 20);
  expect(m.get(o.clientOrderId)).toBeUndefined();
  expect(m.closedCount).toBe(0);
  return { m, id: o.clientOrderId };
}

describe('OrderManager.reviveJournaled with maxClosed 0', () => {
  it('brings a closed journaled order back for its booking, then keeps no closed order', () => {
    const { m, id } = forgottenJournaled();
    const revived = m.reviveJournaled(id, 30);
    expect(revived).toMatchObject({ clientOrderId: id, status: 'cancelled', filledQty: 4, qty: 10 });
    expect(m.get(id)).toBe(revived);
    expect(m.apply(report(id, 'fill', { tradeId: 't2', lastPrice: 100, lastQty: 2 }), 40)).toMatchObject({ kind: 'applied', fill: true });
    expect(revived!.filledQty).toBe(6);
    // booked: closed orders are not kept
    expect(m.get(id)).toBeUndefined();
    expect(m.closedCount).toBe(0);
  });

  it('a revived order nothing was booked onto is let go when released', () => {
    const { m, id } = forgottenJournaled();
    m.reviveJournaled(id, 30);
    m.releaseRevived(id);
    expect(m.get(id)).toBeUndefined();
    expect(m.closedCount).toBe(0);
  });

  it('brought back working (the venue still works it): open, and never forgotten while it is', () => {
    const { m, id } = forgottenJournaled();
    const revived = m.reviveJournaled(id, 30, true);
    expect(revived).toMatchObject({ status: 'partially_filled', filledQty: 4 });
    // another order closes: the working one stays
    m.apply(report(m.create(intent, 40).clientOrderId, 'rejected'), 40);
    expect(m.allOpen().map((o) => o.clientOrderId)).toEqual([id]);
    expect(m.apply(report(id, 'fill', { tradeId: 't3', lastPrice: 100, lastQty: 6 }), 50)).toMatchObject({ kind: 'applied', fill: true });
    expect(revived!.status).toBe('filled');
    expect(m.openCount()).toBe(0);
    expect(m.closedCount).toBe(0);
  });
});

describe('reconciliation with maxClosed 0', () => {
  it('a trade of a journaled order that has left memory is booked onto it, not refused', async () => {
    const T = 1_000_000;
    const down = new ScriptedVenue('down', [defineInstrument({ exchange: 'down', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' })], { canTrade: true }, false);
    const listed: Order = { exchange: 'down', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 3, tif: 'GTC', source: 'venue', clientOrderId: 'cw-5', venueOrderId: 'V5', status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: T - 5000, updatedTs: T - 5000 };
    const fill = (qty: number, tradeId: string, ts: number): ExecutionReport =>
      ({ kind: 'fill', exchange: 'down', symbol: 'BTCUSDT', clientOrderId: 'cw-5', venueOrderId: 'V5', side: 'buy', lastPrice: 5_000_000, lastQty: qty, leavesQty: 0, cumQty: 0, feeAtoms: 0n, tradeId, ts });
    down.venueOpen = [listed];
    const read = down.tradesSince.bind(down);
    let reachable = false;
    down.tradesSince = async (symbols, since) => {
      if (!reachable) throw new Error('HTTP 503');
      return read(symbols, since);
    };
    const timers = new HandTimers();
    const engine = new Engine({
      clock: new ManualClock(T), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, timers, closedOrders: NONE_CLOSED,
      venues: [{ name: 'down', symbols: ['BTCUSDT'], marketData: down, execution: down }],
    });
    await engine.start();
    expect(engine.reconciled).toBe(false);
    // adopted by the failed attempt; filled 1 lot and cancelled live: forgotten at once
    const x1 = fill(1, 'x1', T + 100);
    down.onReport!(x1);
    down.report(engine.orders.get('cw-5')!, { kind: 'cancelled', ts: T + 102 });
    expect(engine.orders.get('cw-5')).toBeUndefined();
    // two trades that crossed the cancel: each brings it back, and its count, for its turn
    reachable = true;
    down.venueOpen = [];
    down.trades = [x1, fill(1, 'x2', T + 101), fill(1, 'x3', T + 101)];
    timers.fire();
    for (let k = 0; k < 20; k++) await new Promise<void>((r) => setImmediate(r));
    expect(engine.reconciled).toBe(true);
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(3);
    const mismatches = engine.reconcileResult!.mismatches;
    expect(mismatches.filter((m) => m.kind === 'status').map((m) => m.detail)).toEqual([
      expect.stringMatching(/trade x2 .* of journaled order cw-5, closed in the journal with 1 of 3 lots filled: booked onto it/),
      expect.stringMatching(/trade x3 .* of journaled order cw-5, closed in the journal with 2 of 3 lots filled: booked onto it/),
    ]);
    expect(engine.orders.closedCount).toBe(0);
    await engine.stop('test');
  });
});

describe('OrderManager.reviveJournaled of an order the journal has no creation time for', () => {
  it('is revived with createdTs 0 (unknown to every adapter), not the time of the revival', () => {
    const m = new OrderManager('cw', NONE_CLOSED);
    const o = m.create(intent, 0);
    m.noteJournaled({ ...o, createdTs: Number.NaN });
    m.apply(report(o.clientOrderId, 'cancelled'), 20);
    expect(m.get(o.clientOrderId)).toBeUndefined();
    expect(m.reviveJournaled(o.clientOrderId, 5_000_000, true)).toMatchObject({ clientOrderId: o.clientOrderId, status: 'open', createdTs: 0 });
  });
});

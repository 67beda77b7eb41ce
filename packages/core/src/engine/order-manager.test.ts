import { describe, expect, it } from 'vitest';

import type { ExecutionReport, OrderIntent } from '../domain/orders.js';
import { OrderManager } from './order-manager.js';

const intent: OrderIntent = { exchange: 'x', symbol: 'S', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 't' };
const report = (clientOrderId: string, kind: ExecutionReport['kind'], extra: Partial<ExecutionReport> = {}): ExecutionReport => ({
  kind, exchange: 'x', symbol: 'S', clientOrderId, side: 'buy', lastPrice: 0, lastQty: 0, leavesQty: 0, cumQty: 0, feeAtoms: 0n, ts: 0, ...extra,
});

describe('OrderManager: closed orders are forgotten, never the open ones nor recent closed ones', () => {
  it('keeps a closed order while it is recent (a late fill after the cancel ack is applied once), forgets it once old and beyond the floor', () => {
    const m = new OrderManager('cw', { minClosed: 2, closedMs: 1000 });
    const a = m.create(intent, 0);
    m.apply(report(a.clientOrderId, 'cancelled'), 10);
    // the venue's fill after its cancel ack: applied, de-duplicated by trade id
    expect(m.apply(report(a.clientOrderId, 'fill', { tradeId: 't1', lastPrice: 100, lastQty: 3 }), 20)).toMatchObject({ kind: 'applied', fill: true });
    expect(m.apply(report(a.clientOrderId, 'fill', { tradeId: 't1', lastPrice: 100, lastQty: 3 }), 30)).toMatchObject({ kind: 'duplicate' });
    const open = m.create(intent, 40);
    // two more closed orders: three closed, above the floor of two, but none is old yet
    for (const at of [50, 60]) m.apply(report(m.create(intent, at).clientOrderId, 'rejected'), at);
    expect(m.closedCount).toBe(3);
    expect(m.get(a.clientOrderId)).toBeDefined();
    // later: the oldest closed order is past closedMs and the count is above the floor
    m.apply(report(m.create(intent, 2000).clientOrderId, 'rejected'), 2000);
    expect(m.get(a.clientOrderId)).toBeUndefined();
    expect(m.apply(report(a.clientOrderId, 'fill', { tradeId: 't2', lastPrice: 100, lastQty: 1 }), 2001)).toEqual({ kind: 'unknown' });
    // the open order is never forgotten, however old
    expect(m.get(open.clientOrderId)?.status).toBe('pending_new');
    expect(m.allOpen().map((o) => o.clientOrderId)).toEqual([open.clientOrderId]);
    // the floor holds: what is left is at least minClosed closed orders
    expect(m.closedCount).toBeGreaterThanOrEqual(2);
  });

  it('memory stays bounded over a long run of orders', () => {
    const m = new OrderManager('cw', { minClosed: 1000, closedMs: 60_000 });
    for (let i = 0; i < 200_000; i++) {
      const now = i * 10; // 100 orders per second of clock time
      const o = m.create(intent, now);
      m.apply(report(o.clientOrderId, 'fill', { tradeId: `t${i}`, lastPrice: 100, lastQty: 10 }), now);
    }
    // 60 s of history at 100 orders/s is 6,000 orders (plus the one that just closed)
    expect(m.closedCount).toBeLessThanOrEqual(6_001);
    expect([...m.all()].length).toBe(m.closedCount);
  });
});

/**
 * OrderManager.reopen: an order closed here that the venue lists as working is open again
 * (reconciliation, step 1b; the restore, from the journal's reopen record). A held one keeps its
 * trade ids, and the place it had in the closed-order window is passed over: it is not forgotten
 * while open, nor, closed again, before its retention counts from that close.
 */
import { describe, expect, it } from 'vitest';

import type { ExecutionReport, OrderIntent } from '../domain/orders.js';
import { OrderManager, REOPENED_TEXT } from './order-manager.js';

const intent: OrderIntent = { exchange: 'x', symbol: 'S', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 't' };
const report = (clientOrderId: string, kind: ExecutionReport['kind'], extra: Partial<ExecutionReport> = {}): ExecutionReport => ({
  kind, exchange: 'x', symbol: 'S', clientOrderId, side: 'buy', lastPrice: 0, lastQty: 0, leavesQty: 0, cumQty: 0, feeAtoms: 0n, ts: 0, ...extra,
});
/** Closed orders are forgotten once closed for a second. */
const RETENTION = { minClosed: 0, closedMs: 1000, maxClosed: 1000 };

describe('OrderManager.reopen', () => {
  it('a held closed order: open again with its fills and trade ids, out of the closed-order window while open', () => {
    const m = new OrderManager('cw', RETENTION);
    const a = m.create(intent, 0);
    m.apply(report(a.clientOrderId, 'fill', { tradeId: 't1', lastPrice: 100, lastQty: 4 }), 0);
    m.apply(report(a.clientOrderId, 'cancelled'), 0);
    expect(m.closedCount).toBe(1);
    expect(m.reopen(a.clientOrderId, 10)).toBe(a);
    expect(a).toMatchObject({ status: 'partially_filled', filledQty: 4 });
    expect(m.allOpen()).toEqual([a]);
    expect(m.closedCount).toBe(0);
    // its booked fill is known by trade id
    expect(m.apply(report(a.clientOrderId, 'fill', { tradeId: 't1', lastPrice: 100, lastQty: 4 }), 20).kind).toBe('duplicate');
    // another order closes long after: the reopened one's old place comes out, and it stays
    const b = m.create(intent, 2000);
    m.apply(report(b.clientOrderId, 'rejected', { rejects: 'order' }), 2000);
    expect(m.get(a.clientOrderId)).toBe(a);
    expect(m.allOpen()).toEqual([a]);
    expect(m.closedCount).toBe(1);
  });

  it('closed again, it is forgotten a window after that close, not after the first', () => {
    const m = new OrderManager('cw', RETENTION);
    const a = m.create(intent, 0);
    m.apply(report(a.clientOrderId, 'cancelled'), 0);
    m.reopen(a.clientOrderId, 500);
    m.apply(report(a.clientOrderId, 'cancelled'), 900);
    expect(m.closedCount).toBe(1);
    const closeOne = (t: number) => m.apply(report(m.create(intent, t).clientOrderId, 'rejected', { rejects: 'order' }), t);
    // 1,500: a second after its first close, 0.6 s after its second
    closeOne(1500);
    expect(m.get(a.clientOrderId)).toBe(a);
    expect(m.closedCount).toBe(2);
    closeOne(1950);
    expect(m.get(a.clientOrderId)).toBeUndefined();
    expect(m.closedCount).toBe(2);
  });

  it('an open order is returned as it is; an id neither held nor journaled is none', () => {
    const m = new OrderManager('cw', RETENTION);
    const a = m.create(intent, 0);
    expect(m.reopen(a.clientOrderId, 10)).toBe(a);
    expect(a.status).toBe('pending_new');
    expect(m.reopen('cw-99', 10)).toBeUndefined();
  });

  it('a venue ack with the reopen record\'s text is refused (the restore would replay it as a reopen)', () => {
    const m = new OrderManager('cw', RETENTION);
    const a = m.create(intent, 0);
    m.apply(report(a.clientOrderId, 'cancelled'), 0);
    expect(m.apply(report(a.clientOrderId, 'ack', { text: REOPENED_TEXT }), 10)).toMatchObject({ kind: 'invalid', reason: 'field' });
    // any other text is an ack like any other
    expect(m.apply(report(a.clientOrderId, 'ack', { text: 'ok' }), 10).kind).toBe('applied');
    expect(a.status).toBe('cancelled');
  });
});

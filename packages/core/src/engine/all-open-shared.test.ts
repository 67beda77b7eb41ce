/**
 * OrderManager.allOpen() is read on the order path (the total-position check's
 * RiskContext.allOpenOrders) and built a new array on every call. It hands out one frozen array
 * until the open orders change, as openOrders() does per instrument; a change builds a new one
 * and leaves the one handed out as it was (a HALT cancels what it held while orders close).
 */
import { describe, expect, it } from 'vitest';

import type { ExecutionReport, Order, OrderIntent } from '../domain/orders.js';
import { OrderManager } from './order-manager.js';

const intent = (symbol = 'S'): OrderIntent => ({ exchange: 'x', symbol, side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 't' });
const report = (clientOrderId: string, kind: ExecutionReport['kind'], extra: Partial<ExecutionReport> = {}): ExecutionReport => ({
  kind, exchange: 'x', symbol: 'S', clientOrderId, side: 'buy', lastPrice: 0, lastQty: 0, leavesQty: 0, cumQty: 0, feeAtoms: 0n, ts: 0, ...extra,
});
const ids = (xs: readonly Order[]) => xs.map((o) => o.clientOrderId);

describe('OrderManager.allOpen: one shared array until the open orders change', () => {
  it('the same frozen array while nothing opens or closes, a new one with the right orders after each change', () => {
    const m = new OrderManager('cw');
    const empty = m.allOpen();
    expect(empty).toEqual([]);
    expect(m.allOpen()).toBe(empty);

    // opened
    const a = m.create(intent(), 1);
    const b = m.create(intent('T'), 2);
    const opened = m.allOpen();
    expect(ids(opened)).toEqual([a.clientOrderId, b.clientOrderId]);
    expect(Object.isFrozen(opened)).toBe(true);
    expect(m.allOpen()).toBe(opened);
    expect(empty).toEqual([]);

    // reports that leave the set as it is (an ack, a partial fill, a cancel sent) keep it
    m.apply(report(a.clientOrderId, 'ack'), 3);
    m.apply(report(a.clientOrderId, 'fill', { tradeId: 't1', lastPrice: 100, lastQty: 3 }), 4);
    m.markPendingCancel(b.clientOrderId);
    expect(m.allOpen()).toBe(opened);
    expect(opened[0]).toMatchObject({ status: 'partially_filled', filledQty: 3 });

    // closed: the array handed out stays as it was
    m.apply(report(b.clientOrderId, 'cancelled', { symbol: 'T' }), 5);
    const closed = m.allOpen();
    expect(closed).not.toBe(opened);
    expect(ids(closed)).toEqual([a.clientOrderId]);
    expect(ids(opened)).toEqual([a.clientOrderId, b.clientOrderId]);
    expect(m.allOpen()).toBe(closed);
    // a late fill of the closed order does not reopen it
    m.apply(report(b.clientOrderId, 'fill', { symbol: 'T', tradeId: 't2', lastPrice: 100, lastQty: 1 }), 6);
    expect(m.allOpen()).toBe(closed);

    // replaced under its id (restore): the new object, not the old one
    const replacement: Order = { ...a, qty: 20 };
    m.restore(replacement);
    const replaced = m.allOpen();
    expect(replaced).not.toBe(closed);
    expect(replaced).toHaveLength(1);
    expect(replaced[0]).toBe(replacement);
    expect(m.allOpen()).toBe(replaced);

    // restored closed, set aside, forced closed: each a change
    const c = m.create(intent(), 7);
    const d = m.create(intent(), 8);
    const withCd = m.allOpen();
    expect(ids(withCd)).toEqual([a.clientOrderId, c.clientOrderId, d.clientOrderId]);
    m.restore({ ...c, status: 'cancelled' });
    expect(ids(m.allOpen())).toEqual([a.clientOrderId, d.clientOrderId]);
    const beforeAside = m.allOpen();
    expect(m.setAside(d.clientOrderId)).toBe(true);
    expect(m.allOpen()).not.toBe(beforeAside);
    expect(ids(m.allOpen())).toEqual([a.clientOrderId]);
    const beforeForce = m.allOpen();
    m.forceClose(a.clientOrderId, 'unknown at the venue');
    expect(m.allOpen()).not.toBe(beforeForce);
    expect(m.allOpen()).toEqual([]);
    expect(m.openCount()).toBe(0);
    expect(ids(withCd)).toEqual([a.clientOrderId, c.clientOrderId, d.clientOrderId]);
  });

  it('a revived order followed as working is a change; a no-op (setAside of an order not held) is not', () => {
    const m = new OrderManager('cw', { minClosed: 0, closedMs: 0, maxClosed: 0 });
    const a = m.create(intent(), 1);
    m.noteJournaled(a);
    m.apply(report(a.clientOrderId, 'cancelled'), 2);
    expect(m.get(a.clientOrderId)).toBeUndefined();
    const none = m.allOpen();
    expect(m.setAside(a.clientOrderId)).toBe(false);
    expect(m.allOpen()).toBe(none);
    const revived = m.reviveJournaled(a.clientOrderId, 3, true)!;
    expect(m.allOpen()).not.toBe(none);
    expect(m.allOpen()).toEqual([revived]);
  });
});

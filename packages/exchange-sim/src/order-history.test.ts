import { describe, expect, it } from 'vitest';
import type { ExecutionReport } from '@cwts/core';
import { OrderHistory } from './order-history.js';

const report = (kind: ExecutionReport['kind'], clientOrderId: string, ts: number, extra: Partial<ExecutionReport> = {}): ExecutionReport => ({
  kind, exchange: 'sim', symbol: 'BTCUSDT', clientOrderId, side: 'buy', lastPrice: 0, lastQty: 0, leavesQty: 0, cumQty: 0, feeAtoms: 0n, ts, ...extra,
});

describe('OrderHistory', () => {
  it('forgets the order it saw first once it holds more than its capacity, whatever reported last', () => {
    const h = new OrderHistory(3);
    h.record(report('ack', 'a', 1, { venueOrderId: 'sim-1', leavesQty: 2 }));
    h.record(report('ack', 'b', 2, { venueOrderId: 'sim-2', leavesQty: 2 }));
    h.record(report('ack', 'c', 3, { venueOrderId: 'sim-3', leavesQty: 2 }));
    // a fill on the oldest order does not make it younger: it is still the first forgotten
    h.record(report('fill', 'a', 4, { lastPrice: 10, lastQty: 1, leavesQty: 1, cumQty: 1, tradeId: 't1' }));
    h.record(report('fill', 'c', 5, { lastPrice: 10, lastQty: 2, leavesQty: 0, cumQty: 2, tradeId: 't2' }));
    expect(h.query('a')).toMatchObject({ status: 'partially_filled', filledQty: 1, venueOrderId: 'sim-1' });
    expect(h.fillsSince(['BTCUSDT'], 0).map((f) => f.tradeId)).toEqual(['t1', 't2']);

    h.record(report('ack', 'd', 6, { venueOrderId: 'sim-4', leavesQty: 2 }));
    expect(h.query('a')).toBeUndefined();
    expect(h.query('b')).toMatchObject({ status: 'open', venueOrderId: 'sim-2' });
    expect(h.query('c')).toMatchObject({ status: 'filled', filledQty: 2 });
    expect(h.query('d')).toMatchObject({ status: 'open' });
    // the forgotten order's fill is gone with it
    expect(h.fillsSince(['BTCUSDT'], 0).map((f) => f.tradeId)).toEqual(['t2']);

    // a report for a forgotten order starts a new entry (the newest), forgetting the next oldest
    h.record(report('cancelled', 'a', 7));
    expect(h.query('a')).toMatchObject({ status: 'cancelled', filledQty: 0, fills: [] });
    expect(h.query('b')).toBeUndefined();
  });
});

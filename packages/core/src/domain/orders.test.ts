import { describe, expect, it } from 'vitest';
import { OrderManager } from '../engine/order-manager.js';
import { copyOrder, orderValueProblem, type Order, type OrderIntent } from './orders.js';

describe('copyOrder', () => {
  it('copies every field of an order in the shape OrderManager.create gives it, as a new object', () => {
    const om = new OrderManager('cw');
    const order = om.create({ exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 3, tif: 'GTC', reduceOnly: true, source: 's', reason: 'r' }, 5);
    Object.assign(order, { venueOrderId: 'v1', status: 'rejected', rejectReason: 'OFF_GRID', text: 't', filledQty: 1, filledNotionalTicksLots: 100n, feeAtoms: 7n, updatedTs: 9 });
    const copy = copyOrder(order);
    expect(copy).not.toBe(order);
    // the same keys in the same order: a field added to Order and create() but not here fails this
    expect(Object.keys(copy)).toEqual(Object.keys(order));
    expect(copy).toStrictEqual(order);
    copy.status = 'open';
    expect(order.status).toBe('rejected');
  });

  it('gives an order built without the optional fields those fields as undefined', () => {
    const bare: Order = { exchange: 'sim', symbol: 'BTCUSDT', side: 'sell', type: 'market', qty: 2, tif: 'IOC', source: 's', clientOrderId: 'c1', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 1, updatedTs: 1 };
    const copy = copyOrder(bare);
    expect(copy).toEqual(bare);
    for (const k of ['price', 'reduceOnly', 'reason', 'venueOrderId', 'rejectReason', 'text'] as const) {
      expect(k in copy).toBe(true);
      expect(copy[k]).toBeUndefined();
    }
  });
});

describe('orderValueProblem', () => {
  const ok: OrderIntent = { exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 3, tif: 'GTC', source: 's' };

  it('takes every side, type and time in force of the contract', () => {
    for (const side of ['buy', 'sell'] as const) for (const tif of ['GTC', 'IOC', 'FOK', 'POST_ONLY'] as const) {
      expect(orderValueProblem({ ...ok, side, tif })).toBeUndefined();
      expect(orderValueProblem({ ...ok, side, tif, type: 'market', price: undefined })).toBeUndefined();
    }
  });

  it('names a side, type or time in force that is not one of its words', () => {
    const bad = (patch: Record<string, unknown>) => orderValueProblem({ ...ok, ...patch } as unknown as OrderIntent);
    expect(bad({ side: 'SELL' })).toBe('side must be "buy" or "sell", got "SELL"');
    expect(bad({ side: undefined })).toMatch(/^side must be/);
    expect(bad({ type: 'LIMIT', price: undefined })).toBe('type must be "limit" or "market", got "LIMIT"');
    expect(bad({ tif: 'gtc' })).toBe('time in force must be one of GTC, IOC, FOK, POST_ONLY, got "gtc"');
    expect(bad({ tif: 1 })).toMatch(/^time in force must be/);
  });

  it('names a source, reason, reduce-only flag or market price the journal could not keep as it is (a plain-JS strategy)', () => {
    const bad = (patch: Record<string, unknown>) => orderValueProblem({ ...ok, ...patch } as unknown as OrderIntent);
    expect(bad({ reason: 4711 })).toBe('reason must be a string when given, got 4711');
    expect(bad({ reason: null })).toBe('reason must be a string when given, got null');
    expect(bad({ source: undefined })).toBe("source must be a string (the strategy's name), got undefined");
    expect(bad({ source: 7 })).toMatch(/^source must be a string/);
    expect(bad({ reduceOnly: 'yes' })).toBe('reduceOnly must be true or false when given, got "yes"');
    expect(bad({ reduceOnly: 1 })).toMatch(/^reduceOnly must be/);
    expect(bad({ type: 'market', tif: 'IOC', price: Number.POSITIVE_INFINITY })).toBe('price must be a number of ticks, got Infinity');
    expect(bad({ type: 'market', tif: 'IOC', price: '100' })).toMatch(/^price must be a number/);
    // what the contract allows
    expect(bad({ reason: 'signal-1', reduceOnly: true, source: '' })).toBeUndefined();
    expect(bad({ reduceOnly: false, reason: undefined })).toBeUndefined();
    expect(bad({ type: 'market', tif: 'IOC', price: undefined })).toBeUndefined();
    expect(bad({ type: 'market', tif: 'IOC', price: 105 })).toBeUndefined();
  });
});

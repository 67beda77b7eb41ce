import { describe, expect, it } from 'vitest';
import type { BookView, RiskContext } from '../contracts/trading.js';
import { defineInstrument } from '../domain/instrument.js';
import type { Order, OrderIntent } from '../domain/orders.js';
import { MaxPositionCheck } from './index.js';

// 1 lot = 0.001 BTC at 50 000.00 (5_000_000 ticks) = 50 USDT; max_position 1000 USDT = 20 lots.
const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const BID = 4_999_900;
const book = { exchange: 'v', symbol: 'BTCUSDT', synced: true, bestBid: () => BID, bestAsk: () => 5_000_100, qtyAt: () => 0, topLevels: () => 0 } as BookView;

function world(position: number) {
  const open: Order[] = [];
  const ctx = {
    now: 0,
    instrument: () => BTC,
    book: () => book,
    positions: { qty: () => position },
    openOrders: () => open,
    allOpenOrders: () => open,
  } as unknown as RiskContext;
  let n = 0;
  const rest = (i: OrderIntent) => open.push({ ...i, clientOrderId: `o${++n}`, status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0 } as Order);
  return { ctx, rest };
}

const intent = (side: 'buy' | 'sell', qty: number, price = 5_000_000): OrderIntent => ({ exchange: 'v', symbol: 'BTCUSDT', side, type: 'limit', price, qty, tif: 'GTC', source: 't' });

/** How many of `n` copies of `i` pass, each resting once passed. */
function passing(check: MaxPositionCheck, position: number, i: OrderIntent, n = 10): number {
  const { ctx, rest } = world(position);
  let passed = 0;
  for (let k = 0; k < n; k++) {
    if (check.check(i, ctx).ok) {
      passed++;
      rest(i);
    }
  }
  return passed;
}

describe('MaxPositionCheck (@cwts/core/risk): the chain max_position rule, on its own', () => {
  it('counts our resting orders: of ten 20-lot buys against a 20-lot limit, one passes', () => {
    // Before: each looked at the position alone, and all ten passed: 200 lots working against 20.
    expect(passing(new MaxPositionCheck(1000), 0, intent('buy', 20))).toBe(1);
  });

  it('an "exit" that with our resting exits could flip the position past flat is checked like any order', () => {
    // Before: |after| <= |pos| passed each 40-lot sell from long 20; all ten would fill to short 380 lots.
    // the first goes to short 20, at the limit; with it resting the next could reach short 60
    expect(passing(new MaxPositionCheck(1000), 20, intent('sell', 40))).toBe(1);
    // a true exit always passes, whatever the limit: to flat, and no further with what rests
    expect(passing(new MaxPositionCheck(10), 20, intent('sell', 10))).toBe(2);
    expect(passing(new MaxPositionCheck(10), 20, intent('sell', 20))).toBe(1);
  });

  it('values a sell under the bid at the bid (it trades there), as the chain does', () => {
    // 20 lots at 1 tick was worth nothing at its limit; at the bid it is 999.98 USDT
    const { ctx } = world(0);
    expect(new MaxPositionCheck(999.97).check(intent('sell', 20, 1), ctx)).toMatchObject({ ok: false, reason: 'RISK_MAX_POSITION' });
    expect(new MaxPositionCheck(999.98).check(intent('sell', 20, 1), ctx)).toEqual({ ok: true });
  });

  it('keeps its name and refusals: unknown instrument, a market order with no touch', () => {
    const c = new MaxPositionCheck(1000);
    expect(c.name).toBe('max_position');
    const { ctx } = world(0);
    expect(c.check(intent('buy', 1), { ...ctx, instrument: () => undefined })).toMatchObject({ ok: false, reason: 'INVALID_ORDER' });
    const empty = { ...book, bestAsk: () => undefined } as BookView;
    expect(c.check({ ...intent('buy', 1), type: 'market', price: undefined }, { ...ctx, book: () => empty })).toMatchObject({ ok: false, reason: 'NO_LIQUIDITY' });
  });
});

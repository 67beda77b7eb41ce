import { describe, expect, it } from 'vitest';
import type { BookView, RiskContext } from '../contracts/trading.js';
import { defineInstrument } from '../domain/instrument.js';
import type { OrderIntent } from '../domain/orders.js';
import { Portfolio } from './portfolio.js';
import { MaxOrderNotionalCheck, PositionLimitCheck, type RiskEnv } from './checks.js';
import { KellyInputError, kellySize, kellySizer } from './kelly.js';

// 1 tick = 0.01 USDT, 1 lot = 0.001 BTC: 5_000_000 ticks = 50 000 USDT, 1 lot = 50 USDT.
const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const BID = 5_000_000;
const ASK = 5_000_100;
const book = { exchange: 'v', symbol: 'BTCUSDT', synced: true, bestBid: () => BID, bestAsk: () => ASK, qtyAt: () => 0, topLevels: () => 0 } as BookView;
const portfolio = new Portfolio();
const ctx = { now: 0, instrument: () => BTC, book: () => book, positions: portfolio, openOrders: () => [], allOpenOrders: () => [] } as unknown as RiskContext;
const env: RiskEnv = { state: 'ACTIVE', stateReason: '', openOrderCount: () => 0, bookLastUpdate: () => 0, positions: () => portfolio.all() };
const risk = { kelly_fraction: 0.5, max_position: 100_000, max_order_notional: 100_000 };
const order = (side: 'buy' | 'sell', price: number, qty: number): OrderIntent => ({ exchange: 'v', symbol: 'BTCUSDT', side, type: 'limit', price, qty, tif: 'IOC', source: 'kelly' });
const passes = (intent: OrderIntent) => {
  expect(new MaxOrderNotionalCheck(risk.max_order_notional).check(intent, ctx)).toEqual({ ok: true });
  expect(new PositionLimitCheck(env, risk.max_position).check(intent, ctx)).toEqual({ ok: true });
};

describe('Kelly sizing values lots as the risk checks value the order (IntentFacts.highestPrice)', () => {
  it('a short sent 10 bps through the bid and clipped to the limits is valued at the bid, and passes them', () => {
    // Before: valued at its limit (49.95 USDT a lot), 2002 lots passed the clip and the checks,
    // valuing a sell under the bid at the bid, refused the 100 100 USDT position.
    const limit = BID - 5_000;
    const r = kellySizer(risk)({ instrument: BTC, priceTicks: limit, bestBid: BID, equity: 1_000_000, fullKelly: -2, positionLots: 0 });
    expect(r).toMatchObject({ targetLots: -2000, orderLots: -2000 });
    expect(r.clippedBy).not.toBe('none');
    passes(order('sell', limit, 2000));
  });

  it('a long sized at the ask and sent 10 bps through it (limitTicks) is clipped at its limit, and passes the limits', () => {
    const limit = ASK + 5_000;
    const r = kellySizer(risk)({ instrument: BTC, priceTicks: ASK, limitTicks: limit, equity: 1_000_000, fullKelly: 2, positionLots: 0 });
    expect(r.targetLots).toBe(1997); // 100 000 / 50.051
    expect(r.rawTargetLots).toBe(Math.floor(1_000_000 / 50.001)); // the Kelly target itself stays at priceTicks
    passes(order('buy', limit, r.orderLots));
    // and the clip is no tighter than it must be: one lot more is refused
    expect(new PositionLimitCheck(env, risk.max_position).check(order('buy', limit, r.orderLots + 1), ctx).ok).toBe(false);
  });

  it('values the order for max_order_notional on its own side: a sell from a long, through the bid', () => {
    // long 5000 lots, target short: the sell is clipped by max_order_notional at the bid, not at its limit
    const limit = BID - 5_000;
    const r = kellySize({ instrument: BTC, priceTicks: limit, bestBid: BID, equity: 1_000_000, fraction: -0.05, positionLots: 5000, maxPosition: 1e9, maxOrderNotional: 100_000 });
    expect(r).toMatchObject({ targetLots: -1001, orderLots: -2000, clippedBy: 'max_order_notional' });
    expect(new MaxOrderNotionalCheck(100_000).check(order('sell', limit, 2000), ctx)).toEqual({ ok: true });
  });

  it('without limitTicks and bestBid sizes as before: every lot at priceTicks', () => {
    const r = kellySize({ instrument: BTC, priceTicks: BID - 5_000, equity: 1_000_000, fraction: -1, positionLots: 0, maxPosition: 100_000 });
    expect(r.targetLots).toBe(-2002);
  });

  it('refuses a limitTicks or bestBid that is not a positive whole number of ticks', () => {
    const base = { instrument: BTC, priceTicks: BID, equity: 1000, fraction: 0.1, positionLots: 0, maxPosition: 1000 };
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) {
      expect(() => kellySize({ ...base, limitTicks: bad })).toThrow(KellyInputError);
      expect(() => kellySize({ ...base, bestBid: bad })).toThrow(KellyInputError);
    }
  });

  it('a fraction too large to size (1e300) is a KellyInputError, not a RangeError', () => {
    const base = { instrument: BTC, priceTicks: BID, equity: 1000, positionLots: 0, maxPosition: 1000 };
    expect(() => kellySize({ ...base, fraction: 1e300 })).toThrow(KellyInputError);
    expect(() => kellySize({ ...base, fraction: -Number.MAX_VALUE })).toThrow(KellyInputError);
    expect(() => kellySizer({ kelly_fraction: 1, max_position: 1000 })({ ...base, fullKelly: 1e300 })).toThrow(KellyInputError);
  });
});

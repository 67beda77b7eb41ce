import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { BookView, RiskContext } from '../contracts/trading.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument, instrumentKey, type Instrument } from '../domain/instrument.js';
import type { Order, OrderIntent } from '../domain/orders.js';
import { Portfolio } from './portfolio.js';
import type { RiskStateName } from './risk-state.js';
import {
  BookHealthCheck, buildCheckChain, InstrumentRulesCheck, MaxOpenOrdersCheck, MaxOrderNotionalCheck, minNotionalAtoms, OrderRateCheck,
  PositionLimitCheck, PriceBandCheck, ReduceOnlyCheck, reducesExposure, RiskStateCheck, runChain, SelfTradeCheck, type RiskEnv,
} from './checks.js';
import { RISK_REASON_CODES } from './reasons.js';

// 1 tick = 0.01 USDT, 1 lot = 0.001 BTC: 5_000_000 ticks = 50 000 USDT; 1 lot at that price = 50 USDT.
const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001', minNotional: '100' });
const ETH = defineInstrument({ exchange: 'v', symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', lotSize: '0.01' });

class FakeBook implements BookView {
  synced = true;
  constructor(readonly exchange: string, readonly symbol: string, public bid?: number, public ask?: number) {}
  bestBid() { return this.bid; }
  bestAsk() { return this.ask; }
  /** Ask levels best-first; unset, the ask alone, deep enough for any order here. */
  asks: [number, number][] | undefined;
  qtyAt() { return 0; }
  topLevels(side: 'bid' | 'ask', n: number, out: { price: number; qty: number }[]) {
    const levels = side === 'ask' ? (this.asks ?? (this.ask === undefined ? [] : [[this.ask, 1e9]])) : this.bid === undefined ? [] : [[this.bid, 1e9]];
    const count = Math.min(n, levels.length);
    for (let k = 0; k < count; k++) out[k] = { price: levels[k]![0]!, qty: levels[k]![1]! };
    return count;
  }
}

class World implements RiskContext {
  now = 10_000;
  state: RiskStateName = 'ACTIVE';
  stateReason = 'test';
  readonly portfolio = new Portfolio();
  readonly books = new Map<string, FakeBook>();
  readonly lastUpdate = new Map<string, number>();
  open: Order[] = [];
  private seq = 0;
  constructor() {
    this.setBook(BTC, 4_999_900, 5_000_100);
    this.setBook(ETH, 300_000, 300_010);
  }
  setBook(i: Instrument, bid?: number, ask?: number): FakeBook {
    const b = new FakeBook(i.exchange, i.symbol, bid, ask);
    this.books.set(instrumentKey(i.exchange, i.symbol), b);
    this.lastUpdate.set(instrumentKey(i.exchange, i.symbol), this.now);
    return b;
  }
  /** Books a position by a fill. */
  hold(i: Instrument, qty: number, price: number): void {
    this.portfolio.applyFill(i, { kind: 'fill', exchange: i.exchange, symbol: i.symbol, clientOrderId: 'x', side: qty > 0 ? 'buy' : 'sell', lastPrice: price, lastQty: Math.abs(qty), leavesQty: 0, cumQty: Math.abs(qty), feeAtoms: 0n, ts: 0 });
  }
  rest(side: 'buy' | 'sell', price: number, qty: number, i = BTC): void {
    this.open.push({ exchange: i.exchange, symbol: i.symbol, side, type: 'limit', price, qty, tif: 'GTC', source: 't', clientOrderId: `r${++this.seq}`, status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0 });
  }
  // RiskContext
  instrument(exchange: string, symbol: string) { return [BTC, ETH].find((i) => i.exchange === exchange && i.symbol === symbol); }
  book(exchange: string, symbol: string) { return this.books.get(instrumentKey(exchange, symbol)); }
  get positions() { return this.portfolio; }
  openOrders(exchange: string, symbol: string) { return this.open.filter((o) => o.exchange === exchange && o.symbol === symbol); }
  allOpenOrders() { return this.open; }
  // RiskEnv
  openOrderCount() { return this.open.length; }
  bookLastUpdate(exchange: string, symbol: string) { return this.lastUpdate.get(instrumentKey(exchange, symbol)); }
}
// RiskEnv.positions() is a method, RiskContext.positions a property: the env is an adapter.
const envOf = (w: World): RiskEnv => ({
  get state() { return w.state; },
  get stateReason() { return w.stateReason; },
  openOrderCount: () => w.openOrderCount(),
  bookLastUpdate: (e, s) => w.bookLastUpdate(e, s),
  positions: () => w.portfolio.all(),
});

const intent = (side: 'buy' | 'sell', qty: number, price?: number, i = BTC): OrderIntent =>
  ({ exchange: i.exchange, symbol: i.symbol, side, type: price === undefined ? 'market' : 'limit', price, qty, tif: 'GTC', source: 'test' });
const reasonOf = (d: { ok: boolean; reason?: string }) => (d.ok ? 'ok' : d.reason);

describe('risk_state', () => {
  it('ACTIVE passes, HALTED refuses everything with KILL_SWITCH', () => {
    const w = new World();
    const c = new RiskStateCheck(envOf(w));
    expect(reasonOf(c.check(intent('buy', 1, 5_000_000), w))).toBe('ok');
    w.state = 'HALTED';
    expect(reasonOf(c.check(intent('sell', 1, 5_000_000), w))).toBe('KILL_SWITCH');
  });

  it('REDUCING passes an order only while it cannot take the position past flat', () => {
    const w = new World();
    const c = new RiskStateCheck(envOf(w));
    w.state = 'REDUCING';
    expect(reasonOf(c.check(intent('buy', 1, 5_000_000), w))).toBe('RISK_STATE'); // flat: nothing reduces
    w.hold(BTC, 10, 5_000_000);
    expect(reasonOf(c.check(intent('sell', 10, 5_000_000), w))).toBe('ok'); // to flat: at the boundary
    expect(reasonOf(c.check(intent('sell', 11, 5_000_000), w))).toBe('RISK_STATE'); // flips short
    expect(reasonOf(c.check(intent('buy', 1, 5_000_000), w))).toBe('RISK_STATE'); // adds
    w.rest('sell', 5_010_000, 4);
    expect(reasonOf(c.check(intent('sell', 6, 5_000_000), w))).toBe('ok'); // 6 + 4 resting = 10
    expect(reasonOf(c.check(intent('sell', 7, 5_000_000), w))).toBe('RISK_STATE'); // 7 + 4 = 11
    expect(reducesExposure(intent('sell', 6), w)).toBe(true);
  });
});

describe('instrument_rules', () => {
  const w = new World();
  const c = new InstrumentRulesCheck();
  it('price and quantity must be whole ticks and lots, positive', () => {
    expect(reasonOf(c.check(intent('buy', 2.5, 5_000_000), w))).toBe('OFF_GRID');
    expect(reasonOf(c.check(intent('buy', 2, 5_000_000.5), w))).toBe('OFF_GRID');
    expect(reasonOf(c.check(intent('buy', 0, 5_000_000), w))).toBe('INVALID_ORDER');
    expect(reasonOf(c.check(intent('buy', 2, 0), w))).toBe('INVALID_ORDER');
    expect(reasonOf(c.check(intent('buy', 2, 5_000_000, { ...BTC, symbol: 'NOPE' }), w))).toBe('INVALID_ORDER');
  });
  it('min notional 100 USDT: exactly 100 passes, 99.99998 does not', () => {
    expect(reasonOf(c.check(intent('buy', 2, 5_000_000), w))).toBe('ok'); // 2 x 0.001 x 50000 = 100
    const d = c.check(intent('buy', 2, 4_999_999), w); // 99.99998
    expect(d).toMatchObject({ ok: false, reason: 'MIN_NOTIONAL' });
    expect(!d.ok && d.message).toContain('99.99998 USDT is below the minimum 100');
    // Market orders are valued at the far touch: a sell at the bid 49999.00 x 2 lots = 99.998.
    expect(reasonOf(c.check(intent('sell', 2), w))).toBe('MIN_NOTIONAL');
    expect(reasonOf(c.check(intent('buy', 2), w))).toBe('ok'); // ask 50001 x 2 lots = 100.002
    expect(reasonOf(c.check(intent('buy', 1, 300_000, ETH), w))).toBe('ok'); // no minimum
  });
  it('a minimum finer than the notional unit rounds up', () => {
    const odd = defineInstrument({ exchange: 'v', symbol: 'X', base: 'X', quote: 'USDT', tickSize: '0.1', lotSize: '1', minNotional: '0.15' });
    expect(minNotionalAtoms(odd)).toBe(2n);
  });
});

describe('reduce_only', () => {
  const ro = (side: 'buy' | 'sell', qty: number, price?: number): OrderIntent => ({ ...intent(side, qty, price), tif: 'IOC', reduceOnly: true });
  it('passes a reduce-only order only while it cannot take the position past flat (the REDUCING rule), refuses it otherwise', () => {
    const w = new World();
    const c = new ReduceOnlyCheck();
    const flat = c.check(ro('sell', 1, 5_000_000), w);
    expect(flat).toMatchObject({ ok: false, reason: 'INVALID_ORDER' });
    expect(!flat.ok && flat.message).toContain('there is no position to reduce');
    w.hold(BTC, 10, 5_000_000);
    expect(reasonOf(c.check(ro('sell', 10, 5_000_000), w))).toBe('ok'); // to flat exactly: an exit of the whole position
    expect(reasonOf(c.check(ro('sell', 3), w))).toBe('ok'); // market too
    // larger than the position: it would flip it short, were it filled whole
    const flip = c.check(ro('sell', 20, 5_000_000), w);
    expect(flip).toMatchObject({ ok: false, reason: 'INVALID_ORDER' });
    expect(!flip.ok && flip.message).toBe('reduce-only sell 20 lots v:BTCUSDT with position 10 lots: with our resting sell orders (0 lots) it could take the position past flat: at most 10 lots may go out');
    const adds = c.check(ro('buy', 1, 5_000_000), w);
    expect(!adds.ok && adds.message).toContain('it would add to the long position');
    // our resting sells count toward it: 6 + 4 = 10 passes, 7 + 4 does not
    w.rest('sell', 5_010_000, 4);
    expect(reasonOf(c.check(ro('sell', 6, 5_000_000), w))).toBe('ok');
    const more = c.check(ro('sell', 7, 5_000_000), w);
    expect(!more.ok && more.message).toContain('at most 6 lots may go out');
    // an order without the flag is not this check's business
    expect(reasonOf(c.check(intent('sell', 20, 5_000_000), w))).toBe('ok');
    expect(reasonOf(c.check({ ...intent('sell', 20, 5_000_000), reduceOnly: false }, w))).toBe('ok');
  });

  it('short positions alike, and the chain runs it whatever [risk] says, on a routed parent too', () => {
    const w = new World();
    w.hold(BTC, -5, 5_000_000);
    const chain = buildCheckChain({ max_position: 1_000_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 10, price_band_bps: 100, orders_per_second: 1e12 } as RiskConfig, envOf(w));
    expect(reasonOf(runChain(chain, ro('buy', 5, 5_000_000), w))).toBe('ok');
    expect(reasonOf(runChain(chain, ro('buy', 6, 5_000_000), w))).toBe('INVALID_ORDER');
    expect(reasonOf(runChain(chain, ro('sell', 2, 5_000_000), w))).toBe('INVALID_ORDER'); // adds to the short
    const parentChecks = chain.filter((c) => c.parent === true);
    expect(reasonOf(runChain(parentChecks, ro('buy', 6, 5_000_000), w))).toBe('INVALID_ORDER');
  });
});

describe('book_health', () => {
  it('refuses a book that is not synced, and new risk on one stale beyond the limit', () => {
    const w = new World();
    const c = new BookHealthCheck(envOf(w), 5000);
    w.now = 10_000 + 5000;
    expect(reasonOf(c.check(intent('buy', 2, 5_000_000), w))).toBe('ok'); // age == limit
    w.now = 10_000 + 5001;
    const d = c.check(intent('buy', 2, 5_000_000), w);
    expect(d).toMatchObject({ ok: false, reason: 'BOOK_NOT_SYNCED' });
    expect(!d.ok && d.message).toContain('stale: no update for 5001 ms (limit 5000 ms)');
    // An exit may still go out on a book that is only stale by age.
    w.hold(BTC, 3, 5_000_000);
    expect(reasonOf(c.check(intent('sell', 3, 5_000_000), w))).toBe('ok');
    w.books.get(instrumentKey('v', 'BTCUSDT'))!.synced = false;
    expect(reasonOf(c.check(intent('sell', 3, 5_000_000), w))).toBe('BOOK_NOT_SYNCED');
    expect(reasonOf(c.check(intent('buy', 1, 5_000_000, { ...ETH, symbol: 'NONE' }), w))).toBe('BOOK_NOT_SYNCED');
  });
});

describe('price_band', () => {
  it('100 bps around the mid 5_000_000: 50_000 ticks either way pass, one more does not', () => {
    const w = new World();
    const c = new PriceBandCheck(100);
    expect(reasonOf(c.check(intent('sell', 1, 5_050_000), w))).toBe('ok');
    expect(reasonOf(c.check(intent('sell', 1, 5_050_001), w))).toBe('RISK_PRICE_BAND');
    expect(reasonOf(c.check(intent('buy', 1, 4_950_000), w))).toBe('ok');
    expect(reasonOf(c.check(intent('buy', 1, 4_949_999), w))).toBe('RISK_PRICE_BAND');
    expect(reasonOf(c.check(intent('buy', 1), w))).toBe('ok'); // market: no price to band
  });
  it('a fractional band, a mid on a half tick, a one-sided book, no book', () => {
    const w = new World();
    w.setBook(BTC, 1000, 1001); // mid 1000.5
    const c = new PriceBandCheck(2.5); // 0.025%: 1000.5 x 0.00025 = 0.250125 ticks
    expect(reasonOf(c.check(intent('buy', 1, 1000), w))).toBe('RISK_PRICE_BAND'); // 0.5 ticks away
    w.setBook(BTC, 40_000, 40_001); // mid 40000.5: band 10.000125 ticks
    expect(reasonOf(c.check(intent('buy', 1, 40_010), w))).toBe('ok'); // 9.5
    expect(reasonOf(c.check(intent('buy', 1, 40_011), w))).toBe('RISK_PRICE_BAND'); // 10.5
    expect(reasonOf(c.check(intent('buy', 1, 39_991), w))).toBe('ok'); // 9.5
    w.setBook(BTC, undefined, 40_000);
    expect(reasonOf(c.check(intent('buy', 1, 40_010), w))).toBe('ok'); // 10 = 2.5 bps of 40000 exactly
    expect(reasonOf(c.check(intent('buy', 1, 40_011), w))).toBe('RISK_PRICE_BAND');
    w.setBook(BTC);
    expect(reasonOf(c.check(intent('buy', 1, 40_000), w))).toBe('NO_LIQUIDITY');
  });
  it('stays exact past 2^53 in the products', () => {
    const w = new World();
    w.setBook(BTC, 2 ** 50, 2 ** 50);
    const c = new PriceBandCheck(10_000); // 100%
    expect(reasonOf(c.check(intent('buy', 1, 2 ** 51), w))).toBe('ok');
    expect(reasonOf(c.check(intent('buy', 1, 2 ** 51 + 1), w))).toBe('RISK_PRICE_BAND');
  });
});

describe('max_order_notional', () => {
  it('1000 USDT: 20 lots at 50000 pass, 21 do not; market orders at the far touch', () => {
    const w = new World();
    const c = new MaxOrderNotionalCheck(1000);
    expect(reasonOf(c.check(intent('buy', 20, 5_000_000), w))).toBe('ok');
    expect(reasonOf(c.check(intent('buy', 21, 5_000_000), w))).toBe('RISK_MAX_ORDER_NOTIONAL');
    expect(reasonOf(c.check(intent('buy', 20, 5_000_001), w))).toBe('RISK_MAX_ORDER_NOTIONAL'); // 1000.0002
    expect(reasonOf(c.check(intent('sell', 20), w))).toBe('ok'); // bid 49999 x 0.02 = 999.98
    expect(reasonOf(c.check(intent('buy', 20), w))).toBe('RISK_MAX_ORDER_NOTIONAL'); // ask 50001 x 0.02 = 1000.02
    w.setBook(BTC);
    expect(reasonOf(c.check(intent('buy', 1), w))).toBe('NO_LIQUIDITY');
  });
  it('a sell limit under the bid is valued at the bid, the most it can sell for; a limit above it at the limit', () => {
    // A sell at 1 tick trades at the bid: at its limit it was worth nothing to the limit, and
    // routed (no price_band on the parent) sold 3x the limit across venues.
    const w = new World(); // bid 49999, ask 50001
    const c = new MaxOrderNotionalCheck(1000);
    expect(reasonOf(c.check(intent('sell', 20, 1), w))).toBe('ok'); // 49999 x 0.02 = 999.98
    expect(reasonOf(c.check(intent('sell', 21, 1), w))).toBe('RISK_MAX_ORDER_NOTIONAL'); // 1049.979
    expect(reasonOf(c.check(intent('sell', 20, 5_000_000), w))).toBe('ok'); // above the bid: its limit, 1000
    expect(reasonOf(c.check(intent('sell', 20, 5_000_001), w))).toBe('RISK_MAX_ORDER_NOTIONAL');
    expect(reasonOf(c.check(intent('buy', 20, 5_000_000), w))).toBe('ok'); // a buy: its limit, the most it pays
    w.setBook(BTC, undefined, 5_000_100); // no bid: a sell can only rest, at its limit
    expect(reasonOf(c.check(intent('sell', 21, 1), w))).toBe('ok');
  });
});

describe('a market buy is valued at the deepest ask its quantity reaches', () => {
  // BTC: 10 lots (0.01 BTC) at 50001, then 1000 at 60000. At the best ask, 19 lots were 950.02
  // USDT and passed 1000; they take 9 lots at 60000 (1140 USDT at the deepest level).
  const thin = (w: World) => { w.books.get(instrumentKey('v', 'BTCUSDT'))!.asks = [[5_000_100, 10], [6_000_000, 1000]]; };
  it('max_order_notional and max_position: the deepest level reached, not the best ask', () => {
    const w = new World();
    thin(w);
    const notional = new MaxOrderNotionalCheck(1000);
    const position = new PositionLimitCheck(envOf(w), 1000);
    expect(reasonOf(notional.check(intent('buy', 10), w))).toBe('ok'); // 500.01: the best level covers it
    expect(reasonOf(notional.check(intent('buy', 16), w))).toBe('ok'); // 60000 x 0.016 = 960
    expect(reasonOf(notional.check(intent('buy', 17), w))).toBe('RISK_MAX_ORDER_NOTIONAL'); // 1020
    expect(reasonOf(position.check(intent('buy', 16), w))).toBe('ok');
    expect(reasonOf(position.check(intent('buy', 17), w))).toBe('RISK_MAX_POSITION');
    // a market sell: the best bid is the most it sells for (49999 x 0.02 = 999.98)
    expect(reasonOf(notional.check(intent('sell', 20), w))).toBe('ok');
  });
  it('the visible asks short of the quantity: NO_LIQUIDITY, except for an exit of a short position in max_position', () => {
    const w = new World();
    thin(w);
    const notional = new MaxOrderNotionalCheck(1e9);
    const position = new PositionLimitCheck(envOf(w), 1e9);
    expect(reasonOf(notional.check(intent('buy', 1010), w))).toBe('ok');
    const d = notional.check(intent('buy', 1011), w);
    expect(reasonOf(d)).toBe('NO_LIQUIDITY');
    expect(d.ok ? '' : d.message).toMatch(/do not cover a market buy of 1011 lots/);
    expect(reasonOf(position.check(intent('buy', 1011), w))).toBe('NO_LIQUIDITY');
    w.hold(BTC, -2000, 5_000_000);
    expect(reasonOf(position.check(intent('buy', 1011), w))).toBe('ok'); // an exit is never blocked by the limit
  });
  it('a working market buy on another instrument counts at the deepest ask its remaining quantity reaches (max_total_position)', () => {
    const w = new World();
    thin(w);
    const c = new PositionLimitCheck(envOf(w), 1e9, 1100);
    // 19 lots working, 4 filled: 15 left, reaching 60000 (900 USDT; 750.015 at the best ask)
    w.open.push({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'market', qty: 19, tif: 'IOC', source: 't', clientOrderId: 'm1', status: 'partially_filled', filledQty: 4, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0 });
    w.hold(BTC, 4, 5_000_100); // 4 lots at the mid 50000: 200
    expect(reasonOf(c.check(intent('buy', 1, 300_000, ETH), w))).toBe('RISK_MAX_POSITION'); // 30 + 200 + 900 = 1130 (980.015 at the best ask)
    expect(reasonOf(new PositionLimitCheck(envOf(w), 1e9, 1130).check(intent('buy', 1, 300_000, ETH), w))).toBe('ok');
    // remaining beyond the visible asks: no price for it
    w.open[0]!.qty = 2000;
    expect(reasonOf(new PositionLimitCheck(envOf(w), 1e9, 1e9).check(intent('buy', 1, 300_000, ETH), w))).toBe('NO_LIQUIDITY');
  });
});

describe('max_position', () => {
  it('per symbol, worst case with resting same-side orders; exits always pass', () => {
    const w = new World();
    const c = new PositionLimitCheck(envOf(w), 1000);
    expect(reasonOf(c.check(intent('buy', 20, 5_000_000), w))).toBe('ok'); // 1000
    expect(reasonOf(c.check(intent('buy', 21, 5_000_000), w))).toBe('RISK_MAX_POSITION');
    w.rest('buy', 4_990_000, 5);
    expect(reasonOf(c.check(intent('buy', 15, 5_000_000), w))).toBe('ok'); // 15 + 5 = 20
    expect(reasonOf(c.check(intent('buy', 16, 5_000_000), w))).toBe('RISK_MAX_POSITION');
    expect(reasonOf(c.check(intent('sell', 20, 5_000_000), w))).toBe('ok'); // short 20: resting buys do not add
    expect(reasonOf(c.check(intent('sell', 21, 5_000_000), w))).toBe('RISK_MAX_POSITION');
    w.open = [];
    w.hold(BTC, 30, 5_000_000); // already above the limit (e.g. the limit was lowered)
    expect(reasonOf(c.check(intent('sell', 5, 5_000_000), w))).toBe('ok');
    expect(reasonOf(c.check(intent('sell', 30, 5_000_000), w))).toBe('ok'); // the whole exit, above the limit
    expect(reasonOf(c.check(intent('sell', 50, 5_000_000), w))).toBe('ok'); // +30 -> -20: past flat, within the limit
    expect(reasonOf(c.check(intent('sell', 60, 5_000_000), w))).toBe('RISK_MAX_POSITION'); // +30 -> -30: a flip, not an exit
    expect(reasonOf(c.check(intent('buy', 1, 5_000_000), w))).toBe('RISK_MAX_POSITION');
  });

  it('a short opened by a sell limit under the bid is valued at the bid', () => {
    const w = new World();
    const c = new PositionLimitCheck(envOf(w), 1000);
    expect(reasonOf(c.check(intent('sell', 20, 1), w))).toBe('ok'); // -20 at 49999: 999.98
    expect(reasonOf(c.check(intent('sell', 21, 1), w))).toBe('RISK_MAX_POSITION');
  });

  it('"exits" that with our resting exits could take the position past flat are checked by the worst case', () => {
    // Each sell of 20 against +10 looked like an exit by itself (|+10 - 20| = |+10|); ten of them
    // resting filled to -190 lots, 9.5 x the limit.
    const w = new World();
    const c = new PositionLimitCheck(envOf(w), 1000); // 20 lots at 50 000
    w.hold(BTC, 10, 5_000_000);
    expect(reasonOf(c.check(intent('sell', 20, 5_000_000), w))).toBe('ok'); // +10 -> -10
    w.rest('sell', 5_000_000, 20);
    expect(reasonOf(c.check(intent('sell', 20, 5_000_000), w))).toBe('RISK_MAX_POSITION'); // worst +10 - 40 = -30
    expect(reasonOf(c.check(intent('sell', 10, 5_000_000), w))).toBe('ok'); // worst -20: at the limit
    // a plain exit with no resting exits passes whatever the limit
    w.open = [];
    const tight = new PositionLimitCheck(envOf(w), 100); // 2 lots
    expect(reasonOf(tight.check(intent('sell', 10, 5_000_000), w))).toBe('ok');
    expect(reasonOf(tight.check(intent('sell', 12, 5_000_000), w))).toBe('ok'); // -2 lots: at the limit
    expect(reasonOf(tight.check(intent('sell', 13, 5_000_000), w))).toBe('RISK_MAX_POSITION');
  });

  it('total across instruments, others at their mid', () => {
    const w = new World();
    const c = new PositionLimitCheck(envOf(w), 1_000_000, 1500);
    w.hold(ETH, -100, 300_000); // short 1 ETH, mid 3000.05 -> 3000.05 of total
    expect(reasonOf(c.check(intent('buy', 1, 5_000_000), w))).toBe('RISK_MAX_POSITION');
    const c2 = new PositionLimitCheck(envOf(w), 1_000_000, 3050.05);
    expect(reasonOf(c2.check(intent('buy', 1, 5_000_000), w))).toBe('ok'); // 50 + 3000.05
    expect(reasonOf(c2.check(intent('buy', 1, 5_000_001), w))).toBe('RISK_MAX_POSITION'); // 50.00001 + 3000.05
    // ETH exits pass even while the total is above the limit.
    expect(reasonOf(c.check(intent('buy', 100, 300_000, ETH), w))).toBe('ok');
  });

  it('total: the order\'s own position held on another object of its definition (a restored one) is counted once', () => {
    const w = new World();
    // a journal restore parses its own Instrument object for the same pair
    const restored = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001', minNotional: '100' });
    w.hold(restored, 100, 5_000_000); // 0.1 BTC: 5000 USDT
    expect(w.portfolio.find('v', 'BTCUSDT')!.instrument).not.toBe(BTC);
    const c = new PositionLimitCheck(envOf(w), 1_000_000, 6000);
    expect(reasonOf(c.check(intent('buy', 10, 5_000_000), w))).toBe('ok'); // 5500, not 5500 + 5000
    expect(reasonOf(c.check(intent('buy', 21, 5_000_000), w))).toBe('RISK_MAX_POSITION'); // 6050
  });

  it('total: a position whose book is out of sync is valued at its last fill, not at that book\'s mid; the env\'s mark rules', () => {
    const w = new World();
    w.hold(ETH, -10_000, 300_000); // short 100 ETH filled at 3000.00; mid 3000.05: 300 005
    const c = new PositionLimitCheck(envOf(w), 1e9, 300_040);
    const exact = new PositionLimitCheck(envOf(w), 1e9, 300_050);
    expect(reasonOf(c.check(intent('buy', 1, 5_000_000), w))).toBe('RISK_MAX_POSITION'); // 50 + 300 005
    // One bad delta: an ask at 1 tick crosses ETH's book. Its mid (1500.005) would halve the short.
    const eth = w.books.get(instrumentKey('v', 'ETHUSDT'))!;
    eth.ask = 1;
    eth.synced = false;
    expect(reasonOf(c.check(intent('buy', 1, 5_000_000), w))).toBe('RISK_MAX_POSITION'); // 50 + 300 000 (float estimate)
    expect(reasonOf(exact.check(intent('buy', 1, 5_000_000), w))).toBe('ok'); // 300 050: at the limit (exact total)
    expect(reasonOf(exact.check(intent('buy', 1, 5_000_001), w))).toBe('RISK_MAX_POSITION'); // 300 050.00001
    // The risk layer's mark (RiskManager, per [risk] mark) is the one the limit uses.
    const marked = new PositionLimitCheck({ ...envOf(w), markHalfTicks: () => 2 * 290_000 }, 1e9, 300_040);
    expect(reasonOf(marked.check(intent('buy', 1, 5_000_000), w))).toBe('ok'); // 50 + 290 000
  });

  it("total: other instruments' working orders count where they can grow their position, at the most they can trade at", () => {
    // Each order was checked against positions only: children of one routed parent, each under
    // the limit, working on three venues at once, filled to 1.4x max_total_position.
    const w = new World();
    const c = new PositionLimitCheck(envOf(w), 1_000_000, 3050);
    w.rest('buy', 300_000, 100, ETH); // 1 ETH at 3000.00
    expect(reasonOf(c.check(intent('buy', 1, 5_000_000), w))).toBe('ok'); // 50 + 3000: at the limit (exact)
    const d = c.check(intent('buy', 1, 5_000_001), w); // 50.00001 + 3000
    expect(d).toMatchObject({ ok: false, reason: 'RISK_MAX_POSITION', message: expect.stringContaining('with working orders on other instruments') });
    // the order's own instrument's resting orders are counted once (in its own worst case)
    w.rest('buy', 4_990_000, 1);
    expect(reasonOf(c.check(intent('buy', 1, 4_990_000), w))).toBe('RISK_MAX_POSITION'); // 2 x 49.90 + 3000
    w.open = [];
    // a working buy that only takes a short back toward flat adds nothing beyond the short itself
    w.hold(ETH, -100, 300_000); // short 1 ETH at mid 3000.05
    w.rest('buy', 300_000, 200, ETH); // -1 -> +1 ETH: |+1| is not more than |-1|
    const c2 = new PositionLimitCheck(envOf(w), 1_000_000, 3060);
    expect(reasonOf(c2.check(intent('buy', 1, 5_000_000), w))).toBe('ok'); // 50 + 3000.05
    w.rest('buy', 300_000, 100, ETH); // -1 -> +2 ETH: 1 ETH more at 3000.00
    expect(reasonOf(c2.check(intent('buy', 1, 5_000_000), w))).toBe('RISK_MAX_POSITION'); // 50 + 3000.05 + 3000
    // a sell under the bid is valued at the bid; of the two sides, the one worth more counts
    const w3 = new World();
    w3.rest('sell', 1, 200, ETH); // 2 ETH at 0.01: they sell at the bid, 3000.00
    w3.rest('buy', 290_000, 100, ETH); // 1 ETH at 2900.00: less than the sells
    const c3 = new PositionLimitCheck(envOf(w3), 1_000_000, 6050);
    expect(reasonOf(c3.check(intent('buy', 1, 5_000_000), w3))).toBe('ok'); // 50 + 6000
    expect(reasonOf(c3.check(intent('buy', 1, 5_000_001), w3))).toBe('RISK_MAX_POSITION');
  });

  it("total: a context without allOpenOrders counts other instruments' positions only", () => {
    const w = new World();
    w.rest('buy', 300_000, 100, ETH);
    const plain = Object.assign(Object.create(w) as World, { allOpenOrders: undefined });
    const c = new PositionLimitCheck(envOf(w), 1_000_000, 100);
    expect(reasonOf(c.check(intent('buy', 1, 5_000_000), plain))).toBe('ok');
    expect(reasonOf(c.check(intent('buy', 1, 5_000_000), w))).toBe('RISK_MAX_POSITION');
  });
});

describe('limits of 1e21 and more', () => {
  it('a limit that large (no limit in practice) is read exactly, not as an exponent-form decimal that throws', () => {
    const w = new World();
    expect(reasonOf(new PositionLimitCheck(envOf(w), 1e21, 5e21).check(intent('buy', 20, 5_000_000), w))).toBe('ok');
    expect(reasonOf(new MaxOrderNotionalCheck(1e22).check(intent('buy', 20, 5_000_000), w))).toBe('ok');
  });
});

describe('max_open_orders', () => {
  it('at the limit the next order is refused', () => {
    const w = new World();
    const c = new MaxOpenOrdersCheck(envOf(w), 3);
    w.rest('buy', 4_990_000, 1);
    w.rest('buy', 4_980_000, 1);
    expect(reasonOf(c.check())).toBe('ok');
    w.rest('buy', 4_970_000, 1);
    expect(reasonOf(c.check())).toBe('RISK_MAX_OPEN_ORDERS');
  });
});

describe('self_trade', () => {
  it('refuses an order that would cross our own resting order', () => {
    const w = new World();
    const c = new SelfTradeCheck();
    w.rest('sell', 5_000_100, 1);
    w.rest('buy', 4_999_000, 1);
    expect(reasonOf(c.check(intent('buy', 1, 5_000_099), w))).toBe('ok');
    expect(reasonOf(c.check(intent('buy', 1, 5_000_100), w))).toBe('RISK_SELF_TRADE');
    expect(reasonOf(c.check(intent('buy', 1), w))).toBe('RISK_SELF_TRADE');
    expect(reasonOf(c.check(intent('sell', 1, 4_999_001), w))).toBe('ok');
    expect(reasonOf(c.check(intent('sell', 1, 4_999_000), w))).toBe('RISK_SELF_TRADE');
    expect(reasonOf(c.check(intent('buy', 1, 400_000, ETH), w))).toBe('ok'); // other symbol
  });
});

describe('order_rate', () => {
  it('token bucket per venue: burst, refill on the clock, exact at the boundary', () => {
    const w = new World();
    const c = new OrderRateCheck(2); // 2/s, burst 2
    w.now = 0;
    expect(reasonOf(c.check(intent('buy', 1, 1), w))).toBe('ok');
    expect(reasonOf(c.check(intent('buy', 1, 1), w))).toBe('ok');
    expect(reasonOf(c.check(intent('buy', 1, 1), w))).toBe('RISK_RATE_LIMIT');
    w.now = 499;
    expect(reasonOf(c.check(intent('buy', 1, 1), w))).toBe('RISK_RATE_LIMIT');
    w.now = 500;
    expect(reasonOf(c.check(intent('buy', 1, 1), w))).toBe('ok');
    expect(reasonOf(c.check({ ...intent('buy', 1, 1), exchange: 'other' }, w))).toBe('ok'); // its own bucket
    w.now = 100_000;
    for (let k = 0; k < 2; k++) expect(reasonOf(c.check(intent('buy', 1, 1), w))).toBe('ok'); // refills to burst, not beyond
    expect(reasonOf(c.check(intent('buy', 1, 1), w))).toBe('RISK_RATE_LIMIT');
  });
  it('a fractional rate: 0.5/s holds one token', () => {
    const w = new World();
    const c = new OrderRateCheck(0.5);
    w.now = 0;
    expect(reasonOf(c.check(intent('buy', 1, 1), w))).toBe('ok');
    w.now = 1999;
    expect(reasonOf(c.check(intent('buy', 1, 1), w))).toBe('RISK_RATE_LIMIT');
    w.now = 2000;
    expect(reasonOf(c.check(intent('buy', 1, 1), w))).toBe('ok');
  });
});

describe('the chain from [risk]', () => {
  const risk: RiskConfig = { max_position: 1000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 2, price_band_bps: 100, orders_per_second: 1, max_order_notional: 500, max_total_position: 2000 };
  it('runs the checks in a fixed order, first rejection wins, and every reason is documented', () => {
    const w = new World();
    const chain = buildCheckChain(risk, envOf(w));
    expect(chain.map((c) => c.name)).toEqual(['risk_state', 'instrument_rules', 'reduce_only', 'book_health', 'price_band', 'max_order_notional', 'max_position', 'max_open_orders', 'self_trade', 'order_rate']);
    expect(reasonOf(runChain(chain, intent('buy', 11, 4_000_000), w))).toBe('RISK_PRICE_BAND'); // before notional
    expect(reasonOf(runChain(chain, intent('buy', 11, 5_000_000), w))).toBe('RISK_MAX_ORDER_NOTIONAL');
    expect(reasonOf(runChain(chain, intent('buy', 10, 5_000_000), w))).toBe('ok');
    expect(reasonOf(runChain(chain, intent('buy', 10, 5_000_000), w))).toBe('RISK_RATE_LIMIT'); // 1/s
    w.state = 'HALTED';
    expect(reasonOf(runChain(chain, intent('buy', 1, 5_000_000), w))).toBe('KILL_SWITCH');
    for (const r of ['KILL_SWITCH', 'RISK_STATE', 'OFF_GRID', 'MIN_NOTIONAL', 'BOOK_NOT_SYNCED', 'RISK_PRICE_BAND', 'RISK_MAX_ORDER_NOTIONAL', 'RISK_MAX_POSITION', 'RISK_MAX_OPEN_ORDERS', 'RISK_SELF_TRADE', 'RISK_RATE_LIMIT']) {
      expect(RISK_REASON_CODES[r], r).toBeTruthy();
    }
  });
  it('every run loads the facts afresh, a parent\'s run (parent checks only) too: the same intent object is valued at the touch of now', () => {
    // A retry of a refused intent object, or one pooled object rewritten per order, was valued
    // at the touch of the run that last loaded it: risk_state, which a parent's run skips.
    const w = new World();
    const chain = buildCheckChain({ ...risk, orders_per_second: 1e12 }, envOf(w));
    const parentChecks = chain.filter((c) => c.parent === true);
    expect(parentChecks.map((c) => c.name)).toEqual(['instrument_rules', 'reduce_only', 'max_order_notional', 'max_position']);
    const o = intent('buy', 9); // market: 50001 x 0.009 = 450.009, under 500
    expect(reasonOf(runChain(chain, o, w))).toBe('ok');
    expect(reasonOf(runChain(parentChecks, o, w))).toBe('ok');
    w.setBook(BTC, 5_999_900, 6_000_100); // 60001 x 0.009 = 540.009
    expect(reasonOf(runChain(parentChecks, o, w))).toBe('RISK_MAX_ORDER_NOTIONAL');
    const pooled = intent('buy', 16, undefined, ETH); // 3000.10 x 0.16 = 480.016
    expect(reasonOf(runChain(chain, pooled, w))).toBe('ok');
    pooled.symbol = 'BTCUSDT'; // the same object rewritten for the next order: 60001 x 0.016 = 960.016
    expect(reasonOf(runChain(parentChecks, pooled, w))).toBe('RISK_MAX_ORDER_NOTIONAL');
  });
  it('max_order_notional is optional', () => {
    const { max_order_notional: _drop, ...rest } = risk;
    expect(buildCheckChain(rest, envOf(new World())).map((c) => c.name)).not.toContain('max_order_notional');
  });
});

describe('what a chain keeps between orders (MarketContext.liveBooks)', () => {
  const SOL = defineInstrument({ exchange: 'v', symbol: 'SOLUSDT', base: 'SOL', quote: 'USDT', tickSize: '0.001', lotSize: '0.01', minNotional: '5' });
  const ALL = [BTC, ETH, SOL];
  /** Books moved in place, as the engine's are. */
  class LiveWorld extends World {
    readonly liveBooks = true;
    override instrument(exchange: string, symbol: string) { return ALL.find((i) => i.exchange === exchange && i.symbol === symbol); }
    move(i: Instrument, bid?: number, ask?: number): void {
      const b = this.books.get(instrumentKey(i.exchange, i.symbol));
      if (b === undefined) this.setBook(i, bid, ask);
      else {
        b.bid = bid;
        b.ask = ask;
        this.lastUpdate.set(instrumentKey(i.exchange, i.symbol), this.now);
      }
    }
  }
  const risk: RiskConfig = { max_position: 20_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 1000, price_band_bps: 2000, orders_per_second: 1e12, max_order_notional: 10_000, max_total_position: 30_000 };
  const mids = [5_000_000, 300_000, 150_000];

  it('decides every order as a chain built fresh for it does, whatever moved, filled or appeared in between', () => {
    const act = fc.oneof(
      fc.record({ t: fc.constant('hold' as const), k: fc.nat(2), qty: fc.integer({ min: -400, max: 400 }) }),
      fc.record({ t: fc.constant('move' as const), k: fc.nat(2), off: fc.integer({ min: -3000, max: 3000 }), oneSided: fc.boolean() }),
      fc.record({ t: fc.constant('rest' as const), k: fc.nat(2), side: fc.constantFrom('buy' as const, 'sell' as const), qty: fc.integer({ min: 1, max: 300 }) }),
      fc.record({ t: fc.constant('order' as const), k: fc.nat(2), side: fc.constantFrom('buy' as const, 'sell' as const), qty: fc.integer({ min: 1, max: 400 }), off: fc.option(fc.integer({ min: -2000, max: 2000 })) }),
    );
    fc.assert(
      fc.property(fc.array(act, { minLength: 1, maxLength: 80 }), fc.boolean(), fc.boolean(), (acts, solBookLate, shifting) => {
        const w = new LiveWorld();
        if (!solBookLate) w.move(SOL, mids[2]! - 5, mids[2]! + 5);
        // An env may list positions in any order and drop flat ones: places in the list shift.
        const env = shifting ? { ...envOf(w), positions: () => [...w.portfolio.all()].filter((p) => p.qty !== 0).reverse() } : envOf(w);
        const kept = buildCheckChain(risk, env);
        for (const a of acts) {
          const i = ALL[a.k]!;
          const mid = mids[a.k]!;
          if (a.t === 'hold') w.hold(i, a.qty, mid);
          else if (a.t === 'move') w.move(i, a.oneSided ? undefined : mid + a.off - 5, mid + a.off + 5);
          else if (a.t === 'rest') w.rest(a.side, a.side === 'buy' ? mid - 2000 : mid + 2000, a.qty, i);
          else {
            const o = intent(a.side, a.qty, a.off === null ? undefined : mid + a.off, i);
            const want = runChain(buildCheckChain(risk, env), o, w);
            expect(runChain(kept, o, w)).toEqual(want);
          }
        }
      }),
      {
        numRuns: 300,
        // Found by CI: the same refusal read 32405.21 from the kept chain and 32405.20 from a fresh
        // one (the float estimate summed in another order); refusals now name the exact total.
        examples: [
          [
            [
              { t: 'rest', k: 0, side: 'buy', qty: 1 }, { t: 'hold', k: 1, qty: 313 }, { t: 'rest', k: 2, side: 'buy', qty: 230 }, { t: 'rest', k: 0, side: 'buy', qty: 192 },
              { t: 'rest', k: 0, side: 'buy', qty: 65 }, { t: 'order', k: 0, side: 'buy', qty: 2, off: null }, { t: 'rest', k: 0, side: 'buy', qty: 127 }, { t: 'rest', k: 1, side: 'sell', qty: 102 },
              { t: 'hold', k: 1, qty: -381 }, { t: 'rest', k: 1, side: 'sell', qty: 161 }, { t: 'order', k: 1, side: 'sell', qty: 94, off: 1706 }, { t: 'order', k: 0, side: 'buy', qty: 1, off: null },
            ],
            false,
            false,
          ],
        ],
      },
    );
  });

  it('without liveBooks every book is looked up again: a book replaced between two orders is the one used', () => {
    const w = new World(); // replaces its book objects (setBook), and says nothing of liveBooks
    const c = new PositionLimitCheck(envOf(w), 1_000_000, 3100);
    w.hold(ETH, -100, 300_000); // ETH at mid 3000.05
    expect(reasonOf(c.check(intent('buy', 1, 5_000_000), w))).toBe('ok'); // 50 + 3000.05
    w.setBook(ETH, 320_000, 320_010); // a new object: ETH at 3200.05
    expect(reasonOf(c.check(intent('buy', 1, 5_000_000), w))).toBe('RISK_MAX_POSITION');
    const chain = buildCheckChain({ max_position: 1_000_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 10, price_band_bps: 100, orders_per_second: 1e12 }, envOf(w));
    expect(reasonOf(runChain(chain, intent('buy', 2, 5_000_000), w))).toBe('ok');
    w.setBook(BTC, 5_999_900, 6_000_100); // BTC's book replaced: mid 60000.00, the band moves with it
    expect(reasonOf(runChain(chain, intent('buy', 2, 5_000_000), w))).toBe('RISK_PRICE_BAND');
  });
});

/**
 * A routed parent is valued, for the whole-order checks (RiskCheck.parent: max_order_notional,
 * the position limits), at the most its children may trade at (RouterHost.checkParent's
 * `highestPrice`, API 1.13), not only at its own venue's touch: a synced own venue is one venue,
 * and children on the others may pay more (a buy) or sell for more (a sell).
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { routingSchema } from '../config/routing-schema.js';
import { defineInstrument } from '../domain/instrument.js';
import type { OrderIntent } from '../domain/orders.js';
import type { OrderRouter, RouterHost } from '../contracts/trading.js';
import type { RiskConfig } from '../config/types.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { RiskManager } from '../risk/manager.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { SmartOrderRouter } from './smart-order-router.js';

type Levels = [number, number][];

// 1 lot = 1e-5 BTC, 1 tick = 0.01 USDT: 100 lots at 60 000 USDT (6_000_000 ticks) = 60 USDT
const RISK: RiskConfig = { max_position: 1_000_000, max_drawdown: 0.5, kelly_fraction: 0.25, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000, max_order_notional: 300 };

/** Venues a (the parents' own, 10 bps) and b (2 bps), both synced; `router` replaces the smart one. */
async function setup(books: Record<'a' | 'b', { bids: Levels; asks: Levels }>, router?: OrderRouter) {
  const clock = new ManualClock(1_000_000);
  const inst = (exchange: string) => defineInstrument({ exchange, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' });
  const venues = { a: new ScriptedVenue('a', [inst('a')]), b: new ScriptedVenue('b', [inst('b')]) };
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 1_000_000, timers: false });
  const config = routingSchema.parse({ enabled: true, venue: { a: { taker_fee_bps: 10 }, b: { taker_fee_bps: 2 } } });
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks,
    router: router ?? new SmartOrderRouter({ config, venues: ['a', 'b'] }),
    venues: Object.values(venues).map((v) => ({ name: v.exchange, symbols: ['BTCUSDT'], marketData: v, execution: v })),
  });
  await engine.start();
  for (const v of Object.values(venues)) {
    const { bids, asks } = books[v.exchange as 'a' | 'b'];
    v.sink!.onMarketEvent({ type: 'book_snapshot', exchange: v.exchange, symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: bids.map(([price, qty]) => ({ price, qty })), asks: asks.map(([price, qty]) => ({ price, qty })) });
  }
  const sent = () => [...venues.a.submitted, ...venues.b.submitted].map((o) => [o.exchange, o.side, o.qty, o.price]);
  const errors = async () => (await metrics.text()).split('\n').find((l) => l.startsWith('cwts_errors_total{component="router"}'))?.split(' ').pop();
  return { engine, venues, sent, errors };
}

const order = (side: 'buy' | 'sell', qty: number, extra: Partial<OrderIntent> = {}): OrderIntent => ({ exchange: 'a', symbol: 'BTCUSDT', side, type: 'market', qty, tif: 'IOC', source: 'test', ...extra });

/** A buy: a's ask 60 000 is cheap but 100 lots deep; b asks 90 000. */
const BUY_BOOKS = { a: { bids: [[5_999_000, 1000]], asks: [[6_000_000, 100]] }, b: { bids: [[8_999_000, 1000]], asks: [[9_000_000, 1000]] } } satisfies Record<'a' | 'b', { bids: Levels; asks: Levels }>;
/** BUY_BOOKS with a's ask 1000 lots deep: a whole market buy sent to a is covered there. */
const DEEP_A_BOOKS = { ...BUY_BOOKS, a: { bids: [[5_999_000, 1000]], asks: [[6_000_000, 1000]] } } satisfies Record<'a' | 'b', { bids: Levels; asks: Levels }>;
/** A sell: a's bid 60 000 is 1000 lots deep; b bids 90 000 for 300 lots. */
const SELL_BOOKS = { a: { bids: [[6_000_000, 1000]], asks: [[6_001_000, 1000]] }, b: { bids: [[9_000_000, 300]], asks: [[9_001_000, 1000]] } } satisfies Record<'a' | 'b', { bids: Levels; asks: Levels }>;

describe('routed parent valuation: the most its children may trade at', () => {
  it('a market buy whose own synced venue has a cheap touch is valued at the dearer levels its children take on other venues', async () => {
    // 400 lots: 240 USDT at a's ask; the plan is 100 on a at 60 000 and 300 on b at 90 000 (330
    // USDT, each child under 300). Valued at a's touch it passed and both children went out.
    const { engine, sent } = await setup(BUY_BOOKS);
    const r = engine.submit(order('buy', 400));
    expect(r).toMatchObject({ accepted: false, reason: 'RISK_MAX_ORDER_NOTIONAL' });
    expect(r.message).toMatch(/order notional 360(\.0+)? USDT is above risk.max_order_notional 300 \(the whole order, before routing, valued at 9000000 ticks/);
    expect(sent()).toEqual([]);
    // within the limit at 90 000 (270 USDT) it is split as before
    expect(engine.submit(order('buy', 300))).toMatchObject({ accepted: true });
    expect(sent()).toEqual([['a', 'buy', 100, 6_000_000], ['b', 'buy', 200, 9_000_000]]);
    await engine.stop();
  });

  it('a market sell is valued at the best bid of the venues its children sell on, above its own venue bid', async () => {
    // 400 lots: 240 USDT at a's bid; the plan sells 300 on b at 90 000 (270 USDT) and 100 on a (60)
    const { engine, sent } = await setup(SELL_BOOKS);
    const r = engine.submit(order('sell', 400));
    expect(r).toMatchObject({ accepted: false, reason: 'RISK_MAX_ORDER_NOTIONAL' });
    expect(r.message).toMatch(/valued at 9000000 ticks/);
    expect(sent()).toEqual([]);
    expect(engine.submit(order('sell', 300))).toMatchObject({ accepted: true }); // all on b: 270 USDT
    expect(sent()).toEqual([['b', 'sell', 300, 9_000_000]]);
    await engine.stop();
  });

  it('a market buy parent whose own venue is thin while its children buy cheaper elsewhere is valued at its own touch, not its own depth', async () => {
    // a: 100 lots at 60 000; b: 1000 at 59 900. The plan buys all 400 on b (p = 59 900), under a's
    // ask: the parent is a limit at 60 000 (240 USDT), not a market buy walked through a's 100 lots
    // (which a plain market order there is: refused, its price past the visible asks unknown)
    const { engine, sent } = await setup({ a: BUY_BOOKS.a, b: { bids: [[5_980_000, 1000]], asks: [[5_990_000, 1000]] } });
    expect(engine.submit(order('buy', 400))).toMatchObject({ accepted: true });
    expect(sent()).toEqual([['b', 'buy', 400, 5_990_000]]);
    await engine.stop();
  });

  it('a sell limit parent is valued at the bid its children sell at on another venue, not its own venue bid or its limit', async () => {
    const { engine, sent } = await setup(SELL_BOOKS);
    expect(engine.submit(order('sell', 400, { type: 'limit', price: 5_000_000 }))).toMatchObject({ accepted: false, reason: 'RISK_MAX_ORDER_NOTIONAL' });
    expect(sent()).toEqual([]);
    await engine.stop();
  });

  it('a buy limit parent stays valued at its limit: no child takes more', async () => {
    // limit 95 000: 400 lots = 380 USDT, refused as before; the plan's 90 000 does not lower it
    const { engine, sent } = await setup(BUY_BOOKS);
    const r = engine.submit(order('buy', 400, { type: 'limit', price: 9_500_000 }));
    expect(r).toMatchObject({ accepted: false, reason: 'RISK_MAX_ORDER_NOTIONAL' });
    expect(r.message).toMatch(/order notional 380(\.0+)? USDT .*\(the whole order, before routing\)$/);
    expect(sent()).toEqual([]);
    await engine.stop();
  });
});

describe('Engine.checkParent: the router-given highest price', () => {
  /** A router that checks the parent with `price` and sends it whole to its venue. */
  const passing = (price: unknown): OrderRouter => ({
    route: (i) => [i],
    submitParent: (i: OrderIntent, host: RouterHost) => host.checkParent!(i, price as number) ?? host.submitChild(i),
  });

  it('never values a parent below its own venue touch', async () => {
    // 600 lots at a's ask 60 000 = 360 USDT; a router saying "30 000" does not make it 180
    const { engine, sent } = await setup(BUY_BOOKS, passing(3_000_000));
    expect(engine.submit(order('buy', 600))).toMatchObject({ accepted: false, reason: 'RISK_MAX_ORDER_NOTIONAL' });
    expect(sent()).toEqual([]);
    await engine.stop();
  });

  it('a price that is not a positive number of ticks is counted as the router error and ignored', async () => {
    for (const bad of [Number.NaN, -5, 0, Number.POSITIVE_INFINITY, '9000000']) {
      const { engine, sent, errors } = await setup(DEEP_A_BOOKS, passing(bad));
      // 400 lots at a's ask: 240 USDT, under 300: valued on its own venue as with no price
      expect(engine.submit(order('buy', 400))).toMatchObject({ accepted: true });
      expect(sent()).toEqual([['a', 'buy', 400, undefined]]);
      expect(await errors()).toBe('1');
      await engine.stop();
    }
  });

  it('a fractional price is rounded up to whole ticks', async () => {
    // 500 lots: exactly 300 USDT at a's ask 6_000_000 ticks, 300.00005 at 6_000_001
    const { engine } = await setup(DEEP_A_BOOKS, passing(6_000_000.5));
    expect(engine.submit(order('buy', 500))).toMatchObject({ accepted: false, reason: 'RISK_MAX_ORDER_NOTIONAL' });
    const again = await setup(DEEP_A_BOOKS, passing(6_000_000));
    expect(again.engine.submit(order('buy', 500))).toMatchObject({ accepted: true });
    await engine.stop();
    await again.engine.stop();
  });
});

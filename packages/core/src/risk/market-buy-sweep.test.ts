/**
 * An unrouted market BUY was valued by max_order_notional and the position limits at the best
 * ask, the least it can pay: on a book whose top level is thinner than the order it swept dearer
 * levels and traded past both limits, while the same order routed (valued at the deepest ask
 * its children take) was refused. It is now valued at the deepest ask its quantity reaches in
 * the synced book, and refused NO_LIQUIDITY when the visible asks do not cover it.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { routingSchema } from '../config/routing-schema.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument } from '../domain/instrument.js';
import type { OrderIntent } from '../domain/orders.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { SmartOrderRouter } from '../routing/smart-order-router.js';
import { RiskManager } from './manager.js';

// 1 lot = 1e-5 BTC, 1 tick = 0.01 USDT: 100 lots at 60 000 USDT = 60 USDT
const RISK: RiskConfig = { max_position: 1_000_000, max_drawdown: 0.5, kelly_fraction: 0.25, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000, max_order_notional: 300 };

async function setup(routed: boolean, limits: RiskConfig = RISK) {
  const clock = new ManualClock(1_000_000);
  const inst = defineInstrument({ exchange: 'a', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' });
  const venue = new ScriptedVenue('a', [inst]);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({ risk: limits, metrics, initialEquity: 1_000_000, timers: false });
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks,
    ...(routed ? { router: new SmartOrderRouter({ config: routingSchema.parse({ enabled: true }), venues: ['a'] }) } : {}),
    venues: [{ name: 'a', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  await engine.start();
  // best ask 60 000 for only 100 lots; the rest of the offer, 1000 lots, at 90 000
  venue.sink!.onMarketEvent({
    type: 'book_snapshot', exchange: 'a', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial',
    bids: [{ price: 5_999_000, qty: 1000 }], asks: [{ price: 6_000_000, qty: 100 }, { price: 9_000_000, qty: 1000 }],
  });
  const sent = () => venue.submitted.map((o) => [o.type, o.side, o.qty]);
  return { engine, venue, sent };
}

const market = (side: 'buy' | 'sell', qty: number): OrderIntent => ({ exchange: 'a', symbol: 'BTCUSDT', side, type: 'market', qty, tif: 'IOC', source: 'test' });

describe('an unrouted market buy is valued at the deepest ask its quantity reaches', () => {
  it('max_order_notional: 400 lots (100 at 60 000, 300 at 90 000) is valued at 90 000 and refused; 300 lots pass', async () => {
    const { engine, sent } = await setup(false);
    const r = engine.submit(market('buy', 400));
    expect(r).toMatchObject({ accepted: false, reason: 'RISK_MAX_ORDER_NOTIONAL' });
    expect(r.message).toMatch(/order notional 360(\.0+)? USDT is above risk.max_order_notional 300/);
    // 300 lots at 90 000 = 270: within, and sent
    expect(engine.submit(market('buy', 300))).toMatchObject({ accepted: true });
    // 100 lots take only the best level: 60 USDT
    expect(engine.submit(market('buy', 100))).toMatchObject({ accepted: true });
    expect(sent()).toEqual([['market', 'buy', 300], ['market', 'buy', 100]]);
    await engine.stop();
  });

  it('the same order routed is refused for the same reason (the plain order and the parent agree)', async () => {
    const { engine, sent } = await setup(true);
    expect(engine.submit(market('buy', 400))).toMatchObject({ accepted: false, reason: 'RISK_MAX_ORDER_NOTIONAL' });
    expect(sent()).toEqual([]);
    await engine.stop();
  });

  it('max_position (no max_order_notional): 400 lots is a 360 USDT position, above 300', async () => {
    const { max_order_notional: _none, ...rest } = RISK;
    const { engine, sent } = await setup(false, { ...rest, max_position: 300 });
    const r = engine.submit(market('buy', 400));
    expect(r).toMatchObject({ accepted: false, reason: 'RISK_MAX_POSITION' });
    expect(r.message).toMatch(/could reach 360(\.0+)? USDT/);
    expect(sent()).toEqual([]);
    await engine.stop();
  });

  it('max_total_position values the order the same way', async () => {
    const { max_order_notional: _none, ...rest } = RISK;
    const { engine, sent } = await setup(false, { ...rest, max_total_position: 300 });
    expect(engine.submit(market('buy', 400))).toMatchObject({ accepted: false, reason: 'RISK_MAX_POSITION' });
    expect(engine.submit(market('buy', 300))).toMatchObject({ accepted: true });
    expect(sent()).toEqual([['market', 'buy', 300]]);
    await engine.stop();
  });

  it('a market buy larger than the visible asks (1100 lots) is refused NO_LIQUIDITY: its price is unbounded', async () => {
    const { max_order_notional: _none, ...rest } = RISK;
    const { engine, sent } = await setup(false, { ...rest, max_position: 1_000_000 });
    const r = engine.submit(market('buy', 1101));
    expect(r).toMatchObject({ accepted: false, reason: 'NO_LIQUIDITY' });
    expect(r.message).toMatch(/visible asks on a:BTCUSDT do not cover a market buy of 1101 lots/);
    expect(engine.submit(market('buy', 1100))).toMatchObject({ accepted: true });
    expect(sent()).toEqual([['market', 'buy', 1100]]);
    await engine.stop();
  });

  it('a market sell stays valued at the best bid, the most it can sell for', async () => {
    // 500 lots at the bid 59 990: 299.95 USDT, within 300 (deeper bids only lower it)
    const { engine, sent } = await setup(false);
    expect(engine.submit(market('sell', 500))).toMatchObject({ accepted: true });
    expect(engine.submit(market('sell', 501))).toMatchObject({ accepted: false, reason: 'RISK_MAX_ORDER_NOTIONAL' });
    expect(sent()).toEqual([['market', 'sell', 500]]);
    await engine.stop();
  });
});

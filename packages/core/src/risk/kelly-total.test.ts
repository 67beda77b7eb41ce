/**
 * The Kelly sizer clipped to max_total_position less `otherExposure`, documented as "every other
 * position", while the check (check 7) also counts every other instrument's working orders where
 * they can grow its position: with an order working elsewhere, a size clipped to the limit was
 * refused by it. `otherExposureOf` now computes the other exposure with the check's own code.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument } from '../domain/instrument.js';
import type { OrderIntent } from '../domain/orders.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { RiskManager } from './manager.js';
import { otherExposureOf } from './checks.js';
import { kellySize, kellySizer } from './kelly.js';

// 1 tick = 0.01 USDT, 1 lot = 0.001: a BTC lot at 50 001 is 50.001 USDT, an ETH lot at 2990 is 2.99 USDT.
const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const ETH = defineInstrument({ exchange: 'v', symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK = { max_position: 100_000, max_total_position: 10_000, max_drawdown: 0.5, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 } as unknown as RiskConfig;
const BTC_ASK = 5_000_100;

async function setup() {
  const venue = new ScriptedVenue('v', [BTC, ETH]);
  const clock = new ManualClock(1_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 10_000, timers: false });
  const engine = new Engine({ clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, venues: [{ name: 'v', symbols: ['BTCUSDT', 'ETHUSDT'], marketData: venue, execution: venue }] });
  await engine.start();
  clock.advance(1000);
  venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: BTC_ASK, qty: 100_000 }] });
  venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'ETHUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 300_000, qty: 100_000 }], asks: [{ price: 300_100, qty: 100_000 }] });
  const btcBuy = (qty: number): OrderIntent => ({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: BTC_ASK, qty, tif: 'GTC', source: 'test' });
  const sizer = kellySizer(RISK);
  /** Full Kelly 10x at the ask: far past max_total_position, so the sizer clips to it. */
  const size = (otherExposure: number) => sizer({ instrument: BTC, priceTicks: BTC_ASK, equity: 10_000, fullKelly: 10, positionLots: 0, otherExposure });
  return { engine, venue, risk, btcBuy, size };
}

describe('kellySizer vs max_total_position: otherExposure as the check counts it (otherExposureOf)', () => {
  it('a working order on another instrument: the size clipped to max_total_position less otherExposureOf passes the check, one lot more does not', async () => {
    const { engine, venue, risk, btcBuy, size } = await setup();
    // a resting ETH bid of 1000 lots at 2990: no position, 2990 USDT working
    expect(engine.submit({ exchange: 'v', symbol: 'ETHUSDT', side: 'buy', type: 'limit', price: 299_000, qty: 1000, tif: 'GTC', source: 'test' }).accepted).toBe(true);
    venue.report(venue.submitted.at(-1)!, { kind: 'ack', leavesQty: 1000 });

    // "every other position" (none) left room for 199 lots (9950.20 USDT), which with the ETH
    // bid the check puts at 12 940.20 and refuses
    expect(size(0)).toMatchObject({ orderLots: 199, clippedBy: 'max_total_position' });
    expect(engine.submit(btcBuy(199))).toMatchObject({ accepted: false, reason: 'RISK_MAX_POSITION' });

    const other = otherExposureOf(risk, engine, BTC);
    expect(other).toBe(2990);
    const s = size(other);
    expect(s).toMatchObject({ orderLots: 140, clippedBy: 'max_total_position' }); // floor(7010 / 50.001)
    expect(engine.submit(btcBuy(s.orderLots + 1))).toMatchObject({ accepted: false, reason: 'RISK_MAX_POSITION' });
    const r = engine.submit(btcBuy(s.orderLots));
    expect(r.accepted, `${r.reason} ${r.message}`).toBe(true);
    await engine.stop();
  });

  it('counts other positions at the mark and their working orders beyond them, not our own instrument', async () => {
    const { engine, venue, risk } = await setup();
    // long 500 ETH lots (filled at 3001), marked at the mid 3000.50: 1500.25 USDT
    expect(engine.submit({ exchange: 'v', symbol: 'ETHUSDT', side: 'buy', type: 'limit', price: 300_100, qty: 500, tif: 'IOC', source: 'test' }).accepted).toBe(true);
    venue.report(venue.submitted.at(-1)!, { kind: 'fill', lastPrice: 300_100, lastQty: 500, cumQty: 500, leavesQty: 0 });
    expect(otherExposureOf(risk, engine, BTC)).toBe(1500.25);
    // a resting ETH sell of 300 lots would only reduce it (adds nothing); a buy of 200 at 2995 grows it by 599
    engine.submit({ exchange: 'v', symbol: 'ETHUSDT', side: 'sell', type: 'limit', price: 302_000, qty: 300, tif: 'GTC', source: 'test' });
    expect(otherExposureOf(risk, engine, BTC)).toBe(1500.25);
    engine.submit({ exchange: 'v', symbol: 'ETHUSDT', side: 'buy', type: 'limit', price: 299_500, qty: 200, tif: 'GTC', source: 'test' });
    expect(otherExposureOf(risk, engine, BTC)).toBe(2099.25);
    // the instrument's own orders and position are the sizer's to count (positionLots, restingLots)
    expect(otherExposureOf(risk, engine, ETH)).toBe(0);
    await engine.stop();
  });

  it('no room while a working market order elsewhere has no price (the check refuses NO_LIQUIDITY): Infinity, sized at 0', async () => {
    const { engine, venue, risk, btcBuy, size } = await setup();
    expect(engine.submit({ exchange: 'v', symbol: 'ETHUSDT', side: 'buy', type: 'market', qty: 100, tif: 'IOC', source: 'test' }).accepted).toBe(true);
    venue.report(venue.submitted.at(-1)!, { kind: 'ack', leavesQty: 100 });
    // the ETH asks vanish while it works: how far it can sweep is unknown
    venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'ETHUSDT', ts: 2, recvTs: 2, seq: 2, reason: 'resync', bids: [{ price: 300_000, qty: 100_000 }], asks: [] });
    expect(otherExposureOf(risk, engine, BTC)).toBe(Infinity);
    expect(size(Infinity)).toMatchObject({ targetLots: 0, orderLots: 0, clippedBy: 'max_total_position' });
    expect(engine.submit(btcBuy(1))).toMatchObject({ accepted: false, reason: 'NO_LIQUIDITY' });
    await engine.stop();
    const base = { instrument: BTC, priceTicks: BTC_ASK, equity: 10_000, fraction: 5, positionLots: 0, maxPosition: 100_000, maxTotalPosition: 10_000 };
    expect(kellySize({ ...base, otherExposure: Infinity })).toMatchObject({ targetLots: 0, orderLots: 0, clippedBy: 'max_total_position' });
    expect(() => kellySize({ ...base, otherExposure: -Infinity })).toThrow();
    expect(() => kellySize({ ...base, otherExposure: Number.NaN })).toThrow();
  });

  it('reads otherExposure rounded up to the instrument\'s decimals: an exposure in finer atoms leaves no room for a lot past the limit', () => {
    // BTC's notional has 5 decimals; an ETH position in 0.0001 lots is worth 2999.860001. Truncated
    // to 2999.86 it left room for 140 lots of 50.001 (7000.14), and the check, summing exactly,
    // put the total at 10 000.000001 and refused them.
    const base = { instrument: BTC, priceTicks: BTC_ASK, equity: 10_000, fraction: 5, positionLots: 0, maxPosition: 100_000, maxTotalPosition: 10_000 };
    expect(kellySize({ ...base, otherExposure: 2999.86 }).targetLots).toBe(140);
    expect(kellySize({ ...base, otherExposure: 2999.860001 }).targetLots).toBe(139);
  });
});

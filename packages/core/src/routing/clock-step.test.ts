/**
 * The router's rate-limit window, ack latencies and unanswered waits across a wall-clock step back
 * (NTP makestep, a resumed VM). The engine's clock is wall time: measured on it, the children sent
 * before a step back of S seconds stayed "in the last second" for S seconds, a venue at
 * max_orders_per_second got no child that long, and with every venue so limited every parent was
 * refused NO_LIQUIDITY.
 */
import { describe, expect, it } from 'vitest';
import type { Clock } from '../contracts/clock.js';
import { routingSchema } from '../config/routing-schema.js';
import { defineInstrument, type Instrument } from '../domain/instrument.js';
import type { OrderIntent } from '../domain/orders.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { monoMs } from '../contracts/mono-ms.js';
import { IntervalTime } from './interval-time.js';
import { SmartOrderRouter } from './smart-order-router.js';
import { VenueLatency } from './venue-latency.js';

/** SystemClock as the host sees it: now() is Date.now(), which NTP may step back; monoNs() only goes forward. */
class HostClock implements Clock {
  private mono = 0; // ms of real time elapsed
  private step = 0; // what NTP has stepped the wall clock by
  now(): number {
    return 1_700_000_000_000 + this.mono + this.step;
  }
  monoNs(): bigint {
    return BigInt(this.mono) * 1_000_000n;
  }
  elapse(ms: number): void {
    this.mono += ms;
  }
  stepWall(ms: number): void {
    this.step += ms;
  }
}

const inst = (exchange: string): Instrument => defineInstrument({ exchange, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' });

/** Venues a (10 bps) and b (2 bps), 100 lots each at the ask, 2 orders a second each; `routerClock`: SmartOrderRouterOptions.clock. */
async function setup(routerClock: boolean, routing: Record<string, unknown> = {}) {
  const clock = new HostClock();
  const venues = { a: new ScriptedVenue('a', [inst('a')]), b: new ScriptedVenue('b', [inst('b')]) };
  const config = routingSchema.parse({ enabled: true, venue: { a: { taker_fee_bps: 10, max_orders_per_second: 2 }, b: { taker_fee_bps: 2, max_orders_per_second: 2 } }, ...routing });
  const router = new SmartOrderRouter({ config, venues: ['a', 'b'], ...(routerClock ? { clock } : {}) });
  const engine = new Engine({
    clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, router,
    venues: Object.values(venues).map((v) => ({ name: v.exchange, symbols: ['BTCUSDT'], marketData: v, execution: v })),
  });
  await engine.start();
  for (const v of Object.values(venues)) {
    v.sink!.onMarketEvent({ type: 'book_snapshot', exchange: v.exchange, symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_999_000, qty: 1000 }], asks: [{ price: 6_000_000, qty: 100 }] });
  }
  return { clock, venues, engine, router };
}

const buy = (qty: number): OrderIntent => ({ exchange: 'a', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 6_000_500, qty, tif: 'IOC', source: 'test' });

/** Two parents of 150 lots: a child on each venue each time, both venues at their 2 a second. */
function fillTheWindow(engine: Engine, venues: { a: ScriptedVenue; b: ScriptedVenue }): void {
  expect(engine.submit(buy(150)).accepted).toBe(true);
  expect(engine.submit(buy(150)).accepted).toBe(true);
  expect(venues.a.submitted.length + venues.b.submitted.length).toBe(4);
  expect(engine.submit(buy(150))).toMatchObject({ accepted: false, reason: 'NO_LIQUIDITY' });
}

describe('SmartOrderRouter across a wall-clock step back', () => {
  it('with the engine clock, a venue used before a step back takes children again once a second of real time has passed', async () => {
    const { clock, venues, engine } = await setup(true);
    fillTheWindow(engine, venues);
    clock.stepWall(-60_000);
    clock.elapse(2_000);
    // was NO_LIQUIDITY for the next 58 s: both venues "at their rate limit"
    const res = engine.submit(buy(150));
    expect(res, JSON.stringify(res)).toMatchObject({ accepted: true });
    expect(venues.a.submitted.length + venues.b.submitted.length).toBe(6);
    await engine.stop();
  });

  it('on wall time alone, a step back holds the window for at most one second from when it is seen', async () => {
    const { clock, venues, engine } = await setup(false);
    fillTheWindow(engine, venues);
    clock.stepWall(-60_000);
    clock.elapse(2_000);
    // how long passed across the step is unknown: the sends before it count until a second has passed
    expect(engine.submit(buy(150))).toMatchObject({ accepted: false, reason: 'NO_LIQUIDITY' });
    clock.elapse(999);
    expect(engine.submit(buy(150))).toMatchObject({ accepted: false, reason: 'NO_LIQUIDITY' });
    clock.elapse(1);
    expect(engine.submit(buy(150))).toMatchObject({ accepted: true });
    await engine.stop();
  });

  it('with the engine clock, an ack across a step back is sampled at its real latency', async () => {
    const { clock, venues, engine, router } = await setup(true, { latency_bps_per_ms: 0.1 });
    engine.submit(buy(100)); // to b, the cheaper
    expect(venues.b.submitted).toHaveLength(1);
    clock.stepWall(-60_000);
    clock.elapse(5);
    venues.b.report(venues.b.submitted[0]!, { kind: 'fill', lastPrice: 6_000_000, lastQty: 100, cumQty: 100, leavesQty: 0, tradeId: 'b1' });
    // was no sample at all: -59 995 ms
    expect(router.latency.estimateMs('b')).toBe(5);
    await engine.stop();
  });

  it('on wall time alone, a venue that stops answering is still priced out by its wait after a step back', async () => {
    const { clock, venues, engine } = await setup(false, { latency_bps_per_ms: 1 });
    engine.submit(buy(100)); // b, never answered
    clock.stepWall(-60_000);
    engine.submit(buy(100)); // the step is seen: b's wait so far is not known, and b still looks healthy
    expect(venues.b.submitted).toHaveLength(2);
    clock.elapse(30_000);
    // b's children have waited 30 s since, far past the 1000 ms that prices it out: a takes the parent
    // (was b: its oldest child sent "in the future", a wait of -30 s)
    engine.submit(buy(100));
    expect([venues.a.submitted.length, venues.b.submitted.length]).toEqual([1, 2]);
    await engine.stop();
  });
});

describe('IntervalTime and VenueLatency', () => {
  it('IntervalTime follows the monotonic clock when given one, else the wall clock with each step back taken out', () => {
    const host = new HostClock();
    const mono = new IntervalTime(host);
    const wall = new IntervalTime();
    const t0 = host.now();
    expect([mono.at(host.now()), wall.at(host.now())]).toEqual([0, t0]);
    host.elapse(100);
    host.stepWall(-60_000);
    expect([mono.at(host.now()), wall.at(host.now())]).toEqual([100, t0]); // nothing counted across the step
    host.elapse(250);
    expect([mono.at(host.now()), wall.at(host.now())]).toEqual([350, t0 + 250]);
    expect(wall.at(Number.NaN)).toBe(t0 + 250); // a bad reading moves nothing
    host.elapse(1);
    expect(wall.at(host.now())).toBe(t0 + 251);
  });

  it('monoMs rounds to whole ms: the ns of a ManualClock ms that is no double-exact multiple still give back its ms', () => {
    const ms = 1_700_000_000_123;
    expect(monoMs({ monoNs: () => BigInt(Math.round(ms * 1e6)) })).toBe(ms);
    expect(monoMs({ monoNs: () => 1_499_999n })).toBe(1);
    expect(monoMs({ monoNs: () => 1_500_000n })).toBe(2);
  });

  it('VenueLatency.headroom: a send stamped after now (a caller on a stepped-back wall clock) counts for one window from now', () => {
    const l = new VenueLatency(['b'], { b: { max_orders_per_second: 2 } } as never, 0.2);
    const t0 = 1_700_000_000_000;
    l.recordSend('b', t0);
    l.recordSend('b', t0);
    expect(l.headroom('b', t0)).toBe(0);
    const back = t0 - 60_000;
    expect(l.headroom('b', back)).toBe(0);
    expect(l.headroom('b', back + 999)).toBe(0);
    expect(l.headroom('b', back + 1000)).toBe(2); // was 0 until t0 + 1000
  });
});

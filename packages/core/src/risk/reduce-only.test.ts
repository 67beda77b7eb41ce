import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { routingSchema } from '../config/routing-schema.js';
import { defineInstrument } from '../domain/instrument.js';
import type { OrderIntent } from '../domain/orders.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { RISK, riskTestEngine } from '../engine/risk-test-engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { SmartOrderRouter } from '../routing/smart-order-router.js';
import { RiskManager } from './manager.js';

const exit = (side: 'buy' | 'sell', qty: number, price: number): OrderIntent =>
  ({ exchange: 'v', symbol: 'BTCUSDT', side, type: 'limit', price, qty, tif: 'IOC', reduceOnly: true, source: 'test' });

describe('reduce-only orders through the engine (the built-in reduce_only check)', () => {
  it('a reduce-only order larger than the position is refused, not sent: filled, it would flip the position', async () => {
    const { venue, engine, trade } = await riskTestEngine();
    trade('buy', 10);
    expect(engine.positions.qty('v', 'BTCUSDT')).toBe(10);
    const sentBefore = venue.submitted.length;
    const res = engine.submit(exit('sell', 20, 5_000_000));
    expect(res).toMatchObject({ accepted: false, reason: 'INVALID_ORDER' });
    expect(res.message).toContain('reduce-only sell 20 lots');
    expect(venue.submitted).toHaveLength(sentBefore);
    // on the position's own side it adds: refused too
    expect(engine.submit(exit('buy', 1, 5_000_100))).toMatchObject({ accepted: false, reason: 'INVALID_ORDER' });
    expect(venue.submitted).toHaveLength(sentBefore);
    // the whole position, as an exit is written (qty = |position|), goes out, and filled leaves it flat
    expect(engine.submit(exit('sell', 10, 5_000_000)).accepted).toBe(true);
    const o = venue.submitted.at(-1)!;
    expect([o.qty, o.reduceOnly]).toEqual([10, true]);
    venue.report(o, { kind: 'fill', lastPrice: 5_000_000, lastQty: 10, cumQty: 10, leavesQty: 0, tradeId: 'x1' });
    expect(engine.positions.qty('v', 'BTCUSDT')).toBe(0);
    // flat: there is nothing to reduce
    expect(engine.submit(exit('sell', 1, 5_000_000))).toMatchObject({ accepted: false, reason: 'INVALID_ORDER' });
    await engine.stop();
  });

  it('counts our resting orders on its side: two exits of the whole position are not both sent', async () => {
    const { venue, engine, trade, submit } = await riskTestEngine();
    trade('buy', 10);
    expect(submit({ side: 'sell', qty: 10, price: 5_100_000, reduceOnly: true }).accepted).toBe(true); // a resting take-profit
    const sentBefore = venue.submitted.length;
    expect(engine.submit(exit('sell', 10, 5_000_000))).toMatchObject({ accepted: false, reason: 'INVALID_ORDER' });
    expect(engine.submit(exit('sell', 1, 5_000_000)).message).toContain('at most 0 lots may go out');
    expect(venue.submitted).toHaveLength(sentBefore);
    await engine.stop();
  });

  it('under the smart order router too (a reduce-only order goes to its own venue, through the checks)', async () => {
    const inst = (exchange: string) => defineInstrument({ exchange, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
    const venues = { v: new ScriptedVenue('v', [inst('v')]), w: new ScriptedVenue('w', [inst('w')]) };
    const clock = new ManualClock(1_000_000);
    const metrics = new MetricsRegistry({ processMetrics: false });
    const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 1000, timers: false });
    const router = new SmartOrderRouter({ config: routingSchema.parse({ enabled: true }), venues: ['v', 'w'] });
    const engine = new Engine({
      clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, router,
      venues: Object.values(venues).map((x) => ({ name: x.exchange, symbols: ['BTCUSDT'], marketData: x, execution: x })),
    });
    await engine.start();
    for (const x of Object.values(venues)) {
      x.sink!.onMarketEvent({ type: 'book_snapshot', exchange: x.exchange, symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_000_000, qty: 1000 }], asks: [{ price: 5_000_100, qty: 1000 }] });
    }
    expect(engine.submit({ ...exit('buy', 10, 5_000_100), reduceOnly: false }).accepted).toBe(true);
    const entry = [...venues.v.submitted, ...venues.w.submitted];
    for (const o of entry) {
      const x = o.exchange === 'v' ? venues.v : venues.w;
      x.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: o.qty, cumQty: o.qty, leavesQty: 0, tradeId: `e-${o.clientOrderId}` });
    }
    const longOnV = engine.positions.qty('v', 'BTCUSDT');
    expect(longOnV).toBeGreaterThan(0);
    const sent = venues.v.submitted.length + venues.w.submitted.length;
    expect(engine.submit(exit('sell', longOnV + 1, 5_000_000))).toMatchObject({ accepted: false, reason: 'INVALID_ORDER' });
    expect(venues.v.submitted.length + venues.w.submitted.length).toBe(sent);
    expect(engine.submit(exit('sell', longOnV, 5_000_000)).accepted).toBe(true);
    await engine.stop();
  });
});

describe('working reduce-only orders after a fill (the engine cancels what could take the position past flat)', () => {
  const cancelledIds = (t: Awaited<ReturnType<typeof riskTestEngine>>) => t.venue.cancelled.map((o) => o.clientOrderId);
  /** A reduce-only GTC sell the venue acknowledged; its client id and the order the venue got. */
  const restingExit = (t: Awaited<ReturnType<typeof riskTestEngine>>, qty: number, price: number) => {
    const r = t.submit({ side: 'sell', qty, price, reduceOnly: true });
    expect(r.accepted, r.message).toBe(true);
    const order = t.venue.submitted.at(-1)!;
    t.venue.report(order, { kind: 'ack', leavesQty: qty });
    return { id: r.clientOrderId!, order };
  };

  it('long 10, a reduce-only take-profit of 10 resting, then a plain exit of 10 fills: the take-profit is cancelled, the position stays flat', async () => {
    // On a venue that ignores the flag (paper, the sim, spot) it would fill next: short 10.
    const t = await riskTestEngine();
    const { venue, engine, trade, submit } = t;
    trade('buy', 10);
    const tp = restingExit(t, 10, 5_100_000);
    // a plain exit of the whole position (a stop, a signal's exit) is not refused: an exit must go out
    const exit = submit({ side: 'sell', qty: 10, price: 5_000_000 });
    expect(exit.accepted, exit.message).toBe(true);
    expect(cancelledIds(t)).toEqual([]);
    const o = venue.submitted.at(-1)!;
    venue.report(o, { kind: 'fill', lastPrice: 5_000_000, lastQty: 10, cumQty: 10, leavesQty: 0, tradeId: 'exit-1' });
    expect(engine.positions.qty('v', 'BTCUSDT')).toBe(0);
    expect(cancelledIds(t)).toEqual([tp.id]);
    expect(engine.orders.get(tp.id)?.status ?? 'gone').not.toMatch(/open|partially_filled/);
    await engine.stop();
  });

  it('keeps the oldest while their remaining quantities fit in the position and cancels the rest; a fill of the exit itself keeps it', async () => {
    const t = await riskTestEngine();
    const { venue, engine, trade } = t;
    trade('buy', 20);
    const older = restingExit(t, 10, 5_100_000);
    const newer = restingExit(t, 8, 5_200_000);
    // the older exit fills 4: 16 long, 6 + 8 left to sell: nothing to cancel
    venue.report(older.order, { kind: 'fill', lastPrice: 5_100_000, lastQty: 4, cumQty: 4, leavesQty: 6, tradeId: 'tp-1' });
    expect(engine.positions.qty('v', 'BTCUSDT')).toBe(16);
    expect(cancelledIds(t)).toEqual([]);
    // a plain sell of 5 fills: 11 long; the older (6 left) fits, the newer (8) no longer does
    trade('sell', 5);
    expect(engine.positions.qty('v', 'BTCUSDT')).toBe(11);
    expect(cancelledIds(t)).toEqual([newer.id]);
    expect(engine.orders.get(older.id)?.status).toBe('partially_filled');
    await engine.stop();
  });

  it('a position flipped by a plain order: the reduce-only exit, now on the growing side, is cancelled whole', async () => {
    const t = await riskTestEngine();
    const { engine, trade } = t;
    trade('buy', 10);
    const tp = restingExit(t, 5, 5_100_000);
    trade('sell', 20); // a plain reversal: short 10
    expect(engine.positions.qty('v', 'BTCUSDT')).toBe(-10);
    expect(cancelledIds(t)).toEqual([tp.id]);
    await engine.stop();
  });

  it('an exit awaiting a cancel answer counts toward flat and is not cancelled again', async () => {
    const t = await riskTestEngine();
    const { venue, engine, trade } = t;
    venue.autoCancel = false;
    trade('buy', 20);
    const first = restingExit(t, 6, 5_100_000);
    const second = restingExit(t, 6, 5_200_000);
    expect(engine.cancel(first.id)).toBe(true); // pending_cancel: it may still fill
    trade('sell', 10); // 10 long: the first's 6 may fill, so the second's 6 could go past flat
    expect(cancelledIds(t)).toEqual([first.id, second.id]);
    for (const x of [first, second]) venue.report(x.order, { kind: 'cancelled' }); // answered: stop() waits for nothing
    await engine.stop();
  });
});

/**
 * A router plugin that throws (route(), submitParent(), cancelParent()) is counted as the
 * router's error and answered, never thrown into the strategy; orders it sent before the throw
 * stay followed, and a broken cancelParent() does not keep the engine's own orders from being
 * cancelled (engine.ts, submitParent, cancel).
 */
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import type { OrderRouter, RouterHost, Strategy, StrategyContext } from '../contracts/trading.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import type { OrderIntent } from '../domain/orders.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot = (seq: number): BookSnapshotEvent => ({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] });
const intent = (qty = 10): OrderIntent => ({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 4_990_000, qty, tif: 'GTC', source: 'test' });

async function engineWith(router: OrderRouter) {
  const venue = new ScriptedVenue('v', [BTC]);
  const metrics = new MetricsRegistry({ processMetrics: false });
  let ctx!: StrategyContext;
  const strategy: Strategy = { name: 's', onSignal() {}, onMarketEvent(_e, c) { ctx = c; } };
  const engine = new Engine({ clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, router, strategy, venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
  await engine.start();
  venue.sink!.onMarketEvent(snapshot(1));
  return { engine, venue, metrics, ctx: () => ctx };
}

const routerErrors = async (metrics: MetricsRegistry) => /cwts_errors_total\{component="router"\} (\d+)/.exec(await metrics.text())?.[1];

describe('a router that throws', () => {
  it('route(): the strategy is answered with a refusal (RISK_CUSTOM, as a failed risk check), nothing is sent, the router error is counted', async () => {
    const { engine, venue, metrics, ctx } = await engineWith({ route() { throw new TypeError('router bug'); } });
    let res: unknown;
    expect(() => (res = ctx().submit(intent()))).not.toThrow();
    expect(res).toMatchObject({ accepted: false, reason: 'RISK_CUSTOM' });
    expect(venue.submitted).toHaveLength(0);
    expect(engine.orders.openCount()).toBe(0);
    expect(await routerErrors(metrics)).toBe('1');
    await engine.stop();
  });

  it('submitParent() before sending anything: a refusal', async () => {
    const router: OrderRouter = { route: (i) => [i as OrderIntent], submitParent() { throw new Error('parent bug'); } };
    const { engine, venue, metrics, ctx } = await engineWith(router);
    expect(ctx().submit(intent())).toMatchObject({ accepted: false, reason: 'RISK_CUSTOM' });
    expect(venue.submitted).toHaveLength(0);
    expect(await routerErrors(metrics)).toBe('1');
    await engine.stop();
  });

  it('submitParent() after sending children: accepted with the ids of those sent, which stay open and cancellable', async () => {
    const router: OrderRouter = {
      route: (i) => [i as OrderIntent],
      submitParent(i: OrderIntent, host: RouterHost) {
        host.submitChild({ ...i, qty: 4 });
        host.submitChild({ ...i, qty: 6 });
        throw new Error('parent bug after two children');
      },
    };
    const { engine, venue, metrics, ctx } = await engineWith(router);
    const res = ctx().submit(intent());
    const ids = venue.submitted.map((o) => o.clientOrderId);
    expect(ids).toHaveLength(2);
    expect(res).toMatchObject({ accepted: true, clientOrderId: ids[0], clientOrderIds: ids });
    expect(engine.orders.allOpen().map((o) => o.clientOrderId)).toEqual(ids);
    expect(await routerErrors(metrics)).toBe('1');
    // a later parent's answer names only its own children
    const again = ctx().submit(intent());
    expect(again).toMatchObject({ accepted: true, clientOrderIds: venue.submitted.slice(2).map((o) => o.clientOrderId) });
    await engine.stop();
  });

  it('cancelParent(): the strategy is not thrown at, and an order of the engine is cancelled by its own id all the same (HALT too)', async () => {
    const router: OrderRouter = { route: (i) => [i as OrderIntent], cancelParent() { throw new Error('cancel bug'); } };
    const { engine, venue, metrics, ctx } = await engineWith(router);
    venue.autoCancel = false;
    const a = ctx().submit(intent());
    const b = ctx().submit(intent());
    expect(a.accepted && b.accepted).toBe(true);
    let sent: unknown;
    expect(() => (sent = ctx().cancel(a.clientOrderId!))).not.toThrow();
    expect(sent).toBe(true);
    expect(venue.cancelled.map((o) => o.clientOrderId)).toEqual([a.clientOrderId]);
    expect(ctx().cancel('sor-404')).toBe(false);
    engine.halt('test');
    expect(new Set(venue.cancelled.map((o) => o.clientOrderId))).toEqual(new Set([a.clientOrderId, b.clientOrderId]));
    expect(Number(await routerErrors(metrics))).toBeGreaterThanOrEqual(3);
    for (const o of venue.submitted) venue.report(o, { kind: 'cancelled' });
    await engine.stop();
  });
});

/**
 * An EngineObserver (EngineOptions.observer, compose's `observer`: the report collectors, the live
 * page) taps the engine and must not change it (docs/reports.md): a tap that throws on a fill, an
 * order or a signal is counted as the observer's error and the engine goes on as if it had not.
 * An unguarded fill tap once ended the report's handling after booking it: the router and the
 * strategy never heard of the fill (a router re-routes quantity it thinks unfilled) and the throw
 * reached the venue adapter's receive loop; an unguarded order tap threw at the strategy for an
 * order already at the venue, which then never learnt its client id.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { OrderRouter, Strategy } from '../contracts/trading.js';
import type { ExecutionReport, OrderIntent } from '../domain/orders.js';
import type { Signal } from '../domain/signal.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine, type EngineObserver } from './engine.js';
import { BTC, snapshot } from './risk-test-engine.js';
import { ScriptedVenue } from './test-venue.js';

const broken = (): never => {
  throw new Error('tap broke');
};
const intent = (): OrderIntent => ({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_100, qty: 5, tif: 'GTC', source: 'test' });

async function rig(observer: EngineObserver) {
  const venue = new ScriptedVenue('v', [BTC]);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const seen = { strategy: [] as ExecutionReport[], router: [] as ExecutionReport[], signals: [] as Signal[] };
  const strategy: Strategy = { name: 's', onSignal: (s) => void seen.signals.push(s), onExecution: (r) => void seen.strategy.push(r) };
  const router: OrderRouter = { route: (i) => [i as OrderIntent], onExecution: (r) => void seen.router.push(r) };
  const engine = new Engine({
    clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, strategy, router, watchdog: false, observer,
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  await engine.start();
  venue.sink!.onMarketEvent(snapshot(5_000_000, 5_000_100, 10));
  const observerErrors = async () => Number(/cwts_errors_total\{component="observer"\} (\d+)/.exec(await metrics.text())?.[1] ?? 0);
  return { engine, venue, seen, observerErrors };
}

describe('an observer tap that throws', () => {
  it('fill(): the fill is booked, reaches the router and the strategy, and nothing is thrown at the venue adapter', async () => {
    const { engine, venue, seen, observerErrors } = await rig({ fill: broken });
    expect(engine.submit(intent()).accepted).toBe(true);
    const o = venue.submitted.at(-1)!;
    // what the adapter's receive loop calls
    expect(() => venue.report(o, { kind: 'fill', lastPrice: 5_000_100, lastQty: 2, cumQty: 2, leavesQty: 3, tradeId: 't1' })).not.toThrow();
    expect(() => venue.report(o, { kind: 'fill', lastPrice: 5_000_100, lastQty: 3, cumQty: 5, leavesQty: 0, tradeId: 't2' })).not.toThrow();
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(5);
    expect(seen.strategy.filter((r) => r.kind === 'fill').map((r) => r.lastQty)).toEqual([2, 3]);
    expect(seen.router.filter((r) => r.kind === 'fill').map((r) => r.lastQty)).toEqual([2, 3]);
    expect(engine.orders.get(o.clientOrderId)?.status).toBe('filled');
    expect(await observerErrors()).toBe(2);
    await engine.stop('test');
  });

  it('order(): an order handed to the venue is answered accepted with its client id, not thrown at the caller', async () => {
    const { engine, venue, observerErrors } = await rig({ order: broken });
    let out: ReturnType<Engine['submit']> | undefined;
    expect(() => (out = engine.submit(intent()))).not.toThrow();
    expect(venue.submitted).toHaveLength(1);
    expect(out).toEqual({ accepted: true, clientOrderId: venue.submitted[0]!.clientOrderId });
    expect(engine.orders.openCount()).toBe(1);
    expect(await observerErrors()).toBe(1);
    await engine.stop('test');
  });

  it('signal(): the signal still reaches the strategy', async () => {
    const { engine, seen, observerErrors } = await rig({ signal: broken });
    const signal: Signal = { id: 'd:v:BTCUSDT:1', detector: 'd', kind: 'k', exchange: 'v', symbol: 'BTCUSDT', ts: 1, direction: 1, strength: 1, evidence: {} };
    expect(() => engine.emit(signal)).not.toThrow();
    expect(seen.signals).toEqual([signal]);
    expect(engine.summary().signals).toBe(1);
    expect(await observerErrors()).toBe(1);
    await engine.stop('test');
  });
});

/**
 * `cwts_var` reads NaN while positions are held and there is no current VaR of all of them (an
 * exposed market with too few returns, the warm-up after a restart, a recompute that failed,
 * whose figure /status marks stale), and 0 only when nothing is exposed: it read 0 ("no risk")
 * whenever /status said "not computed yet", and the dashboard's VaR panel dropped to $0 exactly
 * when a large new position made the risk jump. The rule cwts_equity and cwts_drawdown_ratio follow.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { ComputeBackend } from '../contracts/compute.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument } from '../domain/instrument.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { jsBackendProvider } from '../compute/index.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { RiskManager, type VaRScheduleOptions } from './manager.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const ETH = defineInstrument({ exchange: 'v', symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 1_000_000, max_drawdown: 0.5, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };

async function gauge(metrics: MetricsRegistry, name: string): Promise<number[]> {
  return (await metrics.registry.getSingleMetric(name)!.get()).values.map((v) => v.value);
}

async function setup(varOpts: VaRScheduleOptions, backend?: Pick<ComputeBackend, 'monteCarloVaR'>) {
  const venue = new ScriptedVenue('v', [BTC, ETH]);
  const clock = new ManualClock(1_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 100_000_000, timers: false, logger: silentLogger(), ...(backend ? { backend } : {}), var: varOpts });
  const engine = new Engine({ clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, venues: [{ name: 'v', symbols: ['BTCUSDT', 'ETHUSDT'], marketData: venue, execution: venue }] });
  await engine.start();
  let seq = 10;
  const live = new Set<string>();
  const snap = (symbol: string, bid: number, ask: number) => {
    live.add(symbol);
    const ev: BookSnapshotEvent = { type: 'book_snapshot', exchange: 'v', symbol, ts: 1, recvTs: 1, seq: seq++, reason: 'initial', bids: [{ price: bid, qty: 10_000_000 }], asks: [{ price: ask, qty: 10_000_000 }] };
    venue.sink!.onMarketEvent(ev);
  };
  const trade = (symbol: string, side: 'buy' | 'sell', qty: number) => {
    const book = engine.books.get('v', symbol)!.book;
    const price = side === 'buy' ? book.bestAsk()! : book.bestBid()!;
    const r = engine.submit({ exchange: 'v', symbol, side, type: 'limit', price, qty, tif: 'GTC', source: 'test' });
    expect(r.accepted, r.message).toBe(true);
    const o = venue.submitted.at(-1)!;
    venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: qty, cumQty: qty, leavesQty: 0, tradeId: `t${o.clientOrderId}` });
  };
  let k = 0;
  const periods = (n: number) => {
    for (let j = 0; j < n; j++, k++) {
      clock.advance(1000);
      const up = ((k * 7919) % 13) - 6;
      if (live.has('BTCUSDT')) snap('BTCUSDT', 5_000_000 + up * 10_000, 5_000_100 + up * 10_000);
      if (live.has('ETHUSDT')) snap('ETHUSDT', 300_000 + up * 6_000, 300_010 + up * 6_000);
      risk.tick();
    }
  };
  return { engine, risk, metrics, snap, trade, periods };
}

describe('cwts_var', () => {
  it('reads 0 with nothing exposed, and NaN while a position is held with no VaR figure (warm-up, a market with too few returns)', async () => {
    const { engine, risk, metrics, snap, trade, periods } = await setup({ method: 'historical', sampleEveryMs: 1000, recomputeEveryMs: 1e12, budget: 1e9, minObservations: 30 });
    try {
      snap('BTCUSDT', 5_000_000, 5_000_100);
      expect(await gauge(metrics, 'cwts_var')).toEqual([0]);
      // the warm-up: a position, too few returns for any VaR yet
      trade('BTCUSDT', 'buy', 10); // ~500 USDT
      periods(5);
      expect(await risk.recomputeVar()).toBeUndefined();
      expect(await gauge(metrics, 'cwts_var')).toEqual([Number.NaN]);
      periods(30);
      const small = await risk.recomputeVar();
      expect(small!.var).toBeGreaterThan(0);
      expect(await gauge(metrics, 'cwts_var')).toEqual([small!.var]);
      // a ~600 000 USDT position in a market with too few returns: no VaR figure of the positions
      snap('ETHUSDT', 300_000, 300_010);
      periods(5);
      trade('ETHUSDT', 'buy', 200_000);
      // before the next recompute too: the last figure leaves the new position out
      expect(await gauge(metrics, 'cwts_var')).toEqual([Number.NaN]);
      expect(await risk.recomputeVar()).toBeUndefined();
      expect((risk.status().var as { note?: string }).note).toMatch(/^not computed yet/);
      expect(await gauge(metrics, 'cwts_var')).toEqual([Number.NaN]);
      // everything closed: nothing is exposed, the VaR is 0
      trade('ETHUSDT', 'sell', 200_000);
      trade('BTCUSDT', 'sell', 10);
      expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(0);
      expect(await gauge(metrics, 'cwts_var')).toEqual([0]);
    } finally {
      await engine.stop('test');
    }
  });

  it('reads NaN while the last recompute failed (the figure /status shows stale), and the fresh figure once one succeeds', async () => {
    const js = await jsBackendProvider.create({});
    let broken = false;
    const backend: Pick<ComputeBackend, 'monteCarloVaR'> = { monteCarloVaR: (a) => (broken ? Promise.reject(new Error('device lost')) : js.monteCarloVaR(a)) };
    const { engine, risk, metrics, snap, trade, periods } = await setup({ method: 'montecarlo', sampleEveryMs: 1000, recomputeEveryMs: 1e12, budget: 1e9, minObservations: 10, paths: 2000, seed: 3 }, backend);
    try {
      snap('BTCUSDT', 5_000_000, 5_000_100);
      trade('BTCUSDT', 'buy', 100);
      periods(20);
      const good = await risk.recomputeVar();
      expect(await gauge(metrics, 'cwts_var')).toEqual([good!.var]);
      trade('BTCUSDT', 'buy', 10_000);
      broken = true;
      await risk.recomputeVar();
      expect(risk.status().var).toMatchObject({ var: good!.var, stale: true, error: 'device lost' });
      expect(await gauge(metrics, 'cwts_var')).toEqual([Number.NaN]);
      broken = false;
      const fresh = await risk.recomputeVar();
      expect(fresh!.var).toBeGreaterThan(good!.var);
      expect(await gauge(metrics, 'cwts_var')).toEqual([fresh!.var]);
    } finally {
      await engine.stop('test');
    }
  });
});

/**
 * `cwts_var` reads NaN while positions are held and there is no current VaR of all of them (an
 * exposed market with too few returns, the warm-up after a restart, a recompute that failed,
 * whose figure /status marks stale), and 0 only when nothing is exposed: it read 0 ("no risk")
 * whenever /status said "not computed yet", and the dashboard's VaR panel dropped to $0 exactly
 * when a large new position made the risk jump. The rule cwts_equity and cwts_drawdown_ratio follow.
 */
import { describe, expect, it } from 'vitest';
import type { ComputeBackend } from '../contracts/compute.js';
import { jsBackendProvider } from '../compute/index.js';
import type { MetricsRegistry } from '../observability/metrics.js';
import { varRig } from '../engine/var-rig.fixture.js';

async function gauge(metrics: MetricsRegistry, name: string): Promise<number[]> {
  return (await metrics.registry.getSingleMetric(name)!.get()).values.map((v) => v.value);
}

describe('cwts_var', () => {
  it('reads 0 with nothing exposed, and NaN while a position is held with no VaR figure (warm-up, a market with too few returns)', async () => {
    const { engine, risk, metrics, snap, trade, periods } = await varRig({ method: 'historical', sampleEveryMs: 1000, recomputeEveryMs: 1e12, budget: 1e9, minObservations: 30 });
    try {
      snap('BTCUSDT', 5_000_000, 5_000_100);
      expect(await gauge(metrics, 'cwts_var')).toEqual([0]);
      // the warm-up: a position, too few returns for any VaR yet
      trade('BTCUSDT', 10); // ~500 USDT
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
      trade('ETHUSDT', 200_000);
      // before the next recompute too: the last figure leaves the new position out
      expect(await gauge(metrics, 'cwts_var')).toEqual([Number.NaN]);
      expect(await risk.recomputeVar()).toBeUndefined();
      expect((risk.status().var as { note?: string }).note).toMatch(/^not computed yet/);
      expect(await gauge(metrics, 'cwts_var')).toEqual([Number.NaN]);
      // everything closed: nothing is exposed, the VaR is 0
      trade('ETHUSDT', 200_000, 'sell');
      trade('BTCUSDT', 10, 'sell');
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
    const { engine, risk, metrics, snap, trade, periods } = await varRig({ method: 'montecarlo', sampleEveryMs: 1000, recomputeEveryMs: 1e12, budget: 1e9, minObservations: 10, paths: 2000, seed: 3 }, backend);
    try {
      snap('BTCUSDT', 5_000_000, 5_000_100);
      trade('BTCUSDT', 100);
      periods(20);
      const good = await risk.recomputeVar();
      expect(await gauge(metrics, 'cwts_var')).toEqual([good!.var]);
      trade('BTCUSDT', 10_000);
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

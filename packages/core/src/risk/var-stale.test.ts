/**
 * A VaR recompute that fails (the Monte Carlo backend throws: a lost GPU, a driver reset) leaves
 * the last VaR marked stale with the error in /status, and the state REDUCING until a recompute
 * succeeds: the last figure was computed for the positions of then. It once stayed in force as
 * if current: here the position grows 100x after the last good VaR, the real VaR is far over its
 * budget, and the state stayed ACTIVE with nothing in /status saying VaR was not being computed.
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
import { RiskManager } from './manager.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 1_000_000, max_drawdown: 0.5, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };

describe('a VaR recompute that fails', () => {
  it('is visible in /status, the stale VaR is marked so, and the state is REDUCING until a recompute succeeds', async () => {
    const js = await jsBackendProvider.create({});
    let broken = false;
    const backend: Pick<ComputeBackend, 'monteCarloVaR'> = {
      monteCarloVaR: (a) => (broken ? Promise.reject(new Error('device lost')) : js.monteCarloVaR(a)),
    };
    const venue = new ScriptedVenue('v', [BTC]);
    const clock = new ManualClock(1_000_000);
    const metrics = new MetricsRegistry({ processMetrics: false });
    const risk = new RiskManager({
      risk: RISK, metrics, initialEquity: 100_000, timers: false, backend,
      var: { method: 'montecarlo', budget: 5000, sampleEveryMs: 1000, minObservations: 10, recomputeEveryMs: 1e12, paths: 2000, seed: 3 },
    });
    const engine = new Engine({
      clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks,
      venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
    });
    await engine.start();
    let seq = 10;
    const book = (bid: number, ask: number) => {
      clock.advance(1000);
      const ev: BookSnapshotEvent = { type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: seq++, reason: 'initial', bids: [{ price: bid, qty: 1_000_000 }], asks: [{ price: ask, qty: 1_000_000 }] };
      venue.sink!.onMarketEvent(ev);
    };
    const trade = (qty: number) => {
      const r = engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_100, qty, tif: 'GTC', source: 'test' });
      expect(r.accepted, r.message).toBe(true);
      const o = venue.submitted.at(-1)!;
      venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: qty, cumQty: qty, leavesQty: 0, tradeId: `t${o.clientOrderId}` });
    };
    try {
      book(5_000_000, 5_000_100);
      trade(100); // 0.1 BTC, 5000 USDT
      for (let k = 0; k < 40; k++) {
        const up = ((k * 7919) % 13) - 6;
        book(5_000_000 + up * 10_000, 5_000_100 + up * 10_000);
      }
      const good = await risk.recomputeVar();
      expect(good!.var).toBeLessThan(5000);
      trade(10_000); // now 10.1 BTC, ~505 000 USDT: 101x the exposure
      broken = true;
      expect(engine.riskState.state).toBe('ACTIVE');
      await risk.recomputeVar();
      const st = risk.status().var as Record<string, unknown>;
      expect(st).toMatchObject({ var: good!.var, stale: true, error: 'device lost' });
      expect(engine.riskState.state).toBe('REDUCING');
      expect(engine.riskState.reason).toMatch(/VaR cannot be computed .*device lost.*is stale/);
      // only orders that reduce exposure go out meanwhile
      expect(engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_100, qty: 1, tif: 'GTC', source: 'test' }).accepted).toBe(false);
      // the backend is back: the VaR of the grown position is computed, and it is over budget
      broken = false;
      const fresh = await risk.recomputeVar();
      expect(fresh!.var).toBeGreaterThan(5000);
      expect(risk.status().var).toMatchObject({ stale: false, error: null });
      expect(risk.status().triggers).toEqual([{ state: 'REDUCING', reason: expect.stringMatching(/^VaR [\d.]+ above its budget 5000$/) }]);
      expect(engine.riskState.state).toBe('REDUCING');
    } finally {
      await engine.stop('test');
      await js.dispose();
    }
  });
});

/**
 * A VaR recompute that fails (the Monte Carlo backend throws: a lost GPU, a driver reset) leaves
 * the last VaR marked stale with the error in /status, and the state REDUCING until a recompute
 * succeeds: the last figure was computed for the positions of then. It once stayed in force as
 * if current: here the position grows 100x after the last good VaR, the real VaR is far over its
 * budget, and the state stayed ACTIVE with nothing in /status saying VaR was not being computed.
 * A recompute that never answers (a promise of a lost device that never settles) counts as
 * failed once overdue; it once froze VaR for good. A VaR the sampled returns cannot give yet (an
 * H-period VaR from fewer than H returns) is no failure: it once held REDUCING for ever.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { ComputeBackend, MonteCarloVaRArgs, MonteCarloVaRResult } from '../contracts/compute.js';
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

/** An engine with one BTCUSDT venue and a RiskManager with `v` as its VaR schedule, on a manual clock. */
async function rig(v: VaRScheduleOptions, backend?: Pick<ComputeBackend, 'monteCarloVaR'>, realTimeMs?: () => number) {
  const venue = new ScriptedVenue('v', [BTC]);
  const clock = new ManualClock(1_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 100_000, timers: false, logger: silentLogger(), ...(backend ? { backend } : {}), ...(realTimeMs ? { realTimeMs } : {}), var: v });
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks,
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  await engine.start();
  let seq = 10;
  /** One second later, a new book: the risk layer ticks (samples a return, recomputes on schedule). */
  const book = (bid: number, ask: number) => {
    clock.advance(1000);
    const ev: BookSnapshotEvent = { type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: seq++, reason: 'initial', bids: [{ price: bid, qty: 1_000_000 }], asks: [{ price: ask, qty: 1_000_000 }] };
    venue.sink!.onMarketEvent(ev);
  };
  /** Marks moving up and down around 50000 (a return per book). */
  const wander = (n: number) => {
    for (let k = 0; k < n; k++) {
      const up = ((k * 7919) % 13) - 6;
      book(5_000_000 + up * 10_000, 5_000_100 + up * 10_000);
    }
  };
  const trade = (qty: number) => {
    const r = engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_100, qty, tif: 'GTC', source: 'test' });
    expect(r.accepted, r.message).toBe(true);
    const o = venue.submitted.at(-1)!;
    venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: qty, cumQty: qty, leavesQty: 0, tradeId: `t${o.clientOrderId}` });
  };
  const varStatus = () => risk.status().var as Record<string, unknown>;
  return { engine, risk, clock, book, wander, trade, varStatus };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('a VaR recompute that never answers (a hung device)', () => {
  it('is taken as failed once overdue (stale, REDUCING), no second one piles onto the device, and a late answer clears it', async () => {
    const js = await jsBackendProvider.create({});
    let hang = false;
    const hung: { args: MonteCarloVaRArgs; answer: (r: MonteCarloVaRResult) => void }[] = [];
    let calls = 0;
    const backend: Pick<ComputeBackend, 'monteCarloVaR'> = {
      monteCarloVaR: (args) => {
        calls++;
        if (!hang) return js.monteCarloVaR(args);
        // a lost GPU: the promise settles only when the test says so
        return new Promise((answer) => hung.push({ args, answer }));
      },
    };
    // recomputed every 5 s: overdue after 3 periods, 15 s (VAR_OVERDUE_PERIODS; VAR_OVERDUE_MIN_MS is 10 s)
    const t = await rig({ method: 'montecarlo', budget: 5000, sampleEveryMs: 1000, minObservations: 10, recomputeEveryMs: 5000, paths: 2000, seed: 3 }, backend);
    try {
      t.book(5_000_000, 5_000_100);
      t.trade(100); // 0.1 BTC, 5000 USDT
      t.wander(40);
      await turn();
      expect((await t.risk.recomputeVar())!.var).toBeLessThan(5000);
      expect(t.varStatus()).toMatchObject({ stale: false });
      t.trade(10_000); // 101x the exposure
      hang = true;
      calls = 0;
      // the first recompute after this hangs; 10 s on it is not yet overdue
      let k = 0;
      while (hung.length === 0 && k++ < 10) t.book(5_000_000, 5_000_100);
      expect(hung).toHaveLength(1);
      for (let s = 0; s < 10; s++) t.book(5_000_000, 5_000_100);
      await turn();
      expect({ stale: t.varStatus().stale, state: t.engine.riskState.state }).toEqual({ stale: false, state: 'ACTIVE' });
      // ten minutes on: long overdue, and still the only one asked of the device
      for (let s = 0; s < 600; s++) t.book(5_000_000, 5_000_100);
      await turn();
      expect(calls).toBe(1);
      expect(t.varStatus()).toMatchObject({ stale: true, error: expect.stringMatching(/has not answered in \d+ ms \(limit 15000 ms\)/) });
      expect(t.engine.riskState.state).toBe('REDUCING');
      expect(t.engine.riskState.reason).toMatch(/^VaR cannot be computed since \d+: the recompute started at \d+ has not answered/);
      // the device answers after all: the failure clears, and the positions of now are recomputed at once
      hang = false;
      const startedAt = t.varStatus().failedAt as number;
      hung[0]!.answer(await js.monteCarloVaR(hung[0]!.args));
      await turn();
      expect(t.varStatus()).toMatchObject({ stale: false, error: null });
      // no longer held back for want of a VaR (only, perhaps, for what it says: 10.1 BTC against a 5000 budget)
      expect(t.risk.status().triggers).not.toContainEqual(expect.objectContaining({ reason: expect.stringMatching(/VaR cannot be computed/) }));
      const late = t.varStatus().at as number;
      expect(late).toBeLessThan(startedAt); // the figures are those of when it started
      t.book(5_000_000, 5_000_100);
      await turn();
      await turn();
      expect(calls).toBe(2);
      expect(t.varStatus()).toMatchObject({ stale: false, at: t.clock.now(), exposures: { 'v:BTCUSDT': expect.any(Number) } });
      expect((t.varStatus().exposures as Record<string, number>)['v:BTCUSDT']).toBeGreaterThan(500_000); // 10.1 BTC
    } finally {
      await t.engine.stop('test');
      await js.dispose();
    }
  });

  it("replay's fast virtual clock alone does not make a recompute overdue: real time must pass the limit too", async () => {
    let real = 0;
    const backend: Pick<ComputeBackend, 'monteCarloVaR'> = { monteCarloVaR: () => new Promise(() => {}) };
    const t = await rig({ method: 'montecarlo', budget: 5000, sampleEveryMs: 1000, minObservations: 10, recomputeEveryMs: 5000, paths: 100 }, backend, () => real);
    try {
      t.book(5_000_000, 5_000_100);
      t.trade(100);
      t.wander(600); // ten minutes of replayed time, no real time: a slow backend, not a hung one
      await turn();
      expect({ error: t.varStatus().error, state: t.engine.riskState.state }).toEqual({ error: null, state: 'ACTIVE' });
      real += 15_000;
      t.book(5_000_000, 5_000_100);
      expect(t.engine.riskState.state).toBe('REDUCING');
      expect(t.varStatus().error).toMatch(/has not answered/);
    } finally {
      await t.engine.stop('test');
    }
  });
});

describe('a VaR that cannot be computed for want of returns is no failure', () => {
  it('a horizon longer than minObservations: no VaR until the horizon has its returns, and ACTIVE meanwhile (it was REDUCING)', async () => {
    const t = await rig({ method: 'historical', horizon: 50, budget: 5000, sampleEveryMs: 1000, minObservations: 30, recomputeEveryMs: 1e12 });
    try {
      t.book(5_000_000, 5_000_100);
      t.trade(100);
      t.wander(40); // 40 returns: past minObservations, short of the horizon
      expect(await t.risk.recomputeVar()).toBeUndefined();
      expect(t.engine.riskState.state).toBe('ACTIVE');
      expect(t.varStatus()).toMatchObject({ error: null, note: 'not computed yet (needs positions and 50 sampled returns): too few for v:BTCUSDT (40 of 50 returns)' });
      t.wander(20);
      const r = await t.risk.recomputeVar();
      expect(r).toMatchObject({ method: 'historical', horizon: 50 });
      expect(t.varStatus()).toMatchObject({ stale: false, error: null, horizon: 50 });
      expect(t.engine.riskState.state).toBe('ACTIVE');
    } finally {
      await t.engine.stop('test');
    }
  });

  it('inputs that give no VaR (VaRInputError: 0 Monte Carlo paths here) show why in /status and hold nothing back', async () => {
    const js = await jsBackendProvider.create({});
    const t = await rig({ method: 'montecarlo', budget: 5000, sampleEveryMs: 1000, minObservations: 10, recomputeEveryMs: 1e12, paths: 0 }, js);
    try {
      t.book(5_000_000, 5_000_100);
      t.trade(100);
      t.wander(20);
      expect(await t.risk.recomputeVar()).toBeUndefined();
      expect(t.engine.riskState.state).toBe('ACTIVE');
      expect(t.varStatus()).toMatchObject({ error: null, note: expect.stringMatching(/^cannot be computed from the sampled returns: paths must be a whole number >= 1/) });
    } finally {
      await t.engine.stop('test');
      await js.dispose();
    }
  });

  it('a horizon longer than the return window is refused when the risk layer is built (the config refuses it too)', () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    expect(() => new RiskManager({ risk: RISK, metrics, timers: false, var: { horizon: 600 } })).toThrow(/VaR horizon of 600 periods is longer than the return window of 500/);
    expect(() => new RiskManager({ risk: RISK, metrics, timers: false, var: { horizon: 500 } })).not.toThrow();
  });
});

import { describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '../contracts/clock.js';
import type { ComputeBackend, MonteCarloVaRArgs, MonteCarloVaRResult } from '../contracts/compute.js';
import { jsBackendProvider } from '../compute/index.js';
import type { RiskContext } from '../contracts/trading.js';
import type { OrderIntent } from '../domain/orders.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { BTC, RISK, riskTestEngine, snapshot } from '../engine/risk-test-engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { buildCheckChain, OrderRateCheck } from './checks.js';
import { RiskManager } from './manager.js';

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

const intent = (side: 'buy' | 'sell' = 'buy'): OrderIntent => ({ exchange: 'v', symbol: 'BTCUSDT', side, type: 'limit', price: 5_000_000, qty: 1, tif: 'GTC', source: 't' });
const at = (now: number) => ({ now }) as unknown as RiskContext;

describe('order_rate across a wall-clock step back (NTP makestep, a resumed VM)', () => {
  it('with the engine clock, an exit 10 s of real time after a 60 s step back is not refused RISK_RATE_LIMIT', async () => {
    const venue = new ScriptedVenue('v', [BTC]);
    const clock = new HostClock();
    const metrics = new MetricsRegistry({ processMetrics: false });
    const risk = new RiskManager({ risk: { ...RISK, orders_per_second: 2 }, metrics, initialEquity: 1000, timers: false });
    // the chain as RiskManager builds it, handed the engine's clock (CheckChainOptions.clock)
    const checks = buildCheckChain({ ...RISK, orders_per_second: 2 }, risk, { clock });
    const engine = new Engine({
      clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: checks,
      venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
    });
    await engine.start();
    let seq = 10;
    const book = () => venue.sink!.onMarketEvent(snapshot(5_000_000, 5_000_100, seq++));
    const submit = (side: 'buy' | 'sell', qty: number, price: number) => engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side, type: 'limit', price, qty, tif: 'GTC', source: 't' });
    try {
      book();
      expect(submit('buy', 10, 5_000_100).accepted).toBe(true);
      const o = venue.submitted.at(-1)!;
      venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: 10, cumQty: 10, leavesQty: 0, tradeId: 't1' });
      clock.elapse(1000);
      book();
      // the burst (2) spent, as it may be in any busy second
      expect(submit('buy', 1, 4_990_000).accepted).toBe(true);
      expect(submit('buy', 1, 4_990_000).accepted).toBe(true);
      clock.stepWall(-60_000);
      clock.elapse(10_000);
      book();
      // was RISK_RATE_LIMIT for the next 50 s: no token back until the wall clock caught up
      const r = submit('sell', 5, 5_000_000);
      expect(r, r.message).toMatchObject({ accepted: true });
    } finally {
      await engine.stop('test');
    }
  });

  it('with a monotonic clock, refills follow real time whatever the wall clock does', () => {
    const clock = new HostClock();
    const c = new OrderRateCheck(2, undefined, clock); // 2/s, burst 2
    const wall = () => at(clock.now());
    expect(c.check(intent(), wall()).ok).toBe(true);
    expect(c.check(intent(), wall()).ok).toBe(true);
    expect(c.check(intent(), wall())).toMatchObject({ ok: false, reason: 'RISK_RATE_LIMIT' });
    clock.stepWall(-60_000);
    clock.elapse(499);
    expect(c.check(intent(), wall())).toMatchObject({ ok: false, reason: 'RISK_RATE_LIMIT' });
    clock.elapse(1); // 500 ms of real time: one token, exactly
    expect(c.check(intent('sell'), wall()).ok).toBe(true);
    // a step forward hands out no tokens either
    clock.stepWall(3_600_000);
    expect(c.check(intent(), wall())).toMatchObject({ ok: false, reason: 'RISK_RATE_LIMIT' });
  });

  it('on a ManualClock (replay) monoNs() gives the same exact decisions as its ms', () => {
    // 1_700_000_000_123 ms is no multiple of 4: its ns are not exact in a double, and must still round to the ms
    const clock = new ManualClock(1_700_000_000_123);
    const c = new OrderRateCheck(2, undefined, clock);
    const now = () => at(clock.now());
    expect(c.check(intent(), now()).ok).toBe(true);
    expect(c.check(intent(), now()).ok).toBe(true);
    clock.advance(499);
    expect(c.check(intent(), now())).toMatchObject({ ok: false, reason: 'RISK_RATE_LIMIT' });
    clock.advance(1);
    expect(c.check(intent(), now()).ok).toBe(true);
    expect(c.check(intent(), now())).toMatchObject({ ok: false, reason: 'RISK_RATE_LIMIT' });
  });

  it('on wall time alone, a step back re-anchors the bucket: refills go on from it, not from where the clock was', () => {
    const c = new OrderRateCheck(2);
    const t0 = 1_700_000_000_000;
    expect(c.check(intent(), at(t0)).ok).toBe(true);
    expect(c.check(intent(), at(t0)).ok).toBe(true);
    const back = t0 - 60_000;
    // how long passed across the step is unknown: none is counted
    expect(c.check(intent(), at(back))).toMatchObject({ ok: false, reason: 'RISK_RATE_LIMIT' });
    // half a second after the step was seen: a token (was refused until the wall clock was back at t0)
    expect(c.check(intent('sell'), at(back + 500)).ok).toBe(true);
    expect(c.check(intent(), at(back + 500))).toMatchObject({ ok: false, reason: 'RISK_RATE_LIMIT' });
    expect(c.check(intent(), at(back + 1000)).ok).toBe(true);
  });
});

describe('the risk manager after the wall clock steps back', () => {
  it('market events still evaluate the state: a drawdown right after a 60 s step back is caught at once', async () => {
    const { trade, clock, venue, engine, risk } = await riskTestEngine();
    trade('buy', 100, 5_000_100); // long 100 lots
    clock.advance(-60_000); // ManualClock.set never goes back; advance does
    venue.sink!.onMarketEvent(snapshot(4_910_000, 4_910_100, 99)); // 9 % drawdown
    expect(engine.riskState.state, `${engine.riskState.reason} ${JSON.stringify(risk.status())}`).toBe('REDUCING');
  });
});

describe('the risk manager timers across a wall-clock step back', () => {
  /** One BTCUSDT book; the RiskManager handed the engine's clock (as `run` builds it) or not. */
  async function rig(withClock: boolean, hang: { on: boolean }) {
    const js = await jsBackendProvider.create({});
    const backend: Pick<ComputeBackend, 'monteCarloVaR'> = {
      monteCarloVaR: (args: MonteCarloVaRArgs) => (hang.on ? new Promise<MonteCarloVaRResult>(() => {}) : js.monteCarloVaR(args)),
    };
    const venue = new ScriptedVenue('v', [BTC]);
    const clock = new HostClock();
    const metrics = new MetricsRegistry({ processMetrics: false });
    const risk = new RiskManager({
      risk: { ...RISK, max_drawdown: 0.5 }, metrics, initialEquity: 100_000, timers: false, logger: silentLogger(), backend, ...(withClock ? { clock } : {}),
      var: { method: 'montecarlo', budget: 1e12, sampleEveryMs: 1000, minObservations: 10, recomputeEveryMs: 5000, paths: 2000, seed: 3 },
    });
    const engine = new Engine({ clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
    await engine.start();
    let seq = 10;
    let k = 0;
    /** One second of real time, then a book (which ticks the risk manager). */
    const second = () => {
      clock.elapse(1000);
      const up = ((k++ * 7919) % 13) - 6;
      venue.sink!.onMarketEvent(snapshot(5_000_000 + up * 10_000, 5_000_100 + up * 10_000, seq++));
    };
    const close = async () => {
      await engine.stop('test');
      await js.dispose();
    };
    return { venue, clock, risk, engine, second, close };
  }

  const lose = (r: Awaited<ReturnType<typeof rig>>) =>
    r.venue.sink!.onFeedStatus({ type: 'feed_status', exchange: 'v', symbol: '', state: 'disconnected', reason: 'socket closed', ts: r.clock.now() });
  const tickAfter = (r: Awaited<ReturnType<typeof rig>>, ms: number) => {
    r.clock.elapse(ms);
    r.risk.tick();
  };

  it('feed loss, with the engine clock: the 5 s grace is real time, a 1 h step back inside it changes nothing', async () => {
    const r = await rig(true, { on: false });
    try {
      r.second();
      lose(r);
      tickAfter(r, 1000);
      expect(r.engine.riskState.state).toBe('ACTIVE'); // within the grace
      r.clock.stepWall(-3_600_000);
      tickAfter(r, 3000);
      expect(r.engine.riskState.state).toBe('ACTIVE');
      tickAfter(r, 1000);
      // was ACTIVE for the hour: the time out of sync was counted on the wall clock
      expect(r.engine.riskState.state, r.engine.riskState.reason).toBe('REDUCING');
      expect(r.engine.riskState.reason).toMatch(/^feed loss: v:BTCUSDT disconnected for 5000 ms/);
    } finally {
      await r.close();
    }
  });

  it('feed loss, on wall time alone: a step back counts no time across it, and the grace runs on from it', async () => {
    const r = await rig(false, { on: false });
    try {
      r.second();
      lose(r);
      tickAfter(r, 1000);
      r.clock.stepWall(-3_600_000);
      tickAfter(r, 0);
      tickAfter(r, 4999);
      expect(r.engine.riskState.state).toBe('ACTIVE');
      tickAfter(r, 1);
      expect(r.engine.riskState.state, r.engine.riskState.reason).toBe('REDUCING');
      expect(r.engine.riskState.reason).toMatch(/^feed loss/);
    } finally {
      await r.close();
    }
  });

  /** A position, a VaR, then a recompute that never answers (a lost device), `before` s before a 1 h step back. */
  async function hungAcrossStep(withClock: boolean, before: number) {
    const hang = { on: false };
    const r = await rig(withClock, hang);
    r.second();
    const b = r.engine.books.get('v', 'BTCUSDT')!.book;
    expect(r.engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: b.bestAsk()!, qty: 100, tif: 'GTC', source: 't' }).accepted).toBe(true);
    const o = r.venue.submitted.at(-1)!;
    r.venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: 100, cumQty: 100, leavesQty: 0, tradeId: 't1' });
    for (let i = 0; i < 20; i++) r.second();
    await turn();
    expect(await r.risk.recomputeVar()).toBeDefined();
    hang.on = true;
    void r.risk.recomputeVar(); // in flight from here on; the scheduled ones wait for it
    for (let i = 0; i < before; i++) r.second();
    await turn();
    expect(r.risk.status().var).toMatchObject({ stale: false });
    r.clock.stepWall(-3_600_000);
    return r;
  }
  const turn = () => new Promise<void>((res) => setImmediate(res));

  it('a hung VaR recompute, with the engine clock: overdue 15 s after it started in real time, a 1 h step back in between', async () => {
    const r = await hungAcrossStep(true, 6);
    try {
      for (let i = 0; i < 8; i++) r.second();
      expect(r.risk.status().var).toMatchObject({ stale: false }); // 14 s
      r.second();
      // was fresh (stale: false, ACTIVE) until the wall clock had made up the hour
      expect(r.risk.status().var).toMatchObject({ stale: true, error: expect.stringMatching(/has not answered in 15000 ms \(limit 15000 ms\)/) });
      expect(r.engine.riskState.state).toBe('REDUCING');
    } finally {
      await r.close();
    }
  });

  it('a hung VaR recompute, on wall time alone: overdue 15 s after the step back (no time counted across it), not an hour later', async () => {
    const r = await hungAcrossStep(false, 6);
    try {
      for (let i = 0; i < 15; i++) r.second();
      expect(r.risk.status().var).toMatchObject({ stale: false }); // 14 s since the step was seen
      r.second();
      expect(r.risk.status().var).toMatchObject({ stale: true });
      expect(r.engine.riskState.state).toBe('REDUCING');
    } finally {
      await r.close();
    }
  });
});

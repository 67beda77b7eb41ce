import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { defineInstrument } from '../domain/instrument.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import type { OrderIntent } from '../domain/orders.js';
import { jsBackendProvider } from '../compute/index.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { engineStatus } from '../engine/status.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { RISK, riskTestEngine } from '../engine/risk-test-engine.js';
import { RiskControlServer, controlRequest } from './control.js';
import { RiskManager } from './manager.js';

describe('risk states on the engine', () => {
  it('a drawdown breach halts, cancels open orders at the venue, refuses new ones; only a manual resume leaves', async () => {
    const { venue, metrics, risk, engine, book, submit, trade } = await riskTestEngine();
    trade('buy', 100, 5_000_100); // 0.1 BTC at 50001
    const resting = submit({ side: 'buy', qty: 5, price: 4_990_000 });
    expect(resting.accepted).toBe(true);
    venue.report(venue.submitted.at(-1)!, { kind: 'ack', leavesQty: 5 });
    // Mid 49000.50: loss 0.1 x 1000.5 = 100.05 on 1000 of capital: 10.005% >= 10%.
    book(4_900_000, 4_900_100);
    expect(engine.riskState.state).toBe('HALTED');
    expect(engine.riskState.reason).toMatch(/^drawdown 10\.0\d% reached risk\.max_drawdown 10\.00%/);
    expect(venue.cancelled.map((o) => o.clientOrderId)).toEqual([resting.clientOrderId]);
    await new Promise((r) => setTimeout(r, 20));
    expect(engine.orders.openCount()).toBe(0);
    expect(submit({ side: 'sell', qty: 1 })).toMatchObject({ accepted: false, reason: 'KILL_SWITCH' });
    const text = await metrics.text();
    expect(text).toMatch(/cwts_risk_state 2/);
    expect(text).toMatch(/cwts_drawdown_ratio 0\.10005/);
    expect(Number(/^cwts_equity (\S+)$/m.exec(text)![1])).toBeCloseTo(899.95, 9);
    expect(text).toMatch(/cwts_risk_rejections_total\{reason="KILL_SWITCH"\} 1/);
    // Recovery alone does not leave HALTED.
    book(5_000_000, 5_000_100);
    expect(engine.riskState.state).toBe('HALTED');
    expect(risk.resume('checked')).toBe('ACTIVE');
    expect(submit({ side: 'sell', qty: 100 }).accepted).toBe(true);
  });

  it('just under max_drawdown: REDUCING (soft threshold), not HALTED; recovers to ACTIVE by itself', async () => {
    const { engine, book, trade } = await riskTestEngine();
    trade('buy', 100, 5_000_100);
    // Mid 49100.50: loss 0.1 x 900.5 = 90.05: 9.005% (>= 8% soft, < 10%).
    book(4_910_000, 4_910_100);
    expect(engine.riskState.state).toBe('REDUCING');
    book(5_000_000, 5_000_100);
    expect(engine.riskState.state).toBe('ACTIVE');
  });

  it('REDUCING lets through only orders that reduce exposure', async () => {
    const { risk, engine, submit, trade } = await riskTestEngine();
    trade('buy', 10);
    risk.reduce('test');
    expect(engine.riskState.state).toBe('REDUCING');
    expect(submit({ side: 'buy', qty: 1 })).toMatchObject({ accepted: false, reason: 'RISK_STATE' });
    expect(submit({ side: 'sell', qty: 11 })).toMatchObject({ accepted: false, reason: 'RISK_STATE' });
    expect(submit({ side: 'sell', qty: 4 })).toMatchObject({ accepted: true });
    // 4 resting + 7 = 11 > 10: would flip short if all filled.
    expect(submit({ side: 'sell', qty: 7 })).toMatchObject({ accepted: false, reason: 'RISK_STATE' });
    expect(submit({ side: 'sell', qty: 6 })).toMatchObject({ accepted: true });
    // A manual REDUCING does not clear by itself.
    risk.evaluate();
    expect(engine.riskState.state).toBe('REDUCING');
    risk.resume();
    expect(engine.riskState.state).toBe('ACTIVE');
  });

  it('manual halt cancels open orders; resume restarts the equity peak', async () => {
    const { venue, risk, engine, submit, book, trade } = await riskTestEngine();
    trade('buy', 100, 5_000_100);
    book(4_950_000, 4_950_100); // -5%
    const o = submit({ side: 'buy', qty: 1, price: 4_900_000 });
    risk.halt('operator');
    expect(engine.riskState).toMatchObject({ state: 'HALTED', reason: 'manual: operator' });
    expect(venue.cancelled.map((c) => c.clientOrderId)).toEqual([o.clientOrderId]);
    risk.resume();
    expect(risk.equity.peak).toBe(risk.equity.equity);
    book(4_900_000, 4_900_100); // a further -5% of the new peak: no halt, but REDUCING (>= 8%? no: 5.26%)
    expect(engine.riskState.state).toBe('ACTIVE');
  });

  it('feed loss: a synced book lost for longer than the grace period moves to REDUCING until it is back', async () => {
    const { clock, engine, venue, book } = await riskTestEngine({ feedLossGraceMs: 3000 });
    venue.sink!.onFeedStatus({ type: 'feed_status', exchange: 'v', symbol: '', state: 'disconnected', reason: 'socket closed', ts: 0 });
    expect(engine.riskState.state).toBe('ACTIVE');
    clock.advance(2999);
    engine.risk!.onFeedStatus({ type: 'feed_status', exchange: 'v', symbol: '', state: 'disconnected', reason: 'x', ts: 0 });
    expect(engine.riskState.state).toBe('ACTIVE');
    clock.advance(1);
    (engine.risk as RiskManager).tick();
    expect(engine.riskState.state).toBe('REDUCING');
    expect(engine.riskState.reason).toMatch(/^feed loss: v:BTCUSDT disconnected for 3000 ms/);
    book(5_000_000, 5_000_100);
    expect(engine.riskState.state).toBe('ACTIVE');
  });

  it('feed loss can be configured to halt', async () => {
    const { clock, engine, venue } = await riskTestEngine({ feedLossGraceMs: 0, feedLossAction: 'HALTED' });
    clock.advance(1);
    venue.sink!.onFeedStatus({ type: 'feed_status', exchange: 'v', symbol: '', state: 'disconnected', reason: 'socket closed', ts: 0 });
    expect(engine.riskState.state).toBe('HALTED');
  });

  it('VaR above its budget moves to REDUCING; cwts_var exports it', async () => {
    const { engine, metrics, risk, book, trade } = await riskTestEngine({ var: { budget: 10, sampleEveryMs: 1000, minObservations: 20, recomputeEveryMs: 1e12 } });
    trade('buy', 100, 5_000_100);
    // Alternate the mid +-1% for 40 samples: |return| ~ 1% of a 5000 exposure = 50 > 10.
    for (let k = 0; k < 40; k++) {
      // Each book event runs the clock-driven tick, which samples the mark every second.
      if (k % 2 === 0) book(5_050_000, 5_050_100);
      else book(5_000_000, 5_000_100);
    }
    // The drawdown stays at 50 / 1049.95 = 4.8%, below the 8% reducing threshold.
    expect(engine.riskState.state).toBe('ACTIVE');
    const r = await risk.recomputeVar();
    expect(r!.method).toBe('historical');
    expect(r!.var).toBeGreaterThan(10);
    expect(engine.riskState.state).toBe('REDUCING');
    expect(engine.riskState.reason).toMatch(/^VaR .* above its budget 10/);
    expect(Number(/^cwts_var (\S+)$/m.exec(await metrics.text())![1])).toBeCloseTo(r!.var, 9);
  });

  it('Monte Carlo VaR on the schedule goes through the compute backend, reproducibly', async () => {
    const backend = await jsBackendProvider.create({});
    const run = async () => {
      const { risk, book, trade } = await riskTestEngine({ backend, var: { method: 'montecarlo', sampleEveryMs: 1000, minObservations: 10, recomputeEveryMs: 1e12, paths: 5000, seed: 7 } });
      trade('buy', 100, 5_000_100);
      for (let k = 0; k < 30; k++) {
        const up = ((k * 7919) % 13) - 6; // a deterministic wiggle
        book(5_000_000 + up * 1000, 5_000_100 + up * 1000);
      }
      return risk.recomputeVar();
    };
    const a = await run();
    const b = await run();
    expect(a!.method).toBe('montecarlo');
    expect(a!.var).toBeGreaterThan(0);
    expect(a).toEqual(b);
    await backend.dispose();
  });

  it('books cash per venue and asset, equity from starting capital, and reports it in /status', async () => {
    const { engine, venue, submit, trade } = await riskTestEngine({ initialBalances: [{ exchange: 'v', asset: 'USDT', amount: '1000' }] });
    trade('buy', 10, 5_000_100); // 0.01 BTC for 500.01
    const r = submit({ side: 'sell', qty: 4 });
    const o = venue.submitted.at(-1)!;
    venue.report(o, { kind: 'fill', lastPrice: 5_000_000, lastQty: 4, cumQty: 4, leavesQty: 0, feeAtoms: 20_000n, tradeId: 'z' }); // fee 0.2 USDT (atoms of 1e-5)
    expect(r.accepted).toBe(true);
    const st = engineStatus(engine).risk as Record<string, unknown>;
    expect(st.cash).toEqual([{ exchange: 'v', asset: 'USDT', amount: '699.79' }, { exchange: 'v', asset: 'BTC', amount: '0.006' }]);
    expect(st.state).toBe('ACTIVE');
    // Realized 0.004 x (50000 - 50001) = -0.004, fee 0.2, unrealized 0.006 x (50000.5 - 50001) = -0.003.
    expect(st.equity).toBe('999.793');
    expect(st.startingCapital).toBe('1000');
  });
});

describe('valuation that cannot fail open', () => {
  // A low-priced token: tick 1e-12 USDT, lot 1e-8: a tick x lot of 1e-20, finer than the 1e-18 common unit.
  const TOK = defineInstrument({ exchange: 'v', symbol: 'TOKUSDT', base: 'TOK', quote: 'USDT', tickSize: '0.000000000001', lotSize: '0.00000001' });
  const tokBook = (bid: number, ask: number, seq: number): BookSnapshotEvent => ({ type: 'book_snapshot', exchange: 'v', symbol: 'TOKUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: bid, qty: 1e12 }], asks: [{ price: ask, qty: 1e12 }] });

  it('an instrument finer than 1e-18 quote units is valued (rounded to 1e-18), and a drawdown on it halts', async () => {
    const venue = new ScriptedVenue('v', [TOK]);
    const clock = new ManualClock(1_000_000);
    const metrics = new MetricsRegistry({ processMetrics: false });
    const risk = new RiskManager({ risk: { ...RISK, max_position: 1_000_000 }, metrics, initialEquity: 1000, timers: false });
    const engine = new Engine({ clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, venues: [{ name: 'v', symbols: ['TOKUSDT'], marketData: venue, execution: venue }] });
    await engine.start();
    venue.sink!.onMarketEvent(tokBook(9_999_000, 10_000_000, 1)); // 0.00001 USDT
    // 500 USDT of TOK: 5e7 TOK = 5e15 lots
    const r = engine.submit({ exchange: 'v', symbol: 'TOKUSDT', side: 'buy', type: 'limit', price: 10_000_000, qty: 5e15, tif: 'IOC', source: 't' });
    expect(r.accepted, r.message).toBe(true);
    const o = venue.submitted.at(-1)!;
    venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: o.qty, cumQty: o.qty, leavesQty: 0, tradeId: 't1' });
    expect(engine.riskState.state).toBe('ACTIVE');
    expect(risk.equitySnapshot().equity).toBeGreaterThan(0n);
    // the price halves: -250 USDT on 1000 = 25 % > max_drawdown 10 %
    clock.advance(1000);
    venue.sink!.onMarketEvent(tokBook(4_999_000, 5_000_000, 2));
    risk.evaluate();
    expect(engine.riskState.state).toBe('HALTED');
    expect(engine.riskState.reason).toMatch(/^drawdown 2\d\.\d\d% reached risk.max_drawdown 10.00%/);
    await engine.stop();
  });

  it('an evaluation that throws halts (nothing can be valued, so no limit is known to hold), and a manual halt still halts', async () => {
    for (const how of ['evaluate', 'halt'] as const) {
      const { engine, risk } = await riskTestEngine();
      (risk as unknown as { evaluateEquity: () => bigint }).evaluateEquity = () => {
        throw new RangeError('a valuation bug');
      };
      if (how === 'evaluate') risk.evaluate();
      else risk.halt('operator');
      expect(engine.riskState.state, how).toBe('HALTED');
      expect(engine.riskState.reason).toMatch(/risk evaluation failed: a valuation bug/);
      await engine.stop();
    }
  });
});

describe('max_total_position values other positions as equity does', () => {
  it('a position on a crossed (known-wrong) book is valued at that book\'s last synced mid, not at its crossed mid', async () => {
    // 1 lot = 1e-5 BTC: at 60 000 USDT one lot is 0.6 USDT
    const inst = (exchange: string) => defineInstrument({ exchange, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '0' });
    const a = new ScriptedVenue('a', [inst('a')]);
    const b = new ScriptedVenue('b', [inst('b')]);
    const risk = new RiskManager({ risk: { ...RISK, max_position: 1000, max_total_position: 1000 }, metrics: new MetricsRegistry({ processMetrics: false }), initialEquity: 100_000, timers: false });
    const engine = new Engine({
      clock: new ManualClock(1_000_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, risk, riskChecks: risk.checks,
      venues: [a, b].map((v) => ({ name: v.exchange, symbols: ['BTCUSDT'], marketData: v, execution: v })),
    });
    await engine.start();
    for (const v of [a, b]) {
      v.sink!.onMarketEvent({ type: 'book_snapshot', exchange: v.exchange, symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_999_900, qty: 5000 }], asks: [{ price: 6_000_000, qty: 5000 }] });
    }
    const buy = (exchange: string, qty: number): OrderIntent => ({ exchange, symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 6_000_000, qty, tif: 'IOC', source: 'test' });
    expect(engine.submit(buy('b', 1000)).accepted).toBe(true); // 600 USDT on b
    b.report(b.submitted[0]!, { kind: 'fill', lastPrice: 6_000_000, lastQty: 1000, cumQty: 1000, leavesQty: 0, tradeId: 't1' });
    expect(engine.submit(buy('a', 1000))).toMatchObject({ accepted: false, reason: 'RISK_MAX_POSITION' }); // 600 more: 1200
    // One bad delta on b, an ask at 1 tick: the book is crossed, its mid (30 000) half the market.
    b.sink!.onMarketEvent({ type: 'book_delta', exchange: 'b', symbol: 'BTCUSDT', ts: 2, recvTs: 2, firstSeq: 2, seq: 2, bids: [], asks: [{ price: 1, qty: 1 }] });
    expect(engine.books.get('b', 'BTCUSDT')!.state).toBe('crossed');
    expect(risk.markHalfTicks(engine.portfolio.find('b', 'BTCUSDT')!)).toBe(11_999_900); // equity's mark: the mid before the bad delta
    expect(engine.submit(buy('a', 1000))).toMatchObject({ accepted: false, reason: 'RISK_MAX_POSITION' });
    await engine.stop();
  });
});

describe('control endpoint', () => {
  it('GET state; POST halt/reduce/resume with the token only; loopback only', async () => {
    const { risk, engine } = await riskTestEngine();
    const token = 'manager-test-token-0123456789';
    const server = new RiskControlServer(risk, { token });
    await expect(server.listen(0, '0.0.0.0')).rejects.toThrow(/not a loopback address/);
    const port = await server.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${port}`;
    try {
      expect(await controlRequest(url, 'status', { token })).toMatchObject({ status: 200, body: { state: 'ACTIVE' } });
      const noToken = await fetch(`${url}/risk/halt`, { method: 'POST', headers: { 'x-cwts-control': '1' } });
      expect(noToken.status).toBe(401);
      expect((await fetch(`${url}/risk/halt`)).status).toBe(405);
      expect(engine.riskState.state).toBe('ACTIVE');
      expect(await controlRequest(url, 'halt', { token, reason: 'fat finger' })).toMatchObject({ status: 200, body: { state: 'HALTED', reason: 'manual: fat finger' } });
      expect(engine.riskState.state).toBe('HALTED');
      expect(await controlRequest(url, 'resume', { token })).toMatchObject({ status: 200, body: { state: 'ACTIVE' } });
      expect(await controlRequest(url, 'reduce', { token })).toMatchObject({ status: 200, body: { state: 'REDUCING' } });
      const bad = await fetch(`${url}/risk/resume`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{not json' });
      expect(bad.status).toBe(400);
    } finally {
      await server.close();
    }
    await expect(controlRequest(url, 'status', { token })).rejects.toThrow(/cannot reach the risk control endpoint/);
  });
});

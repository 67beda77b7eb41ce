import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { BTC, RISK, riskTestEngine } from '../engine/risk-test-engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { RiskManager } from './manager.js';

describe('entering REDUCING cancels the open orders that could grow a position', () => {
  it('on a drawdown: the resting bid on a long goes, an exit within the position stays, an exit past flat goes', async () => {
    const { venue, engine, book, submit, trade, rest } = await riskTestEngine();
    trade('buy', 100, 5_000_100); // long 0.1 BTC at 50001
    const ladder = rest('buy', 100, 4_900_000); // adds to the long when it fills
    const exit = rest('sell', 60, 5_100_000); // takes 60 of the 100 off
    const pastFlat = rest('sell', 60, 5_200_000); // with the first: 120 > 100, short 20 if both fill
    book(4_910_000, 4_910_100); // mid 49100.50: 9 % drawdown, REDUCING (8 % soft)
    expect(engine.riskState.state).toBe('REDUCING');
    expect(venue.cancelled.map((o) => o.clientOrderId).sort()).toEqual([ladder, pastFlat].sort());
    expect(engine.orders.get(exit)!.status).toBe('open');
    // the pre-trade rule is the same: a new buy is refused
    expect(submit({ side: 'buy', qty: 1, price: 4_900_000 })).toMatchObject({ accepted: false, reason: 'RISK_STATE' });
  });

  it('a manual reduce on a flat position cancels every open order; pressed again it cancels what is working again', async () => {
    const { venue, risk, engine, rest } = await riskTestEngine();
    const bid = rest('buy', 10, 4_990_000);
    const ask = rest('sell', 10, 5_010_000);
    venue.autoCancel = false;
    risk.reduce('desk');
    expect(engine.riskState.state).toBe('REDUCING');
    expect(venue.cancelled.map((o) => o.clientOrderId).sort()).toEqual([bid, ask].sort());
    // the venue refuses one cancel (rate limited): the order works again
    venue.report(venue.cancelled[0]!, { kind: 'rejected', rejects: 'request', rejectReason: 'RATE_LIMITED' });
    expect(engine.orders.get(venue.cancelled[0]!.clientOrderId)!.status).toBe('open');
    risk.reduce('desk, again');
    expect(venue.cancelled).toHaveLength(3);
    expect(venue.cancelled[2]!.clientOrderId).toBe(venue.cancelled[0]!.clientOrderId);
  });

  it('leaving REDUCING cancels nothing, and an ACTIVE engine does not cancel on its own', async () => {
    const { venue, engine, book, trade, rest } = await riskTestEngine();
    trade('buy', 100, 5_000_100);
    book(4_910_000, 4_910_100);
    expect(engine.riskState.state).toBe('REDUCING');
    book(5_000_000, 5_000_100);
    expect(engine.riskState.state).toBe('ACTIVE');
    const bid = rest('buy', 10, 4_990_000);
    book(5_000_000, 5_000_100);
    expect(venue.cancelled).toHaveLength(0);
    expect(engine.orders.get(bid)!.status).toBe('open');
  });
});

describe('resume leaves only what there is to leave', () => {
  it('a resume while ACTIVE keeps the equity peak: the drawdown measured so far stands', async () => {
    const { risk, engine, book, trade, drawdown } = await riskTestEngine();
    trade('buy', 100, 5_000_100);
    book(4_950_000, 4_950_100); // mid 49500.50: -50.05 on 1000 = 5.005 %, ACTIVE
    expect(engine.riskState.state).toBe('ACTIVE');
    expect(drawdown()).toBeCloseTo(0.05005, 6);
    expect(risk.resume('no-op')).toBe('ACTIVE');
    expect(drawdown()).toBeCloseTo(0.05005, 6);
  });

  it('a resume that cannot leave an automatic REDUCING (VaR backend down) keeps the peak and the state', async () => {
    const backend = { monteCarloVaR: async () => { throw new Error('device lost'); } };
    const { risk, engine, book, trade, drawdown } = await riskTestEngine({ backend, var: { method: 'montecarlo', minObservations: 1 } });
    trade('buy', 100, 5_000_100);
    risk.sampleMarks();
    book(4_950_000, 4_950_100);
    risk.sampleMarks();
    await risk.recomputeVar();
    expect(engine.riskState.state).toBe('REDUCING');
    const since = engine.riskState.since;
    expect(risk.resume('try')).toBe('REDUCING');
    expect(drawdown()).toBeCloseTo(0.05005, 6);
    // no ACTIVE -> REDUCING flap either
    expect(engine.riskState.since).toBe(since);
  });

  it('leaving a manual REDUCING restarts the peak (the operator accepts the drawdown so far)', async () => {
    const { risk, book, trade, drawdown } = await riskTestEngine();
    trade('buy', 100, 5_000_100);
    book(4_950_000, 4_950_100);
    risk.reduce('desk');
    expect(risk.resume('ok')).toBe('ACTIVE');
    expect(drawdown()).toBe(0);
  });
});

describe('the mark while a book resyncs', () => {
  it('stays at the last mid seen while the book was synced: a measured drawdown does not vanish, REDUCING holds', async () => {
    const { engine, book, trade, risk, drawdown } = await riskTestEngine();
    trade('buy', 100, 5_000_100); // long 0.1 BTC at 50001
    book(4_910_000, 4_910_100); // 9 %: REDUCING
    expect(engine.riskState.state).toBe('REDUCING');
    expect(drawdown()).toBeGreaterThan(0.09);
    engine.onFeedStatus({ type: 'feed_status', exchange: 'v', symbol: 'BTCUSDT', state: 'resyncing', ts: 0, reason: 'sequence gap' });
    expect(engine.books.get('v', 'BTCUSDT')!.state).toBe('resyncing');
    expect(risk.markHalfTicks(engine.portfolio.find('v', 'BTCUSDT')!)).toBe(4_910_000 + 4_910_100);
    expect(drawdown()).toBeGreaterThan(0.09);
    expect(engine.riskState.state).toBe('REDUCING');
    // the resync's snapshot: the live mid again
    book(4_920_000, 4_920_100);
    expect(risk.markHalfTicks(engine.portfolio.find('v', 'BTCUSDT')!)).toBe(4_920_000 + 4_920_100);
  });

  it('a book never seen synced falls back to the position\'s last fill', async () => {
    const risk = new RiskManager({ risk: RISK, initialEquity: 1000, timers: false });
    const venue = new ScriptedVenue('v', [BTC]);
    const engine = new Engine({
      clock: new ManualClock(1), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, risk, riskChecks: risk.checks,
      venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
    });
    await engine.start();
    engine.portfolio.applyFill(BTC, { kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: 'x', side: 'buy', lastPrice: 5_000_100, lastQty: 10, cumQty: 10, leavesQty: 0, feeAtoms: 0n, ts: 1 });
    expect(risk.markHalfTicks(engine.portfolio.find('v', 'BTCUSDT')!)).toBe(2 * 5_000_100);
  });
});

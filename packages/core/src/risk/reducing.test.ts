import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { Strategy, StrategyContext, SubmitResult } from '../contracts/trading.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument } from '../domain/instrument.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import type { OrderIntent } from '../domain/orders.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { RiskManager, type RiskManagerOptions } from './manager.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 100_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };

function snapshot(bid: number, ask: number, seq: number): BookSnapshotEvent {
  return { type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: bid, qty: 1000 }], asks: [{ price: ask, qty: 1000 }] };
}

class DirectStrategy implements Strategy {
  readonly name = 'direct';
  ctx!: StrategyContext;
  onSignal(): void {}
}

async function setup(over: Partial<RiskManagerOptions> = {}) {
  const venue = new ScriptedVenue('v', [BTC]);
  const clock = new ManualClock(1_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 1000, timers: false, ...over });
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, strategy: new DirectStrategy(), watchdog: false, risk, riskChecks: risk.checks,
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  await engine.start();
  let seq = 10;
  const book = (bid: number, ask: number) => {
    clock.advance(1000);
    venue.sink!.onMarketEvent(snapshot(bid, ask, seq++));
  };
  book(5_000_000, 5_000_100);
  const submit = (i: Partial<OrderIntent> & Pick<OrderIntent, 'side' | 'qty'>): SubmitResult =>
    engine.submit({ exchange: 'v', symbol: 'BTCUSDT', type: 'limit', price: i.side === 'buy' ? 5_000_100 : 5_000_000, tif: 'GTC', source: 'test', ...i });
  const trade = (side: 'buy' | 'sell', qty: number, price?: number) => {
    const r = submit({ side, qty, ...(price ? { price } : {}) });
    expect(r.accepted, r.message).toBe(true);
    const o = venue.submitted.at(-1)!;
    venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: qty, cumQty: qty, leavesQty: 0, tradeId: `t${o.clientOrderId}` });
  };
  /** A resting order the venue acknowledged; its client id. */
  const rest = (side: 'buy' | 'sell', qty: number, price: number): string => {
    const r = submit({ side, qty, price });
    expect(r.accepted, r.message).toBe(true);
    venue.report(venue.submitted.at(-1)!, { kind: 'ack', leavesQty: qty });
    return r.clientOrderId!;
  };
  const drawdown = () => (risk.status() as { drawdownRatio: number }).drawdownRatio;
  return { venue, clock, metrics, risk, engine, book, submit, trade, rest, drawdown };
}

describe('entering REDUCING cancels the open orders that could grow a position', () => {
  it('on a drawdown: the resting bid on a long goes, an exit within the position stays, an exit past flat goes', async () => {
    const { venue, engine, book, submit, trade, rest } = await setup();
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
    const { venue, risk, engine, rest } = await setup();
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
    const { venue, engine, book, trade, rest } = await setup();
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
    const { risk, engine, book, trade, drawdown } = await setup();
    trade('buy', 100, 5_000_100);
    book(4_950_000, 4_950_100); // mid 49500.50: -50.05 on 1000 = 5.005 %, ACTIVE
    expect(engine.riskState.state).toBe('ACTIVE');
    expect(drawdown()).toBeCloseTo(0.05005, 6);
    expect(risk.resume('no-op')).toBe('ACTIVE');
    expect(drawdown()).toBeCloseTo(0.05005, 6);
  });

  it('a resume that cannot leave an automatic REDUCING (VaR backend down) keeps the peak and the state', async () => {
    const backend = { monteCarloVaR: async () => { throw new Error('device lost'); } };
    const { risk, engine, book, trade, drawdown } = await setup({ backend, var: { method: 'montecarlo', minObservations: 1 } });
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
    const { risk, book, trade, drawdown } = await setup();
    trade('buy', 100, 5_000_100);
    book(4_950_000, 4_950_100);
    risk.reduce('desk');
    expect(risk.resume('ok')).toBe('ACTIVE');
    expect(drawdown()).toBe(0);
  });
});

describe('the mark while a book resyncs', () => {
  it('stays at the last mid seen while the book was synced: a measured drawdown does not vanish, REDUCING holds', async () => {
    const { engine, book, trade, risk, drawdown } = await setup();
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

import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { Strategy, StrategyContext, SubmitResult } from '../contracts/trading.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument } from '../domain/instrument.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import type { Order, OrderIntent } from '../domain/orders.js';
import type { Journal } from '../journal/journal.js';
import type { JournalRecord } from '../journal/records.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { RiskManager, type RiskManagerOptions } from './manager.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 100_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };
const FAKE = { toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] } as const;

function snapshot(bid: number, ask: number, seq: number): BookSnapshotEvent {
  return { type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: bid, qty: 1000 }], asks: [{ price: ask, qty: 1000 }] };
}

class DirectStrategy implements Strategy {
  readonly name = 'direct';
  ctx!: StrategyContext;
  onSignal(): void {}
}

function memJournal(): Journal & { recs: JournalRecord[] } {
  const recs: JournalRecord[] = [];
  return { path: 'mem', recs, append: (r) => (recs.push(r), true), flush() {}, close() {} };
}

async function setup(over: Partial<RiskManagerOptions> = {}, withJournal = false) {
  const venue = new ScriptedVenue('v', [BTC]);
  const clock = new ManualClock(1_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 1000, timers: false, ...over });
  const journal = withJournal ? memJournal() : undefined;
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, strategy: new DirectStrategy(), watchdog: false, risk, riskChecks: risk.checks, journal,
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
  /** A resting bid the venue acknowledged. */
  const resting = (): { id: string; order: Order } => {
    const r = submit({ side: 'buy', qty: 5, price: 4_990_000 });
    expect(r.accepted, r.message).toBe(true);
    const order = venue.submitted.at(-1)!;
    venue.report(order, { kind: 'ack', leavesQty: 5 });
    return { id: r.clientOrderId!, order };
  };
  /** What a Binance or ccxt adapter reports for a cancel answered 429 or timed out. */
  const refuseCancel = (order: Order) => venue.report(order, { kind: 'rejected', rejects: 'request', rejectReason: 'RATE_LIMITED', text: 'too many requests' });
  return { venue, clock, metrics, risk, engine, book, submit, resting, refuseCancel, journal };
}

function breakValuation(risk: RiskManager): void {
  (risk as unknown as { evaluateEquity: () => bigint }).evaluateEquity = () => {
    throw new RangeError('a valuation bug');
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the fail-safe HALT when the risk evaluation throws, with a journal attached', () => {
  it('a manual halt: the open orders are cancelled and nothing is thrown to the operator', async () => {
    const { venue, risk, engine, resting, journal, metrics } = await setup({}, true);
    const r = resting();
    breakValuation(risk);
    expect(() => risk.halt('operator')).not.toThrow();
    expect(engine.riskState.state).toBe('HALTED');
    expect(venue.cancelled.map((o) => o.clientOrderId)).toEqual([r.id]);
    // the transition is journaled; the peak record, which cannot be valued, is skipped and counted
    expect(journal!.recs.some((x) => x.t === 'risk' && x.to === 'HALTED')).toBe(true);
    const text = await metrics.text();
    expect(text).toMatch(/cwts_errors_total\{component="journal:snapshot"\} [1-9]/);
    // the scrape still answers, so the RiskHalted alert sees the state; what cannot be valued is NaN
    expect(text).toMatch(/^cwts_risk_state 2$/m);
    expect(text).toMatch(/^cwts_equity nan$/im);
  });

  it('from a fill: the other open orders are cancelled and the venue adapter reporting the fill is not thrown at', async () => {
    const { venue, risk, engine, submit, resting } = await setup({}, true);
    const r = resting();
    expect(submit({ side: 'buy', qty: 1 }).accepted).toBe(true);
    const taker = venue.submitted.at(-1)!;
    breakValuation(risk);
    expect(() => venue.report(taker, { kind: 'fill', lastPrice: taker.price!, lastQty: 1, cumQty: 1, leavesQty: 0, tradeId: 't1' })).not.toThrow();
    expect(engine.riskState.state).toBe('HALTED');
    expect(venue.cancelled.map((c) => c.clientOrderId)).toContain(r.id);
    // the fill itself is booked
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(1);
  });

  it('the natural fault (mark "last", a trade price off the tick grid from a plugin without the kit\'s guard): HALTED, what is open cancelled, nothing thrown into the feed', async () => {
    const { venue, engine, submit, resting, clock } = await setup({ mark: 'last' }, true);
    const r = resting();
    expect(submit({ side: 'buy', qty: 1 }).accepted).toBe(true);
    const taker = venue.submitted.at(-1)!;
    venue.report(taker, { kind: 'fill', lastPrice: taker.price!, lastQty: 1, cumQty: 1, leavesQty: 0, tradeId: 't1' });
    clock.advance(1000);
    expect(() => venue.sink!.onMarketEvent({ type: 'trade', exchange: 'v', symbol: 'BTCUSDT', ts: 2, recvTs: 2, tradeId: 'x', price: 5_000_000.25, qty: 1, side: 'buy' })).not.toThrow();
    expect(engine.riskState.state).toBe('HALTED');
    expect(engine.riskState.reason).toMatch(/risk evaluation failed/);
    expect(venue.cancelled.map((c) => c.clientOrderId)).toContain(r.id);
  });
});

describe('HALTED: a cancel the venue refused for a passing reason is sent again', () => {
  it('within the HALT\'s first seconds and after them, until the order has ended; then no timer is left', async () => {
    const { venue, risk, engine, resting, refuseCancel, book } = await setup();
    const r = resting();
    venue.autoCancel = false;
    vi.useFakeTimers(FAKE);
    risk.halt('operator');
    expect(venue.cancelled).toHaveLength(1);
    refuseCancel(r.order);
    expect(engine.orders.get(r.id)!.status).toBe('open');
    // the first re-send comes within a second (inside cancelAllOpen's own wait)
    await vi.advanceTimersByTimeAsync(1000);
    expect(venue.cancelled).toHaveLength(2);
    expect(engine.orders.get(r.id)!.status).toBe('pending_cancel');
    // refused again once cancelAllOpen's 5 s are over: the HALT's follow-up sends it again
    await vi.advanceTimersByTimeAsync(5000);
    refuseCancel(r.order);
    for (let k = 0; k < 10; k++) {
      await vi.advanceTimersByTimeAsync(1000);
      book(5_000_000, 5_000_100);
    }
    expect(venue.cancelled).toHaveLength(3);
    expect(engine.orders.get(r.id)!.status).toBe('pending_cancel');
    venue.report(r.order, { kind: 'cancelled' });
    expect(engine.orders.openCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(vi.getTimerCount()).toBe(0);
    expect(venue.cancelled).toHaveLength(3);
  });

  it('with backoff: a venue that refuses every cancel is asked again at most every 5 s, and never given up on while HALTED', async () => {
    const { venue, risk, resting, refuseCancel } = await setup();
    const r = resting();
    venue.autoCancel = false;
    const cancel = venue.cancel.bind(venue);
    venue.cancel = (o) => {
      cancel(o);
      refuseCancel(r.order);
    };
    vi.useFakeTimers(FAKE);
    risk.halt('operator');
    await vi.advanceTimersByTimeAsync(10_000);
    const inTenSeconds = venue.cancelled.length;
    // 0, 0.25, 0.75, 1.75, 3.75 s and on (doubling): not a cancel per 10 ms poll
    expect(inTenSeconds).toBeGreaterThanOrEqual(5);
    expect(inTenSeconds).toBeLessThanOrEqual(8);
    await vi.advanceTimersByTimeAsync(60_000);
    const perMinute = venue.cancelled.length - inTenSeconds;
    expect(perMinute).toBeGreaterThanOrEqual(11);
    expect(perMinute).toBeLessThanOrEqual(13);
  });

  it('stops when the state leaves HALTED, and when the engine stops', async () => {
    const { venue, risk, engine, resting, refuseCancel } = await setup();
    const r = resting();
    venue.autoCancel = false;
    vi.useFakeTimers(FAKE);
    risk.halt('operator');
    await vi.advanceTimersByTimeAsync(6000);
    expect(risk.resume('checked')).toBe('ACTIVE');
    refuseCancel(r.order);
    const sent = venue.cancelled.length;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(venue.cancelled).toHaveLength(sent);
    expect(engine.orders.get(r.id)!.status).toBe('open');

    risk.halt('again');
    expect(venue.cancelled).toHaveLength(sent + 1);
    await vi.advanceTimersByTimeAsync(6000);
    refuseCancel(r.order);
    expect(engine.orders.get(r.id)!.status).toBe('open');
    const stopping = engine.stop('test');
    // the shutdown's own cancel goes out at once
    expect(venue.cancelled).toHaveLength(sent + 2);
    venue.report(r.order, { kind: 'cancelled' });
    await vi.advanceTimersByTimeAsync(100);
    await stopping;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(venue.cancelled).toHaveLength(sent + 2);
  });
});

describe('shutdown with on_shutdown = "cancel"', () => {
  it('a cancel the venue refused during the stop\'s wait is sent again before the stop gives up', async () => {
    const { venue, engine, resting, refuseCancel } = await setup();
    const r = resting();
    venue.autoCancel = false;
    vi.useFakeTimers(FAKE);
    const stopping = engine.stop('SIGTERM');
    expect(venue.cancelled).toHaveLength(1);
    refuseCancel(r.order);
    await vi.advanceTimersByTimeAsync(1000);
    expect(venue.cancelled).toHaveLength(2);
    venue.report(r.order, { kind: 'cancelled' });
    await vi.advanceTimersByTimeAsync(100);
    await stopping;
    expect(engine.orders.get(r.id)!.status).toBe('cancelled');
  });
});

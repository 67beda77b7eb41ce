import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Journal } from '../journal/journal.js';
import type { JournalRecord } from '../journal/records.js';
import { riskTestEngine } from '../engine/risk-test-engine.js';
import type { RiskManager } from './manager.js';

const FAKE: Parameters<typeof vi.useFakeTimers>[0] = { toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] };

function memJournal(): Journal & { recs: JournalRecord[] } {
  const recs: JournalRecord[] = [];
  return { path: 'mem', recs, append: (r) => (recs.push(r), true), flush() {}, close() {} };
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
    const { venue, risk, engine, resting, journal, metrics } = await riskTestEngine({}, { journal: memJournal() });
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
    const { venue, risk, engine, submit, resting } = await riskTestEngine({}, { journal: memJournal() });
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
    const { venue, engine, submit, resting, clock } = await riskTestEngine({ mark: 'last' }, { journal: memJournal() });
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
    const { venue, risk, engine, resting, refuseCancel, book } = await riskTestEngine();
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
    const { venue, risk, resting, refuseCancel } = await riskTestEngine();
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
    const { venue, risk, engine, resting, refuseCancel } = await riskTestEngine();
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
    const { venue, engine, resting, refuseCancel } = await riskTestEngine();
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

describe('the HALT\'s cancel loop after a resume', () => {
  it('does not cancel an order the strategy placed after the operator resumed', async () => {
    const { venue, risk, engine, rest } = await riskTestEngine();
    rest('buy', 5, 4_990_000);
    venue.autoCancel = false; // the venue is slow to answer the cancel
    vi.useFakeTimers(FAKE);
    risk.halt('operator');
    expect(venue.cancelled).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    // the operator checked and resumes within the HALT's 5 s wait
    expect(risk.resume('false alarm')).toBe('ACTIVE');
    const fresh = rest('sell', 5, 5_010_000);
    // the old cancel is still unanswered (pending_cancel); the new order is the strategy's
    await vi.advanceTimersByTimeAsync(2000);
    expect(engine.riskState.state).toBe('ACTIVE');
    expect(venue.cancelled.map((o) => o.clientOrderId)).not.toContain(fresh);
    expect(engine.orders.get(fresh)!.status).toBe('open');
  });
});

describe('entering REDUCING with an exit awaiting its cancel answer', () => {
  it('cancels a second exit that with the pending-cancel one could take the position past flat (as the pre-trade rule counts it)', async () => {
    const { venue, engine, book, submit, trade, rest } = await riskTestEngine();
    trade('buy', 100, 5_000_100); // long 100 lots
    const a = rest('sell', 100, 5_100_000);
    venue.autoCancel = false;
    engine.cancel(a); // the strategy moves its exit: A awaits its cancel answer (it may still fill)
    expect(engine.orders.get(a)!.status).toBe('pending_cancel');
    const b = rest('sell', 100, 5_050_000); // the replacement
    book(4_910_000, 4_910_100); // 9 % drawdown: REDUCING
    expect(engine.riskState.state).toBe('REDUCING');
    // a new sell of 100 is refused now: A's 100 is counted as resting
    expect(submit({ side: 'sell', qty: 100, price: 5_050_000 })).toMatchObject({ accepted: false, reason: 'RISK_STATE' });
    // so B, the same order already working, is cancelled: A filling before its cancel lands, then
    // B, would leave the engine short 100 lots in REDUCING
    expect(venue.cancelled.map((o) => o.clientOrderId)).toContain(b);
  });
});

/**
 * With `latency_ms = 0`, an order a strategy sends from a report (onExecution) arrives at the very
 * time the venue is processing: it was taken in the same loop, whose reports sent the next one,
 * and so on, so a strategy that always answers a report with an order kept the venue in one
 * synchronous loop for ever (no timer, no socket, no stop ran again). An order sent while the
 * venue processes is processed in a later call (a later turn of the event loop), and the market
 * waits for it: the time order (orders first on equal timestamps) and so what happens are those
 * of a venue that had taken it at once. Every loop here is bounded by a counter (CAP), so a
 * regression fails instead of hanging.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock, type Clock, type ExecutionReport, type MarketEvent, type MarketEventSink, type Order } from '@cwts/core';
import { resolveSimOptions } from './options.js';
import { SimVenue } from './venue.js';

const START = 1_700_000_000_000;
/** The most orders the strategy sends: the old loop ran to it in one call. */
const CAP = 500;

const order = (id: string, o: Partial<Order>): Order => ({
  exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', qty: 1000, tif: 'GTC', source: 'test', clientOrderId: id, status: 'pending_new',
  filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0, ...o,
});

/**
 * A sim venue at latency 0 and a strategy that answers every ack with a new resting order (far
 * below the bid), up to `cap` orders; `trail` is every event and report in delivery order.
 */
function setup(clock: Clock, options: Record<string, unknown>, cap = CAP, onEvent?: (e: MarketEvent) => void) {
  const venue = new SimVenue({ exchange: 'sim', clock, options: resolveSimOptions({ seed: 7, events_per_second: 50, ...options, latency_ms: 0 }), symbols: ['BTCUSDT'] });
  const trail: string[] = [];
  const events: MarketEvent[] = [];
  const reports: ExecutionReport[] = [];
  const s = { sent: 0, price: 0, ends: 0 };
  const send = () => {
    s.sent++;
    venue.execution.submit(order(`r${s.sent}`, { price: s.price }));
  };
  void venue.execution.start((r) => {
    reports.push(r);
    trail.push(`${r.ts} ${r.clientOrderId} ${r.kind}`);
    if (r.kind === 'ack' && s.sent < cap) send();
  });
  const sink: MarketEventSink = {
    onMarketEvent: (e) => {
      events.push(e);
      trail.push(`${e.ts} ${e.type}`);
      onEvent?.(e);
    },
    onFeedStatus: () => {},
    onFeedError: () => {},
    onEndOfStream: () => void s.ends++,
  };
  venue.start([], sink);
  /** The first order, once the book is up: half the best bid, never filled. */
  const first = () => {
    s.price = Math.floor(venue.book('BTCUSDT')!.bestBid()! / 2);
    send();
  };
  return { venue, trail, events, reports, s, first };
}

const HEADER = { kind: 'cwts-recording', version: 1, instruments: [{ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' }] };
const SNAPSHOT = { type: 'book_snapshot', exchange: 'binance', symbol: 'BTCUSDT', ts: START, recvTs: START, seq: 1, reason: 'initial', bids: [{ price: 5_999_900, qty: 300 }], asks: [{ price: 6_000_000, qty: 100 }] };
const dir = mkdtempSync(join(tmpdir(), 'cwts-sim-reentrant-'));
let files = 0;
const recording = (lines: readonly object[]): string => {
  const file = join(dir, `rec-${++files}.jsonl`);
  writeFileSync(file, [HEADER, ...lines].map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
};

/** Each line of `trail` no earlier than the one before it. */
const inTimeOrder = (trail: readonly string[]) => trail.every((l, i) => i === 0 || Number(l.split(' ')[0]) >= Number(trail[i - 1]!.split(' ')[0]));

afterEach(() => vi.useRealTimers());

describe('sim venue, latency_ms = 0: an order sent from a report', () => {
  it('manual drive: one advanceTo processes the orders sent before it, not those its own reports send', () => {
    const clock = new ManualClock(START);
    const { venue, s, first } = setup(clock, { drive: 'manual' });
    venue.advanceTo(START + 1000);
    first();
    venue.advanceTo(START + 1000);
    // the first was taken and acked; the one its ack sent waits for the next call
    expect(s.sent).toBe(2);
    for (let i = 0; i < 5; i++) venue.advanceTo(START + 1000);
    expect(s.sent).toBe(7);
    expect(venue.paper.openOrders()).toHaveLength(6);
  });

  it('manual drive: the market waits for an order sent while it is processed (time order), and what happens does not depend on how the calls are cut', () => {
    const run = (slice: number) => {
      const clock = new ManualClock(START);
      const r = setup(clock, { drive: 'manual' }, 40);
      r.venue.advanceTo(START + 1000);
      r.first();
      for (let t = START + 1000; t < START + 3000 + slice; t += slice) {
        // called until nothing due by `t` is left: each call takes the orders sent before it
        const to = Math.min(t, START + 3000);
        for (let calls = 0; calls <= CAP && (calls === 0 || r.venue.paper.nextDue() <= to); calls++) r.venue.advanceTo(to);
      }
      return r;
    };
    const whole = run(2000);
    const sliced = run(7);
    expect(whole.s.sent).toBe(40);
    expect(whole.reports.filter((r) => r.kind === 'ack')).toHaveLength(40);
    expect(inTimeOrder(whole.trail)).toBe(true);
    // the market went on past the orders once they were answered
    expect(whole.events.at(-1)!.ts).toBeGreaterThan(START + 2900);
    expect(sliced.trail).toEqual(whole.trail);
  });

  it('timers: the event loop keeps turning (one round of orders per tick) and the market goes on', async () => {
    vi.useFakeTimers({ now: START });
    const clock: Clock = { now: () => Date.now(), monoNs: () => BigInt(Date.now()) * 1_000_000n };
    const { venue, events, trail, s, first } = setup(clock, {});
    vi.advanceTimersByTime(1000);
    first();
    let turned = 0;
    const other = setInterval(() => turned++, 10);
    vi.advanceTimersByTime(1000);
    clearInterval(other);
    expect(turned).toBe(100);
    // a round or two a tick (20 ms at 50 events a second: the one due at the clock's time, which
    // the market behind it has not reached, then the one its ack sent), not CAP in one
    expect(s.sent).toBeGreaterThan(10);
    expect(s.sent).toBeLessThan(150);
    expect(events.at(-1)!.ts).toBeGreaterThanOrEqual(START + 1980);
    expect(inTimeOrder(trail)).toBe(true);
    venue.stop();
    expect(venue.activeTimers()).toBe(0);
  });

  it('manual replay: runToEnd stops at an order it must leave to the next call, and called again goes on to the end', () => {
    const trades = Array.from({ length: 20 }, (_, i) => ({ type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: START + 10 * (i + 1), recvTs: START + 10 * (i + 1), tradeId: `t${i}`, price: 6_000_000, qty: 1, side: 'buy' }));
    const file = recording([SNAPSHOT, ...trades]);
    // the strategy's first order answers trade t4; each ack, another
    const r = setup(new ManualClock(START), { drive: 'manual', replay_file: file }, 30, (e) => e.type === 'trade' && e.tradeId === 't4' && r.first());
    let calls = 0;
    while (calls++ <= CAP && (!r.venue.endOfStream || r.venue.paper.nextDue() !== Infinity)) r.venue.runToEnd();
    expect(calls).toBeGreaterThan(30);
    expect(r.s.ends).toBe(1);
    expect(r.events).toHaveLength(21);
    expect(r.reports.filter((x) => x.kind === 'ack')).toHaveLength(30);
    // every order at the time of the trade it answered, before the next trade
    expect(r.trail.slice(r.trail.indexOf(`${START + 50} trade`), r.trail.indexOf(`${START + 50} trade`) + 32).at(-1)).toBe(`${START + 60} trade`);
    expect(inTimeOrder(r.trail)).toBe(true);
  });

  it('after the end of a timer-driven replay: one round of orders per timer', async () => {
    vi.useFakeTimers({ now: 5_000 });
    const file = recording([SNAPSHOT]);
    const clock: Clock = { now: () => Date.now(), monoNs: () => 0n };
    const { venue, reports, s, first } = setup(clock, { replay_file: file, replay_speed: 0 });
    await vi.advanceTimersByTimeAsync(100);
    expect(venue.endOfStream).toBe(true);
    first();
    vi.advanceTimersToNextTimer();
    expect(s.sent).toBe(2);
    vi.advanceTimersToNextTimer();
    expect(s.sent).toBe(3);
    expect(reports.map((r) => [r.kind, r.ts])).toEqual([['ack', START], ['ack', START]]);
    venue.stop();
    expect(venue.activeTimers()).toBe(0);
  });
});

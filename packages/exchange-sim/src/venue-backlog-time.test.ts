/**
 * The synthetic venue behind the clock (a step budget of advanceTo runs out before the market
 * reaches the target: a stalled or loaded host, a high events_per_second). Order requests wait
 * for the market to reach their arrival time, so the venue's feed never goes back in time and no
 * order fills from market activity before it arrived; a market that cannot catch up drops its
 * backlog (MAX_MARKET_BACKLOG_MS), so orders are still answered.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock, type ExecutionReport, type MarketEvent, type MarketEventSink, type Order, type Side } from '@cwts/core';
import { resolveSimOptions } from './options.js';
import { ReplaySource } from './replay.js';
import { MAX_MARKET_BACKLOG_MS, SimVenue } from './venue.js';

const START = 1_700_000_000_000;

let n = 0;
const order = (o: Partial<Order> & Pick<Order, 'side' | 'type' | 'qty' | 'tif'>): Order => ({
  exchange: 'sim', symbol: 'BTCUSDT', source: 'test', clientOrderId: `b${++n}`, status: 'pending_new',
  filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0, ...o,
});

function setup(options: Record<string, unknown> = {}) {
  const clock = new ManualClock(START);
  const venue = new SimVenue({ exchange: 'sim', clock, options: resolveSimOptions({ drive: 'manual', seed: 7, latency_ms: 5, ...options }), symbols: ['BTCUSDT'] });
  const events: MarketEvent[] = [];
  const reports: ExecutionReport[] = [];
  /** Each report with how many market events had been delivered before it, and the clock then. */
  const seen: { report: ExecutionReport; eventsBefore: number; clockTs: number }[] = [];
  /** What the venue reported through onFeedError (the engine counts each in cwts_errors_total). */
  const feedErrors: [component: string, message: string][] = [];
  const sink: MarketEventSink = { onMarketEvent: (e) => events.push(e), onFeedStatus: () => {}, onFeedError: (c, m) => feedErrors.push([c, m]) };
  void venue.execution.start((r) => {
    reports.push(r);
    seen.push({ report: r, eventsBefore: events.length, clockTs: clock.now() });
  });
  venue.start([], sink);
  return { clock, venue, events, reports, seen, feedErrors };
}

/** Index of the first event stamped before the one delivered ahead of it, -1 when none. */
const firstBackInTime = (events: readonly MarketEvent[]): number => events.findIndex((e, i) => i > 0 && e.ts < events[i - 1]!.ts);

/** Fills of `id` stamped before its ack. */
const fillsBeforeAck = (reports: readonly ExecutionReport[], id: string): [number, number, number][] => {
  const ack = reports.find((r) => r.clientOrderId === id && r.kind === 'ack');
  expect(ack).toBeDefined();
  return reports.filter((r) => r.clientOrderId === id && r.kind === 'fill' && r.ts < ack!.ts).map((r) => [r.ts - START, r.lastPrice, r.lastQty]);
};

/** What `run --record` writes for the venue's feed, read back: its integrity counts. */
function replayIntegrity(venue: SimVenue, events: readonly MarketEvent[]) {
  const i = venue.instrument('BTCUSDT')!;
  const header = { kind: 'cwts-recording', version: 1, instruments: [{ exchange: 'sim', symbol: 'BTCUSDT', base: i.base, quote: i.quote, tickSize: i.tickSize, lotSize: i.lotSize, minNotional: i.minNotional }] };
  const file = join(mkdtempSync(join(tmpdir(), 'cwts-sim-backlog-')), 'rec.jsonl');
  writeFileSync(file, [header, ...events].map((e) => JSON.stringify(e)).join('\n') + '\n');
  const src = new ReplaySource({ files: [file] });
  for (const _ of src) void _;
  return src.integrity();
}

describe('sim venue behind the clock', () => {
  it('an order waits for the market to reach its arrival: the feed never goes back in time, and a recording of it replays clean', () => {
    const { clock, venue, events, reports, seen } = setup();
    // the host stalled 0.9 s (within MAX_MARKET_BACKLOG_MS): the generator is still at START
    clock.set(START + 900);
    const o = order({ side: 'buy', type: 'market', qty: 100, tif: 'IOC' });
    venue.execution.submit(o); // due at START + 905
    venue.advanceTo(clock.now() + 10, 20); // one timer tick with a small step budget
    expect(venue.generator!.nextTs()).toBeLessThan(START + 905);
    expect(reports).toEqual([]); // not answered ahead of the market
    venue.advanceTo(clock.now() + 10); // the backlog catches up
    expect(reports.map((r) => [r.kind, r.ts - START])).toEqual([['ack', 905], ['fill', 905]]);
    // answered once every market event stamped before its arrival had been delivered
    expect(events.slice(seen[0]!.eventsBefore).filter((e) => e.ts < START + 905)).toEqual([]);
    const back = firstBackInTime(events);
    expect(back, `event times go back at index ${back}: ${events.slice(Math.max(0, back - 2), back + 2).map((e) => `${e.type}@${e.ts}`).join(', ')}`).toBe(-1);
    expect(venue.droppedBacklog).toEqual({ count: 0, ms: 0, steps: 0 });
    expect(replayIntegrity(venue, events)).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
  });

  it.each<[number, Side, number]>([
    [900, 'sell', 1], // waits for the backlog, which goes through the order's price
    [30_000, 'buy', 7], // the backlog is dropped; the market reaches the order later
  ])('behind by %i ms, a resting %s is not filled by market activity stamped before it reached the venue', (behindMs, side, seed) => {
    const { clock, venue, events, reports } = setup({ seed });
    const book = venue.book('BTCUSDT')!;
    const price = side === 'buy' ? book.bestBid()! : book.bestAsk()!;
    clock.set(START + behindMs);
    // priced at the touch the generator is at: without the wait it rests on that book, and the
    // backlog's book changes and trades, stamped before it arrived, go through it
    const o = order({ side, type: 'limit', qty: 1000, tif: 'GTC', price });
    venue.execution.submit(o);
    venue.advanceTo(clock.now() + 10, 20);
    venue.advanceTo(clock.now() + 60_000);
    expect(reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'fill')).toBe(true);
    expect(fillsBeforeAck(reports, o.clientOrderId)).toEqual([]);
    expect(firstBackInTime(events)).toBe(-1);
  });

  it('a market that stays behind for good drops its backlog: every order is answered at its arrival, within MAX_MARKET_BACKLOG_MS, in time order', () => {
    // 2,000 steps/s and 40 steps per 50 ms tick: the market gains 20 ms on each tick of 50
    const { clock, venue, events, reports, seen, feedErrors } = setup({ events_per_second: 2_000, seed: 3 });
    const due = new Map<string, number>();
    for (let tick = 0; tick < 300; tick++) {
      clock.set(clock.now() + 50);
      const o = order({ side: tick % 2 ? 'sell' : 'buy', type: 'market', qty: 10, tif: 'IOC' });
      due.set(o.clientOrderId, venue.sendTime() + 5);
      venue.execution.submit(o);
      venue.advanceTo(clock.now(), 40);
      expect(clock.now() - venue.generator!.nextTs()).toBeLessThanOrEqual(MAX_MARKET_BACKLOG_MS + 50);
    }
    expect(venue.droppedBacklog.count).toBeGreaterThan(1);
    expect(venue.droppedBacklog.steps).toBeGreaterThan(0);
    // each drop reported to the engine, which counts it in cwts_errors_total{component}
    expect(feedErrors.map(([c]) => c)).toEqual(Array(venue.droppedBacklog.count).fill('sim:backlog_dropped'));
    expect(feedErrors[0]![1]).toMatch(/^sim: simulated market \d+ ms behind the clock: its backlog of \d+ steps was dropped/);
    // every order but the last few, not reached by the market yet, is answered at its arrival
    const acks = seen.filter((s) => s.report.kind === 'ack');
    expect(acks.length).toBeGreaterThan(due.size - 25);
    /** earliest time among the events from index i on */
    const earliestFrom = new Array<number>(events.length + 1).fill(Infinity);
    for (let i = events.length - 1; i >= 0; i--) earliestFrom[i] = Math.min(events[i]!.ts, earliestFrom[i + 1]!);
    for (const { report, eventsBefore, clockTs } of acks) {
      const at = due.get(report.clientOrderId)!;
      expect(report.ts).toBe(at);
      // held back no longer than the bound (and one tick) past its arrival
      expect(clockTs - at).toBeLessThanOrEqual(MAX_MARKET_BACKLOG_MS + 50);
      // and not before the market had reached it: nothing stamped earlier comes after it
      expect(earliestFrom[eventsBefore]).toBeGreaterThanOrEqual(at);
    }
    expect(reports.filter((r) => r.kind === 'ack')).toHaveLength(acks.length);
    expect(firstBackInTime(events)).toBe(-1);
    expect(replayIntegrity(venue, events)).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
    // the book's seqs run on without a gap over a dropped backlog
    const seqs = events.flatMap((e) => (e.type === 'book_delta' ? [e.seq] : []));
    expect(seqs.every((s, k) => k === 0 || s === seqs[k - 1]! + 1)).toBe(true);
  });

  it('with no order waiting, a short backlog is worked off, not dropped', () => {
    const { clock, venue, feedErrors } = setup({ events_per_second: 10_000 });
    clock.set(START + MAX_MARKET_BACKLOG_MS - 100);
    venue.advanceTo(clock.now(), 200);
    expect(venue.droppedBacklog.count).toBe(0);
    venue.advanceTo(clock.now());
    expect(venue.generator!.nextTs()).toBeGreaterThan(clock.now());
    expect(venue.droppedBacklog.count).toBe(0);
    expect(feedErrors).toEqual([]);
  });
});

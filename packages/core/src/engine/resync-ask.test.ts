/**
 * A book the engine resyncs on its own account (a gap between the deltas an adapter let through,
 * an invalid snapshot, a restarted sequence the watchdog saw) asks the adapter for a snapshot
 * (MarketDataClient.requestResync), and again with backoff while it stays so; nothing at the
 * venue knows one is needed. Timers are the engine's injectable ones, fired by hand.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { BookDeltaEvent, BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import type { Logger } from '../observability/logger.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine, RESYNC_ASK_FIRST_MS, RESYNC_ASK_MAX_MS } from './engine.js';
import { HandTimers, ScriptedVenue } from './test-venue.js';

const instrument = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot = (seq: number, reason: 'initial' | 'resync' = 'initial'): BookSnapshotEvent => ({
  type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason,
  bids: [{ price: 5_000_000, qty: 100 }], asks: [{ price: 5_000_100, qty: 100 }],
});
const delta = (firstSeq: number, seq: number): BookDeltaEvent => ({
  type: 'book_delta', exchange: 'v', symbol: 'BTCUSDT', ts: 2, recvTs: 2, firstSeq, seq, bids: [{ price: 5_000_000, qty: 50 }], asks: [],
});

/** A venue that records the engine's requests; `offer: false` leaves requestResync out. */
async function engineWith(offer = true) {
  const venue = new ScriptedVenue('v', [instrument]);
  const asked: { symbol: string; reason: string }[] = [];
  if (offer) (venue as ScriptedVenue & { requestResync?: (s: string, r: string) => void }).requestResync = (symbol, reason) => void asked.push({ symbol, reason });
  const warnings: string[] = [];
  const logger: Logger = { ...silentLogger(), warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)) } as Logger;
  const timers = new HandTimers();
  const engine = new Engine({ clock: new ManualClock(1_000_000), logger, metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, timers, venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
  await engine.start();
  venue.sink!.onMarketEvent(snapshot(100));
  const metrics = (engine as unknown as { opts: { metrics: MetricsRegistry } }).opts.metrics;
  const errors = async (component: string) => (await metrics.errors.get()).values.find((v) => v.labels.component === component)?.value ?? 0;
  const state = () => (engine as unknown as { books: { get(e: string, s: string): { state: string; ownResync: boolean } } }).books.get('v', 'BTCUSDT')!;
  return { engine, venue, asked, timers, warnings, state, errors };
}

describe('a book the engine resyncs on its own account', () => {
  it('asks the adapter for a snapshot at once (on a timer, not inside the delivery), then with backoff while it stays so', async () => {
    const t = await engineWith();
    expect(t.state().state).toBe('synced');
    // the adapter let a gap through: 101 then 103
    t.venue.sink!.onMarketEvent(delta(101, 101));
    t.venue.sink!.onMarketEvent(delta(103, 103));
    expect(t.state()).toMatchObject({ state: 'resyncing', ownResync: true });
    expect(t.asked).toEqual([]); // not from inside the adapter's delivery
    const delays: number[] = [];
    for (let k = 0; k < 8; k++) delays.push(t.timers.fire());
    expect(delays).toEqual([0, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    expect([RESYNC_ASK_FIRST_MS, RESYNC_ASK_MAX_MS]).toEqual([2000, 60_000]);
    expect(t.asked).toHaveLength(8);
    expect(t.asked[0]).toEqual({ symbol: 'BTCUSDT', reason: expect.stringMatching(/^sequence_gap: expected 102, got 103..103/) });
    // the snapshot comes: nothing more is asked, no timer is left
    t.venue.sink!.onMarketEvent(snapshot(200, 'resync'));
    expect(t.state().state).toBe('synced');
    expect(t.timers.pending).toEqual([]);
    // a later gap starts over from an immediate ask
    t.venue.sink!.onMarketEvent(delta(205, 205));
    expect(t.timers.fire()).toBe(0);
    expect(t.asked).toHaveLength(9);
    await t.engine.stop('test');
    expect(t.timers.pending).toEqual([]);
  });

  it('stops asking once the adapter announces the resync (it owns the snapshot), and asks again if that snapshot is invalid', async () => {
    const t = await engineWith();
    t.venue.sink!.onMarketEvent(delta(105, 105));
    expect(t.timers.fire()).toBe(0);
    expect(t.asked).toHaveLength(1);
    // the adapter's answer: it announces the resync
    t.venue.sink!.onFeedStatus({ type: 'feed_status', exchange: 'v', symbol: 'BTCUSDT', state: 'resyncing', reason: 'engine asked for a snapshot', ts: 3 });
    expect(t.state()).toMatchObject({ state: 'resyncing', ownResync: false });
    t.timers.fire();
    t.timers.fire();
    expect(t.asked).toHaveLength(1);
    // its snapshot has an impossible level: the book stays resyncing, and the next one is the engine's to ask for
    t.venue.sink!.onMarketEvent({ ...snapshot(300, 'resync'), bids: [{ price: 5_000_000, qty: -1 }] });
    expect(t.state()).toMatchObject({ state: 'resyncing', ownResync: true });
    t.timers.fire();
    expect(t.asked).toHaveLength(2);
    t.venue.sink!.onMarketEvent(snapshot(301, 'resync'));
    expect(t.state().state).toBe('synced');
    expect(t.timers.pending).toEqual([]);
    await t.engine.stop('test');
  });

  it('an adapter announcing the resync before the first ask fires: nothing asked, and no 0 ms timer re-arming itself', async () => {
    const t = await engineWith();
    // the engine's book finds a gap; in the same burst the adapter announces a resync of its own
    t.venue.sink!.onMarketEvent(delta(105, 105));
    t.venue.sink!.onFeedStatus({ type: 'feed_status', exchange: 'v', symbol: 'BTCUSDT', state: 'resyncing', reason: 'adapter: sequence gap', ts: 3 });
    const delays: number[] = [];
    for (let k = 0; k < 4; k++) delays.push(t.timers.fire());
    expect(t.asked).toEqual([]);
    expect(delays).toEqual([0, RESYNC_ASK_FIRST_MS, RESYNC_ASK_FIRST_MS, RESYNC_ASK_FIRST_MS]);
    t.venue.sink!.onMarketEvent(snapshot(200, 'resync'));
    expect(t.timers.pending).toEqual([]);
    await t.engine.stop('test');
  });

  it('a resync the adapter announced is never asked for', async () => {
    const t = await engineWith();
    t.venue.sink!.onFeedStatus({ type: 'feed_status', exchange: 'v', symbol: 'BTCUSDT', state: 'resyncing', reason: 'gap', ts: 3 });
    expect(t.state()).toMatchObject({ state: 'resyncing', ownResync: false });
    expect(t.timers.pending).toEqual([]);
    expect(t.asked).toEqual([]);
    await t.engine.stop('test');
  });

  it('an adapter without requestResync: one warning that says the book waits for the venue, no timers', async () => {
    const t = await engineWith(false);
    t.venue.sink!.onMarketEvent(delta(105, 105));
    t.venue.sink!.onMarketEvent(snapshot(110, 'resync'));
    t.venue.sink!.onMarketEvent(delta(115, 115));
    expect(t.timers.pending).toEqual([]);
    expect(t.warnings.filter((w) => /cannot be asked for a snapshot/.test(w))).toEqual([
      "v:BTCUSDT: book resyncing (sequence_gap: expected 101, got 105..105); this venue's adapter cannot be asked for a snapshot (no requestResync): its books stay RESYNCING until the venue sends one",
    ]);
    await t.engine.stop('test');
  });

  it('a request that throws is counted as the venue market data component error, and asked again later', async () => {
    const t = await engineWith();
    (t.venue as ScriptedVenue & { requestResync?: (s: string, r: string) => void }).requestResync = () => {
      throw new Error('socket gone');
    };
    t.venue.sink!.onMarketEvent(delta(105, 105));
    expect(t.timers.fire()).toBe(0);
    expect(t.timers.fire()).toBe(2000);
    expect(await t.errors('v:market_data')).toBe(2);
    await t.engine.stop('test');
  });
});

describe("the engine's book takes the adapter's bound on update-id jumps (MarketDataClient.maxSequenceJump)", () => {
  it('an update 20M ids ahead, which an adapter configured for 1e9 accepted, is applied, not resynced and asked for again', async () => {
    const venue = Object.assign(new ScriptedVenue('v', [instrument]), { maxSequenceJump: 1e9 });
    const engine = new Engine({ clock: new ManualClock(1_000_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, timers: new HandTimers(), venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
    await engine.start();
    venue.sink!.onMarketEvent(snapshot(1000));
    venue.sink!.onMarketEvent(delta(1001, 20_001_000));
    const rec = (engine as unknown as { books: { get(e: string, s: string): { state: string; lastSeq: number } } }).books.get('v', 'BTCUSDT')!;
    expect(rec).toMatchObject({ state: 'synced', lastSeq: 20_001_000 });
    await engine.stop('test');
  });

  it("without it, the kit's default bound (10M) applies", async () => {
    const t = await engineWith();
    t.venue.sink!.onMarketEvent(delta(101, 20_000_100));
    expect(t.state()).toMatchObject({ state: 'resyncing' });
    await t.engine.stop('test');
  });
});

/**
 * BookSync.replace: a snapshot the venue pushes unasked (Bybit, Kraken, Coinbase) replaces a
 * SYNCED book as a resync would, without asking for another snapshot (the adapter would
 * resubscribe, and the venue's answer replace the book a second time).
 */
import { describe, expect, it } from 'vitest';
import type { MarketEventSink } from '../contracts/exchange.js';
import type { BookDeltaEvent } from '../domain/events.js';
import { BookSync, CONSECUTIVE_RULES, type BookSyncOptions, type SnapshotInput } from './book-sync.js';

const delta = (seq: number, bid: number): BookDeltaEvent => ({
  type: 'book_delta', exchange: 'x', symbol: 'S', ts: 0, recvTs: 0, firstSeq: seq, seq, bids: [{ price: bid, qty: 1 }], asks: [],
});
const book = (seq: number, bid: number, ask = 100): SnapshotInput => ({ seq, bids: [{ price: bid, qty: 1 }], asks: [{ price: ask, qty: 1 }], ts: 0 });

function make(extra: Partial<BookSyncOptions> = {}) {
  const events: string[] = [];
  const sink: MarketEventSink = {
    onMarketEvent: (ev) => events.push(ev.type === 'book_snapshot' ? `snapshot ${ev.reason} ${ev.seq}` : ev.type === 'book_delta' ? `delta ${ev.seq}` : ev.type),
    onFeedStatus: (st) => events.push(`${st.state}: ${st.reason}`),
    onFeedError: () => {},
    onFeedReject: (r) => events.push(`reject ${r.reason}`),
  };
  const asks: string[] = [];
  const sync = new BookSync({
    exchange: 'x', symbol: 'S', rules: CONSECUTIVE_RULES, sink: () => sink, requestSnapshot: (_s, why) => asks.push(why), snapshotWhen: 'venue', now: () => 1, ...extra,
  });
  return { events, asks, sync };
}

describe('BookSync.replace', () => {
  it('SYNCED: the snapshot is the book at once, the resync counted and shown, and no snapshot asked for', () => {
    const { events, asks, sync } = make();
    sync.begin();
    sync.onSnapshot(book(10, 50));
    sync.onDelta(delta(11, 51));
    const asked = sync.snapshotsRequested;
    events.length = 0;
    asks.length = 0;

    sync.replace(book(40, 60), 'venue sent a new snapshot');

    expect(events).toEqual(['resyncing: venue sent a new snapshot', 'snapshot resync 40', 'synced: resynced at 40 (venue sent a new snapshot)']);
    expect(asks).toEqual([]);
    expect(sync.snapshotsRequested).toBe(asked);
    expect(sync.resyncs).toEqual({ other: 1 });
    expect(sync.state).toBe('synced');
    expect(sync.lastSeq).toBe(40);
    expect(sync.mirror.bids.best()).toBe(60);
    expect(sync.mirror.bids.n).toBe(1); // nothing of the old book (51, 50) is left
    // the stream goes on from the snapshot
    sync.onDelta(delta(41, 61));
    expect(events.at(-1)).toBe('delta 41');
    expect(sync.lastSeq).toBe(41);
  });

  it('SYNCED: the resync is counted by the class of its reason', () => {
    const { sync } = make();
    sync.begin();
    sync.onSnapshot(book(1, 50));
    sync.replace(book(2, 50), 'checksum mismatch: venue re-sent its book');
    sync.replace(book(3, 50), 'venue service restart: snapshot with u=1 replaces the book');
    expect(sync.resyncs).toEqual({ checksum: 1, other: 1 });
  });

  it('SYNCED: a snapshot that fails validation leaves the book resyncing and asks for another', () => {
    const { events, asks, sync } = make();
    sync.begin();
    sync.onSnapshot(book(10, 50));
    events.length = 0;
    asks.length = 0;
    sync.replace(book(20, 120, 100), 'venue sent a new snapshot'); // crossed
    expect(events).toEqual(['resyncing: venue sent a new snapshot', 'reject bad_snapshot']);
    expect(asks).toEqual(['snapshot 20 is crossed']);
    expect(sync.state).toBe('buffering');
    expect(sync.resyncs).toEqual({ other: 1 });
  });

  it('awaiting a snapshot: the same as onSnapshot (no resync counted or shown)', () => {
    const { events, asks, sync } = make();
    sync.begin();
    sync.onDelta(delta(5, 49)); // superseded by the pushed snapshot
    expect(asks).toEqual(['initial']);
    sync.replace(book(10, 50), 'venue sent a new snapshot');
    expect(events).toEqual(['snapshot initial 10', 'synced: synced at 10 (initial)']);
    expect(asks).toEqual(['initial']);
    expect(sync.resyncs).toEqual({});
    expect(sync.state).toBe('synced');
    expect(sync.mirror.bids.best()).toBe(50);
  });

  it('idle: ignored', () => {
    const { events, asks, sync } = make();
    sync.replace(book(10, 50), 'venue sent a new snapshot');
    sync.begin();
    sync.onSnapshot(book(10, 50));
    sync.suspend();
    events.length = 0;
    asks.length = 0;
    sync.replace(book(20, 60), 'venue sent a new snapshot');
    expect(events).toEqual([]);
    expect(asks).toEqual([]);
    expect(sync.state).toBe('idle');
    expect(sync.resyncs).toEqual({});
  });
});

/** BookSync: what a gap found while matching the buffer with a snapshot keeps, by snapshot source. */
import { describe, expect, it } from 'vitest';
import type { BookDeltaEvent } from '../domain/events.js';
import { BINANCE_SPOT_RULES, BookSync, CONSECUTIVE_RULES, type BookSyncOptions, type SequenceRules } from './book-sync.js';
import { HarnessSink } from './frame-harness.js';

const delta = (U: number, u: number, bids: [number, number][] = []): BookDeltaEvent => ({
  type: 'book_delta', exchange: 'x', symbol: 'S', ts: 0, recvTs: 0, firstSeq: U, seq: u, bids: bids.map(([price, qty]) => ({ price, qty })), asks: [],
});
const book = (seq: number, bid: number) => ({ seq, bids: [{ price: bid, qty: 1 }], asks: [{ price: 100, qty: 1 }], ts: 0 });

/** Bybit's: snapshots come in-band after what they supersede, so none is "too old" for the buffer. */
const PUSHED_RULES: SequenceRules = { ...CONSECUTIVE_RULES, name: 'pushed', snapshotTooOld: () => false };

function make(extra: Partial<BookSyncOptions>) {
  const sink = new HarnessSink();
  const asks: string[] = [];
  const sync = new BookSync({ exchange: 'x', symbol: 'S', rules: CONSECUTIVE_RULES, sink: () => sink, requestSnapshot: (_s, why) => asks.push(why), now: () => 1, ...extra });
  return { sink, asks, sync };
}

describe('BookSync: a gap behind a snapshot', () => {
  it('venue-pushed snapshots supersede every update buffered before them: after a venue restart of its ids the snapshot syncs at once', () => {
    const { sink, asks, sync } = make({ rules: PUSHED_RULES, snapshotWhen: 'venue' });
    sync.begin();
    sync.onSnapshot(book(1000, 10));
    sync.onDelta(delta(1002, 1002, [[11, 1]])); // 1001 lost: a gap
    expect(sync.state).toBe('buffering');
    sync.onSnapshot(book(1, 12)); // the venue restarted its ids
    expect(sync.state).toBe('synced');
    expect(sync.lastSeq).toBe(1);
    expect(sink.book.bids.best()).toBe(12);
    expect(asks).toHaveLength(2); // begin, the gap
  });

  it('venue-pushed snapshots: an update from before the snapshot whose id is the snapshot\'s + 1 is not replayed onto it (the venue\'s real next update applies)', () => {
    const { sink, sync } = make({ rules: PUSHED_RULES, snapshotWhen: 'venue' });
    sync.begin();
    sync.onSnapshot(book(50, 10));
    sync.onDelta(delta(51, 51));
    sync.onDelta(delta(57, 57, [[11, 1]])); // forged or stale: a gap, the book resyncs
    expect(sync.state).toBe('buffering');
    sync.onSnapshot(book(56, 12)); // the venue's answer: its book at 56
    expect(sync.state).toBe('synced');
    expect(sync.lastSeq).toBe(56);
    expect(sink.book.bids.best()).toBe(12); // not the buffered update's 11
    sync.onDelta(delta(57, 57, [[13, 1]])); // the venue's real 57
    expect(sync.lastSeq).toBe(57);
    expect(sink.book.bids.best()).toBe(13);
  });

  it('venue-pushed snapshots: an id implausibly far ahead of the last update seen while awaiting it is refused (seq_jump), though nothing is buffered', () => {
    const { sink, asks, sync } = make({ rules: PUSHED_RULES, snapshotWhen: 'venue', maxSeqJump: 1000 });
    sync.begin();
    sync.onDelta(delta(8, 8));
    expect(sync.buffered).toBe(0);
    sync.onSnapshot(book(9_007_199_254_740_000, 10));
    expect(sync.state).toBe('buffering');
    expect(sync.reporter.counts.seq_jump).toBe(1);
    expect(asks).toHaveLength(2);
    sync.onSnapshot(book(7, 11));
    expect(sync.state).toBe('synced');
    expect(sink.book.bids.best()).toBe(11);
  });

  it('fetched snapshots (Binance): the live updates after the gap stay buffered for the next snapshot to reach', () => {
    const { sink, asks, sync } = make({ rules: BINANCE_SPOT_RULES });
    sync.begin();
    sync.onDelta(delta(100, 101));
    sync.onDelta(delta(105, 106, [[11, 1]])); // 102..104 lost from the stream
    sync.onSnapshot(book(100, 10));
    expect(sync.state).toBe('buffering');
    expect(sync.buffered).toBe(1);
    sync.onSnapshot(book(105, 10));
    expect(sync.state).toBe('synced');
    expect(sink.book.bids.best()).toBe(11);
    expect(asks).toHaveLength(2);
  });
});

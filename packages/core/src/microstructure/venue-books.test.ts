import { describe, expect, it } from 'vitest';
import { BookStore } from './venue-books.js';
import type { BookDeltaEvent, BookSnapshotEvent } from '../domain/events.js';

const snap = (seq: number, t = 0): BookSnapshotEvent => ({
  type: 'book_snapshot', exchange: 'x', symbol: 'S', ts: t, recvTs: t, seq, reason: 'initial',
  bids: [{ price: 100, qty: 5 }], asks: [{ price: 101, qty: 5 }],
});
const delta = (seq: number, t: number): BookDeltaEvent => ({
  type: 'book_delta', exchange: 'x', symbol: 'S', ts: t, recvTs: t, firstSeq: seq, seq,
  // the venue pulls the whole bid side and moves the ask down: none of this may be applied
  bids: [{ price: 100, qty: 0 }], asks: [{ price: 101, qty: 0 }, { price: 90, qty: 1 }],
});

describe('BookStore staleness: only applied updates keep a book fresh', () => {
  it('a book whose deltas are all dropped as OLD (the venue restarted its sequence numbers) leaves SYNCED: the watchdog resyncs it, since it missed those updates', () => {
    const store = new BookStore();
    store.applySnapshot(snap(1_000_000), 0);
    // the venue restarts its sequence numbers after maintenance: 1, 2, 3, ... all <= 1_000_000,
    // within the jump bound (10M) below the book, fewer than maxOldInARow (100) of them, 10 s
    // apart: dropped as OLD one by one
    for (let i = 1; i <= 6; i++) store.applyDelta(delta(i, i * 10_000), i * 10_000);
    const rec = store.get('x', 'S')!;
    expect(rec.state).toBe('synced');
    expect(rec.book.bestBid()).toBe(100); // the book has not changed for 60 s
    expect(rec.book.lastUpdateTs).toBe(0);
    expect(rec.lastEventTs).toBe(0); // what the risk check and cwts_feed_last_event_age_seconds read
    store.checkStaleness(60_000, 10_000);
    // Not merely stale, as this test once expected: a stale book resumes on the next in-sequence
    // delta, and the venue's restarted sequence reaches 1_000_001 after a million updates the book
    // dropped: it would be SYNCED with the bid at 100 the venue pulled in update 1.
    expect(rec.state).toBe('resyncing');
    expect(rec.reason).toMatch(/^sequence_reset: no update for 60000 ms, while 6 deltas at or below 1000000 were dropped as old/);
    // so the "in-sequence" delta does not resume it; only a snapshot does
    store.applyDelta({ ...delta(1_000_001, 61_000), asks: [{ price: 102, qty: 1 }], bids: [] }, 61_000);
    expect(rec.state).toBe('resyncing');
    expect(rec.lastEventTs).toBe(0);
    store.applySnapshot({ ...snap(1_000_001, 62_000), reason: 'resync' }, 62_000);
    expect(rec.state).toBe('synced');
    expect(rec.lastEventTs).toBe(62_000);
  });

  it('a quiet book (no delta dropped since its last update) goes stale, and an applied delta makes it usable again', () => {
    const store = new BookStore();
    store.applySnapshot(snap(1_000_000), 0);
    const rec = store.get('x', 'S')!;
    store.checkStaleness(60_000, 10_000);
    expect(rec.state).toBe('stale');
    expect(rec.reason).toBe('no update for 60000 ms');
    store.applyDelta({ ...delta(1_000_001, 61_000), asks: [{ price: 102, qty: 1 }], bids: [] }, 61_000);
    expect(rec.lastEventTs).toBe(61_000);
    expect(rec.state).toBe('synced');
    store.checkStaleness(70_000, 10_000);
    expect(rec.state).toBe('synced');
  });

  it('a venue that restarts its ids below the book (within the bounds) never leaves it SYNCED and missing the updates dropped as OLD', () => {
    const moved = (seq: number, t: number, bids: BookDeltaEvent['bids'], asks: BookDeltaEvent['asks']): BookDeltaEvent => ({ ...delta(seq, t), bids, asks });
    // with a burst (more than maxOldInARow in a row) and with a trickle (fewer, the watchdog between them)
    for (const restartedUpdates of [1_000, 50]) {
      const store = new BookStore();
      store.applySnapshot(snap(restartedUpdates), 0);
      const rec = store.get('x', 'S')!;
      // update 1 of the restarted sequence pulls the bid at 100 and the ask at 101: the market moves to 90 / 91
      store.applyDelta(moved(1, 1_000, [{ price: 100, qty: 0 }, { price: 90, qty: 3 }], [{ price: 101, qty: 0 }, { price: 91, qty: 3 }]), 1_000);
      for (let s = 2; s <= restartedUpdates; s++) store.applyDelta(moved(s, 1_000 + s, [{ price: 90, qty: 3 + (s % 5) }], []), 1_000 + s);
      store.checkStaleness(20_000, 10_000);
      expect(rec.state).toBe('resyncing');
      expect(rec.reason).toMatch(/^sequence_reset/);
      // the restarted sequence passes the book's old id: still not usable
      store.applyDelta(moved(restartedUpdates + 1, 21_000, [], [{ price: 105, qty: 1 }]), 21_000);
      expect(rec.book.bestBid()).toBe(100);
      expect(rec.state).toBe('resyncing');
      expect(rec.book.resyncsByReason.get('sequence_reset')).toBe(1);
    }
  });

  it('a delta far below the book (more than the jump bound) starts a resync at once', () => {
    const store = new BookStore();
    store.applySnapshot(snap(50_000_000), 0);
    store.applyDelta(delta(1, 1000), 1000);
    const rec = store.get('x', 'S')!;
    expect(rec.state).toBe('resyncing');
    expect(rec.reason).toMatch(/^sequence_reset/);
    expect(rec.lastEventTs).toBe(0);
    store.applySnapshot({ ...snap(1, 2000), reason: 'resync' }, 2000);
    expect(rec.state).toBe('synced');
    expect(rec.lastEventTs).toBe(2000);
    expect(rec.resyncs).toBe(1);
  });

  it('invalid snapshots and deltas dropped while resyncing or disconnected do not refresh lastEventTs', () => {
    const store = new BookStore();
    store.applySnapshot(snap(10), 500);
    const rec = store.get('x', 'S')!;
    expect(rec.lastEventTs).toBe(500);
    store.applyDelta({ ...delta(13, 600), firstSeq: 13 }, 600); // gap: resyncing, not applied
    expect(rec.state).toBe('resyncing');
    store.applyDelta(delta(14, 700), 700); // ignored while resyncing
    expect(rec.lastEventTs).toBe(500);
    store.applySnapshot({ ...snap(20, 800), bids: [{ price: 100, qty: 1.5 }] }, 800); // invalid
    expect(rec.state).toBe('resyncing');
    expect(rec.lastEventTs).toBe(500);
    store.applySnapshot(snap(20, 900), 900);
    expect(rec.lastEventTs).toBe(900);
    store.applyStatus({ type: 'feed_status', exchange: 'x', symbol: 'S', state: 'disconnected', reason: 'socket closed', ts: 950 });
    store.applyDelta({ ...delta(21, 1000), asks: [{ price: 102, qty: 1 }], bids: [] }, 1000);
    expect(rec.lastEventTs).toBe(900);
  });
});

describe('BookStore: a resync of its own (ownResync), which the adapter did not announce', () => {
  const statusOf = (state: 'resyncing' | 'synced'): Parameters<BookStore['applyStatus']>[0] => ({ type: 'feed_status', exchange: 'x', symbol: 'S', state, reason: 'gap', ts: 0 });

  it('is set by a gap between deltas, an invalid snapshot and the watchdog, told once per resync, and cleared by a snapshot or the adapter announcing it', () => {
    const store = new BookStore();
    const told: string[] = [];
    store.onResyncOfOwn((rec) => told.push(`${rec.state}: ${rec.reason}`));
    store.applySnapshot(snap(100), 0);
    const rec = store.get('x', 'S')!;
    expect(rec.ownResync).toBe(false);
    // a gap the adapter let through
    store.applyDelta({ ...delta(103, 1), asks: [], bids: [{ price: 99, qty: 1 }] }, 1);
    expect(rec).toMatchObject({ state: 'resyncing', ownResync: true });
    store.applyDelta({ ...delta(104, 2), asks: [], bids: [{ price: 99, qty: 1 }] }, 2); // ignored while resyncing: no second word
    expect(told).toEqual(['resyncing: sequence_gap: expected 101, got 103..103']);
    // the adapter announces it: its own now
    store.applyStatus(statusOf('resyncing'));
    expect(rec.ownResync).toBe(false);
    // its snapshot has an impossible level: the next is the engine's to ask for again
    store.applySnapshot({ ...snap(200), bids: [{ price: 100, qty: -5 }] }, 3);
    expect(rec).toMatchObject({ state: 'resyncing', ownResync: true });
    expect(told).toHaveLength(2);
    store.applySnapshot(snap(201), 4);
    expect(rec).toMatchObject({ state: 'synced', ownResync: false });
    // the watchdog's sequence_reset is its own too
    store.applyDelta({ ...delta(5, 5), asks: [], bids: [{ price: 99, qty: 1 }] }, 5);
    store.checkStaleness(60_000, 10_000);
    expect(rec).toMatchObject({ state: 'resyncing', ownResync: true });
    expect(told[2]).toMatch(/^resyncing: sequence_reset: no update for/);
  });

  it('a resync the adapter announced is never its own, and the venue saying synced does not end one', () => {
    const store = new BookStore();
    const told: string[] = [];
    store.onResyncOfOwn((rec) => told.push(rec.reason));
    store.applySnapshot(snap(100), 0);
    store.applyStatus(statusOf('resyncing'));
    const rec = store.get('x', 'S')!;
    expect(rec).toMatchObject({ state: 'resyncing', ownResync: false });
    store.applyDelta(delta(105, 1), 1);
    expect(rec.ownResync).toBe(false);
    expect(told).toEqual([]);
  });
});

describe('BookStore staleness after the wall clock steps back', () => {
  it('a silent book goes stale within the limit of the step, not once the clock has made up the whole step', () => {
    const store = new BookStore();
    store.applySnapshot(snap(100), 100_000);
    const rec = store.get('x', 'S')!;
    // the clock steps back an hour; the venue says nothing from then on
    store.checkStaleness(100_000 - 3_600_000, 10_000);
    expect(rec.state).toBe('synced');
    store.checkStaleness(100_000 - 3_600_000 + 10_001, 10_000);
    expect(rec.state).toBe('stale');
  });
});

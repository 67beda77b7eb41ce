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
  it('a book whose deltas are all dropped as OLD (the venue restarted its sequence numbers) goes stale', () => {
    const store = new BookStore();
    store.applySnapshot(snap(1_000_000), 0);
    // the venue restarts its sequence numbers after maintenance: 1, 2, 3, ... all <= 1_000_000,
    // within the jump bound (10M) below the book: dropped as OLD one by one
    for (let i = 1; i <= 60; i++) store.applyDelta(delta(i, i * 1000), i * 1000);
    const rec = store.get('x', 'S')!;
    expect(rec.book.bestBid()).toBe(100); // the book has not changed for 60 s
    expect(rec.book.lastUpdateTs).toBe(0);
    expect(rec.lastEventTs).toBe(0); // what the risk check and cwts_feed_last_event_age_seconds read
    store.checkStaleness(60_000, 10_000);
    expect(rec.state).toBe('stale');
    expect(rec.reason).toBe('no update for 60000 ms');
    // an applied delta refreshes it and makes the book usable again
    store.applyDelta({ ...delta(1_000_001, 61_000), asks: [{ price: 102, qty: 1 }], bids: [] }, 61_000);
    expect(rec.lastEventTs).toBe(61_000);
    expect(rec.state).toBe('synced');
    store.checkStaleness(70_000, 10_000);
    expect(rec.state).toBe('synced');
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

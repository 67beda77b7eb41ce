import { describe, expect, it } from 'vitest';
import { FEED_RECORD_BYTES, FeedRecordReader, FeedRecordWriter } from './feed-records.js';
import { L2Book } from './l2-book.js';
import { SpscRing } from './ring-buffer.js';

/** A book synced on a first snapshot: bid 99, ask 101 (seq 0: a venue without sequence numbers, unless given). */
function syncedBook(seq = 0): L2Book {
  const book = new L2Book('x', 'S');
  book.applySnapshot({ seq, bids: [{ price: 99, qty: 1 }], asks: [{ price: 101, qty: 1 }] });
  expect(book.state).toBe('synced');
  return book;
}

const top = (b: L2Book) => ({ state: b.state, bid: b.bestBid(), ask: b.bestAsk() });

describe('feed records: a group reaches the book whole or not at all', () => {
  it('a snapshot torn by a full ring (non-blocking writer) is never served: the book keeps its last whole state, then resyncs (torn_group)', () => {
    const ring = SpscRing.create(4, FEED_RECORD_BYTES);
    const book = syncedBook();
    const w = new FeedRecordWriter(ring, false); // drop when full
    const trades: number[] = [];
    const r = new FeedRecordReader(ring, [book], (_i, _s, price) => trades.push(price));
    // new snapshot: 2 bids + 2 asks; the ring holds the header and 3 levels, the best ask is dropped
    const ok = [w.snapshot(0, 0, 1, 1, 4), w.level(0, 0, 100, 5), w.level(0, 0, 98, 5), w.level(0, 1, 103, 5), w.level(0, 1, 102, 5)];
    w.flush();
    expect(ok).toEqual([true, true, true, true, false]);
    expect(w.dropped).toBe(1);
    r.drain();
    // not cleared, not half loaded (best ask 103 where the venue has 102)
    expect(top(book)).toEqual({ state: 'synced', bid: 99, ask: 101 });
    expect(r.midGroup).toBe(true);

    // the next record shows the snapshot will never be complete
    w.trade(0, 0, 100, 1, 7, 2, 2);
    w.flush();
    r.drain();
    expect(trades).toEqual([100]);
    expect(book.state).toBe('resyncing');
    expect(book.stateReason).toMatch(/^torn_group: snapshot 0: 3 of 4 levels arrived/);
    expect(book.resyncsByReason.get('torn_group')).toBe(1);
    expect(r.tornGroups).toBe(1);
    expect(r.midGroup).toBe(false);

    // the next whole snapshot repairs it
    expect([w.snapshot(0, 0, 3, 3, 2), w.level(0, 0, 100, 5), w.level(0, 1, 102, 5)]).toEqual([true, true, true]);
    w.flush();
    r.drain();
    expect(top(book)).toEqual({ state: 'synced', bid: 100, ask: 102 });
    expect(w.dropped).toBe(1);
  });

  it('a delta or a snapshot split by drain(max) is never visible half applied', () => {
    const ring = SpscRing.create(16, FEED_RECORD_BYTES);
    const book = syncedBook(10);
    const w = new FeedRecordWriter(ring);
    const r = new FeedRecordReader(ring, [book]);
    // one delta moves the market up: new ask 105 and bid 104, old levels removed
    w.delta(0, 11, 11, 1, 1, 4);
    w.level(0, 1, 105, 1);
    w.level(0, 0, 104, 1);
    w.level(0, 1, 101, 0);
    w.level(0, 0, 99, 0);
    w.flush();
    expect(r.drain(3)).toBe(3); // header, ask 105, bid 104: bid 104 >= ask 101 would be on the book
    expect({ ...top(book), crossed: book.isCrossed() }).toEqual({ state: 'synced', bid: 99, ask: 101, crossed: false });
    r.drain();
    expect(top(book)).toEqual({ state: 'synced', bid: 104, ask: 105 });
    expect(book.seq).toBe(11);

    w.snapshot(0, 20, 2, 2, 2);
    w.level(0, 0, 200, 1);
    w.level(0, 1, 201, 1);
    w.flush();
    r.drain(2); // header and the bid: the book is not cleared yet
    expect(top(book)).toEqual({ state: 'synced', bid: 104, ask: 105 });
    r.drain();
    expect(top(book)).toEqual({ state: 'synced', bid: 200, ask: 201 });
    expect(book.seq).toBe(20);
    expect(r.tornGroups).toBe(0);
  });

  it('a delta lost whole (no sequence numbers to show it) makes the next delta of that instrument a resync (records_dropped), not an update', () => {
    const ring = SpscRing.create(4, FEED_RECORD_BYTES);
    const book = syncedBook();
    const other = syncedBook();
    const w = new FeedRecordWriter(ring, false);
    const r = new FeedRecordReader(ring, [book, other]);
    expect([w.delta(0, 0, 0, 1, 1, 1), w.level(0, 0, 99, 3)]).toEqual([true, true]);
    expect([w.delta(1, 0, 0, 1, 1, 1), w.level(1, 1, 101, 4)]).toEqual([true, true]);
    // the ring is full: the next delta of instrument 0 goes whole (its level after its header)
    expect([w.delta(0, 0, 0, 2, 2, 1), w.level(0, 1, 101, 0)]).toEqual([false, false]);
    w.flush();
    expect(w.dropped).toBe(2);
    r.drain();
    expect(book.qtyAt('bid', 99)).toBe(3);
    expect(other.qtyAt('ask', 101)).toBe(4);

    // instrument 1 lost nothing: its next delta applies; instrument 0's says records were dropped
    w.delta(1, 0, 0, 3, 3, 1);
    w.level(1, 1, 101, 5);
    w.delta(0, 0, 0, 3, 3, 1);
    w.level(0, 0, 98, 1);
    w.flush();
    r.drain();
    expect(other.qtyAt('ask', 101)).toBe(5);
    expect(other.state).toBe('synced');
    expect(book.state).toBe('resyncing');
    expect(book.stateReason).toMatch(/^records_dropped/);
    expect(book.qtyAt('bid', 98)).toBe(0);
    // told once: the delta after it is an ordinary one (ignored while the book resyncs)
    w.delta(0, 0, 0, 4, 4, 1);
    w.level(0, 0, 97, 1);
    w.flush();
    r.drain();
    expect(book.resyncs).toBe(1);
    expect(book.qtyAt('bid', 97)).toBe(0);
  });

  it('level records without their header never touch a book: it resyncs once (torn_group)', () => {
    const ring = SpscRing.create(8, FEED_RECORD_BYTES);
    const book = syncedBook();
    const w = new FeedRecordWriter(ring);
    const r = new FeedRecordReader(ring, [book]);
    w.level(0, 1, 90, 5); // would cross the bid at 99
    w.level(0, 1, 91, 5);
    w.flush();
    r.drain();
    expect(book.bestAsk()).toBe(101);
    expect(book.state).toBe('resyncing');
    expect(book.resyncsByReason.get('torn_group')).toBe(1);
    expect(r.tornGroups).toBe(1);
  });
});

describe('feed records: a sink that throws', () => {
  it('ends the drain with the throw, the records up to it consumed: no trade reaches the sink twice', () => {
    const ring = SpscRing.create(16, FEED_RECORD_BYTES);
    const book = syncedBook(10);
    const w = new FeedRecordWriter(ring);
    const seen: number[] = [];
    let threw = false;
    const r = new FeedRecordReader(ring, [book], (_inst, _side, _price, _qty, seq) => {
      if (seq === 2 && !threw) {
        threw = true;
        throw new Error('ENOSPC: no space left on device, write'); // e.g. a recorder or a paper fill that throws
      }
      seen.push(seq);
    });
    w.trade(0, 0, 100, 1, 1, 1, 1);
    w.delta(0, 11, 11, 1, 1, 1);
    w.level(0, 0, 100, 4);
    w.trade(0, 0, 100, 1, 2, 1, 1);
    w.trade(0, 0, 100, 1, 3, 1, 1);
    w.flush();
    expect(() => r.drain()).toThrow(/ENOSPC/);
    expect(r.recordsRead).toBe(4); // trade 1, the delta and its level, trade 2 (the one that threw)
    expect(book.qtyAt('bid', 100)).toBe(4);
    expect(r.drain()).toBe(1);
    // trade 1 and the delta were dispatched before the throw: neither is handed out again
    expect(seen).toEqual([1, 3]);
    expect(book.seq).toBe(11);
    expect(book.state).toBe('synced');
    expect(r.recordsRead).toBe(5);
  });

  it('a poison record (the sink always throws on it) is passed once, not read again by every drain: the records after it still arrive', () => {
    const ring = SpscRing.create(16, FEED_RECORD_BYTES);
    const w = new FeedRecordWriter(ring);
    const seen: number[] = [];
    const r = new FeedRecordReader(ring, [], (_inst, _side, _price, _qty, seq) => {
      if (seq === 2) throw new Error('bad trade');
      seen.push(seq);
    });
    for (let s = 1; s <= 3; s++) w.trade(0, 0, 100, 1, s, 1, 1);
    w.flush();
    let throws = 0;
    for (let i = 0; i < 3; i++) {
      try {
        r.drain();
      } catch {
        throws++; // the engine logs it and drains again
      }
    }
    expect({ seen, throws, read: r.recordsRead, left: ring.readable() }).toEqual({ seen: [1, 3], throws: 1, read: 3, left: 0 });
  });
});

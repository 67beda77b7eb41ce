/**
 * A snapshot goes into the adapter's mirror book in one bulk load (MirrorBook.load), never level
 * by level: SortedLevels keeps the best level last, so a venue's best-first snapshot set() per
 * level inserts every level at index 0 and shifts all the levels loaded before it (O(n^2): about
 * half a second of the feed thread for 50k levels a side). The load must build exactly the book
 * the per-level path builds, for any order, repeated prices and qty 0 levels included.
 * (The speed itself is measured in `pnpm bench mirror`, not asserted here.)
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import type { MarketEventSink } from '../contracts/exchange.js';
import type { BookLevel } from '../domain/events.js';
import { SortedLevels } from '../microstructure/sorted-levels.js';
import { BookSync, CONSECUTIVE_RULES, type SnapshotInput } from './book-sync.js';
import { MirrorBook, type MirrorSide } from './mirror-book.js';

/** What a side holds, best first, plus what get() answers for every price that was listed. */
function view(side: MirrorSide, prices: readonly number[]): { n: number; levels: BookLevel[]; at: number[]; best: number } {
  return { n: side.n, levels: side.levels(), at: prices.map((p) => side.get(p)), best: side.best() };
}

function perLevel(bids: readonly BookLevel[], asks: readonly BookLevel[]): MirrorBook {
  const m = new MirrorBook();
  m.apply(bids, asks);
  return m;
}

const level = fc.record({ price: fc.integer({ min: 1, max: 60 }), qty: fc.integer({ min: 0, max: 4 }) });

/** One side's levels in a venue's order: best first, worst first (both unique prices), or as drawn. */
function ordered(levels: BookLevel[], isBid: boolean, order: 'best' | 'worst' | 'raw'): BookLevel[] {
  if (order === 'raw') return levels;
  const byPrice = new Map(levels.map((l) => [l.price, l]));
  const out = [...byPrice.values()].sort((a, b) => a.price - b.price); // ascending
  const bestFirst = isBid ? out.reverse() : out;
  return order === 'best' ? bestFirst : bestFirst.reverse();
}

describe('MirrorBook.load', () => {
  it('builds the same book as applying the levels one by one onto an empty book (any order, repeats, qty 0)', () => {
    fc.assert(
      fc.property(
        fc.array(level, { maxLength: 80 }),
        fc.array(level, { maxLength: 80 }),
        fc.constantFrom('best', 'worst', 'raw'),
        fc.array(level, { maxLength: 20 }),
        (rawBids, rawAsks, order, before) => {
          const bids = ordered(rawBids, true, order as 'best' | 'worst' | 'raw');
          const asks = ordered(rawAsks, false, order as 'best' | 'worst' | 'raw');
          const want = perLevel(bids, asks);
          const got = new MirrorBook();
          got.apply(before, before); // whatever was there is replaced
          got.seq = 7;
          got.load(bids, asks);
          const prices = [...bids, ...asks, ...before].map((l) => l.price);
          expect(view(got.bids, prices)).toEqual(view(want.bids, prices));
          expect(view(got.asks, prices)).toEqual(view(want.asks, prices));
          expect(got.isCrossed()).toBe(want.isCrossed());
          expect(got.seq).toBe(7); // the caller's to set
          // and the loaded book takes deltas as the per-level one does
          const d = [{ price: 30, qty: 9 }, { price: rawBids[0]?.price ?? 1, qty: 0 }];
          got.apply(d, d);
          want.apply(d, d);
          expect(view(got.bids, prices)).toEqual(view(want.bids, prices));
          expect(view(got.asks, prices)).toEqual(view(want.asks, prices));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps the last level of a repeated price, and a last qty 0 removes it', () => {
    const m = new MirrorBook();
    m.load(
      [{ price: 10, qty: 1 }, { price: 12, qty: 2 }, { price: 10, qty: 3 }, { price: 11, qty: 4 }, { price: 11, qty: 0 }],
      [{ price: 20, qty: 1 }, { price: 20, qty: 0 }, { price: 21, qty: 5 }, { price: 20, qty: 6 }],
    );
    expect(m.bids.levels()).toEqual([{ price: 12, qty: 2 }, { price: 10, qty: 3 }]);
    expect(m.asks.levels()).toEqual([{ price: 20, qty: 6 }, { price: 21, qty: 5 }]);
  });

  it('grows past its initial capacity and loads an empty side as empty', () => {
    const m = new MirrorBook();
    const bids = Array.from({ length: 5000 }, (_, i) => ({ price: 100_000 - i, qty: 1 + (i % 3) }));
    m.load(bids, []);
    expect(m.bids.n).toBe(5000);
    expect(m.bids.best()).toBe(100_000);
    expect(m.bids.priceAt(4999)).toBe(95_001);
    expect(m.asks.n).toBe(0);
    expect(m.asks.best()).toBeNaN();
    m.load([], []);
    expect(m.bids.n).toBe(0);
  });
});

function sync() {
  const rejects: string[] = [];
  const asked: string[] = [];
  const sink: MarketEventSink = { onMarketEvent: () => {}, onFeedStatus: () => {}, onFeedError: () => {}, onFeedReject: (r) => rejects.push(r.reason) };
  const s = new BookSync({ exchange: 'x', symbol: 'S', rules: CONSECUTIVE_RULES, sink: () => sink, requestSnapshot: (_s, why) => asked.push(why), snapshotWhen: 'venue', now: () => 1 });
  s.begin();
  return { s, rejects, asked };
}

/** n levels a side around a mid of 10_000_000 ticks, in the venues' order (best first). */
function bestFirst(n: number): SnapshotInput {
  const bids: BookLevel[] = [];
  const asks: BookLevel[] = [];
  for (let i = 0; i < n; i++) {
    bids.push({ price: 10_000_000 - i, qty: 1 + (i % 7) });
    asks.push({ price: 10_000_001 + i, qty: 1 + (i % 5) });
  }
  return { seq: 5, bids, asks, ts: 0 };
}

describe('BookSync.onSnapshot and the mirror book', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('loads a best-first, worst-first or shuffled snapshot without inserting level by level', () => {
    const insert = vi.spyOn(SortedLevels.prototype, 'insertAt');
    const set = vi.spyOn(SortedLevels.prototype, 'set');
    const snap = bestFirst(4000);
    const worst: SnapshotInput = { ...snap, bids: [...snap.bids].reverse(), asks: [...snap.asks].reverse() };
    // a fixed permutation (stride coprime with n), so the run is deterministic
    const mix = (ls: BookLevel[]) => ls.map((_, i) => ls[(i * 7919) % ls.length]!);
    const shuffled: SnapshotInput = { ...snap, bids: mix(snap.bids), asks: mix(snap.asks) };
    for (const input of [snap, worst, shuffled]) {
      const { s } = sync();
      s.onSnapshot(input);
      expect(s.state).toBe('synced');
      expect(s.mirror.bids.n).toBe(4000);
      expect(s.mirror.asks.n).toBe(4000);
      expect(s.mirror.bids.levels()).toEqual(snap.bids);
      expect(s.mirror.asks.levels()).toEqual(snap.asks);
    }
    // the per-level path makes 8k insertAt calls per snapshot here, each shifting every level before it
    expect(insert).not.toHaveBeenCalled();
    expect(set).not.toHaveBeenCalled();
  });

  it('refuses the same snapshots as before: crossed, zero, negative or off-grid levels (counted, asked again)', () => {
    const big = bestFirst(2000);
    const cases: [SnapshotInput, string][] = [
      [{ ...big, asks: [{ price: 9_999_000, qty: 1 }, ...big.asks.slice(1)].sort((a, b) => a.price - b.price) }, 'bad_snapshot'], // crossed
      [{ ...big, bids: [...big.bids.slice(0, 100), { price: 9_000_000, qty: 0 }] }, 'zero_qty'],
      [{ ...big, asks: [...big.asks, { price: 11_000_000, qty: -1 }] }, 'negative_qty'],
      [{ ...big, bids: [...big.bids, { price: 9_000_000.5, qty: 1 }] }, 'off_grid'],
    ];
    for (const [snap, reason] of cases) {
      const { s, rejects, asked } = sync();
      s.onSnapshot(snap);
      expect(rejects, reason).toEqual([reason]);
      expect(s.reporter.counts, reason).toEqual({ [reason]: 1 });
      expect(asked.length, reason).toBe(2); // begin, then again
      expect(s.state, reason).toBe('buffering');
      expect(s.mirror.bids.n + s.mirror.asks.n, reason).toBe(0);
    }
  });

  it('a snapshot listing a price twice keeps the last, as the per-level load did', () => {
    const { s } = sync();
    s.onSnapshot({ seq: 3, bids: [{ price: 100, qty: 1 }, { price: 99, qty: 2 }, { price: 100, qty: 5 }], asks: [{ price: 101, qty: 1 }], ts: 0 });
    expect(s.state).toBe('synced');
    expect(s.mirror.bids.levels()).toEqual([{ price: 100, qty: 5 }, { price: 99, qty: 2 }]);
    expect(s.lastSeq).toBe(3);
  });
});

import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { L2Book, DeltaResult, BID, ASK } from './l2-book.js';
import { SortedLevels } from './sorted-levels.js';
import { L2BookStore, bookMetricsListeners } from './book-store.js';
import { ConsolidatedBook } from './consolidated.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { defineInstrument } from '../domain/instrument.js';

const lv = (price: number, qty: number) => ({ price, qty });
const snap = (seq: number, bids: [number, number][], asks: [number, number][]) => ({
  seq,
  bids: bids.map(([p, q]) => lv(p, q)),
  asks: asks.map(([p, q]) => lv(p, q)),
});
const delta = (firstSeq: number, seq: number, bids: [number, number][], asks: [number, number][]) => ({
  firstSeq,
  seq,
  bids: bids.map(([p, q]) => lv(p, q)),
  asks: asks.map(([p, q]) => lv(p, q)),
});

function refTop(m: Map<number, number>, desc: boolean, n: number) {
  return [...m.entries()]
    .filter(([, q]) => q > 0)
    .sort((a, b) => (desc ? b[0] - a[0] : a[0] - b[0]))
    .slice(0, n)
    .map(([price, qty]) => ({ price, qty }));
}

describe('L2Book', () => {
  it('applies a snapshot and deltas; best, depth, top-N, qtyUpTo', () => {
    const b = new L2Book('x', 'BTC');
    expect(b.state).toBe('resyncing');
    expect(b.synced).toBe(false);
    b.applySnapshot(snap(10, [[100, 5], [99, 3], [97, 1]], [[101, 2], [103, 4]]));
    expect(b.state).toBe('synced');
    expect(b.bestBid()).toBe(100);
    expect(b.bestAsk()).toBe(101);
    expect(b.qtyAt('bid', 99)).toBe(3);
    expect(b.qtyAt('ask', 102)).toBe(0);
    expect(b.applyDelta(delta(11, 11, [[100, 0], [98, 7]], [[101, 9]]))).toBe(DeltaResult.APPLIED);
    expect(b.bestBid()).toBe(99);
    const out: { price: number; qty: number }[] = [];
    expect(b.topLevels('bid', 10, out)).toBe(3);
    expect(out).toEqual([lv(99, 3), lv(98, 7), lv(97, 1)]);
    const first = out[0];
    b.topLevels('bid', 2, out);
    expect(out[0]).toBe(first); // objects reused
    expect(b.qtyUpTo('ask', 103)).toBe(13);
    expect(b.qtyUpTo('ask', 102)).toBe(9);
    expect(b.qtyUpTo('bid', 98)).toBe(10);
    const ps = new Float64Array(4);
    const qs = new Float64Array(4);
    expect(b.topInto(ASK, 4, ps, qs)).toBe(2);
    expect([...ps.subarray(0, 2)]).toEqual([101, 103]);
    expect(b.seq).toBe(11);
  });

  it('accepts snapshots in any order and with duplicates / zero levels', () => {
    const b = new L2Book('x', 'S');
    b.applySnapshot(snap(1, [[97, 1], [100, 5], [99, 0], [98, 2], [98, 4]], [[110, 1], [105, 2]]));
    expect(b.bestBid()).toBe(100);
    expect(b.qtyAt('bid', 98)).toBe(4);
    expect(b.levelCount('bid')).toBe(3);
    expect(b.bestAsk()).toBe(105);
  });

  it('sequence: old deltas ignored, gaps start a resync with a reason, deltas ignored until snapshot', () => {
    const changes: string[] = [];
    const resyncs: string[] = [];
    const b = new L2Book('x', 'S', { onStateChange: (bk, prev, r) => changes.push(`${prev}->${bk.state}:${r}`), onResync: (_b, r) => resyncs.push(r) });
    b.applySnapshot(snap(100, [[10, 1]], [[12, 1]]));
    expect(b.applyDelta(delta(95, 100, [[10, 9]], []))).toBe(DeltaResult.OLD);
    expect(b.qtyAt('bid', 10)).toBe(1);
    // Binance-style overlap: first delta straddles the snapshot
    expect(b.applyDelta(delta(98, 102, [[10, 2]], []))).toBe(DeltaResult.APPLIED);
    expect(b.applyDelta(delta(105, 106, [[10, 3]], []))).toBe(DeltaResult.GAP);
    expect(b.state).toBe('resyncing');
    expect(b.stateReason).toContain('sequence_gap');
    expect(b.stateReason).toContain('expected 103');
    expect(b.qtyAt('bid', 10)).toBe(2);
    expect(b.applyDelta(delta(103, 103, [[10, 3]], []))).toBe(DeltaResult.IGNORED_RESYNCING);
    b.applySnapshot(snap(200, [[10, 8]], [[12, 1]]));
    expect(b.synced).toBe(true);
    expect(resyncs).toEqual(['sequence_gap']);
    expect(b.resyncsByReason.get('sequence_gap')).toBe(1);
    expect(changes[0]).toMatch(/^resyncing->synced/);
    expect(changes[1]).toMatch(/^synced->resyncing:sequence_gap/);
  });

  it('sequence poisoning: an in-order first id with a far-ahead last id is refused and resyncs, later real deltas apply', () => {
    const b = new L2Book('x', 'S', { maxSeqJump: 1000 });
    b.applySnapshot(snap(100, [[10, 1]], [[12, 1]]));
    expect(b.applyDelta(delta(101, 9_007_199_254_740_000, [[10, 999]], []))).toBe(DeltaResult.INVALID);
    expect(b.state).toBe('resyncing');
    expect(b.stateReason).toContain('sequence_jump');
    expect(b.seq).toBe(100);
    expect(b.qtyAt('bid', 10)).toBe(1);
    b.applySnapshot(snap(150, [[10, 5]], [[12, 1]]));
    expect(b.applyDelta(delta(151, 151, [[10, 6]], []))).toBe(DeltaResult.APPLIED);
    expect(b.synced).toBe(true);
    expect(b.qtyAt('bid', 10)).toBe(6);
    // impossible ranges and unsafe integers are invalid, whatever the jump bound
    expect(b.applyDelta(delta(160, 155, [], []))).toBe(DeltaResult.INVALID);
    b.applySnapshot(snap(200, [[10, 5]], [[12, 1]]));
    expect(b.applyDelta(delta(201, 2 ** 60, [], []))).toBe(DeltaResult.INVALID);
    expect(b.state).toBe('resyncing');
    // the check on the ring path says the same
    b.applySnapshot(snap(300, [[10, 5]], [[12, 1]]));
    expect(b.checkDeltaSeq(301, 301 + 1001, 0)).toBe(DeltaResult.INVALID);
    expect(b.resyncsByReason.get('sequence_jump')).toBe(2);
  });

  it('sequence reset: a delta more than maxSeqJump below the book resyncs (sequence_reset); within the bound it is OLD', () => {
    const b = new L2Book('x', 'S', { maxSeqJump: 1000 });
    b.applySnapshot(snap(5000, [[10, 1]], [[12, 1]]));
    // a late duplicate, up to the bound behind: dropped, the book stays usable
    expect(b.applyDelta(delta(3999, 4000, [[10, 9]], []))).toBe(DeltaResult.OLD);
    expect(b.synced).toBe(true);
    // the venue restarted at 1: the book would stay frozen until the new ids passed 5000
    expect(b.applyDelta(delta(1, 1, [[10, 0]], []))).toBe(DeltaResult.INVALID);
    expect(b.state).toBe('resyncing');
    expect(b.stateReason).toMatch(/^sequence_reset: delta 1\.\.1 is 4999 behind 5000/);
    expect(b.resyncsByReason.get('sequence_reset')).toBe(1);
    expect(b.qtyAt('bid', 10)).toBe(1); // not applied
    expect(b.seq).toBe(5000);
    // the ring path's check agrees
    b.applySnapshot(snap(5000, [[10, 1]], [[12, 1]]));
    expect(b.checkDeltaSeq(2, 3, 0)).toBe(DeltaResult.INVALID);
    // the new sequence syncs from the next snapshot
    b.applySnapshot(snap(3, [[10, 2]], [[12, 1]]));
    expect(b.applyDelta(delta(4, 4, [[10, 3]], []))).toBe(DeltaResult.APPLIED);
    expect(b.qtyAt('bid', 10)).toBe(3);
  });

  it('sequence reset within the bound: maxOldInARow old deltas in a row resync; an applied delta between them restarts the count', () => {
    const b = new L2Book('x', 'S', { maxOldInARow: 3 });
    b.applySnapshot(snap(1000, [[100, 5]], [[101, 5]]));
    // duplicates with an in-sequence update between them: dropped, the book stays usable
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 3; i++) expect(b.applyDelta(delta(999, 1000 + round, [[100, 9]], []))).toBe(DeltaResult.OLD);
      expect(b.oldDroppedSinceUpdate).toBe(3);
      expect(b.applyDelta(delta(1001 + round, 1001 + round, [[100, 6]], []))).toBe(DeltaResult.APPLIED);
      expect(b.oldDroppedSinceUpdate).toBe(0);
    }
    expect(b.synced).toBe(true);
    // the venue restarted at 1: its first three updates are dropped, the fourth shows the restart
    for (let s = 1; s <= 3; s++) expect(b.applyDelta(delta(s, s, [[100, 0]], []))).toBe(DeltaResult.OLD);
    expect(b.applyDelta(delta(4, 4, [[100, 0]], []))).toBe(DeltaResult.INVALID);
    expect(b.state).toBe('resyncing');
    expect(b.stateReason).toMatch(/^sequence_reset: 4 deltas in a row at or below 1003 \(last 4\.\.4\)/);
    expect(b.resyncsByReason.get('sequence_reset')).toBe(1);
    expect(b.qtyAt('bid', 100)).toBe(6);
    // the ring path counts the same way
    b.applySnapshot(snap(1000, [[100, 5]], [[101, 5]]));
    for (let s = 1; s <= 3; s++) expect(b.checkDeltaSeq(s, s, 0)).toBe(DeltaResult.OLD);
    expect(b.checkDeltaSeq(4, 4, 0)).toBe(DeltaResult.INVALID);
    expect(b.resyncsByReason.get('sequence_reset')).toBe(2);
  });

  it('the staleness watchdog resyncs a book that dropped old deltas since its last update (it missed them); a quiet one goes stale and resumes', () => {
    const resyncs: string[] = [];
    const b = new L2Book('x', 'S', { onResync: (_b, r) => resyncs.push(r) });
    b.applySnapshot({ ...snap(1000, [[100, 5]], [[101, 5]]), recvTs: 0 });
    // the venue restarted its ids at 1: updates 1..50 (fewer than maxOldInARow) are dropped as old
    for (let s = 1; s <= 50; s++) expect(b.applyDelta({ ...delta(s, s, [[100, 0], [90, 3]], []), recvTs: s })).toBe(DeltaResult.OLD);
    expect(b.synced).toBe(true);
    expect(b.checkStale(20_000, 10_000)).toBe(true);
    // not stale: the next "in-sequence" id (the restarted sequence passing 1000) would resume it
    // SYNCED with the bid at 100 the venue pulled in update 1
    expect(b.state).toBe('resyncing');
    expect(b.stateReason).toMatch(/^sequence_reset: no_update: none for 20000 ms, while 50 deltas at or below 1000 were dropped as old/);
    expect(resyncs).toEqual(['sequence_reset']);
    expect(b.applyDelta({ ...delta(1001, 1001, [], [[105, 1]]), recvTs: 21_000 })).toBe(DeltaResult.IGNORED_RESYNCING);
    expect(b.synced).toBe(false);

    // a quiet book (no old deltas since its last update) goes stale and the next in-sequence delta resumes it
    b.applySnapshot({ ...snap(1000, [[100, 5]], [[101, 5]]), recvTs: 30_000 });
    expect(b.oldDroppedSinceUpdate).toBe(0);
    expect(b.checkStale(50_000, 10_000)).toBe(true);
    expect(b.state).toBe('stale');
    expect(b.applyDelta({ ...delta(1001, 1001, [[100, 4]], []), recvTs: 50_100 })).toBe(DeltaResult.APPLIED);
    expect(b.state).toBe('synced');
    // old deltas followed by an applied one are settled: the watchdog finds a quiet book
    expect(b.applyDelta({ ...delta(1001, 1001, [[100, 4]], []), recvTs: 50_200 })).toBe(DeltaResult.OLD);
    expect(b.applyDelta({ ...delta(1002, 1002, [[100, 3]], []), recvTs: 50_300 })).toBe(DeltaResult.APPLIED);
    expect(b.markSilent('no update for 11000 ms')).toBe('stale');

    // a stale book that drops an old delta resyncs at once: the venue is sending again, below the book
    expect(b.applyDelta({ ...delta(7, 7, [[100, 0]], []), recvTs: 70_000 })).toBe(DeltaResult.INVALID);
    expect(b.state).toBe('resyncing');
    expect(b.stateReason).toMatch(/^sequence_reset: 1 deltas in a row at or below 1002 on a stale book/);
    expect(resyncs).toEqual(['sequence_reset', 'sequence_reset']);
  });

  it('property: a snapshot in any order, with duplicates and zeros, gives the book of a Map model (the last duplicate wins)', () => {
    const level = fc.tuple(fc.integer({ min: 1, max: 61 }), fc.integer({ min: 0, max: 4 }));
    fc.assert(
      fc.property(fc.array(level, { maxLength: 80 }), fc.array(level, { maxLength: 80 }), (bidLv, askLv) => {
        const b = new L2Book('x', 'S', { initialLevels: 4 });
        // asks shifted up so the book is never crossed; asks in the same (arbitrary) order
        b.applySnapshot(snap(1, bidLv, askLv.map(([p, q]) => [p + 100, q])));
        const bids = new Map<number, number>();
        const asks = new Map<number, number>();
        for (const [p, q] of bidLv) bids.set(p, q);
        for (const [p, q] of askLv) asks.set(p + 100, q);
        const ob: { price: number; qty: number }[] = [];
        const oa: { price: number; qty: number }[] = [];
        const nb = b.topLevels('bid', 1000, ob);
        const na = b.topLevels('ask', 1000, oa);
        expect(ob.slice(0, nb)).toEqual(refTop(bids, true, 1000));
        expect(oa.slice(0, na)).toEqual(refTop(asks, false, 1000));
        expect(b.state).toBe('synced');
        // and the book behaves as one loaded best-first: the next delta lands where it should
        b.applyDelta(delta(2, 2, [[31, 7]], [[131, 7]]));
        expect(b.qtyAt('bid', 31)).toBe(7);
        expect(b.qtyAt('ask', 131)).toBe(7);
      }),
      { numRuns: 300 },
    );
  });

  it('an unsorted or duplicated 300k-level snapshot is sorted in bulk: no level-by-level insert (that was O(n^2), seconds on the engine thread)', () => {
    // Complexity check by counting operations, not by timing: the quadratic fallback inserted
    // every level into the sorted arrays (SortedLevels.set -> insertAt, shifting the levels
    // above). The size is such that the quadratic version also takes seconds.
    const n = 300_000;
    const bids = [];
    for (let i = 0; i < n; i++) bids.push({ price: 10_000_000 - i, qty: 1 });
    const dup = [...bids, { price: 10_000_000, qty: 2 }]; // one repeated level: not strictly best-first
    const shuffled = [...bids];
    let r = 12345;
    for (let i = shuffled.length - 1; i > 0; i--) {
      r = (r * 1103515245 + 12345) >>> 0;
      const j = r % (i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const asks = bids.map((l) => ({ price: 2 * 10_000_000 - l.price + 1, qty: 3 })); // worst-first
    const set = vi.spyOn(SortedLevels.prototype, 'set');
    const insertAt = vi.spyOn(SortedLevels.prototype, 'insertAt');
    try {
      const a = new L2Book('x', 'S');
      a.applySnapshot({ seq: 1, bids: dup, asks });
      const c = new L2Book('x', 'S');
      c.applySnapshot({ seq: 1, bids: shuffled, asks: [] });
      expect({ set: set.mock.calls.length, insertAt: insertAt.mock.calls.length }).toEqual({ set: 0, insertAt: 0 });
      expect(a.levelCount('bid')).toBe(n);
      expect(a.bestBid()).toBe(10_000_000);
      expect(a.bestBidQty()).toBe(2); // the last duplicate wins
      expect(a.priceAtDepth(BID, n - 1)).toBe(10_000_000 - n + 1);
      expect(a.levelCount('ask')).toBe(n);
      expect(a.bestAsk()).toBe(10_000_001);
      expect(a.priceAtDepth(ASK, n - 1)).toBe(10_000_000 + n);
      expect(c.levelCount('bid')).toBe(n);
      for (let i = 0; i < n; i += 997) expect(c.priceAtDepth(BID, i)).toBe(10_000_000 - i);
    } finally {
      set.mockRestore();
      insertAt.mockRestore();
    }
  });

  it('crossed detection, recovery by uncrossing delta, and resync', () => {
    const b = new L2Book('x', 'S');
    b.applySnapshot(snap(1, [[10, 1]], [[12, 1]]));
    b.applyDelta(delta(2, 2, [[12, 1]], []));
    expect(b.state).toBe('crossed');
    expect(b.synced).toBe(false);
    expect(b.stateReason).toContain('crossed_book');
    b.applyDelta(delta(3, 3, [[12, 0]], []));
    expect(b.state).toBe('synced');
    expect(b.stateReason).toContain('uncrossed');
    // crossed snapshot
    b.applySnapshot(snap(10, [[15, 1]], [[12, 1]]));
    expect(b.state).toBe('crossed');
    b.beginResync('crossed_book');
    expect(b.state).toBe('resyncing');
    expect(b.resyncsByReason.get('crossed_book')).toBe(1);
  });

  it('stale state by age and recovery by next delta; invalid data starts a resync', () => {
    const b = new L2Book('x', 'S');
    b.applySnapshot({ ...snap(1, [[10, 1]], [[12, 1]]), recvTs: 1000 });
    expect(b.checkStale(1500, 1000)).toBe(false);
    expect(b.checkStale(2500, 1000)).toBe(true);
    expect(b.state).toBe('stale');
    expect(b.stateReason).toContain('no_update');
    b.applyDelta({ ...delta(2, 2, [[11, 1]], []), recvTs: 2600 });
    expect(b.state).toBe('synced');
    expect(b.applyDelta(delta(3, 3, [[11, 1.5]], []))).toBe(DeltaResult.INVALID);
    expect(b.state).toBe('resyncing');
    expect(b.qtyAt('bid', 11)).toBe(1);
  });

  it('a snapshot or delta with a level at price 0 or below is invalid data: resync counted, never SYNCED on it', () => {
    // A delete is qty 0; a price of 0 or less is nothing a venue quotes (the sim once published
    // bids at -10 ticks and the book showed them SYNCED).
    for (const bad of [0, -10]) {
      const seen: string[] = [];
      const b = new L2Book('x', 'S', { onResync: (_b, r) => seen.push(r) });
      expect(b.applySnapshot(snap(1, [[bad, 5]], [[12, 1]]))).toBe('resyncing');
      expect(b.stateReason).toContain('invalid_snapshot');
      expect(b.levelCount('bid')).toBe(0);
      expect(b.applySnapshot(snap(2, [[10, 1]], [[bad, 5]]))).toBe('resyncing');
      expect(b.resyncsByReason.get('invalid_snapshot')).toBe(2);

      b.applySnapshot(snap(3, [[10, 1]], [[12, 1]]));
      expect(b.state).toBe('synced');
      expect(b.applyDelta(delta(4, 4, [[11, 2], [bad, 3]], []))).toBe(DeltaResult.INVALID);
      expect(b.state).toBe('resyncing');
      expect(b.stateReason).toContain('invalid_delta');
      expect(b.qtyAt('bid', 11)).toBe(0); // nothing of the delta applied
      expect(b.seq).toBe(3);
      b.applySnapshot(snap(5, [[10, 1]], [[12, 1]]));
      expect(b.applyDelta(delta(6, 6, [], [[bad, 0]]))).toBe(DeltaResult.INVALID); // not even as a delete
      expect(b.resyncsByReason.get('invalid_delta')).toBe(2);
      expect(seen).toEqual(['invalid_snapshot', 'invalid_snapshot', 'invalid_delta', 'invalid_delta']);
    }
  });

  it('the raw applyLevel path (a sequenced producer\'s) works for any tick range (negative, huge, sparse prices)', () => {
    const b = new L2Book('x', 'S', { initialLevels: 4 });
    const prices = [-5, 0, 3, 2 ** 40, 2 ** 52, 7, -(2 ** 50)];
    b.applySnapshot(snap(0, [], []));
    for (const p of prices) b.applyLevel(BID, p, 1);
    b.endUpdate(0, 0);
    expect(b.bestBid()).toBe(2 ** 52);
    expect(b.levelCount('bid')).toBe(prices.length);
    const out: { price: number; qty: number }[] = [];
    b.topLevels('bid', 100, out);
    expect(out.map((l) => l.price)).toEqual([...prices].sort((a, c) => c - a));
  });

  it('property: matches a Map model under random snapshots and deltas', () => {
    const level = fc.tuple(fc.integer({ min: 1, max: 101 }), fc.integer({ min: 0, max: 5 }));
    fc.assert(
      fc.property(fc.array(level, { maxLength: 20 }), fc.array(fc.tuple(fc.boolean(), fc.array(level, { maxLength: 6 })), { maxLength: 60 }), (snapLevels, deltas) => {
        const b = new L2Book('x', 'S', { initialLevels: 4 });
        const bids = new Map<number, number>();
        const asks = new Map<number, number>();
        // bids from the snapshot levels, asks shifted up so it starts uncrossed
        b.applySnapshot(snap(1, snapLevels.map(([p, q]) => [p, q]), snapLevels.map(([p, q]) => [p + 200, q])));
        for (const [p, q] of snapLevels) {
          bids.set(p, q);
          asks.set(p + 200, q);
        }
        let seq = 1;
        for (const [isBid, lvls] of deltas) {
          seq++;
          b.applyDelta(delta(seq, seq, isBid ? lvls : [], isBid ? [] : lvls.map(([p, q]) => [p + 100, q])));
          for (const [p, q] of lvls) (isBid ? bids : asks).set(isBid ? p : p + 100, q);
          const rb = refTop(bids, true, 1000);
          const ra = refTop(asks, false, 1000);
          const ob: { price: number; qty: number }[] = [];
          const oa: { price: number; qty: number }[] = [];
          b.topLevels('bid', 1000, ob);
          b.topLevels('ask', 1000, oa);
          expect(ob.slice(0, b.levelCount('bid'))).toEqual(rb);
          expect(oa.slice(0, b.levelCount('ask'))).toEqual(ra);
          expect(b.bestBid()).toBe(rb[0]?.price);
          expect(b.bestAsk()).toBe(ra[0]?.price);
          const crossed = rb.length > 0 && ra.length > 0 && rb[0]!.price >= ra[0]!.price;
          expect(b.state).toBe(crossed ? 'crossed' : 'synced');
          const lim = lvls[0]?.[0] ?? 0;
          expect(b.qtyUpTo('bid', lim)).toBe(rb.filter((l) => l.price >= lim).reduce((s, l) => s + l.qty, 0));
          expect(b.qtyUpTo('ask', lim + 100)).toBe(ra.filter((l) => l.price <= lim + 100).reduce((s, l) => s + l.qty, 0));
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('L2BookStore', () => {
  it('routes events, exposes /status with decimals and feeds metrics', async () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    const store = new L2BookStore(bookMetricsListeners(metrics));
    const base = { exchange: 'sim', symbol: 'BTCUSDT', ts: 0, recvTs: 0 };
    store.apply({ ...base, type: 'book_snapshot', seq: 5, reason: 'initial', bids: [lv(6000000, 150)], asks: [lv(6000010, 20)] });
    store.apply({ ...base, type: 'book_delta', firstSeq: 7, seq: 7, bids: [], asks: [] });
    const inst = defineInstrument({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
    const st = store.status(10, () => inst);
    expect(st[0]).toMatchObject({ exchange: 'sim', symbol: 'BTCUSDT', state: 'resyncing', resyncs: 1 });
    expect(st[0]!.reason).toContain('sequence_gap');
    expect(st[0]!.bids).toEqual([{ price: '60000', qty: '0.15' }]);
    const text = await metrics.text();
    expect(text).toMatch(/cwts_book_state\{exchange="sim",symbol="BTCUSDT"\} 2/);
    expect(text).toMatch(/cwts_book_resyncs_total\{exchange="sim",symbol="BTCUSDT",reason="sequence_gap"\} 1/);
    store.apply({ ...base, type: 'book_snapshot', seq: 9, reason: 'resync', bids: [lv(1, 1)], asks: [lv(2, 1)] });
    expect(store.get('sim', 'BTCUSDT')!.synced).toBe(true);
    store.applyStatus({ type: 'feed_status', exchange: 'sim', symbol: '', state: 'disconnected', reason: 'socket closed', ts: 1 });
    expect(store.get('sim', 'BTCUSDT')!.state).toBe('stale');
    expect(await metrics.text()).toMatch(/cwts_book_state\{exchange="sim",symbol="BTCUSDT"\} 3/);
  });
});

describe('L2BookStore resync accounting', () => {
  it('counts announced and unannounced resyncs with bounded labels', () => {
    const seen: string[] = [];
    const store = new L2BookStore({ onResync: (_b, r) => seen.push(r) });
    const base = { exchange: 'v', symbol: 'S', ts: 0, recvTs: 0 };
    store.apply({ ...base, type: 'book_snapshot', seq: 1, reason: 'initial', bids: [lv(1, 1)], asks: [lv(2, 1)] });
    store.applyStatus({ type: 'feed_status', exchange: 'v', symbol: 'S', state: 'resyncing', reason: 'checksum_mismatch', ts: 1 });
    store.apply({ ...base, type: 'book_snapshot', seq: 5, reason: 'resync', bids: [lv(1, 1)], asks: [lv(2, 1)] });
    store.applyStatus({ type: 'feed_status', exchange: 'v', symbol: '', state: 'resyncing', reason: 'Socket closed by peer (1006)', ts: 2 });
    expect(store.get('v', 'S')!.stateReason).toContain('Socket closed');
    store.apply({ ...base, type: 'book_snapshot', seq: 9, reason: 'resync', bids: [lv(1, 1)], asks: [lv(2, 1)] });
    store.apply({ ...base, type: 'book_snapshot', seq: 12, reason: 'resync', bids: [lv(1, 1)], asks: [lv(2, 1)] });
    expect(seen).toEqual(['checksum_mismatch', 'venue_resync', 'venue_resync']);
    expect(store.get('v', 'S')!.synced).toBe(true);
  });
});

describe('ConsolidatedBook', () => {
  it('merges synced venues, skips unsynced, sums same prices, plans a sweep', () => {
    const a = new L2Book('a', 'S');
    const b = new L2Book('b', 'S');
    const c = new L2Book('c', 'S');
    a.applySnapshot(snap(1, [[100, 1], [99, 2]], [[102, 1], [104, 5]]));
    b.applySnapshot(snap(1, [[50, 3]], [[51, 2], [52, 2]])); // tick 2x coarser
    c.applySnapshot(snap(1, [[200, 1]], [[201, 1]]));
    c.beginResync('test');
    const cb = new ConsolidatedBook('S', [{ book: a }, { book: b, tickMultiplier: 2 }, { book: c }]);
    expect(cb.bestBid()).toBe(100);
    expect(cb.bestBidVenue()).toBe(0);
    expect(cb.bestAsk()).toBe(102);
    expect(cb.qtyAt('bid', 100)).toBe(4);
    expect(cb.qtyAt('ask', 104)).toBe(7);
    expect(cb.qtyUpTo('ask', 103)).toBe(3);
    const out: { price: number; qty: number }[] = [];
    expect(cb.topLevels('ask', 10, out)).toBe(2);
    expect(out).toEqual([lv(102, 3), lv(104, 7)]);
    const per = new Float64Array(3);
    expect(cb.sweep('ask', 6, Infinity, per)).toBe(6);
    expect([...per]).toEqual([4, 2, 0]);
    expect(cb.lastSweepWorstPrice).toBe(104);
    expect(cb.sweep('ask', 100, 102, per)).toBe(3);
    expect([...per]).toEqual([1, 2, 0]);
  });
});

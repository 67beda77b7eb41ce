import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { L2Book, DeltaResult, BID, ASK } from './l2-book.js';
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

  it('works for any tick range (negative, huge, sparse prices)', () => {
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
    const level = fc.tuple(fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 5 }));
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

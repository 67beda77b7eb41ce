// The first event after a USD-M snapshot may end at lastUpdateId (U <= L <= u with u == L): it is
// wholly in the snapshot, and passed on the engine book dropped it as old, which (since the engine
// resyncs a book that dropped old deltas at its staleness watchdog) left a quiet symbol RESYNCING
// with nothing asking for a snapshot. The adapter drops it (BINANCE_USDM_RULES.first).
import type { MarketEventSink } from '@cwts/core';
import { BookStore } from '@cwts/core/microstructure';
import { describe, expect, it } from 'vitest';
import { binanceHarnessInstrument } from '../src/frame-harness.js';
import { BinanceFeed } from '../src/index.js';

// Binance USD-M futures depth update: pu = the previous event's u (firstSeq = pu + 1).
const depth = (U: number, u: number, pu: number, b: [string, string][], a: [string, string][] = []) =>
  `{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":${U},"u":${u},"pu":${pu},"b":${JSON.stringify(b)},"a":${JSON.stringify(a)}}}`;

describe('Binance USD-M: the engine book after a sync on a quiet symbol', () => {
  it('the documented first event (U <= lastUpdateId <= u, here u == lastUpdateId) then a quiet spell leaves the book STALE and resumable, not RESYNCING forever', () => {
    let now = 1_000;
    const store = new BookStore();
    // the engine's dispatch: snapshots and deltas to the BookStore, statuses to applyStatus
    const sink: MarketEventSink = {
      onMarketEvent: (ev) => {
        if (ev.type === 'book_snapshot') store.applySnapshot(ev, now);
        else if (ev.type === 'book_delta') store.applyDelta(ev, now);
      },
      onFeedStatus: (st) => store.applyStatus(st),
      onFeedError: () => {},
    };
    let asked = 0;
    const feed = new BinanceFeed({ exchange: 'binance', instruments: [binanceHarnessInstrument()], futures: true, sink: () => sink, now: () => now, requestSnapshot: () => asked++ });
    const s = feed.symbols[0]!;
    s.sync.begin('initial');
    // the stream: ... event 990..1000 (pu 989) is buffered, then the REST snapshot answers at lastUpdateId 1000
    feed.onFrame(depth(990, 1000, 989, [['64990.00', '1.00000']]));
    expect(asked).toBe(1);
    feed.onSnapshotBody(s, { lastUpdateId: 1000, bids: [['65000.00', '1.00000'], ['64990.00', '1.00000']], asks: [['65001.00', '1.00000']] });
    // the buffered event ends at lastUpdateId: wholly in the snapshot, dropped; the next one (pu = 1000) syncs the book
    expect(s.sync.state).toBe('buffering');
    feed.onFrame(depth(1001, 1001, 1000, [['64980.00', '1.00000']]));
    const rec = store.get('binance', 'BTCUSDT')!;
    expect(s.sync.state).toBe('synced');
    expect(rec.state).toBe('synced');
    // the symbol is quiet for longer than stale_after_ms (the engine's watchdog, engine.ts)
    now += 11_000;
    store.checkStaleness(now, 10_000);
    // nothing was missed: the kit applied every update in sequence; a quiet book is STALE
    expect(rec.state).toBe('stale');
    // and the next in-sequence update (pu = 1000) makes it usable again
    now += 1_000;
    feed.onFrame(depth(1002, 1002, 1001, [['64995.00', '2.00000']]));
    expect(s.sync.state).toBe('synced');
    expect(rec.state).toBe('synced');
    expect(rec.book.qtyAt('bid', 6499500)).toBeGreaterThan(0);
  });

  it('after that quiet spell, the kit keeps streaming in-sequence updates: the engine book becomes usable again (nothing asks the adapter for a snapshot)', () => {
    let now = 1_000;
    const store = new BookStore();
    const sink: MarketEventSink = {
      onMarketEvent: (ev) => {
        if (ev.type === 'book_snapshot') store.applySnapshot(ev, now);
        else if (ev.type === 'book_delta') store.applyDelta(ev, now);
      },
      onFeedStatus: (st) => store.applyStatus(st),
      onFeedError: () => {},
    };
    let asked = 0;
    const feed = new BinanceFeed({ exchange: 'binance', instruments: [binanceHarnessInstrument()], futures: true, sink: () => sink, now: () => now, requestSnapshot: () => asked++ });
    const s = feed.symbols[0]!;
    s.sync.begin('initial');
    feed.onFrame(depth(990, 1000, 989, [['64990.00', '1.00000']]));
    feed.onSnapshotBody(s, { lastUpdateId: 1000, bids: [['65000.00', '1.00000'], ['64990.00', '1.00000']], asks: [['65001.00', '1.00000']] });
    feed.onFrame(depth(1001, 1001, 1000, [['64980.00', '1.00000']]));
    const rec = store.get('binance', 'BTCUSDT')!;
    now += 11_000;
    store.checkStaleness(now, 10_000);
    // an hour of normal, in-sequence updates
    let u = 1001;
    for (let i = 0; i < 36_000; i++) {
      now += 100;
      feed.onFrame(depth(u + 1, u + 2, u, [['64995.00', `${1 + (i % 7)}.00000`]]));
      u += 2;
      store.checkStaleness(now, 10_000);
    }
    expect(s.sync.state).toBe('synced');
    expect(asked).toBe(1); // the kit never resynced: it has no reason to
    expect(rec.state, rec.reason).toBe('synced');
  });
});

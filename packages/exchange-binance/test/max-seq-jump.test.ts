// [binance.options] max_sequence_jump is the adapter's bound on an update-id advance (1 .. 2^53-1,
// docs/reliability.md "The jump bound"). The engine's books once applied their own fixed bound of
// 10,000,000 whatever the venue was configured with: an update the adapter was configured to accept
// was refused by the engine book (sequence_jump), which resynced and asked for a REST snapshot. The
// adapter declares the bound (MarketDataClient.maxSequenceJump) and the engine builds its books with it.
import type { MarketEventSink } from '@cwts/core';
import { BookStore } from '@cwts/core/microstructure';
import { describe, expect, it } from 'vitest';
import { binanceHarnessInstrument } from '../src/frame-harness.js';
import { BinanceFeed, BinanceMarketData, binanceEndpoints } from '../src/index.js';
import { resolveBinanceOptions } from '../src/options.js';
import { ManualClock } from '@cwts/core';

const depth = (U: number, u: number, b: [string, string][]) =>
  `{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":${U},"u":${u},"b":${JSON.stringify(b)},"a":[]}}`;

describe('max_sequence_jump raised by the operator', () => {
  it('an update the adapter accepts under a raised max_sequence_jump (20M ids in one frame, bound 1e9) is applied by the engine book, which stays SYNCED', () => {
    const now = 1_000;
    const md = new BinanceMarketData({ exchange: 'binance', endpoints: binanceEndpoints({}), options: resolveBinanceOptions({ max_sequence_jump: 1_000_000_000 }), clock: new ManualClock(now) });
    expect(md.maxSequenceJump).toBe(1_000_000_000);
    const store = new BookStore();
    // as the engine builds its book of a venue (Engine.start)
    store.ensure('binance', 'BTCUSDT', { maxSeqJump: md.maxSequenceJump });
    const sink: MarketEventSink = {
      onMarketEvent: (ev) => {
        if (ev.type === 'book_snapshot') store.applySnapshot(ev, now);
        else if (ev.type === 'book_delta') store.applyDelta(ev, now);
      },
      onFeedStatus: (st) => store.applyStatus(st),
      onFeedError: () => {},
    };
    let asked = 0;
    // what market-data.ts builds from [binance.options] max_sequence_jump = 1_000_000_000
    const feed = new BinanceFeed({ exchange: 'binance', instruments: [binanceHarnessInstrument()], sink: () => sink, now: () => now, requestSnapshot: () => asked++, maxSeqJump: 1_000_000_000 });
    const s = feed.symbols[0]!;
    s.sync.begin('initial');
    feed.onFrame(depth(1001, 1001, [['64990.00', '1.00000']]));
    feed.onSnapshotBody(s, { lastUpdateId: 1000, bids: [['65000.00', '1.00000']], asks: [['65001.00', '1.00000']] });
    const rec = store.get('binance', 'BTCUSDT')!;
    expect(s.sync.state).toBe('synced');
    expect(rec.state).toBe('synced');
    // one frame advancing 20,000,000 ids: within the adapter's configured bound, in sequence
    feed.onFrame(depth(1002, 20_001_002, [['64980.00', '3.00000']]));
    expect(s.sync.state).toBe('synced'); // the adapter took it
    expect(rec.book.stateReason).not.toMatch(/sequence_jump/);
    expect(rec.state).toBe('synced');
    expect(rec.book.qtyAt('bid', 6498000)).toBeGreaterThan(0);
  });
});

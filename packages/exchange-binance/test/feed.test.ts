import { HarnessSink } from '@cwts/core/adapter-kit';
import { describe, expect, it } from 'vitest';
import { binanceHarnessInstrument } from '../src/frame-harness.js';
import { BinanceFeed, createBinanceFrameHarness, parseBinanceFrames, type FeedSymbol } from '../src/index.js';

// The harness's book: bids 65000.00/64999.00/64998.00/64997.00, asks 65001.00.. at update id 1001.
const depth = (U: number, u: number, b: [string, string][], a: [string, string][] = []) =>
  `{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":${U},"u":${u},"b":${JSON.stringify(b)},"a":${JSON.stringify(a)}}}`;
const trade = (t: number | string, p: string, q: string) => `{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":${t},"p":"${p}","q":"${q}","T":1,"m":false,"M":true}}`;

describe('BinanceFeed (the adapter path without I/O)', () => {
  it('rejects the depth values of issue 11 and leaves SYNCED instead of showing them', () => {
    for (const [b, reason] of [
      [[['-42990.00', '1.0']], 'non_positive_price'],
      [[['0', '1.0']], 'non_positive_price'],
      [[['64990.00', '-0.001']], 'negative_qty'],
      [[['64990.001', '1.0']], 'off_grid'],
    ] as const) {
      const r = parseBinanceFrames([depth(1002, 1002, b.map((l) => [...l] as [string, string]))]);
      expect(r.rejects.map((x) => x.reason), reason).toEqual([reason]);
      expect(r.state.state).toBe('unsynced');
      expect(r.events.filter((e) => e.type === 'book_delta')).toHaveLength(0);
    }
  });

  it('does not apply a frame with a valid U and u = 9007199254740000, and stays correct afterwards', () => {
    const r = parseBinanceFrames([depth(1002, 9007199254740000, [['64990.00', '5.0']])]);
    expect(r.rejects.map((x) => x.reason)).toEqual(['seq_jump']);
    expect(r.state.state).toBe('unsynced');
    expect(r.state.bids.some(([p]) => p === 6499000)).toBe(false);
  });

  it('rejects zero, negative and negative-priced trades, and a far-ahead id does not swallow later trades', () => {
    const r = parseBinanceFrames([trade(5001, '65000.00', '-0.001'), trade(5001, '65000.00', '0'), trade(5001, '-43000.00', '0.001'), trade('9000000000000000', '65000.00', '0.001'), trade(5001, '65000.00', '0.001'), trade(5002, '65000.00', '0.002')]);
    expect(r.rejects.map((x) => x.reason)).toEqual(['negative_qty', 'zero_qty', 'non_positive_price', 'trade_id_jump']);
    expect(r.state.trades.map((t) => t.tradeId)).toEqual(['5001', '5002']);
  });

  it('a trade id a little ahead of the stream costs at most two real trades, counted, never a replay', () => {
    const at = (t: number, T: number) => `{"stream":"btcusdt@trade","data":{"e":"trade","E":${T},"s":"BTCUSDT","t":${t},"p":"65000.00","q":"0.001","T":${T},"m":false,"M":true}}`;
    // 6901: one mutated digit of 6001, within max_trade_id_jump, so it is taken (and emitted)
    const r = parseBinanceFrames([at(6000, 100), at(6901, 101), at(5999, 99), at(6000, 100), at(6001, 101), at(6002, 102), at(6003, 102), at(6004, 103), at(6005, 104)]);
    // the replayed 5999..6001 (times not after the mark's) stay duplicates; 6002 and 6003 are lost;
    // 6004 is the third later trade behind the mark in a row: the mark moves back to the stream
    expect(r.state.trades.map((t) => t.tradeId)).toEqual(['6000', '6901', '6004', '6005']);
    expect(r.rejects.map((x) => x.reason)).toEqual(['trade_id_jump']);
  });

  it('counts cut frames, binary frames and REST snapshots with bad values', () => {
    const h = createBinanceFrameHarness();
    const s0 = h.state();
    const s1 = h.feed('{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":17649');
    const s2 = h.feed(new Uint8Array([1, 2, 3]));
    expect([s1.rejected - s0.rejected, s2.rejected - s1.rejected]).toEqual([1, 1]);
    // the cut depth update is one the book has missed: it leaves SYNCED (a binary frame is not a depth update)
    expect(s1.state).toBe('unsynced');
    h.reset('awaiting-snapshot');
    const bad = h.feed('{"lastUpdateId":1000,"bids":[["-1.00","1.0"]],"asks":[["65001.00","1.0"]]}', 'snapshot');
    expect(bad.state).toBe('unsynced');
    expect(bad.rejected).toBe(1);
    const good = h.feed('{"lastUpdateId":1000,"bids":[["65000.00","1.0"]],"asks":[["65001.00","1.0"]]}', 'snapshot');
    expect(good.state).toBe('synced');
  });
});

describe('BinanceFeed: updates buffered while the REST snapshot is awaited', () => {
  const snapshot = (id: number) => ({ lastUpdateId: id, bids: [['65000.00', '1.00000']], asks: [['65001.00', '1.00000']] });

  /** A feed awaiting its first snapshot; `next` sends the live stream's next update (2 ids each). */
  function awaiting(startId: number) {
    const sink = new HarnessSink();
    const asked: FeedSymbol[] = [];
    const feed = new BinanceFeed({ exchange: 'binance', instruments: [binanceHarnessInstrument()], futures: false, sink: () => sink, now: () => 1, requestSnapshot: (s) => asked.push(s) });
    const s = feed.symbols[0]!;
    s.sync.begin('initial');
    const stream = { id: startId };
    const next = () => {
      feed.onFrame(depth(stream.id + 1, stream.id + 2, [['64990.00', '1.00000']]));
      stream.id += 2;
    };
    /** Answers the latest snapshot request at the stream's current id (one REST answer per round). */
    const answer = () => {
      if (asked.length === 0) return;
      asked.length = 0;
      feed.onSnapshotBody(s, snapshot(stream.id - 1));
    };
    return { sink, asked, feed, s, stream, next, answer };
  }

  function runUntilSynced(f: ReturnType<typeof awaiting>): number {
    let rounds = 0;
    for (; rounds < 50 && !f.sink.synced; rounds++) {
      f.next();
      f.next();
      f.answer();
      f.next();
    }
    return rounds;
  }

  it('one far-ahead update buffered before the snapshot does not keep the book out of SYNCED (rejected as seq_jump)', () => {
    const f = awaiting(1000);
    f.next(); // the first update: a snapshot is asked for
    // one corrupted frame: a valid range of ids, far beyond the stream (beyond max_sequence_jump).
    // It used to stay at the head of the buffer and make every snapshot look older than the
    // buffer, for maxBuffer (10,000) updates: ~17 minutes at 10 updates per second
    f.feed.onFrame(depth(9_000_000_000_000, 9_000_000_000_001, [['64980.00', '1.00000']]));
    const rounds = runUntilSynced(f);
    expect(f.sink.synced, `state ${f.s.sync.state}, ${f.s.sync.buffered} buffered, ${f.s.sync.snapshotsRequested} snapshots asked for`).toBe(true);
    expect(rounds).toBeLessThanOrEqual(2);
    expect(f.sink.rejects.map((r) => r.reason)).toEqual(['seq_jump']);
    // the bad update's level never reached the book
    expect(f.sink.book.bids.get(6498000)).toBe(0);
    expect(f.s.sync.lastSeq).toBe(f.stream.id);
  });

  it('the same update as the very first one buffered costs one real update, then the book syncs', () => {
    const f = awaiting(1000);
    f.feed.onFrame(depth(9_000_000_000_000, 9_000_000_000_001, [['64980.00', '1.00000']]));
    // the snapshot asked for on it answers before the next update: older than the buffer, asked again
    f.answer();
    expect(f.sink.synced).toBe(false);
    runUntilSynced(f);
    expect(f.sink.synced).toBe(true);
    expect(f.sink.rejects.map((r) => r.reason)).toEqual(['seq_jump']);
    expect(f.sink.book.bids.get(6498000)).toBe(0);
  });

  it('a venue whose update ids really moved on by more than max_sequence_jump while buffering still syncs at the new ids', () => {
    const f = awaiting(1000);
    f.next();
    f.next();
    f.stream.id += 50_000_000; // beyond the default bound of 10,000,000
    const rounds = runUntilSynced(f);
    expect(f.sink.synced).toBe(true);
    expect(rounds).toBeLessThanOrEqual(2);
    expect(f.s.sync.lastSeq).toBe(f.stream.id);
  });
});

import { describe, expect, it } from 'vitest';
import { createBinanceFrameHarness, parseBinanceFrames } from '../src/index.js';

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

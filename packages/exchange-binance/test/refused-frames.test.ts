import { defineInstrument, type FeedReject, type MarketEvent, type MarketEventSink } from '@cwts/core';
import { describe, expect, it } from 'vitest';
import { BinanceFeed, type FeedSymbol } from '../src/index.js';

// Two books on one stream, both SYNCED at update id 1000; every test feeds one refused frame and
// asks which books it took out of SYNCED.
const SYMBOLS = ['BTCUSDT', 'ETHUSDT'] as const;
const inst = (symbol: string) => defineInstrument({ exchange: 'binance', symbol, base: symbol.slice(0, 3), quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });
const depth = (symbol: string, U: number, u: number, b = '[["100.00","1.00000"]]', extra = '') =>
  `{"stream":"${symbol.toLowerCase()}@depth@100ms","data":{"e":"depthUpdate","E":1,${extra}"s":"${symbol}","U":${U},"u":${u},"b":${b},"a":[]}}`;
const trade = (symbol: string, key: 't' | 'a', id: number, extra = '') =>
  `{"stream":"${symbol.toLowerCase()}@${key === 't' ? 'trade' : 'aggTrade'}","data":{"e":"${key === 't' ? 'trade' : 'aggTrade'}","E":1,"s":"${symbol}","${key}":${id},${extra}"p":"100.00","q":"0.00100","T":1,"m":false,"M":true}}`;

function syncedFeed() {
  const events: MarketEvent[] = [];
  const rejects: FeedReject[] = [];
  const sink: MarketEventSink = {
    onMarketEvent: (e) => events.push(structuredClone(e)),
    onFeedStatus: () => {},
    onFeedError: () => {},
    onFeedReject: (r) => rejects.push({ ...r }),
  };
  const asked = new Set<string>();
  const feed = new BinanceFeed({
    exchange: 'binance',
    instruments: SYMBOLS.map(inst),
    sink: () => sink,
    now: () => 0,
    requestSnapshot: (s) => asked.add(s.symbol),
  });
  const snapshot = (s: FeedSymbol, id = 1000) => feed.onSnapshotBody(s, { lastUpdateId: id, bids: [['99.00', '1.00000']], asks: [['101.00', '1.00000']] });
  for (const s of feed.symbols) {
    s.sync.begin('initial');
    feed.onFrame(depth(s.symbol, 1001, 1001));
    snapshot(s);
    expect(s.sync.state).toBe('synced');
  }
  const states = () => Object.fromEntries(feed.symbols.map((s) => [s.symbol, s.sync.state]));
  return { feed, events, rejects, asked, states, snapshot };
}

describe('a refused frame that may be a depth update takes its book(s) out of SYNCED', () => {
  it('a depth frame of a known symbol: that book resyncs, the other stays SYNCED', () => {
    const { feed, rejects, states } = syncedFeed();
    feed.onFrame(depth('BTCUSDT', 1002, 1002, '[["100.001","1.00000"]]'));
    expect(rejects.map((r) => [r.symbol, r.reason])).toEqual([['BTCUSDT', 'off_grid']]);
    expect(states()).toEqual({ BTCUSDT: 'buffering', ETHUSDT: 'synced' });
  });

  it('a depth frame cut after its symbol: that book resyncs', () => {
    const { feed, states } = syncedFeed();
    feed.onFrame(depth('ETHUSDT', 1002, 1002).slice(0, 95));
    expect(states()).toEqual({ BTCUSDT: 'synced', ETHUSDT: 'buffering' });
  });

  it('a depth update with an id past 2^53: that book resyncs instead of silently missing the update', () => {
    const { feed, rejects, states } = syncedFeed();
    feed.onFrame(depth('BTCUSDT', 9007199254740993, 1002));
    expect(rejects.map((r) => r.reason)).toEqual(['malformed']);
    expect(states()).toEqual({ BTCUSDT: 'buffering', ETHUSDT: 'synced' });
  });

  it('a depth frame cut before its symbol, or with a symbol we do not carry: every book on the stream resyncs', () => {
    for (const text of [depth('BTCUSDT', 1002, 1002).slice(0, 70), depth('XRPUSDT', 1002, 1002), 'not json at all', '{"stream":"btcusdt@']) {
      const { feed, rejects, states } = syncedFeed();
      feed.onFrame(text);
      expect(rejects, text).toHaveLength(1);
      expect(states(), text).toEqual({ BTCUSDT: 'buffering', ETHUSDT: 'buffering' });
    }
  });

  it('a frame that repeats a key is refused as malformed, and every book it may belong to resyncs', () => {
    for (const text of [
      depth('BTCUSDT', 1002, 1002, undefined, '"s":"ETHUSDT",'), // JSON.parse reads BTCUSDT, a streaming reader ETHUSDT
      depth('BTCUSDT', 1002, 1002).replace('"E":1', '"e":1767234015300'), // the 1M-run finding: "e" twice
      depth('BTCUSDT', 1002, 1002).replace('"U":1002', '"U":1002,"U":900'),
      `{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1002,"u":1002,"b":[],"a":[]},"data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1002,"u":1002,"b":[],"a":[]}}`,
      '{"s":"BTCUSDT","e":"depthUpdate","E":1,"\\u0073":"ETHUSDT","U":1002,"u":1002,"b":[],"a":[]}', // the slow path, an escaped "s"
    ]) {
      const { feed, events, rejects, states } = syncedFeed();
      const before = events.length;
      feed.onFrame(text);
      expect(rejects.map((r) => r.reason), text).toEqual(['malformed']);
      expect(rejects[0]!.detail, text).toMatch(/duplicate key/);
      expect(events.length, text).toBe(before);
      expect(states(), text).toEqual({ BTCUSDT: 'buffering', ETHUSDT: 'buffering' });
    }
  });

  it('a refused trade, reply, venue error or unknown event touches no book', () => {
    for (const text of [trade('BTCUSDT', 't', 5, '"q":"1.00",'), trade('BTCUSDT', 't', 5).slice(0, 60), '{"result":null,"id":1,"x":', '{"code":2,"msg":"Invalid request"}', '{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1,"s":"BTCUSDT","k":{}}}']) {
      const { feed, rejects, states } = syncedFeed();
      feed.onFrame(text);
      expect(rejects, text).toHaveLength(1);
      expect(states(), text).toEqual({ BTCUSDT: 'synced', ETHUSDT: 'synced' });
    }
  });

  it('a book still awaiting its snapshot keeps buffering through a refused frame, and a missed update shows as a gap', () => {
    const { feed, asked, states, snapshot } = syncedFeed();
    const btc = feed.symbol('BTCUSDT')!;
    feed.onFrame(depth('BTCUSDT', 1005, 1005)); // a gap: resync, buffer, ask
    expect(asked.has('BTCUSDT')).toBe(true);
    feed.onFrame('garbage');
    expect(btc.sync.buffered).toBe(1);
    feed.onFrame(depth('BTCUSDT', 1006, 1006));
    snapshot(btc, 1005);
    expect(states()).toEqual({ BTCUSDT: 'synced', ETHUSDT: 'buffering' });
    // an update cut off while buffering is a gap when the buffer meets the snapshot
    feed.onFrame(depth('BTCUSDT', 1010, 1010));
    feed.onFrame(depth('BTCUSDT', 1011, 1011).slice(0, 100));
    feed.onFrame(depth('BTCUSDT', 1012, 1012));
    snapshot(btc, 1010);
    expect(btc.sync.state).toBe('buffering');
  });
});

describe('the first update after a snapshot (Binance: U <= lastUpdateId + 1 <= u, within max_sequence_jump)', () => {
  // the 1M-frame fuzz run's case: snapshot 2325816, then U..u = 232525816..23269788000
  it('refuses an update whose range spans more than the bound: never applied, the snapshot alone is the book', () => {
    const { feed, events, rejects, snapshot } = syncedFeed();
    const btc = feed.symbol('BTCUSDT')!;
    feed.onFrame(depth('BTCUSDT', 1005, 1005)); // a gap: resync and buffer
    feed.onFrame(depth('BTCUSDT', 232_525_816, 23_269_788_000, '[["100.50","7.00000"]]'));
    expect(rejects.map((r) => r.reason)).toEqual(['seq_jump']);
    snapshot(btc, 2_325_816);
    expect(btc.sync.lastSeq).toBe(2_325_816);
    expect(btc.sync.mirror.bids.best()).toBe(9900);
    expect(events.some((e) => e.type === 'book_delta' && e.seq === 23_269_788_000)).toBe(false);
  });
  it('does not go SYNCED when the first buffered update starts past lastUpdateId + 1', () => {
    const { feed, snapshot } = syncedFeed();
    const btc = feed.symbol('BTCUSDT')!;
    feed.onFrame(depth('BTCUSDT', 1005, 1005));
    feed.onFrame(depth('BTCUSDT', 2_325_818, 2_325_820));
    snapshot(btc, 2_325_816);
    expect(btc.sync.state).toBe('buffering');
  });
  it('applies a first update that covers lastUpdateId + 1, then the next one only if it starts at u + 1', () => {
    const { feed, events, snapshot } = syncedFeed();
    const btc = feed.symbol('BTCUSDT')!;
    feed.onFrame(depth('BTCUSDT', 1005, 1005));
    feed.onFrame(depth('BTCUSDT', 2_325_810, 2_325_820, '[["100.50","7.00000"]]'));
    snapshot(btc, 2_325_816);
    expect(btc.sync.state).toBe('synced');
    expect(btc.sync.lastSeq).toBe(2_325_820);
    expect(events.at(-1)).toMatchObject({ type: 'book_delta', seq: 2_325_820 });
    feed.onFrame(depth('BTCUSDT', 2_325_822, 2_325_823));
    expect(btc.sync.state).toBe('buffering');
  });
});

describe('trade ids and aggTrade ids are separate sequences', () => {
  it('emits interleaved trades and aggTrades whose ids are far apart, and drops a repeat of each', () => {
    const { feed, events, rejects } = syncedFeed();
    // BTCUSDT on Binance: trade ids near 5.0e9, aggTrade ids near 3.6e9
    for (const text of [trade('BTCUSDT', 't', 5_000_000_001), trade('BTCUSDT', 'a', 3_600_000_001), trade('BTCUSDT', 't', 5_000_000_002), trade('BTCUSDT', 'a', 3_600_000_002), trade('BTCUSDT', 'a', 3_600_000_002), trade('BTCUSDT', 't', 5_000_000_001)]) feed.onFrame(text);
    expect(rejects).toEqual([]);
    expect(events.filter((e) => e.type === 'trade').map((e) => (e as { tradeId: string }).tradeId)).toEqual(['5000000001', '3600000001', '5000000002', '3600000002']);
    expect(feed.stats.duplicateTrades).toBe(2);
  });

  it('still refuses an id far ahead of its own sequence', () => {
    const { feed, rejects } = syncedFeed();
    feed.onFrame(trade('BTCUSDT', 'a', 3_600_000_001));
    feed.onFrame(trade('BTCUSDT', 'a', 3_600_000_001 + 2 ** 44));
    expect(rejects.map((r) => r.reason)).toEqual(['trade_id_jump']);
  });
});

describe('REST snapshots the 1M-frame fuzz run saw adopted (the fuzzer served them to another adapter)', () => {
  it('refuses a level that is not ["price","qty"] strings, a body that is not JSON, and a snapshot older than the buffered stream', () => {
    const { feed, rejects } = syncedFeed();
    const btc = feed.symbol('BTCUSDT')!;
    feed.onFrame(depth('BTCUSDT', 2_917_311, 2_917_313)); // a gap: the book resyncs and buffers
    expect(btc.sync.state).toBe('buffering');
    expect(feed.onSnapshotBody(btc, { lastUpdateId: 2_917_312, bids: [['99.00', '1.00000']], asks: [[false, '1.70887']] }).ok).toBe(false);
    expect(feed.onSnapshotBody(btc, undefined).ok).toBe(false); // httpJson's body for a text that is not JSON
    expect(rejects.map((r) => r.reason)).toEqual(['bad_snapshot', 'bad_snapshot']);
    feed.onSnapshotBody(btc, { lastUpdateId: 1_466_081, bids: [['99.00', '1.00000']], asks: [['101.00', '1.00000']] });
    expect(btc.sync.state).toBe('buffering');
    feed.onSnapshotBody(btc, { lastUpdateId: 2_917_312, bids: [['99.00', '1.00000']], asks: [['101.00', '1.00000']] });
    expect(btc.sync.state).toBe('synced');
  });
});

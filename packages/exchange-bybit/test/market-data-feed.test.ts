/** BybitFeed without I/O: in-band snapshots against what the book buffered before them. */
import { HarnessSink } from '@cwts/core/adapter-kit';
import { describe, expect, it } from 'vitest';
import { BybitFeed } from '../src/feed.js';
import { bybitHarnessInstrument } from '../src/frame-harness.js';

const TOPIC = 'orderbook.50.BTCUSDT';
const frame = (type: 'snapshot' | 'delta', u: number, b: [string, string][], a: [string, string][]) =>
  JSON.stringify({ topic: TOPIC, type, ts: 1764900000000 + u, data: { s: 'BTCUSDT', b, a, u, seq: 50_000 + u }, cts: 1764900000000 + u - 1 });

describe('BybitFeed snapshots', () => {
  it('after a gap and a service restart (u = 1), the restart snapshot is the book at once (the update buffered on the gap is superseded, not replayed)', () => {
    const sink = new HarnessSink();
    let requests = 0;
    const feed = new BybitFeed({ exchange: 'bybit-spot', instruments: [bybitHarnessInstrument('spot')], depth: 50, tradeIdMemory: 64, sink: () => sink, now: () => 0, requestSnapshot: () => requests++ });
    const s = feed.symbol('BTCUSDT')!;
    s.awaitingSnapshot = true;
    s.sync.begin('initial');
    feed.onFrame(frame('snapshot', 1000, [['65000.00', '1.000000']], [['65001.00', '1.000000']]));
    expect(s.sync.state).toBe('synced');
    // 1001 lost: a gap, the book resyncs (resubscribe asked)
    feed.onFrame(frame('delta', 1002, [['65000.00', '2.000000']], []));
    expect(s.sync.state).toBe('buffering');
    const afterGap = requests;
    // the venue restarted meanwhile: its snapshots start again at u = 1
    feed.onFrame(frame('snapshot', 1, [['65000.00', '3.000000']], [['65001.00', '1.000000']]));
    expect(s.sync.state).toBe('synced');
    expect(s.sync.lastSeq).toBe(1);
    expect(s.sync.mirror.bids.levels()).toEqual([{ price: 6_500_000, qty: 3_000_000 }]);
    feed.onFrame(frame('snapshot', 5, [['65000.00', '4.000000']], [['65001.00', '1.000000']]));
    expect(s.sync.state).toBe('synced');
    feed.onFrame(frame('snapshot', 9, [['65000.00', '5.000000']], [['65001.00', '1.000000']]));
    feed.onFrame(frame('delta', 10, [['65000.00', '6.000000']], []));
    expect(s.sync.state).toBe('synced');
    expect(s.sync.lastSeq).toBe(10);
    expect(s.sync.mirror.bids.levels()).toEqual([{ price: 6_500_000, qty: 6_000_000 }]);
    expect(requests - afterGap).toBe(0);
  });
});

describe('BybitFeed: frames it refuses', () => {
  const setup = () => {
    const sink = new HarnessSink();
    const asked: string[] = [];
    const feed = new BybitFeed({ exchange: 'bybit-spot', instruments: [bybitHarnessInstrument('spot')], depth: 50, tradeIdMemory: 64, sink: () => sink, now: () => 0, requestSnapshot: (_s, why) => asked.push(why) });
    const s = feed.symbol('BTCUSDT')!;
    s.awaitingSnapshot = true;
    s.sync.begin('initial');
    return { sink, asked, feed, s };
  };

  it('refuses a snapshot that lists a price twice (bad_snapshot) and asks again, buffering or SYNCED', () => {
    const { asked, feed, s } = setup();
    const before = asked.length;
    feed.onFrame(frame('snapshot', 100, [['65000.00', '1.000000'], ['65000.00', '2.000000']], [['65001.00', '1.000000']]));
    expect(s.sync.state).toBe('buffering');
    expect(feed.rejections.bad_snapshot).toBe(1);
    expect(asked.length).toBe(before + 1);
    feed.onFrame(frame('snapshot', 101, [['65000.00', '1.000000']], [['65001.00', '1.000000'], ['65002.00', '1.000000'], ['65001.00', '3.000000']]));
    expect(s.sync.state).toBe('buffering');
    expect(feed.rejections.bad_snapshot).toBe(2);
    feed.onFrame(frame('snapshot', 102, [['65000.00', '1.000000']], [['65001.00', '1.000000']]));
    expect(s.sync.state).toBe('synced');
    // mid-stream: Bybit replaced its book with one we refuse, so ours is no longer the venue's
    feed.onFrame(frame('snapshot', 103, [['65000.00', '1.000000'], ['64999.00', '1.000000'], ['65000.00', '5.000000']], [['65001.00', '1.000000']]));
    expect(s.sync.state).toBe('buffering');
    expect(feed.rejections.bad_snapshot).toBe(3);
  });

  it('a book frame that repeats a key is refused and resyncs the books it names (every book when it names none); a trade frame touches no book', () => {
    const { feed, s } = setup();
    feed.onFrame(frame('snapshot', 100, [['65000.00', '1.000000']], [['65001.00', '1.000000']]));
    expect(s.sync.state).toBe('synced');
    const trades = feed.stats.trades;
    feed.onFrame('{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"i":"7","i":"8","s":"BTCUSDT","S":"Buy","v":"0.001","p":"65000.00"}]}');
    expect(feed.rejections.malformed).toBe(1);
    expect(feed.stats.trades).toBe(trades);
    expect(s.sync.state).toBe('synced');
    feed.onFrame(`{"topic":"${TOPIC}","type":"snapshot","type":"delta","ts":1764900000101,"data":{"s":"BTCUSDT","b":[["65000.00","9.000000"]],"a":[],"u":101,"seq":50101}}`);
    expect(feed.rejections.malformed).toBe(2);
    expect(s.sync.state).toBe('buffering');
    expect(s.sync.mirror.bids.levels()).not.toContainEqual({ price: 6_500_000, qty: 9_000_000 });
    feed.onFrame(frame('snapshot', 200, [['65000.00', '1.000000']], [['65001.00', '1.000000']]));
    expect(s.sync.state).toBe('synced');
    // the topic written with an escape: the frame names no book we can see, so every book resyncs
    feed.onFrame('{"topic":"orderbook.50.\\u0042TCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[],"a":[],"u":201,"u":202,"seq":3}}');
    expect(feed.rejections.malformed).toBe(3);
    expect(s.sync.state).toBe('buffering');
  });
});

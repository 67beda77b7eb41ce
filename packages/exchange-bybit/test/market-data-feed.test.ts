/** BybitFeed without I/O: in-band snapshots against what the book buffered before them. */
import { HarnessSink } from '@cwts/core/adapter-kit';
import { describe, expect, it } from 'vitest';
import { BybitFeed } from '../src/feed.js';
import { bybitHarnessInstrument } from '../src/frame-harness.js';

const TOPIC = 'orderbook.50.BTCUSDT';
const frame = (type: 'snapshot' | 'delta', u: number, b: [string, string][], a: [string, string][]) =>
  JSON.stringify({ topic: TOPIC, type, ts: 1764900000000 + u, data: { s: 'BTCUSDT', b, a, u, seq: 50_000 + u }, cts: 1764900000000 + u - 1 });

describe('BybitFeed snapshots', () => {
  it('after a gap and a service restart (u = 1), the restarted stream syncs again instead of resubscribing on every snapshot', () => {
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
    // the stale gap update (u 1002) is dropped with one more resubscribe; the next snapshot of the restarted service syncs
    feed.onFrame(frame('snapshot', 5, [['65000.00', '4.000000']], [['65001.00', '1.000000']]));
    expect(s.sync.state).toBe('synced');
    feed.onFrame(frame('snapshot', 9, [['65000.00', '5.000000']], [['65001.00', '1.000000']]));
    feed.onFrame(frame('delta', 10, [['65000.00', '6.000000']], []));
    expect(s.sync.state).toBe('synced');
    expect(s.sync.lastSeq).toBe(10);
    expect(s.sync.mirror.bids.levels()).toEqual([{ price: 6_500_000, qty: 6_000_000 }]);
    expect(requests - afterGap).toBe(1);
  });
});

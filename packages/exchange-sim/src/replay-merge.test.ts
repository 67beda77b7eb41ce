import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock, type MarketEvent, type MarketEventSink } from '@cwts/core';
import { resolveSimOptions } from './options.js';
import { ReplaySource } from './replay.js';
import { SimVenue } from './venue.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-merge-'));
const T1 = 1_700_000_000_000;
const T2 = T1 + 3_600_000; // the second run, an hour later
const header = { kind: 'cwts-recording', version: 1, instruments: [{ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '0' }] };

/**
 * Two recordings of two runs (`run --record` writes a new file each time) given to one replay
 * (`[sim] replay_file = [run1, run2]`). Binance spot's REST depth snapshot has no event time, so
 * each run's initial snapshot is recorded with ts 0 (exchange-binance feed.ts): replay takes its
 * arrival time instead, or run 2's snapshot would be merged before all of run 1.
 */
function run(name: string, t: number, seq: number, bid: number): string {
  const records = [
    { type: 'book_snapshot', exchange: 'binance', symbol: 'BTCUSDT', ts: 0, recvTs: t, seq, reason: 'initial', bids: [{ price: bid, qty: 300 }], asks: [{ price: bid + 100, qty: 100 }] },
    { type: 'book_delta', exchange: 'binance', symbol: 'BTCUSDT', ts: t + 10, recvTs: t + 10, firstSeq: seq + 1, seq: seq + 1, bids: [{ price: bid - 100, qty: 50 }], asks: [] },
    { type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: t + 20, recvTs: t + 20, tradeId: `${name}-1`, price: bid + 100, qty: 20, side: 'buy' },
  ];
  const f = join(dir, `${name}.jsonl`);
  writeFileSync(f, [header, ...records].map((r) => JSON.stringify(r)).join('\n') + '\n');
  return f;
}

describe('merging recordings whose snapshots have no venue time (ts 0)', () => {
  it("replays run 1 entirely, then run 2; each snapshot at its arrival time", () => {
    const src = new ReplaySource({ files: [run('run1', T1, 100, 6_000_000), run('run2', T2, 900_000, 5_000_000)] });
    const order = [...src].map((e) => `${e.type}@${e.ts}`);
    expect(src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
    expect(order).toEqual([`book_snapshot@${T1}`, `book_delta@${T1 + 10}`, `trade@${T1 + 20}`, `book_snapshot@${T2}`, `book_delta@${T2 + 10}`, `trade@${T2 + 20}`]);
  });

  it("run 1's market is traded against run 1's book, not run 2's", () => {
    const venue = new SimVenue({ exchange: 'sim', clock: new ManualClock(0), options: resolveSimOptions({ replay_file: [run('run1b', T1, 100, 6_000_000), run('run2b', T2, 900_000, 5_000_000)], drive: 'manual' }), symbols: ['BTCUSDT'] });
    venue.loadInstruments([]);
    const atRun1Trade: (number | undefined)[][] = [];
    const sink: MarketEventSink = {
      onMarketEvent: (e: MarketEvent) => {
        if (e.type === 'trade' && e.tradeId === 'run1b-1') atRun1Trade.push([venue.book('BTCUSDT')?.bestBid(), venue.book('BTCUSDT')?.bestAsk()]);
      },
      onFeedStatus: () => {},
      onFeedError: () => {},
      onEndOfStream: () => {},
    };
    venue.start([], sink);
    venue.runToEnd();
    // run 1's book at its trade: 60000.00 / 60001.00 (not run 2's snapshot under run 1's delta: crossed)
    expect(atRun1Trade).toEqual([[6_000_000, 6_000_100]]);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MarketEvent, MarketEventSink } from '@cwts/core';
import { resolveSimOptions } from './options.js';
import { SimVenue } from './venue.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-speed-'));
const T = 1_700_000_000_000;
const header = { kind: 'cwts-recording', version: 1, instruments: [{ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '0' }] };

afterEach(() => vi.useRealTimers());

describe('timed replay (replay_speed > 0)', () => {
  it('starts from the first record at its replay time: a first snapshot stamped 0 (Binance spot) does not stall it', async () => {
    // What `run --record` writes for Binance spot: the fetched snapshot's ts is 0, the confirming
    // delta and the trades carry venue times.
    const records = [
      { type: 'book_snapshot', exchange: 'binance', symbol: 'BTCUSDT', ts: 0, recvTs: T, seq: 100, reason: 'initial', bids: [{ price: 5_999_900, qty: 300 }], asks: [{ price: 6_000_000, qty: 100 }] },
      { type: 'book_delta', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 10, recvTs: T + 10, firstSeq: 101, seq: 101, bids: [], asks: [{ price: 6_000_000, qty: 150 }] },
      { type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 2_000, recvTs: T + 2_000, tradeId: 'x1', price: 6_000_000, qty: 20, side: 'buy' },
    ];
    const file = join(dir, 'rec.jsonl');
    writeFileSync(file, [header, ...records].map((r) => JSON.stringify(r)).join('\n') + '\n');
    vi.useFakeTimers({ now: 5_000 });
    const clock = { now: () => Date.now(), monoNs: () => 0n };
    const venue = new SimVenue({ exchange: 'sim', clock, options: resolveSimOptions({ replay_file: file, replay_speed: 1 }) });
    const events: MarketEvent[] = [];
    const ends: string[] = [];
    const sink: MarketEventSink = { onMarketEvent: (e) => events.push(e), onFeedStatus: () => {}, onFeedError: () => {}, onEndOfStream: (x) => ends.push(x) };
    venue.start(['BTCUSDT'], sink);
    // at speed 1 the recording's 2 s take 2 s of (fake) wall time: not 54 years
    await vi.advanceTimersByTimeAsync(1_000);
    expect(events.map((e) => `${e.type}@${e.ts - T}`)).toEqual(['book_snapshot@0', 'book_delta@10']);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(events.map((e) => e.type)).toEqual(['book_snapshot', 'book_delta', 'trade']);
    expect(ends).toEqual(['sim']);
    venue.stop();
  });
});

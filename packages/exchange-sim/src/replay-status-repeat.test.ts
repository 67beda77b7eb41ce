/**
 * A recorded feed status that repeats the last one delivered for its key (the symbol, '' =
 * venue-wide) still reaches the engine: a snapshot may have synced the engine's book in between.
 * Every adapter reports a lost connection as a venue-wide `disconnected` status and the resync
 * as per-symbol `synced` statuses, so a recording with two disconnects has the same status twice
 * with a resync between; dropped, the second left the engine's book synced while the venue's own
 * copy was stale (live, the engine would have marked it stale: feed-loss REDUCING, the
 * BOOK_NOT_SYNCED pre-trade check, strategies and detectors told).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock, type FeedStatusEvent, type MarketEventSink } from '@cwts/core';
import { L2BookStore } from '@cwts/core/microstructure';
import { resolveSimOptions } from './options.js';
import { SimVenue } from './venue.js';

const T = 1_700_000_000_000;
const dir = mkdtempSync(join(tmpdir(), 'cwts-sim-status-repeat-review-'));
const header = {
  kind: 'cwts-recording',
  version: 1,
  instruments: [{ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' }],
};
const snapshot = (ts: number, seq: number, reason: 'initial' | 'resync') => ({
  type: 'book_snapshot', exchange: 'binance', symbol: 'BTCUSDT', ts, recvTs: ts, seq, reason, bids: [{ price: 5_999_900, qty: 300 }], asks: [{ price: 6_000_000, qty: 100 }],
});
const status = (symbol: string, ts: number, state: string, reason: string) => ({ type: 'feed_status', exchange: 'binance', symbol, state, reason, ts });
const trade = (ts: number, id: string) => ({ type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts, recvTs: ts, tradeId: id, price: 6_000_000, qty: 1, side: 'buy' });

/** Replays `lines` into a sink that keeps the books as the engine does (snapshots, deltas, statuses). */
function replay(name: string, lines: unknown[]) {
  const file = join(dir, name);
  writeFileSync(file, [header, ...lines].map((l) => JSON.stringify(l)).join('\n') + '\n');
  const venue = new SimVenue({ exchange: 'sim', clock: new ManualClock(0), options: resolveSimOptions({ replay_file: file, drive: 'manual' }), symbols: ['BTCUSDT'] });
  const engineBooks = new L2BookStore();
  const statuses: FeedStatusEvent[] = [];
  const sink: MarketEventSink = {
    onMarketEvent: (e) => {
      engineBooks.apply(e);
    },
    onFeedStatus: (st) => {
      statuses.push(st);
      engineBooks.applyStatus(st);
    },
    onFeedError: () => {},
  };
  venue.start([], sink);
  return { venue, engineBooks, statuses };
}

describe('repeated recorded feed statuses reach the engine', () => {
  it("a second venue-wide 'disconnected' (after a resync in between) reaches the engine, whose book is no longer synced, as the venue's is not", () => {
    const { venue, engineBooks, statuses } = replay('two-disconnects.jsonl', [
      snapshot(T, 100, 'initial'),
      status('BTCUSDT', T, 'synced', 'synced at 100'),
      // the adapter's first reconnect: venue-wide disconnected, then the book's own resync
      status('', T + 10, 'disconnected', 'disconnected: socket closed; reconnecting'),
      snapshot(T + 400, 300, 'resync'),
      status('BTCUSDT', T + 400, 'synced', 'resynced at 300'),
      // the second reconnect, an hour later
      status('', T + 3_600_000, 'disconnected', 'disconnected: socket closed; reconnecting'),
      trade(T + 3_600_100, 'x'),
    ]);
    venue.runToEnd();
    expect(venue.book('BTCUSDT')?.state).toBe('stale');
    expect(statuses.filter((s) => s.state === 'disconnected').map((s) => s.ts)).toEqual([T + 10, T + 3_600_000]);
    // what the engine's BookStore holds (live: stale after the second disconnect)
    expect(engineBooks.get('sim', 'BTCUSDT')?.state).toBe('stale');
  });

  it("a 'resyncing' repeating the last one delivered (a resync snapshot between, no synced status recorded) reaches the engine too", () => {
    const { venue, engineBooks } = replay('two-gaps.jsonl', [
      snapshot(T, 100, 'initial'),
      status('BTCUSDT', T + 10, 'resyncing', 'sequence_gap'),
      snapshot(T + 20, 200, 'resync'),
      status('BTCUSDT', T + 30, 'resyncing', 'sequence_gap'),
      trade(T + 40, 'a'),
    ]);
    venue.runToEnd();
    expect(venue.book('BTCUSDT')?.state).toBe('resyncing');
    expect(engineBooks.get('sim', 'BTCUSDT')?.state).toBe('resyncing');
  });
});

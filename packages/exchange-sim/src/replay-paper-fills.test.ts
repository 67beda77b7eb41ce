/**
 * Paper fills of resting orders in a replay, through the venue: a recorded trade fills only the
 * orders that had reached the venue when it printed (its venue time), and liquidity the recorded
 * book shows at or through a resting order's price fills it only as far as it goes, once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock, type ExecutionReport, type MarketEvent, type MarketEventSink, type Order } from '@cwts/core';
import { resolveSimOptions } from './options.js';
import { SimVenue } from './venue.js';

const T = 1_700_000_000_000;
const dir = mkdtempSync(join(tmpdir(), 'cwts-sim-paper-fills-'));
const spec = { exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '0' };
const header = { kind: 'cwts-recording', version: 1, instruments: [spec] };

const order = (id: string, o: Partial<Order>): Order => ({ exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', qty: 1, tif: 'GTC', source: 't', clientOrderId: id, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0, ...o });

/** Replays `lines` (latency_ms 5); `onTrade` may send orders on a trade. Returns every report. */
function replay(name: string, lines: unknown[], onTrade: (venue: SimVenue, tradeId: string) => void): ExecutionReport[] {
  const file = join(dir, name);
  writeFileSync(file, [header, ...lines].map((l) => JSON.stringify(l)).join('\n') + '\n');
  const venue = new SimVenue({ exchange: 'sim', clock: new ManualClock(0), options: resolveSimOptions({ replay_file: file, drive: 'manual', latency_ms: 5 }), symbols: ['BTCUSDT'] });
  const reports: ExecutionReport[] = [];
  void venue.execution.start((r) => reports.push(r));
  const sink: MarketEventSink = {
    onMarketEvent: (e: MarketEvent) => {
      if (e.type === 'trade') onTrade(venue, e.tradeId);
    },
    onFeedStatus: () => {},
    onFeedError: () => {},
  };
  venue.start([], sink);
  venue.runToEnd();
  expect(venue.replay!.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 }); // normal recordings
  return reports;
}

const snapshot = { type: 'book_snapshot', exchange: 'binance', symbol: 'BTCUSDT', ts: T, recvTs: T, seq: 100, reason: 'initial', bids: [{ price: 5_999_900, qty: 300 }], asks: [{ price: 6_000_000, qty: 100 }] };
const synced = { type: 'feed_status', exchange: 'binance', symbol: 'BTCUSDT', state: 'synced', reason: 'snapshot', ts: T };
const trade = (tradeId: string, ts: number, recvTs: number, price: number, qty: number, side: 'buy' | 'sell') => ({ type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts, recvTs, tradeId, price, qty, side });
const fillsOf = (reports: ExecutionReport[], id: string) => reports.filter((r) => r.kind === 'fill' && r.clientOrderId === id).map((r) => [r.lastPrice, r.lastQty, r.liquidity, r.ts]);

describe('replay: paper fills of resting orders', () => {
  it('a trade stamped before the resting order reached the venue does not fill it', () => {
    const reports = replay('late-trade.jsonl', [
      snapshot,
      synced,
      // the bid is sent when this trade is received: it reaches the venue at T+9+5 = T+14
      trade('a', T + 8, T + 9, 6_000_000, 1, 'buy'),
      { type: 'book_delta', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 20, recvTs: T + 21, firstSeq: 101, seq: 101, bids: [{ price: 5_999_800, qty: 10 }], asks: [] },
      // a sell that printed at T+10 (received after the T+20 update): 4 ms before our bid existed
      trade('b', T + 10, T + 22, 5_999_900, 5, 'sell'),
      // one that printed after it fills it
      trade('c', T + 30, T + 31, 5_999_900, 2, 'sell'),
    ], (venue, id) => {
      if (id === 'a') venue.execution.submit(order('bid1', { price: 5_999_950, qty: 5 }));
    });
    expect(reports.find((r) => r.kind === 'ack')?.ts).toBe(T + 14);
    expect(fillsOf(reports, 'bid1')).toEqual([[5_999_950, 2, 'maker', T + 30]]);
  });

  describe('liquidity the book shows at a resting order\'s price', () => {
    const lines = [
      snapshot,
      synced,
      trade('a', T + 8, T + 8, 6_000_000, 1, 'buy'),
      // someone offers ONE lot at our bid's price
      { type: 'book_delta', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 20, recvTs: T + 20, firstSeq: 101, seq: 101, bids: [], asks: [{ price: 5_999_950, qty: 1 }] },
      trade('b', T + 30, T + 30, 6_000_000, 1, 'buy'),
      { type: 'book_delta', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 100, recvTs: T + 100, firstSeq: 102, seq: 102, bids: [{ price: 5_999_800, qty: 5 }], asks: [] },
    ];
    const run = (name: string, bidQty: number) =>
      replay(name, lines, (venue, id) => {
        if (id === 'a') venue.execution.submit(order('bid', { price: 5_999_950, qty: bidQty }));
        if (id === 'b') venue.execution.submit(order('mkt', { type: 'market', tif: 'IOC', qty: 1 }));
      });

    it('a 1-lot offer at our bid fills 1 lot of a 1000-lot resting bid, not the whole 1000', () => {
      expect(fillsOf(run('overfill-1000.jsonl', 1000), 'bid')).toEqual([[5_999_950, 1, 'maker', T + 20]]);
    });

    it('the offer a resting bid traded with is not taken a second time by the next market buy', () => {
      const reports = run('overfill-1.jsonl', 1);
      expect(fillsOf(reports, 'bid')).toEqual([[5_999_950, 1, 'maker', T + 20]]);
      // that lot is gone: the market buy pays the next offer, 6_000_000
      expect(fillsOf(reports, 'mkt')).toEqual([[6_000_000, 1, 'taker', T + 35]]);
    });
  });
});

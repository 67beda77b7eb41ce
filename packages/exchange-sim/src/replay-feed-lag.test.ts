/**
 * In a replay an order leaves when the live engine had the event it answers: at that event's
 * receive time `recvTs` (what the replayed engine's clock reads, replayClockTime), never before
 * the venue's own time; fills and reports stay on venue time. Sent at the event's venue time
 * instead, a recording of a host 1 s behind its feed replayed with 1 s of look-ahead: the order
 * reached the venue 5 ms after the print and filled at an ask gone 500 ms later.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock, type ExecutionReport, type MarketEvent, type MarketEventSink, type Order } from '@cwts/core';
import { resolveSimOptions } from './options.js';
import { SimVenue } from './venue.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-lag-'));
const T = 1_700_000_000_000;
const header = { kind: 'cwts-recording', version: 1, instruments: [{ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '0' }] };

/**
 * A print at T+10 of the 60000.00 ask, which moves up to 60005.00 at T+500; each record received
 * `lag` ms after its venue time (`recvTs` 0: none recorded). An IOC buy at 60000.00 is sent when
 * the print is received (latency_ms 5). Returns the reports.
 */
function replayWithLag(name: string, lag: number | 'none'): ExecutionReport[] {
  const recv = (ts: number): number => (lag === 'none' ? 0 : ts + lag);
  const recs = [
    { type: 'book_snapshot', exchange: 'binance', symbol: 'BTCUSDT', ts: T, recvTs: recv(T), seq: 1, reason: 'initial', bids: [{ price: 5_999_900, qty: 100 }], asks: [{ price: 6_000_000, qty: 10 }] },
    { type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 10, recvTs: recv(T + 10), tradeId: 'w', price: 6_000_000, qty: 1, side: 'buy' },
    { type: 'book_delta', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 500, recvTs: recv(T + 500), firstSeq: 2, seq: 2, bids: [], asks: [{ price: 6_000_000, qty: 0 }, { price: 6_000_500, qty: 10 }] },
    { type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 2_000, recvTs: recv(T + 2_000), tradeId: 'x', price: 6_000_500, qty: 1, side: 'buy' },
  ];
  const file = join(dir, name);
  writeFileSync(file, [header, ...recs].map((r) => JSON.stringify(r)).join('\n') + '\n');
  const clock = new ManualClock(0);
  const venue = new SimVenue({ exchange: 'binance', clock, options: resolveSimOptions({ replay_file: file, drive: 'manual', latency_ms: 5 }) });
  venue.loadInstruments([]);
  const reports: ExecutionReport[] = [];
  void venue.execution.start((r) => reports.push(r));
  const sink: MarketEventSink = {
    onMarketEvent: (e: MarketEvent) => {
      clock.set(e.recvTs > 0 ? e.recvTs : e.ts); // what `cwts-ultra replay` does before each event
      if (e.type === 'trade' && e.tradeId === 'w') {
        const o: Order = { clientOrderId: 'cw-1', exchange: 'binance', symbol: 'BTCUSDT', side: 'buy', type: 'limit', tif: 'IOC', price: 6_000_000, qty: 10, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: clock.now(), updatedTs: clock.now(), source: 't' };
        venue.execution.submit(o);
      }
    },
    onFeedStatus: () => {},
    onFeedError: () => {},
  };
  venue.start([], sink);
  venue.runToEnd();
  expect(venue.replay!.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
  return reports;
}

const summary = (reports: ExecutionReport[]) => reports.map((r) => [r.kind, r.lastPrice, r.lastQty, r.ts]);

describe('replay: an order leaves at the receive time of the event it answers', () => {
  it('a host 1 s behind its feed: the IOC reaches the venue at T+1015, after the ask left at T+500, and fills nothing', () => {
    const reports = replayWithLag('lag-1s.jsonl', 1_000);
    expect(reports.filter((r) => r.kind === 'fill')).toEqual([]);
    // the venue's answers carry venue time: the arrival, received-at plus latency
    expect(summary(reports)).toEqual([
      ['ack', 0, 0, T + 1_015],
      ['cancelled', 0, 0, T + 1_015],
    ]);
  });

  it('a host 2 ms behind: the IOC reaches the venue at T+17 and fills at the ask it aimed at', () => {
    expect(summary(replayWithLag('lag-2ms.jsonl', 2)).filter(([kind]) => kind === 'fill')).toEqual([['fill', 6_000_000, 10, T + 17]]);
  });

  it('no receive time recorded, or one before the venue time (a host clock ahead): sent at the venue time', () => {
    expect(summary(replayWithLag('lag-none.jsonl', 'none')).filter(([kind]) => kind === 'fill')).toEqual([['fill', 6_000_000, 10, T + 15]]);
    expect(summary(replayWithLag('lag-negative.jsonl', -3)).filter(([kind]) => kind === 'fill')).toEqual([['fill', 6_000_000, 10, T + 15]]);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock, type ExecutionReport, type FeedStatusEvent, type MarketEvent, type MarketEventSink } from '@cwts/core';
import { resolveSimOptions } from './options.js';
import { ReplaySource, type ReplayItem } from './replay.js';
import { SimVenue } from './venue.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-sim-replay-'));
const T = 1_700_000_000_000;

function collector() {
  const events: MarketEvent[] = [];
  const statuses: FeedStatusEvent[] = [];
  const errors: string[] = [];
  const ends: string[] = [];
  const sink: MarketEventSink = {
    onMarketEvent: (e) => events.push(e),
    onFeedStatus: (s) => statuses.push(s),
    onFeedError: (c, m) => errors.push(`${c}: ${m}`),
    onEndOfStream: (x) => ends.push(x),
  };
  return { sink, events, statuses, errors, ends };
}

const header = { kind: 'cwts-recording', version: 1, instruments: [{ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' }] };
const recorded: unknown[] = [
  { type: 'book_snapshot', exchange: 'binance', symbol: 'BTCUSDT', ts: T, recvTs: T + 1, seq: 100, reason: 'initial', bids: [{ price: 5_999_900, qty: 300 }, { price: 5_999_800, qty: 1000 }], asks: [{ price: 6_000_000, qty: 100 }, { price: 6_000_100, qty: 500 }] },
  { type: 'feed_status', exchange: 'binance', symbol: 'BTCUSDT', state: 'synced', reason: 'snapshot', ts: T + 1 },
  { type: 'book_delta', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 10, recvTs: T + 11, firstSeq: 101, seq: 101, bids: [], asks: [{ price: 6_000_000, qty: 150 }] },
  { type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 20, recvTs: T + 21, tradeId: 'x1', price: 6_000_000, qty: 20, side: 'buy' },
  { type: 'liquidation', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 30, recvTs: T + 31, side: 'sell', price: 5_999_900, qty: 40 },
  { type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 40, recvTs: T + 41, tradeId: 'x2', price: 5_999_800, qty: 60, side: 'sell' },
];

function writeJsonl(name: string): string {
  const lines = [JSON.stringify(header), ...recorded.slice(0, 3).map((e) => JSON.stringify(e)), '{not json', JSON.stringify({ type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 15, recvTs: T + 15, tradeId: 'bad', price: 1.5, qty: 1, side: 'buy' }), '', ...recorded.slice(3).map((e) => JSON.stringify(e)), JSON.stringify({ type: 'funding', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 50, recvTs: T + 50 })];
  const f = join(dir, name);
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

afterEach(() => vi.useRealTimers());

describe('ReplaySource, jsonl', () => {
  it('reads the header instruments and every event as recorded, counting malformed lines', () => {
    const file = writeJsonl('rec.jsonl');
    const errors: string[] = [];
    const src = new ReplaySource({ files: [file], onError: (c, m) => errors.push(`${c}: ${m}`) });
    expect(src.format).toBe('jsonl');
    expect(src.instruments().map((i) => [i.exchange, i.symbol, i.tickSize, i.lotSize, i.minNotional])).toEqual([['binance', 'BTCUSDT', '0.01', '0.00001', '5']]);
    const items = [...src];
    expect(items).toEqual(recorded);
    expect(src.malformed).toBe(3);
    expect(errors).toEqual([
      expect.stringMatching(/^replay: line 5: invalid JSON/),
      'replay: line 6: trade price: must be an integer number of ticks',
      'replay: line 11: unknown event type "funding"',
    ]);
    expect(src.delivered).toBe(recorded.length);
  });

  it('drives the sim venue synchronously: events renamed to the venue, paper fills against the replayed book, end of stream', async () => {
    const file = writeJsonl('rec2.jsonl');
    const venue = new SimVenue({ exchange: 'sim', clock: new ManualClock(0), options: resolveSimOptions({ replay_file: file, drive: 'manual', latency_ms: 5 }), symbols: ['BTCUSDT'] });
    const inst = venue.loadInstruments([]);
    expect(inst.map((i) => [i.exchange, i.symbol])).toEqual([['sim', 'BTCUSDT']]);
    const c = collector();
    const reports: ExecutionReport[] = [];
    await venue.execution.start((r) => reports.push(r));
    // an order sent when the delta is received (T+11, its venue time T+10) reaches the venue at T+16, before the trade at T+20
    c.sink.onMarketEvent = (e) => {
      c.events.push(e);
      if (e.type === 'book_delta') {
        venue.execution.submit({ exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'market', qty: 200, tif: 'IOC', source: 't', clientOrderId: 'm1', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0 });
        venue.execution.submit({ exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_999_850, qty: 50, tif: 'GTC', source: 't', clientOrderId: 'l1', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0 });
      }
    };
    venue.start([], c.sink);
    venue.runToEnd();
    expect(c.events.map((e) => [e.type, e.exchange])).toEqual(recorded.filter((e: any) => e.type !== 'feed_status').map((e: any) => [e.type, 'sim']));
    expect(c.statuses).toEqual([{ type: 'feed_status', exchange: 'sim', symbol: 'BTCUSDT', state: 'synced', reason: 'snapshot', ts: T + 1 }]);
    expect(c.ends).toEqual(['sim']);
    expect(c.errors).toHaveLength(3);
    expect(reports.map((r) => [r.clientOrderId, r.kind, r.lastPrice, r.lastQty, r.ts])).toEqual([
      ['m1', 'ack', 0, 0, T + 16],
      ['m1', 'fill', 6_000_000, 150, T + 16],
      ['m1', 'fill', 6_000_100, 50, T + 16],
      ['l1', 'ack', 0, 0, T + 16],
      // the sell at 59998.00 (T+40) goes through the resting bid at 59998.50
      ['l1', 'fill', 5_999_850, 50, T + 40],
    ]);
  });

  it('replays as fast as possible on the event loop and ends with no timer left', async () => {
    const file = writeJsonl('rec3.jsonl');
    const venue = new SimVenue({ exchange: 'sim', clock: new ManualClock(0), options: resolveSimOptions({ replay_file: file, replay_speed: 0 }) });
    const c = collector();
    const done = new Promise<void>((resolve) => (c.sink.onEndOfStream = () => resolve()));
    venue.start(['BTCUSDT'], c.sink);
    await done;
    expect(c.events).toHaveLength(5);
    expect(venue.activeTimers()).toBe(0);
    venue.stop();
  });

  it('replays at real or accelerated speed against the clock', async () => {
    vi.useFakeTimers({ now: 5_000 });
    const clock = { now: () => Date.now(), monoNs: () => 0n };
    const file = writeJsonl('rec4.jsonl');
    const venue = new SimVenue({ exchange: 'sim', clock, options: resolveSimOptions({ replay_file: file, replay_speed: 2 }) });
    const c = collector();
    venue.start(['BTCUSDT'], c.sink);
    await vi.advanceTimersByTimeAsync(6); // 12 ms of recording: snapshot, status, delta
    expect(c.events.map((e) => e.type)).toEqual(['book_snapshot', 'book_delta']);
    await vi.advanceTimersByTimeAsync(10); // 32 ms: + trade, liquidation
    expect(c.events.map((e) => e.type)).toEqual(['book_snapshot', 'book_delta', 'trade', 'liquidation']);
    await vi.advanceTimersByTimeAsync(200);
    expect(c.events).toHaveLength(5);
    expect(c.ends).toEqual(['sim']);
    expect(venue.activeTimers()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('ReplaySource, tardis CSV', () => {
  const trades = [
    'exchange,symbol,timestamp,local_timestamp,id,side,price,amount',
    'binance,BTCUSDT,1700000000100000,1700000000100500,t1,buy,60000.1,0.002',
    'binance,BTCUSDT,1700000000250000,1700000000250500,t2,sell,59999.9,0.0105',
    'binance,BTCUSDT,garbage,1,t3,sell,1,1',
    'binance,BTCUSDT,1700000000400000,1700000000400500,t4,unknown,59999.8,0.001',
  ].join('\n');
  const book = [
    'exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount',
    'binance,BTCUSDT,1700000000000000,1700000000000100,true,ask,60000.1,1.5',
    'binance,BTCUSDT,1700000000000000,1700000000000100,true,ask,60000.5,2',
    'binance,BTCUSDT,1700000000000000,1700000000000100,true,bid,59999.9,0.5',
    'binance,BTCUSDT,1700000000000000,1700000000000100,true,bid,59999.5,3',
    'binance,BTCUSDT,1700000000200000,1700000000200100,false,ask,60000.1,0',
    'binance,BTCUSDT,1700000000200000,1700000000200100,false,ask,60000.3,0.25',
    'binance,BTCUSDT,1700000000300000,1700000000300100,false,bid,59999.9,0.4',
    'binance,BTCUSDT,1700000000300000,1700000000300100,maybe,bid,59999.9,0.4',
  ].join('\n');

  it('merges trades and incremental_book_L2 files by timestamp, infers tick and lot, groups snapshots and deltas', () => {
    const tf = join(dir, 'binance_trades_2023-11-14_BTCUSDT.csv');
    const bf = join(dir, 'binance_incremental_book_L2_2023-11-14_BTCUSDT.csv.gz');
    writeFileSync(tf, trades + '\n');
    writeFileSync(bf, gzipSync(book + '\n'));
    const errors: string[] = [];
    const src = new ReplaySource({ files: [tf, bf], exchange: 'sim', onError: (_c, m) => errors.push(m) });
    expect(src.format).toBe('tardis');
    // max decimals: price 1 -> tick 0.1 ; amount 4 (0.0105) -> lot 0.0001
    expect(src.instruments().map((i) => [i.exchange, i.symbol, i.tickSize, i.lotSize, i.base, i.quote])).toEqual([['sim', 'BTCUSDT', '0.1', '0.0001', 'BTC', 'USDT']]);
    const items: ReplayItem[] = [...src];
    expect(items.map((e) => [e.type, e.ts])).toEqual([
      ['book_snapshot', 1700000000000],
      ['feed_status', 1700000000000],
      ['trade', 1700000000100],
      ['book_delta', 1700000000200],
      ['trade', 1700000000250],
      ['book_delta', 1700000000300],
      ['trade', 1700000000400],
    ]);
    expect(items[0]).toEqual({
      type: 'book_snapshot', exchange: 'sim', symbol: 'BTCUSDT', ts: 1700000000000, recvTs: 1700000000000, seq: 1, reason: 'initial',
      bids: [{ price: 599_999, qty: 5000 }, { price: 599_995, qty: 30_000 }],
      asks: [{ price: 600_001, qty: 15_000 }, { price: 600_005, qty: 20_000 }],
    });
    expect(items[2]).toEqual({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: 1700000000100, recvTs: 1700000000100, tradeId: 't1', price: 600_001, qty: 20, side: 'buy' });
    expect(items[3]).toMatchObject({ firstSeq: 2, seq: 2, bids: [], asks: [{ price: 600_001, qty: 0 }, { price: 600_003, qty: 2500 }] });
    expect(items[4]).toMatchObject({ price: 599_999, qty: 105, side: 'sell' });
    expect(items[5]).toMatchObject({ seq: 3, bids: [{ price: 599_999, qty: 4000 }], asks: [] });
    expect(items[6]).toMatchObject({ side: 'sell', price: 599_998 }); // 'unknown' side below the mid
    expect(src.malformed).toBe(2);
    expect(errors.sort()).toEqual([
      expect.stringMatching(/^line 4: bad timestamp "garbage" \(binance_trades/),
      expect.stringMatching(/^line 9: bad is_snapshot "maybe" \(binance_incremental/),
    ]);
  });

  it('takes tick and lot from options.instruments when given, and reports off-grid values', () => {
    const tf = join(dir, 'trades-only.csv');
    writeFileSync(tf, trades + '\n');
    const errors: string[] = [];
    const src = new ReplaySource({ files: [tf], instruments: { BTCUSDT: { tickSize: '0.1', lotSize: '0.001' } }, onError: (_c, m) => errors.push(m) });
    expect(src.instruments()[0]).toMatchObject({ tickSize: '0.1', lotSize: '0.001', exchange: 'binance' });
    const items = [...src];
    expect(items.map((e) => (e as MarketEvent & { tradeId: string }).tradeId)).toEqual(['t1', 't4']);
    expect(src.malformed).toBe(2);
    expect(errors[0]).toMatch(/^line 3: amount of BTCUSDT 0.0105 is not a multiple of the increment 0.001/);
  });

  it('reports an unrecognized CSV header instead of crashing', () => {
    const f = join(dir, 'weird.csv');
    writeFileSync(f, 'a,b,c\n1,2,3\n');
    const errors: string[] = [];
    const src = new ReplaySource({ files: [f], onError: (_c, m) => errors.push(m) });
    expect([...src]).toEqual([]);
    expect(src.malformed).toBe(1);
    expect(errors[0]).toMatch(/^line 1: not a tardis trades or incremental_book_L2 header/);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock, type ExecutionReport, type MarketEvent, type MarketEventSink } from '@cwts/core';
import { resolveSimOptions } from './options.js';
import { ReplaySource } from './replay.js';
import { DeliveredTrades, MAX_TRADES_PER_WINDOW, TRADE_REPEAT_WINDOW_MS } from './replay-trades.js';
import { SimVenue } from './venue.js';

/**
 * A trade line written twice is one print: replayed twice, paper matching fills a resting order
 * against it twice. The repeat is dropped wherever it is: later in its file and out of order, in
 * the next file of an overlapping rotation, in a file given twice; and it is counted as damage.
 */
const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-repeats-'));
const T = 1_700_000_000_000;
const header = { kind: 'cwts-recording', version: 1, instruments: [{ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '0' }] };
const snapshot = { type: 'book_snapshot', exchange: 'binance', symbol: 'BTCUSDT', ts: T, recvTs: T, seq: 100, reason: 'initial', bids: [{ price: 5_999_900, qty: 300 }], asks: [{ price: 6_000_000, qty: 100 }] };
const delta = { type: 'book_delta', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 10, recvTs: T + 10, firstSeq: 101, seq: 101, bids: [], asks: [{ price: 6_000_000, qty: 150 }] };
/** A sell print of 60 lots through a resting buy at 59998.50. */
const sellX1 = { type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 40, recvTs: T + 40, tradeId: 'x1', price: 5_999_800, qty: 60, side: 'sell' };
const buyX2 = { type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 50, recvTs: T + 50, tradeId: 'x2', price: 6_000_000, qty: 1, side: 'buy' };

function write(name: string, records: unknown[]): string {
  const f = join(dir, name);
  writeFileSync(f, [header, ...records].map((r) => JSON.stringify(r)).join('\n') + '\n');
  return f;
}

/** Replays `files` on a sim venue with a resting buy of 100 lots at 59998.50 placed at the delta. */
function restingBuy(files: string[]) {
  const venue = new SimVenue({ exchange: 'sim', clock: new ManualClock(0), options: resolveSimOptions({ replay_file: files, drive: 'manual', latency_ms: 1 }), symbols: ['BTCUSDT'] });
  venue.loadInstruments([]);
  const reports: ExecutionReport[] = [];
  void venue.execution.start((r) => reports.push(r));
  const trades: string[] = [];
  const errors: string[] = [];
  let sent = false;
  const sink: MarketEventSink = {
    onMarketEvent: (e: MarketEvent) => {
      if (e.type === 'trade') trades.push(e.tradeId);
      if (e.type === 'book_delta' && !sent) {
        sent = true;
        venue.execution.submit({ exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_999_850, qty: 100, tif: 'GTC', source: 't', clientOrderId: 'l1', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0 });
      }
    },
    onFeedStatus: () => {},
    onFeedError: (_c, m) => errors.push(m),
    onEndOfStream: () => {},
  };
  venue.start([], sink);
  venue.runToEnd();
  return { fills: reports.filter((r) => r.kind === 'fill').map((r) => [r.lastQty, r.ts]), trades, errors, integrity: venue.replay!.integrity() };
}

describe('replay drops a trade it already delivered', () => {
  it('a repeat later in the same file, out of order: one print, one fill, counted once (malformed, not also out of order)', () => {
    const got = restingBuy([write('dup-out-of-order.jsonl', [snapshot, delta, sellX1, buyX2, sellX1])]);
    expect(got.fills).toEqual([[60, T + 40]]);
    expect(got.trades).toEqual(['x1', 'x2']);
    expect(got.integrity).toEqual({ malformed: 1, skipped: 0, outOfOrder: 0, truncated: 0 });
    expect(got.errors).toEqual([`line 6: trade BTCUSDT tradeId "x1" repeated at ts ${T + 40}: a duplicate line`]);
  });

  it('the same trade at the end of one file and the top of the next (overlapping rotated recordings)', () => {
    const a = write('rec-a.jsonl', [snapshot, delta, sellX1]);
    const b = write('rec-b.jsonl', [sellX1, buyX2]);
    const got = restingBuy([a, b]);
    expect(got.fills).toEqual([[60, T + 40]]);
    expect(got.trades).toEqual(['x1', 'x2']);
    expect(got.integrity).toEqual({ malformed: 1, skipped: 0, outOfOrder: 0, truncated: 0 });
    expect(got.errors).toEqual([`line 2: trade BTCUSDT tradeId "x1" repeated at ts ${T + 40}: a duplicate line (rec-b.jsonl)`]);
  });

  it('the same file listed twice: every trade once, every repeat counted', () => {
    const a = write('rec-same.jsonl', [snapshot, delta, sellX1, buyX2]);
    const src = new ReplaySource({ files: [a, a] });
    const trades = [...src].filter((e) => e.type === 'trade').map((e) => (e as { tradeId: string }).tradeId);
    expect(trades).toEqual(['x1', 'x2']);
    expect(src.integrity()).toEqual({ malformed: 2, skipped: 0, outOfOrder: 0, truncated: 0 });
  });

  it('a late trade that is no repeat is replayed and counted out of order; a trade without an id is never a repeat', () => {
    const late = { ...sellX1, tradeId: 'x0', ts: T + 30, recvTs: T + 30 };
    const anonymous = { ...buyX2, tradeId: '' };
    const src = new ReplaySource({ files: [write('late.jsonl', [snapshot, delta, sellX1, late, anonymous, anonymous])] });
    const trades = [...src].filter((e) => e.type === 'trade').map((e) => (e as { tradeId: string }).tradeId);
    expect(trades).toEqual(['x1', 'x0', '', '']);
    expect(src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 1, truncated: 0 });
  });

  it('the same tardis trades file given twice: every trade once', () => {
    const f = join(dir, 'binance_trades.csv');
    const us = T * 1000;
    writeFileSync(f, ['exchange,symbol,timestamp,local_timestamp,id,side,price,amount', `binance,BTCUSDT,${us},${us + 100},1,buy,60000.1,0.002`, `binance,BTCUSDT,${us + 5},${us + 105},,sell,60000.0,0.001`].join('\n') + '\n');
    const src = new ReplaySource({ files: [f, f] });
    const trades = [...src].filter((e) => e.type === 'trade');
    expect(trades.map((e) => e.ts)).toEqual([T, T]);
    expect(src.integrity().malformed).toBe(2);
  });
});

describe('DeliveredTrades', () => {
  const t = (tradeId: string, ts: number, over: Partial<{ price: number; qty: number; side: 'buy' | 'sell'; symbol: string }> = {}) =>
    ({ type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts, recvTs: ts, tradeId, price: 100, qty: 1, side: 'buy', ...over }) as const;

  it('a repeat is the same line: same stream, id, time, price, quantity and side', () => {
    const d = new DeliveredTrades();
    expect(d.repeated(t('1', T))).toBe(false);
    expect(d.repeated(t('1', T))).toBe(true);
    // an id a source made up (tardis rows without one) may come again with another trade
    expect(d.repeated(t('1', T, { price: 101 }))).toBe(false);
    expect(d.repeated(t('1', T, { qty: 2 }))).toBe(false);
    expect(d.repeated(t('1', T, { side: 'sell' }))).toBe(false);
    expect(d.repeated(t('1', T + 1))).toBe(false);
    expect(d.repeated(t('1', T, { symbol: 'ETHUSDT' }))).toBe(false);
    expect(d.repeated(t('', T))).toBe(false);
    expect(d.repeated(t('', T))).toBe(false);
  });

  it('remembers a trade for at least a window of its stream time, then forgets it (memory stays bounded)', () => {
    const d = new DeliveredTrades();
    d.repeated(t('a', T));
    d.repeated(t('b', T + TRADE_REPEAT_WINDOW_MS - 1));
    d.repeated(t('c', T + TRADE_REPEAT_WINDOW_MS));
    expect(d.repeated(t('a', T))).toBe(true);
    d.repeated(t('d', T + 2 * TRADE_REPEAT_WINDOW_MS));
    expect(d.repeated(t('a', T))).toBe(false);
    expect(d.repeated(t('c', T + TRADE_REPEAT_WINDOW_MS))).toBe(true);
  });

  it('holds at most two windows of MAX_TRADES_PER_WINDOW trades per stream, whatever the rate', () => {
    const d = new DeliveredTrades();
    d.repeated(t('first', T));
    for (let k = 0; k < 2 * MAX_TRADES_PER_WINDOW; k++) d.repeated(t(`n${k}`, T));
    expect(d.repeated(t('first', T))).toBe(false);
    expect(d.repeated(t(`n${2 * MAX_TRADES_PER_WINDOW - 1}`, T))).toBe(true);
  });
});

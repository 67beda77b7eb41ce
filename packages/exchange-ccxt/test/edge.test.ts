/**
 * The ccxt edge without a network: a scripted stand-in for a ccxt exchange hands books and
 * trades (as ccxt does: floats, whole books) and the adapter's output goes into the engine's
 * BookStore through the conformance sink.
 */
import { ManualClock, priceToTicks, qtyToLots } from '@cwts/core';
import { ConformanceSink, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { CcxtBook, CcxtExchange, CcxtMarket, CcxtTrade } from '../src/index.js';
import { CcxtMarketData, incrementOf, instrumentFromMarket, PrecisionMode, rerootUrls, resolveCcxtOptions, validateCcxtOptions, watchErrorReason } from '../src/index.js';

class Feed<T> {
  private items: (T | Error)[] = [];
  private waiter: ((v: void) => void) | undefined;
  push(x: T | Error): void {
    this.items.push(x);
    this.waiter?.();
  }
  async next(): Promise<T> {
    while (this.items.length === 0) await new Promise<void>((r) => (this.waiter = r));
    const x = this.items.shift()!;
    if (x instanceof Error) throw x;
    return x;
  }
  fail(e: Error): void {
    this.push(e);
  }
}

class InvalidNonce extends Error {}
class NetworkError extends Error {}

const MARKET: CcxtMarket = { id: 'BTCUSDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', precision: { price: 0.01, amount: 0.0001 } };

function stubExchange(): { ex: CcxtExchange; books: Feed<CcxtBook>; trades: Feed<CcxtTrade[]> } {
  const books = new Feed<CcxtBook>();
  const trades = new Feed<CcxtTrade[]>();
  const ex = {
    id: 'stub', urls: { api: {} }, options: {}, precisionMode: PrecisionMode.TICK_SIZE, has: {},
    markets_by_id: { BTCUSDT: [MARKET] },
    loadMarkets: async () => ({ 'BTC/USDT': MARKET }),
    watchOrderBook: () => books.next(),
    watchTrades: () => trades.next(),
    handleMessage: () => undefined,
    numberToString: (n: number | string) => String(n),
    close: async () => {
      books.fail(new NetworkError('closed'));
      trades.fail(new NetworkError('closed'));
    },
  } as unknown as CcxtExchange;
  return { ex, books, trades };
}

const BOOK = (nonce: number, bids: [number, number][], asks: [number, number][]): CcxtBook => ({ nonce, bids, asks });

describe('ccxt market data edge', () => {
  let md: CcxtMarketData | undefined;
  afterEach(async () => {
    await md?.stop();
    md = undefined;
  });

  async function boot() {
    const s = stubExchange();
    const clock = new ManualClock(1_000);
    md = new CcxtMarketData({ exchange: 'stub', ccxt: async () => s.ex, options: resolveCcxtOptions({ reconnect_initial_ms: 0, reconnect_max_ms: 1 }), clock });
    const sink = new ConformanceSink();
    const [i] = await md.loadInstruments(['BTC/USDT']);
    await md.start(['BTCUSDT'], sink);
    return { ...s, sink, i: i! };
  }

  it('maps ccxt precision to the instrument and keeps the venue symbol', async () => {
    const { i } = await boot();
    expect(i).toMatchObject({ exchange: 'stub', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.0001' });
  });

  it('sends the first book as a snapshot, then diffs as sequenced deltas', async () => {
    const { books, sink, i } = await boot();
    books.push(BOOK(100, [[64000.01, 1.5], [64000, 2]], [[64000.02, 0.25], [64000.5, 3]]));
    await waitUntil(() => sink.books.get('stub', 'BTCUSDT')?.state === 'synced', 'synced');
    expect(sink.snapshots('initial')).toHaveLength(1);
    expect(sink.snapshots('initial')[0]).toMatchObject({ seq: 100, bids: [{ price: 6_400_001, qty: 15_000 }, { price: 6_400_000, qty: 20_000 }] });
    // 64000.01 gone, 64000 changed, ask 64000.02 unchanged, 64000.5 gone, 64001 new
    books.push(BOOK(104, [[64000, 2.5]], [[64000.02, 0.25], [64001, 1]]));
    await waitUntil(() => sink.events.some((e) => e.type === 'book_delta'), 'a delta');
    const d = sink.events.find((e) => e.type === 'book_delta')!;
    expect(d).toMatchObject({ firstSeq: 101, seq: 104 });
    if (d.type !== 'book_delta') throw new Error('unreachable');
    expect(d.bids).toEqual(expect.arrayContaining([{ price: 6_400_000, qty: 25_000 }, { price: 6_400_001, qty: 0 }]));
    expect(d.bids).toHaveLength(2);
    expect(d.asks).toEqual(expect.arrayContaining([{ price: 6_400_100, qty: 10_000 }, { price: 6_400_050, qty: 0 }]));
    expect(d.asks).toHaveLength(2);
    const top = sink.top('stub', i, 5);
    expect(top).toEqual({ state: 'synced', bids: [['64000', '2.5']], asks: [['64000.02', '0.25'], ['64001', '1']] });
  });

  it('keeps the delta sequence contiguous across books with no top-level change', async () => {
    const { books, sink } = await boot();
    books.push(BOOK(100, [[64000, 1]], [[64001, 1]]));
    await waitUntil(() => sink.books.get('stub', 'BTCUSDT')?.state === 'synced', 'synced');
    books.push(BOOK(103, [[64000, 1]], [[64001, 1]])); // ids 101..103 changed nothing we show
    books.push(BOOK(105, [[64000, 2]], [[64001, 1]]));
    await waitUntil(() => sink.events.some((e) => e.type === 'book_delta'), 'a delta');
    const deltas = sink.events.filter((e) => e.type === 'book_delta');
    expect(deltas).toHaveLength(1);
    // the delta covers 101..105: an engine checking firstSeq = last seq + 1 sees no gap
    expect(deltas[0]).toMatchObject({ firstSeq: 101, seq: 105 });
  });

  it('counts an off-grid book, keeps it out of SYNCED, and resyncs from the next clean book', async () => {
    const { books, sink } = await boot();
    books.push(BOOK(1, [[64000, 1]], [[64001, 1]]));
    await waitUntil(() => sink.books.get('stub', 'BTCUSDT')?.state === 'synced', 'synced');
    books.push(BOOK(2, [[64000.005, 1]], [[64001, 1]]));
    await waitUntil(() => md!.reporter.counts.off_grid === 1, 'off_grid counted');
    expect(sink.books.get('stub', 'BTCUSDT')!.state).toBe('resyncing');
    books.push(BOOK(3, [[64000, 0.00005]], [[64001, 1]])); // quantity off the lot grid too
    await waitUntil(() => md!.reporter.counts.off_grid === 2, 'second off_grid counted');
    expect(sink.books.get('stub', 'BTCUSDT')!.state).toBe('resyncing');
    books.push(BOOK(4, [[63999, 1]], [[64001, 1]]));
    await waitUntil(() => sink.snapshots('resync').length === 1, 'a resync snapshot');
    expect(sink.books.get('stub', 'BTCUSDT')!.state).toBe('synced');
  });

  it('rejects a crossed book as a bad snapshot', async () => {
    const { books, sink } = await boot();
    books.push(BOOK(1, [[64002, 1]], [[64001, 1]]));
    await waitUntil(() => md!.reporter.counts.bad_snapshot === 1, 'bad_snapshot counted');
    expect(sink.books.get('stub', 'BTCUSDT')?.state).not.toBe('synced');
  });

  it('takes the book out of SYNCED on a watch error until the next book (a resync snapshot)', async () => {
    const { books, sink } = await boot();
    books.push(BOOK(1, [[64000, 1]], [[64001, 1]]));
    await waitUntil(() => sink.books.get('stub', 'BTCUSDT')?.state === 'synced', 'synced');
    books.fail(new InvalidNonce('binance handleOrderBook received an out-of-order nonce'));
    await waitUntil(() => sink.books.get('stub', 'BTCUSDT')?.state === 'resyncing', 'resyncing');
    expect(sink.statuses.at(-1)!.reason).toMatch(/sequence gap/);
    books.push(BOOK(9, [[64000, 2]], [[64001, 1]]));
    await waitUntil(() => sink.snapshots('resync').length === 1, 'resync snapshot');
    expect(sink.snapshots('resync')[0]).toMatchObject({ seq: 9, bids: [{ price: 6_400_000, qty: 20_000 }] });
  });

  it('takes a nonce below the last one (the venue restarted its ids) as a resync snapshot, so the next deltas are not dropped as old', async () => {
    const { books, sink, i } = await boot();
    books.push(BOOK(5000, [[64000, 1]], [[64001, 1]]));
    await waitUntil(() => sink.books.get('stub', 'BTCUSDT')?.state === 'synced', 'synced');
    books.push(BOOK(1, [[64000, 2]], [[64001, 1]]));
    books.push(BOOK(2, [[64000, 3]], [[64001, 1]]));
    books.push(BOOK(3, [[64000, 3]], [[64002, 1]]));
    await waitUntil(() => sink.events.filter((e) => e.type === 'book_delta').length >= 2, 'two deltas');
    expect(sink.snapshots('resync')).toHaveLength(1);
    expect(sink.snapshots('resync')[0]).toMatchObject({ seq: 1, bids: [{ price: 6_400_000, qty: 20_000 }] });
    expect(sink.events.filter((e) => e.type === 'book_delta').map((e) => e.type === 'book_delta' && [e.firstSeq, e.seq])).toEqual([[2, 2], [3, 3]]);
    expect(sink.top('stub', i, 5)).toEqual({ state: 'synced', bids: [['64000', '3']], asks: [['64002', '1']] });
  });

  it('normalizes trades exactly, drops replays and counts off-grid ones', async () => {
    const { trades, sink, i } = await boot();
    trades.push([
      { id: '7', price: 64000.1, amount: 0.0003, side: 'buy', timestamp: 5 },
      { id: '7', price: 64000.1, amount: 0.0003, side: 'buy', timestamp: 5 },
      { id: '8', price: 64000.123, amount: 1, side: 'sell', timestamp: 6 },
      { id: '9', price: 64000.2, amount: 0.1, side: 'sell', timestamp: 7 },
      { id: 'x-1', price: 0.1 + 0.2, amount: 1, side: 'buy', timestamp: 8 },
    ]);
    await waitUntil(() => sink.trades().length === 2 && md!.reporter.total === 2, 'two trades, two rejections');
    expect(sink.trades().map((t) => [t.tradeId, t.price, t.qty, t.side])).toEqual([
      ['7', priceToTicks(i, '64000.1'), qtyToLots(i, '0.0003'), 'buy'],
      ['9', priceToTicks(i, '64000.2'), qtyToLots(i, '0.1'), 'sell'],
    ]);
    // 64000.123 is off the 0.01 grid; 0.1 + 0.2 = 0.30000000000000004 is too: never rounded
    expect(md!.reporter.counts.off_grid).toBe(2);
  });
});

describe('ccxt trade ids as venues write them', () => {
  let md: CcxtMarketData | undefined;
  afterEach(async () => {
    await md?.stop();
    md = undefined;
  });

  it('a numeric trade id past 15 digits (Bybit spot, Bitget: 19-digit snowflake ids) is a real trade, delivered once; negative, fractional and exponent ids are malformed', async () => {
    const s = stubExchange();
    md = new CcxtMarketData({ exchange: 'stub', ccxt: async () => s.ex, options: resolveCcxtOptions({ reconnect_initial_ms: 0, reconnect_max_ms: 1 }), clock: new ManualClock(1_000) });
    const sink = new ConformanceSink();
    await md.loadInstruments(['BTC/USDT']);
    await md.start(['BTCUSDT'], sink);
    s.trades.push([
      // Bybit v5 spot publicTrade "i"
      { id: '2290000000007764263', price: 64000.1, amount: 0.001, side: 'buy', timestamp: 5 },
      { id: '2290000000007764264', price: 64000.2, amount: 0.002, side: 'sell', timestamp: 6 },
      // replays: as sent, and with leading zeros
      { id: '2290000000007764263', price: 64000.1, amount: 0.001, side: 'buy', timestamp: 5 },
      { id: '002290000000007764264', price: 64000.2, amount: 0.002, side: 'sell', timestamp: 6 },
      { id: '-2290000000007764265', price: 64000.3, amount: 0.001, side: 'buy', timestamp: 7 },
      { id: '22900000000077.5', price: 64000.3, amount: 0.001, side: 'buy', timestamp: 7 },
      { id: '1e300', price: 64000.3, amount: 0.001, side: 'buy', timestamp: 7 },
    ]);
    await waitUntil(() => md!.reporter.total === 3, 'three malformed ids');
    expect(sink.trades().map((t) => t.tradeId)).toEqual(['2290000000007764263', '2290000000007764264']);
    expect(md.reporter.counts).toEqual({ malformed: 3 });
  });
});

describe('ccxt options, instruments and URLs', () => {
  it('validates options with the config messages and defaults ccxt_id to the venue name', () => {
    expect(validateCcxtOptions({ book_dpeth: 5 }, 'okx.options')).toEqual([{ path: 'okx.options.book_dpeth', message: 'unknown key (did you mean book_depth?)' }]);
    expect(validateCcxtOptions({ book_depth: 0 }, 'okx.options')[0]).toMatchObject({ path: 'okx.options.book_depth' });
    expect(validateCcxtOptions({ ccxt_id: 'OKX!' }, 'okx.options')[0]!.message).toMatch(/ccxt exchange id/);
    expect(resolveCcxtOptions(undefined).ccxt_id).toBeUndefined();
  });

  it('reads tick and lot from each ccxt precision mode, refusing significant digits', () => {
    const n2s = (n: number | string) => String(n);
    expect(incrementOf({ precisionMode: PrecisionMode.TICK_SIZE, numberToString: n2s }, 0.5, 'p')).toBe('0.5');
    expect(incrementOf({ precisionMode: PrecisionMode.DECIMAL_PLACES, numberToString: n2s }, 3, 'p')).toBe('0.001');
    expect(incrementOf({ precisionMode: PrecisionMode.DECIMAL_PLACES, numberToString: n2s }, 0, 'p')).toBe('1');
    expect(() => incrementOf({ precisionMode: PrecisionMode.SIGNIFICANT_DIGITS, numberToString: n2s }, 5, 'p')).toThrow(/significant/);
    expect(() => instrumentFromMarket('v', { precisionMode: PrecisionMode.TICK_SIZE, numberToString: n2s }, { ...MARKET, precision: {} })).toThrow(/no usable precision/);
  });

  it('re-roots every ccxt URL at the configured hosts, keeping paths', () => {
    const urls = { public: 'https://api.binance.com/api/v3', ws: { spot: 'wss://stream.binance.com:9443/ws', api: { spot: 'wss://ws-api.binance.com/ws-api/v3' } }, doc: ['https://x'] };
    rerootUrls(urls, 'ws://127.0.0.1:1234/anything', 'http://127.0.0.1:99');
    expect(urls).toEqual({ public: 'http://127.0.0.1:99/api/v3', ws: { spot: 'ws://127.0.0.1:1234/ws', api: { spot: 'ws://127.0.0.1:1234/ws-api/v3' } }, doc: ['http://127.0.0.1:99'] });
  });

  it('names gaps, checksum faults and reconnects in the status reason', () => {
    expect(watchErrorReason(new InvalidNonce('out-of-order nonce'))).toMatch(/^sequence gap/);
    expect(watchErrorReason(new NetworkError('connection closed'))).toMatch(/^reconnecting after NetworkError/);
  });
});

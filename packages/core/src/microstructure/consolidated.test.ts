import { describe, expect, it } from 'vitest';
import { defineInstrument } from '../domain/instrument.js';
import { ConsolidatedBook, equivalentInstruments } from './consolidated.js';
import { L2Book } from './l2-book.js';

const inst = (exchange: string, symbol: string, base: string, quote: string) => defineInstrument({ exchange, symbol, base, quote, tickSize: '0.01', lotSize: '0.0001' });
const BINANCE = inst('binance', 'BTCUSDT', 'BTC', 'USDT');
const BYBIT = inst('bybit', 'BTCUSDT', 'BTC', 'USDT');
const COINBASE = inst('coinbase', 'BTC-USD', 'BTC', 'USD');
const KRAKEN = inst('kraken', 'BTC/USD', 'BTC', 'USD');
const book = (i: { exchange: string; symbol: string }, bid: number, ask: number) => {
  const b = new L2Book(i.exchange, i.symbol);
  b.applySnapshot({ seq: 1, bids: [{ price: bid, qty: 1 }], asks: [{ price: ask, qty: 1 }] });
  return b;
};

describe('consolidated books merge only equivalent instruments', () => {
  it('the same pair on two venues is equivalent whatever the symbol spelling; another quote is not', () => {
    expect(equivalentInstruments(BINANCE, BYBIT)).toBe(true);
    expect(equivalentInstruments(COINBASE, KRAKEN)).toBe(true); // BTC-USD and BTC/USD
    expect(equivalentInstruments(BINANCE, COINBASE)).toBe(false); // USDT is not USD
    expect(equivalentInstruments(inst('x', 'ETHUSDT', 'ETH', 'USDT'), BINANCE)).toBe(false);
    expect(equivalentInstruments(BINANCE, COINBASE, { equivalentAssets: [['USD', 'USDT']] })).toBe(true);
    expect(equivalentInstruments(BINANCE, COINBASE, { equivalentAssets: [['USD', 'USDC']] })).toBe(false);
  });

  it('refuses to merge BTCUSDT with BTC-USD unless the quotes are declared equivalent', () => {
    const members = [{ book: book(BINANCE, 100, 102), instrument: BINANCE }, { book: book(COINBASE, 101, 103), instrument: COINBASE }];
    expect(() => new ConsolidatedBook('BTC', members)).toThrow(/coinbase:BTC-USD \(BTC\/USD\) is not equivalent to binance:BTCUSDT \(BTC\/USDT\)/);
    const declared = new ConsolidatedBook('BTC', members, { equivalentAssets: [['USD', 'USDT']] });
    expect(declared.bestBid()).toBe(101);
    expect(declared.bestBidVenue()).toBe(1);
  });

  it('merges the same pair across venues and keeps each member venue-identified', () => {
    const cb = new ConsolidatedBook('BTCUSDT', [{ book: book(BINANCE, 100, 103), instrument: BINANCE }, { book: book(BYBIT, 101, 102), instrument: BYBIT }]);
    expect(cb.bestBid()).toBe(101);
    expect(cb.member(cb.bestBidVenue()).exchange).toBe('bybit');
    expect(cb.member(cb.bestAskVenue()).exchange).toBe('bybit');
    expect(cb.member(0).exchange).toBe('binance');
  });

  it('refuses a mix of members with and without instruments (the check cannot be partial)', () => {
    expect(() => new ConsolidatedBook('S', [{ book: book(BINANCE, 1, 2), instrument: BINANCE }, { book: book(COINBASE, 1, 2) }])).toThrow(/every member's instrument or none/);
  });
});

describe('consolidated books merge only members on one price and lot grid', () => {
  // The same pair, BTC/USDT, on two venues: A quotes in 0.01 ticks, B in 0.1 ticks.
  const grid = (exchange: string, tickSize: string, lotSize: string) => defineInstrument({ exchange, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize, lotSize });
  const A = grid('a', '0.01', '0.0001');
  const B = grid('b', '0.1', '0.0001');
  const at = (exchange: string, bid: number, ask: number) => book({ exchange, symbol: 'BTCUSDT' }, bid, ask);

  it('refuses members whose ticks differ when no tickMultiplier reconciles them, naming the member and its tick', () => {
    // A: 60000.00 / 60000.50 ; B: 59990.0 / 60010.0 (ticks 599_900 / 600_100). Accepted, B's ask
    // would read as 6001.00, the consolidated best ask ten times below the market.
    const a = { book: at('a', 6_000_000, 6_000_050), instrument: A };
    const b = { book: at('b', 599_900, 600_100), instrument: B };
    expect(() => new ConsolidatedBook('BTCUSDT', [a, b])).toThrow(/b:BTCUSDT tick 0\.1 \/ tickMultiplier 1 is not the consolidated tick of a:BTCUSDT \(0\.01 \/ 1\)/);
    expect(() => new ConsolidatedBook('BTCUSDT', [a, { ...b, tickMultiplier: 5 }])).toThrow(/tick 0\.1 \/ tickMultiplier 5/);
    // the multiplier that takes B's tick to A's: one grid, B's prices in A's ticks
    const cb = new ConsolidatedBook('BTCUSDT', [a, { ...b, tickMultiplier: 10 }]);
    expect(cb.bestAsk()).toBe(6_000_050);
    expect(cb.bestBid()).toBe(6_000_000);
    expect(cb.bestAskVenue()).toBe(0);
  });

  it('compares ticks as exact decimals: "0.10" is "0.1", and 0.05 / 5 is 0.01', () => {
    const ten = grid('c', '0.10', '0.0001');
    const five = grid('d', '0.05', '0.0001');
    expect(() => new ConsolidatedBook('BTCUSDT', [{ book: at('a', 1, 2), instrument: A }, { book: at('c', 1, 2), instrument: ten, tickMultiplier: 10 }, { book: at('d', 1, 2), instrument: five, tickMultiplier: 5 }])).not.toThrow();
    // 0.05 / 4 = 0.0125 is not 0.01
    expect(() => new ConsolidatedBook('BTCUSDT', [{ book: at('a', 1, 2), instrument: A }, { book: at('d', 1, 2), instrument: five, tickMultiplier: 4 }])).toThrow(/d:BTCUSDT tick 0\.05 \/ tickMultiplier 4/);
  });

  it('refuses members whose lot sizes differ (quantities would be summed in different units), naming the member and its lot', () => {
    const C = grid('c', '0.01', '0.001');
    expect(() => new ConsolidatedBook('BTCUSDT', [{ book: at('a', 1, 2), instrument: A }, { book: at('c', 1, 2), instrument: C }])).toThrow(/c:BTCUSDT lot 0\.001 differs from a:BTCUSDT's lot 0\.0001/);
    const same = grid('e', '0.01', '0.00010');
    expect(() => new ConsolidatedBook('BTCUSDT', [{ book: at('a', 1, 2), instrument: A }, { book: at('e', 1, 2), instrument: same }])).not.toThrow();
  });
});

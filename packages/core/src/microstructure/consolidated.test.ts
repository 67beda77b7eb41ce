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

import { describe, expect, it } from 'vitest';
import { checkKrakenSymbol, instrumentsFromPairs, numberToDecimal } from '../src/instruments.js';

const pair = (extra: Record<string, unknown> = {}) => ({ symbol: 'BTC/USD', base: 'BTC', quote: 'USD', status: 'online', price_precision: 1, qty_precision: 8, price_increment: 0.1, qty_increment: 1e-8, cost_min: 0.5, ...extra });

describe('Kraken instrument pairs -> instruments', () => {
  it('numberToDecimal: plain decimals from JSON numbers, refusing what does not fit the precision', () => {
    expect(numberToDecimal(1e-8, 8)).toBe('0.00000001');
    expect(numberToDecimal(0.5, 12)).toBe('0.5');
    expect(numberToDecimal(5, 0)).toBe('5');
    expect(numberToDecimal(10, 2)).toBe('10');
    expect(() => numberToDecimal(0.05, 1)).toThrow(/does not fit 1 decimals/);
  });

  it('min notional: number, decimal string, or absent (0)', () => {
    const one = (cost_min: unknown) => instrumentsFromPairs('kraken', [pair({ cost_min })], ['BTC/USD'])[0]!.instrument.minNotional;
    expect(one(0.5)).toBe('0.5');
    expect(one('5.25')).toBe('5.25');
    expect(one(undefined)).toBe('0');
  });

  it('a pair whose min notional is not a decimal (or negative) is refused at load, never an instrument whose every order check throws', () => {
    for (const cost_min of ['abc', '-1', '1e3', '', -0.5]) {
      expect(() => instrumentsFromPairs('kraken', [pair({ cost_min })], ['BTC/USD']), String(cost_min)).toThrow(/unknown symbol\(s\) BTC\/USD/);
    }
  });

  it('bad precision: an increment finer than its precision is refused; out-of-range precision or a non-positive increment skips the pair', () => {
    expect(() => instrumentsFromPairs('kraken', [pair({ price_increment: 0.05, price_precision: 1 })], ['BTC/USD'])).toThrow(/0.05 does not fit 1 decimals/);
    for (const bad of [{ price_precision: 19 }, { qty_precision: -1 }, { price_precision: 1.5 }, { qty_increment: 0 }, { price_increment: -0.1 }, { symbol: 'X' }, { base: '' }]) {
      expect(() => instrumentsFromPairs('kraken', [pair(bad)], ['BTC/USD']), JSON.stringify(bad)).toThrow(/unknown symbol/);
    }
  });

  it('the checksum precision comes from the pair', () => {
    const [k] = instrumentsFromPairs('kraken', [pair({ price_precision: 2, price_increment: 0.01 })], ['BTC/USD']);
    expect(k!.instrument).toMatchObject({ tickSize: '0.01', lotSize: '0.00000001' });
    expect(k!.precision).toBeDefined();
  });

  it('symbols: v2 BASE/QUOTE only, bitcoin is BTC on either side, a guess offered where one exists', () => {
    expect(checkKrakenSymbol('ETH/XBT')).toMatch(/ETH\/BTC/);
    expect(checkKrakenSymbol('btc_usd')).toMatch(/did you mean "BTC\/USD"/);
    const noGuess = checkKrakenSymbol('XXBTZUSD');
    expect(noGuess).toMatch(/BASE\/QUOTE/);
    expect(noGuess).not.toMatch(/did you mean/);
    expect(() => instrumentsFromPairs('kraken', [pair()], ['XBT/USD', 'BTC-USD'])).toThrow(/kraken: XBT\/USD: .*; BTC-USD: /);
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decimalToUnits, decimalScale, defineInstrument, DecimalConversionError, formatScaled, instrumentKey, lotsToQty, notionalAtoms, atomsToDecimal,
  priceToTicks, qtyToLots, ticksToPrice, unitsToDecimal, feeAtoms, pow10n,
} from './instrument.js';

const BTC = defineInstrument({ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' });

describe('decimal <-> integer units', () => {
  it('converts exactly, without going through a float', () => {
    expect(priceToTicks(BTC, '60000.01')).toBe(6_000_001);
    expect(priceToTicks(BTC, '0.30')).toBe(30);
    expect(qtyToLots(BTC, '0.00003')).toBe(3);
    expect(qtyToLots(BTC, '1.5')).toBe(150_000);
    expect(ticksToPrice(BTC, 6_000_001)).toBe('60000.01');
    expect(lotsToQty(BTC, 150_000)).toBe('1.5');
    expect(lotsToQty(BTC, 0)).toBe('0');
  });

  it('rejects off-grid values with the increment in the message', () => {
    expect(() => priceToTicks(BTC, '60000.015')).toThrowError(DecimalConversionError);
    expect(() => priceToTicks(BTC, '60000.015')).toThrowError(/not a multiple of the increment 0.01/);
    const five = decimalScale('0.05');
    expect(decimalToUnits('1.05', five)).toBe(21);
    expect(() => decimalToUnits('1.07', five)).toThrowError(/not a multiple of the increment 0.05/);
  });

  it('rejects values past 2^53 - 1 increments and malformed strings', () => {
    expect(() => qtyToLots(BTC, '100000000000')).toThrowError(/out of range/);
    for (const bad of ['', '1e5', '1.', '.5', '+1', 'NaN', '1,5', ' 1']) expect(() => priceToTicks(BTC, bad)).toThrowError(/not a decimal number/);
  });

  it('property: units -> decimal -> units is the identity', () => {
    const scales = ['0.01', '0.00001', '0.5', '1', '10', '0.0000001'].map(decimalScale);
    fc.assert(fc.property(fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(...scales), (u, s) => {
      expect(decimalToUnits(unitsToDecimal(u, s), s)).toBe(u);
    }));
  });

  it('property: trailing zeros and leading zeros do not change the value', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 4 }), (ticks, pad) => {
      const text = ticksToPrice(BTC, ticks);
      const zeros = '0'.repeat(pad);
      const padded = text.includes('.') ? text + zeros : pad > 0 ? `${text}.${zeros}` : text;
      expect(priceToTicks(BTC, `0${padded}`)).toBe(ticks);
    }));
  });

  it('notional in quote atoms stays exact past 2^53', () => {
    // 60,000.01 USDT x 1000 BTC: 6,000,001 ticks x 100,000,000 lots = 6.0e14, x scale -> exact bigint.
    const atoms = notionalAtoms(BTC, 6_000_001, 100_000_000);
    expect(atoms).toBe(600_000_100_000_000n);
    expect(atomsToDecimal(BTC, atoms)).toBe('60000010');
    expect(formatScaled(-5n, 3)).toBe('-0.005');
    expect(formatScaled(0n, 3)).toBe('0');
  });
});

describe('instrumentKey', () => {
  it('is exchange:symbol, the same string for the same pair, beyond its caches too', () => {
    expect(instrumentKey('binance', 'BTCUSDT')).toBe('binance:BTCUSDT');
    // Symbols as a parser makes them: a new string object each time.
    const fresh = (s: string): string => Buffer.from(s, 'latin1').toString('latin1');
    expect(instrumentKey('binance', fresh('BTCUSDT'))).toBe('binance:BTCUSDT');
    // A feed of made-up symbols (past the per-exchange cache) and exchanges (past that cache):
    // every key is still right, and the first pairs still resolve.
    for (let i = 0; i < 10_000; i++) expect(instrumentKey('hostile', `S${i}`)).toBe(`hostile:S${i}`);
    for (let i = 0; i < 200; i++) expect(instrumentKey(`venue${i}`, 'X')).toBe(`venue${i}:X`);
    expect(instrumentKey('hostile', 'S9999')).toBe('hostile:S9999');
    expect(instrumentKey('venue199', fresh('X'))).toBe('venue199:X');
    expect(instrumentKey('binance', fresh('BTCUSDT'))).toBe('binance:BTCUSDT');
    expect(instrumentKey('', '')).toBe(':');
    expect(instrumentKey('a:b', 'c')).toBe('a:b:c');
  });
});

describe('pow10n and feeAtoms', () => {
  it('gives 10^k exactly, from the table and past it', () => {
    for (let k = 0; k <= 60; k++) expect(pow10n(k)).toBe(10n ** BigInt(k));
  });

  it('charges the fee rounded up (a rebate rounded toward zero), the same for a rate seen before and one past the cache', () => {
    const i = defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });
    // the obvious computation, from the decimal string each time
    const reference = (price: number, qty: number, bps: string): bigint => {
      const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(bps)!;
      const frac = m[3] ?? '';
      const mant = BigInt(m[1] + m[2] + frac);
      const num = notionalAtoms(i, price, qty) * mant;
      const den = 10_000n * 10n ** BigInt(frac.length);
      return num <= 0n ? num / den : (num + den - 1n) / den;
    };
    const bps = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 4 }))
      .map(([neg, whole, frac, digits]) => `${neg ? '-' : ''}${whole}${digits > 0 ? '.' + String(frac).padStart(4, '0').slice(0, digits) : ''}`);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 1, max: 1_000_000_000 }), bps, (price, qty, rate) => {
        expect(feeAtoms(i, price, qty, rate)).toBe(reference(price, qty, rate));
        expect(feeAtoms(i, price, qty, rate)).toBe(reference(price, qty, rate)); // cached now
      }),
      { numRuns: 1000 },
    );
    expect(() => feeAtoms(i, 1, 1, 'two')).toThrow(DecimalConversionError);
    expect(() => feeAtoms(i, 1, 1, 'two')).toThrow(DecimalConversionError); // a bad rate is not cached as anything
  });
});

import { describe, expect, it } from 'vitest';
import { defineInstrument, feeAtoms, priceToTicks } from '../domain/instrument.js';
import { feeToQuoteAtoms } from './fees.js';

const BTC = defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.1', lotSize: '0.001' });

describe('feeToQuoteAtoms', () => {
  it('converts quote fees exactly and rounds up below one atom (1e-4 USDT here)', () => {
    expect(feeToQuoteAtoms(BTC, '1.5', 'USDT', 0)).toBe(15000n);
    expect(feeToQuoteAtoms(BTC, '0.3200025', undefined, 0)).toBe(3201n);
    expect(feeToQuoteAtoms(BTC, '0', 'USDT', 0)).toBe(0n);
  });
  it('values base fees at the fill price, keeps rebates negative, and leaves third assets to the caller', () => {
    expect(feeToQuoteAtoms(BTC, '0.000005', 'BTC', priceToTicks(BTC, '64000.5'))).toBe(3201n); // 0.3200025 USDT
    expect(feeToQuoteAtoms(BTC, '-0.25', 'USDT', 0)).toBe(-2500n);
    expect(feeToQuoteAtoms(BTC, '0.01', 'BNB', 0)).toBeUndefined();
  });
});

// notional exponent 2 + 3 = 5: one quote atom is 0.00001 USDT
const FINE = defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

describe('feeToQuoteAtoms rebate rounding', () => {
  it('rounds a rebate finer than one atom toward +infinity, as core feeAtoms does (never overstated)', () => {
    expect(feeAtoms(FINE, 3, 1, '-5000')).toBe(-1n); // 3 atoms x -0.5 = -1.5 atoms -> -1
    expect(feeToQuoteAtoms(FINE, '-0.000015', 'USDT', 100)).toBe(-1n);
    expect(feeToQuoteAtoms(FINE, '0.000015', 'USDT', 100)).toBe(2n); // a fee still rounds up
  });
  it('rounds a rebate charged in the base asset the same way', () => {
    // -0.00000015 BTC x 100.00 USDT = -0.000015 USDT = -1.5 atoms -> -1
    expect(feeToQuoteAtoms(FINE, '-0.00000015', 'BTC', 10_000)).toBe(-1n);
  });
});

import { describe, expect, it } from 'vitest';
import { defineInstrument, priceToTicks } from '../domain/instrument.js';
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

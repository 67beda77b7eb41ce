import { describe, expect, it } from 'vitest';
import { defineInstrument } from '../domain/instrument.js';
import { BoundedIdSet, addDecimalStrings, balanceToLots } from './polled-execution.js';

describe('polled execution helpers', () => {
  it('adds decimal strings exactly (free + locked)', () => {
    expect(addDecimalStrings('0.1', '0.2')).toBe('0.3');
    expect(addDecimalStrings('1.50000000', '0')).toBe('1.50000000');
    expect(addDecimalStrings('12', '0.005')).toBe('12.005');
    expect(addDecimalStrings('-0.5', '0.25')).toBe('-0.25');
    expect(addDecimalStrings('9007199254740993', '0.000000001')).toBe('9007199254740993.000000001');
  });

  it('turns a balance into whole lots, rounding toward zero', () => {
    const i = defineInstrument({ exchange: 'x', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', tickSize: '0.1', lotSize: '0.0005' });
    expect(balanceToLots(i, '1.50000000')).toBe(3000);
    expect(balanceToLots(i, '0.00049999')).toBe(0);
    expect(balanceToLots(i, '0.0015')).toBe(3);
  });

  it('forgets the oldest ids past its capacity and says when an id was already there', () => {
    const s = new BoundedIdSet(3);
    expect(s.add('a')).toBe(true);
    expect(s.add('a')).toBe(false);
    s.add('b');
    s.add('c');
    s.add('d');
    expect(s.size).toBe(3);
    expect(s.has('a')).toBe(false);
    expect(s.has('d')).toBe(true);
  });
});

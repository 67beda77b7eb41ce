import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InstrumentMap } from './instrument-map.js';

describe('InstrumentMap', () => {
  it('keeps one value per (exchange, symbol): the same symbol on two venues, a replaced value in its place', () => {
    const m = new InstrumentMap<string>();
    m.set('binance', 'BTCUSDT', 'a').set('kraken', 'BTCUSDT', 'b').set('binance', 'ETHUSDT', 'c');
    expect(m.get('binance', 'BTCUSDT')).toBe('a');
    expect(m.get('kraken', 'BTCUSDT')).toBe('b');
    expect(m.get('kraken', 'ETHUSDT')).toBeUndefined();
    expect(m.get('binance', 'BTCUSDT')).toBe('a'); // the remembered pair
    m.set('binance', 'BTCUSDT', 'a2'); // replaces the remembered pair's value
    expect(m.get('binance', 'BTCUSDT')).toBe('a2');
    expect(m.values()).toEqual(['a2', 'b', 'c']);
    expect(m.size).toBe(3);
    // "ex:sym" keys that would collide when joined stay apart
    m.set('a:b', 'c', 'x').set('a', 'b:c', 'y');
    expect([m.get('a:b', 'c'), m.get('a', 'b:c')]).toEqual(['x', 'y']);
  });

  it('answers as a Map keyed by the pair over any sequence of sets and gets', () => {
    const name = fc.constantFrom('binance', 'kraken', 'coinbase', 'BTC', 'ETH', '', 'a:b');
    const op = fc.tuple(fc.boolean(), name, name, fc.integer());
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const m = new InstrumentMap<number>();
        const model = new Map<string, number>();
        for (const [isSet, ex, sym, v] of ops) {
          const key = JSON.stringify([ex, sym]);
          if (isSet) {
            m.set(ex, sym, v);
            model.set(key, v);
          }
          expect(m.get(ex, sym)).toBe(model.get(key));
        }
        expect([...m.values()]).toEqual([...model.values()]);
        expect(m.size).toBe(model.size);
      }),
      { numRuns: 300 },
    );
  });
});

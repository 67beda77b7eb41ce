import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { defineInstrument } from '../domain/instrument.js';
import { Position } from './portfolio.js';

const I = defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

describe('Position (FIFO, integer)', () => {
  it('realizes exact PnL across a flip from long to short', () => {
    const p = new Position(I);
    p.applyFill('buy', 100, 3, 0n);
    p.applyFill('buy', 110, 2, 0n);
    p.applyFill('sell', 120, 4, 0n); // closes 3@100 (+60) and 1@110 (+10)
    expect(p.realizedTicksLots).toBe(70n);
    expect(p.qty).toBe(1);
    p.applyFill('sell', 90, 3, 0n); // closes 1@110 (-20), opens short 2@90
    expect(p.realizedTicksLots).toBe(50n);
    expect(p.qty).toBe(-2);
    expect(p.costTicksLots()).toBe(180n);
    // Short 2 @ 90 marked at 85: +10 ticks*lots = 20 half-ticks*lots.
    expect(p.unrealizedHalfTicksLots(170)).toBe(20n);
  });

  it('property: realized + unrealized equals cash flow when marked at the last price', () => {
    const fill = fc.record({ buy: fc.boolean(), price: fc.integer({ min: 1, max: 10_000_000 }), qty: fc.integer({ min: 1, max: 1_000_000 }) });
    fc.assert(
      fc.property(fc.array(fill, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 10_000_000 }), (fills, mark) => {
        const p = new Position(I);
        let cash = 0n;
        let qty = 0;
        for (const f of fills) {
          p.applyFill(f.buy ? 'buy' : 'sell', f.price, f.qty, 0n);
          cash += (f.buy ? -1n : 1n) * BigInt(f.price) * BigInt(f.qty);
          qty += f.buy ? f.qty : -f.qty;
          // after every fill, not only at the end: the cost of the open lots is kept as they change
          expect(2n * p.realizedTicksLots + p.unrealizedHalfTicksLots(2 * mark)).toBe(2n * (cash + BigInt(qty) * BigInt(mark)));
        }
        expect(p.qty).toBe(qty);
        // Total PnL = cash + position value at the mark, independent of the FIFO bookkeeping.
        const total2 = 2n * (cash + BigInt(qty) * BigInt(mark));
        expect(2n * p.realizedTicksLots + p.unrealizedHalfTicksLots(2 * mark)).toBe(total2);
      }),
      { numRuns: 300 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { defineInstrument } from '../domain/instrument.js';
import { COMMON_EXPONENT, Portfolio, Position } from './portfolio.js';

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

/** A venue's new definition of I: tick 0.1 (10 old ticks), lot 0.01 (10 old lots). */
const COARSE = defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.1', lotSize: '0.01' });
const fill = (side: 'buy' | 'sell', price: number, qty: number, feeAtoms = 0n) =>
  ({ kind: 'fill' as const, exchange: 'x', symbol: 'BTCUSDT', clientOrderId: 'c', side, lastPrice: price, lastQty: qty, cumQty: qty, leavesQty: 0, feeAtoms, ts: 0 });

describe('Position.regrid (a tick or lot size changed between runs)', () => {
  it('converts lots and prices on the new grid exactly and carries realized PnL and fees in quote units', () => {
    const book = new Portfolio();
    book.applyFill(I, fill('buy', 5_000_000, 30, 7n)); // 0.03 at 50000.00, fee 0.00007
    book.applyFill(I, fill('sell', 5_000_100, 10)); // realizes 0.01 x 1.00 = 0.01
    const p = book.find('x', 'BTCUSDT')!;
    expect(p.regrid(COARSE)).toBeUndefined();
    expect(p.instrument).toBe(COARSE);
    expect(p.qty).toBe(2);
    expect(p.costTicksLots()).toBe(500_000n * 2n);
    expect(p.realizedTicksLots).toBe(0n);
    expect(book.snapshot(() => undefined)[0]).toMatchObject({ quantity: '0.02', avgEntryPrice: '50000', realizedPnl: '0.01', fees: '0.00007' });
    // a new fill in the new grid books against it
    book.applyFill(COARSE, fill('sell', 500_010, 2));
    expect(book.totals(() => undefined)).toMatchObject({ realized: 10n ** 16n + 2n * 10n ** 16n, fees: 7n * 10n ** 13n });
  });

  it('rounds an off-grid entry against the position and carries the difference: equity is unchanged at any mark, long or short', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 100, max: 10_000_000 }), fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 10, max: 1_000_000 }), (long, price, tens, markTicks) => {
        const book = new Portfolio();
        book.applyFill(I, fill(long ? 'buy' : 'sell', price, tens * 10, 3n));
        // whole new ticks, so the unrealized half needs no rounding on either grid
        const before = book.totals(() => 2 * markTicks * 10);
        const p = book.find('x', 'BTCUSDT')!;
        expect(p.regrid(COARSE)).toBeUndefined();
        const after = book.totals(() => 2 * markTicks);
        expect(after.equity).toBe(before.equity);
        // the unrealized gain is never flattered: at most what it was
        expect(after.unrealized <= before.unrealized).toBe(true);
        const entry = Number(book.snapshot(() => undefined)[0]!.avgEntryPrice);
        const old = price / 100;
        expect(long ? entry >= old : entry <= old).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a holding that is a whole number of the new lots moves though its FIFO lots are not: 0.015 + 0.005 -> two lots of 0.01, the mixed one at its weighted entry', () => {
    const book = new Portfolio();
    book.applyFill(I, fill('buy', 5_000_000, 15)); // 0.015 at 50000.00
    book.applyFill(I, fill('buy', 5_000_001, 5)); // 0.005 at 50000.01
    const lot001 = defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.01' });
    const before = book.totals(() => 2 * 5_000_050);
    const p = book.find('x', 'BTCUSDT')!;
    expect(p.regrid(lot001)).toBeUndefined();
    expect(p.qty).toBe(2);
    // 0.01 at 50000.00, then 0.005 at 50000.00 + 0.005 at 50000.01 = 50000.005, rounded up to 50000.01
    expect(p.costTicksLots()).toBe(5_000_000n + 5_000_001n);
    expect(book.totals(() => undefined).realized).toBe(5n * 10n ** 13n); // 0.005 x 0.01 carried: 0.00005
    expect(book.totals(() => 2 * 5_000_050).equity).toBe(before.equity);
    // FIFO goes on in the new lots: the first sold is the one at 50000.00
    book.applyFill(lot001, fill('sell', 5_000_100, 1));
    expect(p.realizedTicksLots).toBe(100n);
  });

  it('property: any holding that is a whole number of the new lots moves, with total PnL exact through the change (long or short, mixed lots)', () => {
    const step = fc.record({ buy: fc.boolean(), price: fc.integer({ min: 1000, max: 10_000_000 }), qty: fc.integer({ min: 1, max: 60 }) });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1000, max: 10_000_000 }), fc.integer({ min: 100, max: 1_000_000 }), (steps, lastPrice, exit) => {
        const book = new Portfolio();
        let cash = 0n; // old ticks x old lots
        let qty = 0;
        for (const f of steps) {
          book.applyFill(I, fill(f.buy ? 'buy' : 'sell', f.price, f.qty));
          cash += (f.buy ? -1n : 1n) * BigInt(f.price) * BigInt(f.qty);
          qty += f.buy ? f.qty : -f.qty;
        }
        // one more fill to a whole number of new lots (not a flat book: there would be nothing to move)
        let fix = (((-qty % 10) + 10) % 10) || 10;
        if (qty + fix === 0) fix += 10;
        book.applyFill(I, fill('buy', lastPrice, fix));
        cash -= BigInt(lastPrice) * BigInt(fix);
        qty += fix;
        const p = book.find('x', 'BTCUSDT')!;
        const lastFillMark = (q: Position) => (q.lastPrice === undefined ? undefined : 2 * q.lastPrice);
        const before = book.totals(lastFillMark);
        expect(p.regrid(COARSE)).toBeUndefined();
        expect(p.qty * 10).toBe(qty);
        // marked at its last fill, equity is unchanged to the atom (the last fill kept exact)
        expect(book.totals(lastFillMark).equity).toBe(before.equity);
        // closed at `exit` (new ticks): realized in all is the cash flow, exact
        book.applyFill(COARSE, fill(qty > 0 ? 'sell' : 'buy', exit, Math.abs(qty) / 10));
        const total = (cash + BigInt(qty) * BigInt(exit) * 10n) * 10n ** BigInt(COMMON_EXPONENT - 5); // 0.01 x 0.001 = 1e-5
        expect(book.totals(() => undefined).realized).toBe(total);
      }),
      { numRuns: 300 },
    );
  });

  it('the last-fill mark: exact across the change (no false drawdown), but a book mid equal to its rounded price is the mid', () => {
    const book = new Portfolio();
    book.applyFill(I, fill('buy', 5_000_005, 100)); // 0.1 at 50000.05: mark and entry alike
    const lastFillMark = (q: Position) => (q.lastPrice === undefined ? undefined : 2 * q.lastPrice);
    expect(book.totals(lastFillMark).equity).toBe(0n);
    const p = book.find('x', 'BTCUSDT')!;
    p.regrid(COARSE);
    // entry 50000.1 (0.005 carried), mark the exact 50000.05: equity 0; the limits see 50000.0
    expect(p.lastPrice).toBe(500_000);
    expect(book.totals(lastFillMark)).toMatchObject({ equity: 0n, unrealized: -5n * 10n ** 15n });
    expect(book.snapshot(lastFillMark)[0]).toMatchObject({ unrealizedPnl: '-0.005', realizedPnl: '0.005' });
    // a synced book with its mid at 50000.0: valued there (-0.01 + 0.005)
    expect(book.totals(() => 2 * 500_000).equity).toBe(-5n * 10n ** 15n);
    // the next fill is the last fill, on the grid
    book.applyFill(COARSE, fill('buy', 500_003, 1));
    expect(p.lastFillResidualCommon()).toBe(0n);
    expect(book.totals(lastFillMark).unrealized).toBe(2n * 10n ** 16n); // 0.1 x (50000.3 - 50000.1)
  });

  it('refuses a holding that is not a whole number of the new lots, changing nothing', () => {
    const p = new Position(I);
    p.applyFill('buy', 5_000_000, 15, 0n); // 0.015
    expect(p.regridProblem(COARSE)).toMatch(/x:BTCUSDT: the open position of 0\.015 BTC .*tick 0\.01, lot 0\.001 -> tick 0\.1, lot 0\.01/);
    expect(p.regrid(COARSE)).toMatch(/not a whole number of the new lot size/);
    expect(p.instrument).toBe(I);
    expect(p.qty).toBe(15);
  });

  it('Portfolio.position adopts the same definition on another object, and refuses to mix grids', () => {
    const book = new Portfolio();
    book.applyFill(I, fill('buy', 100, 1));
    const same = defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.010', lotSize: '0.001' });
    expect(book.position(same).instrument).toBe(same);
    expect(() => book.applyFill(COARSE, fill('buy', 10, 1))).toThrow(/x:BTCUSDT: an amount in tick 0\.1, lot 0\.01 for a position counted in tick 0\.010, lot 0\.001/);
    expect(book.qty('x', 'BTCUSDT')).toBe(1);
  });
});

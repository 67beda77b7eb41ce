/**
 * An instrument whose tick x lot is finer than the common unit (1e-18 quote units): core supports
 * it (its toCommon rounds toward zero), so the cluster must value it too. `10n ** negative` once
 * threw here: from the shard's state publisher and lease round (a process fault: HALT and stop),
 * from the budget gate (every order on it refused), and the published position carried no value
 * (left out of the portfolio VaR).
 */
import { describe, expect, it } from 'vitest';
import { defineInstrument, type Instrument, type OrderIntent, type RiskContext } from '@cwts/core';
import { type Engine } from '@cwts/core/engine';
import { COMMON_EXPONENT, quoteToAtoms } from '@cwts/core/risk';
import type { BudgetLedger } from './budget.js';
import { toCommon, worstGrossExposure } from './exposure.js';
import { BudgetGate } from './gates.js';
import { positionsAndMarks } from './marks.js';

// A low-priced token: tick 1e-12 USDT, lot 1e-8 (notional exponent 20).
const PEPE = defineInstrument({ exchange: 'sim', symbol: 'PEPEUSDT', base: 'PEPE', quote: 'USDT', tickSize: '0.000000000001', lotSize: '0.00000001' });

/** 1000 PEPE long (1e11 lots), bid 0.00001 and ask 0.000010000002 USDT (1e7 and 1e7 + 2 ticks). */
function fakeEngine(pos: number): Engine & RiskContext {
  const p = { qty: pos, lastPrice: 10_000_000, instrument: PEPE };
  return {
    allInstruments: () => [PEPE],
    instrument: (_x: string, s: string) => (s === PEPE.symbol ? PEPE : undefined),
    portfolio: { find: () => p, all: () => [p] },
    positions: { qty: () => pos },
    openOrders: () => [],
    book: () => ({ bestBid: () => 10_000_000, bestAsk: () => 10_000_002 }),
    markHalfTicks: () => 20_000_002,
  } as unknown as Engine & RiskContext;
}

describe('exposure of an instrument finer than 1e-18 quote units', () => {
  it('toCommon: exact up to exponent 18, rounded toward zero beyond', () => {
    expect(toCommon(123n, 2)).toBe(123n * 10n ** 16n);
    expect(toCommon(123n, 18)).toBe(123n);
    expect(toCommon(12_345n, 20)).toBe(123n);
    expect(toCommon(-12_345n, 20)).toBe(-123n);
  });

  it('worstGrossExposure values the position (mid rounded up: 10 000 001 ticks x 1e11 lots at 1e-20)', () => {
    // 1e7 + 1 ticks x 1e11 lots = 1.0000001e18 atoms of 1e-20 -> 1.0000001e16 common units (0.010000001 USDT).
    expect(worstGrossExposure(fakeEngine(100_000_000_000))).toBe(10_000_001n * 10n ** 9n);
  });

  it('the published position carries its value (counted in the portfolio VaR), halved from half-ticks', () => {
    const { positions } = positionsAndMarks(fakeEngine(-100_000_000_000));
    // -20 000 002 half-ticks x 1e11 lots = -2.0000002e18 atoms of 1e-20 -> -2.0000002e16, halved.
    expect(positions).toEqual([{ exchange: 'sim', symbol: 'PEPEUSDT', qty: -100_000_000_000, value: (-10_000_001n * 10n ** 9n).toString() }]);
  });

  it('the budget gate values an order on it against the held budget instead of refusing it', () => {
    const e = fakeEngine(0);
    const asked: bigint[] = [];
    const ledger = { held: quoteToAtoms(1, COMMON_EXPONENT), cap: () => quoteToAtoms(10, COMMON_EXPONENT), request: (n: bigint) => asked.push(n) } as unknown as BudgetLedger;
    const buy: OrderIntent = { exchange: 'sim', symbol: 'PEPEUSDT', side: 'buy', type: 'limit', price: 10_000_002, qty: 100_000_000_000, tif: 'IOC', source: 't' };
    expect(new BudgetGate(() => ({ engine: e, ledger })).check(buy, e)).toEqual({ ok: true });
    expect(asked).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { defineInstrument } from '../domain/instrument.js';
import { DEFAULT_KELLY_FRACTION } from '../config/constants.js';
import { parseConfig } from '../config/load.js';
import { fractionalKelly, kellyBinary, kellyContinuous, KellyInputError, kellySize, kellySizer } from './kelly.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

describe('Kelly optimum', () => {
  it('binary: hand-worked examples', () => {
    expect(kellyBinary(0.6, 1)).toBeCloseTo(0.2, 15); // even money, 60%: 0.6 - 0.4
    expect(kellyBinary(0.5, 2)).toBeCloseTo(0.25, 15); // 2:1 coin flip: 0.5 - 0.5 / 2
    expect(kellyBinary(0.55, 1.5)).toBeCloseTo(0.25, 15); // 0.55 - 0.45 / 1.5 = 0.55 - 0.3
    expect(kellyBinary(1 / 3, 2)).toBe(0); // fair: no edge
    expect(kellyBinary(0.4, 1)).toBe(0); // negative edge: no bet, never short a binary bet
    expect(kellyBinary(1, 1)).toBe(1);
  });

  it('binary: f* maximises the expected log growth p log(1 + b f) + (1 - p) log(1 - f)', () => {
    fc.assert(fc.property(fc.double({ min: 0.05, max: 0.95, noNaN: true }), fc.double({ min: 0.2, max: 5, noNaN: true }), (p, b) => {
      const f = kellyBinary(p, b);
      const g = (x: number) => p * Math.log1p(b * x) + (1 - p) * Math.log1p(-x);
      for (const d of [-0.01, 0.01]) {
        const x = f + d;
        if (x >= 0 && x < 1) expect(g(x)).toBeLessThanOrEqual(g(f) + 1e-12);
      }
    }));
  });

  it('continuous: (mu - r) / sigma^2, signed', () => {
    expect(kellyContinuous(0.1, 0.04)).toBeCloseTo(2.5, 15); // mu 10%, sigma 20%
    expect(kellyContinuous(0.08, 0.04, 0.02)).toBeCloseTo(1.5, 15); // excess 6% over 4%
    expect(kellyContinuous(-0.001, 0.0004)).toBeCloseTo(-2.5, 15); // short
    expect(fractionalKelly(2.5, 0.5)).toBeCloseTo(1.25, 15);
    expect(fractionalKelly(kellyBinary(0.6, 1), 0.25)).toBeCloseTo(0.05, 15);
  });

  it('rejects bad inputs', () => {
    expect(() => kellyBinary(1.2, 1)).toThrow(KellyInputError);
    expect(() => kellyBinary(0.5, 0)).toThrow(/payoff ratio must be a positive number/);
    expect(() => kellyContinuous(0.1, 0)).toThrow(/variance must be a positive number/);
    expect(() => fractionalKelly(1, 0)).toThrow(/kelly_fraction must be in \(0, 1\]/);
    expect(() => fractionalKelly(1, 1.5)).toThrow(KellyInputError);
  });
});

describe('Kelly sizing in lots, clipped by the limits', () => {
  // 1 lot = 0.001 BTC; at 50 000.00 (5_000_000 ticks) one lot is worth 50 USDT.
  const base = { instrument: BTC, priceTicks: 5_000_000, equity: 10_000, positionLots: 0, maxPosition: 1_000_000 };

  it('equity 10 000, f = 0.1: 1000 USDT = 20 lots, rounded down', () => {
    expect(kellySize({ ...base, fraction: 0.1 })).toEqual({ targetLots: 20, orderLots: 20, rawTargetLots: 20, clippedBy: 'none' });
    expect(kellySize({ ...base, fraction: 0.1049 }).targetLots).toBe(20); // 1049 USDT: 20.98 lots
    expect(kellySize({ ...base, fraction: -0.1, positionLots: -5 })).toMatchObject({ targetLots: -20, orderLots: -15 });
    expect(kellySize({ ...base, fraction: 0 })).toMatchObject({ targetLots: 0, orderLots: 0 });
  });

  it('max_position, max_total_position (less other exposure and resting orders), max_order_notional', () => {
    expect(kellySize({ ...base, fraction: 0.1, maxPosition: 500 })).toMatchObject({ targetLots: 10, rawTargetLots: 20, clippedBy: 'max_position' });
    expect(kellySize({ ...base, fraction: 0.1, maxPosition: 549.99 })).toMatchObject({ targetLots: 10 });
    expect(kellySize({ ...base, fraction: 0.1, maxPosition: 500, restingLots: 3 })).toMatchObject({ targetLots: 7 });
    expect(kellySize({ ...base, fraction: 0.1, maxTotalPosition: 1000, otherExposure: 700 })).toMatchObject({ targetLots: 6, clippedBy: 'max_total_position' });
    expect(kellySize({ ...base, fraction: 0.1, maxTotalPosition: 1000, otherExposure: 1200 })).toMatchObject({ targetLots: 0 });
    expect(kellySize({ ...base, fraction: 0.1, positionLots: 4, maxOrderNotional: 250 })).toMatchObject({ targetLots: 20, orderLots: 5, clippedBy: 'max_order_notional' });
    // Above target (limits lowered): the order reduces.
    expect(kellySize({ ...base, fraction: 0.1, positionLots: 30 })).toMatchObject({ targetLots: 20, orderLots: -10 });
  });

  it('stays exact for large equity (bigint)', () => {
    const r = kellySize({ ...base, equity: 1e12, fraction: 1, maxPosition: 1e15 });
    expect(r.targetLots).toBe(20_000_000_000); // 1e12 / 50
  });

  it('equity or a limit of 1e21 and more (toFixed turns exponential there): sized or a KellyInputError, never a DecimalConversionError', () => {
    // Equity 1e21 clipped by max_position 1000: 20 lots.
    expect(kellySize({ ...base, equity: 1e21, fraction: 0.1, maxPosition: 1000 })).toMatchObject({ targetLots: 20, clippedBy: 'max_position' });
    // A limit that large ("no limit" written as a big number) with ordinary equity.
    expect(kellySize({ ...base, fraction: 0.1, maxPosition: 1e21, maxTotalPosition: 5e21, maxOrderNotional: 1e300 })).toMatchObject({ targetLots: 20, orderLots: 20, clippedBy: 'none' });
    // Both huge: 2e19 lots is no safe count of lots: refused as an input problem.
    expect(() => kellySize({ ...base, equity: 1e21, fraction: 1, maxPosition: 1e21 })).toThrow(KellyInputError);
    expect(() => kellySize({ ...base, equity: 1e21, fraction: 1, maxPosition: 1e21 })).toThrow(/beyond 2\^53-1 lots/);
    expect(() => kellySize({ ...base, fraction: 0.1, maxPosition: Number.POSITIVE_INFINITY })).toThrow(/maxPosition must be a finite number > 0/);
    expect(() => kellySize({ ...base, fraction: 0.1, otherExposure: Number.NaN, maxTotalPosition: 10 })).toThrow(KellyInputError);
  });

  it('refuses a restingLots that is not a count of lots (NaN, negative, fractional): it is no way past max_position', () => {
    // f = 0.1 of 10 000 = 1000 USDT = 20 lots; max_position 500 USDT = 10 lots
    expect(kellySize({ ...base, fraction: 0.1, maxPosition: 500 })).toMatchObject({ targetLots: 10, clippedBy: 'max_position' });
    // a strategy summing its resting orders from a missing field gets NaN: before, the target went out unclipped (20)
    for (const restingLots of [Number.NaN, -10, 2.5, Number.POSITIVE_INFINITY]) {
      expect(() => kellySize({ ...base, fraction: 0.1, maxPosition: 500, restingLots })).toThrow(KellyInputError);
    }
    expect(() => kellySize({ ...base, fraction: 0.1, maxPosition: 500, restingLots: -10 })).toThrow(/restingLots must be a whole number of lots >= 0, got -10/);
    expect(kellySize({ ...base, fraction: 0.1, maxPosition: 500, restingLots: 0 })).toMatchObject({ targetLots: 10 });
  });
});

describe('kellySizer: the sizer with [risk] kelly_fraction and limits', () => {
  const risk = { kelly_fraction: 0.5, max_position: 1_000_000, max_total_position: undefined, max_order_notional: 250 };
  const at = { instrument: BTC, priceTicks: 5_000_000, equity: 10_000, positionLots: 0 };

  it('applies the configured fraction, a per-call override and the configured limits', () => {
    const size = kellySizer(risk);
    // full Kelly 0.2 x 0.5 = 0.1 of 10 000 = 1000 USDT = 20 lots; max_order_notional 250 = 5 lots.
    expect(size({ ...at, fullKelly: 0.2 })).toEqual({ targetLots: 20, orderLots: 5, rawTargetLots: 20, clippedBy: 'max_order_notional' });
    expect(size({ ...at, fullKelly: 0.2, kellyFraction: 0.25 })).toMatchObject({ targetLots: 10 });
    expect(kellySizer({ ...risk, max_order_notional: undefined })({ ...at, fullKelly: 0.2 })).toMatchObject({ orderLots: 20, clippedBy: 'none' });
  });

  it('uses the config default (quarter Kelly) when a config leaves kelly_fraction out', () => {
    const { config } = parseConfig('[system]\nname = "t"\n[exchanges]\nenabled = ["sim"]\n[risk]\nmax_position = 1000000\nmax_drawdown = 0.1\nvar_confidence = 0.95\n', {});
    expect(config.risk.kelly_fraction).toBe(DEFAULT_KELLY_FRACTION);
    expect(DEFAULT_KELLY_FRACTION).toBe(0.25);
    expect(kellySizer(config.risk)({ ...at, fullKelly: 0.4 })).toMatchObject({ targetLots: 20 });
    expect(fractionalKelly(0.4)).toBeCloseTo(0.1, 15);
  });

  it('refuses a bad fraction when the sizer is made, not at the first signal', () => {
    expect(() => kellySizer({ ...risk, kelly_fraction: 0 })).toThrow(/kelly_fraction must be in \(0, 1\]/);
  });
});

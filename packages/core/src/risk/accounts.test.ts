import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EquityTracker } from './accounts.js';

describe('EquityTracker', () => {
  it('drawdownAtLeast is the exact comparison (peak - equity) / peak >= threshold (to 1e-9), for any path and any thresholds asked in any order', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 24n), max: 10n ** 24n }),
        fc.array(fc.record({ pnl: fc.bigInt({ min: -(10n ** 24n), max: 10n ** 24n }), thresholds: fc.array(fc.oneof(fc.constantFrom(0, 0.2, 0.16, 1e-10, 4e-10, 6e-10, -0.1, 1), fc.double({ min: -0.5, max: 1.5, noNaN: true })), { maxLength: 4 }) }), { maxLength: 30 }),
        (capital, steps) => {
          const t = new EquityTracker(capital);
          for (const s of steps) {
            t.update(s.pnl);
            for (const th of s.thresholds) {
              const scaled = BigInt(Math.round(th * 1e9));
              const want = t.peak <= 0n ? t.equity < t.peak || th <= 0 : (t.peak - t.equity) * 1_000_000_000n >= scaled * t.peak;
              expect(t.drawdownAtLeast(th)).toBe(want);
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('drawdownRatio is (peak - equity) / peak, 0 at the peak', () => {
    const t = new EquityTracker(1000n);
    expect(t.drawdownRatio()).toBe(0);
    t.update(-250n);
    expect(t.drawdownRatio()).toBe(0.25);
    t.update(500n);
    expect(t.drawdownRatio()).toBe(0);
    expect(t.peak).toBe(1500n);
  });
});

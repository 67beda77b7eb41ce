import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TradeIdGuard, TradeIdVerdict } from './feed-guard.js';

/**
 * The trade-id guard over a real stream of increasing ids (times increasing with them) with
 * poisoned ids mixed in: each a little ahead of the real stream (within the jump bound: one
 * mutated digit) and carrying the real time of the trade it was mutated from. Poisons come in
 * clusters of up to three right after one real trade, clusters at least 2 * rebaseAfter + 2 real
 * trades apart (longer runs of poisoned ids taken forward look like a venue restart: see the
 * guard's doc). Whatever the poisons, no id is emitted twice, and every real trade is emitted
 * but at most rebaseAfter plus the poison's distance ahead per poison.
 */
const REBASE = 3;

describe('TradeIdGuard (property)', () => {
  it('never emits an id twice, and drops a bounded number of real trades under poisoned marks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 50, max: 400 }),
        fc.array(
          fc.record({
            gap: fc.integer({ min: 2 * REBASE + 2, max: 60 }),
            aheads: fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 3 }),
          }),
          { maxLength: 6 },
        ),
        (real, clusters) => {
          const g = new TradeIdGuard(10_000_000, REBASE);
          const base = 1000;
          const out: number[] = [];
          let bound = 0;
          let at = 0;
          let next = 0;
          for (let k = 0; k < real; k++) {
            const id = base + k;
            const ts = 1_000_000 + k * 10;
            if (g.check(id, ts) === TradeIdVerdict.NEW) out.push(id);
            if (next < clusters.length && k === at + clusters[next]!.gap) {
              at = k;
              for (const ahead of clusters[next]!.aheads) {
                if (g.check(id + ahead, ts) === TradeIdVerdict.NEW) out.push(id + ahead);
                bound += REBASE + ahead;
              }
              next++;
            }
          }
          expect(new Set(out).size).toBe(out.length);
          const dropped = real - out.filter((id) => id < base + real).length;
          expect(dropped).toBeLessThanOrEqual(bound);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

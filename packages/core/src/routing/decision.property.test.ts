import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bruteForceRoute, venueOptions } from './brute-force.js';
import { DECISION_OK, RoutingDecision, RoutingProblem, RoutingScratch, SIDE_BUY, SIDE_SELL, decideRoute } from './decision.js';

const MAX_VENUES = 4;
const MAX_LEVELS = 4;

interface VenueSpec {
  levels: [number, number][];
  lotMult: number;
  feeRate: number;
  latencyRate: number;
  minNotional: number;
  headroom: number;
  healthy: boolean;
}
interface Case {
  side: number;
  qty: number;
  limit: number;
  maxChildren: number;
  venues: VenueSpec[];
}

/** A small random book: 2-4 venues, 1-4 levels each, lots and min notional, fees, penalties. */
const caseArb: fc.Arbitrary<Case> = fc
  .record({
    side: fc.constantFrom(SIDE_BUY, SIDE_SELL),
    qty: fc.integer({ min: 0, max: 24 }),
    limitOffset: fc.option(fc.integer({ min: -2, max: 12 }), { nil: undefined }),
    maxChildren: fc.integer({ min: 1, max: 4 }),
    sameLot: fc.boolean(),
    commonLot: fc.constantFrom(1, 2, 3),
    venues: fc.array(
      fc.record({
        start: fc.integer({ min: 0, max: 6 }),
        steps: fc.array(fc.record({ gap: fc.integer({ min: 1, max: 3 }), lots: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: MAX_LEVELS }),
        lotMult: fc.constantFrom(1, 2, 3, 4),
        feeRate: fc.constantFrom(-100, 0, 100, 250, 1000, 2500, 5000),
        latencyRate: fc.constantFrom(0, 0, 50, 300, 2000),
        minNotional: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 900 })),
        headroom: fc.constantFrom(0, 1, 1, 1, 2),
        healthy: fc.integer({ min: 0, max: 9 }).map((x) => x > 0),
      }),
      { minLength: 2, maxLength: MAX_VENUES },
    ),
  })
  .map((r) => {
    const base = 100;
    const venues = r.venues.map((v) => {
      const lotMult = r.sameLot ? r.commonLot : v.lotMult;
      let px = r.side === SIDE_BUY ? base + v.start : base - v.start;
      const levels: [number, number][] = v.steps.map((s, i) => {
        if (i > 0) px += r.side === SIDE_BUY ? s.gap : -s.gap;
        return [px, s.lots * lotMult];
      });
      return { levels, lotMult, feeRate: v.feeRate, latencyRate: v.latencyRate, minNotional: v.minNotional, headroom: v.headroom, healthy: v.healthy };
    });
    const limit = r.limitOffset === undefined ? 0 : r.side === SIDE_BUY ? base + r.limitOffset : base - r.limitOffset;
    return { side: r.side, qty: r.qty, limit, maxChildren: r.maxChildren, venues };
  });

function load(p: RoutingProblem, c: Case): void {
  p.side = c.side;
  p.qty = c.qty;
  p.limit = c.limit;
  p.maxChildren = c.maxChildren;
  p.venueCount = 0;
  c.venues.forEach((v, i) => p.setVenue(i, v));
}

/** The decision's own children re-priced by the brute force's per-venue table: feasible and consistent. */
function checkFeasible(p: RoutingProblem, d: RoutingDecision): bigint {
  let total = 0n;
  let qty = 0;
  let children = 0;
  for (let v = 0; v < p.venueCount; v++) {
    const q = d.childQty[v]!;
    const o = venueOptions(p, v).find((x) => x.qty === q);
    expect(o, `venue ${v}: child qty ${q} is not a feasible option`).toBeDefined();
    total += o!.value;
    qty += q;
    if (q > 0) children++;
  }
  expect(qty).toBe(d.filledQty);
  expect(qty).toBeLessThanOrEqual(p.qty);
  expect(children).toBe(d.childCount);
  expect(children).toBeLessThanOrEqual(p.maxChildren);
  return total;
}

describe('decideRoute equals the brute-force optimum', () => {
  const p = new RoutingProblem(MAX_VENUES, MAX_LEVELS);
  const d = new RoutingDecision(MAX_VENUES);
  const s = new RoutingScratch(MAX_VENUES, MAX_LEVELS);

  it('on 10,000 random small books (2-4 venues, 1-4 levels, lots, min notional, fees, headroom, health)', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        load(p, c);
        expect(decideRoute(p, d, s)).toBe(DECISION_OK);
        expect(d.exact).toBe(true);
        const bf = bruteForceRoute(p);
        expect(d.filledQty).toBe(bf.filledQty);
        const mine = checkFeasible(p, d);
        expect(d.objective()).toBe(mine);
        expect(mine).toBe(bf.objective);
      }),
      { numRuns: 10_000, seed: 16016 },
    );
  }, 180_000); // ~5 s alone; 20 s and more on a loaded 2-core machine

  it('the mixed-lot fallback (no room for the program) stays feasible and says it is not exact', () => {
    const tiny = new RoutingScratch(MAX_VENUES, MAX_LEVELS, 1);
    let fellBack = 0;
    fc.assert(
      fc.property(caseArb, (c) => {
        load(p, c);
        expect(decideRoute(p, d, tiny)).toBe(DECISION_OK);
        if (!d.exact) fellBack++;
        const mine = checkFeasible(p, d);
        expect(d.objective()).toBe(mine);
        const bf = bruteForceRoute(p);
        expect(d.filledQty).toBeLessThanOrEqual(bf.filledQty);
        if (d.exact) {
          expect(d.filledQty).toBe(bf.filledQty);
          expect(mine).toBe(bf.objective);
        }
      }),
      { numRuns: 2_000, seed: 7 },
    );
    expect(fellBack).toBeGreaterThan(100);
  }, 120_000);
});

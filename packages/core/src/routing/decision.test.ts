import { describe, expect, it } from 'vitest';
import { DECISION_INVALID, DECISION_OK, DECISION_OUT_OF_RANGE, RoutingDecision, RoutingProblem, RoutingScratch, SIDE_BUY, SIDE_SELL, decideRoute } from './decision.js';

type Venue = Parameters<RoutingProblem['setVenue']>[1];

function decide(side: number, qty: number, venues: Venue[], opts: { limit?: number; maxChildren?: number; dpCells?: number } = {}) {
  const p = new RoutingProblem(8, 8);
  p.side = side;
  p.qty = qty;
  p.limit = opts.limit ?? 0;
  p.maxChildren = opts.maxChildren ?? 8;
  venues.forEach((v, i) => p.setVenue(i, v));
  const d = new RoutingDecision(8);
  const status = decideRoute(p, d, new RoutingScratch(8, 8, opts.dpCells));
  return { status, d, qty: Array.from(d.childQty.subarray(0, venues.length)), limit: Array.from(d.childLimit.subarray(0, venues.length)) };
}

describe('decideRoute', () => {
  it('takes the cheapest effective price first: a fee can outweigh a better price', () => {
    // A: 10000 ticks + 10 bps = 10010 effective; B: 10005 + 0 bps = 10005 effective.
    const r = decide(SIDE_BUY, 5, [
      { levels: [[10_000, 3], [10_010, 10]], feeRate: 1000 },
      { levels: [[10_005, 4], [10_020, 10]], feeRate: 0 },
    ]);
    expect(r.status).toBe(DECISION_OK);
    expect(r.qty).toEqual([1, 4]);
    expect(r.d.filledQty).toBe(5);
    expect(r.limit).toEqual([10_000, 10_005]); // each child's limit: the deepest level it takes
    // cost: 1 x 10000 x 1.001 + 4 x 10005 in ticks x lots x 1e6
    expect(r.d.objective()).toBe(10_000n * 1_001_000n + 4n * 10_005n * 1_000_000n);
  });

  it('adds the latency penalty to the fee', () => {
    const venues: Venue[] = [
      { levels: [[10_000, 10]], feeRate: 0, latencyRate: 0 },
      { levels: [[10_000, 10]], feeRate: 0, latencyRate: 100 },
    ];
    expect(decide(SIDE_BUY, 12, venues).qty).toEqual([10, 2]);
    venues[0]!.latencyRate = 200;
    expect(decide(SIDE_BUY, 12, venues).qty).toEqual([2, 10]);
  });

  it('excludes a venue whose book is not synced or that has no rate-limit headroom', () => {
    const cheap = { levels: [[99, 10]] as [number, number][] };
    const dear = { levels: [[101, 10]] as [number, number][] };
    expect(decide(SIDE_BUY, 5, [{ ...cheap, healthy: false }, dear]).qty).toEqual([0, 5]);
    expect(decide(SIDE_BUY, 5, [{ ...cheap, headroom: 0 }, dear]).qty).toEqual([0, 5]);
    expect(decide(SIDE_BUY, 5, [cheap, dear]).qty).toEqual([5, 0]);
  });

  it('stops at the parent limit, and fills what it can', () => {
    const r = decide(SIDE_BUY, 20, [{ levels: [[100, 3], [102, 3]] }, { levels: [[101, 4], [103, 9]] }], { limit: 101 });
    expect(r.qty).toEqual([3, 4]);
    expect(r.limit).toEqual([100, 101]);
    expect(r.d.filledQty).toBe(7);
  });

  it('sells to the best net proceeds', () => {
    // A bids 100 with 50 bps fee (net 99.5), B bids 99.8 at 0 (net 99.8): B first.
    const r = decide(SIDE_SELL, 6, [{ levels: [[1000, 5], [990, 5]], feeRate: 5000 }, { levels: [[998, 4], [900, 5]], feeRate: 0 }]);
    expect(r.qty).toEqual([2, 4]);
    expect(r.limit).toEqual([1000, 998]);
  });

  it('gives a child no limit past the deepest level it takes, and checks the minimum notional at that limit', () => {
    // A 3-lot child at 100 once carried the worst level (200) as its limit: far from the mid (a
    // market parent refused by price_band) and 3 x 200 passed a minimum of 500 that 3 x 100 does not.
    const deep: Venue = { levels: [[100, 10], [150, 10], [200, 10]], minNotional: 500 };
    expect(decide(SIDE_BUY, 3, [deep, { levels: [[300, 10]] }])).toMatchObject({ qty: [0, 3], limit: [0, 300] });
    expect(decide(SIDE_BUY, 5, [deep, { levels: [[300, 10]] }])).toMatchObject({ qty: [5, 0], limit: [100, 0] });
    expect(decide(SIDE_BUY, 12, [deep])).toMatchObject({ qty: [12], limit: [150] });
    // A sell: one lot at the 100 bid passes 50, two lots reaching the 10 bid do not (2 x 10); the
    // floor is the least quantity from which every larger child passes (5 x 10).
    const sell: Venue = { levels: [[100, 1], [10, 10]], minNotional: 50 };
    expect(decide(SIDE_SELL, 1, [sell]).qty).toEqual([0]);
    expect(decide(SIDE_SELL, 5, [sell])).toMatchObject({ qty: [5], limit: [10] });
  });

  it('skips a venue a child cannot reach the minimum notional on, or sends it enough', () => {
    // A is cheaper but needs 5 lots at 100 (notional 500); a parent of 3 goes to B.
    expect(decide(SIDE_BUY, 3, [{ levels: [[100, 10]], minNotional: 500 }, { levels: [[101, 10]] }]).qty).toEqual([0, 3]);
    // 8 lots: 5+ on A is feasible and cheapest.
    expect(decide(SIDE_BUY, 8, [{ levels: [[100, 10]], minNotional: 500 }, { levels: [[101, 10]] }]).qty).toEqual([8, 0]);
    // A greedy would put 6 on A and 1 on C (cheaper than B) but C needs 2: A 5 + C 2 is optimal.
    const r = decide(SIDE_BUY, 7, [{ levels: [[100, 5], [104, 5]] }, { levels: [[103, 10]] }, { levels: [[101, 10]], minNotional: 202 }]);
    expect(r.qty).toEqual([5, 0, 2]);
  });

  it('solves lot granularity where a greedy by price fails (a knapsack)', () => {
    // A: lot 5 at 100; B: lot 10 at 101; C: lot 1 at 110. Greedy: A 5 + C 5 = 1050; optimal: B 10 = 1010.
    const r = decide(SIDE_BUY, 10, [
      { levels: [[100, 5]], lotMult: 5 },
      { levels: [[101, 10]], lotMult: 10 },
      { levels: [[110, 5]], lotMult: 1 },
    ]);
    expect(r.d.exact).toBe(true);
    expect(r.qty).toEqual([0, 10, 0]);
    // Without room for the program the fallback is feasible but says it may not be optimal.
    const f = decide(SIDE_BUY, 10, [
      { levels: [[100, 5]], lotMult: 5 },
      { levels: [[101, 10]], lotMult: 10 },
      { levels: [[110, 5]], lotMult: 1 },
    ], { dpCells: 1 });
    expect(f.d.exact).toBe(false);
    expect(f.qty).toEqual([5, 0, 5]);
  });

  it('respects the cap on child orders', () => {
    const venues: Venue[] = [{ levels: [[100, 2]] }, { levels: [[101, 2]] }, { levels: [[102, 10]] }];
    expect(decide(SIDE_BUY, 6, venues, { maxChildren: 3 }).qty).toEqual([2, 2, 2]);
    expect(decide(SIDE_BUY, 6, venues, { maxChildren: 1 }).qty).toEqual([0, 0, 6]);
    expect(decide(SIDE_BUY, 4, venues, { maxChildren: 2 }).qty).toEqual([2, 2, 0]);
  });

  it('refuses malformed input and products past 2^53 without deciding', () => {
    expect(decide(SIDE_BUY, 5, [{ levels: [[100.5, 1]] }]).status).toBe(DECISION_INVALID);
    expect(decide(SIDE_BUY, 5, [{ levels: [[100, 3]], lotMult: 2 }]).status).toBe(DECISION_INVALID); // depth off the lot grid
    expect(decide(SIDE_BUY, 5, [{ levels: [[100, 3]], feeRate: 1_000_000 }]).status).toBe(DECISION_INVALID);
    expect(decide(SIDE_BUY, 5, [{ levels: [[100, 3]], latencyRate: -1 }]).status).toBe(DECISION_INVALID);
    const big = decide(SIDE_BUY, 2 ** 40, [{ levels: [[2 ** 20, 2 ** 40]] }]);
    expect(big.status).toBe(DECISION_OUT_OF_RANGE);
    expect(big.d.childCount).toBe(0);
  });

  it('keeps the objective exact past 2^53', () => {
    // 2^30 lots at 2^20 ticks x (1e6 + 10 bps): 2^50 x 1_001_000, far past 2^53.
    const r = decide(SIDE_BUY, 2 ** 30, [{ levels: [[2 ** 20, 2 ** 31]], feeRate: 1000 }]);
    expect(r.status).toBe(DECISION_OK);
    expect(r.d.objective()).toBe(2n ** 50n * 1_001_000n);
  });

  it('treats an unsorted or crossed view as ending at the first bad level', () => {
    const r = decide(SIDE_BUY, 10, [{ levels: [[100, 2], [99, 5]] }, { levels: [[105, 10]] }]);
    expect(r.qty).toEqual([2, 8]);
  });
});

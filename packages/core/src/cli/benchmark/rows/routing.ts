/**
 * "Smart Order Routing": decideRoute (routing/decision.ts) on 4 venues x 20 levels of BTC-like
 * books (per-venue taker fees 1-2 bps and latency penalties so levels interleave by effective
 * price), a parent that sweeps several levels on several venues; 64 books cycled, buys and sells.
 * Each of the three shapes `pnpm bench routing` holds to the p99 <= 5 us goal (ROUTING_ROW_SHAPES)
 * is timed on its own, and the row is the worst of them by p99: a route decision's budget has to
 * hold for the book it meets, and the cheapest shape alone (one greedy sweep) hid the cost of a
 * binding child cap. The mixed-lot shape (the exact program for small parents) is not the goal's.
 */
import { performance } from 'node:perf_hooks';
import { RoutingDecision, RoutingProblem, RoutingScratch, SIDE_BUY, SIDE_SELL, decideRoute } from '../../../routing/decision.js';
import { iterations, type RowMeasurement, type RowRun } from '../row.js';
import { LatencySamples } from '../samples.js';
import { mulberry32 } from '../venue-frames.js';

export type RoutingShape = 'free' | 'min-notional' | 'max-children' | 'mixed-lots';

/** 64 routing problems of one shape (deterministic in the seed). */
export function routingBooks(shape: RoutingShape, seed: number, venues = 4, levelsPerVenue = 20, count = 64): RoutingProblem[] {
  const rnd = mulberry32(seed);
  const out: RoutingProblem[] = [];
  for (let b = 0; b < count; b++) {
    const p = new RoutingProblem(venues, levelsPerVenue);
    const side = b % 2 === 0 ? SIDE_BUY : SIDE_SELL;
    p.side = side;
    const mid = 6_000_000 + Math.floor(rnd() * 2000) - 1000;
    const mixed = shape === 'mixed-lots';
    for (let v = 0; v < venues; v++) {
      const lotMult = mixed ? [1, 2, 5, 10][v % 4]! : 1;
      let px = side === SIDE_BUY ? mid + 1 + Math.floor(rnd() * 400) : mid - 1 - Math.floor(rnd() * 400);
      const levels: [number, number][] = [];
      for (let l = 0; l < levelsPerVenue; l++) {
        levels.push([px, lotMult * (mixed ? 1 + Math.floor(rnd() * 3) : 50 + Math.floor(rnd() * 2000))]);
        px += (side === SIDE_BUY ? 1 : -1) * (5 + Math.floor(rnd() * 26));
      }
      // min notional 5 USDT = 5e7 tick-lots at 0.01 x 1e-5; binding: 200 USDT on two venues
      const minNotional = shape === 'min-notional' && v < 2 ? 200 * 1e7 : 5 * 1e7;
      // 1-2 bps (600-1200 ticks at 6e6) against 5-30 ticks between levels: the venues interleave
      p.setVenue(v, { levels, lotMult, feeRate: [100, 120, 150, 200][v % 4]!, latencyRate: Math.floor(rnd() * 50), minNotional: mixed ? 0 : minNotional, headroom: 10 });
    }
    // Sweep deep: about a third of the visible depth (mixed: a small parent the program fits).
    p.qty = mixed ? 40 + Math.floor(rnd() * 40) : 5_000 + Math.floor(rnd() * 20_000);
    p.limit = 0;
    p.maxChildren = shape === 'max-children' ? 2 : venues;
    out.push(p);
  }
  return out;
}

/** The shapes of the row, with `pnpm bench routing`'s seeds (16 + the shape's place in its list). */
export const ROUTING_ROW_SHAPES: readonly { shape: RoutingShape; seed: number; label: string }[] = [
  { shape: 'free', seed: 16, label: 'min notional not binding' },
  { shape: 'min-notional', seed: 17, label: 'min notional binding on 2 venues' },
  { shape: 'max-children', seed: 18, label: 'at most 2 children' },
];

export async function measureRouting(run: RowRun): Promise<RowMeasurement> {
  const n = iterations(run, 200_000, 1_000_000);
  const d = new RoutingDecision(4);
  const s = new RoutingScratch(4, 20);
  const shapes = ROUTING_ROW_SHAPES.map((x) => ({ ...x, books: routingBooks(x.shape, x.seed) }));
  for (const x of shapes) {
    for (const p of x.books) if (decideRoute(p, d, s) !== 0) throw new Error(`routing: the decision refused a book (${x.label})`);
    for (let k = 0; k < Math.min(n, 50_000); k++) decideRoute(x.books[k & 63]!, d, s);
  }
  const timed = shapes.map((x, i) => {
    const lat = new LatencySamples(n);
    for (let k = 0; k < n; k++) {
      const p = x.books[k & 63]!;
      const t = performance.now();
      decideRoute(p, d, s);
      lat.record((performance.now() - t) * 1e6);
      if ((k & 16383) === 0) run.progress((i + k / n) / shapes.length);
    }
    return { ...x, latency: lat.summary() };
  });
  const worst = timed.reduce((a, b) => (b.latency.p99 > a.latency.p99 ? b : a));
  return {
    latency: worst.latency,
    what: `decideRoute, 4 venues x 20 levels, worst p99 of 3 book shapes: ${worst.label} (${timed.map((x) => `${x.label} p99 ${(x.latency.p99 / 1000).toFixed(2)} us`).join(', ')}); 64 books per shape cycled, ${n} decisions per shape (timer included)`,
    figures: timed.flatMap((x) => [
      { name: `${x.label} p50`, metric: 'p50 latency', unit: 'ns', value: Math.round(x.latency.p50) },
      { name: `${x.label} p99`, metric: 'p99 latency', unit: 'ns', value: Math.round(x.latency.p99), ...(x === worst ? { note: 'the worst shape: the row p50/p99' } : {}) },
    ]),
  };
}

/**
 * "Smart Order Routing": decideRoute (routing/decision.ts) on 4 venues x 20 levels of BTC-like
 * books (per-venue taker fees 1-2 bps and latency penalties so levels interleave by effective
 * price), a parent that sweeps several levels on several venues; 64 books cycled, buys and sells.
 * The books are `pnpm bench routing`'s "min notional not binding" shape (routingBooks).
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

export async function measureRouting(run: RowRun): Promise<RowMeasurement> {
  const n = iterations(run, 200_000, 1_000_000);
  const books = routingBooks('free', 16);
  const d = new RoutingDecision(4);
  const s = new RoutingScratch(4, 20);
  for (const p of books) if (decideRoute(p, d, s) !== 0) throw new Error('routing: the decision refused a book');
  for (let k = 0; k < Math.min(n, 50_000); k++) decideRoute(books[k & 63]!, d, s);
  const lat = new LatencySamples(n);
  for (let k = 0; k < n; k++) {
    const p = books[k & 63]!;
    const t = performance.now();
    decideRoute(p, d, s);
    lat.record((performance.now() - t) * 1e6);
    if ((k & 16383) === 0) run.progress(k / n);
  }
  return { latency: lat.summary(), what: `decideRoute, 4 venues x 20 levels, 64 books cycled, ${n} decisions (timer included)` };
}

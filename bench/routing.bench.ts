/**
 * `pnpm bench routing`: the smart order router's decision (packages/core/src/routing), 4 venues
 * x 20 levels each side, BTC-like books (6,000,000 ticks, lots of 1e-5, per-venue taker fees
 * 1-2 bps and latency penalties, venues' levels interleaving by effective price), a parent that sweeps several levels on several venues.
 * Four shapes: min notional never binding (one greedy sweep), min notional binding on two venues
 * (sets of forced venues enumerated), a cap of 2 children (every set of <= 2 venues), and mixed
 * lots small enough for the exact dynamic program. 64 different books per shape, cycled.
 * `SOR route decision ... p99` is what `cwts-ultra benchmark` shows on the seed's "Smart Order
 * Routing" row. Goal: p99 <= 5 us for 4 venues x 20 levels.
 * Env: ROUTING_ITERS (default 300_000), ROUTING_REPEATS (default 5).
 */
import { performance } from 'node:perf_hooks';
import { RoutingDecision, RoutingProblem, RoutingScratch, decideRoute } from '../packages/core/dist/routing/index.js';
import { GcWatch, forceGc, heapUsedMiB, histogram, log, median, percentiles, timerOverheadNs, writeResults, type BenchResult } from './lib/harness.js';
import { routingBooks, type RoutingShape } from '../packages/core/dist/cli/benchmark/rows/routing.js';

const ITERS = Number(process.env.ROUTING_ITERS ?? 300_000);
const REPEATS = Number(process.env.ROUTING_REPEATS ?? 5);
const VENUES = 4;
const LEVELS = 20;
const BOOKS = 64;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

type Shape = RoutingShape;

/** The books: core's generator, shared with `cwts-ultra benchmark`'s "Smart Order Routing" row. */
const makeBooks = (shape: Shape, seed: number): RoutingProblem[] => routingBooks(shape, seed, VENUES, LEVELS, BOOKS);

function run(shape: Shape, seed: number): { p50: number; p99: number; p999: number; mean: number; gcs: number; heap: number; check: string } {
  const books = makeBooks(shape, seed);
  const d = new RoutingDecision(VENUES);
  const s = new RoutingScratch(VENUES, LEVELS);
  let filled = 0;
  let children = 0;
  let exact = 0;
  for (const p of books) {
    if (decideRoute(p, d, s) !== 0) throw new Error(`${shape}: decision refused the book`);
    filled += d.filledQty;
    children += d.childCount;
    if (d.exact) exact++;
  }
  for (let k = 0; k < 200_000; k++) decideRoute(books[k & (BOOKS - 1)]!, d, s);
  const p50s: number[] = [];
  const p99s: number[] = [];
  const p999s: number[] = [];
  const means: number[] = [];
  const gc = new GcWatch();
  forceGc();
  const heap0 = heapUsedMiB();
  gc.start();
  for (let rep = 0; rep < REPEATS; rep++) {
    const h = histogram();
    for (let k = 0; k < ITERS; k++) {
      const p = books[k & (BOOKS - 1)]!;
      const t = performance.now();
      decideRoute(p, d, s);
      h.recordValue(Math.max(1, Math.round((performance.now() - t) * 1e6)));
    }
    const pc = percentiles(h);
    p50s.push(pc.p50);
    p99s.push(pc.p99);
    p999s.push(pc.p999);
    const t0 = performance.now();
    for (let k = 0; k < ITERS; k++) decideRoute(books[k & (BOOKS - 1)]!, d, s);
    means.push(((performance.now() - t0) * 1e6) / ITERS);
    log(`  ${shape} repeat ${rep + 1}: p50 ${pc.p50} ns, p99 ${pc.p99} ns, p99.9 ${pc.p999} ns, max ${pc.max} ns; batch mean ${means.at(-1)!.toFixed(1)} ns`);
  }
  return {
    p50: median(p50s),
    p99: median(p99s),
    p999: median(p999s),
    mean: r3(median(means)),
    gcs: gc.count,
    heap: r3(heapUsedMiB() - heap0),
    check: `${BOOKS} books: mean fill ${Math.round(filled / BOOKS)} lots over ${(children / BOOKS).toFixed(2)} children, ${exact}/${BOOKS} exact`,
    ...(void gc.stop(), {}),
  };
}

async function main(): Promise<void> {
  const overhead = timerOverheadNs();
  log(`SOR decision, ${VENUES} venues x ${LEVELS} levels; timer overhead p50 ${overhead} ns`);
  const results: BenchResult[] = [];
  const shapes: Shape[] = ['free', 'min-notional', 'max-children', 'mixed-lots'];
  const label: Record<Shape, string> = {
    free: 'min notional not binding',
    'min-notional': 'min notional binding on 2 venues',
    'max-children': 'max 2 children',
    'mixed-lots': 'mixed lots 1/2/5/10, exact program',
  };
  for (const shape of shapes) {
    const r = run(shape, 16 + shapes.indexOf(shape));
    const note = `median of ${REPEATS} repeats x ${ITERS} decisions; per-call timing includes the timer (p50 ${overhead} ns); ${r.check}; GCs ${r.gcs}, heap delta ${r.heap} MiB`;
    const head = shape === 'free' ? 'SOR route decision 4 venues x 20 levels' : `SOR route decision 4x20 (${label[shape]})`;
    results.push(
      { name: `${head} p99`, metric: 'p99 latency', unit: 'ns', value: r.p99, note: shape === 'free' ? `${label[shape]}; ${note}` : note },
      { name: `${head} p50`, metric: 'p50 latency', unit: 'ns', value: r.p50 },
      { name: `${head} p99.9`, metric: 'p99.9 latency', unit: 'ns', value: r.p999 },
      { name: `${head} mean (batch, no per-call timer)`, metric: 'mean latency', unit: 'ns', value: r.mean },
    );
    log(`${shape}: p50 ${r.p50} ns, p99 ${r.p99} ns (goal <= 5000 ns); ${r.check}; GCs ${r.gcs}; heap delta ${r.heap} MiB`);
  }
  results.push({ name: 'timer overhead p50', metric: 'p50', unit: 'ns', value: overhead });
  const file = writeResults('routing', results, { goal: 'SOR decision p99 <= 5 us for 4 venues x 20 levels' });
  log(`wrote ${file}`);
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/**
 * `pnpm bench mirror`: loading a venue snapshot into the adapter's mirror book (what
 * BookSync.onSnapshot does on the feed thread for every initial snapshot and resync), 1k, 10k
 * and 50k levels a side, against the per-level path it replaced (MirrorBook.apply onto an empty
 * book: clear + set per level). Inputs: best first (how Coinbase, Kraken, Bybit and Binance list
 * a snapshot; the per-level path's worst case, every level inserted at index 0), worst first, and
 * shuffled (a fixed permutation). One process, each case warmed up, then the median of the
 * repeats; both paths timed alternately so load on a shared machine hits both alike. Runs the
 * compiled code (packages/core/dist). Writes bench/results/mirror.json.
 * Env: MIRROR_REPEATS (timed runs per case and path, default 7).
 */
import { MirrorBook } from '../packages/core/dist/adapter-kit/index.js';
import type { BookLevel } from '../packages/core/dist/domain/events.js';
import { log, median, now, writeResults, type BenchResult } from './lib/harness.js';

const REPEATS = Number(process.env.MIRROR_REPEATS ?? 7);
const SIZES = [1_000, 10_000, 50_000];
const ORDERS = ['best first', 'worst first', 'shuffled'] as const;
type Order = (typeof ORDERS)[number];

function snapshot(n: number, order: Order): { bids: BookLevel[]; asks: BookLevel[] } {
  let bids: BookLevel[] = [];
  let asks: BookLevel[] = [];
  for (let i = 0; i < n; i++) {
    bids.push({ price: 10_000_000 - i, qty: 1 + (i % 7) });
    asks.push({ price: 10_000_001 + i, qty: 1 + (i % 5) });
  }
  if (order === 'worst first') {
    bids.reverse();
    asks.reverse();
  } else if (order === 'shuffled') {
    // a fixed permutation: stride 7919 (prime, coprime with every size here)
    const mix = (ls: BookLevel[]) => ls.map((_, i) => ls[(i * 7919) % ls.length]!);
    bids = mix(bids);
    asks = mix(asks);
  }
  return { bids, asks };
}

/** Milliseconds of one snapshot load into a book that already holds the previous one (as a resync does). */
function time(m: MirrorBook, s: { bids: BookLevel[]; asks: BookLevel[] }, bulk: boolean): number {
  const t = now();
  if (bulk) m.load(s.bids, s.asks);
  else {
    m.clear();
    m.apply(s.bids, s.asks);
  }
  const ms = now() - t;
  if (m.bids.n !== s.bids.length || m.asks.n !== s.asks.length) throw new Error('snapshot not loaded');
  return ms;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const results: BenchResult[] = [];
for (const n of SIZES) {
  for (const order of ORDERS) {
    const s = snapshot(n, order);
    const bulk = new MirrorBook();
    const per = new MirrorBook();
    for (let w = 0; w < 3; w++) {
      time(bulk, s, true);
      time(per, s, false);
    }
    const a: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      a.push(time(bulk, s, true));
      b.push(time(per, s, false));
    }
    const name = `mirror snapshot load, ${n} levels a side, ${order}`;
    results.push({
      name,
      metric: 'one snapshot into the mirror book (both sides), median',
      unit: 'ms',
      value: round(median(a)),
      peer: 'per-level load (clear + apply)',
      peerValue: round(median(b)),
      note: `median of ${REPEATS}; load ${a.map(round).join(', ')}; per-level ${b.map(round).join(', ')}`,
    });
    log(`${name.padEnd(58)} load ${String(round(median(a))).padStart(9)} ms   per-level ${String(round(median(b))).padStart(9)} ms`);
  }
}
log(`wrote ${writeResults('mirror', results)}`);

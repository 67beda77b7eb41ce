/**
 * binance-rest: Binance REST depth snapshots (GET /api/v3/depth bodies) through the adapter's
 * snapshot path (httpJson -> fetchSnapshot -> BookSync.onSnapshot) into the engine's book.
 * Each fuzz frame: the venue loses one diff (a gap), the adapter resyncs and is served the
 * mutated snapshot; its retries are then served the true one, and the next diff must apply.
 */
import { Prng } from '../prng.mjs';
import { Mutator } from '../mutate.mjs';
import { VirtualTime } from '../virtual-time.mjs';
import { BinanceHarness, VenueModel } from './binance-venue.mjs';

export const description = 'Binance REST depth snapshots -> BinanceMarketData snapshot path -> BookSync -> L2BookStore';

export async function create({ seed }) {
  const vt = new VirtualTime().install();
  const rng = new Prng(seed);
  const venue = new VenueModel(rng);
  const mut = new Mutator(new Prng(seed ^ 0x5bd1e995), 'json');
  let h = new BinanceHarness(venue, vt);
  await h.start();
  const totals = { parserCalls: 0 };
  return {
    next() {
      venue.depth(); // lost on the way: the next diff is a gap
      const gap = venue.depth().text;
      const data = mut.mutate(venue.snapshotText(), 'snapshot');
      const after = venue.depth().text;
      return { data, gap, after };
    },
    saved: (f) => f.data,
    async run(f) {
      h.restQueue.push(f.data);
      await h.frame(f.gap);
      await h.advance(10_000);
      await h.frame(f.after);
      totals.parserCalls++;
    },
    async reset() {
      await h.stop().catch(() => {});
      h = new BinanceHarness(venue, vt);
      await h.start();
    },
    async probe(f) {
      const p = new BinanceHarness(new VenueModel(new Prng(1)), vt);
      await p.start();
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        p.restQueue.push(f.data);
        const t0 = performance.now();
        await p.frame(p.venue.depth().text).catch(() => {});
        best = Math.min(best, performance.now() - t0);
        await p.advance(10_000).catch(() => {});
      }
      await p.stop().catch(() => {});
      return best;
    },
    counts: () => ({ ...totals, ...h.md.stats, ...h.counts, mutations: Object.fromEntries(mut.ops) }),
  };
}

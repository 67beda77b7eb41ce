/**
 * binance-rest: Binance REST depth snapshots (GET /api/v3/depth bodies) through the adapter's
 * snapshot path (httpJson -> fetchSnapshot -> BookSync.onSnapshot) into the engine's book.
 * Each fuzz frame: the venue loses one diff (a gap), the adapter resyncs and is served the
 * mutated snapshot; its retries are then served the true one, and the next diffs must apply: the
 * first is older than the true snapshot, the second confirms it (U <= lastUpdateId + 1 <= u), and
 * only then is the book SYNCED.
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
  let prober;
  return {
    next() {
      venue.depth(); // lost on the way: the next diff is a gap
      const gap = venue.depth().text;
      const data = mut.mutate(venue.snapshotText(), 'snapshot');
      const after = venue.depth().text;
      const truth = venue.snapshotText();
      const confirm = venue.depth().text;
      return { data, gap, after, truth, confirm };
    },
    saved: (f) => f.data,
    async run(f) {
      // the mutated body first; a retry gets the venue's book as of `after`
      h.restQueue.push(f.data, f.truth);
      await h.frame(f.gap);
      await h.advance(10_000);
      await h.frame(f.after);
      await h.frame(f.confirm);
      // a body the adapter did not ask for (the mutated one was adopted) is not served later
      h.restQueue.length = 0;
      totals.parserCalls++;
    },
    async reset() {
      await h.stop().catch(() => {});
      h = new BinanceHarness(venue, vt);
      await h.start();
    },
    async probe(f) {
      // one spare adapter for re-timing (building one per slow frame would cost more than the frame)
      if (!prober) {
        prober = new BinanceHarness(new VenueModel(new Prng(1)), vt);
        await prober.start();
      }
      const p = prober;
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        p.restQueue.push(f.data);
        const t0 = performance.now();
        await p.frame(p.venue.depth().text).catch(() => {});
        best = Math.min(best, performance.now() - t0);
        await p.advance(10_000).catch(() => {});
      }
      return best;
    },
    counts: () => ({ ...totals, ...(h.md.stats ?? h.md.feed?.stats), ...h.counts, mutations: Object.fromEntries(mut.ops) }),
  };
}

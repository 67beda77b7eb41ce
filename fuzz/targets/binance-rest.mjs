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
import { BinanceHarness, VenueModel, addCounts, sumCounts } from './binance-venue.mjs';

export const description = 'Binance REST depth snapshots -> BinanceMarketData snapshot path -> BookSync -> L2BookStore';

export async function create({ seed }) {
  const vt = new VirtualTime().install();
  const rng = new Prng(seed);
  const venue = new VenueModel(rng);
  const mut = new Mutator(new Prng(seed ^ 0x5bd1e995), 'json');
  let h = new BinanceHarness(venue, vt);
  await h.start();
  const totals = { parserCalls: 0 };
  /** The counts of the harnesses a finding replaced (coverage is judged over the whole run). */
  const past = {};
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
      addCounts(past, h.counts);
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
    counts: () => ({ ...totals, ...(h.md.stats ?? h.md.feed?.stats), ...sumCounts(past, h.counts), mutations: Object.fromEntries(mut.ops) }),
  };
}

/**
 * What a run must have exercised, or it proved nothing (runner kind `vacuous`). Every fuzz frame
 * makes a gap, so the adapter must resync, and its retry is served the true snapshot: one adopted
 * snapshot and a SYNCED book (after `confirm`) per frame is what a working adapter gives (2000
 * frames, any seed: ~0.99 of each per frame). The floor is half of that; an adapter that never
 * adopts a snapshot, or never gets SYNCED, fails it.
 */
export function coverage(c, frames) {
  const out = [];
  const floor = Math.floor(frames / 2);
  if ((c.snapshotsAdopted ?? 0) < floor) out.push({ kind: 'vacuous', message: `only ${c.snapshotsAdopted ?? 0} snapshots adopted in ${frames} frames (floor ${floor}): each frame's resync should adopt one` });
  if ((c.checksSynced ?? 0) < floor) out.push({ kind: 'vacuous', message: `only ${c.checksSynced ?? 0} SYNCED book checks in ${frames} frames (floor ${floor}): the book was hardly ever SYNCED, so nothing was compared` });
  return out;
}

/**
 * binance-ws: Binance market-data websocket frames (depth diffs, trades, aggTrades, replies,
 * foreign and unknown streams, raw and combined) through the real adapter into the engine's
 * book. Each fuzz frame is a mutated copy of the venue's next frame, followed by that frame
 * itself, so the stream keeps moving and a rejected mutation costs no gap.
 */
import { Prng } from '../prng.mjs';
import { Mutator } from '../mutate.mjs';
import { VirtualTime } from '../virtual-time.mjs';
import { BinanceHarness, VenueModel, addCounts, sumCounts } from './binance-venue.mjs';

export const description = 'Binance websocket frames -> BinanceMarketData.onFrame -> BookSync -> L2BookStore';

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
  const fresh = async () => {
    const p = new BinanceHarness(new VenueModel(new Prng(1)), vt);
    await p.start();
    return p;
  };
  return {
    next() {
      const r = rng.next();
      const clean = r < 0.7 ? venue.depth() : r < 0.95 ? venue.trade() : venue.other();
      return { data: mut.mutate(clean.text, clean.kind), clean: clean.text };
    },
    saved: (f) => f.data,
    async run(f) {
      await h.advance(50);
      await h.frame(f.data);
      await h.frame(f.clean, true);
      totals.parserCalls += 2;
    },
    async reset() {
      addCounts(past, h.counts);
      await h.stop().catch(() => {});
      h = new BinanceHarness(venue, vt);
      await h.start();
    },
    async probe(f) {
      // one spare adapter for re-timing (building one per slow frame would cost more than the frame)
      prober ??= await fresh();
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await prober.frame(f.data).catch(() => {});
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    },
    counts: () => ({ ...totals, ...(h.md.stats ?? h.md.feed?.stats), ...sumCounts(past, h.counts), mutations: Object.fromEntries(mut.ops) }),
  };
}

/**
 * What a run must have exercised, or it proved nothing (runner kind `vacuous`), and the trade
 * floor (`lost-data`). Floors are shares of the run's own frame and trade counts, far below what
 * any seed gives (2000 frames: ~1.15 SYNCED checks and ~0.33 adopted snapshots per fuzz frame;
 * ~99 % of clean trade frames emitted), so they hold for every seed and fail a harness or adapter
 * that has stopped syncing or emitting.
 * - checksSynced >= frames / 4: 70 % of fuzz frames carry a depth update whose clean copy follows
 *   it, and the book is SYNCED between resyncs.
 * - snapshotsAdopted >= floor(frames / 50): a mutated depth frame (a gap, a bad level) makes the
 *   adapter resync, and a resync ends in an adopted snapshot within the next frames.
 * - cleanTradesEmitted >= cleanTradeFrames / 2: a clean trade is excused only when the adapter
 *   already emitted its id from the mutated copy before it; at most every mutated copy can do that,
 *   and most mutations break the copy.
 */
export function coverage(c, frames) {
  const out = [];
  if ((c.checksSynced ?? 0) < frames / 4) out.push({ kind: 'vacuous', message: `only ${c.checksSynced ?? 0} SYNCED book checks in ${frames} frames (floor ${frames / 4}): the book was hardly ever SYNCED, so nothing was compared` });
  if ((c.snapshotsAdopted ?? 0) < Math.floor(frames / 50)) out.push({ kind: 'vacuous', message: `only ${c.snapshotsAdopted ?? 0} snapshots adopted in ${frames} frames (floor ${Math.floor(frames / 50)})` });
  if ((c.cleanTradesEmitted ?? 0) < (c.cleanTradeFrames ?? 0) / 2) out.push({ kind: 'lost-data', message: `${c.cleanTradesEmitted ?? 0} of ${c.cleanTradeFrames ?? 0} clean trade frames emitted their trade (${c.cleanTradesExcused ?? 0} excused as duplicates; floor: half)` });
  return out;
}

/**
 * binance-ws: Binance market-data websocket frames (depth diffs, trades, aggTrades, replies,
 * foreign and unknown streams, raw and combined) through the real adapter into the engine's
 * book. Each fuzz frame is a mutated copy of the venue's next frame, followed by that frame
 * itself, so the stream keeps moving and a rejected mutation costs no gap.
 */
import { Prng } from '../prng.mjs';
import { Mutator } from '../mutate.mjs';
import { VirtualTime } from '../virtual-time.mjs';
import { BinanceHarness, VenueModel } from './binance-venue.mjs';

export const description = 'Binance websocket frames -> BinanceMarketData.onFrame -> BookSync -> L2BookStore';

export async function create({ seed }) {
  const vt = new VirtualTime().install();
  const rng = new Prng(seed);
  const venue = new VenueModel(rng);
  const mut = new Mutator(new Prng(seed ^ 0x5bd1e995), 'json');
  let h = new BinanceHarness(venue, vt);
  await h.start();
  const totals = { parserCalls: 0 };
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
      await h.frame(f.clean);
      totals.parserCalls += 2;
    },
    async reset() {
      await h.stop().catch(() => {});
      h = new BinanceHarness(venue, vt);
      await h.start();
    },
    async probe(f) {
      const p = await fresh();
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await p.frame(f.data).catch(() => {});
        best = Math.min(best, performance.now() - t0);
      }
      await p.stop().catch(() => {});
      return best;
    },
    counts: () => ({ ...totals, ...h.md.stats, ...h.counts, mutations: Object.fromEntries(mut.ops) }),
  };
}

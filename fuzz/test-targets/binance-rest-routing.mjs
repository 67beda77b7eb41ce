/**
 * A self-test target for the Binance harness: two harnesses on one virtual clock, as when the
 * re-timing of a slow frame runs a spare harness beside the main one. Each adapter's REST
 * requests must reach its own harness's venue; a request served by the other harness would make
 * the reference judge a snapshot body that its adapter never adopted.
 */
import { FuzzFailure } from '../failure.mjs';
import { Prng } from '../prng.mjs';
import { VirtualTime } from '../virtual-time.mjs';
import { BinanceHarness, VenueModel } from '../targets/binance-venue.mjs';

export async function create({ seed }) {
  const vt = new VirtualTime().install();
  const main = new BinanceHarness(new VenueModel(new Prng(seed)), vt);
  const spare = new BinanceHarness(new VenueModel(new Prng(seed + 1)), vt);
  await main.start();
  await spare.start();
  let i = 0;
  return {
    next: () => `routing-${i++}`,
    saved: (f) => f,
    async run() {
      // the spare's adapter misses a diff, needs a snapshot and is served one it refuses: it
      // arms a retry
      spare.venue.depth();
      spare.restQueue.push('not a snapshot');
      await spare.frame(spare.venue.depth().text);
      const mainServed = main.requests;
      const spareServed = spare.requests;
      // the main harness advances the shared clock, which fires the spare adapter's retry
      await main.advance(10_000);
      if (main.requests !== mainServed) throw new FuzzFailure('wrong-synced-book', `the main harness served ${main.requests - mainServed} REST request(s) of the spare harness's adapter`);
      if (spare.requests === spareServed) throw new FuzzFailure('wrong-synced-book', "the spare adapter's snapshot retry never reached its own harness");
    },
    reset() {},
    probe: () => 0,
    counts: () => ({ mainServed: main.requests, spareServed: spare.requests }),
  };
}

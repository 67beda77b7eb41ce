/**
 * The shape of a fuzz target for a parser of private order frames that keeps no state between
 * frames (Kraken executions, the Binance user data stream): each fuzz frame is a mutated copy of
 * the venue model's next frame, then that frame itself. `check` throws a FuzzFailure for an
 * accepted message that must not have been; the clean frame must be accepted after the mutated
 * one (lost-data otherwise), and `readBack` holds it to what the model wrote.
 */
import { Prng } from '../prng.mjs';
import { Mutator } from '../mutate.mjs';
import { FuzzFailure } from '../failure.mjs';

/**
 * @param {{ seed: number, venue: { next(): { text: string, kind: string, expect?: unknown } }, newParser: () => any,
 *   parse: (parser: any, data: string | Uint8Array) => { kind: string, reason?: string, message?: string },
 *   check: (message: any, text: string) => void, readBack: (message: any, expect: any, text: string) => void }} o
 */
export function parserTarget(o) {
  const mut = new Mutator(new Prng(o.seed ^ 0x5bd1e995), 'json');
  let parser = o.newParser();
  const totals = { parserCalls: 0, accepted: 0 };
  const run = (f) => {
    const m = o.parse(parser, f.data);
    if (typeof f.data === 'string') o.check(m, f.data);
    if (m.kind !== 'rejected') totals.accepted++;
    const c = o.parse(parser, f.clean);
    o.check(c, f.clean);
    if (c.kind === 'rejected') throw new FuzzFailure('lost-data', `the clean frame was refused after a mutated one (${c.reason}: ${c.message}): ${f.clean.slice(0, 200)}`);
    // a clean frame reads back exactly what the venue model wrote (no float anywhere on the way)
    if (f.expect) o.readBack(c, f.expect, f.clean);
    totals.parserCalls += 2;
  };
  return {
    next() {
      const clean = o.venue.next();
      return { data: mut.mutate(clean.text, clean.kind), clean: clean.text, expect: clean.expect };
    },
    saved: (f) => f.data,
    run,
    reset() {
      parser = o.newParser();
    },
    probe(f) {
      let best = Infinity;
      const p = o.newParser();
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        if (typeof f.data === 'string') o.parse(p, f.data);
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    },
    counts: () => ({ ...totals, frames: parser.frames, rejected: parser.rejected, rejects: Object.fromEntries(parser.rejects), mutations: Object.fromEntries(mut.ops) }),
  };
}

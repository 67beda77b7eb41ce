/**
 * A fuzz target with planted bugs, for the harness's own tests: frame 5 of every 10 never
 * returns, frame 7 throws, frame 8 reports a wrong book, frame 9 is slow; the rest are fine.
 */
import { FuzzFailure } from '../failure.mjs';

export async function create({ seed }) {
  let i = 0;
  let ran = 0;
  return {
    next: () => `frame-${seed % 1000}-${i++ % 10}`,
    saved: (f) => f,
    run(f) {
      ran++;
      if (f.endsWith('-5')) for (;;);
      if (f.endsWith('-7')) throw new TypeError(`planted crash in ${f}`);
      if (f.endsWith('-8')) throw new FuzzFailure('wrong-synced-book', `planted wrong book in ${f}`);
      if (f.endsWith('-9')) {
        const end = performance.now() + 5;
        while (performance.now() < end);
      }
    },
    reset() {},
    probe(f) {
      const t0 = performance.now();
      try {
        this.run(f);
      } catch {}
      return performance.now() - t0;
    },
    counts: () => ({ ran }),
  };
}

/**
 * The worker side of the e2e run with a worker intake (e2e-worker-intake.ts): loaded by the
 * intake worker by module path; nothing runs on import.
 */
import { performance } from 'node:perf_hooks';
import type { MarketDataClient } from '../../contracts/exchange.js';
import type { E2EWorkerArgs } from './e2e-worker-intake.js';
import { loadE2EVenues } from './e2e-venues.js';

/**
 * Worker thread (an IntakeWorkerFactory): the venue's frame harness emitting into the ring;
 * after start, feeds the warm-up frames at once, waits for go, then each frame at its time.
 */
export function createE2EWorkerIntake(args: unknown): MarketDataClient {
  const a = args as E2EWorkerArgs;
  let timer: NodeJS.Timeout | undefined;
  return {
    exchange: 'e2e',
    loadInstruments: async () => [],
    async start(_symbols, sink) {
      const intakes = await loadE2EVenues(a.baseDir);
      const { feed } = intakes[a.venue]!.open(sink);
      // Marks where what the harness emitted on opening (snapshot, the delta that confirms it,
      // a trade) ends and the run's frames begin: the engine thread takes all of it before the run.
      sink.onEndOfStream?.('opened');
      timer = setTimeout(() => play(a, feed), 0);
    },
    async stop() {
      clearTimeout(timer);
    },
  };
}

function play(a: E2EWorkerArgs, feed: (text: string) => void): void {
  const f64 = new Float64Array(a.sched, 0, 2);
  const flag = new Int32Array(a.sched, 16, 1);
  const offset = performance.timeOrigin - a.mainTimeOrigin;
  let j = 0;
  for (; j < a.frames.length && j * a.venues + a.venue < a.warm; j++) feed(a.frames[j]!);
  while (Atomics.load(flag, 0) !== 1) Atomics.wait(flag, 0, 0, 1000);
  const t0 = f64[0]!;
  const period = f64[1]!;
  for (; j < a.frames.length; j++) {
    if (period > 0) {
      const due = t0 + (j * a.venues + a.venue - a.warm) * period;
      while (performance.now() + offset < due) {
        /* spin: a socket would hand the frame over at its time */
      }
    }
    feed(a.frames[j]!);
  }
}

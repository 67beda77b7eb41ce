/**
 * The e2e run with one venue's intake on a worker thread (`E2E_INTAKE=worker`): the venue's own
 * I/O-free feed (its frame harness, as inline) runs on an intake worker and writes its events as
 * feed records into the SPSC ring; the engine thread takes them with WorkerIntake.drainEvents,
 * the same reader `[performance] intake = "worker"` uses. Only the socket is the bench's: the
 * worker plays the same frames from memory, each at its scheduled time (the clocks of the two
 * threads are put on one time base with performance.timeOrigin), so a frame's tick-to-order
 * includes parsing on the worker, the ring hand-off and the engine thread's dispatch.
 *
 * The engine thread still takes events in the inline run's order (a venue's slot waits for its
 * next event from the ring), so both runs make the same decisions on the same books.
 */
import { performance } from 'node:perf_hooks';
import { ManualClock } from '../../contracts/clock.js';
import type { IntakeWorkerSpec, MarketDataClient, MarketEventSink } from '../../contracts/exchange.js';
import type { Engine } from '../../engine/engine.js';
import { compiledModuleUrl, WorkerIntake } from '../../intake/worker-intake.js';
import { silentLogger } from '../../observability/logger.js';
import type { Instrument } from '../../domain/instrument.js';

/** The worker's part of a run. */
export interface E2EWorkerPlan {
  /** Index of the venue in the intakes (its frames are every nv-th event from this offset). */
  venue: number;
  venues: number;
  /** This venue's frames, in order, as many as the run uses. */
  frames: string[];
  /** Events (all venues) of the unpaced, untimed warm-up. */
  warm: number;
  /** Where the adapter packages are installed (loadE2EVenues). */
  baseDir: string;
}

/** Shared schedule: float64 [0] t0 (engine thread's performance.now() ms), [1] period ms (0: unpaced); int32 at byte 16: go. */
const SCHED_BYTES = 24;

export interface E2EWorkerArgs extends E2EWorkerPlan {
  sched: SharedArrayBuffer;
  mainTimeOrigin: number;
}

/** Engine thread: the intake worker for one venue, SYNCED, and "one event off the ring" per slot. */
export async function openWorkerIntake(intake: { exchange: string; instrument: Instrument }, plan: E2EWorkerPlan, engine: Engine): Promise<{ feed: (text: string) => void; rejected: () => number; go: (t0: number, periodMs: number) => void; stop: () => Promise<void> }> {
  const sched = new SharedArrayBuffer(SCHED_BYTES);
  const args: E2EWorkerArgs = { ...plan, sched, mainTimeOrigin: performance.timeOrigin };
  const spec: IntakeWorkerSpec = { module: compiledModuleUrl('./e2e-worker-factory.js', import.meta.url), factory: 'createE2EWorkerIntake', args };
  const stub: MarketDataClient = {
    exchange: intake.exchange,
    loadInstruments: async () => [intake.instrument],
    start: async () => {},
    stop: async () => {},
    intakeWorker: () => spec,
  };
  let rejected = 0;
  let opened = false;
  const sink: MarketEventSink = {
    onEndOfStream: () => {
      opened = true;
    },
    onMarketEvent: (ev) => engine.onMarketEvent(ev),
    onFeedStatus: (st) => engine.onFeedStatus(st),
    onFeedError: (c, m) => engine.onFeedError(c, m),
    onFeedReject: (r) => {
      rejected++;
      engine.onFeedReject(r);
    },
  };
  const w = new WorkerIntake(stub, { exchange: intake.exchange, logger: silentLogger(), clock: new ManualClock(0), pump: false, checkEveryMs: 0, ringRecords: 65536 });
  await w.start([intake.instrument.symbol], sink);
  // what the harness emits on opening (its snapshot first) comes through the ring like every
  // other event, as inline open() hands it to the engine; the frames behind it belong to the run
  while (!opened) {
    if (w.drainEvents(1) === 0 && !opened) await new Promise((r) => setTimeout(r, 1));
    if (w.state !== 'running') throw new Error(`e2e: the ${intake.exchange} intake worker is ${w.state}`);
  }
  const f64 = new Float64Array(sched, 0, 2);
  const flag = new Int32Array(sched, 16, 1);
  return {
    feed: () => {
      // Spin briefly (a frame due within microseconds), then sleep on the ring: a 2-core host
      // has no core to spare for an engine thread spinning while the worker parses.
      while (w.drainEvents(1) === 0) {
        w.waitForRecords(100, 2000);
        if (w.state !== 'running') throw new Error(`e2e: the ${intake.exchange} intake worker is ${w.state}`);
      }
    },
    rejected: () => rejected,
    go: (t0, periodMs) => {
      f64[0] = t0;
      f64[1] = periodMs;
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    },
    stop: () => w.stop(),
  };
}

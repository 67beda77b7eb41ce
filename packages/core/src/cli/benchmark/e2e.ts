/**
 * End-to-end tick-to-order at a paced rate: frame i of the schedule is due at t0 + i / rate; the
 * loop waits (spinning) until it is due, hands it to its venue's feed, and an order the event
 * caused is timed from the frame's due time, so the time a frame waited behind earlier ones
 * (queueing) counts. 'max' paces nothing: each frame is due when the previous one is done.
 * Frames rotate over the venues (frame i goes to venue i mod n).
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { buildPipeline, type E2EPipelineOptions, type E2EVenueIntake } from './e2e-pipeline.js';
import { LatencySamples, type LatencySummary } from './samples.js';

export type E2ERate = number | 'max';

export interface E2ERunResult {
  rate: E2ERate;
  /** Events per second the loop actually ran at (events / elapsed). */
  achievedRate: number;
  events: number;
  /** Parents sent (events that caused orders) and child orders handed to the venues. */
  parents: number;
  orders: number;
  signals: number;
  /** Frame due -> first child order handed to its execution client, ns. */
  tickToOrder: LatencySummary;
  /** Frame due -> last child order of the same event, ns. */
  tickToLastOrder: LatencySummary;
  /** How far the loop was behind schedule at the end, ms (0 when it kept up). */
  lagAtEndMs: number;
  /**
   * The process's CPU time (user + system) per event over the run, ns, spin-waiting excluded
   * only for 'max' (paced runs spin between frames): on a shared machine the figure that does
   * not depend on how often the scheduler ran someone else.
   */
  cpuNsPerEvent: number;
  gcCount: number;
}

/** Frames for each venue, generated once and reused by every run (each run opens fresh feeds). */
export interface E2EFrames {
  perVenue: string[][];
}

/**
 * Frames as a socket hands them over: decoded from UTF-8 bytes into flat strings. The builders
 * concatenate, and V8 keeps a concatenation as a rope that it flattens on the first character
 * read, inside the timed loop: 2.4 us per 585-character Binance frame on the bench machine,
 * ~15% of an event's CPU, which no real feed pays (and the worker intake never paid: its frames
 * arrive flat through structured clone).
 */
export function generateFrames(intakes: readonly E2EVenueIntake[], framesPerVenue: number, seed = 7): E2EFrames {
  return { perVenue: intakes.map((v) => v.frames(framesPerVenue, seed).map((f) => Buffer.from(f, 'utf8').toString('utf8'))) };
}

export interface E2ERunOptions extends E2EPipelineOptions {
  /** Events to time (at most venues x frames per venue); the result's `events` is this count. */
  events: number;
  /** Events run first, unpaced and untimed, on the same pipeline (JIT and book depth). */
  warmup?: number;
  onProgress?: (done: number) => void;
  /**
   * Run venues' intakes on worker threads, one each: `venue` (default the first, Binance) or
   * `venues` (several, e.g. all four, as `[performance] intake = "worker"` deploys them);
   * `baseDir` finds the adapter packages there.
   */
  workerIntake?: { baseDir: string; venue?: number; venues?: readonly number[] };
}

export async function runE2E(intakes: readonly E2EVenueIntake[], frames: E2EFrames, rate: E2ERate, o: E2ERunOptions): Promise<E2ERunResult> {
  const nv = intakes.length;
  const available = nv * Math.min(...frames.perVenue.map((f) => f.length));
  // Exactly `events` are timed whenever the frames hold them (a run labelled "30,000 events"
  // times 30,000); the warm-up takes what is left, up to `warmup`.
  const n = Math.min(o.events, available);
  const warm = Math.min(o.warmup ?? 0, available - n);
  const total = warm + n;
  const wi = o.workerIntake;
  const onWorkers = wi ? (wi.venues ?? [wi.venue ?? 0]) : [];
  const workers = onWorkers.map((v) => ({ venue: v, venues: nv, warm, baseDir: wi!.baseDir, frames: frames.perVenue[v]!.slice(0, Math.ceil((total - v) / nv)) }));
  const p = await buildPipeline(intakes, { ...o, workers });
  const feeds = p.feeds;
  const fr = frames.perVenue;
  const times = p.times;
  const startMs = p.clock.now();
  for (let i = 0; i < warm; i++) {
    feeds[i % nv]!(fr[i % nv]![Math.floor(i / nv)]!);
    p.settle();
  }
  const first = new LatencySamples(n);
  const last = new LatencySamples(n);
  const signals0 = p.strategy.signals;
  const orders0 = times.orders;
  let parents = 0;
  const periodMs = rate === 'max' ? 0 : 1000 / rate;
  const gcBefore = gcCount();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now() + 1;
  p.go(t0, periodMs);
  let due = t0;
  for (let k = 0; k < n; k++) {
    const i = warm + k;
    if (rate === 'max') due = performance.now();
    else {
      due = t0 + k * periodMs;
      while (performance.now() < due) {
        /* spin: a socket would hand the frame over at its time */
      }
    }
    // virtual time for the engine (staleness, rate windows) follows the schedule
    p.clock.set(startMs + (due - t0));
    times.reset();
    feeds[i % nv]!(fr[i % nv]![Math.floor(i / nv)]!);
    if (times.first >= 0) {
      first.record((times.first - due) * 1e6);
      last.record((times.last - due) * 1e6);
      parents++;
    }
    p.settle();
    if (o.onProgress && (k & 4095) === 0) o.onProgress(k);
  }
  const end = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const elapsed = end - t0;
  // GC entries arrive asynchronously: let them in before reading the count
  await new Promise((r) => setTimeout(r, 20));
  const gcs = gcCount() - gcBefore;
  const rejected = p.rejected();
  const synced = intakes.every((v) => p.engine.books.get(v.exchange, v.instrument.symbol)?.state === 'synced');
  await p.stop();
  if (rejected > 0 || !synced) throw new Error(`e2e: ${rejected} frames rejected, books ${synced ? 'synced' : 'NOT synced'}: the bench measured the wrong path`);
  if (parents === 0) throw new Error('e2e: no event caused an order');
  o.onProgress?.(n);
  return {
    rate,
    achievedRate: (n * 1000) / elapsed,
    events: n,
    parents,
    orders: times.orders - orders0,
    signals: p.strategy.signals - signals0,
    tickToOrder: first.summary(),
    tickToLastOrder: last.summary(),
    lagAtEndMs: rate === 'max' ? 0 : Math.max(0, end - (t0 + (n - 1) * periodMs)),
    cpuNsPerEvent: ((cpu.user + cpu.system) * 1000) / n,
    gcCount: gcs,
  };
}

/** GCs so far, from the performance timeline when it is being observed; 0 otherwise. */
function gcCount(): number {
  return gcCounter.count;
}
const gcCounter = { count: 0 };
let gcObserver: PerformanceObserver | undefined;
/** Counts GCs for the rest of the process (runE2E reports the GCs during each run). */
export function observeGc(): void {
  if (gcObserver) return;
  gcObserver = new PerformanceObserver((list) => {
    gcCounter.count += list.getEntries().length;
  });
  gcObserver.observe({ entryTypes: ['gc'] });
}
export function stopObservingGc(): void {
  gcObserver?.disconnect();
  gcObserver = undefined;
}

import { performance } from 'node:perf_hooks';
import type { Logger } from './logger.js';
import type { MetricsRegistry } from './metrics.js';

export interface BackpressureOptions {
  /** The latency budget, `[performance] max_latency_ms`: an event-loop lag above it starts an episode. */
  budgetMs: number;
  metrics: MetricsRegistry;
  logger: Logger;
  /** Monotonic milliseconds (performance.now); tests inject a manual clock and call sample(). */
  now?: () => number;
  /**
   * Fraction 0..1 of the time since the previous call that the engine thread was running rather
   * than waiting for I/O (default: performance.eventLoopUtilization). Tests inject it.
   */
  busy?: () => number;
  /**
   * A late sample counts only when the thread was at least this busy over it (default 0.5): a
   * timer late because our own work kept the thread (intake outpacing the engine) counts; one
   * late because the host did not schedule an idle process (a loaded machine, a noisy
   * neighbour) does not, as nothing is queued behind it.
   */
  minBusy?: number;
  /** How often the lag timer is due (default 10 ms). */
  sampleEveryMs?: number;
  /**
   * Consecutive samples over the budget that start an episode (default 2). One late sample is a
   * single stall (a GC pause, one long callback) that is already over when it is measured;
   * two in a row mean work keeps arriving faster than the thread gets through it.
   */
  enterAfterSamples?: number;
  /** An episode ends once every lag sample stayed within the budget, and every ring at or below its low-water mark, this long (default 500 ms). */
  recoverAfterMs?: number;
  /** A ring fuller than this starts an episode (default 0.5). */
  ringHighWater?: number;
  /** Rings must be at or below this to recover (default 0.25). */
  ringLowWater?: number;
}

interface WatchedRing {
  exchange: string;
  fill: () => number;
  gauge: { set(v: number): void };
}

/** What the engine asks before it accepts new risk (engine.ts submitOne). */
export interface BackpressureGate {
  readonly active: boolean;
  /** Counts an order refused with BACKPRESSURE (the episode's end line says how many). */
  noteRefused(): void;
}

/**
 * Detects intake outpacing the engine thread and says so. A timer due every `sampleEveryMs`
 * measures how late it fires: that lateness is how long a market event arriving now waits
 * behind work already queued, so a lag above the latency budget on consecutive samples, while
 * the thread was busy (event-loop utilization at least `minBusy` since the previous sample),
 * means decisions are being made on data older than the budget allows. A timer that is late
 * while the thread was mostly idle was held up by the host (a loaded machine), not by queued
 * work, and does not count. Ring fill levels (a venue intake worker's feed ring, where one
 * runs) are read on the same tick. While an episode lasts `active` is true and the
 * engine refuses new risk with BACKPRESSURE; the episode is logged once when it starts (warn)
 * and once when it ends (info). Recovery needs every lag sample within the budget for
 * `recoverAfterMs` (500 ms: fifty samples), so a loop hovering at the bound does not flap.
 * (Half the budget, and lag alone without utilization, were tried first: on a loaded host a
 * 10 ms timer is routinely 5-30 ms late, and episodes then never ended although the engine
 * had almost nothing to do: a running app refused every order on the shared CI machine.)
 *
 * The detector itself is deterministic: sample() takes the time from the injected clock, and
 * tests drive it without starting the timer.
 */
export class BackpressureMonitor implements BackpressureGate {
  private readonly now: () => number;
  private readonly every: number;
  private readonly busy: () => number;
  private readonly minBusy: number;
  private readonly enterAfter: number;
  private overInARow = 0;
  private readonly recoverAfterMs: number;
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly rings: WatchedRing[] = [];
  private timer: NodeJS.Timeout | undefined;
  private expectedAt = Number.NaN;
  private calmSince: number | undefined;
  private episode: { since: number; cause: string; peakLagMs: number; refused: number } | undefined;
  /** Largest lag in the current and the previous one-second window (the gauge is their max). */
  private windowStart = Number.NaN;
  private windowMax = 0;
  private prevWindowMax = 0;
  /** Episodes started since construction. */
  episodes = 0;
  /** The lag measured by the last sample, ms. */
  lastLagMs = 0;

  constructor(private readonly opts: BackpressureOptions) {
    if (!(opts.budgetMs > 0)) throw new RangeError(`back-pressure budget must be > 0 ms, got ${opts.budgetMs}`);
    this.now = opts.now ?? (() => performance.now());
    this.every = opts.sampleEveryMs ?? 10;
    this.busy = opts.busy ?? eventLoopBusy();
    this.minBusy = opts.minBusy ?? 0.5;
    this.enterAfter = Math.max(1, opts.enterAfterSamples ?? 2);
    this.recoverAfterMs = opts.recoverAfterMs ?? 500;
    this.highWater = opts.ringHighWater ?? 0.5;
    this.lowWater = opts.ringLowWater ?? 0.25;
    opts.metrics.backpressure.set(0);
    opts.metrics.eventLoopLag.set(0);
  }

  get active(): boolean {
    return this.episode !== undefined;
  }

  get budgetMs(): number {
    return this.opts.budgetMs;
  }

  noteRefused(): void {
    if (this.episode) this.episode.refused++;
  }

  /** Reads `fill()` (0..1) on every sample as `cwts_ring_fill_ratio{exchange}`; returns the unwatch. */
  watchRing(exchange: string, fill: () => number): () => void {
    const ring: WatchedRing = { exchange, fill, gauge: this.opts.metrics.ringFillRatio.labels(exchange) };
    this.rings.push(ring);
    return () => {
      const i = this.rings.indexOf(ring);
      if (i >= 0) this.rings.splice(i, 1);
      this.opts.metrics.ringFillRatio.remove(exchange);
    };
  }

  /** Starts the lag timer (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.timer) return;
    this.expectedAt = this.now() + this.every;
    const tick = (): void => {
      this.sample();
      this.timer = setTimeout(tick, this.every);
      this.timer.unref();
    };
    this.timer = setTimeout(tick, this.every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * One measurement: the lag is how much later than `expectedAt` this runs; the next sample is
   * expected one interval from now. The first sample after construction measures no lag.
   */
  sample(): void {
    const t = this.now();
    const lag = Number.isNaN(this.expectedAt) ? 0 : Math.max(0, t - this.expectedAt);
    this.expectedAt = t + this.every;
    this.lastLagMs = lag;
    this.recordWindow(t, lag);
    let fullest: WatchedRing | undefined;
    let fullestRatio = 0;
    for (const r of this.rings) {
      const ratio = clamp01(r.fill());
      r.gauge.set(ratio);
      if (ratio >= fullestRatio) {
        fullestRatio = ratio;
        fullest = r;
      }
    }
    // Late because our own work held the thread; a late timer on an idle thread is the host's doing.
    const busy = this.busy();
    const over = lag > this.opts.budgetMs && busy >= this.minBusy;
    this.overInARow = over ? this.overInARow + 1 : 0;
    const overLag = this.overInARow >= this.enterAfter;
    const overRing = fullest !== undefined && fullestRatio > this.highWater;
    if (!this.episode) {
      if (overLag || overRing) this.begin(t, overLag ? `event-loop lag ${lag.toFixed(1)} ms over the ${this.opts.budgetMs} ms budget ([performance] max_latency_ms)` : `${fullest!.exchange} feed ring ${(fullestRatio * 100).toFixed(0)} % full (high-water ${(this.highWater * 100).toFixed(0)} %)`, lag);
      return;
    }
    if (lag > this.episode.peakLagMs) this.episode.peakLagMs = lag;
    const calm = !over && fullestRatio <= this.lowWater;
    if (!calm) {
      this.calmSince = undefined;
      return;
    }
    this.calmSince ??= t;
    if (t - this.calmSince >= this.recoverAfterMs) this.end(t);
  }

  private begin(t: number, cause: string, lag: number): void {
    this.episode = { since: t, cause, peakLagMs: lag, refused: 0 };
    this.calmSince = undefined;
    this.episodes++;
    this.opts.metrics.backpressure.set(1);
    this.opts.logger.warn({ backpressure: true, cause, lagMs: round1(lag) }, `back-pressure: ${cause}; intake outpaces the engine, new risk is refused (BACKPRESSURE) until it recovers`);
  }

  private end(t: number): void {
    const e = this.episode!;
    this.episode = undefined;
    this.calmSince = undefined;
    this.opts.metrics.backpressure.set(0);
    this.opts.logger.info(
      { backpressure: false, durationMs: round1(t - e.since), peakLagMs: round1(e.peakLagMs), refused: e.refused },
      `back-pressure over after ${round1(t - e.since)} ms (peak lag ${round1(e.peakLagMs)} ms, ${e.refused} order(s) refused)`,
    );
  }

  private recordWindow(t: number, lag: number): void {
    if (Number.isNaN(this.windowStart) || t - this.windowStart >= 1000) {
      this.prevWindowMax = Number.isNaN(this.windowStart) ? 0 : this.windowMax;
      this.windowStart = t;
      this.windowMax = 0;
    }
    if (lag > this.windowMax) this.windowMax = lag;
    this.opts.metrics.eventLoopLag.set(Math.max(this.windowMax, this.prevWindowMax) / 1000);
  }
}

const clamp01 = (x: number): number => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);
const round1 = (x: number): number => Math.round(x * 10) / 10;

/** Utilization of the event loop since the previous call (perf_hooks eventLoopUtilization deltas). */
function eventLoopBusy(): () => number {
  let prev = performance.eventLoopUtilization();
  return () => {
    const cur = performance.eventLoopUtilization();
    const d = performance.eventLoopUtilization(cur, prev);
    prev = cur;
    return d.utilization;
  };
}

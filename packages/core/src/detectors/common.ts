/**
 * Building blocks shared by the detectors: an allocation-free per-symbol state table, a
 * robust streaming location/scale estimator, and the rule for which time drives their clocks.
 */
import { InstrumentMap } from '../domain/instrument-map.js';

/**
 * Per (exchange, symbol) state without building a key string per event: the engine's
 * `InstrumentMap`, under the name detectors have used for it.
 */
export class SymbolTable<S> extends InstrumentMap<S> {}

/** sigma ~= 1.2533 x mean absolute deviation for a normal distribution. */
export const MEAN_ABS_DEV_TO_SIGMA = Math.sqrt(Math.PI / 2);

/**
 * Robust streaming location and scale of a series (used on log notionals).
 *
 * Warm-up: the first `warmup` values are kept in a preallocated buffer; when it is full the
 * median and the mean absolute deviation from the median are computed exactly from it.
 * Afterwards, O(1) per value: the median moves by a sign step `eta * scale * sign(x - median)`
 * (a stochastic-approximation quantile tracker, insensitive to how far an outlier is) and the
 * mean absolute deviation is an exponentially weighted mean with rate `eta` of |x - median|,
 * winsorized at `clipSigma` sigmas so outliers cannot inflate it. sigma = 1.2533 x that
 * deviation; z = (x - median) / max(sigma, minSigma).
 */
export class RobustStats {
  median = 0;
  meanAbsDev = 0;
  seen = 0;
  private readonly buffer: Float64Array;

  constructor(
    readonly warmup: number,
    readonly eta: number,
    readonly minSigma: number,
    readonly clipSigma = 4,
  ) {
    this.buffer = new Float64Array(Math.max(1, warmup));
  }

  get warm(): boolean {
    return this.seen >= this.warmup;
  }

  get sigma(): number {
    const s = MEAN_ABS_DEV_TO_SIGMA * this.meanAbsDev;
    return s > this.minSigma ? s : this.minSigma;
  }

  /** z-score of x against the current estimate (0 before warm-up). */
  z(x: number): number {
    if (this.seen < this.warmup) return 0;
    return (x - this.median) / this.sigma;
  }

  update(x: number): void {
    if (this.seen < this.warmup) {
      this.buffer[this.seen++] = x;
      if (this.seen === this.warmup) this.initFromBuffer();
      return;
    }
    this.seen++;
    const sigma = this.sigma;
    const d = x - this.median;
    this.median += this.eta * sigma * (d > 0 ? 1 : d < 0 ? -1 : 0);
    let ad = Math.abs(x - this.median);
    const cap = this.clipSigma * sigma;
    if (ad > cap) ad = cap;
    this.meanAbsDev += this.eta * (ad - this.meanAbsDev);
  }

  private initFromBuffer(): void {
    const b = this.buffer.subarray(0, this.warmup);
    b.sort();
    const n = b.length;
    this.median = n % 2 === 1 ? b[(n - 1) >> 1] : 0.5 * (b[n / 2 - 1] + b[n / 2]);
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.abs(b[i] - this.median);
    this.meanAbsDev = s / n;
  }
}

/**
 * Most a venue time may lie ahead of the event's local receive time and still drive a
 * detector's clock, ms. A venue time trails the receive time by the network path and leads it
 * only by clock skew between the venue and this host (milliseconds under NTP; a few seconds on a
 * badly kept host still passes). Further ahead is a glitch (microseconds for milliseconds, a bad
 * print): trusted, it would move a clock that never goes back into the future and freeze it.
 */
export const MAX_VENUE_LEAD_MS = 5_000;

/**
 * The time an event gives a detector's bucket or window clock: the venue time `ts`, unless it is
 * not positive (venues that send none, e.g. Binance's REST depth snapshot, stamp 0) or lies more
 * than MAX_VENUE_LEAD_MS ahead of the receive time `recvTs`: then `recvTs`. Replays keep the
 * recorded `recvTs`, so they take the same times as the live run did. Without a positive
 * `recvTs` (an event built without one) `ts` cannot be checked and is taken as it is. 0 when
 * neither time is usable: such an event must not start a clock.
 */
export function clockTime(ev: { readonly ts: number; readonly recvTs: number }): number {
  const ts = ev.ts;
  const recv = ev.recvTs;
  if (recv > 0) return ts > 0 && ts - recv <= MAX_VENUE_LEAD_MS ? ts : recv;
  return ts > 0 ? ts : 0;
}

/**
 * A flow baseline (cascade volume and forced orders per bucket, whale-burst notional per window)
 * learns at most this multiple of its usual non-empty sample from one sample, as the cascade's
 * variance baseline learns at most 25x its mean square (5 sigma). Uncapped, one mis-scaled print
 * (a size off by 1e7, still valid integer lots) lifted a baseline by orders of magnitude, and
 * at 1/1200 per bucket it took hours to decay back: real cascades and bursts went unseen.
 */
export const BASELINE_WINSOR = 25;

/**
 * `x` as a flow baseline learns it: at most BASELINE_WINSOR x (mean / share), where `mean` is
 * the baseline per sample, empty samples included, and `share` the same-weighted share of
 * non-empty samples, so mean / share is the usual non-empty sample. Capped at a multiple of
 * the mean itself, a sparse series (fewer than one sample in 25 non-empty, as on a thin pair)
 * had nearly every non-empty sample capped and its baseline decayed towards 0. Uncapped while
 * the baseline knows nothing yet.
 */
export function winsorized(x: number, mean: number, share: number): number {
  if (!(mean > 0 && share > 0)) return x;
  const cap = (BASELINE_WINSOR * mean) / share;
  return x > cap ? cap : x;
}

/** Decay factor for `dt` over a time constant `tau` (same unit), exp(-dt / tau). */
export const decay = (dt: number, tau: number): number => Math.exp(-dt / tau);

/** Rounds for evidence (keeps signals short and stable across platforms' last-bit noise). */
export const round = (x: number, digits = 4): number => {
  if (!Number.isFinite(x)) return 0;
  const m = 10 ** digits;
  return Math.round(x * m) / m;
};

import { ComputeArgumentError, type RollingMoments64Args, type RollingMoments64Result } from '../../contracts/compute.js';
import { requireHostF64, requireInt, type F64Resolver } from '../validate.js';

const K = 'rollingMoments64';

/** Validated, resolved rollingMoments64 arguments; `outputs` = length - window + 1. */
export interface PreparedRollingMoments64 {
  series: Float64Array;
  length: number;
  window: number;
  outputs: number;
  meanOnly: boolean;
  out?: { mean: Float64Array; variance?: Float64Array };
}

function overlaps(a: Float64Array, b: Float64Array, n: number): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + n * 8 && b.byteOffset < a.byteOffset + n * 8;
}

export function prepareRollingMoments64(args: RollingMoments64Args, resolve: F64Resolver): PreparedRollingMoments64 {
  if (args === null || typeof args !== 'object') throw new ComputeArgumentError(K, 'arguments object is required');
  const length = requireInt(K, 'length', args.length, 1, 2 ** 32);
  const window = requireInt(K, 'window', args.window);
  if (window > length) throw new ComputeArgumentError(K, `window must be in [1, length = ${length}], got ${window}`);
  if (args.meanOnly !== undefined && typeof args.meanOnly !== 'boolean') throw new ComputeArgumentError(K, 'meanOnly must be a boolean');
  const meanOnly = args.meanOnly === true;
  const series = resolve(K, 'series', args.series, length, `length ${length}`);
  const n = length - window + 1;
  let out: PreparedRollingMoments64['out'];
  if (args.out !== undefined) {
    if (args.out === null || typeof args.out !== 'object') throw new ComputeArgumentError(K, 'out must be { mean, variance }');
    const what = `length - window + 1 = ${n}`;
    const mean = requireHostF64(K, 'out.mean', args.out.mean, n, what);
    let variance: Float64Array | undefined;
    if (!meanOnly) {
      variance = requireHostF64(K, 'out.variance', args.out.variance, n, what);
      if (overlaps(mean, variance, n)) throw new ComputeArgumentError(K, 'out.mean and out.variance overlap');
    }
    // The kernel reads inputs ahead of the outputs it writes: outputs must not alias the series.
    if (overlaps(mean, series, n) || (variance !== undefined && overlaps(variance, series, n))) {
      throw new ComputeArgumentError(K, 'out arrays must not overlap the series');
    }
    out = { mean, variance };
  }
  return { series, length, window, outputs: n, meanOnly, out };
}

export function runRollingMoments64(args: RollingMoments64Args, resolve: F64Resolver): RollingMoments64Result {
  const p = prepareRollingMoments64(args, resolve);
  const mean = p.out?.mean ?? new Float64Array(p.outputs);
  const variance = p.meanOnly ? undefined : (p.out?.variance ?? new Float64Array(p.outputs));
  rollingMoments64Kernel(p.series, p.length, p.window, mean, variance);
  return variance === undefined ? { mean } : { mean, variance };
}

/** steps * Qmax / W >= this * variance: the sliding sums may have lost too many digits; restart. */
const ILL_CONDITIONED = 256;
const EPS = 2 ** -52;

/**
 * Reference float64 rolling mean / population variance.
 *
 * Prices sit far from zero (30000.5 moving by 0.01), so sums of raw values cancel in
 * Q/W - m^2. The state is kept centred: the window is recomputed exactly in two passes and its
 * mean becomes the centre c every max(128, 2W) outputs (max(1024, 4W) for the mean only), after
 * every invalid or constant stretch, and whenever the variance is ill-conditioned; in between,
 * the centred sums S = sum(x - c) and Q = sum((x - c)^2) slide by the exact difference of the
 * value entering and the value leaving. Their rounding grows with the steps since the restart
 * and is relative to the largest Q since (Qmax), while the variance Q/W - m^2 can be far smaller
 * (two near-equal values, or the level far from the centre): a window whose
 * steps * Qmax / W >= 256 v restarts, so every window stays within 1e-12 of a per-window
 * two-pass calculation. The mean alone has a weakness of its own: S's rounding is relative to the
 * largest |S| since the restart, so after the level falls (30000 to 1, or through zero) the mean
 * can lose the 1e-12. Its bound is kept as it goes: every step adds at most eps(|d| + |S|) to S's
 * error, and a window restarts when that bound could reach half the tolerance, measured against
 * the window's mean |x| (a sliding sum of |x| with its own error bound), which never exceeds the
 * tolerance's |mean| + sd. Exact bookkeeping of
 * non-finite values and of value changes inside the window gives the contract's NaN and
 * constant-window semantics. The CPU SIMD backend runs the same scheme with the sums as
 * lane-parallel scans (native/rolling64_impl.h).
 */
export function rollingMoments64Kernel(x: Float64Array, length: number, w: number, outMean: Float64Array, outVar: Float64Array | undefined): void {
  const n = length - w + 1;
  const restartEvery = outVar ? Math.max(128, 2 * w) : Math.max(1024, 4 * w);
  const invw = 1 / w;
  let bad = 0; // non-finite values in the window
  let changes = 0; // j in (i, i + w) with x[j] !== x[j - 1]
  for (let j = 0; j < w - 1; j++) {
    if (!Number.isFinite(x[j])) bad++;
    if (j > 0 && x[j] !== x[j - 1]) changes++;
  }
  let valid = false;
  let since = 0;
  let centre = 0;
  let s = 0;
  let q = 0;
  let qmax = 0;
  // Mean only: sum of |x| over the window, and the accumulated rounding bounds (in units of eps)
  // of S and of that sum since the restart.
  let a = 0;
  let errS = 0;
  let errA = 0;
  for (let i = 0; i < n; i++) {
    const j = i + w - 1;
    const xin = x[j];
    if (!Number.isFinite(xin)) bad++;
    if (j > i && xin !== x[j - 1]) changes++;
    if (i > 0) {
      if (!Number.isFinite(x[i - 1])) bad--;
      if (w > 1 && x[i] !== x[i - 1]) changes--;
    }
    if (bad > 0) {
      outMean[i] = NaN;
      if (outVar) outVar[i] = NaN;
      valid = false;
      continue;
    }
    if (changes === 0) {
      outMean[i] = xin;
      if (outVar) outVar[i] = 0;
      valid = false;
      continue;
    }
    if (valid && since < restartEvery) {
      const xout = x[i - 1];
      const d = xin - xout;
      s += d;
      q += d * (xin - centre + (xout - centre));
      if (q > qmax) qmax = q;
      since++;
      const m = s * invw;
      if (!outVar) {
        const da = Math.abs(xin) - Math.abs(xout);
        a += da;
        errS += Math.abs(d) + Math.abs(s);
        errA += Math.abs(da) + a;
        // |error of S| <= 2 eps errS (2: the rounding of d and of the sum); the window's sum of
        // |x| >= a - 2 eps errA. Half the tolerance, 0.5e-12 * mean|x|, with eps = 2^-52.
        if (4 * EPS * errS < 1e-12 * (a - 2 * EPS * errA)) {
          outMean[i] = centre + m;
          continue;
        }
      } else {
        const v = q * invw - m * m;
        if (since * qmax * invw < ILL_CONDITIONED * v) {
          outMean[i] = centre + m;
          outVar[i] = v;
          continue;
        }
      }
    }
    // Restart: the window in two passes becomes the new centre.
    let sum = 0;
    for (let k = i; k <= j; k++) sum += x[k];
    centre = sum / w;
    // S and Q with TwoSum compensation (sc, qc): the slide carries this window's rounding to
    // every later window until the next restart, whose variance can be far smaller (a few
    // values 1 sd off leave, a run of equal ones stays), while the restart rule counts steps
    // only. Plain sums left up to w eps of Q there: 6.8x the 1e-12 at W=1500 on such data.
    s = 0;
    q = 0;
    let sc = 0;
    let qc = 0;
    for (let k = i; k <= j; k++) {
      const y = x[k] - centre;
      let t = s + y;
      let bb = t - s;
      sc += s - (t - bb) + (y - bb);
      s = t;
      const yy = y * y;
      t = q + yy;
      bb = t - q;
      qc += q - (t - bb) + (yy - bb);
      q = t;
    }
    s += sc;
    q += qc;
    qmax = q;
    if (!outVar) {
      a = 0;
      for (let k = i; k <= j; k++) a += Math.abs(x[k]);
      // The compensated S is exact to eps * sum|x - c| (+ 2 eps |S|, S ~ 0); counted as a start
      // of S's bound.
      errS = a + w * Math.abs(centre);
      errA = a;
    }
    valid = true;
    since = 0;
    const m = s * invw;
    const v = q * invw - m * m;
    outMean[i] = centre + m;
    if (outVar) outVar[i] = v > 0 ? v : 0;
  }
}

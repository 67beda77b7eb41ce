import { ComputeArgumentError, type RollingMoments64Args, type RollingMoments64Result } from '../../contracts/compute.js';
import { requireHostF64, requireInt, viewsOverlap, type F64Resolver } from '../validate.js';

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
      if (viewsOverlap(mean, n, variance, n)) throw new ComputeArgumentError(K, 'out.mean and out.variance overlap');
    }
    // The kernel reads inputs ahead of the outputs it writes: outputs must not alias the series
    // (measured over its `length` elements, the outputs over their n).
    if (viewsOverlap(mean, n, series, length) || (variance !== undefined && viewsOverlap(variance, n, series, length))) {
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
 * lane-parallel scans (native/rolling64_impl.h). The mean alone (2 <= W < 2^30) takes
 * rollingMean64 below, and mean + variance from W = 128 rollingVariance64, which certify per
 * block instead of per output; this per-output path is their careful path (NaN/Inf, means near
 * 0, failed blocks) and the mean + variance kernel of shorter windows.
 */
export function rollingMoments64Kernel(x: Float64Array, length: number, w: number, outMean: Float64Array, outVar: Float64Array | undefined): void {
  const n = length - w + 1;
  if (outVar === undefined && w >= 2 && w < 2 ** 30) rollingMean64(x, n, w, outMean);
  else if (outVar !== undefined && w >= VAR_BLOCKS_MIN_W && w < 2 ** 30) rollingVariance64(x, n, w, outMean, outVar);
  else if (outVar !== undefined && w >= 2 && w <= DIRECT_MAX_W) rollingDirect64(x, n, w, outMean, outVar);
  else rollingMoments64Range(x, w, 0, n, outMean, outVar);
}

/** exactWindow64's results: centre, S, Q, max |x - centre|, sum |x - centre|. Reused, not allocated per restart. */
const anchor = new Float64Array(5);

/**
 * The window [i, i + w) in two passes, into `out`: centre = its mean, S = sum(x - centre) and
 * Q = sum((x - centre)^2) with TwoSum compensation, and the largest |x - centre|. Every path
 * slides from such a window and carries its rounding to every later window until the next one,
 * whose variance can be far smaller (a few values 1 sd off leave, a run of equal ones stays),
 * while the restart rule counts steps only: plain sums left up to w eps of Q there, 6.8x the
 * 1e-12 at W=1500 on such data. Compensated, S is within eps sum|x - centre| + 2 eps |S| and Q
 * within a few eps Q, whatever w.
 */
function exactWindow64(x: Float64Array, i: number, w: number, out: Float64Array): void {
  let sum = 0;
  for (let k = i; k < i + w; k++) sum += x[k]!;
  const centre = sum / w;
  let s = 0;
  let q = 0;
  let sc = 0;
  let qc = 0;
  let dev = 0;
  let absSum = 0;
  for (let k = i; k < i + w; k++) {
    const y = x[k]! - centre;
    let t = s + y;
    let bb = t - s;
    sc += s - (t - bb) + (y - bb);
    s = t;
    const yy = y * y;
    t = q + yy;
    bb = t - q;
    qc += q - (t - bb) + (yy - bb);
    q = t;
    const ay = Math.abs(y);
    if (ay > dev) dev = ay;
    absSum += ay;
  }
  out[0] = centre;
  out[1] = s + sc;
  out[2] = q + qc;
  out[3] = dev;
  out[4] = absSum;
}

/** Outputs [c, e) of the kernel above, per output (the careful path of rollingMean64). */
function rollingMoments64Range(x: Float64Array, w: number, c: number, e: number, outMean: Float64Array, outVar: Float64Array | undefined): void {
  const restartEvery = outVar ? Math.max(128, 2 * w) : Math.max(1024, 4 * w);
  const invw = 1 / w;
  const multi = w > 1 ? 1 : 0;
  let bad = 0; // non-finite values in the window
  let changes = 0; // j in (i, i + w) with x[j] !== x[j - 1]
  for (let j = c; j < c + w - 1; j++) {
    if (!Number.isFinite(x[j])) bad++;
    if (j > c && x[j] !== x[j - 1]) changes++;
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
  for (let i = c; i < e; i++) {
    const j = i + w - 1;
    const xin = x[j];
    if (!Number.isFinite(xin)) bad++;
    // Branch-free (multi = 0 when w = 1: one value, no changes inside): on tick prices the value
    // repeats its predecessor 4 times in 10, and these two branches mispredicted.
    changes += multi & +(xin !== x[j - 1]);
    if (i > c) {
      if (!Number.isFinite(x[i - 1])) bad--;
      changes -= multi & +(x[i] !== x[i - 1]);
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
    exactWindow64(x, i, w, anchor);
    centre = anchor[0]!;
    s = anchor[1]!;
    q = anchor[2]!;
    if (!Number.isFinite(centre) || !Number.isFinite(s) || (outVar !== undefined && !Number.isFinite(q))) {
      // Finite values (bad = 0) whose sums overflow: the window on its own, scaled. The next
      // output restarts too (nothing to slide from).
      scaledWindow64(x, i, w, outMean, outVar);
      valid = false;
      continue;
    }
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
    if (outVar) outVar[i] = nonNegative(v);
  }
}

/**
 * Never negative: a finite v < 0 (rounding, where the variance is ~0) becomes 0, and -0 too; NaN
 * stays NaN. `v > 0 ? v : 0` also mapped NaN to 0, and a variance of 0 reads as "no volatility":
 * the NaN of sums that overflowed (Inf - Inf) must never come out as 0.
 */
function nonNegative(v: number): number {
  return v <= 0 ? 0 : v;
}

/**
 * One window [i, i + w) of finite values whose sums overflow (|x| from ~1e154 on, where squares
 * do, or near 1e308, where the sum does), into outMean[i] / outVar[i]: scaled by 2^-e, e the
 * exponent of the window's largest |x|, which is exact (a power of two; values below 2^-1074 of
 * the largest lose bits, far under the tolerance), summed as exactWindow64 does (compensated
 * two-pass: mean m + d / w, variance (q - d^2 / w) / w), and scaled back by 2^e and 2^2e, also
 * exact. A variance above the largest double is Infinity (its correctly rounded value); the mean
 * is always representable. Only the per-output path calls it, where an exact window is not finite:
 * no cost to windows that do not overflow.
 */
function scaledWindow64(x: Float64Array, i: number, w: number, outMean: Float64Array, outVar: Float64Array | undefined): void {
  let amax = 0;
  for (let k = i; k < i + w; k++) {
    const a = Math.abs(x[k]!);
    if (a > amax) amax = a;
  }
  // Overflow needs amax >= ~2^495 here; below 2^64 nothing is scaled (not reached).
  const e = amax >= 2 ** 64 ? Math.ceil(Math.log2(amax)) : 0;
  const down = 2 ** -e; // exact: 2^-1024 is a subnormal power of two
  let sum = 0;
  for (let k = i; k < i + w; k++) sum += x[k]! * down;
  const m = sum / w;
  let d = 0;
  let dc = 0;
  let q = 0;
  let qc = 0;
  for (let k = i; k < i + w; k++) {
    const y = x[k]! * down - m;
    let t = d + y;
    let bb = t - d;
    dc += d - (t - bb) + (y - bb);
    d = t;
    const yy = y * y;
    t = q + yy;
    bb = t - q;
    qc += q - (t - bb) + (yy - bb);
    q = t;
  }
  const dm = (d + dc) / w;
  outMean[i] = times2(m + dm, e);
  if (outVar) outVar[i] = times2(times2(nonNegative((q + qc - (d + dc) * dm) / w), e), e);
}

/** v * 2^e for 0 <= e <= 1100, exactly (or +-Infinity where it overflows): 2^e alone is Infinity from e = 1024. */
function times2(v: number, e: number): number {
  return e > 1000 ? v * 2 ** 1000 * 2 ** (e - 1000) : v * 2 ** e;
}

/** Outputs per certified block of rollingMean64. */
const MEAN_BLOCK = 256;
/**
 * Scale mode from this window on. Shorter windows of returns hold windows of mostly zeros (a
 * tick repeats its price 4 times in 10), whose small mean |x| failed blocks every ~370 outputs
 * at W = 20 and made the mode slower than the per-output path; from W = 64 it was faster.
 */
const SCALE_MIN_W = 64;
/** Half the contract's 1e-12: the rest is for the anchor's and the reference's own rounding. */
const MEAN_BUDGET = 0.5e-12;
const U = 2 ** -53;

/**
 * The mean alone (2 <= w < 2^30), as CPU SIMD's rolling64_mean does it without vectors: a sliding
 * centred sum, windows of equal values from a run length (exact), and a rounding bound certified
 * per block of MEAN_BLOCK outputs instead of per output. The per-output bookkeeping of the path
 * above (two isFinite, two compares, two error sums per output) made the JS backend's mean 9x a
 * plain loop (17 ms for 1M prices); this loop does what a plain one does plus a compare and a
 * min/max. Chunks of max(1024, 16w) outputs are centred on their first window's mean, whose
 * centred sum is compensated (TwoSum). The bound, in units of u: the anchor's S (3 dev0, dev0 =
 * the anchor window's largest |x - centre|), plus per output at most 4 roundings of values that
 * are differences of two window sums, each at most 2 sbar (sbar = the largest |mean - centre|
 * since the anchor, from the outputs' extremes), plus the output's own (its level); certified
 * against MEAN_BUDGET of the smallest |mean| since the anchor, less the bound. A block that fails
 * restarts from a fresh anchor at its first output. Where the chunk's mean is near 0 for its
 * spread, or the level fails the first block, the chunk runs again in scale mode (certified
 * against the windows' mean |x| as well); where that fails its first block too, the per-output
 * path takes the windows over the anchor's, and where the inputs hold NaN/Inf, the chunk.
 */
function rollingMean64(x: Float64Array, n: number, w: number, out: Float64Array): void {
  const chunk = Math.max(1024, 16 * w);
  const invw = 1 / w;
  let scaleAt = -1; // a chunk start whose level could not certify its first block
  for (let c = 0; c < n; ) {
    const e = Math.min(n, c + chunk);
    // Anchor: the window c's mean as the centre, its compensated centred sum, its spread.
    exactWindow64(x, c, w, anchor);
    const sh = anchor[0]!;
    let s = anchor[1]!;
    const dev0 = anchor[3]!;
    // NaN in the anchor makes sh NaN: the careful path gives the contract's NaN windows.
    if (!Number.isFinite(sh) || !Number.isFinite(s)) {
      rollingMoments64Range(x, w, c, e, out, undefined);
      c = e;
      continue;
    }
    // Scale mode, where the mean is near 0 for its spread (returns, spreads) or the level failed
    // the first block: a = sum |x| of each window slides beside S, and mean |x| (<= |mean| + sd)
    // bounds the tolerance's scale from below, as in CPU SIMD. Its anchor is a sequential sum
    // (rounding at most w u a0); each slide rounds like S, at most u ahi per rounding.
    const scale = c === scaleAt || !(Math.abs(sh) >= dev0);
    if (scale && w < SCALE_MIN_W) {
      rollingMoments64Range(x, w, c, e, out, undefined);
      c = e;
      continue;
    }
    let a = 0;
    if (scale) for (let k = c; k < c + w; k++) a += Math.abs(x[k]!);
    const a0 = a;
    let alo = a;
    let ahi = a;
    const j0 = c + w - 1;
    let z = equalRunEndingAt(x, j0, w);
    let mlo = sh + s * invw;
    let mhi = mlo;
    out[c] = z >= w - 1 ? x[j0]! : mlo;
    const anchorErr = (3 + 4 * w * w * U) * dev0;
    let certifiedTo = c + 1;
    let uncertified = false;
    let nonFinite = false;
    for (let i = c + 1; i < e; i++) {
      const xin = x[i + w - 1]!;
      s += xin - x[i - 1]!;
      // Branch-free: on prices a tick repeats the last price 4 times in 10, and a branch on it
      // mispredicted enough to double the loop's time (8.8 -> 3.8 ms for 1M prices). int32
      // arithmetic; z is capped at w each block, and w < 2^30 here, so it cannot wrap.
      z = (z + 1) & -(xin === x[i + w - 2]);
      const m = sh + s * invw;
      out[i] = z >= w - 1 ? xin : m;
      if (m < mlo) mlo = m;
      else if (m > mhi) mhi = m;
      if (scale) {
        a += Math.abs(xin) - Math.abs(x[i - 1]!);
        if (a < alo) alo = a;
        else if (a > ahi) ahi = a;
      }
      if (i + 1 - certifiedTo >= MEAN_BLOCK || i + 1 === e) {
        if (z > w) z = w;
        if (!Number.isFinite(s)) {
          nonFinite = true;
          break;
        }
        const big = Math.max(Math.abs(mlo), Math.abs(mhi));
        const sbar = Math.max(mhi - sh, sh - mlo) + U * (Math.abs(sh) + big);
        const level = mlo > 0 ? mlo : mhi < 0 ? -mhi : 0;
        const roundings = 4 * (i - c + 1) + 8;
        const err = U * (anchorErr + roundings * sbar + level);
        let scaleLow = level - err;
        if (scale) {
          const absMean = (alo - U * (w * a0 + roundings * ahi)) * invw;
          if (absMean > scaleLow) scaleLow = absMean;
        }
        if (!(err <= MEAN_BUDGET * scaleLow)) {
          uncertified = true;
          break;
        }
        certifiedTo = i + 1;
      }
    }
    if (uncertified && certifiedTo === c + 1 && !scale) {
      scaleAt = c; // the level could not certify even the first block: again from c, in scale mode (or the per-output path)
    } else if (nonFinite) {
      rollingMoments64Range(x, w, c, e, out, undefined);
      c = e;
    } else if (uncertified && certifiedTo === c + 1) {
      // Not even mean |x| certifies the first block: the anchor window holds values far larger
      // than later ones (a fall). The per-output path takes the windows that overlap the anchor
      // window; the next anchor starts past it.
      const stop = Math.min(e, c + Math.max(w, MEAN_BLOCK));
      rollingMoments64Range(x, w, c, stop, out, undefined);
      c = stop;
    } else {
      c = uncertified ? certifiedTo : e; // outputs from certifiedTo on are rewritten from a fresh anchor
    }
  }
}

/** Outputs per certified block of rollingVariance64. */
const VAR_BLOCK = 128;
/** From this window on, mean + variance takes rollingVariance64 (measured: docs/performance.md). */
const VAR_BLOCKS_MIN_W = 128;

/**
 * Mean and variance (w < 2^30) with the rounding bounded per block of VAR_BLOCK outputs instead
 * of per output: CPU SIMD's rolling64_var with one lane. The per-output rule restarts from an
 * exact window every ~256 outputs whatever the data (O(w) each) and spends a division, compares
 * and isFinite on every output; here the sliding sums run until the bound built from what the
 * loop computed fails (u = 2^-53):
 *  - The anchor (exactWindow64, compensated) starts the bounds: S within 1.01 u sum|y| +
 *    2.02 u |S| and Q within 5.05 u Q (plus a u^2 w^2 tail).
 *  - q = d (a + b), d = x_in - x_out, a and b the two values less the centre: five roundings,
 *    at most 4.1 u t with t = |d| (|a| + |b|); Q's add rounds by u |Q|.
 *  - S slides by TwoSum (exact), so only d's rounding, u |d|, is left per step, plus the
 *    compensation's own adds (u x its size, at most u x steps x max|S|) and each output's add of
 *    the compensation.
 *  - With errQ and errS those bounds, em = errS / w (the mean's), M = max |S| / w: the variance
 *    Q/w - m^2 errs by at most errQ/w + (2M + em) em and its final roundings; the mean sh + m by
 *    em + u (|sh| + M).
 * A block is certified when both are within MEAN_BUDGET of the block's smallest variance (the
 * mean's, of max(|sh| - M, sd)) over windows that are not constant: those are found by a run
 * length and written exactly. A block that fails restarts from a fresh anchor at its first
 * output; a failure in the first block after an anchor, or NaN/Inf in the inputs (the sums turn
 * non-finite), hands the chunk to the per-output rule.
 */
function rollingVariance64(x: Float64Array, n: number, w: number, outMean: Float64Array, outVar: Float64Array): void {
  const chunk = Math.max(1024, 16 * w);
  const invw = 1 / w;
  const cq = 4.1 * U;
  const cs = 1.01 * U;
  const cr = 1.01 * U;
  const tail = 4 * (w + 1) * (w + 1) * U * U;
  for (let c = 0; c < n; ) {
    const e = Math.min(n, c + chunk);
    exactWindow64(x, c, w, anchor);
    const sh = anchor[0]!;
    let s = anchor[1]!;
    let q = anchor[2]!;
    const absSum = anchor[4]!;
    if (!Number.isFinite(sh) || !Number.isFinite(s) || !Number.isFinite(q)) {
      rollingMoments64Range(x, w, c, e, outMean, outVar);
      c = e;
      continue;
    }
    let es = 1.01 * U * absSum + 2.02 * U * Math.abs(s) + tail * absSum;
    let eq = (5.05 * U + tail) * q;
    const j0 = c + w - 1;
    let z = equalRunEndingAt(x, j0, w);
    {
      const m = s * invw;
      const v = q * invw - m * m;
      outMean[c] = z >= w - 1 ? x[j0]! : sh + m;
      outVar[c] = z >= w - 1 ? 0 : nonNegative(v);
    }
    let comp = 0; // S = s + comp, exactly the sum of the rounded steps (TwoSum)
    let steps = 0;
    let smChunk = 0;
    let certifiedTo = c + 1;
    let uncertified = false;
    let nonFinite = false;
    let i = c + 1;
    while (i < e) {
      const blockEnd = Math.min(e, i + VAR_BLOCK);
      let tSum = 0;
      let dSum = 0;
      let qm = 0;
      let sm = 0;
      let vmin = Infinity;
      const first = i;
      for (; i < blockEnd; i++) {
        const xin = x[i + w - 1]!;
        const xout = x[i - 1]!;
        const d = xin - xout;
        const a = xin - sh;
        const b = xout - sh;
        const t = s + d;
        const bb = t - s;
        comp += s - (t - bb) + (d - bb);
        s = t;
        const sv = s + comp;
        q += d * (a + b);
        // Branch-free, as in rollingMean64 (w < 2^30: no int32 wrap; capped per block).
        z = (z + 1) & -(xin === x[i + w - 2]);
        const m = sv * invw;
        const v = q * invw - m * m;
        if (z >= w - 1) {
          outMean[i] = xin;
          outVar[i] = 0;
        } else {
          outMean[i] = sh + m;
          outVar[i] = v <= 0 ? 0 : v; // nonNegative, written out in the hot loop
          if (v < vmin) vmin = v;
        }
        const ad = Math.abs(d);
        tSum += ad * (Math.abs(a) + Math.abs(b));
        dSum += ad;
        const aq = Math.abs(q);
        if (aq > qm) qm = aq;
        const as = Math.abs(sv);
        if (as > sm) sm = as;
      }
      if (z > w) z = w;
      if (!Number.isFinite(s + comp) || !Number.isFinite(q)) {
        nonFinite = true;
        break;
      }
      const outs = i - first;
      steps += outs;
      if (sm > smChunk) smChunk = sm;
      eq += cq * tSum + cr * outs * qm;
      es += cs * dSum + cr * outs * U * steps * smChunk;
      const errQ = eq + cr * qm;
      const errS = es + 2 * cr * sm;
      const bigM = sm * invw * (1 + 3 * U);
      const em = errS * invw * (1 + 3 * U) + 2.02 * U * bigM;
      const errV = errQ * invw * (1 + 3 * U) + (2 * bigM + em) * em + 3.1 * U * (qm * invw + bigM * bigM);
      const errMean = em + cr * (Math.abs(sh) + bigM);
      const sdLow = vmin > 0 ? 0.999 * Math.sqrt(vmin) : 0;
      const level = Math.abs(sh) - bigM - errMean;
      const meanScale = level > sdLow ? level : sdLow;
      if (!(vmin > 0 && errV <= MEAN_BUDGET * vmin && errMean <= MEAN_BUDGET * meanScale)) {
        uncertified = true;
        break;
      }
      certifiedTo = i;
    }
    if (nonFinite || (uncertified && certifiedTo === c + 1)) {
      rollingMoments64Range(x, w, c, e, outMean, outVar);
      c = e;
    } else {
      c = uncertified ? certifiedTo : e; // outputs from certifiedTo on are rewritten from a fresh anchor
    }
  }
}

/** Up to this window, mean + variance takes rollingDirect64 (measured: docs/performance.md). */
const DIRECT_MAX_W = 8;

/**
 * Mean and variance of short windows, each window on its own: CPU SIMD's rolling64_direct with
 * one lane. Nothing slides, so nothing restarts: on tick prices a short window's variance is
 * often a tiny part of the largest one nearby (one tick among repeats), and the sliding rule
 * restarted every few outputs. Per window, with m = sum / w (rounded; any centre near the mean
 * does), y = x - m, d = sum y, q = sum y^2: mean = m + d / w, variance = (q - d^2 / w) / w (the
 * corrected two-pass formula, which cancels m's own error). With r = (d / w)^2 the variance errs
 * by at most u ((2w + 6) v + (3w + 6) r): w u of q = w (v + r) and of d, the products and the
 * final roundings (one more of each than CPU SIMD's, whose squares are fused). A window whose
 * bound is not within MEAN_BUDGET of v, or whose result is not finite (NaN/Inf inside, or sums
 * that overflow), is redone by the per-output path; windows of equal values are found by a run
 * length and written exactly.
 */
function rollingDirect64(x: Float64Array, n: number, w: number, outMean: Float64Array, outVar: Float64Array): void {
  const invw = 1 / w;
  const cv = U * (2 * w + 6);
  const cr = U * (3 * w + 6);
  let z = equalRunEndingAt(x, w - 1, w);
  for (let i = 0; i < n; i++) {
    const last = i + w - 1;
    if (i > 0) {
      // Branch-free run length, capped at w (int32: it must not wrap over a long run).
      z = (z + 1) & -(x[last] === x[last - 1]);
      if (z > w) z = w;
    }
    // A window of equal values: exact. Not a run of +-Infinity (Infinity === Infinity), whose
    // window is NaN: x - x is 0 only for finite x; the sums below give NaN and the per-output
    // path the contract's NaN window.
    const xl = x[last]!;
    if (z >= w - 1 && xl - xl === 0) {
      outMean[i] = xl;
      outVar[i] = 0;
      continue;
    }
    let sum = 0;
    for (let k = i; k <= last; k++) sum += x[k]!;
    const m = sum * invw;
    let d = 0;
    let q = 0;
    for (let k = i; k <= last; k++) {
      const y = x[k]! - m;
      d += y;
      q += y * y;
    }
    const dm = d * invw;
    const mv = m + dm;
    const v = (q - d * dm) * invw;
    // NaN fails the first test; x - x is 0 only for finite x.
    if (cv * v + cr * dm * dm < MEAN_BUDGET * v && mv - mv === 0 && v - v === 0) {
      outMean[i] = mv;
      outVar[i] = v;
    } else {
      rollingMoments64Range(x, w, i, i + 1, outMean, outVar);
    }
  }
}

/**
 * Equal neighbours in a row ending at x[j], counted back at most w - 1 (w - 1: the window ending
 * at j is constant). The kernels start their run length here, then slide it branch-free.
 */
function equalRunEndingAt(x: Float64Array, j: number, w: number): number {
  let z = 0;
  while (z < w - 1 && x[j - z] === x[j - z - 1]) z++;
  return z;
}

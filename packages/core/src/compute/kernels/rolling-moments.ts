import { ComputeArgumentError, type RollingMomentsArgs, type RollingMomentsResult } from '../../contracts/compute.js';
import { requireHostF32, requireInt, viewsOverlap, type F32Resolver } from '../validate.js';

const K = 'rollingMoments';

/**
 * Reference rollingMoments: O(N), float64 state.
 *
 *  - The window slides with the exact add/remove update of (mean, M2):
 *      mean' = mean + (x_in - x_out) / W
 *      M2'   = M2 + (x_in - x_out) * (x_in - mean' + x_out - mean)
 *    and is recomputed from scratch (corrected two-pass) every max(W, 1024) outputs, so
 *    rounding drift stays bounded whatever N is, and wherever the update is ill-conditioned
 *    (ILL_CONDITIONED_F32 below): a spike leaving the window leaves its rounding in M2.
 *  - A window whose W values are all equal gets mean = that value and variance exactly 0 (and
 *    resets the state exactly), so constant stretches never show round-off variance.
 *  - Variance is max(M2 / W, 0): never negative.
 *  - Non-finite input: NaN or +-Infinity at index q makes mean and variance NaN for every window
 *    containing q (outputs max(0, q - W + 1) .. q); other windows are unaffected.
 */
/** Validated, resolved rollingMoments arguments; `outputs` = length - window + 1. */
export interface PreparedRollingMoments {
  series: Float32Array;
  length: number;
  window: number;
  outputs: number;
  out?: { mean: Float32Array; variance: Float32Array };
}

export function prepareRollingMoments(args: RollingMomentsArgs, resolve: F32Resolver): PreparedRollingMoments {
  if (args === null || typeof args !== 'object') throw new ComputeArgumentError(K, 'arguments object is required');
  const length = requireInt(K, 'length', args.length, 1, 2 ** 32);
  const window = requireInt(K, 'window', args.window);
  if (window > length) throw new ComputeArgumentError(K, `window must be in [1, length = ${length}], got ${window}`);
  const series = resolve(K, 'series', args.series, length, `length ${length}`);
  const n = length - window + 1;
  let out: PreparedRollingMoments['out'];
  if (args.out !== undefined) {
    if (args.out === null || typeof args.out !== 'object') throw new ComputeArgumentError(K, 'out must be { mean, variance }');
    const mean = requireHostF32(K, 'out.mean', args.out.mean, n, `length - window + 1 = ${n}`);
    const variance = requireHostF32(K, 'out.variance', args.out.variance, n, `length - window + 1 = ${n}`);
    if (viewsOverlap(mean, n, variance, n)) throw new ComputeArgumentError(K, 'out.mean and out.variance overlap');
    // The kernel reads inputs ahead of the outputs it writes: outputs must not alias the series
    // (measured over its `length` elements, the outputs over their n).
    if (viewsOverlap(mean, n, series, length) || viewsOverlap(variance, n, series, length)) {
      throw new ComputeArgumentError(K, 'out arrays must not overlap the series');
    }
    out = { mean, variance };
  }
  return { series, length, window, outputs: n, out };
}

export function runRollingMoments(args: RollingMomentsArgs, resolve: F32Resolver): RollingMomentsResult {
  const p = prepareRollingMoments(args, resolve);
  const mean = p.out?.mean ?? new Float32Array(p.outputs);
  const variance = p.out?.variance ?? new Float32Array(p.outputs);
  rollingMomentsKernel(p.series, p.length, p.window, mean, variance);
  return { mean, variance };
}

/**
 * The float32 rollingMoments restart rule, shared with CPU SIMD's rolling_range and
 * rolling_careful (native/kernels_impl.h, kRollingIllConditioned): a window whose
 *   (steps + W) * M2max >= 2^24 * (M2 + W mean^2)
 * is recomputed from scratch. M2max is the largest M2 since the last exact window and steps the
 * updates since; W counts the exact window's own sequential sums. The sliding update's rounding
 * is a few ulps of M2max per step, while the window's M2 can be far smaller: after a fat-finger
 * print leaves (returns of +999 among 3e-7), M2 keeps ~1e-10 of rounding where the truth is
 * W x 1e-13, and kept it for up to 1024 windows (50x the variance). Unrestarted, the sums' error
 * stays within ~32 u 2^24 (v + mean^2) = 6e-8 (v + mean^2), u = 2^-53: about one float32 ulp, and
 * 1/1600 of the contract's 1e-4 (v + mean^2). Measured against the contract's own scale, so
 * prices (mean^2 >> v) never restart; returns restart only where M2 falls ~2^24 / (steps + W)
 * below its recent largest value. A kernel may bound steps from above: this one by its re-anchor
 * period, max(W, 1024), so the limit changes only with M2max and the rule costs one compare per
 * output (its test that M2 is above the limit replaces the test that it is positive); CPU SIMD by
 * the last output of a block of 64 it certifies at once.
 */
export const ILL_CONDITIONED_F32 = 2 ** 24;

export function rollingMomentsKernel(x: Float32Array, length: number, w: number, outMean: Float32Array, outVar: Float32Array): void {
  const n = length - w + 1;
  const recomputeEvery = Math.max(w, 1024);
  let lastBad = -1; // last index holding a non-finite value
  let run = 0; // length of the run of equal values ending at the newest index
  for (let j = 0; j < w - 1; j++) {
    const v = x[j];
    if (!Number.isFinite(v)) lastBad = j;
    run = j > 0 && v === x[j - 1] ? run + 1 : 1;
  }
  let valid = false;
  let since = 0;
  let m = 0;
  let m2 = 0;
  let m2max = 0; // largest M2 since the last exact window
  let limit = 0; // (recomputeEvery + w) m2max / ILL_CONDITIONED_F32
  for (let i = 0; i < n; i++) {
    const inIdx = i + w - 1;
    const xin = x[inIdx];
    if (!Number.isFinite(xin)) lastBad = inIdx;
    run = inIdx > 0 && xin === x[inIdx - 1] ? run + 1 : 1;
    if (lastBad >= i) {
      outMean[i] = NaN;
      outVar[i] = NaN;
      valid = false;
      continue;
    }
    if (run >= w) {
      m = xin;
      m2 = 0;
      m2max = 0;
      limit = 0;
      valid = true;
      since = 0;
      outMean[i] = xin;
      outVar[i] = 0;
      continue;
    }
    if (!valid || since >= recomputeEvery) {
      exactWindow32(x, i, w);
      m = anchor32[0]!;
      m2 = anchor32[1]!;
      m2max = m2 > 0 ? m2 : 0; // the limit must not be negative: m2 > limit writes m2 / w
      limit = ((recomputeEvery + w) * m2max) / ILL_CONDITIONED_F32;
      valid = true;
      since = 0;
    } else {
      const xout = x[i - 1];
      const delta = xin - xout;
      const nm = m + delta / w;
      m2 += delta * (xin - nm + xout - m);
      m = nm;
      since++;
      if (m2 > m2max) {
        m2max = m2;
        limit = ((recomputeEvery + w) * m2max) / ILL_CONDITIONED_F32;
      }
      // Almost every window: certified and positive, one compare (it replaces m2 > 0 below).
      if (m2 > limit) {
        outMean[i] = m;
        outVar[i] = m2 / w;
        continue;
      }
      // Ill-conditioned (ILL_CONDITIONED_F32, steps bounded by recomputeEvery): M2 fell far
      // below what it was rounded against (a negative M2, pure rounding, restarts too).
      if (m2 + w * m * m < limit) {
        exactWindow32(x, i, w);
        m = anchor32[0]!;
        m2 = anchor32[1]!;
        m2max = m2 > 0 ? m2 : 0; // the limit must not be negative: m2 > limit writes m2 / w
        limit = ((recomputeEvery + w) * m2max) / ILL_CONDITIONED_F32;
        since = 0;
      }
    }
    outMean[i] = m;
    outVar[i] = m2 > 0 ? m2 / w : 0;
  }
}

/** exactWindow32's results: mean, M2. Reused, not allocated per restart. */
const anchor32 = new Float64Array(2);

/** The window [i, i + w) by the corrected two-pass formula, into anchor32. */
function exactWindow32(x: Float32Array, i: number, w: number): void {
  let sum = 0;
  for (let j = i; j < i + w; j++) sum += x[j]!;
  const m0 = sum / w;
  let sd = 0;
  let sd2 = 0;
  for (let j = i; j < i + w; j++) {
    const d = x[j]! - m0;
    sd += d;
    sd2 += d * d;
  }
  anchor32[0] = m0 + sd / w;
  anchor32[1] = sd2 - (sd * sd) / w;
}

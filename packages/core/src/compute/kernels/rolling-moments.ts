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
 *    rounding drift stays bounded whatever N is.
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
      valid = true;
      since = 0;
      outMean[i] = xin;
      outVar[i] = 0;
      continue;
    }
    if (!valid || since >= recomputeEvery) {
      // Corrected two-pass over [i, i + w).
      let sum = 0;
      for (let j = i; j <= inIdx; j++) sum += x[j];
      const m0 = sum / w;
      let sd = 0;
      let sd2 = 0;
      for (let j = i; j <= inIdx; j++) {
        const d = x[j] - m0;
        sd += d;
        sd2 += d * d;
      }
      m = m0 + sd / w;
      m2 = sd2 - (sd * sd) / w;
      valid = true;
      since = 0;
    } else {
      const xout = x[i - 1];
      const delta = xin - xout;
      const nm = m + delta / w;
      m2 += delta * (xin - nm + xout - m);
      m = nm;
      since++;
    }
    outMean[i] = m;
    outVar[i] = m2 > 0 ? m2 / w : 0;
  }
}

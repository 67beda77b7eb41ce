// The JS oracle's float64 rolling mean on hostile series: levels that fall by orders of
// magnitude, cross zero or step between very different values within one restart period.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../testing/index.js';
import { rollingMoments64Kernel } from './rolling-moments64.js';

/** Neumaier-summed two-pass mean and sd of one window: the reference. */
function exactWindow(x: Float64Array, i: number, w: number): { mean: number; sd: number } {
  const sum = (f: (v: number) => number): number => {
    let s = 0;
    let c = 0;
    for (let k = i; k < i + w; k++) {
      const v = f(x[k]!);
      const t = s + v;
      c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
      s = t;
    }
    return s + c;
  };
  const mean = sum((v) => v) / w;
  const variance = sum((v) => (v - mean) * (v - mean)) / w;
  return { mean, sd: Math.sqrt(variance) };
}

function series(kind: string, n: number): Float64Array {
  const x = new Float64Array(n);
  let r = 12345;
  const rnd = () => ((r = (Math.imul(r, 1103515245) + 12345) >>> 0) / 2 ** 32) - 0.5;
  for (let i = 0; i < n; i++) {
    if (kind === 'fall') x[i] = i < n / 3 ? 3e7 + rnd() : 1e-3 * (1 + 0.1 * rnd());
    else if (kind === 'through zero') x[i] = 1e4 - 3 * i + 0.01 * rnd();
    else if (kind === 'steps') x[i] = [1e5, -1e5, 1e-3, 3e7, 0][Math.floor(i / 700) % 5]! + 1e-4 * rnd();
    else x[i] = 30000 * Math.exp(-i / 500) + rnd() * 1e-6; // decay to ~0
  }
  return x;
}

describe('rollingMoments64Kernel, mean only: 1e-12 of (|mean| + sd) on hostile series', () => {
  for (const kind of ['fall', 'through zero', 'steps', 'decay']) {
    for (const w of [2, 17, 200, 1500]) {
      it(`${kind}, W=${w}`, () => {
        const n = 7000;
        const x = series(kind, n);
        const mean = new Float64Array(n - w + 1);
        rollingMoments64Kernel(x, n, w, mean, undefined);
        let worst = 0;
        for (let i = 0; i < mean.length; i++) {
          const ref = exactWindow(x, i, w);
          const tol = 1e-12 * (Math.abs(ref.mean) + ref.sd);
          const ratio = tol === 0 ? (mean[i] === ref.mean ? 0 : Infinity) : Math.abs(mean[i]! - ref.mean) / tol;
          if (ratio > worst) worst = ratio;
        }
        expect(worst, 'worst error in units of the tolerance').toBeLessThanOrEqual(1);
      });
    }
  }
});

/** Refined two-pass variance (Neumaier sums, corrected for the rounding of the mean): the reference. */
function exactVariance(x: Float64Array, i: number, w: number): number {
  const mean = exactWindow(x, i, w).mean;
  let d = 0;
  let dc = 0;
  let q = 0;
  let qc = 0;
  for (let k = i; k < i + w; k++) {
    const y = x[k]! - mean;
    let t = d + y;
    dc += Math.abs(d) >= Math.abs(y) ? d - t + y : y - t + d;
    d = t;
    t = q + y * y;
    qc += Math.abs(q) >= y * y ? q - t + y * y : y * y - t + q;
    q = t;
  }
  d += dc;
  q += qc;
  return Math.max(0, (q - (d * d) / w) / w);
}

/**
 * Normals around 5 (sd 1) broken by runs of one repeated value, W - 1 to 3W + 7 long, some with
 * a NaN inside or just after (where a NaN leaves the window, the kernel restarts on a window whose
 * variance the next windows fall far below).
 */
function runsOfEqualValues(n: number, w: number): Float64Array {
  const x = Float64Array.from(seededRandom(7100 + w).normals(n, 5, 1), (v, i) => v + 1e-7 * (i % 7));
  const lengths = [w - 1, w, w + 1, w + 2, 2 * w + 3, 3 * w + 7, 5000];
  let at = 50;
  for (let k = 0; at < n - 6000; k++) {
    const len = lengths[k % lengths.length]!;
    x.fill([4.1, 5 + 1 / 3, x[at]!, 3.3, 6.7][k % 5]!, at, at + len);
    if (k % 9 === 4) x[at + Math.floor(len / 2)] = Number.NaN;
    if (k % 11 === 6) x[at + len] = Number.NaN;
    at += len + 1 + (k % 13) * 3;
  }
  return x;
}

describe('rollingMoments64Kernel with variance: windows of equal values but a few', () => {
  // A restart's exact window carries its rounding to every later window until the next
  // restart; here the windows a few steps on hold a run of equal values and a handful of others,
  // so their variance is a small part of the restart window's. Plain two-pass sums left w eps of
  // the restart's Q there (6.8x the tolerance at W=1500); the restart now sums compensated.
  for (const w of [17, 200, 1500, 3000]) {
    it(`W=${w}: variance within 1e-12, mean within 1e-12 of (|mean| + sd)`, () => {
      const n = 40_000;
      const x = runsOfEqualValues(n, w);
      const mean = new Float64Array(n - w + 1);
      const variance = new Float64Array(n - w + 1);
      rollingMoments64Kernel(x, n, w, mean, variance);
      let worstVar = 0;
      let worstMean = 0;
      for (let i = 0; i < mean.length; i++) {
        if (Number.isNaN(mean[i]!)) continue;
        const ref = exactWindow(x, i, w);
        const v = exactVariance(x, i, w);
        if (v === 0) {
          expect(variance[i], `window ${i} is constant`).toBe(0);
          continue;
        }
        worstVar = Math.max(worstVar, Math.abs(variance[i]! - v) / (1e-12 * v));
        worstMean = Math.max(worstMean, Math.abs(mean[i]! - ref.mean) / (1e-12 * (Math.abs(ref.mean) + Math.sqrt(v))));
      }
      expect(worstVar, 'worst variance error in units of the tolerance').toBeLessThanOrEqual(1);
      expect(worstMean, 'worst mean error in units of the tolerance').toBeLessThanOrEqual(1);
    });
  }
});

// The JS oracle's float64 rolling mean on hostile series: levels that fall by orders of
// magnitude, cross zero or step between very different values within one restart period.
import { describe, expect, it } from 'vitest';
import { equalValueRuns, HOSTILE_LEVEL_SERIES, randomHostileSegments, refinedRolling64, tickPrices } from '../../testing/index.js';
import { rollingMoments64Kernel } from './rolling-moments64.js';
import { nearTheTopOfFloat64, scaledRolling64 } from '../../testing/compute-conformance-float64.js';

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

/**
 * Largest errors of a kernel's outputs against the refined reference, in units of the tolerance;
 * NaN windows must be NaN, windows of equal values exactly the value (and variance 0).
 */
function worstAgainst(x: Float64Array, w: number, ref: { mean: Float64Array; variance: Float64Array }, mean: Float64Array, variance?: Float64Array): { mean: number; variance: number } {
  const worst = { mean: 0, variance: 0 };
  for (let i = 0; i < mean.length; i++) {
    if (Number.isNaN(ref.mean[i]!)) {
      expect(mean[i], `window ${i} holds a NaN`).toBeNaN();
      continue;
    }
    const v = ref.variance[i]!;
    if (v === 0) {
      expect(mean[i], `window ${i} is constant`).toBe(x[i + w - 1]);
      if (variance) expect(variance[i], `window ${i} is constant`).toBe(0);
      continue;
    }
    worst.mean = Math.max(worst.mean, Math.abs(mean[i]! - ref.mean[i]!) / (1e-12 * (Math.abs(ref.mean[i]!) + Math.sqrt(v))));
    if (variance) worst.variance = Math.max(worst.variance, Math.abs(variance[i]! - v) / (1e-12 * v));
  }
  return worst;
}

/**
 * Runs the kernel with variance and for the mean alone on x and requires every output within the
 * tolerance of the refined reference (worstAgainst's rules for NaN and constant windows).
 */
function expectWithinTolerance(x: Float64Array, n: number, w: number, tag: string): void {
  const ref = refinedRolling64(x, n, w);
  const mean = new Float64Array(n - w + 1);
  const variance = new Float64Array(n - w + 1);
  rollingMoments64Kernel(x, n, w, mean, variance);
  const both = worstAgainst(x, w, ref, mean, variance);
  expect(both.variance, `${tag}: worst variance error in units of the tolerance`).toBeLessThanOrEqual(1);
  expect(both.mean, `${tag}: worst mean error in units of the tolerance`).toBeLessThanOrEqual(1);
  const meanOnly = new Float64Array(n - w + 1);
  rollingMoments64Kernel(x, n, w, meanOnly, undefined);
  expect(worstAgainst(x, w, ref, meanOnly).mean, `${tag}: worst mean-only error in units of the tolerance`).toBeLessThanOrEqual(1);
}

describe('rollingMoments64Kernel with variance: windows of equal values but a few', () => {
  // A restart's exact window carries its rounding to every later window until the next
  // restart; here the windows a few steps on hold a run of equal values and a handful of others,
  // so their variance is a small part of the restart window's. Plain two-pass sums left w eps of
  // the restart's Q there (6.8x the tolerance at W=1500); the restart now sums compensated.
  for (const w of [2, 17, 200, 1500, 3000]) {
    it(`W=${w}: variance within 1e-12, mean within 1e-12 of (|mean| + sd), mean only too`, () => {
      const n = 40_000;
      expectWithinTolerance(equalValueRuns(7100 + w, n, w), n, w, `W=${w}`);
    });
  }
});

describe('rollingMoments64Kernel with variance: the level falls, crosses zero or steps', () => {
  // The certified blocks bound the sliding sums' rounding from what the loop computed; these
  // series make later windows far smaller than the ones the rounding was made on.
  for (const w of [2, 5, 17, 200, 1500, 3000]) {
    const n = Math.min(40_000, Math.max(20_000, 12 * w));
    for (const [name, make] of HOSTILE_LEVEL_SERIES) {
      it(`${name}, W=${w}: variance within 1e-12, mean within 1e-12 of (|mean| + sd)`, () => {
        expectWithinTolerance(make(n, w, 7200 + w), n, w, `${name} W=${w}`);
      });
    }
  }
  it('random hostile segments, 24 seeds', () => {
    for (let seed = 0; seed < 24; seed++) {
      const { x, N, W } = randomHostileSegments(7300 + seed, [2, 5, 17, 64, 200, 700][seed % 6]!);
      expectWithinTolerance(x, N, W, `seed ${seed} W=${W}`);
    }
  });
  it('returns (means near 0 for their spread), mean only and with variance, W = 2-3000', () => {
    // Certified against the windows' mean |x| (scale mode): the level alone cannot certify a mean
    // of ~0, and the sums' rounding is relative to the spread.
    const n = 60_000;
    const p = tickPrices(11, n + 1, 30000, 0.01);
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = Math.log(p[i + 1]! / p[i]!);
    for (const w of [2, 20, 200, 3000]) expectWithinTolerance(x, n, w, `returns W=${w}`);
  });
  it('tick prices, 200,000: within the tolerance at W = 2, 20, 200 and 3000', () => {
    const n = 200_000;
    const x = tickPrices(9, n, 30000, 0.01);
    for (const w of [2, 20, 200, 3000]) expectWithinTolerance(x, n, w, `tick prices W=${w}`);
  });
});

// Every path of the kernel: each window on its own (W <= 8), the per-output rule (W < 128), the
// certified blocks (W >= 128), and the mean alone.
const PATH_WINDOWS = [2, 3, 5, 8, 9, 20, 127, 128, 200];

/** mean and variance through the kernel, and the mean alone. */
function both(x: Float64Array, w: number): { mean: Float64Array; variance: Float64Array; meanOnly: Float64Array } {
  const n = x.length - w + 1;
  const mean = new Float64Array(n);
  const variance = new Float64Array(n);
  const meanOnly = new Float64Array(n);
  rollingMoments64Kernel(x, x.length, w, mean, variance);
  rollingMoments64Kernel(x, x.length, w, meanOnly, undefined);
  return { mean, variance, meanOnly };
}

describe('rollingMoments64Kernel: runs of equal infinities are NaN windows', () => {
  // Infinity === Infinity: the run-of-equal-values branch of the short-window path (W <= 8)
  // wrote the run's value with variance 0 (mean Infinity, variance 0: "no volatility") before any
  // check of finiteness. The contract: an Infinity in a window makes its mean and variance NaN.
  for (const w of PATH_WINDOWS) {
    it(`W=${w}: +Infinity and -Infinity runs, mean and variance NaN exactly on the windows that hold them`, () => {
      const n = 6 * w + 300;
      const x = tickPrices(7400 + w, n, 250.25, 0.05);
      x.fill(Infinity, 50, 50 + w + 40);
      x.fill(-Infinity, 3 * w + 150, 4 * w + 190);
      const r = both(x, w);
      for (let i = 0; i < r.mean.length; i++) {
        const hit = (i + w > 50 && i < 90 + w) || (i + w > 3 * w + 150 && i < 4 * w + 190);
        for (const [what, v] of [['mean', r.mean[i]!], ['variance', r.variance[i]!], ['mean only', r.meanOnly[i]!]] as const) {
          if (hit) expect(v, `${what}[${i}]`).toBeNaN();
          else expect(Number.isFinite(v), `${what}[${i}] = ${v}`).toBe(true);
        }
      }
    });
  }
  it('W=2: [-Infinity, -Infinity, 5] and [Infinity, Infinity, Infinity, 2] as the float32 oracle gives them', () => {
    expect(both(new Float64Array([-Infinity, -Infinity, 5]), 2).variance[0]).toBeNaN();
    const r = both(new Float64Array([Infinity, Infinity, Infinity, 2]), 2);
    expect([...r.mean].map(Number.isNaN)).toEqual([true, true, true]);
    expect([...r.variance].map(Number.isNaN)).toEqual([true, true, true]);
  });
});

describe('rollingMoments64Kernel: finite values whose sums or squares overflow', () => {
  // +-1.2e154 alternating: variance 1.44e308 (finite), but the squares sum past the largest
  // double, Inf - Inf = NaN, and "never negative" (v > 0 ? v : 0) made it 0 at every W; the mean
  // of [1.5e308, 1.6e308] was NaN. Such windows are now computed scaled by a power of two.
  for (const w of PATH_WINDOWS) {
    it(`W=${w}: the scaled two-pass reference, Infinity where the variance is above the largest double`, () => {
      const n = 20 * w + 400;
      const x = nearTheTopOfFloat64(n, w, 7500 + w);
      const exp = scaledRolling64(x, n, w);
      const r = both(x, w);
      let bad = 0;
      let first = '';
      for (let i = 0; i < exp.mean.length; i++) {
        const em = exp.mean[i]!;
        const ev = exp.variance[i]!;
        const scale = Math.abs(em) + exp.sd[i]!;
        const meanOk = (m: number): boolean => (ev === 0 ? m === em : Math.abs(m - em) <= 1e-12 * scale);
        const varOk = ev === 0 || ev === Infinity ? r.variance[i] === ev : Math.abs(r.variance[i]! - ev) <= 1e-12 * ev;
        if (!meanOk(r.mean[i]!) || !meanOk(r.meanOnly[i]!) || !varOk) {
          if (bad++ === 0) first = `at ${i}: mean ${r.mean[i]} / ${r.meanOnly[i]}, variance ${r.variance[i]}; expected ${em}, ${ev}`;
        }
      }
      expect(bad, first).toBe(0);
    });
  }
  it('the reviewer\'s cases: +-1.2e154 (W = 4, 200), [1.5e308, 1.6e308]', () => {
    for (const w of [4, 200]) {
      const x = Float64Array.from({ length: w + 4 }, (_, i) => (i % 2 ? 1.2e154 : -1.2e154));
      const r = both(x, w);
      for (let i = 0; i < r.mean.length; i++) {
        expect(Math.abs(r.mean[i]!)).toBeLessThanOrEqual(1e-12 * 1.2e154);
        expect(Math.abs(r.variance[i]! - 1.44e308)).toBeLessThanOrEqual(1e-12 * 1.44e308);
      }
    }
    const r = both(new Float64Array([1.5e308, 1.6e308, 1.5e308]), 2);
    expect(r.meanOnly[0]).toBeCloseTo(1.55e308, -296);
    expect(r.mean[1]).toBeCloseTo(1.55e308, -296);
    // (0.05e308)^2: above the largest double, so Infinity, never 0 or NaN.
    expect(r.variance[0]).toBe(Infinity);
  });
});

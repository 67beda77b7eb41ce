import { describe, expect, it } from 'vitest';
import { ComputeArgumentError, type MonteCarloVaRArgs } from '../contracts/compute.js';
import { naiveMonteCarloLosses, naivePearson, naiveRolling, naiveSgemm, summariseBySort } from '../testing/compute-conformance.js';
import { seededRandom } from '../testing/seeded-random.js';
import { JsComputeBackend, jsBackendProvider } from './js-backend.js';
import { selectKth } from './kernels/monte-carlo-var.js';

// The js backend is the oracle: these tests hold it to float32-rounding accuracy against
// independent float64 calculations, much tighter than the conformance tolerances.

const js = new JsComputeBackend();

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('js provider', () => {
  it('probes available with device facts and creates a js backend', async () => {
    const probe = await jsBackendProvider.probe();
    expect(probe.available).toBe(true);
    if (probe.available) {
      expect(probe.device.name).toBe('JavaScript (V8)');
      expect(probe.device.type).toBe('cpu');
      expect(probe.device.computeUnits).toBeGreaterThanOrEqual(1);
    }
    const b = await jsBackendProvider.create({});
    expect(b.name).toBe('js');
    expect(b.capabilities.syncKernels).toBe(true);
    expect(b.capabilities.deviceMemory).toBe(false);
    // Its async calls read the caller's arrays in place on the JS thread: nothing to keep resident.
    expect(b.capabilities.copiesHostInputs).toBe(false);
    await b.dispose();
    await expect(b.noop()).rejects.toThrow(/disposed/);
  });

  it('after dispose every buffer call fails naming the call and the backend (HostMemoryBackend); dispose twice is harmless', async () => {
    const b = new JsComputeBackend();
    const x = b.createBuffer(8);
    await b.dispose();
    await b.dispose();
    expect(b.liveBuffers).toBe(0);
    expect(() => b.createBuffer(8)).toThrow('createBuffer: the js compute backend was disposed');
    expect(() => b.freeBuffer(x)).toThrow('freeBuffer: the js compute backend was disposed');
    await expect(b.upload(x, new Float32Array(2))).rejects.toThrow('upload: the js compute backend was disposed');
    await expect(b.download(x, new Float32Array(2))).rejects.toThrow('download: the js compute backend was disposed');
  });
});

describe('js buffers', () => {
  it('frees and counts buffers; errors say what is wrong', async () => {
    const b = new JsComputeBackend();
    const x = b.createBuffer(16);
    const y = b.createBuffer(16);
    expect(b.liveBuffers).toBe(2);
    b.freeBuffer(x);
    expect(b.liveBuffers).toBe(1);
    await expect(b.upload(x, new Float32Array(1))).rejects.toThrow(/was freed/);
    const other = new JsComputeBackend();
    const z = other.createBuffer(16);
    await expect(b.upload(z, new Float32Array(1))).rejects.toThrow(/not created by this js backend instance/);
    const forged = { backend: 'vulkan', id: y.id, byteLength: 16 };
    await expect(b.upload(forged, new Float32Array(1))).rejects.toThrow(/belongs to backend 'vulkan'/);
    await expect(b.rollingMoments({ series: {} as never, length: 4, window: 2 })).rejects.toThrow(ComputeArgumentError);
    await b.dispose();
    await other.dispose();
  });
});

describe('js patternScores', () => {
  it('matches the textbook Pearson to float32 rounding on random shapes', () => {
    const rng = seededRandom(11);
    for (let trial = 0; trial < 40; trial++) {
      const B = 1 + rng.int(4);
      const K = 1 + rng.int(200);
      const D = 1 + rng.int(40);
      const topK = 1 + rng.int(K);
      const stored = new Float32Array(K * D);
      for (let i = 0; i < stored.length; i++) stored[i] = 100 + 5 * rng.normal(); // price-like offset
      for (let k = 0; k < K; k += 7) stored.fill(stored[k * D], k * D, (k + 1) * D); // some constant windows
      const queries = rng.normals(B * D, 50, 2);
      const r = js.sync.patternScores({ stored, storedCount: K, dim: D, queries, queryCount: B, topK, returnAllScores: true });
      const naive = naivePearson(stored, K, D, queries, B);
      expect(maxAbsDiff(r.allScores!, naive)).toBeLessThan(1e-6);
      // top-k equals a full sort of the returned float32 scores (score desc, then index asc)
      for (let b = 0; b < B; b++) {
        const order = Array.from({ length: K }, (_, k) => k).sort((x, y) => r.allScores![b * K + y] - r.allScores![b * K + x] || x - y);
        expect(Array.from(r.indices.subarray(b * topK, (b + 1) * topK))).toEqual(order.slice(0, topK));
        expect(Array.from(r.scores.subarray(b * topK, (b + 1) * topK))).toEqual(order.slice(0, topK).map((k) => r.allScores![b * K + k]));
      }
    }
  });

  it('breaks exact ties by the lower index, across the heap boundary', () => {
    // Scores take only three values, so most entries tie; topK cuts through a tie group.
    const D = 4;
    const K = 50;
    const stored = new Float32Array(K * D);
    const pats = [[1, 2, 3, 4], [4, 3, 2, 1], [1, 1, 1, 1]];
    for (let k = 0; k < K; k++) stored.set(pats[(k * 7) % 3], k * D);
    const r = js.sync.patternScores({ stored, storedCount: K, dim: D, queries: new Float32Array([1, 2, 3, 4]), queryCount: 1, topK: 20 });
    const ones = Array.from({ length: K }, (_, k) => k).filter((k) => (k * 7) % 3 === 0);
    const zeros = Array.from({ length: K }, (_, k) => k).filter((k) => (k * 7) % 3 === 2);
    expect(Array.from(r.indices)).toEqual([...ones, ...zeros].slice(0, 20));
  });

  it('scores 0 for constant and non-finite windows (exactly)', () => {
    const stored = new Float32Array([0.1, 0.1, 0.1, 1, 2, 3, Number.NaN, 1, 2, 1, 2, Number.POSITIVE_INFINITY]);
    const r = js.sync.patternScores({ stored, storedCount: 4, dim: 3, queries: new Float32Array([1, 2, 4, 5, 5, 5]), queryCount: 2, topK: 4, returnAllScores: true });
    expect(Array.from(r.allScores!.subarray(0, 4)).map((v, i) => (i === 1 ? 0 : v))).toEqual([0, 0, 0, 0]);
    expect(r.allScores![1]).toBeGreaterThan(0.98);
    expect(Array.from(r.allScores!.subarray(4))).toEqual([0, 0, 0, 0]);
    expect(Array.from(r.indices.subarray(4))).toEqual([0, 1, 2, 3]);
  });

  it('returns the given out arrays', () => {
    const out = { indices: new Int32Array(2), scores: new Float32Array(2) };
    const r = js.sync.patternScores({ stored: new Float32Array([1, 2, 2, 1]), storedCount: 2, dim: 2, queries: new Float32Array([0, 1]), queryCount: 1, topK: 2, out });
    expect(r.indices).toBe(out.indices);
    expect(Array.from(out.indices)).toEqual([0, 1]);
    expect(Array.from(out.scores)).toEqual([1, -1]);
  });

  it('names the problem in argument errors', () => {
    const stored = new Float32Array(10);
    expect(() => js.sync.patternScores({ stored, storedCount: 3, dim: 4, queries: new Float32Array(4), queryCount: 1, topK: 1 }))
      .toThrow('patternScores: stored has 10 elements, needs at least 12 (storedCount 3 x dim 4)');
    expect(() => js.sync.patternScores({ stored, storedCount: 2, dim: 4, queries: new Float32Array(4), queryCount: 1, topK: 3 }))
      .toThrow('patternScores: topK must be in [1, storedCount = 2], got 3');
    expect(() => js.sync.patternScores({ stored, storedCount: 2, dim: 0, queries: new Float32Array(4), queryCount: 1, topK: 1 }))
      .toThrow('patternScores: dim must be a positive integer, got 0');
  });
});

describe('js rollingMoments', () => {
  it('matches a two-pass per window on random sizes', () => {
    const rng = seededRandom(12);
    for (let trial = 0; trial < 30; trial++) {
      const N = 1 + rng.int(3000);
      const W = 1 + rng.int(Math.min(N, 300));
      const x = rng.normals(N, 3 * rng.normal(), 0.1 + 3 * rng.next());
      const r = js.sync.rollingMoments({ series: x, length: N, window: W });
      const e = naiveRolling(x, N, W);
      let bad = 0;
      for (let i = 0; i < e.mean.length; i++) {
        if (!(Math.abs(r.mean[i] - e.mean[i]) <= 1e-6 * (Math.abs(e.mean[i]) + Math.sqrt(e.variance[i])) + 1e-12)) bad++;
        if (!(Math.abs(r.variance[i] - e.variance[i]) <= 1e-6 * e.variance[i] + 1e-12)) bad++;
      }
      expect(bad, `N=${N} W=${W}`).toBe(0);
    }
  });

  it('stays accurate on a long series with a large offset (no drift)', () => {
    const rng = seededRandom(13);
    const N = 200_000;
    const x = new Float32Array(N);
    for (let i = 0; i < N; i++) x[i] = 30_000 + (i % 5000 < 2500 ? 0.01 : 10) * rng.normal(); // price level, changing volatility
    const W = 64;
    const r = js.sync.rollingMoments({ series: x, length: N, window: W });
    const e = naiveRolling(x, N, W);
    let worst = 0;
    let worstMean = 0;
    for (let i = 0; i < e.mean.length; i++) {
      worst = Math.max(worst, Math.abs(r.variance[i] - e.variance[i]) / e.variance[i]);
      worstMean = Math.max(worstMean, Math.abs(r.mean[i] - e.mean[i]));
    }
    expect(worstMean).toBeLessThanOrEqual(2e-3); // half an ulp of float32 at 3e4 is 1e-3
    expect(worst).toBeLessThan(1e-6);
  });

  it('constant windows have exactly zero variance and the exact value as mean', () => {
    const x = new Float32Array([5, 1, 0.1, 0.1, 0.1, 0.1, 0.1, 7, 7, 7, -0, 0]);
    const r = js.sync.rollingMoments({ series: x, length: 12, window: 3 });
    expect(Array.from(r.variance.subarray(2, 5))).toEqual([0, 0, 0]);
    expect(Array.from(r.mean.subarray(2, 5))).toEqual([Math.fround(0.1), Math.fround(0.1), Math.fround(0.1)]);
    expect(r.variance[7]).toBe(0);
    expect(r.mean[7]).toBe(7);
    for (const v of r.variance) expect(v).toBeGreaterThanOrEqual(0);
  });

  it('NaN poisons exactly the windows containing it; state recovers afterwards', () => {
    const x = Float32Array.from({ length: 40 }, (_, i) => Math.sin(i));
    x[10] = Number.NaN;
    x[11] = Number.NEGATIVE_INFINITY;
    const r = js.sync.rollingMoments({ series: x, length: 40, window: 5 });
    const e = naiveRolling(x, 40, 5);
    for (let i = 0; i < e.mean.length; i++) {
      const hit = i >= 6 && i <= 11;
      expect(Number.isNaN(r.mean[i]), `mean ${i}`).toBe(hit);
      expect(Number.isNaN(r.variance[i]), `variance ${i}`).toBe(hit);
      if (!hit) expect(Math.abs(r.variance[i] - e.variance[i])).toBeLessThan(1e-7);
    }
  });
});

describe('js sgemm', () => {
  it('matches a triple loop to float32 rounding', () => {
    const rng = seededRandom(14);
    for (let trial = 0; trial < 25; trial++) {
      const m = 1 + rng.int(40);
      const n = 1 + rng.int(600);
      const k = 1 + rng.int(70);
      const a = rng.normals(m * k);
      const b = rng.normals(k * n);
      const c0 = rng.normals(m * n);
      const alpha = rng.normal();
      const beta = trial % 3 === 0 ? 0 : rng.normal();
      const c = Float32Array.from(c0);
      js.sync.sgemm({ m, n, k, a, b, c, alpha, beta });
      const e = naiveSgemm(m, n, k, alpha, beta, a, b, c0);
      let bad = 0;
      for (let i = 0; i < m * n; i++) if (!(Math.abs(c[i] - e.value[i]) <= 6e-8 * Math.abs(e.value[i]) + 1e-12 * e.magnitude[i])) bad++;
      expect(bad, `m=${m} n=${n} k=${k}`).toBe(0);
    }
  });

  it('follows BLAS for beta = 0 and alpha = 0; IEEE otherwise', () => {
    const a = new Float32Array([1, Number.NaN]);
    const b = new Float32Array([2, 3]);
    const c = new Float32Array([Number.NaN]);
    js.sync.sgemm({ m: 1, n: 1, k: 2, a, b, c, alpha: 0, beta: 0 });
    expect(c[0]).toBe(0);
    c[0] = 4;
    js.sync.sgemm({ m: 1, n: 1, k: 2, a, b, c, alpha: 0, beta: 0.5 });
    expect(c[0]).toBe(2);
    js.sync.sgemm({ m: 1, n: 1, k: 2, a, b, c, alpha: 1, beta: 0 });
    expect(Number.isNaN(c[0])).toBe(true);
    js.sync.sgemm({ m: 1, n: 1, k: 1, a, b, c });
    expect(c[0]).toBe(2);
  });

  it('rejects C overlapping A or B, and non-finite alpha/beta', async () => {
    const big = new Float32Array(16);
    expect(() => js.sync.sgemm({ m: 2, n: 2, k: 2, a: big.subarray(0, 4), b: big.subarray(8, 12), c: big.subarray(2, 6) })).toThrow('sgemm: c must not overlap a');
    expect(() => js.sync.sgemm({ m: 2, n: 2, k: 2, a: big.subarray(0, 4), b: big.subarray(8, 12), c: big.subarray(11, 15) })).toThrow('sgemm: c must not overlap b');
    const buf = js.createBuffer(64);
    await expect(js.sgemm({ m: 2, n: 2, k: 2, a: buf, b: new Float32Array(4), c: buf })).rejects.toThrow('sgemm: c must not overlap a');
    js.freeBuffer(buf);
    expect(() => js.sync.sgemm({ m: 1, n: 1, k: 1, a: big, b: big.subarray(1), c: big.subarray(2), alpha: Number.NaN })).toThrow(ComputeArgumentError);
    expect(() => js.sync.sgemm({ m: 1, n: 1, k: 1, a: big, b: big.subarray(1), c: big.subarray(2), beta: Number.POSITIVE_INFINITY })).toThrow(ComputeArgumentError);
  });

  it('rejects alpha/beta that are not 0 or a normal float32 magnitude (backends take them as float)', () => {
    // Narrowed to float, 1e-46 is 0 (the product vanishes), 4e38 Infinity (C = NaN/Inf), and a
    // subnormal 0 on a GPU that flushes denormals; the float64 oracle gave ordinary values.
    const one = () => ({ m: 1, n: 1, k: 1, a: new Float32Array([1e30]), b: new Float32Array([1e30]), c: new Float32Array(1) });
    for (const alpha of [1e-46, -1e-46, 1e-40, 4e38, -4e38, 3.4028235e38 * 1.0000001]) {
      expect(() => js.sync.sgemm({ ...one(), alpha }), String(alpha)).toThrow(/sgemm: alpha must be 0 or a float32 magnitude in \[2\^-126, 3.4028234663852886e38\]/);
      expect(() => js.sync.sgemm({ ...one(), beta: alpha }), String(alpha)).toThrow(/sgemm: beta must be 0 or a float32 magnitude/);
    }
    for (const alpha of [0, -0, 2 ** -126, -(2 ** -126), 3.4028234663852886e38, 1]) {
      expect(() => js.sync.sgemm({ ...one(), a: new Float32Array([1]), b: new Float32Array([1]), alpha, beta: alpha }), String(alpha)).not.toThrow();
    }
  });
});

describe('js monteCarloVaR', () => {
  it('equals per-path losses from the contract definition (float64, tight)', async () => {
    const rng = seededRandom(15);
    for (const [A, F, H, paths, conf] of [[3, 5, 2, 999, 0.99], [1, 1, 1, 10, 0.95], [6, 6, 4, 500, 0.5], [2, 8, 1, 123, 0.999]] as const) {
      const means = rng.normals(A, 0, 0.001);
      const factor = rng.normals(A * F, 0, 0.02);
      const weights = rng.normals(A, 0, 1000);
      const args: MonteCarloVaRArgs = { means, factor, weights, assets: A, factors: F, paths, horizon: H, confidence: conf, seed: 2n ** 63n + 17n };
      const got = await js.monteCarloVaR(args);
      const want = summariseBySort(naiveMonteCarloLosses(args), conf);
      for (const key of ['var', 'cvar', 'meanLoss', 'stdLoss'] as const) {
        expect(Math.abs(got[key] - want[key]), key).toBeLessThanOrEqual(1e-9 * (Math.abs(want[key]) + want.stdLoss));
      }
    }
  });

  it('converges to the closed form for a normal portfolio', async () => {
    // Two assets, Cholesky factor of [[s1^2, rho s1 s2], [rho s1 s2, s2^2]], horizon 4.
    const s1 = 0.02, s2 = 0.03, rho = 0.4;
    const factor = new Float32Array([s1, 0, rho * s2, s2 * Math.sqrt(1 - rho * rho)]);
    const means = new Float32Array([0.001, -0.0005]);
    const weights = new Float32Array([1_000_000, 500_000]);
    const H = 4;
    const paths = 200_000;
    // Closed form from the float32 inputs: L ~ N(-H w.mu, H |F^T w|^2).
    const v0 = weights[0] * factor[0] + weights[1] * factor[2];
    const v1 = weights[0] * factor[1] + weights[1] * factor[3];
    const sigma = Math.sqrt(H * (v0 * v0 + v1 * v1));
    const mu = -H * (weights[0] * means[0] + weights[1] * means[1]);
    const z99 = 2.3263478740408408;
    const phi = Math.exp(-z99 * z99 / 2) / Math.sqrt(2 * Math.PI);
    const r = await js.monteCarloVaR({ means, factor, weights, assets: 2, factors: 2, paths, horizon: H, confidence: 0.99, seed: 424242 });
    // Standard errors: quantile sqrt(p(1-p)/n)/phi(z) sigma = 0.0083 sigma; CVaR about 0.013 sigma.
    const seQ = Math.sqrt(0.99 * 0.01 / paths) / phi * sigma;
    expect(Math.abs(r.var - (mu + z99 * sigma))).toBeLessThan(4 * seQ);
    expect(Math.abs(r.cvar - (mu + sigma * phi / 0.01))).toBeLessThan(6 * seQ);
    expect(Math.abs(r.meanLoss - mu)).toBeLessThan(4 * sigma / Math.sqrt(paths));
    expect(Math.abs(r.stdLoss / sigma - 1)).toBeLessThan(4 * Math.sqrt(0.5 / paths));
    expect(r.paths).toBe(paths);
  });

  it('zero factor: losses are exactly -horizon * weights . means', async () => {
    const means = new Float32Array([0.5, -0.25]);
    const weights = new Float32Array([4, 2]);
    const r = await js.monteCarloVaR({ means, factor: new Float32Array(4), weights, assets: 2, factors: 2, paths: 100, horizon: 3, confidence: 0.9, seed: 1 });
    expect(r).toEqual({ var: -4.5, cvar: -4.5, meanLoss: -4.5, stdLoss: 0, paths: 100 });
  });

  it('applies the quantile rule ceil(confidence * paths) - 1', async () => {
    // One factor with unit exposure: losses are -z, so the rule can be checked on the draws.
    const args: MonteCarloVaRArgs = { means: new Float32Array(1), factor: new Float32Array([1]), weights: new Float32Array([1]), assets: 1, factors: 1, paths: 10, confidence: 0.95, seed: 3 };
    const losses = naiveMonteCarloLosses(args).sort();
    const r = await js.monteCarloVaR(args);
    expect(r.var).toBe(losses[9]); // ceil(9.5) - 1 = 9
    expect(r.cvar).toBe(losses[9]);
    const r2 = await js.monteCarloVaR({ ...args, confidence: 0.8 });
    expect(r2.var).toBe(losses[7]); // ceil(8) - 1 = 7
    expect(r2.cvar).toBeCloseTo((losses[7] + losses[8] + losses[9]) / 3, 12);
  });

  it('names invalid seeds and non-finite inputs', async () => {
    const base: MonteCarloVaRArgs = { means: new Float32Array(1), factor: new Float32Array([1]), weights: new Float32Array([1]), assets: 1, factors: 1, paths: 10, confidence: 0.95, seed: 3 };
    await expect(js.monteCarloVaR({ ...base, seed: -5 })).rejects.toThrow(/^monteCarloVaR: seed must be/);
    await expect(js.monteCarloVaR({ ...base, weights: new Float32Array([Number.NaN]) })).rejects.toThrow('monteCarloVaR: weights[0] is NaN; inputs must be finite');
    await expect(js.monteCarloVaR({ ...base, confidence: 1 })).rejects.toThrow('monteCarloVaR: confidence must be a number in (0, 1), got 1');
  });

  it('selectKth agrees with a sort, including heavy duplicates', () => {
    const rng = seededRandom(16);
    for (let trial = 0; trial < 250; trial++) {
      const n = 1 + rng.int(trial < 200 ? 40 : 2000);
      const a = new Float64Array(n);
      const distinct = 1 + rng.int(trial % 2 === 0 ? 3 : 1000);
      for (let i = 0; i < n; i++) a[i] = rng.int(distinct) - distinct / 2;
      if (trial % 5 === 0) a.sort(); // sorted input
      if (trial % 7 === 0) a.reverse();
      const k = rng.int(n);
      const sorted = Float64Array.from(a).sort();
      selectKth(a, k);
      expect(a[k]).toBe(sorted[k]);
      let bad = 0;
      for (let i = 0; i < k; i++) if (!(a[i] <= a[k])) bad++;
      for (let i = k + 1; i < n; i++) if (!(a[i] >= a[k])) bad++;
      expect(bad).toBe(0);
      expect(Float64Array.from(a).sort()).toEqual(sorted);
    }
  });
});

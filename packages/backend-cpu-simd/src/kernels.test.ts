/**
 * Direct tests of the native kernels: every kernel set this CPU runs (avx512 / avx2 / neon /
 * scalar), 1 and 2 threads, BLAS and built-in sgemm, against the JS reference backend; edge
 * sizes around vector widths, chunk and task boundaries; sync vs async; concurrency.
 * Gated by the probe: where the addon is not built, each test skips itself with the reason.
 */
import { ComputeArgumentError, type ComputeBackend } from '@cwts/core';
import { JsComputeBackend } from '@cwts/core/compute';
import { seededRandom, skipUnlessRequired } from '@cwts/core/testing';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { CpuSimdBackend } from './backend.js';
import { cpuSimdProvider, type Isa } from './index.js';

const ref = new JsComputeBackend();
const made: ComputeBackend[] = [];
afterAll(async () => {
  for (const b of made) await b.dispose();
  await ref.dispose();
});

let probeReason: string | undefined;
let supported: Isa[] = [];
const probed = cpuSimdProvider.probe().then((p) => {
  if (!p.available) probeReason = p.reason;
  else supported = String(p.device.details?.supported ?? 'scalar').split(',') as Isa[];
});

async function backend(ctx: TestContext, settings: Record<string, unknown> = {}, threads = 2): Promise<CpuSimdBackend> {
  await probed;
  if (probeReason !== undefined) skipUnlessRequired(ctx, 'cpu-simd', probeReason);
  const b = (await cpuSimdProvider.create({ threadPoolSize: threads, settings })) as CpuSimdBackend;
  made.push(b);
  return b;
}

/** Every kernel set this machine runs, each with 1 and 2 threads. */
async function allVariants(ctx: TestContext): Promise<CpuSimdBackend[]> {
  await probed;
  if (probeReason !== undefined) skipUnlessRequired(ctx, 'cpu-simd', probeReason);
  const out: CpuSimdBackend[] = [];
  for (const isa of supported) for (const threads of [1, 2]) out.push(await backend(ctx, { isa, blas: false }, threads));
  return out;
}

function randomWindows(seed: number, K: number, D: number): Float32Array {
  const rng = seededRandom(seed);
  const x = new Float32Array(K * D);
  for (let k = 0; k < K; k++) {
    const off = 100 * rng.normal();
    const sc = 0.01 + 3 * rng.next();
    for (let d = 0; d < D; d++) x[k * D + d] = off + sc * rng.normal();
  }
  return x;
}

describe('cpu-simd kernels vs the JS reference', () => {
  it('the probe reports the SIMD path it chose', async (ctx) => {
    const b = await backend(ctx);
    const p = await cpuSimdProvider.probe();
    expect(p.available).toBe(true);
    if (!p.available) return;
    expect(['avx512', 'avx2', 'neon', 'scalar']).toContain(p.device.details?.simd);
    expect(b.isa).toBe(p.device.details?.simd);
    expect(b.device.details?.threads).toBe(2);
    const scalar = await backend(ctx, { simd_enabled: false });
    expect(scalar.isa).toBe('scalar');
    expect(scalar.device.details?.simd).toBe('scalar');
  });

  it('patternScores: shapes around vector widths and task splits', async (ctx) => {
    const variants = await allVariants(ctx);
    for (const [B, K, D, topK] of [[1, 1, 1, 1], [3, 17, 5, 4], [5, 33, 64, 33], [2, 4099, 16, 7], [1, 20000, 64, 10], [7, 1000, 3, 1000]] as const) {
      const stored = randomWindows(B * 7 + K, K, D);
      const queries = randomWindows(K + 1, B, D);
      // Duplicates of query 0 spread over the store (ties across task boundaries), constants.
      for (const k of [K - 1, Math.floor(K / 2), 0]) stored.set(queries.subarray(0, D), k * D);
      if (K > 3) stored.fill(42, 1 * D, 2 * D);
      const args = { stored, storedCount: K, dim: D, queries, queryCount: B, topK, returnAllScores: true };
      const want = await ref.patternScores(args);
      for (const b of variants) {
        const got = await b.patternScores(args);
        const label = `${b.isa}/${b.threads} B=${B} K=${K} D=${D}`;
        for (let i = 0; i < want.allScores!.length; i++) {
          if (!(Math.abs(got.allScores![i] - want.allScores![i]) <= 2e-4)) throw new Error(`${label}: score ${i} ${got.allScores![i]} vs ${want.allScores![i]}`);
        }
        // Top-k: same scores in order; indices equal wherever scores are not near-tied.
        for (let i = 0; i < want.scores.length; i++) {
          expect(Math.abs(got.scores[i] - want.scores[i]), label).toBeLessThanOrEqual(2e-4);
          expect(got.allScores![Math.floor(i / topK) * K + got.indices[i]], label).toBe(got.scores[i]);
        }
        if (D > 1) {
          // Exact duplicates of query 0 score 1 and come lowest index first.
          const dup = [0, Math.floor(K / 2), K - 1].filter((v, i, a) => a.indexOf(v) === i).sort((x, y) => x - y);
          expect(Array.from(got.indices.subarray(0, Math.min(topK, dup.length))), label).toEqual(dup.slice(0, topK));
        }
      }
    }
  });

  it('patternScores: NaN/Infinity and constant windows score 0; sync equals async', async (ctx) => {
    const variants = await allVariants(ctx);
    const K = 300;
    const D = 20;
    const stored = randomWindows(5, K, D);
    stored[7 * D + 3] = NaN;
    stored[40 * D] = Infinity;
    stored[41 * D + 19] = -Infinity;
    stored.fill(-3, 100 * D, 101 * D);
    const queries = randomWindows(6, 3, D);
    queries[2 * D + 5] = NaN;
    const args = { stored, storedCount: K, dim: D, queries, queryCount: 3, topK: 5, returnAllScores: true };
    for (const b of variants) {
      const a = await b.patternScores(args);
      const s = b.sync.patternScores(args);
      expect(s.allScores).toEqual(a.allScores);
      for (const k of [7, 40, 41, 100]) for (let q = 0; q < 3; q++) expect(a.allScores![q * K + k]).toBe(0);
      for (let k = 0; k < K; k++) expect(a.allScores![2 * K + k]).toBe(0);
      expect(Array.from(a.indices.subarray(10, 15))).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it('rollingMoments: window sizes, chunk boundaries, constants, NaN placement', async (ctx) => {
    const variants = await allVariants(ctx);
    const rng = seededRandom(11);
    for (const [N, W] of [[1, 1], [5, 1], [7, 7], [9, 3], [33, 17], [5000, 20], [20000, 4097], [70000, 64], [12000, 1]] as const) {
      const x = new Float32Array(N);
      let p = 30000;
      for (let i = 0; i < N; i++) x[i] = p += rng.normal() * (i % 3000 < 1500 ? 0.5 : 5);
      if (N > 100) {
        x.fill(123.25, 50, 50 + 2 * W + 3); // constant stretch
        x[4096 + 5] = NaN;
        if (N > 9000) x[8192 + W] = Infinity;
        if (N > 20000) x[N - 2] = -Infinity;
      }
      const want = await ref.rollingMoments({ series: x, length: N, window: W });
      for (const b of variants) {
        const got = await b.rollingMoments({ series: x, length: N, window: W });
        const label = `${b.isa}/${b.threads} N=${N} W=${W}`;
        for (let i = 0; i < want.mean.length; i++) {
          const wm = want.mean[i];
          const wv = want.variance[i];
          if (Number.isNaN(wm)) {
            if (!Number.isNaN(got.mean[i]) || !Number.isNaN(got.variance[i])) throw new Error(`${label}: ${i} should be NaN`);
            continue;
          }
          const sd = Math.sqrt(wv);
          if (!(Math.abs(got.mean[i] - wm) <= 1e-4 * (Math.abs(wm) + sd))) throw new Error(`${label}: mean[${i}] ${got.mean[i]} vs ${wm}`);
          if (!(Math.abs(got.variance[i] - wv) <= 1e-4 * (wv + wm * wm * 1e-6) + 1e-30)) {
            throw new Error(`${label}: variance[${i}] ${got.variance[i]} vs ${wv}`);
          }
          if (wv === 0 && got.variance[i] !== 0) throw new Error(`${label}: variance[${i}] must be exactly 0`);
          if (got.variance[i] < 0) throw new Error(`${label}: negative variance at ${i}`);
        }
      }
    }
  });

  it('sgemm: built-in kernel on every kernel set, and the BLAS, match the reference', async (ctx) => {
    const variants = await allVariants(ctx);
    const blas = await backend(ctx, { blas: true });
    const rng = seededRandom(3);
    for (const [m, n, k] of [[1, 1, 1], [7, 33, 5], [6, 32, 256], [97, 65, 300], [13, 200, 9], [130, 1030, 70]] as const) {
      const a = rng.normals(m * k);
      const bm = rng.normals(k * n);
      const c0 = rng.normals(m * n);
      for (const [alpha, beta] of [[1, 0], [0.5, 2], [-1.5, 1]]) {
        const want = Float32Array.from(c0);
        await ref.sgemm({ m, n, k, a, b: bm, c: want, alpha, beta });
        for (const b of [...variants, blas]) {
          const c = Float32Array.from(c0);
          await b.sgemm({ m, n, k, a, b: bm, c, alpha, beta });
          const tol = 1e-4 * Math.max(1, k / 1024) * (Math.abs(alpha) * k * 4 + Math.abs(beta) * 4);
          for (let i = 0; i < m * n; i++) {
            if (!(Math.abs(c[i] - want[i]) <= tol)) throw new Error(`${b.isa}/${b.threads}/blas=${b.usesBlas} ${m}x${n}x${k}: c[${i}] ${c[i]} vs ${want[i]}`);
          }
        }
      }
    }
  });

  it('monteCarloVaR: identical on every kernel set and thread count, reproducible from the seed', async (ctx) => {
    const variants = await allVariants(ctx);
    const A = 5;
    const F = 7;
    const rng = seededRandom(9);
    const args = {
      means: rng.normals(A, 0.0005, 0.001),
      factor: rng.normals(A * F, 0, 0.02),
      weights: rng.normals(A, 1000, 300),
      assets: A,
      factors: F,
      paths: 20000,
      horizon: 3,
      confidence: 0.99,
      seed: 0x1234_5678_9abc_def0n,
    };
    const want = await ref.monteCarloVaR(args);
    const first = await variants[0]!.monteCarloVaR(args);
    for (const b of variants) {
      const got = await b.monteCarloVaR(args);
      expect(got, `${b.isa}/${b.threads}`).toEqual(first);
      for (const key of ['var', 'cvar', 'meanLoss', 'stdLoss'] as const) {
        expect(Math.abs(got[key] - want[key])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want.stdLoss)));
      }
    }
    expect(await variants[0]!.monteCarloVaR({ ...args, seed: 1 })).not.toEqual(first);
  });

  it('copy moves bytes (threaded, non-temporal path for large sizes)', async (ctx) => {
    for (const b of await allVariants(ctx)) {
      for (const bytes of [1, 63, 4096 + 3, (8 << 20) + 17]) {
        const src = b.createBuffer(bytes + 5);
        const dst = b.createBuffer(bytes + 9);
        const data = new Uint8Array(bytes + 5);
        for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 255;
        await b.upload(src, data);
        await b.copy(src, dst, bytes);
        const back = new Uint8Array(bytes + 9);
        await b.download(dst, back);
        expect(Buffer.compare(back.subarray(0, bytes), data.subarray(0, bytes))).toBe(0);
        expect(back[bytes]).toBe(0);
        b.freeBuffer(src);
        b.freeBuffer(dst);
      }
    }
  });

  it('large calls run off the JS thread and match the synchronous path; concurrent calls are safe', async (ctx) => {
    const b = await backend(ctx, { async_threshold: 0 });
    const K = 20000;
    const D = 32;
    const stored = randomWindows(1, K, D);
    const queries = randomWindows(2, 4, D);
    const args = { stored, storedCount: K, dim: D, queries, queryCount: 4, topK: 8 };
    const sync = b.sync.patternScores(args);
    let ticked = false;
    setImmediate(() => {
      ticked = true;
    });
    const pending = b.patternScores(args);
    const series = randomWindows(3, 1, 100000);
    const many = await Promise.all([pending, b.patternScores(args), b.rollingMoments({ series, length: 100000, window: 50 })]);
    // While the async calls ran, a sync call on the JS thread still works (pool busy => inline).
    expect(b.sync.patternScores(args)).toEqual(sync);
    expect(ticked).toBe(true);
    expect(many[0]).toEqual(sync);
    expect(many[1]).toEqual(sync);
    expect(many[2]).toEqual(b.sync.rollingMoments({ series, length: 100000, window: 50 }));
  });
});

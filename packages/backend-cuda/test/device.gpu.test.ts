// Device-only checks of the CUDA kernels beyond the conformance suite: every sgemm code path
// (float4 and scalar loads, edge tiles, the swapped grid, alpha/beta rules), cuBLAS agreement in
// the same run, long rolling series (the run-length choice), Monte Carlo agreement with the
// float64 oracle, call-order effects on buffers (those chained through host arrays are the
// conformance suite's, conformance.gpu.test.ts), host arrays over a SharedArrayBuffer, and memory reuse. Skips with the probe's reason without a GPU.
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { JsComputeBackend } from '@cwts/core/compute';
import { naiveSgemm, seededRandom } from '@cwts/core/testing';
import { cudaProvider, type GpuComputeBackend } from '../src/index.js';
// @ts-expect-error: a plain ESM script of the package, without types.
import { checkSgemmVariants } from '../scripts/device-figures.mjs';

let backend: GpuComputeBackend | undefined;
let unavailable = '';
const js = new JsComputeBackend();

beforeAll(async () => {
  const p = await cudaProvider.probe();
  if (!p.available) {
    unavailable = `cuda unavailable: ${p.reason}`;
    return;
  }
  backend = (await cudaProvider.create({})) as GpuComputeBackend;
});
afterAll(async () => {
  await backend?.dispose();
});

function use(ctx: TestContext): GpuComputeBackend {
  if (!backend) ctx.skip(unavailable);
  return backend!;
}

const rnd = seededRandom(15);
function randomF32(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rnd.next() * 2 - 1;
  return a;
}

/** The conformance suite's sgemm rule: rel * max(1, k / 1024) * (|alpha| sum |a b| + |beta c|) per element. */
function expectClose(got: Float32Array, want: ArrayLike<number>, k: number, magnitude: ArrayLike<number>): void {
  for (let i = 0; i < want.length; i++) {
    const tol = 1e-4 * Math.max(1, k / 1024) * magnitude[i]! + 1e-30;
    if (!(Math.abs(got[i]! - want[i]!) <= tol)) throw new Error(`element ${i}: got ${got[i]}, want ${want[i]} (tol ${tol})`);
  }
}

describe('cuda device kernels', () => {
  it.for([
    [1, 1, 1], [3, 5, 7], [130, 129, 17], [256, 260, 64], [385, 2, 300], [2, 1000, 9], [64, 64, 1000],
  ] as const)('sgemm %i x %i x %i matches a triple loop (host and device arguments)', async ([m, n, k], ctx) => {
    const b = use(ctx);
    const A = randomF32(m * k);
    const B = randomF32(k * n);
    const C0 = randomF32(m * n);
    const want = naiveSgemm(m, n, k, 0.5, -2, A, B, C0);
    const host = Float32Array.from(C0);
    await b.sgemm({ m, n, k, alpha: 0.5, beta: -2, a: A, b: B, c: host });
    expectClose(host, want.value, k, want.magnitude);
    const [da, db, dc] = [b.createBuffer(A.byteLength), b.createBuffer(B.byteLength), b.createBuffer(C0.byteLength)];
    void b.upload(da, A);
    void b.upload(db, B);
    void b.upload(dc, C0);
    await b.sgemm({ m, n, k, alpha: 0.5, beta: -2, a: da, b: db, c: dc });
    const back = new Float32Array(m * n);
    await b.download(dc, back);
    expect(back).toEqual(host);
    for (const x of [da, db, dc]) b.freeBuffer(x);
  });

  it('sgemm alpha = 0 reads neither A nor B; beta = 0 does not read C', async (ctx) => {
    const b = use(ctx);
    const nan = new Float32Array(16).fill(Number.NaN);
    const c = new Float32Array(16).fill(3);
    await b.sgemm({ m: 4, n: 4, k: 4, alpha: 0, beta: 2, a: nan, b: nan, c });
    expect(Array.from(c)).toEqual(new Array(16).fill(6));
    c.fill(Number.NaN);
    await b.sgemm({ m: 4, n: 4, k: 4, a: new Float32Array(16).fill(1), b: new Float32Array(16).fill(1), c });
    expect(Array.from(c)).toEqual(new Array(16).fill(4));
  });

  it('our sgemm agrees with cuBLAS in the same run', async (ctx) => {
    const b = use(ctx);
    if (!b.info.vendorBlas) ctx.skip(`no cuBLAS on this host: ${b.info.vendorBlasReason}`);
    const m = 517, n = 300, k = 259;
    const A = randomF32(m * k);
    const B = randomF32(k * n);
    const ours = new Float32Array(m * n);
    const theirs = new Float32Array(m * n);
    await b.sgemm({ m, n, k, a: A, b: B, c: ours });
    await b.vendorSgemm({ m, n, k, a: A, b: B, c: theirs });
    expectClose(ours, theirs, k, naiveSgemm(m, n, k, 1, 0, A, B, ours).magnitude);
  });

  it('rollingMoments over a long series with a long window matches the oracle', async (ctx) => {
    const b = use(ctx);
    const N = 1 << 20;
    const x = new Float32Array(N);
    let level = 100;
    for (let i = 0; i < N; i++) {
      level += rnd.next() - 0.5;
      x[i] = i % 100_000 < 5_000 ? 42 : level; // constant stretches exercise the exact path
    }
    x[777_777] = Number.NaN;
    for (const W of [1, 3, 1000, 20_000]) {
      const got = await b.rollingMoments({ series: x, length: N, window: W });
      const want = await js.rollingMoments({ series: x, length: N, window: W });
      for (let i = 0; i < want.mean.length; i++) {
        const wm = want.mean[i]!, wv = want.variance[i]!;
        if (Number.isNaN(wm)) {
          expect(Number.isNaN(got.mean[i]!) && Number.isNaN(got.variance[i]!)).toBe(true);
          continue;
        }
        if (wv === 0) expect(got.variance[i]).toBe(0);
        const sd = Math.sqrt(wv);
        // Both keep float64 state and round once: far inside the suite's 1e-4.
        if (!(Math.abs(got.mean[i]! - wm) <= 1e-6 * (Math.abs(wm) + sd))) throw new Error(`W=${W} mean[${i}] ${got.mean[i]} vs ${wm}`);
        if (!(Math.abs(got.variance[i]! - wv) <= 1e-6 * (wv + wm * wm))) throw new Error(`W=${W} variance[${i}] ${got.variance[i]} vs ${wv}`);
      }
    }
  });

  it('monteCarloVaR draws the oracle\'s Philox normals in float64: agreement to 1e-9', async (ctx) => {
    const b = use(ctx);
    const A = 7, F = 5;
    const args = {
      means: randomF32(A).map((v) => v * 1e-3), factor: randomF32(A * F).map((v) => v * 0.02), assets: A, factors: F,
      weights: randomF32(A).map((v) => v * 1e5), paths: 200_000, horizon: 3, confidence: 0.99, seed: 0xfeedface12345n,
    };
    const got = await b.monteCarloVaR(args);
    const want = await js.monteCarloVaR(args);
    for (const key of ['var', 'cvar', 'meanLoss', 'stdLoss'] as const) {
      expect(Math.abs(got[key] - want[key])).toBeLessThanOrEqual(1e-9 * Math.max(Math.abs(want[key]), want.stdLoss));
    }
  });

  it('patternScores across many tiles, odd dims and ties matches the oracle', async (ctx) => {
    const b = use(ctx);
    const K = 1000, D = 37, B = 130;
    const stored = randomF32(K * D);
    stored.copyWithin(5 * D, 3 * D, 4 * D); // a tie between windows 3 and 5
    const queries = randomF32(B * D);
    queries.set(stored.subarray(3 * D, 4 * D), 0);
    const got = await b.patternScores({ stored, storedCount: K, dim: D, queries, queryCount: B, topK: 10, returnAllScores: true });
    const want = await js.patternScores({ stored, storedCount: K, dim: D, queries, queryCount: B, topK: 10, returnAllScores: true });
    for (let i = 0; i < want.allScores!.length; i++) expect(Math.abs(got.allScores![i]! - want.allScores![i]!)).toBeLessThanOrEqual(2e-4);
    expect(Array.from(got.indices.subarray(0, 2))).toEqual([3, 5]);
  });

  it('takes effect in call order and reuses its staging memory', async (ctx) => {
    const b = use(ctx);
    const buf = b.createBuffer(4 * 1024);
    const series = new Float32Array(1024).map((_, i) => i);
    void b.upload(buf, series);
    const first = b.rollingMoments({ series: buf, length: 1024, window: 4 });
    void b.upload(buf, new Float32Array(1024).fill(7));
    const second = b.rollingMoments({ series: buf, length: 1024, window: 4 });
    expect((await first).mean[0]).toBeCloseTo(1.5, 6);
    expect((await second).variance.every((v) => v === 0)).toBe(true);
    b.freeBuffer(buf);
    const x = randomF32(1 << 16);
    await b.rollingMoments({ series: x, length: x.length, window: 10 });
    const held = b.memoryInUse;
    for (let i = 0; i < 50; i++) await b.rollingMoments({ series: x, length: x.length, window: 10 });
    expect(b.memoryInUse).toBe(held);
  });
});

// Un-awaited calls chained through host arrays (real stream and completion threads): the
// conformance suite's "order" section, in conformance.gpu.test.ts.
describe('cuda device: host arrays', () => {
  it('host arrays over a SharedArrayBuffer work like any other (kernel inputs and outputs, upload, download)', async (ctx) => {
    const b = use(ctx);
    const shared = (n: number): Float32Array => new Float32Array(new SharedArrayBuffer(n * 4));
    const a = shared(4), bm = shared(4), c = shared(4);
    a.set([1, 2, 3, 4]);
    bm.set([5, 6, 7, 8]);
    c.fill(1);
    await b.sgemm({ m: 2, n: 2, k: 2, a, b: bm, c, beta: 1 });
    expect(Array.from(c)).toEqual([20, 23, 44, 51]);
    const series = shared(64).map((_, i) => i);
    const out = { mean: shared(61), variance: shared(61) };
    await b.rollingMoments({ series, length: 64, window: 4, out });
    expect(out.mean[0]).toBeCloseTo(1.5, 6);
    const buf = b.createBuffer(64 * 4);
    await b.upload(buf, series);
    const back = shared(64);
    await b.download(buf, back);
    expect(back).toEqual(series);
    b.freeBuffer(buf);
  });
});

describe('cuda sgemm variants on the device', () => {
  // Each candidate kernel (kernels.cu, "sgemm variants"; the cp.async pipelines run only here,
  // the emulation covers their logic) on odd sizes, k = 1, alpha/beta rules and B^T, against a
  // float64 reference: the same check gpu-check makes before timing a variant.
  it('every variant matches the float64 reference on every checked shape', (ctx) => {
    const b = use(ctx);
    const checks = checkSgemmVariants(b.native) as { variant: number; name: string; correct: boolean; failures: string[] }[];
    expect(checks.length).toBe(b.native.sgemmVariants().length);
    for (const c of checks) expect(c.failures, `variant ${c.variant}: ${c.name}`).toEqual([]);
  }, 120_000);
});

// Un-awaited calls that meet through host arrays behave as if run one after the other (the
// compute contract's "Order", docs/writing-a-compute-backend.md). The addon copies host inputs
// into pinned staging when a call is made and writes host outputs when it completes, so before
// HostArrayCallOrder (@cwts/core/compute) a second call reading (or accumulating into) an earlier un-awaited call's
// host output computed on stale data: two `sgemm(c += A B)` on one host C gave C0 + A B, and
// `sgemm(c: tmp)` then `sgemm(a: tmp)` read tmp unwritten. One set of cases, run over the JS
// stand-in context (glue.test.ts), the real addon on the emulated runtime
// (addon.emulated.test.ts) and a GPU (device.gpu.test.ts).
import { expect, it, type TestContext } from 'vitest';
import { JsComputeBackend } from '@cwts/core/compute';
import type { GpuComputeBackend } from '../src/index.js';

const M = 64;
const filled = (n: number, v: number): Float32Array => new Float32Array(n).fill(v);
/** Elements of `x` that are not `v`. */
const countNot = (x: Float32Array, v: number): number => x.reduce((bad, e) => (e === v ? bad : bad + 1), 0);

/** Defines the cases; `backend(ctx)` gives the backend under test (or skips `ctx`). */
export function hostArrayOrderCases(label: string, backend: (ctx: TestContext) => Promise<GpuComputeBackend>): void {
  it(`${label}: two accumulating sgemm calls on one host C (beta = 1): both products land`, async (ctx) => {
    const b = await backend(ctx);
    const a = filled(M * M, 1), bm = filled(M * M, 1);
    const c = filled(M * M, 3);
    await Promise.all([b.sgemm({ m: M, n: M, k: M, a, b: bm, c, beta: 1 }), b.sgemm({ m: M, n: M, k: M, a, b: bm, c, beta: 1 })]);
    expect(countNot(c, 3 + 2 * M), 'elements of C missing a product').toBe(0);
  });

  it(`${label}: a kernel reading an earlier kernel's host output reads that output`, async (ctx) => {
    const b = await backend(ctx);
    const a = filled(M * M, 1), bm = filled(M * M, 1);
    const tmp = new Float32Array(M * M);
    const out = new Float32Array(M * M);
    await Promise.all([b.sgemm({ m: M, n: M, k: M, a, b: bm, c: tmp }), b.sgemm({ m: M, n: M, k: M, a: tmp, b: bm, c: out })]);
    expect(countNot(tmp, M)).toBe(0);
    expect(countNot(out, M * M), 'elements computed from tmp before the first call wrote it').toBe(0);
  });

  it(`${label}: rollingMoments and patternScores over a download's destination, an upload from a kernel's host output`, async (ctx) => {
    const b = await backend(ctx);
    const n = 256;
    const buf = b.createBuffer(n * 4);
    const copyBuf = b.createBuffer(M * M * 4);
    try {
      await b.upload(buf, Float32Array.from({ length: n }, (_, i) => i));
      const host = new Float32Array(n); // zeros (a constant row, scores 0) until the download completes
      const tmp = new Float32Array(M * M);
      const [, stats, scores] = await Promise.all([
        b.download(buf, host),
        b.rollingMoments({ series: host, length: n, window: n }),
        b.patternScores({ stored: host, storedCount: 1, dim: n, queries: host, queryCount: 1, topK: 1 }),
        b.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 2), c: tmp }),
        b.upload(copyBuf, tmp), // must carry the product, not zeros
      ]);
      expect(stats.mean[0]).toBe((n - 1) / 2);
      expect(scores.scores[0]).toBeCloseTo(1, 5);
      const back = new Float32Array(M * M);
      await b.download(copyBuf, back);
      expect(countNot(back, 2 * M)).toBe(0);
    } finally {
      b.freeBuffer(buf);
      b.freeBuffer(copyBuf);
    }
  });

  it(`${label}: a kernel reading patternScores' and rollingMoments' out arrays reads what they wrote`, async (ctx) => {
    const b = await backend(ctx);
    const D = 8;
    const stored = Float32Array.from({ length: 4 * D }, (_, i) => Math.sin(i * 0.7));
    const out = { indices: new Int32Array(4), scores: new Float32Array(4) }; // zeros until written
    const series = Float32Array.from({ length: 20 }, (_, i) => i);
    const moments = { mean: new Float32Array(16), variance: new Float32Array(16) };
    const sum = new Float32Array(1);
    const meanSum = new Float32Array(1);
    await Promise.all([
      b.patternScores({ stored, storedCount: 4, dim: D, queries: stored.subarray(0, D), queryCount: 1, topK: 4, out }),
      b.sgemm({ m: 1, n: 1, k: 4, a: out.scores, b: filled(4, 1), c: sum }),
      b.rollingMoments({ series, length: 20, window: 5, out: moments }),
      b.sgemm({ m: 1, n: 1, k: 16, a: moments.mean, b: filled(16, 1), c: meanSum }),
    ]);
    expect(out.scores[0]).toBeCloseTo(1, 5);
    expect(sum[0]).toBeCloseTo(out.scores.reduce((s, x) => s + x, 0), 5);
    expect(meanSum[0]).toBeCloseTo(moments.mean.reduce((s, x) => s + x, 0), 3);
    expect(meanSum[0]).toBeCloseTo(16 * 9.5, 3); // means 2, 3, ..., 17
  });

  it(`${label}: monteCarloVaR reads a factor an un-awaited sgemm writes (NaN before it), as the oracle run in order does`, async (ctx) => {
    const b = await backend(ctx);
    const A = 2, F = 2;
    const factor = filled(A * F, Number.NaN); // would be rejected (not finite) if read at the call
    const scale = Float32Array.of(0.01, 0, 0, 0.02);
    const identity = Float32Array.of(1, 0, 0, 1);
    const args = { means: Float32Array.of(0, 0), factor, assets: A, factors: F, weights: Float32Array.of(100, 50), paths: 1000, confidence: 0.95, seed: 3 };
    const [, got] = await Promise.all([b.sgemm({ m: A, n: F, k: A, a: scale, b: identity, c: factor }), b.monteCarloVaR(args)]);
    expect(Array.from(factor)).toEqual(Array.from(scale));
    const want = await new JsComputeBackend().monteCarloVaR(args);
    for (const key of ['var', 'cvar', 'stdLoss'] as const) expect(Math.abs(got[key] - want[key])).toBeLessThanOrEqual(1e-9 * want.stdLoss);
  });

  it(`${label}: a call that waits takes its other inputs as they were at the call, and later calls keep call order`, async (ctx) => {
    const b = await backend(ctx);
    // `both` is a 2M x M matrix: its first half `tmp` is written by the first sgemm, its second
    // half (5s) is changed by the caller after the second call, which must read tmp as written
    // and the second half as it was when called.
    const both = new Float32Array(2 * M * M);
    const tmp = both.subarray(0, M * M);
    both.fill(5, M * M);
    const dev = b.createBuffer(M * M * 4);
    let freed = false;
    try {
      await b.upload(dev, filled(M * M, 1));
      const out = new Float32Array(M * M);
      const calls: Promise<unknown>[] = [
        b.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 1), c: tmp }), // tmp = M
        b.sgemm({ m: M, n: M, k: 2 * M, a: filled(M * 2 * M, 1), b: both, c: out }), // column sums of `both`
      ];
      both.fill(-1, M * M);
      // Made while the second sgemm waits for its turn: they queue behind it, in call order.
      const stats = b.rollingMoments({ series: dev, length: M * M, window: M * M }); // sees the 1s
      calls.push(b.upload(dev, filled(M * M, 9)));
      b.freeBuffer(dev); // for later calls at once; the memory after the calls above were enqueued
      freed = true;
      await Promise.all(calls);
      expect(countNot(out, M * M + 5 * M)).toBe(0);
      expect((await stats).mean[0]).toBe(1);
    } finally {
      if (!freed) b.freeBuffer(dev);
    }
  });

  it(`${label}: alpha = 0 over NaN in A (still being written by an earlier call) and B gives beta C`, async (ctx) => {
    const b = await backend(ctx);
    const a = filled(M * M, Number.NaN); // an earlier call writes a; alpha = 0 does not read it
    const c = filled(M * M, 4);
    const z = filled(M * M, Number.NaN);
    await Promise.all([
      b.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 1), c: a }),
      b.sgemm({ m: M, n: M, k: M, a, b: filled(M * M, Number.NaN), c, alpha: 0, beta: 0.5 }),
      b.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 2), c: z }),
    ]);
    expect(countNot(a, M)).toBe(0);
    expect(countNot(c, 2)).toBe(0);
    expect(countNot(z, 2 * M)).toBe(0);
  });
}

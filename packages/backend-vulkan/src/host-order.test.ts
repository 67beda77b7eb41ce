// Un-awaited calls that meet through host arrays behave as if run one after the other (the
// compute contract's "Order"). Host inputs are copied when a call is recorded and host outputs
// written when it completes, so before call-order.ts a second call reading (or accumulating
// into) an earlier un-awaited call's host output computed on stale data: two `sgemm(c += A B)`
// on one host C gave C0 + A B, and `sgemm(c: tmp)` then `sgemm(a: tmp)` read tmp unwritten.
// Device tests skip (with the probe's reason) where Vulkan is unavailable.
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { JsComputeBackend } from '@cwts/core/compute';
import { skipUnlessRequired } from '@cwts/core/testing';
import { createVulkanBackend, vulkanProvider, type VulkanBackend } from './index.js';

let be: VulkanBackend | undefined;
async function backend(ctx: TestContext): Promise<VulkanBackend> {
  const p = await vulkanProvider.probe();
  if (!p.available) skipUnlessRequired(ctx, 'vulkan', `vulkan unavailable: ${p.reason}`);
  be ??= await createVulkanBackend({});
  return be;
}
afterAll(async () => {
  await be?.dispose();
});

const M = 64;
const filled = (n: number, v: number): Float32Array => new Float32Array(n).fill(v);
/** Elements of `x` (its first `count`) that are not `v`. */
const countNot = (x: Float32Array, v: number, count = x.length): number => {
  let bad = 0;
  for (let i = 0; i < count; i++) if (x[i] !== v) bad++;
  return bad;
};

describe('vulkan: un-awaited calls chained through host arrays run as if one after the other', () => {
  it('two accumulating sgemm calls on one host C (beta = 1): both products land', async (ctx) => {
    const v = await backend(ctx);
    const a = filled(M * M, 1), b = filled(M * M, 1);
    const c = filled(M * M, 3);
    await Promise.all([v.sgemm({ m: M, n: M, k: M, a, b, c, beta: 1 }), v.sgemm({ m: M, n: M, k: M, a, b, c, beta: 1 })]);
    expect(countNot(c, 3 + 2 * M), 'elements of C missing a product').toBe(0);
  });

  it("a kernel reading an earlier kernel's host output reads that output", async (ctx) => {
    const v = await backend(ctx);
    const a = filled(M * M, 1), b = filled(M * M, 1);
    const tmp = new Float32Array(M * M);
    const out = new Float32Array(M * M);
    await Promise.all([v.sgemm({ m: M, n: M, k: M, a, b, c: tmp }), v.sgemm({ m: M, n: M, k: M, a: tmp, b, c: out })]);
    expect(countNot(tmp, M)).toBe(0);
    expect(countNot(out, M * M), 'elements computed from tmp before the first call wrote it').toBe(0);
  });

  it("rollingMoments over a download's destination, and an upload from a kernel's host output, see the data written", async (ctx) => {
    const v = await backend(ctx);
    const n = 256;
    const buf = v.createBuffer(n * 4);
    const copyBuf = v.createBuffer(M * M * 4);
    try {
      await v.upload(buf, Float32Array.from({ length: n }, (_, i) => i));
      const host = new Float32Array(n); // zeros until the download completes
      const tmp = new Float32Array(M * M);
      const [, stats] = await Promise.all([
        v.download(buf, host),
        v.rollingMoments({ series: host, length: n, window: n }),
        v.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 2), c: tmp }),
        v.upload(copyBuf, tmp), // must carry the product, not zeros
      ]);
      expect(stats.mean[0]).toBe((n - 1) / 2);
      const back = new Float32Array(M * M);
      await v.download(copyBuf, back);
      expect(countNot(back, 2 * M)).toBe(0);
    } finally {
      v.freeBuffer(buf);
      v.freeBuffer(copyBuf);
    }
  });

  it('monteCarloVaR reads a factor an un-awaited sgemm writes (NaN before it), as the oracle run in order does', async (ctx) => {
    const v = await backend(ctx);
    const A = 2, F = 2;
    const factor = filled(A * F, Number.NaN); // would be rejected (not finite) if read at the call
    const scale = Float32Array.of(0.01, 0, 0, 0.02);
    const identity = Float32Array.of(1, 0, 0, 1);
    const args = { means: Float32Array.of(0, 0), factor, assets: A, factors: F, weights: Float32Array.of(100, 50), paths: 1000, confidence: 0.95, seed: 3 };
    const [, got] = await Promise.all([v.sgemm({ m: A, n: F, k: A, a: scale, b: identity, c: factor }), v.monteCarloVaR(args)]);
    expect(Array.from(factor)).toEqual(Array.from(scale));
    const want = await new JsComputeBackend().monteCarloVaR(args);
    expect(Math.abs(got.var - want.var)).toBeLessThanOrEqual(2e-3 * want.stdLoss);
    expect(Math.abs(got.stdLoss - want.stdLoss)).toBeLessThanOrEqual(2e-3 * want.stdLoss);
  });

  it('a call that waits takes its other inputs as they were at the call, and later calls keep call order', async (ctx) => {
    const v = await backend(ctx);
    // `both` is a 2M x M matrix: its first half `tmp` is written by the first sgemm, its second
    // half (5s) is changed by the caller after the second call, which must read tmp as written
    // and the second half as it was when called.
    const both = new Float32Array(2 * M * M);
    const tmp = both.subarray(0, M * M);
    both.fill(5, M * M);
    const dev = v.createBuffer(M * M * 4);
    let freed = false;
    try {
      await v.upload(dev, filled(M * M, 1));
      const out = new Float32Array(M * M);
      const calls: Promise<unknown>[] = [
        v.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 1), c: tmp }), // tmp = M
        v.sgemm({ m: M, n: M, k: 2 * M, a: filled(M * 2 * M, 1), b: both, c: out }), // column sums of `both`
      ];
      both.fill(-1, M * M);
      // Made while the second sgemm waits for its turn: they queue behind it, in call order.
      const stats = v.rollingMoments({ series: dev, length: M * M, window: M * M }); // sees the 1s
      calls.push(v.upload(dev, filled(M * M, 9)));
      v.freeBuffer(dev);
      freed = true;
      await Promise.all(calls);
      expect(countNot(out, M * M + 5 * M)).toBe(0);
      expect((await stats).mean[0]).toBe(1);
    } finally {
      if (!freed) v.freeBuffer(dev);
    }
  });
});

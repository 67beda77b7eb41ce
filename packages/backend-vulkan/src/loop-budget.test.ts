// Loops longer than a device runs in one shader invocation. llvmpipe (lavapipe, the CPU device
// CI runs on) ends every loop of an invocation once the invocation has run 65535 loop iterations
// in all, silently: sgemm with k = 70000 returned 65535 everywhere, and rollingMoments with
// W = 16384 got most windows wrong. The kernels now split such work (k and D in chunks across
// dispatches, the horizon across dispatches, window loops unrolled and runs sized to fit) and
// reject, with a ComputeArgumentError naming the limit, the few shapes that cannot fit.
// Device tests skip (with the probe's reason) where Vulkan is unavailable.
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { ComputeArgumentError } from '@cwts/core';
import { JsComputeBackend } from '@cwts/core/compute';
import { CONFORMANCE_TOLERANCES as T, skipUnlessRequired } from '@cwts/core/testing';
import { createVulkanBackend, vulkanProvider, type VulkanBackend } from './index.js';

const created: VulkanBackend[] = [];
let shared: VulkanBackend | undefined;

async function probeOrSkip(ctx: TestContext): Promise<void> {
  const p = await vulkanProvider.probe();
  if (!p.available) skipUnlessRequired(ctx, 'vulkan', `vulkan unavailable: ${p.reason}`);
}

async function backend(ctx: TestContext): Promise<VulkanBackend> {
  await probeOrSkip(ctx);
  shared ??= await createVulkanBackend({});
  return shared;
}

/** A backend with sgemm variant `variant` (CWTS_VULKAN_SGEMM is read when a backend is created). */
async function withSgemm(ctx: TestContext, variant: 'tiled' | 'direct'): Promise<VulkanBackend> {
  await probeOrSkip(ctx);
  const saved = process.env.CWTS_VULKAN_SGEMM;
  process.env.CWTS_VULKAN_SGEMM = variant;
  try {
    const b = await createVulkanBackend({});
    created.push(b);
    return b;
  } finally {
    if (saved === undefined) delete process.env.CWTS_VULKAN_SGEMM;
    else process.env.CWTS_VULKAN_SGEMM = saved;
  }
}

afterAll(async () => {
  for (const b of created) await b.dispose();
  await shared?.dispose();
});

const oracle = new JsComputeBackend();

/** Windows whose mean or variance is off the oracle's beyond the conformance tolerance. */
function rollingMisses(got: { mean: Float32Array; variance: Float32Array }, want: { mean: Float32Array; variance: Float32Array }): string[] {
  const misses: string[] = [];
  for (let i = 0; i < want.mean.length; i++) {
    const m = want.mean[i], v = want.variance[i];
    const meanOk = Math.abs(got.mean[i] - m) <= T.rollingRel * (Math.abs(m) + Math.sqrt(v));
    const varOk = Math.abs(got.variance[i] - v) <= T.rollingRel * (v + m * m);
    if (!meanOk || !varOk) misses.push(`window ${i}: mean ${got.mean[i]} vs ${m}, variance ${got.variance[i]} vs ${v}`);
  }
  return misses;
}

describe('vulkan: work past 65535 loop iterations per invocation', () => {
  for (const variant of ['direct', 'tiled'] as const) {
    it(`sgemm with k = 70000 (${variant}): every element is the full sum, beta included`, async (ctx) => {
      const v = await withSgemm(ctx, variant);
      const m = 3, n = 5, k = 70_000;
      const a = new Float32Array(m * k).fill(1);
      const b = new Float32Array(k * n).fill(1);
      const c = Float32Array.from({ length: m * n }, (_, i) => i);
      await v.sgemm({ m, n, k, a, b, c, beta: 2 });
      // Every partial sum is an integer below 2^24: exact in float32, whatever the chunking.
      expect(Array.from(c)).toEqual(Array.from({ length: m * n }, (_, i) => k + 2 * i));
      const c0 = new Float32Array(m * n).fill(Number.NaN); // beta = 0 never reads C
      await v.sgemm({ m, n, k, a, b, c: c0, alpha: 0.5 });
      expect(Array.from(c0)).toEqual(new Array(m * n).fill(k / 2));
    });
  }

  it('rollingMoments with W = 16384 over 40000 values: every window matches the oracle', async (ctx) => {
    const v = await backend(ctx);
    const N = 40_000, W = 16_384;
    const series = Float32Array.from({ length: N }, (_, i) => 1 + Math.sin(i / 7));
    const want = oracle.sync.rollingMoments({ series, length: N, window: W });
    const got = await v.rollingMoments({ series, length: N, window: W });
    expect(rollingMisses(got, want).slice(0, 3)).toEqual([]);
  });

  it('rollingMoments recomputing the window at every step (W = 16384): every window matches the oracle', async (ctx) => {
    const v = await backend(ctx);
    // Each step removes a value holding ~96% of the window's M2 (0.2^i), so every slide is
    // recomputed from scratch: the worst case the run length must leave room for.
    const W = 16_384, N = W + 80;
    const series = Float32Array.from({ length: N }, (_, i) => (i < 70 ? 0.2 ** i : 0));
    const want = oracle.sync.rollingMoments({ series, length: N, window: W });
    const got = await v.rollingMoments({ series, length: N, window: W });
    expect(rollingMisses(got, want).slice(0, 3)).toEqual([]);
  });

  it('rollingMoments with W = 190000: every window matches the oracle', async (ctx) => {
    const v = await backend(ctx);
    const W = 190_000, N = W + 99;
    const series = Float32Array.from({ length: N }, (_, i) => 50 + Math.sin(i / 13) + (i % 1000 === 0 ? 20 : 0));
    const want = oracle.sync.rollingMoments({ series, length: N, window: W });
    const got = await v.rollingMoments({ series, length: N, window: W });
    expect(rollingMisses(got, want).slice(0, 3)).toEqual([]);
  });

  it('monteCarloVaR with horizon x factors past the budget (25000 steps x 8 factors): matches the oracle', async (ctx) => {
    const v = await backend(ctx);
    const A = 2, F = 8;
    const args = {
      means: Float32Array.of(1e-4, -2e-4),
      factor: Float32Array.from({ length: A * F }, (_, i) => 0.001 * (1 + (i % 5))),
      assets: A,
      factors: F,
      weights: Float32Array.of(1000, 500),
      paths: 16,
      horizon: 25_000,
      confidence: 0.9,
      seed: 7,
    };
    const want = await oracle.monteCarloVaR(args);
    const got = await v.monteCarloVaR(args);
    const tol = T.varRel * want.stdLoss;
    for (const key of ['var', 'cvar', 'meanLoss', 'stdLoss'] as const) expect(Math.abs(got[key] - want[key]), key).toBeLessThanOrEqual(tol);
  });

  it('patternScores with dim = 70000: scores match the oracle', async (ctx) => {
    const v = await backend(ctx);
    const K = 4, D = 70_000, B = 9;
    const stored = Float32Array.from({ length: K * D }, (_, i) => Math.sin(i * 0.37) + Math.cos(i * 0.011 * (1 + Math.floor(i / D))));
    // Queries close to stored rows (scores near 1) and their negations (near -1), so a sum cut
    // short shows.
    const queries = Float32Array.from({ length: B * D }, (_, i) => {
      const b = Math.floor(i / D), d = i % D;
      const x = stored[(b % K) * D + d];
      return (b % 2 === 0 ? x : -x) + 0.1 * Math.sin(d * 1.7 + b);
    });
    const args = { stored, storedCount: K, dim: D, queries, queryCount: B, topK: 2, returnAllScores: true };
    const want = await oracle.patternScores(args);
    const got = await v.patternScores(args);
    const off: string[] = [];
    for (let i = 0; i < B * K; i++) {
      if (!(Math.abs(got.allScores![i] - want.allScores![i]) <= T.patternScoreAbs)) off.push(`score ${i}: ${got.allScores![i]} vs ${want.allScores![i]}`);
    }
    expect(off.slice(0, 3)).toEqual([]);
  });

  it('shapes that cannot fit are rejected with a ComputeArgumentError naming the limit (CPU devices)', async (ctx) => {
    const v = await backend(ctx);
    if (v.info.loopIterationBudget === 0) ctx.skip(`${v.device.name} has no loop limit`);
    const tooLong = async (p: Promise<unknown>): Promise<void> => {
      const e = await p.then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(ComputeArgumentError);
      expect((e as Error).message).toMatch(/65535 loop iterations per invocation/);
    };
    const W = 200_000;
    await tooLong(v.rollingMoments({ series: new Float32Array(W + 1), length: W + 1, window: W }));
    const D = 800_000;
    await tooLong(v.patternScores({ stored: new Float32Array(D), storedCount: 1, dim: D, queries: new Float32Array(D), queryCount: 1, topK: 1 }));
    const F = 200_000;
    await tooLong(
      v.monteCarloVaR({ means: Float32Array.of(0), factor: new Float32Array(F), assets: 1, factors: F, weights: Float32Array.of(1), paths: 1, confidence: 0.5, seed: 1 }),
    );
    // The backend stays usable.
    const r = await v.rollingMoments({ series: Float32Array.of(1, 2, 3), length: 3, window: 2 });
    expect(Array.from(r.mean)).toEqual([1.5, 2.5]);
  });
});

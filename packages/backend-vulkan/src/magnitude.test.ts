/**
 * Vulkan on finite values far from 1 in magnitude: token amounts in base units (1e19..1e36)
 * overflow a float32 sum of squares, tiny values (1e-25) underflow it. patternScores must score
 * such windows as the float64 oracle does (only NaN/Infinity or zero variance may score 0), on
 * both normalise shaders (one invocation per row for D <= 256, one workgroup per row above, with
 * subgroup and with shared-memory reductions); rollingMoments must return the oracle's finite
 * float32 variance where the float32 M2 (W x variance) would overflow, and follow series whose
 * magnitude grows or decays across many powers of two. The shaders scale by powers of two
 * (exact), so every comparison here is against the oracle at the contract's tolerances.
 */
import { JsComputeBackend } from '@cwts/core/compute';
import { CONFORMANCE_TOLERANCES, skipUnlessRequired } from '@cwts/core/testing';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { createVulkanBackend, vulkanProvider, type VulkanBackend } from './index.js';

const ref = new JsComputeBackend();
const made: VulkanBackend[] = [];
afterAll(async () => {
  for (const b of made) await b.dispose();
});

/** A backend with subgroup reductions where the device has them, and one forced to shared memory. */
async function variants(ctx: TestContext): Promise<{ label: string; be: VulkanBackend }[]> {
  const p = await vulkanProvider.probe();
  if (!p.available) skipUnlessRequired(ctx, 'vulkan', p.reason);
  const out: { label: string; be: VulkanBackend }[] = [];
  const saved = process.env.CWTS_VULKAN_NO_SUBGROUPS;
  try {
    for (const noSubgroups of [false, true]) {
      if (noSubgroups) process.env.CWTS_VULKAN_NO_SUBGROUPS = '1';
      else delete process.env.CWTS_VULKAN_NO_SUBGROUPS;
      const be = await createVulkanBackend({});
      made.push(be);
      out.push({ label: noSubgroups ? 'shared-memory reductions' : 'default reductions', be });
    }
  } finally {
    if (saved === undefined) delete process.env.CWTS_VULKAN_NO_SUBGROUPS;
    else process.env.CWTS_VULKAN_NO_SUBGROUPS = saved;
  }
  return out;
}

describe('vulkan patternScores on large and tiny finite values', () => {
  const cases = [[64, 1e20], [8, 1e20], [64, 2e19], [8, 1e36], [3, 1e36], [17, 1e30], [300, 1e36], [512, 1e20], [64, 1e-25], [5, 1e-25], [777, 1e-25]] as const;
  for (const [D, scale] of cases) {
    it(`D=${D}, values ~${scale}: scores match the oracle`, async (ctx) => {
      for (const { label, be } of await variants(ctx)) {
        const K = 37, B = 5;
        const stored = new Float32Array(K * D), queries = new Float32Array(B * D);
        for (let k = 0; k < K; k++) {
          // Mixed store: most windows at `scale`, a few ordinary, one constant, one with NaN.
          const s = k % 5 === 4 ? 1 : scale;
          for (let d = 0; d < D; d++) stored[k * D + d] = k === 7 ? s : s * (Math.sin(d * (1 + k / 10) + k) + 2);
        }
        stored[11 * D + (D >> 1)] = NaN;
        for (let b = 0; b < B; b++) {
          // Queries at the store's magnitude and at 1: both sides are normalised by the same shaders.
          const s = b % 2 === 0 ? 1 : scale;
          for (let d = 0; d < D; d++) queries[b * D + d] = s * (Math.sin(d * (1 + b / 7)) + 2);
        }
        const args = { stored, storedCount: K, dim: D, queries, queryCount: B, topK: 4, returnAllScores: true };
        const got = await be.patternScores(args);
        const want = await ref.patternScores(args);
        for (let i = 0; i < B * K; i++) {
          expect(Math.abs(got.allScores![i] - want.allScores![i]), `${label}: query ${Math.floor(i / K)} window ${i % K}: ${got.allScores![i]} vs oracle ${want.allScores![i]}`)
            .toBeLessThanOrEqual(CONFORMANCE_TOLERANCES.patternScoreAbs);
        }
        for (let b = 0; b < B; b++) {
          expect(got.allScores![b * K + 7], `${label}: constant window`).toBe(0);
          expect(got.allScores![b * K + 11], `${label}: window with NaN`).toBe(0);
        }
        // The top-k agrees wherever the oracle's scores are not within the tolerance of a tie.
        expect(Array.from(got.scores).map((x) => Math.round(x * 1000)), label).toEqual(Array.from(want.scores).map((x) => Math.round(x * 1000)));
      }
    });
  }
});

/** Vulkan against the oracle, relative to each window's own size (no absolute floor: tiny values count). */
function expectRollingMatches(label: string, got: { mean: Float32Array; variance: Float32Array }, want: { mean: Float32Array; variance: Float32Array }): void {
  const rel = CONFORMANCE_TOLERANCES.rollingRel;
  let bad = 0, first = -1;
  for (let i = 0; i < want.variance.length; i++) {
    const m = want.mean[i]!, v = want.variance[i]!;
    const ok = Number.isFinite(got.mean[i]!) && Number.isFinite(got.variance[i]!) && got.variance[i]! >= 0
      && Math.abs(got.mean[i]! - m) <= rel * (Math.abs(m) + Math.sqrt(v))
      && Math.abs(got.variance[i]! - v) <= rel * (v + m * m);
    if (!ok) {
      bad++;
      if (first < 0) first = i;
    }
  }
  expect(bad, `${label}: ${bad} windows off; first ${first}: vulkan mean ${got.mean[first]} variance ${got.variance[first]} vs oracle ${want.mean[first]} ${want.variance[first]}`).toBe(0);
}

describe('vulkan rollingMoments on large and tiny finite values', () => {
  for (const [W, scale] of [[64, 1e19], [8, 1e19], [300, 1e18], [64, 1e-18]] as const) {
    it(`W=${W}, values ~${scale}: mean and variance match the oracle (finite)`, async (ctx) => {
      const [{ be }] = await variants(ctx);
      const N = 4000;
      const series = new Float32Array(N);
      for (let i = 0; i < N; i++) series[i] = scale * (Math.sin(i / 3) + 2 + Math.cos(i / 17));
      const want = ref.sync.rollingMoments({ series, length: N, window: W });
      for (let i = 0; i < want.variance.length; i++) expect(Number.isFinite(want.variance[i]!)).toBe(true);
      expectRollingMatches(`W=${W} ~${scale}`, await be.rollingMoments({ series, length: N, window: W }), want);
    });
  }

  // From 2^-60 to 2^60 and back (the variance stays a normal float32): the kept scale is
  // replaced each time the values leave 2^+-32 of it, and every window still matches.
  it('a series growing and one decaying across 2^120 (several re-scales) match the oracle', async (ctx) => {
    const [{ be }] = await variants(ctx);
    const N = 6000, W = 50;
    const growth = Math.pow(2, 120 / N);
    const up = new Float32Array(N), down = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const wiggle = 2 + Math.sin(i / 5);
      up[i] = 2 ** -60 * growth ** i * wiggle;
      down[i] = 2 ** 60 / growth ** i * wiggle;
    }
    for (const [label, series] of [['growing', up], ['decaying', down]] as const) {
      const want = ref.sync.rollingMoments({ series, length: N, window: W });
      expectRollingMatches(label, await be.rollingMoments({ series, length: N, window: W }), want);
    }
  });

  // A spike whose window variance (~2e37) is a finite float32 while W x variance is not.
  it('an ordinary series with a 3e19 spike: its windows are finite, and the windows after it ordinary again', async (ctx) => {
    const [{ be }] = await variants(ctx);
    const N = 3000, W = 40;
    const series = new Float32Array(N);
    for (let i = 0; i < N; i++) series[i] = 100 + Math.sin(i / 7);
    series[1500] = 3e19;
    const want = ref.sync.rollingMoments({ series, length: N, window: W });
    expectRollingMatches('spike', await be.rollingMoments({ series, length: N, window: W }), want);
  });
});

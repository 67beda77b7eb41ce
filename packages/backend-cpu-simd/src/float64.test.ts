/**
 * The float64 rolling kernel on every kernel set this CPU runs (avx512 / avx2 / neon / scalar),
 * 1 and 2 threads, against a float64 two-pass calculation: sizes around vector widths, chunk
 * boundaries (64 / 1024 outputs) and task boundaries, prices with ill-conditioned windows, and
 * the mean-only path. The conformance suite covers the contract; this covers every code path.
 */
import { equalValueRuns, HOSTILE_LEVEL_SERIES, naiveRolling64, randomHostileSegments, refinedRolling64, tickPrices } from '@cwts/core/testing';
import { skipUnlessRequired } from '@cwts/core/testing';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import type { CpuSimdBackend } from './backend.js';
import { cpuSimdProvider, type Isa } from './index.js';

const made: CpuSimdBackend[] = [];
afterAll(async () => {
  for (const b of made) await b.dispose();
});

async function variants(ctx: TestContext): Promise<CpuSimdBackend[]> {
  const p = await cpuSimdProvider.probe();
  if (!p.available) skipUnlessRequired(ctx, 'cpu-simd', p.reason);
  const supported = String(p.available ? p.device.details?.supported : 'scalar').split(',') as Isa[];
  const out: CpuSimdBackend[] = [];
  for (const isa of supported) {
    for (const threads of [1, 2]) {
      const b = (await cpuSimdProvider.create({ threadPoolSize: threads, settings: { isa, blas: false } })) as CpuSimdBackend;
      made.push(b);
      out.push(b);
    }
  }
  return out;
}

/** Largest |got - exp| / tolerance over all windows (<= 1 passes); NaN and exact windows must match exactly. */
function worst(got: Float64Array, exp: Float64Array, tol: (i: number) => number): number {
  let w = 0;
  for (let i = 0; i < exp.length; i++) {
    if (Number.isNaN(exp[i])) {
      if (!Number.isNaN(got[i])) return Infinity;
      continue;
    }
    const t = tol(i);
    if (t === 0) {
      if (got[i] !== exp[i]) return Infinity;
      continue;
    }
    w = Math.max(w, Math.abs(got[i] - exp[i]) / t);
  }
  return w;
}

describe('cpu-simd rollingMoments64 on every kernel set', () => {
  const cases: [label: string, N: number, W: number, make: (N: number) => Float64Array][] = [
    ['prices W=2', 70_000, 2, (N) => tickPrices(7001, N, 30000.5, 0.01)],
    ['prices W=7', 9_001, 7, (N) => tickPrices(7002, N, 64000.25, 0.5)],
    ['prices W=33 (chunk 66)', 20_011, 33, (N) => tickPrices(7003, N, 0.0123, 0.0001)],
    ['prices W=600', 50_000, 600, (N) => tickPrices(7004, N, 1850.5, 0.05)],
    ['short N=W+3', 12, 9, (N) => tickPrices(7005, N, 100, 1)],
    ['N=W', 17, 17, (N) => tickPrices(7006, N, 100, 1)],
  ];
  for (const [label, N, W, make] of cases) {
    it(`${label}: mean and variance within 1e-12, mean-only within 1e-12 too`, async (ctx) => {
      const series = make(N);
      series[Math.floor(N / 3)] = Number.NaN;
      const exp = naiveRolling64(series, N, W);
      for (const b of await variants(ctx)) {
        const tag = `${b.isa} x${b.threads}`;
        const r = b.sync.rollingMoments64({ series, length: N, window: W });
        expect(worst(r.mean, exp.mean, (i) => (exp.variance[i] === 0 ? 0 : 1e-12 * (Math.abs(exp.mean[i]) + Math.sqrt(exp.variance[i])))), `${tag} mean`).toBeLessThanOrEqual(1);
        expect(worst(r.variance!, exp.variance, (i) => 1e-12 * exp.variance[i]), `${tag} variance`).toBeLessThanOrEqual(1);
        const m = await b.rollingMoments64({ series, length: N, window: W, meanOnly: true });
        expect(m.variance, tag).toBeUndefined();
        expect(worst(m.mean, exp.mean, (i) => (exp.variance[i] === 0 ? 0 : 1e-12 * (Math.abs(exp.mean[i]) + Math.sqrt(exp.variance[i])))), `${tag} mean only`).toBeLessThanOrEqual(1);
      }
    });
  }
});

describe('cpu-simd rollingMoments64: windows of equal values', () => {
  // The mean-only kernel finds constant windows from a run length carried across vectors and
  // chunks (not from the sums), so stretches of equal values sit at every alignment to the
  // vector width, cross the chunk (1024 / 16W outputs) and task boundaries, and border NaNs. From W = 258 on
  // the kernel tracks runs per block instead of per vector (see rolling64_mean), hence 256-258.
  // Around 5 with sd 1, so that a mean computed from the sums of a constant window is not the
  // value by luck (near 30000 the last add would round the sums' error away). Levels that fall
  // or cross zero within a chunk are the next describe block's.

  for (const W of [2, 3, 7, 8, 9, 14, 15, 16, 17, 24, 25, 33, 64, 200, 256, 257, 258, 1500, 3000]) {
    it(`W=${W}: exact on constant windows, 1e-12 elsewhere, mean only and with variance, on every kernel set`, async (ctx) => {
      const N = 40_000;
      const series = equalValueRuns(7100 + W, N, W);
      const exp = naiveRolling64(series, N, W);
      let constant = 0;
      for (let i = 0; i < exp.variance.length; i++) if (exp.variance[i] === 0) constant++;
      expect(constant, 'the series has constant windows').toBeGreaterThan(1000);
      for (const b of await variants(ctx)) {
        const tag = `${b.isa} x${b.threads}`;
        const m = b.sync.rollingMoments64({ series, length: N, window: W, meanOnly: true });
        expect(worst(m.mean, exp.mean, (i) => (exp.variance[i] === 0 ? 0 : 1e-12 * (Math.abs(exp.mean[i]) + Math.sqrt(exp.variance[i])))), `${tag} mean only`).toBeLessThanOrEqual(1);
        // With variance (short windows each on its own, from W = 64 certified blocks): constant windows exact there
        // too. Windows of one differing value among equal ones have a tiny variance, which the
        // plain two-pass reference does not get within 1e-12 (refinedRolling64 does).
        const r = b.sync.rollingMoments64({ series, length: N, window: W });
        const ref = refinedRolling64(series, N, W);
        expect(worst(r.mean, ref.mean, (i) => (ref.variance[i] === 0 ? 0 : 1e-12 * (Math.abs(ref.mean[i]!) + Math.sqrt(ref.variance[i]!)))), `${tag} mean`).toBeLessThanOrEqual(1);
        expect(worst(r.variance!, ref.variance, (i) => 1e-12 * ref.variance[i]!), `${tag} variance`).toBeLessThanOrEqual(1);
      }
    });
  }
});

describe('cpu-simd rollingMoments64: the level falls, crosses zero or steps within a chunk', () => {
  // The sliding sums' rounding is relative to the largest sums since the chunk's anchor (and the
  // anchor's centre), not to the current window. These series move the level by orders of
  // magnitude inside one chunk (max(1024, 16W) outputs mean only, max(128, 2W) with variance), so
  // a later window is far smaller than the ones the error was accumulated on. The tolerance is
  // the contract's (compute-conformance-float64.ts): |mean - ref| <= 1e-12 * (|ref mean| + ref
  // sd); where the true mean is ~0 that is 1e-12 of the window's sd, which bounds its mean |x|
  // from above (mean|x| <= |mean| + sd), so a kernel within 1e-12 * mean|x| meets it.
  // Variance within 1e-12 * variance; windows of equal values exactly.
  //
  const tolMean = (exp: { mean: Float64Array; variance: Float64Array }) => (i: number) =>
    exp.variance[i] === 0 ? 0 : 1e-12 * (Math.abs(exp.mean[i]!) + Math.sqrt(exp.variance[i]!));

  const makers = HOSTILE_LEVEL_SERIES;
  for (const W of [2, 17, 200, 1500, 3000]) {
    const N = Math.min(40_000, Math.max(20_000, 12 * W));
    for (const [name, make] of makers) {
      it(`${name}, W=${W}: mean (mean only and with variance) within 1e-12 of (|mean| + sd), variance within 1e-12`, async (ctx) => {
        const series = make(N, W, 7200 + W);
        const exp = refinedRolling64(series, N, W);
        for (const b of await variants(ctx)) {
          const tag = `${b.isa} x${b.threads} ${name} W=${W}`;
          const m = b.sync.rollingMoments64({ series, length: N, window: W, meanOnly: true });
          expect(worst(m.mean, exp.mean, tolMean(exp)), `${tag} mean only`).toBeLessThanOrEqual(1);
          const r = b.sync.rollingMoments64({ series, length: N, window: W });
          expect(worst(r.mean, exp.mean, tolMean(exp)), `${tag} mean`).toBeLessThanOrEqual(1);
          expect(worst(r.variance!, exp.variance, (i) => 1e-12 * exp.variance[i]!), `${tag} variance`).toBeLessThanOrEqual(1);
        }
      });
    }
  }

  // A seeded property: random segments at random levels (either sign, 1e-6 to 1e7), noise from
  // 1e-9 to 10 of the level, lengths from 1 to 4W, some of them constant.
  it('random hostile segments, 24 seeds: within the tolerance on every kernel set', async (ctx) => {
    const backends = await variants(ctx);
    for (let seed = 0; seed < 24; seed++) {
      const { x, N, W } = randomHostileSegments(7300 + seed, [2, 5, 17, 64, 200, 700][seed % 6]!);
      const exp = refinedRolling64(x, N, W);
      for (const b of backends) {
        const tag = `seed ${seed} W=${W} ${b.isa} x${b.threads}`;
        const m = b.sync.rollingMoments64({ series: x, length: N, window: W, meanOnly: true });
        expect(worst(m.mean, exp.mean, tolMean(exp)), `${tag} mean only`).toBeLessThanOrEqual(1);
        const r = b.sync.rollingMoments64({ series: x, length: N, window: W });
        expect(worst(r.mean, exp.mean, tolMean(exp)), `${tag} mean`).toBeLessThanOrEqual(1);
        expect(worst(r.variance!, exp.variance, (i) => 1e-12 * exp.variance[i]!), `${tag} variance`).toBeLessThanOrEqual(1);
      }
    }
  });
});

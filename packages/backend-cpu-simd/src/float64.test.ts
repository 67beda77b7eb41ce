/**
 * The float64 rolling kernel on every kernel set this CPU runs (avx512 / avx2 / neon / scalar),
 * 1 and 2 threads, against a float64 two-pass calculation: sizes around vector widths, chunk
 * boundaries (64 / 1024 outputs) and task boundaries, prices with ill-conditioned windows, and
 * the mean-only path. The conformance suite covers the contract; this covers every code path.
 */
import { equalValueRuns, naiveRolling64, refinedRolling64, seededRandom, tickPrices } from '@cwts/core/testing';
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

  /** Stretches at levels from 30000 down to 1e-3 (and back), each with noise of 1e-4 of its level, falling over 20 values. */
  function falls(N: number, W: number, seed: number): Float64Array {
    const rng = seededRandom(seed);
    const levels = [30000.5, 1.25, 64123.37, 1e-3, 30000.5, 0.5, 2500, 1e-2];
    const x = new Float64Array(N);
    let at = 0;
    for (let k = 0; at < N; k++) {
      const level = levels[k % levels.length]!;
      const len = [Math.floor(1.7 * W) + 300, 2 * W + 777, 3 * W + 1234][k % 3]!;
      const from = at === 0 ? level : x[at - 1]!;
      for (let j = 0; j < len && at < N; j++, at++) {
        const base = j < 20 ? from + ((level - from) * (j + 1)) / 20 : level;
        x[at] = base + 1e-4 * level * rng.normal();
      }
    }
    // A NaN just after the first fall: its chunk goes to the careful path, which must keep the
    // guarantee on the windows around it too.
    x[Math.floor(1.7 * W) + 300 + 25] = Number.NaN;
    return x;
  }
  /** From prices near 30000 to noise around 0 (sd 0.01, and 1e-6), across zero, and back: mean ~0 windows after huge ones. */
  function crossesZero(N: number, W: number, seed: number): Float64Array {
    const rng = seededRandom(seed);
    const x = new Float64Array(N);
    const seg = Math.max(2 * W + 500, 3000);
    for (let i = 0; i < N; i++) {
      const phase = Math.floor(i / seg) % 4;
      if (phase === 0) x[i] = 30000.5 + 0.01 * Math.round(50 * rng.normal());
      else if (phase === 1) x[i] = 0.01 * rng.normal();
      else if (phase === 2) x[i] = -64123.25 + 0.5 * rng.normal();
      else x[i] = 1e-6 * rng.normal();
    }
    x[5 * seg + 30] = Number.NaN;  // just after prices fall to noise around 0, in the careful path
    return x;
  }
  /** Step changes between levels of either sign and very different sizes, stretches from W/2 to 3W. */
  function steps(N: number, W: number, seed: number): Float64Array {
    const rng = seededRandom(seed);
    const levels = [1e5, 1, -1e5, 1e-3, 250.5, -0.75, 3e7, 0];
    const x = new Float64Array(N);
    let at = 0;
    for (let k = 0; at < N; k++) {
      const level = levels[k % levels.length]!;
      const len = Math.max(3, Math.floor(W * (0.5 + 2.5 * rng.next())));
      const noise = 1e-3 * Math.max(Math.abs(level), 1e-3);
      for (let j = 0; j < len && at < N; j++, at++) x[at] = level + noise * rng.normal();
    }
    return x;
  }
  /** A random walk with a drift far larger than its steps: from +1e5 through zero to -1e5. */
  function drift(N: number, _W: number, seed: number): Float64Array {
    const rng = seededRandom(seed);
    const x = new Float64Array(N);
    let v = 1e5;
    const d = (2e5 / N) * 1.0001;
    for (let i = 0; i < N; i++) {
      v += -d + 0.01 * d * rng.normal();
      x[i] = v;
    }
    return x;
  }
  const makers: [name: string, make: (N: number, W: number, seed: number) => Float64Array][] = [
    ['falls by orders of magnitude', falls],
    ['crosses zero after prices', crossesZero],
    ['step changes', steps],
    ['random walk with large drift', drift],
  ];
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
      const rng = seededRandom(7300 + seed);
      const W = [2, 5, 17, 64, 200, 700][seed % 6]!;
      const N = 6000 + rng.int(6000);
      const x = new Float64Array(N);
      for (let at = 0; at < N; ) {
        const level = (rng.next() < 0.5 ? -1 : 1) * 10 ** (-6 + 13 * rng.next()) * (rng.next() < 0.1 ? 0 : 1);
        const noise = rng.next() < 0.15 ? 0 : Math.abs(level || 1) * 10 ** (-9 + 10 * rng.next());
        const len = 1 + rng.int(4 * W);
        for (let j = 0; j < len && at < N; j++, at++) x[at] = level + noise * rng.normal();
      }
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

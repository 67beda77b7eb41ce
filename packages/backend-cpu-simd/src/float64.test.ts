/**
 * The float64 rolling kernel on every kernel set this CPU runs (avx512 / avx2 / neon / scalar),
 * 1 and 2 threads, against a float64 two-pass calculation: sizes around vector widths, chunk
 * boundaries (64 / 1024 outputs) and task boundaries, prices with ill-conditioned windows, and
 * the mean-only path. The conformance suite covers the contract; this covers every code path.
 */
import { naiveRolling64, seededRandom, tickPrices } from '@cwts/core/testing';
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

describe('cpu-simd rollingMoments64 mean only: windows of equal values', () => {
  // The mean-only kernel finds constant windows from a run length carried across vectors and
  // chunks (not from the sums), so stretches of equal values sit at every alignment to the
  // vector width, cross the chunk (1024 / 4W outputs) and task boundaries, and border NaNs.
  // Around 5 with sd 1, so that a mean computed from the sums of a constant window is not the
  // value by luck (near 30000 the last add would round the sums' error away). The stretches stay
  // near that level: the sliding sums' rounding is relative to the largest sums since the chunk's
  // anchor, so a window far smaller than those (values near 0 after a stretch at 5, W=1500) can
  // miss 1e-12 by 1.3x on this kernel as on the one before it (docs/performance.md).
  function stretches(N: number, W: number): Float64Array {
    const x = Float64Array.from(seededRandom(7100 + W).normals(N, 5, 1), (v, i) => v + 1e-7 * (i % 7));
    const lengths = [W - 1, W, W + 1, W + 2, 2 * W + 3, 3 * W + 7, 5000];
    let at = 50;
    for (let k = 0; at < N - 6000; k++) {
      const len = lengths[k % lengths.length]!;
      const value = [4.1, 5 + 1 / 3, x[at]!, 3.3, 6.7][k % 5]!;
      x.fill(value, at, at + len);
      if (k % 9 === 4) x[at + Math.floor(len / 2)] = Number.NaN;
      if (k % 11 === 6) x[at + len] = Number.NaN;
      at += len + 1 + (k % 13) * 3;
    }
    return x;
  }
  for (const W of [2, 3, 7, 8, 9, 16, 17, 33, 200, 1500]) {
    it(`W=${W}: exact on constant windows, 1e-12 elsewhere, on every kernel set`, async (ctx) => {
      const N = 40_000;
      const series = stretches(N, W);
      const exp = naiveRolling64(series, N, W);
      let constant = 0;
      for (let i = 0; i < exp.variance.length; i++) if (exp.variance[i] === 0) constant++;
      expect(constant, 'the series has constant windows').toBeGreaterThan(1000);
      for (const b of await variants(ctx)) {
        const tag = `${b.isa} x${b.threads}`;
        const m = b.sync.rollingMoments64({ series, length: N, window: W, meanOnly: true });
        expect(worst(m.mean, exp.mean, (i) => (exp.variance[i] === 0 ? 0 : 1e-12 * (Math.abs(exp.mean[i]) + Math.sqrt(exp.variance[i])))), `${tag} mean only`).toBeLessThanOrEqual(1);
      }
    });
  }
});

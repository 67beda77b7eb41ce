/**
 * rollingMoments64 on every kernel set this CPU runs (avx512 / avx2 / neon / scalar), 1 and 2
 * threads, where the values are not ordinary: runs of equal infinities, and finite values whose
 * sums or squares overflow float64. The conformance suite holds the contract on the default and
 * scalar sets; this covers every set's paths (each window on its own up to W = 24 / 14, the
 * per-output rule, the certified blocks from W = 64 / 128, the mean alone).
 */
import { naiveRolling64, skipUnlessRequired, tickPrices } from '@cwts/core/testing';
import { JsComputeBackend } from '@cwts/core/compute';
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

const WINDOWS = [2, 3, 8, 14, 15, 16, 24, 25, 40, 63, 64, 127, 128, 200];

describe('cpu-simd rollingMoments64: runs of equal infinities', () => {
  // Infinity == Infinity: rolling64_direct (W <= 24 with AVX-512, 14 with AVX2) took such a run
  // for a window of equal values and wrote mean Infinity, variance 0 on its vector path.
  it('+Infinity and -Infinity runs make exactly the windows that hold them NaN, on every kernel set', async (ctx) => {
    for (const b of await variants(ctx)) {
      for (const w of WINDOWS) {
        const n = 6 * w + 300;
        const x = tickPrices(7600 + w, n, 250.25, 0.05);
        x.fill(Infinity, 50, 50 + w + 40);
        x.fill(-Infinity, 3 * w + 150, 4 * w + 190);
        const exp = naiveRolling64(x, n, w);
        const r = b.sync.rollingMoments64({ series: x, length: n, window: w });
        const m = await b.rollingMoments64({ series: x, length: n, window: w, meanOnly: true });
        for (let i = 0; i < exp.mean.length; i++) {
          const tag = `${b.isa} x${b.threads} W=${w} [${i}]`;
          expect(Number.isNaN(r.mean[i]!), `${tag} mean ${r.mean[i]}`).toBe(Number.isNaN(exp.mean[i]!));
          expect(Number.isNaN(r.variance![i]!), `${tag} variance ${r.variance![i]}`).toBe(Number.isNaN(exp.mean[i]!));
          expect(Number.isNaN(m.mean[i]!), `${tag} mean only ${m.mean[i]}`).toBe(Number.isNaN(exp.mean[i]!));
        }
      }
    }
  });
});

/** Values near the top of float64 between ordinary prices (the conformance suite's series, in short). */
function nearTheTop(n: number, w: number): Float64Array {
  const x = new Float64Array(n);
  const seg = 2 * w + 40;
  let price = 30000.5;
  let r = 7700 + w;
  const rnd = (): number => ((r = (Math.imul(r, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let at = 0, k = 0; at < n; k++) {
    const kind = k % 8;
    for (let j = 0; j < (kind === 3 || kind === 5 ? w + 40 : seg) && at < n; j++, at++) {
      if (kind === 0) x[at] = j % 2 ? 1.2e154 : -1.2e154; // variance 1.44e308
      else if (kind === 1) x[at] = 1e154 + 4e153 * (rnd() - 0.5); // squares that overflow
      else if (kind === 2) x[at] = 1.5e308 + Math.floor(rnd() * 16) * 2 ** 975; // sums overflow
      else if (kind === 3) x[at] = Number.MAX_VALUE;
      else if (kind === 4) x[at] = price += 0.01 * (Math.floor(rnd() * 5) - 2);
      else if (kind === 5) x[at] = -Number.MAX_VALUE;
      else if (kind === 6) x[at] = j % 2 ? -1.5e154 : 1.5e154; // variance 2.25e308: Infinity
      else x[at] = j % 3 ? 1.6e308 : -1.6e308; // differences overflow too
    }
  }
  return x;
}

describe('cpu-simd rollingMoments64: finite values whose sums or squares overflow', () => {
  // The sums overflowed (Inf - Inf = NaN) and "never negative" made the variance 0 (W >= 128) or
  // it came out Infinity (W < 128) for +-1.2e154, whose variance is 1.44e308; the mean of
  // [1.5e308, 1.6e308] was NaN. Such windows are now computed scaled by a power of two, as in the
  // JS oracle, which the conformance suite holds to an independent scaled reference: here every
  // kernel set matches the oracle to the contract's 1e-12, Infinity where the variance is above
  // the largest double, the value itself on runs of +-MAX_VALUE.
  const js = new JsComputeBackend();
  it('every kernel set matches the oracle to 1e-12, mean only and with variance', async (ctx) => {
    for (const b of await variants(ctx)) {
      for (const w of WINDOWS) {
        const n = 20 * w + 400;
        const x = nearTheTop(n, w);
        const exp = js.sync.rollingMoments64({ series: x, length: n, window: w });
        const r = b.sync.rollingMoments64({ series: x, length: n, window: w });
        const m = await b.rollingMoments64({ series: x, length: n, window: w, meanOnly: true });
        let bad = 0;
        let first = '';
        for (let i = 0; i < exp.mean.length; i++) {
          const em = exp.mean[i]!;
          const ev = exp.variance![i]!;
          expect(Number.isFinite(em) && !Number.isNaN(ev), `oracle at ${i}`).toBe(true);
          // The oracle's variance is Infinity where it is above the largest double: |mean| alone
          // sets the scale there (the values are ~1e308).
          const scale = Math.abs(em) + (ev === Infinity ? 0 : Math.sqrt(ev));
          const meanOk = (v: number): boolean => (ev === 0 ? v === em : Math.abs(v - em) <= 1e-12 * scale);
          const gv = r.variance![i]!;
          const varOk = ev === 0 || ev === Infinity ? gv === ev : Math.abs(gv - ev) <= 1e-12 * ev;
          if (!meanOk(r.mean[i]!) || !meanOk(m.mean[i]!) || !varOk) {
            if (bad++ === 0) first = `${b.isa} x${b.threads} W=${w} at ${i}: mean ${r.mean[i]} / ${m.mean[i]}, variance ${gv}; oracle ${em}, ${ev}`;
          }
        }
        expect(bad, first).toBe(0);
      }
    }
  });

  it("the reviewer's cases: +-1.2e154 has variance 1.44e308 at W = 4 and 200; [1.5e308, 1.6e308] has mean 1.55e308", async (ctx) => {
    for (const b of await variants(ctx)) {
      for (const w of [4, 200]) {
        const x = Float64Array.from({ length: w + 40 }, (_, i) => (i % 2 ? 1.2e154 : -1.2e154));
        const r = await b.rollingMoments64({ series: x, length: x.length, window: w });
        for (let i = 0; i < r.mean.length; i++) {
          expect(Math.abs(r.mean[i]!), `${b.isa} W=${w} mean[${i}]`).toBeLessThanOrEqual(1e-12 * 1.2e154);
          expect(Math.abs(r.variance![i]! - 1.44e308), `${b.isa} W=${w} variance[${i}] = ${r.variance![i]}`).toBeLessThanOrEqual(1e-12 * 1.44e308);
        }
      }
      const x = new Float64Array([1.5e308, 1.6e308, 1.5e308]);
      const m = await b.rollingMoments64({ series: x, length: 3, window: 2, meanOnly: true });
      expect(m.mean[0], `${b.isa} mean only`).toBeCloseTo(1.55e308, -296);
      const r = await b.rollingMoments64({ series: x, length: 3, window: 2 });
      expect(r.mean[1], `${b.isa} mean`).toBeCloseTo(1.55e308, -296);
      expect(r.variance![0], `${b.isa}: (0.05e308)^2 is above the largest double`).toBe(Infinity);
    }
  });
});

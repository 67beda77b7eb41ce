// cpu-simd float32 rollingMoments after one outlier. Tick returns of a price near 30000
// (|r| ~ 3e-7, variance ~1e-13) with one print at 1000x the price (returns +999, -0.999). Each
// sub-chunk of max(4096, 2W) outputs slid raw S and Q from one shift and never restarted: windows
// long after the spike left came out with variance 0, or 0.13x / 1.5x the truth (up to 1.4e4x
// the contract's tolerance) to the end of the series. A variance of 0 on a live series is a
// z-score divided by zero, or a volatility limit that sees no risk. The restart rule
// (kRollingIllConditioned in native/kernels_impl.h) starts a new sub-chunk at such a window, in
// the vector loop, the scalar loop and the careful path (a sub-chunk holding NaN), every kernel set.
import { fatFingerReturns, naiveRolling, skipUnlessRequired } from '@cwts/core/testing';
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
  const isas = String(p.available ? p.device.details?.supported : 'scalar').split(',') as Isa[];
  const out: CpuSimdBackend[] = [];
  for (const isa of isas) {
    const b = (await cpuSimdProvider.create({ threadPoolSize: 1, settings: { isa } })) as CpuSimdBackend;
    made.push(b);
    out.push(b);
  }
  return out;
}

function outOfTolerance(got: Float32Array, want: { mean: Float64Array; variance: Float64Array }): { bad: number; first: string } {
  let bad = 0;
  let first = '';
  for (let i = 0; i < want.variance.length; i++) {
    if (Number.isNaN(want.variance[i]) && Number.isNaN(got[i])) continue; // a window holding the NaN
    const tol = 1e-4 * (want.variance[i] + want.mean[i] ** 2);
    if (!(Math.abs(got[i] - want.variance[i]) <= tol)) {
      if (bad++ === 0) first = `window ${i}: variance ${got[i]}, two-pass ${want.variance[i]} (+- ${tol})`;
    }
  }
  return { bad, first };
}

describe('cpu-simd rollingMoments after an outlier leaves the window', () => {
  // spikeAt 1500: mid-series; 1: the first value is the spike (+999), so the sub-chunk's shift is
  // the spike itself and Q stays large while v + mean^2 falls. nanAt 100: a NaN before the spike
  // sends the whole sub-chunk, spike included, to the careful scalar path, which must restart as
  // well; nanAt 3900: the sub-chunk that restarted after the spike goes to the careful path.
  const cases: { W: number; spikeAt: number; nanAt?: number }[] = [
    { W: 20, spikeAt: 1500 },
    { W: 60, spikeAt: 1500 },
    { W: 300, spikeAt: 1500 },
    { W: 60, spikeAt: 1 },
    { W: 20, spikeAt: 1500, nanAt: 100 },
    { W: 300, spikeAt: 1500, nanAt: 100 },
    { W: 60, spikeAt: 1500, nanAt: 3900 },
  ];
  for (const { W, spikeAt, nanAt } of cases) {
    it(`W=${W}, spike at ${spikeAt}${nanAt === undefined ? '' : `, NaN at ${nanAt}`}: every window's variance within the contract's tolerance, sync and async, every kernel set`, async (ctx) => {
      for (const be of await variants(ctx)) {
        // Control: the same series without the spike is within tolerance.
        const calm = fatFingerReturns(4000, undefined);
        const calmGot = be.sync.rollingMoments({ series: calm, length: calm.length, window: W });
        expect(outOfTolerance(calmGot.variance, naiveRolling(calm, calm.length, W)).bad, `${be.isa} control`).toBe(0);

        const x = fatFingerReturns(4000, spikeAt);
        if (nanAt !== undefined) x[nanAt] = NaN;
        const want = naiveRolling(x, x.length, W);
        const sync = be.sync.rollingMoments({ series: x, length: x.length, window: W });
        const s = outOfTolerance(sync.variance, want);
        expect(s.bad, `${be.isa} sync: ${s.first}`).toBe(0);
        const asyncGot = await be.rollingMoments({ series: x, length: x.length, window: W });
        const a = outOfTolerance(asyncGot.variance, want);
        expect(a.bad, `${be.isa} async: ${a.first}`).toBe(0);
      }
    });
  }
});

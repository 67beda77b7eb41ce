// The float32 rollingMoments oracle (js backend) after one outlier leaves the window. Tick
// returns of a price near 30000 (|r| ~ 3e-7, variance ~1e-13) with one print at 1000x the price (a
// decimal-shift fat finger: returns +999 and -0.999). The sliding (mean, M2) update re-anchored
// only every max(W, 1024) outputs, so M2 kept the rounding of the ~1e6 spike (eps x 1e6 ~ 1e-10,
// far above W x 1e-13) for up to 1024 windows after it left: variance up to ~50x too large, 1e5x
// the contract's tolerance. The restart rule (ILL_CONDITIONED_F32 in kernels/rolling-moments.ts)
// recomputes such windows.
import { describe, expect, it } from 'vitest';
import { CONFORMANCE_TOLERANCES, fatFingerReturns, naiveRolling } from '../testing/compute-conformance.js';
import { JsComputeBackend } from './js-backend.js';

describe('js rollingMoments after an outlier leaves the window', () => {
  // 1500: mid-series; 1: the first value is the spike (+999), so the first exact window holds it.
  for (const [W, spikeAt] of [[20, 1500], [60, 1500], [300, 1500], [60, 1]] as const) {
    it(`W=${W}, spike at ${spikeAt}: every window's variance within the contract's tolerance of a two-pass calculation`, async () => {
      const x = fatFingerReturns(4000, spikeAt);
      const want = naiveRolling(x, x.length, W);
      const got = await new JsComputeBackend().rollingMoments({ series: x, length: x.length, window: W });
      let bad = 0;
      let first = '';
      for (let i = 0; i < want.variance.length; i++) {
        const tol = CONFORMANCE_TOLERANCES.rollingRel * (want.variance[i] + want.mean[i] ** 2);
        if (!(Math.abs(got.variance[i] - want.variance[i]) <= tol)) {
          if (bad++ === 0) first = `window ${i}: variance ${got.variance[i]}, two-pass ${want.variance[i]} (+- ${tol})`;
        }
      }
      expect(bad, first).toBe(0);
    });
  }
});

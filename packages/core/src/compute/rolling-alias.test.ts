// Out arrays that alias the series must be rejected: the rolling kernels read inputs ahead of the
// outputs they write. The check measures the series over its `length` elements and each output
// over its `length - window + 1`, so an output over the series' tail is caught too.
import { describe, expect, it } from 'vitest';
import { ComputeArgumentError } from '../contracts/compute.js';
import { JsComputeBackend } from './js-backend.js';

const N = 100;
const W = 10;
const n = N - W + 1;

describe('rollingMoments64: out arrays vs the series', () => {
  it('rejects out.mean over the tail of the series (beyond the first n elements)', async () => {
    const be = new JsComputeBackend();
    const slab = new Float64Array(N + n);
    for (let i = 0; i < N; i++) slab[i] = i % 7;
    const series = slab.subarray(0, N);
    const mean = slab.subarray(n, 2 * n); // overlaps series[n .. N)
    const copy = Float64Array.from(series);
    const want = be.sync.rollingMoments64({ series: copy, length: N, window: W, meanOnly: true });
    let got: Float64Array | undefined;
    let err: unknown;
    try {
      got = be.sync.rollingMoments64({ series, length: N, window: W, meanOnly: true, out: { mean } }).mean;
    } catch (e) {
      err = e;
    }
    if (err === undefined) {
      let bad = 0;
      for (let i = 0; i < n; i++) if (Math.abs(got![i] - want.mean[i]) > 1e-9) bad++;
      expect.fail(`accepted aliasing out.mean; ${bad} of ${n} means are wrong`);
    }
    expect(err).toBeInstanceOf(ComputeArgumentError);
    expect(String(err)).toMatch(/must not overlap the series/);
    // The async form rejects the same call.
    await expect(be.rollingMoments64({ series, length: N, window: W, meanOnly: true, out: { mean } })).rejects.toBeInstanceOf(ComputeArgumentError);
  });

  it('rejects out.variance over the last element of the series, accepts outputs right after it', () => {
    const be = new JsComputeBackend();
    const slab = new Float64Array(N + 2 * n);
    const series = slab.subarray(0, N);
    const mean = slab.subarray(N + n, N + 2 * n);
    expect(() => be.sync.rollingMoments64({ series, length: N, window: W, out: { mean, variance: slab.subarray(N - 1, N - 1 + n) } })).toThrow(ComputeArgumentError);
    expect(() => be.sync.rollingMoments64({ series, length: N, window: W, out: { mean, variance: slab.subarray(N, N + n) } })).not.toThrow();
  });
});

describe('rollingMoments (float32): out arrays vs the series', () => {
  it('rejects out.mean aliasing the series, as cpu-simd does', async () => {
    const be = new JsComputeBackend();
    const series = new Float32Array(N).map((_, i) => i % 7);
    const args = { series, length: N, window: W, out: { mean: series.subarray(0, n), variance: new Float32Array(n) } };
    expect(() => be.sync.rollingMoments(args)).toThrow(ComputeArgumentError);
    await expect(be.rollingMoments(args)).rejects.toThrow(/must not overlap the series/);
  });

  it('rejects out.variance over the tail of the series, accepts outputs right after it', () => {
    const be = new JsComputeBackend();
    const slab = new Float32Array(N + 2 * n);
    const series = slab.subarray(0, N);
    const mean = slab.subarray(N + n, N + 2 * n);
    expect(() => be.sync.rollingMoments({ series, length: N, window: W, out: { mean, variance: slab.subarray(n, 2 * n) } })).toThrow(ComputeArgumentError);
    expect(() => be.sync.rollingMoments({ series, length: N, window: W, out: { mean, variance: slab.subarray(N, N + n) } })).not.toThrow();
  });
});

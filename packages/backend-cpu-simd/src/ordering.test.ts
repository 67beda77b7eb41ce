// What cpu-simd adds to the contract's call order. The order itself (un-awaited calls meeting
// through buffers or host arrays, freeBuffer and dispose with calls in flight) is the shared
// conformance suite's "order" section (conformance.test.ts runs it over both kernel sets). Here:
// `sync` kernels that would touch memory an in-flight or queued call uses refuse ("busy")
// instead of racing it, dispose frees every buffer once the queued calls ran, and small calls
// with nothing in flight settle synchronously. Each large kernel is large enough that the call
// after it always comes before it could have finished.
import { ComputeArgumentError } from '@cwts/core';
import { skipUnlessRequired } from '@cwts/core/testing';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import type { CpuSimdBackend } from './backend.js';
import { cpuSimdProvider } from './index.js';

const made: CpuSimdBackend[] = [];
afterAll(async () => {
  for (const b of made) await b.dispose();
});

async function backend(ctx: TestContext, settings: Record<string, unknown> = {}): Promise<CpuSimdBackend> {
  const p = await cpuSimdProvider.probe();
  if (!p.available) skipUnlessRequired(ctx, 'cpu-simd', p.reason);
  const b = (await cpuSimdProvider.create({ threadPoolSize: 2, settings: { blas: false, ...settings } })) as CpuSimdBackend;
  made.push(b);
  return b;
}

const M = 768; // sgemm M x M x M: ~450M multiply-adds, milliseconds of work on any machine
const ones = (n: number): Float32Array => new Float32Array(n).fill(1);
const countNot = (x: Float32Array, v: number): number => {
  let bad = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== v) bad++;
  return bad;
};

describe('cpu-simd call order', () => {
  it('sync kernels refuse memory an in-flight call uses ("busy"), and run at once on other memory', async (ctx) => {
    const be = await backend(ctx);
    const c = be.createBuffer(M * M * 4);
    const out = { mean: new Float32Array(M * M - 7), variance: new Float32Array(M * M - 7) };
    const big = be.sgemm({ m: M, n: M, k: M, a: ones(M * M), b: ones(M * M), c });
    const rolling = be.rollingMoments({ series: new Float32Array(M * M).fill(2), length: M * M, window: 8, out });
    // Reading C while the sgemm writes it would see a half-written matrix.
    expect(() => be.sync.rollingMoments({ series: c, length: 16, window: 4 })).toThrow(ComputeArgumentError);
    expect(() => be.sync.rollingMoments({ series: c, length: 16, window: 4 })).toThrow(/series is busy/);
    // Writing an output array of a queued call would be overwritten by it.
    expect(() => be.sync.rollingMoments({ series: new Float32Array(16), length: 16, window: 4, out: { mean: out.mean, variance: new Float32Array(13) } })).toThrow(/out.mean is busy/);
    // Unrelated host arrays: no wait, no error.
    const x = new Float32Array([1, 2, 3, 4]);
    expect(Array.from(be.sync.rollingMoments({ series: x, length: 4, window: 2 }).mean)).toEqual([1.5, 2.5, 3.5]);
    await Promise.all([big, rolling]);
    expect(be.sync.rollingMoments({ series: c, length: 16, window: 4 }).mean[0]).toBe(M);
    expect(countNot(out.mean, 2)).toBe(0);
  });

  it('dispose waits for queued calls, then frees every buffer', async (ctx) => {
    const p = await cpuSimdProvider.probe();
    if (!p.available) skipUnlessRequired(ctx, 'cpu-simd', p.reason);
    const be = (await cpuSimdProvider.create({ threadPoolSize: 2, settings: { blas: false } })) as CpuSimdBackend;
    const c = be.createBuffer(M * M * 4);
    const k = be.sgemm({ m: M, n: M, k: M, a: ones(M * M), b: ones(M * M), c });
    const host = new Float32Array(M * M);
    const dl = be.download(c, host);
    await be.dispose();
    await Promise.all([k, dl]);
    expect(countNot(host, M)).toBe(0);
    expect(be.liveBuffers).toBe(0);
  });

  it('sync kernels refuse an array a queued call will read at its turn ("busy")', async (ctx) => {
    const be = await backend(ctx);
    const S = 256;
    const tmp = new Float32Array(S * S);
    const out = new Float32Array(S * S);
    const first = be.sgemm({ m: S, n: S, k: S, a: ones(S * S), b: ones(S * S), c: tmp });
    const between = be.sgemm({ m: M, n: M, k: M, a: ones(M * M), b: ones(M * M), c: new Float32Array(M * M) });
    const third = be.sgemm({ m: S, n: S, k: S, a: tmp, b: ones(S * S), c: out });
    await first; // tmp holds its result now, but the third call has yet to read it (behind the second)
    const overwrite = () => be.sync.rollingMoments({ series: ones(16), length: 16, window: 4, out: { mean: tmp, variance: new Float32Array(13) } });
    expect(overwrite).toThrow(ComputeArgumentError);
    expect(overwrite).toThrow(/out.mean is busy/);
    await Promise.all([between, third]);
    expect(countNot(out, S * S), 'elements computed from tmp changed after the call').toBe(0);
  });

  it('with nothing in flight, small calls still settle synchronously (the fast path)', async (ctx) => {
    const be = await backend(ctx);
    const x = new Float32Array([1, 2, 3, 4]);
    let settled = false;
    void be.rollingMoments({ series: x, length: 4, window: 2 }).then(() => {
      settled = true;
    });
    await Promise.resolve();
    expect(settled).toBe(true);
  });
});

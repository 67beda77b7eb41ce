// Operations on one backend take effect in call order (the compute contract): cpu-simd runs large
// kernels on a worker, so everything called while one is queued or running (kernels, upload,
// download, copy) queues behind it, and `sync` kernels that would touch its memory refuse
// ("busy") instead of racing it. Inputs whose expected results are exact (sums of ones, constant
// series) keep these checks exact; each kernel is large enough that the call after it always
// comes before it could have finished.
import { ComputeArgumentError } from '@cwts/core';
import { JsComputeBackend } from '@cwts/core/compute';
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
  it('download called after an un-awaited sgemm into a DeviceBuffer sees the sgemm result', async (ctx) => {
    const be = await backend(ctx);
    const c = be.createBuffer(M * M * 4);
    await be.upload(c, new Float32Array(M * M)); // zeros
    const done = be.sgemm({ m: M, n: M, k: M, a: ones(M * M), b: ones(M * M), c });
    const host = new Float32Array(M * M).fill(-1);
    await be.download(c, host); // called after sgemm: must see its result
    await done;
    expect(countNot(host, M), 'elements of C downloaded after sgemm that are stale').toBe(0);
    be.freeBuffer(c);
  });

  it("an upload called after an un-awaited rollingMoments does not change that call's input", async (ctx) => {
    const be = await backend(ctx);
    const ref = new JsComputeBackend();
    const N = 4_000_000, W = 50;
    const x = new Float32Array(N).map((_, i) => Math.sin(i / 10));
    const buf = be.createBuffer(N * 4);
    await be.upload(buf, x);
    const later = new Float32Array(N).fill(1000);
    const p = be.rollingMoments({ series: buf, length: N, window: W });
    await be.upload(buf, later); // after the kernel in call order
    const got = await p;
    const want = ref.sync.rollingMoments({ series: x, length: N, window: W });
    let bad = 0;
    for (let i = 0; i < want.mean.length; i++) if (Math.abs(got.mean[i] - want.mean[i]) > 1e-3) bad++;
    expect(bad, 'windows computed on data uploaded after the call').toBe(0);
    // ... and the upload did land, after it.
    const back = new Float32Array(4);
    await be.download(buf, back);
    expect(Array.from(back)).toEqual([1000, 1000, 1000, 1000]);
    be.freeBuffer(buf);
  });

  it('async kernels run one at a time in call order: the second reads what the first wrote', async (ctx) => {
    const be = await backend(ctx);
    const c1 = be.createBuffer(M * M * 4);
    const c2 = be.createBuffer(M * M * 4);
    const first = be.sgemm({ m: M, n: M, k: M, a: ones(M * M), b: ones(M * M), c: c1 }); // C1 = M everywhere
    const second = be.sgemm({ m: M, n: M, k: M, a: c1, b: ones(M * M), c: c2 }); // C2 = C1 x ones = M * M
    // A small call (the sync fast path when idle) queues too: it must read C2 after both.
    const small = be.rollingMoments({ series: c2, length: 8, window: 8 });
    await Promise.all([first, second]);
    const host = new Float32Array(M * M);
    await be.download(c2, host);
    expect(countNot(host, M * M)).toBe(0);
    expect((await small).mean[0]).toBe(M * M);
  });

  it('copy called after an un-awaited kernel copies its result', async (ctx) => {
    const be = await backend(ctx);
    const c = be.createBuffer(M * M * 4);
    const d = be.createBuffer(M * M * 4);
    const k = be.sgemm({ m: M, n: M, k: M, a: ones(M * M), b: ones(M * M), c });
    const cp = be.copy(c, d, M * M * 4);
    const host = new Float32Array(M * M);
    const dl = be.download(d, host);
    await Promise.all([k, cp, dl]);
    expect(countNot(host, M)).toBe(0);
  });

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

  it('freeBuffer after an un-awaited kernel: the kernel completes on its memory; later calls see it freed', async (ctx) => {
    const be = await backend(ctx);
    const series = be.createBuffer(4_000_000 * 4);
    await be.upload(series, new Float32Array(4_000_000).fill(3));
    const p = be.rollingMoments({ series, length: 4_000_000, window: 16 });
    be.freeBuffer(series);
    await expect(be.rollingMoments({ series, length: 16, window: 4 })).rejects.toThrow(/was freed/);
    const got = await p;
    expect(countNot(got.mean, 3)).toBe(0);
  });

  it('dispose waits for queued calls, then frees everything', async (ctx) => {
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

  // Host arrays chain calls too: a call that reads an array an earlier un-awaited call writes
  // must see what that call wrote, not what the array held when this one was called.
  it('two accumulating sgemm calls on one host C (beta = 1): both products land, as in the oracle', async (ctx) => {
    const be = await backend(ctx);
    const ref = new JsComputeBackend();
    const S = 256; // S^3 multiply-adds: above async_threshold, so the first runs on the worker
    const a = ones(S * S), b = ones(S * S);
    const cRef = new Float32Array(S * S).fill(1);
    await Promise.all([ref.sgemm({ m: S, n: S, k: S, a, b, c: cRef, beta: 1 }), ref.sgemm({ m: S, n: S, k: S, a, b, c: cRef, beta: 1 })]);
    expect(countNot(cRef, 1 + 2 * S)).toBe(0);
    const c = new Float32Array(S * S).fill(1);
    const first = be.sgemm({ m: S, n: S, k: S, a, b, c, beta: 1 });
    const second = be.sgemm({ m: S, n: S, k: S, a, b, c, beta: 1 });
    const third = be.sgemm({ m: 2, n: 2, k: 2, a, b, c, beta: 1 }); // small: runs on the JS thread at its turn
    await Promise.all([first, second, third]);
    expect(countNot(c.subarray(4), 1 + 2 * S), 'elements of C missing an earlier product').toBe(0);
    expect(Array.from(c.subarray(0, 4)), 'the 2 x 2 corner: both products, then the third').toEqual(Array(4).fill(3 + 2 * S));
  });

  it("a kernel reading an earlier un-awaited kernel's host output reads that output (same array or another view of its bytes)", async (ctx) => {
    const be = await backend(ctx);
    const S = 256;
    const a = ones(S * S), b = ones(S * S);
    const mem = new ArrayBuffer(2 * S * S * 4);
    const tmp = new Float32Array(mem, 0, S * S); // zeros until the first sgemm writes S everywhere
    const sameBytes = new Float32Array(mem, 0, S * S); // another view of what tmp covers
    const beside = new Float32Array(mem, S * S * 4, S * S).fill(2); // same ArrayBuffer, not written
    const out1 = new Float32Array(S * S), out2 = new Float32Array(S * S), out3 = new Float32Array(S * S);
    const first = be.sgemm({ m: S, n: S, k: S, a, b, c: tmp });
    const second = be.sgemm({ m: S, n: S, k: S, a: tmp, b, c: out1 }); // tmp x ones = S * S
    const third = be.sgemm({ m: S, n: S, k: S, a: sameBytes, b, c: out2 });
    const fourth = be.sgemm({ m: S, n: S, k: S, a: beside, b, c: out3 }); // 2 x S, as at the call
    beside.fill(7); // after the call: the queued call computes on what beside held then
    const small = be.rollingMoments({ series: new Float32Array(mem, 4, 8), length: 8, window: 8 }); // at its turn, on the JS thread
    await Promise.all([first, second, third, fourth]);
    expect(countNot(tmp, S)).toBe(0);
    expect(countNot(out1, S * S), 'elements computed from tmp before the first call wrote it').toBe(0);
    expect(countNot(out2, S * S), 'elements computed from a view of tmp before the first call wrote it').toBe(0);
    expect(countNot(out3, 2 * S), 'elements computed from bytes written after the call').toBe(0);
    expect((await small).mean[0]).toBe(S);
  });

  it('download into a host array, then a kernel and an upload reading it, un-awaited: each sees what came before', async (ctx) => {
    const be = await backend(ctx);
    const c = be.createBuffer(M * M * 4);
    const copyOfC = be.createBuffer(M * M * 4);
    const k = be.sgemm({ m: M, n: M, k: M, a: ones(M * M), b: ones(M * M), c }); // on the worker: the rest queue
    const host = new Float32Array(M * M);
    const dl = be.download(c, host); // host = M everywhere at its turn
    const rolling = be.rollingMoments({ series: host, length: M * M, window: 4 });
    const up = be.upload(copyOfC, host);
    const back = new Float32Array(M * M);
    const dl2 = be.download(copyOfC, back);
    const [, , r] = await Promise.all([k, dl, rolling, up, dl2]);
    expect(countNot(r.mean, M), 'windows computed on host before the download wrote it').toBe(0);
    expect(countNot(back, M), 'bytes uploaded from host before the download wrote it').toBe(0);
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

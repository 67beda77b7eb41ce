// GpuComputeBackend's TypeScript half (shared by cuda and rocm) against the conformance suite
// (its "order" section included), over a host-emulated native context (see emulated-context.ts).
// Runs everywhere.
import { describe, expect, it } from 'vitest';
import { ComputeArgumentError, type ComputeBackendProvider } from '@cwts/core';
import { JsComputeBackend } from '@cwts/core/compute';
import { describeComputeConformance } from '@cwts/core/testing';
import { GpuBackendError, GpuComputeBackend, GpuOutOfMemoryError } from '../src/index.js';
import { EmulatedGpuContext } from './emulated-context.js';

const emulated: ComputeBackendProvider = {
  name: 'cuda',
  priority: 100,
  probe: async () => ({ available: true, device: { name: 'Emulated GPU', type: 'discrete-gpu' } }),
  create: async () => new GpuComputeBackend('cuda', new EmulatedGpuContext()),
};

describeComputeConformance('cuda host glue (emulated device)', () => emulated);

describe('GpuComputeBackend host side', () => {
  it('passes device buffers to the native side by id and host arrays as themselves', async () => {
    const ctx = new EmulatedGpuContext();
    const b = new GpuComputeBackend('cuda', ctx);
    const spy: unknown[][] = [];
    const sgemm = ctx.sgemm.bind(ctx);
    ctx.sgemm = (...args) => {
      spy.push(args);
      return sgemm(...args);
    };
    const a = b.createBuffer(16);
    await b.upload(a, new Float32Array([1, 2, 3, 4]));
    const host = new Float32Array([1, 0, 0, 1]);
    const c = new Float32Array(4);
    await b.sgemm({ m: 2, n: 2, k: 2, a, b: host, c });
    expect(spy[0]![5]).toBe(a.id);
    expect(spy[0]![6]).toBe(host);
    expect(spy[0]![7]).toBe(c);
    expect(Array.from(c)).toEqual([1, 2, 3, 4]);
    await b.dispose();
  });

  it('rejects what the oracle rejects, with its messages', async () => {
    const b = new GpuComputeBackend('cuda', new EmulatedGpuContext());
    const js = new JsComputeBackend();
    const bad = [
      { m: 0, n: 1, k: 1, a: new Float32Array(1), b: new Float32Array(1), c: new Float32Array(1) },
      { m: 2, n: 2, k: 2, a: new Float32Array(3), b: new Float32Array(4), c: new Float32Array(4) },
      { m: 1, n: 1, k: 1, alpha: Number.NaN, a: new Float32Array(1), b: new Float32Array(1), c: new Float32Array(1) },
    ];
    for (const args of bad) {
      const ours = await b.sgemm(args).catch((e: unknown) => e);
      const oracle = await js.sgemm(args).catch((e: unknown) => e);
      expect(ours).toBeInstanceOf(ComputeArgumentError);
      expect((ours as Error).message).toBe((oracle as Error).message);
    }
    const shared = b.createBuffer(64);
    await expect(b.sgemm({ m: 2, n: 2, k: 2, a: shared, b: new Float32Array(4), c: shared })).rejects.toThrow('c must not overlap a');
    await b.dispose();
  });

  it('names foreign and freed buffers', async () => {
    const b = new GpuComputeBackend('cuda', new EmulatedGpuContext());
    const other = new GpuComputeBackend('cuda', new EmulatedGpuContext());
    const js = new JsComputeBackend();
    const mine = b.createBuffer(16);
    b.freeBuffer(mine);
    await expect(b.rollingMoments({ series: mine, length: 4, window: 2 })).rejects.toThrow('series was freed or belongs to another cuda backend instance');
    await expect(b.rollingMoments({ series: js.createBuffer(16), length: 4, window: 2 })).rejects.toThrow("series belongs to backend 'js'");
    await expect(b.rollingMoments({ series: other.createBuffer(16), length: 4, window: 2 })).rejects.toThrow(ComputeArgumentError);
    expect(() => b.freeBuffer(mine)).toThrow(ComputeArgumentError);
    await b.dispose();
    await other.dispose();
  });

  it('translates native codes: bad arguments, out of memory, other device errors', async () => {
    const ctx = new EmulatedGpuContext();
    const b = new GpuComputeBackend('cuda', ctx);
    ctx.noop = () => Promise.reject(Object.assign(new Error('device allocation failed (cudaErrorMemoryAllocation)'), { code: 'CUDA_OUT_OF_MEMORY' }));
    await expect(b.noop()).rejects.toBeInstanceOf(GpuOutOfMemoryError);
    ctx.noop = () => Promise.reject(Object.assign(new Error('launch failed (cudaErrorLaunchFailure)'), { code: 'CUDA_ERROR' }));
    const e = await b.noop().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GpuBackendError);
    expect((e as GpuBackendError).code).toBe('CUDA_ERROR');
    expect((e as Error).message).toBe('noop: launch failed (cudaErrorLaunchFailure)');
    ctx.noop = () => {
      throw Object.assign(new Error('window must be in [1, length]'), { code: 'CUDA_BAD_ARGUMENT' });
    };
    await expect(b.noop()).rejects.toBeInstanceOf(ComputeArgumentError);
    await b.dispose();
  });

  it('dispose waits for in-flight work, then refuses new work', async () => {
    const ctx = new EmulatedGpuContext();
    const b = new GpuComputeBackend('cuda', ctx);
    const p = b.rollingMoments({ series: new Float32Array([1, 2, 3, 4]), length: 4, window: 2 });
    await b.dispose();
    expect(ctx.inFlight).toBe(0);
    expect((await p).mean.length).toBe(3);
    await expect(b.noop()).rejects.toThrow('the cuda backend was disposed');
  });
});

// Un-awaited calls chained through host arrays are the conformance suite's "order" section (run
// above over this stand-in context, over the emulated addon and on a GPU); what the glue adds:
describe('GpuComputeBackend: un-awaited calls chained through host arrays (JS stand-in context, host outputs written at completion)', () => {
  it('a waiting sgemm computes in a copy of C and copies the result into C at completion, unless C was detached meanwhile', async () => {
    const ctx = new EmulatedGpuContext();
    const b = new GpuComputeBackend('cuda', ctx);
    const native = ctx.sgemm.bind(ctx);
    const seen: unknown[] = [];
    let detachAtCopy: Float32Array | undefined;
    ctx.sgemm = (...args) => {
      seen.push(args[7]);
      const p = native(...args);
      // The waiting call computes in a copy of C: the caller detaches C while it is in flight.
      if (detachAtCopy && args[7] !== detachAtCopy) structuredClone(detachAtCopy.buffer, { transfer: [detachAtCopy.buffer as ArrayBuffer] });
      return p;
    };
    const one = new Float32Array(4).fill(1);
    const c = new Float32Array(4).fill(1);
    await Promise.all([b.sgemm({ m: 2, n: 2, k: 2, a: one, b: one, c, beta: 1 }), b.sgemm({ m: 2, n: 2, k: 2, a: one, b: one, c, beta: 1 })]);
    expect(Array.from(c)).toEqual([5, 5, 5, 5]);
    expect(seen[0]).toBe(c); // no wait: the caller's array itself
    expect(seen[1]).not.toBe(c); // waited: a copy holding the first result
    const d = new Float32Array(4).fill(1);
    detachAtCopy = d;
    const first = b.sgemm({ m: 2, n: 2, k: 2, a: one, b: one, c: d, beta: 1 });
    const second = b.sgemm({ m: 2, n: 2, k: 2, a: one, b: one, c: d, beta: 1 });
    await first;
    const e = await second.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ComputeArgumentError);
    expect((e as Error).message).toMatch(/c was detached .* the results were discarded/);
    await b.dispose();
  });
});

// The paths a call takes while earlier work is queued on the worker (the conformance suite's
// "order" section proves the order): their argument checks, a download target detached before its turn, and the diagnostic
// calls, all in this process (the detach of a kernel's own arguments is in detach.test.ts, in a
// child process, since a regression there is a crash).
import { ComputeArgumentError } from '@cwts/core';
import { skipUnlessRequired } from '@cwts/core/testing';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import type { CpuSimdBackend } from './backend.js';
import { cpuSimdProvider } from './index.js';

const made: CpuSimdBackend[] = [];
afterAll(async () => {
  for (const b of made) await b.dispose();
});

async function backend(ctx: TestContext): Promise<CpuSimdBackend> {
  const p = await cpuSimdProvider.probe();
  if (!p.available) skipUnlessRequired(ctx, 'cpu-simd', p.reason);
  const b = (await cpuSimdProvider.create({ threadPoolSize: 2, settings: { blas: false } })) as CpuSimdBackend;
  made.push(b);
  return b;
}

const M = 512;
const ones = (n: number): Float32Array => new Float32Array(n).fill(1);
/** Work that runs on the worker for milliseconds: everything called after it is queued. */
const busy = (be: CpuSimdBackend) => be.sgemm({ m: M, n: M, k: M, a: ones(M * M), b: ones(M * M), c: new Float32Array(M * M) });

describe('cpu-simd calls queued behind work in flight', () => {
  it('queued upload and download check their arguments when called, as the oracle does', async (ctx) => {
    const be = await backend(ctx);
    const buf = be.createBuffer(16);
    const p = busy(be);
    await expect(be.upload(buf, 'x' as never)).rejects.toThrow(ComputeArgumentError);
    await expect(be.upload(buf, new Float32Array(4), 8)).rejects.toThrow(/do not fit buffer/);
    await expect(be.download(buf, 'x' as never)).rejects.toThrow(ComputeArgumentError);
    await expect(be.download(buf, new Float32Array(4), 8)).rejects.toThrow(/exceed buffer/);
    await p;
    be.freeBuffer(buf);
  });

  it('a download target detached before its queued turn rejects naming it; nothing is written', async (ctx) => {
    const be = await backend(ctx);
    const buf = be.createBuffer(16);
    await be.upload(buf, new Float32Array([1, 2, 3, 4]));
    const p = busy(be);
    const dst = new Float32Array(4);
    const d = be.download(buf, dst);
    structuredClone(dst.buffer, { transfer: [dst.buffer] }); // the caller hands the array to a worker
    await expect(d).rejects.toThrow(/dst was detached .* before the queued download ran/);
    await p;
    be.freeBuffer(buf);
  });

  it('an input an earlier call writes, detached before its turn: the call rejects naming it, nothing is written', async (ctx) => {
    const be = await backend(ctx);
    const S = 256;
    const tmp = new Float32Array(S * S);
    const out = new Float32Array(S * S).fill(-1);
    const p = be.sgemm({ m: S, n: S, k: S, a: ones(S * S), b: ones(S * S), c: tmp });
    const q = be.sgemm({ m: S, n: S, k: S, a: tmp, b: ones(S * S), c: out }); // reads tmp at its turn
    const buf = be.createBuffer(S * S * 4);
    const u = be.upload(buf, tmp); // so does this upload
    structuredClone(tmp.buffer, { transfer: [tmp.buffer] }); // the caller hands tmp to a worker meanwhile
    await expect(p).rejects.toThrow(/sgemm: c was detached/);
    await expect(q).rejects.toThrow(/sgemm: a was detached .* while the call was queued/);
    await expect(u).rejects.toThrow(/upload: src was detached .* before the queued upload ran/);
    expect(out.every((v) => v === -1)).toBe(true);
    be.freeBuffer(buf);
  });

  it('monteCarloVaR over a factor an earlier call writes: its values are checked at its turn, on what it reads; its shape when called', async (ctx) => {
    const be = await backend(ctx);
    const args = { means: new Float32Array(2), assets: 2, factors: 2, weights: Float32Array.of(100, 50), paths: 1000, confidence: 0.95, seed: 3 };
    // NaN until the sgemm writes it: not a reason to reject (the oracle run in order accepts).
    const factor = new Float32Array(4).fill(Number.NaN);
    const p = busy(be);
    const w = be.sgemm({ m: 2, n: 2, k: 2, a: Float32Array.of(0.01, 0, 0, 0.02), b: Float32Array.of(1, 0, 0, 1), c: factor });
    const v = be.monteCarloVaR({ ...args, factor });
    await Promise.all([p, w]);
    expect((await v).paths).toBe(1000);
    // A NaN the earlier call writes there is rejected at the turn, as the oracle rejects it.
    const nanFactor = new Float32Array(4);
    const q = busy(be);
    const w2 = be.sgemm({ m: 2, n: 2, k: 2, a: Float32Array.of(Number.NaN, 0, 0, 1), b: Float32Array.of(1, 0, 0, 1), c: nanFactor });
    const v2 = be.monteCarloVaR({ ...args, factor: nanFactor });
    await expect(v2).rejects.toThrow(/monteCarloVaR: factor\[0\] is NaN/);
    await Promise.all([q, w2]);
    // Too short for assets x factors: rejected when called, as before.
    const short = new Float32Array(3);
    const r = busy(be);
    const w3 = be.sgemm({ m: 1, n: 3, k: 1, a: ones(1), b: ones(3), c: short });
    await expect(be.monteCarloVaR({ ...args, factor: short })).rejects.toThrow(/factor has 3 elements, needs at least 4/);
    await Promise.all([r, w3]);
  });

  it('noop, readProbe and sgemmNative queue behind earlier work and resolve in call order', async (ctx) => {
    const be = await backend(ctx);
    const order: string[] = [];
    const p = busy(be).then(() => order.push('sgemm'));
    const n = be.noop().then(() => order.push('noop'));
    const r = be.readProbe(ones(1000)).then((sum) => order.push(`readProbe ${sum}`));
    const c = new Float32Array(4);
    const s = be.sgemmNative({ m: 2, n: 2, k: 2, a: ones(4), b: ones(4), c }).then(() => order.push(`sgemmNative ${[...c].join(',')}`));
    await Promise.all([p, n, r, s]);
    expect(order).toEqual(['sgemm', 'noop', 'readProbe 1000', 'sgemmNative 2,2,2,2']);
    await expect(be.readProbe(new Float64Array(4) as never)).rejects.toThrow(/x must be a Float32Array/);
  });
});

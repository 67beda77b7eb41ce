// On an AMD GPU: sgemm alpha = 0 over NaN gives beta C, and host arrays over a SharedArrayBuffer
// work. Un-awaited calls chained through host arrays are the conformance suite's "order" section
// (conformance.gpu.test.ts). The glue is @cwts/backend-cuda's (tested there without a GPU); this
// checks it with the HIP runtime's real stream and completion threads. Skips with the probe's
// reason elsewhere.
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import type { GpuComputeBackend } from '@cwts/backend-cuda';
import { rocmProvider } from '../src/index.js';

let backend: GpuComputeBackend | undefined;
let unavailable = '';

beforeAll(async () => {
  const p = await rocmProvider.probe();
  if (!p.available) {
    unavailable = `rocm unavailable: ${p.reason}`;
    return;
  }
  backend = (await rocmProvider.create({})) as GpuComputeBackend;
});
afterAll(async () => {
  await backend?.dispose();
});

function use(ctx: TestContext): GpuComputeBackend {
  if (!backend) ctx.skip(unavailable);
  return backend!;
}

const filled = (n: number, v: number): Float32Array => new Float32Array(n).fill(v);

describe('rocm device: host arrays', () => {
  it('sgemm alpha = 0 reads neither A nor B: NaN there leaves C = beta C', async (ctx) => {
    const b = use(ctx);
    const nan = filled(16, Number.NaN);
    const c = filled(16, 3);
    await b.sgemm({ m: 4, n: 4, k: 4, alpha: 0, beta: 2, a: nan, b: nan, c });
    expect(Array.from(c)).toEqual(new Array(16).fill(6));
  });

  it('host arrays over a SharedArrayBuffer work like any other', async (ctx) => {
    const b = use(ctx);
    const shared = (n: number): Float32Array => new Float32Array(new SharedArrayBuffer(n * 4));
    const a = shared(4), bm = shared(4), c = shared(4);
    a.set([1, 2, 3, 4]);
    bm.set([5, 6, 7, 8]);
    c.fill(1);
    await b.sgemm({ m: 2, n: 2, k: 2, a, b: bm, c, beta: 1 });
    expect(Array.from(c)).toEqual([20, 23, 44, 51]);
    const series = shared(64).map((_, i) => i);
    const buf = b.createBuffer(64 * 4);
    await b.upload(buf, series);
    const back = shared(64);
    await b.download(buf, back);
    expect(back).toEqual(series);
    b.freeBuffer(buf);
  });
});

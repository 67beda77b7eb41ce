// On an AMD GPU: un-awaited calls chained through host arrays run as if one after the other
// (two sgemm c += A B on one host C add both products; a kernel reading another's host output
// reads it written), sgemm alpha = 0 over NaN gives beta C, and host arrays over a
// SharedArrayBuffer work. The glue is @cwts/backend-cuda's (tested there without a GPU); this
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

const M = 64;
const filled = (n: number, v: number): Float32Array => new Float32Array(n).fill(v);

describe('rocm device: host arrays', () => {
  it('two un-awaited accumulating sgemm calls on one host C both land; a kernel reads an earlier one\'s host output written', async (ctx) => {
    const b = use(ctx);
    const ones = filled(M * M, 1);
    const c = filled(M * M, 3);
    await Promise.all([b.sgemm({ m: M, n: M, k: M, a: ones, b: ones, c, beta: 1 }), b.sgemm({ m: M, n: M, k: M, a: ones, b: ones, c, beta: 1 })]);
    expect(c.every((x) => x === 3 + 2 * M)).toBe(true);
    const tmp = new Float32Array(M * M);
    const out = new Float32Array(M * M);
    await Promise.all([b.sgemm({ m: M, n: M, k: M, a: ones, b: ones, c: tmp }), b.sgemm({ m: M, n: M, k: M, a: tmp, b: ones, c: out })]);
    expect(out.every((x) => x === M * M)).toBe(true);
  });

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

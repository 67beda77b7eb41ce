// sgemm's alpha and beta are JS numbers; the contract is float32 sgemm, and the addon (like the
// Vulkan and CUDA backends) takes them as float. Narrowed, an alpha below float's range became 0
// (C = beta x C: the product vanished) and one above FLT_MAX Infinity (C = NaN / Infinity), where
// the float64 oracle returned ordinary float32 values. Core's requireFloat32Scalar now rejects
// alpha and beta that are not 0 or a normal float32 magnitude, in the oracle (prepareSgemm) and
// here alike, with a ComputeArgumentError; the boundary values themselves are accepted and agree.
import { ComputeArgumentError } from '@cwts/core';
import { JsComputeBackend } from '@cwts/core/compute';
import { skipUnlessRequired } from '@cwts/core/testing';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import type { CpuSimdBackend } from './backend.js';
import { cpuSimdProvider } from './index.js';

let be: CpuSimdBackend | undefined;
afterAll(async () => {
  await be?.dispose();
});
async function backend(ctx: TestContext): Promise<CpuSimdBackend> {
  const p = await cpuSimdProvider.probe();
  if (!p.available) skipUnlessRequired(ctx, 'cpu-simd', p.reason);
  be ??= (await cpuSimdProvider.create({ threadPoolSize: 1 })) as CpuSimdBackend;
  return be;
}

const args = (alpha: number, beta: number, v: number, c: Float32Array) => ({ m: 1, n: 1, k: 1, alpha, beta, a: new Float32Array([v]), b: new Float32Array([v]), c });

describe('cpu-simd sgemm with alpha or beta outside float32 range', () => {
  // [alpha, beta, a = b]: in float64 each gives an ordinary float32 C; narrowed to float, 0 or NaN/Inf.
  const cases = [
    [1e-46, 0, 1e30], // below the float32 subnormal minimum: narrowed to 0
    [4e38, 0, 1e-30], // above FLT_MAX: narrowed to Infinity
    [-4e38, 0, 1e-30],
    [1e-40, 0, 1e30], // subnormal: flushed to 0 by a GPU that does not preserve denormals
    [1, 4e38, 1],
    [1, 1e-46, 1],
  ] as const;
  for (const [alpha, beta, v] of cases) {
    it(`alpha = ${alpha}, beta = ${beta}: the oracle and cpu-simd both reject it (sync and async)`, async (ctx) => {
      const cs = await backend(ctx);
      const js = new JsComputeBackend();
      const which = alpha !== 1 ? /sgemm: alpha must be 0 or a float32 magnitude/ : /sgemm: beta must be 0 or a float32 magnitude/;
      await expect(js.sgemm(args(alpha, beta, v, new Float32Array([2])))).rejects.toThrow(which);
      await expect(js.sgemm(args(alpha, beta, v, new Float32Array([2])))).rejects.toBeInstanceOf(ComputeArgumentError);
      await expect(cs.sgemm(args(alpha, beta, v, new Float32Array([2])))).rejects.toThrow(which);
      expect(() => cs.sync.sgemm(args(alpha, beta, v, new Float32Array([2])))).toThrow(ComputeArgumentError);
    });
  }

  it('0, -0, 2^-126 and FLT_MAX are accepted, and cpu-simd agrees with the oracle', async (ctx) => {
    const cs = await backend(ctx);
    const js = new JsComputeBackend();
    const FLT_MAX = 3.4028234663852886e38;
    for (const [alpha, beta, v] of [[2 ** -126, 0, 2 ** 60], [FLT_MAX, 0, 2 ** -70], [-FLT_MAX, 0.5, 2 ** -70], [0, 2 ** -126, 1], [-0, FLT_MAX, 1], [1, -0, 3]] as const) {
      const want = new Float32Array([2 ** -20]);
      await js.sgemm(args(alpha, beta, v, want));
      const got = new Float32Array([2 ** -20]);
      await cs.sgemm(args(alpha, beta, v, got));
      expect(Number.isFinite(want[0]), `${alpha}, ${beta}`).toBe(true);
      expect(got[0], `${alpha}, ${beta}`).toBe(want[0]);
    }
  });
});

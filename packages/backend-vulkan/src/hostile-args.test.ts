// Arguments the oracle rejects (aliasing outputs) and callers that detach (transfer) an output
// array while the call that fills it is in flight. The detach scenarios run in child processes:
// before results were copied into JS arrays only on the JS thread, the completion thread wrote
// into the freed memory and the process died (SIGSEGV), which would take the test runner's
// worker with it.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { ComputeArgumentError } from '@cwts/core';
import { JsComputeBackend } from '@cwts/core/compute';
import { skipUnlessRequired } from '@cwts/core/testing';
import { createVulkanBackend, vulkanProvider, type VulkanBackend } from './index.js';

let be: VulkanBackend | undefined;
async function probeOrSkip(ctx: TestContext): Promise<void> {
  const p = await vulkanProvider.probe();
  if (!p.available) skipUnlessRequired(ctx, 'vulkan', `vulkan unavailable: ${p.reason}`);
}
async function backend(ctx: TestContext): Promise<VulkanBackend> {
  await probeOrSkip(ctx);
  be ??= await createVulkanBackend({});
  return be;
}
afterAll(async () => {
  await be?.dispose();
});

describe('vulkan argument rules shared with the oracle', () => {
  it('sgemm rejects c being the same DeviceBuffer as a or b, as the oracle does', async (ctx) => {
    const v = await backend(ctx);
    const ref = new JsComputeBackend();
    const m = 64, n = 64, k = 64;
    const refBuf = ref.createBuffer(m * k * 4);
    await expect(ref.sgemm({ m, n, k, a: refBuf, b: new Float32Array(k * n), c: refBuf })).rejects.toBeInstanceOf(ComputeArgumentError);
    const buf = v.createBuffer(m * k * 4);
    await v.upload(buf, new Float32Array(m * k).fill(1));
    await expect(v.sgemm({ m, n, k, a: buf, b: new Float32Array(k * n).fill(1), c: buf })).rejects.toThrow(/sgemm: c must not overlap a/);
    await expect(v.sgemm({ m, n, k, a: new Float32Array(m * k), b: buf, c: buf })).rejects.toThrow(/sgemm: c must not overlap b/);
    // The buffer was not touched by the refused calls.
    const back = new Float32Array(4);
    await v.download(buf, back);
    expect(Array.from(back)).toEqual([1, 1, 1, 1]);
    v.freeBuffer(buf);
  });

  it('sgemm rejects host views of c overlapping a or b; adjacent views are fine', async (ctx) => {
    const v = await backend(ctx);
    const slab = new Float32Array(12);
    await expect(v.sgemm({ m: 2, n: 2, k: 2, a: slab.subarray(0, 4), b: slab.subarray(8, 12), c: slab.subarray(2, 6) })).rejects.toThrow(/c must not overlap a/);
    await expect(v.sgemm({ m: 2, n: 2, k: 2, a: slab.subarray(0, 4), b: slab.subarray(8, 12), c: slab.subarray(7, 11) })).rejects.toThrow(/c must not overlap b/);
    slab.set([1, 2, 3, 4], 0);
    slab.set([1, 0, 0, 1], 8);
    await v.sgemm({ m: 2, n: 2, k: 2, a: slab.subarray(0, 4), b: slab.subarray(8, 12), c: slab.subarray(4, 8) });
    expect(Array.from(slab.subarray(4, 8))).toEqual([1, 2, 3, 4]);
  });

  it('sgemm rejects alpha/beta that are not 0 or a normal float32 magnitude, as the oracle does (the kernel takes float scalars)', async (ctx) => {
    const v = await backend(ctx);
    const ref = new JsComputeBackend();
    const m = 2, n = 2, k = 2;
    const args = () => ({ m, n, k, a: new Float32Array(4).fill(1), b: new Float32Array(4).fill(1), c: new Float32Array(4) });
    for (const [alpha, beta] of [[1e-46, 0], [4e38, 0], [1, 1e-40], [1, -5e38]]) {
      await expect(ref.sgemm({ ...args(), alpha, beta })).rejects.toBeInstanceOf(ComputeArgumentError);
      await expect(v.sgemm({ ...args(), alpha, beta })).rejects.toThrow(/must be 0 or a float32 magnitude/);
    }
    const c = new Float32Array(4);
    await v.sgemm({ m, n, k, a: new Float32Array(4).fill(1), b: new Float32Array(4).fill(1), c, alpha: 2 ** -126 * 2 ** 30, beta: 0 });
    expect(c[0]).toBe(Math.fround(2 * 2 ** -96));
  });

  it('rollingMoments rejects out arrays over the series, as the oracle does', async (ctx) => {
    const v = await backend(ctx);
    const N = 100, W = 10, n = N - W + 1;
    const slab = new Float32Array(N + n);
    const series = slab.subarray(0, N);
    await expect(v.rollingMoments({ series, length: N, window: W, out: { mean: slab.subarray(n, 2 * n), variance: new Float32Array(n) } })).rejects.toThrow(/must not overlap the series/);
    await expect(v.rollingMoments({ series, length: N, window: W, out: { mean: slab.subarray(N, N + n), variance: new Float32Array(n) } })).resolves.toBeDefined();
  });
});

const child = fileURLToPath(new URL('../test/detach.child.mjs', import.meta.url));
const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe('vulkan in-flight calls vs detached output ArrayBuffers', () => {
  for (const [scenario, what] of [
    ['rolling-out', /rollingMoments: out.mean was detached/],
    ['pattern-out', /patternScores: out.indices was detached/],
    ['sgemm-c', /sgemm: c was detached/],
    ['download-dst', /download: dst was detached/],
  ] as const) {
    it(`${scenario}: no crash; the call rejects with a ComputeArgumentError naming the detached array`, async (ctx) => {
      await probeOrSkip(ctx);
      const r = spawnSync(process.execPath, [child, entry, scenario], { encoding: 'utf8', timeout: 120_000 });
      expect(r.signal, `child killed by ${String(r.signal)} (stderr: ${r.stderr.slice(0, 300)})`).toBeNull();
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'rejected', name: 'ComputeArgumentError', message: expect.stringMatching(what) });
    }, 150_000);
  }
});

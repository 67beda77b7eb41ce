// The whole native addon (native/addon.cpp: buffers, pinned staging and device pools, one
// stream in call order, completions settled by async workers, error codes) and the kernels,
// built with g++ against a host-memory stand-in for the CUDA runtime
// (test/kernel-emulation/cuda_shim.h) and run through the compute conformance suite with the
// real GpuComputeBackend on top (its "order" section: the addon stages host inputs when called
// and writes host outputs at completion, so un-awaited calls chained through host arrays are the
// case it runs against). Only the device itself is emulated: this is the same code the CUDA and
// HIP builds compile.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ComputeArgumentError, type ComputeBackendProvider } from '@cwts/core';
import { JsComputeBackend } from '@cwts/core/compute';
import { describeComputeConformance } from '@cwts/core/testing';
import { GpuComputeBackend, type NativeGpuAddon } from '../src/index.js';
// @ts-expect-error: a plain ESM script of the package, without types.
import { checkSgemmVariants, timeSgemmVariants, VARIANT_CHECKS } from '../scripts/device-figures.mjs';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

/** Builds the addon with the emulated runtime; returns it, or why it could not be built. */
function buildEmulatedAddon(): { addon: NativeGpuAddon } | { reason: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cwts-addon-'));
  const out = join(dir, 'cwts_cuda_emulated.node');
  const naa = dirname(require.resolve('node-addon-api/package.json'));
  const nah = (require('node-api-headers') as { include_dir: string }).include_dir;
  const args = [
    '-std=c++20', '-O1', '-shared', '-fPIC', '-DCWTS_CPU_EMULATION', '-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS',
    '-DNODE_ADDON_API_DISABLE_DEPRECATED', '-DCWTS_ADDON_NAME=cwts_cuda_emulated', '-include', join(pkg, 'test/kernel-emulation/cuda_shim.h'),
    '-I', join(pkg, 'native'), '-I', naa, '-I', nah, '-I', join(dirname(require.resolve('@cwts/native-build/package.json')), 'include'),
    join(pkg, 'native/addon.cpp'), join(pkg, 'native/vendor_blas.cpp'), '-x', 'c++', join(pkg, 'native/kernels.cu'), '-o', out,
  ];
  try {
    const r = spawnSync('g++', args, { encoding: 'utf8', cwd: pkg });
    if (r.error) return { reason: `no g++ to build the emulated addon: ${r.error.message}` };
    if (r.status !== 0) throw new Error(`emulated addon failed to compile:\n${r.stderr}`);
    return { addon: require(out) as NativeGpuAddon };
  } finally {
    rmSync(dir, { recursive: true, force: true }); // a loaded addon stays mapped
  }
}

const built = buildEmulatedAddon();
const addon = 'addon' in built ? built.addon : undefined;

const emulated: ComputeBackendProvider = {
  name: 'cuda',
  priority: 100,
  probe: async () => (addon ? { available: true, device: { name: 'CPU emulation', type: 'cpu' } } : { available: false, reason: (built as { reason: string }).reason }),
  create: async () => new GpuComputeBackend('cuda', new addon!.GpuContext({ device: 0 })),
};

describeComputeConformance('cuda addon (emulated runtime)', () => emulated);

describe.skipIf(!addon)('cuda addon on the emulated runtime', () => {
  it('reports the device and the missing vendor BLAS with the reason', () => {
    const b = new GpuComputeBackend('cuda', new addon!.GpuContext({ device: 0 }));
    expect(b.info).toMatchObject({ api: 'CUDA', name: 'CPU emulation of a CUDA device', arch: 'sm_90', vendorBlas: null, vendorBlasReason: 'CPU emulation (tests)' });
    return b.dispose();
  });

  it('applies operations in call order; reuses pooled staging; frees buffers still in use only after the work', async () => {
    const b = new GpuComputeBackend('cuda', new addon!.GpuContext({ device: 0 }));
    const buf = b.createBuffer(4 * 256);
    void b.upload(buf, new Float32Array(256).map((_, i) => i));
    const first = b.rollingMoments({ series: buf, length: 256, window: 4 });
    void b.upload(buf, new Float32Array(256).fill(7));
    const second = b.rollingMoments({ series: buf, length: 256, window: 4 });
    b.freeBuffer(buf);
    expect((await first).mean[0]).toBeCloseTo(1.5, 6);
    expect((await second).variance.every((v) => v === 0)).toBe(true);
    const x = new Float32Array(4096).map((_, i) => Math.sin(i));
    await b.rollingMoments({ series: x, length: x.length, window: 10 });
    const held = b.memoryInUse;
    for (let i = 0; i < 20; i++) await b.rollingMoments({ series: x, length: x.length, window: 10 });
    expect(b.memoryInUse).toBe(held);
    await b.dispose();
  });

  it('native argument checks hold for callers that bypass the TypeScript layer', async () => {
    const ctx = new addon!.GpuContext({ device: 0 });
    expect(() => ctx.rollingMoments(12345, 16, 4, new Float32Array(13), new Float32Array(13))).toThrow(/unknown or freed buffer #12345/);
    expect(() => ctx.rollingMoments(new Float32Array(4), 4, 9, new Float32Array(1), new Float32Array(1))).toThrow(/window must be in \[1, length\]/);
    const b = new GpuComputeBackend('cuda', ctx);
    const e = await b.sgemm({ m: 2 ** 31, n: 1, k: 1, a: new Float32Array(1), b: new Float32Array(1), c: new Float32Array(1) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ComputeArgumentError);
    await b.dispose();
    expect(() => ctx.createBuffer(16)).toThrow(/destroyed/);
  });

  it('every sgemm variant passes the device check that gpu-check runs before timing it (kernels and glue on the emulated runtime)', () => {
    const ctx = new addon!.GpuContext({ device: 0 });
    const names = ctx.sgemmVariants();
    expect(names.length).toBeGreaterThanOrEqual(6);
    expect(names[0]).toMatch(/default/);
    const checks = checkSgemmVariants(ctx) as { variant: number; correct: boolean; worstOverTol: number; failures: string[] }[];
    expect(checks.map((c) => c.variant)).toEqual(names.map((_: string, i: number) => i));
    for (const c of checks) {
      expect(c.failures, names[c.variant]).toEqual([]);
      expect(c.correct).toBe(true);
      expect(c.worstOverTol).toBeLessThan(1);
    }
    expect(() => ctx.runSgemmVariant(names.length, 1, 1, 1, 1, 0, false, new Float32Array(1), new Float32Array(1), new Float32Array(1)))
      .toThrow(expect.objectContaining({ code: 'CUDA_BAD_ARGUMENT' }));
    expect(() => ctx.benchSgemm(4, 4, 4, 1, false, names.length)).toThrow(/unknown sgemm variant/);
    expect(() => ctx.runSgemmVariant(0, 2, 2, 2, 1, 0, false, new Float32Array(4), new Float32Array(3), new Float32Array(4))).toThrow(/b too short/);
    ctx.destroy();
  }, 300_000); // ~30 s on a quiet 2-core CI host; 130 s beside other builds

  it('a variant that computes a wrong value is reported wrong and not timed', () => {
    const ctx = new addon!.GpuContext({ device: 0 });
    const timed: number[] = [];
    // Variant 2 writes one wrong element on the odd-sized case; every other variant is the real one.
    const faulty = {
      sgemmVariants: () => ctx.sgemmVariants(),
      runSgemmVariant: (v: number, m: number, n: number, k: number, alpha: number, beta: number, t: boolean, a: Float32Array, b: Float32Array, c: Float32Array) => {
        ctx.runSgemmVariant(v === 2 ? 0 : v, m, n, k, alpha, beta, t, a, b, c);
        if (v === 2 && m === VARIANT_CHECKS[0].m) c[n + 3]! += 0.1;
      },
      benchSgemm: (_m: number, _n: number, _k: number, _it: number, vendor: boolean, variant: number) => {
        if (!vendor) timed.push(variant);
        return vendor ? 1 : 2 + (variant ?? 0);
      },
    };
    const r = timeSgemmVariants(faulty, { vendorBlas: 'cuBLAS', peakFp32: 1e13, rounds: 1, sizes: [64], cases: VARIANT_CHECKS.slice(0, 2) }) as {
      checks: { variant: number; correct: boolean; failures: string[] }[];
      variants: { variant: number; correct: boolean; value: number | null; ofPeer?: number }[];
      best: Record<number, { variant: number }>;
    };
    expect(r.checks[2]!.correct).toBe(false);
    expect(r.checks[2]!.failures[0]).toMatch(/C\[1\]\[3\]/);
    expect(r.checks.filter((c) => !c.correct).length).toBe(1);
    expect(timed).not.toContain(2);
    expect(r.variants.find((v) => v.variant === 2)).toMatchObject({ correct: false, value: null });
    expect(r.variants.find((v) => v.variant === 0)!.ofPeer).toBeCloseTo(0.5, 12);
    expect(r.best[64]!.variant).toBe(0);
    ctx.destroy();
  }, 120_000);

  it('the new context rejects a device index that does not exist', () => {
    expect(() => new addon!.GpuContext({ device: 3 })).toThrow('device 3 does not exist (1 device(s))');
  });
});

describe.skipIf(!addon)('cuda addon on the emulated runtime: BLAS alpha = 0, SharedArrayBuffer arrays', () => {
  it('sgemm alpha = 0 reads neither A nor B (NaN/Infinity there): C = beta C, zeros for beta = 0; host and device arguments', async () => {
    // The contract's BLAS rule: 0 x NaN must not reach C. The Vulkan shaders broke it; the
    // addon scales C without launching the product (kept here, where the kernels run emulated).
    const b = new GpuComputeBackend('cuda', new addon!.GpuContext({ device: 0 }));
    const m = 3, n = 70, k = 2;
    const a = new Float32Array(m * k).fill(1);
    a[0] = Number.NaN;
    a[3] = Number.POSITIVE_INFINITY;
    const bm = new Float32Array(k * n).fill(2);
    bm[5] = Number.NEGATIVE_INFINITY;
    const c0 = Float32Array.from({ length: m * n }, (_, i) => i - 7);
    const c = Float32Array.from(c0);
    await b.sgemm({ m, n, k, a, b: bm, c, alpha: 0, beta: 2 });
    expect(Array.from(c)).toEqual(Array.from(c0, (x) => 2 * x));
    const z = new Float32Array(m * n).fill(Number.NaN); // beta = 0 does not read C either
    await b.sgemm({ m, n, k, a, b: bm, c: z, alpha: 0, beta: 0 });
    expect(Array.from(z)).toEqual(new Array(m * n).fill(0));
    const [da, db, dc] = [a, bm, c0].map((x) => b.createBuffer(x.byteLength));
    await Promise.all([b.upload(da!, a), b.upload(db!, bm), b.upload(dc!, c0)]);
    await b.sgemm({ m, n, k, a: da!, b: db!, c: dc!, alpha: 0, beta: -0.5 });
    const back = new Float32Array(m * n);
    await b.download(dc!, back);
    expect(Array.from(back)).toEqual(Array.from(c0, (x) => -0.5 * x));
    await b.dispose();
  });

  it('host arrays over a SharedArrayBuffer work like any other: kernel inputs and outputs, upload and download', async () => {
    // Vulkan's addon read host bytes through ArrayBuffer().Data(), which fails on a
    // SharedArrayBuffer ("Error: Invalid argument"); this addon takes them from
    // napi_get_typedarray_info (node-addon-api's TypedArrayOf::Data()), which works.
    const b = new GpuComputeBackend('cuda', new addon!.GpuContext({ device: 0 }));
    const shared = (n: number): Float32Array => new Float32Array(new SharedArrayBuffer(n * 4));
    const js = new JsComputeBackend();
    const N = 256, W = 16;
    const series = shared(N);
    series.set(Float32Array.from({ length: N }, (_, i) => 100 + Math.sin(i * 0.3)));
    const out = { mean: shared(N - W + 1), variance: shared(N - W + 1) };
    await b.rollingMoments({ series, length: N, window: W, out });
    const want = js.sync.rollingMoments({ series, length: N, window: W });
    for (let i = 0; i < want.mean.length; i++) {
      expect(Math.abs(out.mean[i]! - want.mean[i]!)).toBeLessThanOrEqual(1e-5);
      expect(Math.abs(out.variance[i]! - want.variance[i]!)).toBeLessThanOrEqual(1e-5);
    }
    const a = shared(4), bm = shared(4), c = shared(4);
    a.set([1, 2, 3, 4]);
    bm.set([5, 6, 7, 8]);
    c.fill(1);
    await b.sgemm({ m: 2, n: 2, k: 2, a, b: bm, c, beta: 1 });
    expect(Array.from(c)).toEqual([20, 23, 44, 51]);
    const stored = shared(3 * 4);
    stored.set([1, 2, 3, 4, 4, 3, 2, 1, 1, 3, 2, 4]);
    const indices = new Int32Array(new SharedArrayBuffer(4)), scores = shared(1);
    await b.patternScores({ stored, storedCount: 3, dim: 4, queries: stored.subarray(4, 8), queryCount: 1, topK: 1, out: { indices, scores } });
    expect([indices[0], scores[0]]).toEqual([1, 1]);
    const var95 = await b.monteCarloVaR({ means: shared(2), factor: shared(4).fill(0.01), assets: 2, factors: 2, weights: shared(2).fill(100), paths: 500, confidence: 0.95, seed: 9 });
    const varWant = await js.monteCarloVaR({ means: new Float32Array(2), factor: new Float32Array(4).fill(0.01), assets: 2, factors: 2, weights: new Float32Array(2).fill(100), paths: 500, confidence: 0.95, seed: 9 });
    expect(Math.abs(var95.var - varWant.var)).toBeLessThanOrEqual(1e-9 * varWant.stdLoss);
    const buf = b.createBuffer(N * 4);
    await b.upload(buf, new DataView(series.buffer, 0, N * 4));
    const back = shared(N);
    await b.download(buf, back);
    expect(back).toEqual(series);
    b.freeBuffer(buf);
    await b.dispose();
  });
});

// A caller may transfer (detach) the ArrayBuffer of an output array while the call that fills
// it is in flight. The completion must not write into that memory from its worker thread (freed
// memory: SIGSEGV or silent corruption); results are copied on the JS thread, after a check.
describe.skipIf(!addon)('cuda addon on the emulated runtime: outputs detached while the call is in flight', () => {
  const detach = (...arrays: ArrayBufferView[]): void => {
    for (const x of arrays) structuredClone(x.buffer, { transfer: [x.buffer as ArrayBuffer] });
  };
  const settle = async (p: Promise<unknown>): Promise<{ outcome: string; name?: string; message?: string }> => {
    try {
      await p;
      return { outcome: 'resolved' };
    } catch (e) {
      return { outcome: 'rejected', name: (e as Error).name, message: (e as Error).message };
    }
  };
  const rejected = (what: RegExp) => ({ outcome: 'rejected', name: 'ComputeArgumentError', message: expect.stringMatching(what) });

  it('rollingMoments: an out array detached rejects naming it; the inputs were captured at the call', async () => {
    const b = new GpuComputeBackend('cuda', new addon!.GpuContext({ device: 0 }));
    const n = 1 << 16, w = 8;
    const x = new Float32Array(n).map((_, i) => Math.sin(i));
    const mean = new Float32Array(n - w + 1), variance = new Float32Array(n - w + 1);
    const p = b.rollingMoments({ series: x, length: n, window: w, out: { mean, variance } });
    detach(mean, x);
    expect(await settle(p)).toMatchObject(rejected(/mean was detached/));
    // The context is still usable, and an input detached after the call did not matter.
    const y = new Float32Array(n).map((_, i) => Math.sin(i));
    const q = b.rollingMoments({ series: y, length: n, window: w });
    detach(y);
    expect((await q).mean[0]).toBeCloseTo([0, 1, 2, 3, 4, 5, 6, 7].reduce((s, i) => s + Math.sin(i), 0) / 8, 5);
    await b.dispose();
  });

  it('patternScores: a detached indices or all-scores array rejects; sgemm c and download dst too', async () => {
    const b = new GpuComputeBackend('cuda', new addon!.GpuContext({ device: 0 }));
    const K = 2000, D = 16, B = 4, topK = 8;
    const stored = new Float32Array(K * D).map((_, i) => Math.sin(i * 0.37));
    const queries = new Float32Array(B * D).map((_, i) => Math.cos(i));
    const indices = new Int32Array(B * topK), scores = new Float32Array(B * topK);
    const p1 = b.patternScores({ stored, storedCount: K, dim: D, queries, queryCount: B, topK, out: { indices, scores } });
    detach(indices);
    expect(await settle(p1)).toMatchObject(rejected(/outIdx was detached/));

    const m = 64;
    const a = new Float32Array(m * m).fill(1), bb = new Float32Array(m * m).fill(1), c = new Float32Array(m * m);
    const p2 = b.sgemm({ m, n: m, k: m, a, b: bb, c });
    detach(c);
    expect(await settle(p2)).toMatchObject(rejected(/c was detached/));

    const buf = b.createBuffer(4 * 1024);
    await b.upload(buf, new Float32Array(1024).fill(7));
    const dst = new Float32Array(1024);
    const p3 = b.download(buf, dst);
    detach(dst);
    expect(await settle(p3)).toMatchObject(rejected(/dst was detached/));

    // Nothing leaked: the pooled staging of the rejected calls came back.
    const held = b.memoryInUse;
    for (let i = 0; i < 5; i++) {
      const out = new Float32Array(m * m);
      await b.sgemm({ m, n: m, k: m, a: new Float32Array(m * m).fill(1), b: new Float32Array(m * m).fill(2), c: out });
      expect(out[0]).toBe(2 * m);
    }
    expect(b.memoryInUse).toBe(held);
    b.freeBuffer(buf);
    await b.dispose();
  });
});

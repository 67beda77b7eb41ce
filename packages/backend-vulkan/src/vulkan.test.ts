// Direct tests of the Vulkan backend against small independent calculations, plus the parts the
// conformance suite does not cover: probe reasons, settings, device selection, resident-store
// cache invalidation, submission ordering, out-of-memory, device loss, dispose, the plugin.
// Device-dependent tests skip (with the probe's reason) where Vulkan is unavailable.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { ComputeArgumentError, TOKENS, type ComputeBackendProvider } from '@cwts/core';
import { CwtsContainer } from '@cwts/core/di';
import { JsComputeBackend, normalAt, splitSeed } from '@cwts/core/compute';
import { CONFORMANCE_TOLERANCES, skipUnlessRequired } from '@cwts/core/testing';
import {
  VulkanDeviceLostError,
  VulkanOutOfMemoryError,
  createVulkanBackend,
  parseVulkanSettings,
  checkVulkanSettings,
  plugin,
  probeResultFrom,
  vulkanProvider,
  type VulkanBackend,
} from './index.js';
import { loadNative } from './native.js';

let shared: Promise<VulkanBackend> | undefined;
const extra: VulkanBackend[] = [];

async function probeOrSkip(ctx: TestContext): Promise<void> {
  const p = await vulkanProvider.probe();
  if (!p.available) skipUnlessRequired(ctx, 'vulkan', `vulkan unavailable: ${p.reason}`);
}

async function backend(ctx: TestContext): Promise<VulkanBackend> {
  await probeOrSkip(ctx);
  shared ??= createVulkanBackend({});
  return shared;
}

async function fresh(ctx: TestContext, settings: Record<string, unknown> = {}): Promise<VulkanBackend> {
  await probeOrSkip(ctx);
  const b = await createVulkanBackend({ settings });
  extra.push(b);
  return b;
}

afterAll(async () => {
  for (const b of extra) await b.dispose();
  if (shared) await (await shared).dispose();
});

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function randomF32(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => offset + scale * r());
}

function pearson(x: ArrayLike<number>, xo: number, y: ArrayLike<number>, yo: number, D: number): number {
  let mx = 0, my = 0;
  for (let i = 0; i < D; i++) { mx += x[xo + i]; my += y[yo + i]; }
  mx /= D; my /= D;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < D; i++) {
    const a = x[xo + i] - mx, b = y[yo + i] - my;
    sxy += a * b; sxx += a * a; syy += b * b;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

describe('probe and settings (no device needed)', () => {
  it('turns native probe outcomes into reasons', () => {
    expect(probeResultFrom({ ok: false, reason: 'no Vulkan loader (libvulkan.so.1: cannot open shared object file)' })).toEqual({
      available: false,
      reason: 'no Vulkan loader (libvulkan.so.1: cannot open shared object file)',
    });
    const none = probeResultFrom({ ok: true, devices: [], defaultIndex: -1 });
    expect(none.available).toBe(false);
    expect(!none.available && none.reason).toMatch(/no Vulkan device/);
    const dev = {
      index: 0, name: 'Old GPU', type: 'integrated-gpu', driverName: 'x', driverInfo: '', apiVersion: '1.0.61', vendorId: 1, memoryBytes: 1,
      subgroupSize: 0, subgroupArithmetic: false, maxComputeWorkGroupInvocations: 128, maxComputeSharedMemorySize: 16384,
      maxStorageBufferRange: 1 << 27, suitable: false, whyNot: 'Vulkan 1.0.61 (1.1 required)',
    };
    const unsuitable = probeResultFrom({ ok: true, devices: [dev], defaultIndex: -1 });
    expect(!unsuitable.available && unsuitable.reason).toBe('no suitable Vulkan device (Old GPU: Vulkan 1.0.61 (1.1 required))');
    const ok = probeResultFrom({ ok: true, devices: [{ ...dev, suitable: true, whyNot: '' }], defaultIndex: 0, instanceVersion: '1.3.0' });
    expect(ok.available && ok.device.name).toBe('Old GPU');
  });

  it('parses [compute.vulkan] settings and names bad keys', () => {
    expect(parseVulkanSettings({ device: '1', validation: true, memory_limit_mb: 64, kernel_timeout_ms: 0, pipeline_cache: '/tmp/x.bin' })).toEqual({
      device: 1, validation: true, memoryLimitMb: 64, kernelTimeoutMs: 0, pipelineCache: '/tmp/x.bin',
    });
    expect(parseVulkanSettings({ device: 'llvmpipe' })).toEqual({ device: 'llvmpipe' });
    expect(() => parseVulkanSettings({ devices: 0 })).toThrow(/devices: unknown key \(did you mean device\?\)/);
    expect(() => parseVulkanSettings({ device: -1 })).toThrow(/\[compute.vulkan\] device/);
    expect(() => parseVulkanSettings({ validation: 'yes' })).toThrow(/validation: must be true or false, got "yes"/);
    // What validate-config and run report: one issue per key, with its full key path.
    expect(checkVulkanSettings({ memory_limit_mb: -1, pipelineCache: '' }, 'compute.vulkan')).toEqual([
      { path: 'compute.vulkan.memory_limit_mb', message: 'must be a non-negative number, got -1' },
      { path: 'compute.vulkan.pipelineCache', message: 'must be a file path, got ""' },
    ]);
    expect(plugin.validateOptions!({ device: 'llvmpipe', kernelTimeoutMs: 5 }, 'compute.vulkan')).toEqual([]);
  });

  it('the provider and plugin follow the plugin conventions; nothing registers on import', () => {
    expect(vulkanProvider.name).toBe('vulkan');
    expect(vulkanProvider.priority).toBe(80);
    expect(plugin.kind).toBe('backend');
    const root = CwtsContainer.createRoot('test');
    expect(root.isRegistered(TOKENS.ComputeBackendProvider)).toBe(false);
    plugin.register({ registrar: root.as(plugin.name), instanceName: 'vulkan', config: {} });
    const all = root.resolveAll(TOKENS.ComputeBackendProvider) as ComputeBackendProvider[];
    expect(all).toContain(vulkanProvider);
  });

  it('says why when there is no loader or no driver (child processes)', (ctx) => {
    const n = loadNative();
    if (!n.addon) skipUnlessRequired(ctx, 'vulkan', `native addon unavailable: ${n.reason}`);
    const run = (env: Record<string, string>) => {
      const base = { ...process.env };
      delete base.CWTS_VULKAN_LOADER;
      const r = spawnSync(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(n.path)}).probe()))`], {
        env: { ...base, ...env },
        encoding: 'utf8',
      });
      return JSON.parse(r.stdout.trim()) as { ok: boolean; reason?: string };
    };
    const noLoader = run({ CWTS_VULKAN_LOADER: '/nonexistent/libvulkan.so.1' });
    expect(noLoader.ok).toBe(false);
    expect(noLoader.reason).toMatch(/^no Vulkan loader/);
    const plain = run({});
    if (!plain.ok && /^no Vulkan loader/.test(plain.reason ?? '')) skipUnlessRequired(ctx, 'vulkan', `the no-ICD case needs a Vulkan loader: ${plain.reason}`);
    const noIcd = run({ VK_DRIVER_FILES: '/nonexistent/icd.json', VK_ICD_FILENAMES: '/nonexistent/icd.json' });
    expect(noIcd.ok).toBe(false);
    expect(noIcd.reason).toMatch(/^no Vulkan driver \(ICD\)/);
  });
});

describe('device', () => {
  it('probe reports the device facts', async (ctx) => {
    await probeOrSkip(ctx);
    const p = await vulkanProvider.probe();
    if (!p.available) return;
    expect(p.device.name.length).toBeGreaterThan(0);
    expect(['discrete-gpu', 'integrated-gpu', 'virtual-gpu', 'cpu-device', 'other']).toContain(p.device.type);
    expect(p.device.memoryBytes).toBeGreaterThan(0);
    expect(String(p.device.details?.api)).toMatch(/^Vulkan 1\.\d+/);
    const b = await backend(ctx);
    expect(b.device.name).toBe(p.device.name);
    expect(b.info.workgroupSize).toBeGreaterThanOrEqual(b.info.subgroupSize);
    expect(b.info.workgroupSize).toBeLessThanOrEqual(b.info.maxComputeWorkGroupInvocations);
    expect(b.capabilities.maxBufferBytes).toBeLessThanOrEqual(b.info.maxStorageBufferRange);
  });

  it('selects a device by index or name and names the devices when none matches', async (ctx) => {
    await probeOrSkip(ctx);
    const p = await vulkanProvider.probe();
    if (!p.available) return;
    const byIndex = await fresh(ctx, { device: Number(p.device.details?.deviceIndex ?? 0) });
    expect(byIndex.device.name).toBe(p.device.name);
    const byName = await fresh(ctx, { device: p.device.name.slice(0, 4).toUpperCase() });
    expect(byName.device.name).toBe(p.device.name);
    await expect(createVulkanBackend({ settings: { device: 'no-such-gpu-xyz' } })).rejects.toThrow(/no Vulkan device name contains "no-such-gpu-xyz" \(devices: 0: /);
    await expect(createVulkanBackend({ settings: { device: 99 } })).rejects.toThrow(/device index 99 out of range/);
  });

  it('runs with the validation layer without a message, when the layer is installed', async (ctx) => {
    const b = await fresh(ctx, { validation: true });
    if (!b.info.validation) skipUnlessRequired(ctx, 'vulkan-validation', 'VK_LAYER_KHRONOS_validation is not installed (Debian: vulkan-validationlayers)');
    const x = randomF32(64 * 16, 1);
    const buf = b.createBuffer(x.byteLength);
    await b.upload(buf, x);
    await b.patternScores({ stored: buf, storedCount: 64, dim: 16, queries: x, queryCount: 3, topK: 4 });
    await b.rollingMoments({ series: x, length: x.length, window: 7 });
    await b.sgemm({ m: 8, n: 8, k: 16, a: x, b: x, c: new Float32Array(64), beta: 1 });
    await b.monteCarloVaR({ means: new Float32Array(2), factor: x.subarray(0, 4), assets: 2, factors: 2, weights: x.subarray(0, 2), paths: 100, confidence: 0.9, seed: 1 });
    const other = b.createBuffer(x.byteLength);
    await b.copy(buf, other, x.byteLength);
    await b.download(other, new Float32Array(x.length));
    b.freeBuffer(buf);
    b.freeBuffer(other);
    await b.noop();
    expect(b.validationMessages).toBe(0);
  });
});

describe('buffers and ordering', () => {
  it('keeps call order across pipelined transfers and kernels without awaiting', async (ctx) => {
    const b = await backend(ctx);
    const n = 4096;
    const a = b.createBuffer(n * 4);
    const c = b.createBuffer(n * 4);
    const first = randomF32(n, 2);
    const second = randomF32(n, 3);
    const calls: Promise<unknown>[] = [];
    calls.push(b.upload(a, first));
    calls.push(b.copy(a, c, n * 4)); // must see `first`
    calls.push(b.upload(a, second)); // must not overtake the copy
    const fromC = new Float32Array(n);
    const fromA = new Float32Array(n);
    calls.push(b.download(c, fromC), b.download(a, fromA));
    const stats = b.rollingMoments({ series: a, length: n, window: n }); // sees `second`
    await Promise.all(calls);
    expect(fromC).toEqual(first);
    expect(fromA).toEqual(second);
    const m = (await stats).mean[0];
    const want = second.reduce((s, v) => s + v, 0) / n;
    expect(Math.abs(m - want)).toBeLessThan(1e-5);
    for (let i = 0; i < 30; i++) calls.push(b.upload(a, Float32Array.of(i), 8), b.copy(a, c, 16));
    await Promise.all(calls);
    const tail = new Float32Array(4);
    await b.download(c, tail);
    expect(tail[2]).toBe(29);
    b.freeBuffer(a);
    b.freeBuffer(c);
  });

  it('host arrays over a SharedArrayBuffer: kernel inputs and outputs, upload and download', async (ctx) => {
    // A Float32Array over a SharedArrayBuffer passes every argument check; the addon took host
    // bytes through ArrayBuffer().Data(), which fails on a SharedArrayBuffer, and every such
    // call rejected with a bare "Error: Invalid argument".
    const b = await backend(ctx);
    const shared = (n: number): Float32Array => new Float32Array(new SharedArrayBuffer(n * 4));
    const N = 256, W = 16;
    const series = shared(N);
    series.set(randomF32(N, 41, 2, 100));
    const out = { mean: shared(N - W + 1), variance: shared(N - W + 1) };
    await b.rollingMoments({ series, length: N, window: W, out });
    const want = new JsComputeBackend().sync.rollingMoments({ series, length: N, window: W });
    for (let i = 0; i < want.mean.length; i++) {
      expect(Math.abs(out.mean[i] - want.mean[i])).toBeLessThanOrEqual(CONFORMANCE_TOLERANCES.rollingRel * 101);
      expect(Math.abs(out.variance[i] - want.variance[i])).toBeLessThanOrEqual(CONFORMANCE_TOLERANCES.rollingRel * (want.variance[i] + 101 ** 2));
    }
    const a = shared(4), bm = shared(4), c = shared(4);
    a.set([1, 2, 3, 4]);
    bm.set([5, 6, 7, 8]);
    c.fill(1);
    await b.sgemm({ m: 2, n: 2, k: 2, a, b: bm, c, beta: 1 });
    expect(Array.from(c)).toEqual([20, 23, 44, 51]);
    const stored = shared(3 * 4);
    stored.set([1, 2, 3, 4, 4, 3, 2, 1, 1, 3, 2, 4]);
    const r = await b.patternScores({ stored, storedCount: 3, dim: 4, queries: stored.subarray(4, 8), queryCount: 1, topK: 1 });
    expect(r.indices[0]).toBe(1);
    const buf = b.createBuffer(N * 4);
    try {
      await b.upload(buf, series);
      const back = shared(N);
      await b.download(buf, back);
      expect(back).toEqual(series);
    } finally {
      b.freeBuffer(buf);
    }
  });

  it('a resident pattern store re-normalises after it changes, and after it is freed and reused', async (ctx) => {
    const b = await backend(ctx);
    const K = 50, D = 24;
    const s1 = randomF32(K * D, 10);
    const s2 = randomF32(K * D, 11);
    const q = randomF32(2 * D, 12);
    const store = b.createBuffer(K * D * 4);
    await b.upload(store, s1);
    const r1 = await b.patternScores({ stored: store, storedCount: K, dim: D, queries: q, queryCount: 2, topK: 1, returnAllScores: true });
    const r1b = await b.patternScores({ stored: store, storedCount: K, dim: D, queries: q, queryCount: 2, topK: 1, returnAllScores: true });
    expect(r1b.allScores).toEqual(r1.allScores); // served from the cached normalised store
    await b.upload(store, s2.subarray(0, D), 0); // change one window
    const r2 = await b.patternScores({ stored: store, storedCount: K, dim: D, queries: q, queryCount: 2, topK: 1, returnAllScores: true });
    expect(Math.abs(r2.allScores![0] - pearson(q, 0, s2, 0, D))).toBeLessThan(2e-5);
    expect(Math.abs(r2.allScores![1] - pearson(q, 0, s1, D, D))).toBeLessThan(2e-5);
    // The store written by a kernel (sgemm into it) also invalidates the cache.
    await b.sgemm({ m: 1, n: D, k: 1, a: Float32Array.of(1), b: s2.subarray(D, 2 * D), c: store });
    const r3 = await b.patternScores({ stored: store, storedCount: K, dim: D, queries: q, queryCount: 2, topK: 1, returnAllScores: true });
    expect(Math.abs(r3.allScores![0] - pearson(q, 0, s2, D, D))).toBeLessThan(2e-5);
    b.freeBuffer(store);
    const again = b.createBuffer(K * D * 4);
    await b.upload(again, s2);
    const r4 = await b.patternScores({ stored: again, storedCount: K, dim: D, queries: q, queryCount: 2, topK: 1, returnAllScores: true });
    for (let k = 0; k < K; k++) expect(Math.abs(r4.allScores![k] - pearson(q, 0, s2, k * D, D))).toBeLessThan(2e-5);
    b.freeBuffer(again);
  });
});

describe('kernels against independent calculations', () => {
  it('patternScores: Pearson scores and top-k with ties to the lower index', async (ctx) => {
    const b = await backend(ctx);
    const K = 300, D = 40, B = 5, topK = 6;
    const stored = randomF32(K * D, 20, 2, 1);
    stored.copyWithin(7 * D, 100 * D, 101 * D); // window 7 == window 100
    const queries = randomF32(B * D, 21);
    queries.set(stored.subarray(100 * D, 101 * D), 0);
    const r = await b.patternScores({ stored, storedCount: K, dim: D, queries, queryCount: B, topK, returnAllScores: true });
    for (let q = 0; q < B; q++) {
      const want = Array.from({ length: K }, (_, k) => pearson(queries, q * D, stored, k * D, D));
      for (let k = 0; k < K; k++) expect(Math.abs(r.allScores![q * K + k] - want[k])).toBeLessThan(2e-5);
      const order = want.map((s, k) => [s, k] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1]);
      for (let j = 0; j < topK; j++) expect(Math.abs(r.scores[q * topK + j] - order[j][0])).toBeLessThan(2e-5);
    }
    expect(Array.from(r.indices.subarray(0, 2))).toEqual([7, 100]);
    expect(r.scores[0]).toBe(r.scores[1]);
  });

  it('patternScores with long windows (one workgroup per row; subgroup and shared-memory reductions)', async (ctx) => {
    const saved = process.env.CWTS_VULKAN_NO_SUBGROUPS;
    for (const noSubgroups of [false, true]) {
      if (noSubgroups) process.env.CWTS_VULKAN_NO_SUBGROUPS = '1';
      else delete process.env.CWTS_VULKAN_NO_SUBGROUPS;
      const b = await fresh(ctx);
      if (saved === undefined) delete process.env.CWTS_VULKAN_NO_SUBGROUPS;
      else process.env.CWTS_VULKAN_NO_SUBGROUPS = saved;
      if (noSubgroups) expect(b.info.subgroupArithmetic).toBe(false);
      for (const D of [257, 777]) {
        const K = 23, B = 3;
        const stored = randomF32(K * D, D, 4, -2);
        stored.fill(0.3, 4 * D, 5 * D); // constant window
        stored[9 * D + 100] = Number.NaN;
        const queries = randomF32(B * D, D + 1);
        queries.set(stored.subarray(11 * D, 12 * D), D);
        const r = await b.patternScores({ stored, storedCount: K, dim: D, queries, queryCount: B, topK: 3, returnAllScores: true });
        for (let q = 0; q < B; q++) {
          for (let k = 0; k < K; k++) {
            const want = k === 4 || k === 9 ? 0 : pearson(queries, q * D, stored, k * D, D);
            expect(Math.abs(r.allScores![q * K + k] - want), `D=${D} q=${q} k=${k} noSubgroups=${noSubgroups}`).toBeLessThan(2e-5);
          }
        }
        expect(r.indices[3]).toBe(11);
      }
    }
  });

  // Raw prices near 30000 moving by ticks of 0.01: a float32 mean taken as sum / D rounds by as
  // much as the windows' own spread, and scores came out off by up to ~1 with another top-k.
  // The normalise shaders shift each row by its first value and use the corrected two-pass.
  it('patternScores on windows far from zero (raw prices) match the oracle, both normalise variants', async (ctx) => {
    const priceWindows = (r: () => number, rows: number, D: number): Float32Array => {
      const x = new Float32Array(rows * D);
      for (let k = 0; k < rows; k++) {
        let p = 30000 + Math.round(r() * 1000) / 100;
        for (let d = 0; d < D; d++) {
          p += Math.round(r() * 4) / 100;
          x[k * D + d] = p;
        }
      }
      return x;
    };
    const js = new JsComputeBackend();
    const saved = process.env.CWTS_VULKAN_NO_SUBGROUPS;
    for (const noSubgroups of [false, true]) {
      if (noSubgroups) process.env.CWTS_VULKAN_NO_SUBGROUPS = '1';
      else delete process.env.CWTS_VULKAN_NO_SUBGROUPS;
      const b = await fresh(ctx);
      if (saved === undefined) delete process.env.CWTS_VULKAN_NO_SUBGROUPS;
      else process.env.CWTS_VULKAN_NO_SUBGROUPS = saved;
      // 8..256: one invocation per row (normalize_rows); 257+: one workgroup per row (normalize).
      for (const D of noSubgroups ? [512] : [8, 64, 256, 512, 777]) {
        const r = rng(12345 + D);
        const K = 200, B = 4, topK = 5;
        const stored = priceWindows(r, K, D);
        const queries = priceWindows(r, B, D);
        const args = { stored, storedCount: K, dim: D, queries, queryCount: B, topK, returnAllScores: true };
        const want = await js.patternScores(args);
        const got = await b.patternScores(args);
        let worst = 0;
        for (let i = 0; i < want.allScores!.length; i++) worst = Math.max(worst, Math.abs(got.allScores![i] - want.allScores![i]));
        expect(worst, `D=${D} noSubgroups=${noSubgroups}: largest |vulkan - oracle|`).toBeLessThanOrEqual(CONFORMANCE_TOLERANCES.patternScoreAbs);
        expect(Array.from(got.indices), `D=${D} noSubgroups=${noSubgroups}: top-k`).toEqual(Array.from(want.indices));
      }
    }
  });

  it('rollingMoments: spikes and level shifts do not leak into later windows (sliding update)', async (ctx) => {
    const b = await backend(ctx);
    const N = 20000;
    const x = randomF32(N, 31, 1, 0);
    for (let i = 0; i < N; i++) x[i] += i < 5000 ? 0 : i < 12000 ? 5000 : -300;
    x[777] = 1e6;
    x[15000] = -2e5;
    x.fill(42.25, 16000, 16100);
    for (const W of [8, 33, 250]) {
      const r = await b.rollingMoments({ series: x, length: N, window: W });
      for (let i = 0; i < N - W + 1; i++) {
        let m = 0;
        for (let j = 0; j < W; j++) m += x[i + j];
        m /= W;
        let v = 0;
        for (let j = 0; j < W; j++) v += (x[i + j] - m) ** 2;
        v /= W;
        const okM = Math.abs(r.mean[i] - m) <= 1e-4 * (Math.abs(m) + Math.sqrt(v));
        const okV = r.variance[i] >= 0 && Math.abs(r.variance[i] - v) <= 1e-4 * (v + m * m);
        if (!okM || !okV) expect.fail(`W=${W} i=${i}: got ${r.mean[i]}/${r.variance[i]}, want ${m}/${v}`);
      }
    }
  });

  it('rollingMoments: mean and population variance per window', async (ctx) => {
    const b = await backend(ctx);
    const N = 5000, W = 37;
    const x = randomF32(N, 30, 3, 100);
    const r = await b.rollingMoments({ series: x, length: N, window: W });
    for (let i = 0; i < N - W + 1; i += 7) {
      let m = 0;
      for (let j = 0; j < W; j++) m += x[i + j];
      m /= W;
      let v = 0;
      for (let j = 0; j < W; j++) v += (x[i + j] - m) ** 2;
      v /= W;
      expect(Math.abs(r.mean[i] - m)).toBeLessThan(1e-4 * (Math.abs(m) + Math.sqrt(v)));
      expect(Math.abs(r.variance[i] - v)).toBeLessThan(1e-4 * (v + m * m));
    }
  });

  it('sgemm: a triple loop, edges of the 64x64 tile included, both variants (tiled, direct)', async (ctx) => {
    await probeOrSkip(ctx);
    const saved = process.env.CWTS_VULKAN_SGEMM;
    const variants: VulkanBackend[] = [];
    for (const v of ['tiled', 'direct']) {
      process.env.CWTS_VULKAN_SGEMM = v;
      variants.push(await fresh(ctx));
    }
    if (saved === undefined) delete process.env.CWTS_VULKAN_SGEMM;
    else process.env.CWTS_VULKAN_SGEMM = saved;
    expect(variants.map((b) => b.info.sgemmVariant)).toEqual(['tiled', 'direct']);
    for (const b of variants) for (const [m, n, k] of [[65, 129, 17], [1, 200, 300], [130, 3, 64]] as const) {
      const a = randomF32(m * k, m + n);
      const bb = randomF32(k * n, k);
      const c0 = randomF32(m * n, 5);
      const c = Float32Array.from(c0);
      await b.sgemm({ m, n, k, a, b: bb, c, alpha: 1.5, beta: -0.5 });
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0, mag = 0;
          for (let p = 0; p < k; p++) { s += a[i * k + p] * bb[p * n + j]; mag += Math.abs(a[i * k + p] * bb[p * n + j]); }
          const want = 1.5 * s - 0.5 * c0[i * n + j];
          expect(Math.abs(c[i * n + j] - want)).toBeLessThanOrEqual(1e-5 * (1.5 * mag + 0.5 * Math.abs(c0[i * n + j])) + 1e-7);
        }
      }
    }
  });

  it('sgemm: alpha = 0 reads neither A nor B (NaN/Infinity there): C = beta C, zeros for beta = 0, both variants', async (ctx) => {
    // BLAS, the contract and the oracle: alpha = 0 does not read A or B. The shaders computed
    // alpha x (A B) regardless, so 0 x NaN made C NaN.
    await probeOrSkip(ctx);
    const saved = process.env.CWTS_VULKAN_SGEMM;
    const variants: VulkanBackend[] = [];
    for (const v of ['tiled', 'direct']) {
      process.env.CWTS_VULKAN_SGEMM = v;
      variants.push(await fresh(ctx));
    }
    if (saved === undefined) delete process.env.CWTS_VULKAN_SGEMM;
    else process.env.CWTS_VULKAN_SGEMM = saved;
    const m = 3, n = 70, k = 2;
    const a = new Float32Array(m * k).fill(1);
    a[0] = Number.NaN;
    a[3] = Number.POSITIVE_INFINITY;
    const bm = new Float32Array(k * n).fill(2);
    bm[5] = Number.NEGATIVE_INFINITY;
    const c0 = Float32Array.from({ length: m * n }, (_, i) => i - 7);
    const cRef = Float32Array.from(c0);
    await new JsComputeBackend().sgemm({ m, n, k, a, b: bm, c: cRef, alpha: 0, beta: 2 });
    expect(Array.from(cRef)).toEqual(Array.from(c0, (x) => 2 * x));
    for (const b of variants) {
      const c = Float32Array.from(c0);
      await b.sgemm({ m, n, k, a, b: bm, c, alpha: 0, beta: 2 });
      expect(Array.from(c)).toEqual(Array.from(cRef));
      const z = new Float32Array(m * n).fill(Number.NaN); // beta = 0 does not read C either
      await b.sgemm({ m, n, k, a, b: bm, c: z, alpha: 0, beta: 0 });
      expect(Array.from(z)).toEqual(new Array(m * n).fill(0));
      // Device buffers: A and B hold NaN, C is scaled in place.
      const [da, db, dc] = [a, bm, c0].map((x) => b.createBuffer(x.byteLength));
      await Promise.all([b.upload(da, a), b.upload(db, bm), b.upload(dc, c0)]);
      await b.sgemm({ m, n, k, a: da, b: db, c: dc, alpha: 0, beta: -0.5 });
      const back = new Float32Array(m * n);
      await b.download(dc, back);
      expect(Array.from(back)).toEqual(Array.from(c0, (x) => -0.5 * x));
      for (const buf of [da, db, dc]) b.freeBuffer(buf);
    }
  });

  it('monteCarloVaR: the GLSL Philox + Box-Muller draw equals the contract normal z[p][t][j]', async (ctx) => {
    const b = await backend(ctx);
    // One asset, weight 1, mean 0, factor row selecting z_j: the single path's loss is -z[0][0][j].
    for (const seed of [0, 42, 2 ** 32 + 7, 0xfffffffffffffn]) {
      const [lo, hi] = splitSeed(seed);
      for (const j of [0, 1, 2, 3, 4, 6]) {
        const factor = new Float32Array(8);
        factor[j] = 1;
        const r = await b.monteCarloVaR({ means: Float32Array.of(0), factor, assets: 1, factors: 8, weights: Float32Array.of(1), paths: 1, confidence: 0.5, seed });
        expect(Math.abs(r.var - -normalAt(lo, hi, 0, 0, j))).toBeLessThan(2e-5);
      }
    }
  });

  it('monteCarloVaR: VaR, CVaR, mean and std from per-path losses (horizon 3)', async (ctx) => {
    const b = await backend(ctx);
    const A = 3, F = 3, P = 2000, H = 3, conf = 0.95, seed = 77;
    const means = Float32Array.of(0.001, -0.002, 0.0005);
    const factor = Float32Array.of(0.02, 0, 0, 0.01, 0.015, 0, -0.005, 0.002, 0.03);
    const weights = Float32Array.of(1000, 2000, -500);
    const [lo, hi] = splitSeed(seed);
    const losses = new Float64Array(P);
    for (let p = 0; p < P; p++) {
      let total = 0;
      for (let t = 0; t < H; t++) {
        const z = [0, 1, 2].map((j) => normalAt(lo, hi, p, t, j));
        for (let a = 0; a < A; a++) {
          let r = means[a];
          for (let f = 0; f < F; f++) r += factor[a * F + f] * z[f];
          total += weights[a] * r;
        }
      }
      losses[p] = -total;
    }
    const sorted = Float64Array.from(losses).sort();
    const idx = Math.ceil(conf * P) - 1;
    const mean = losses.reduce((s, v) => s + v, 0) / P;
    const sd = Math.sqrt(losses.reduce((s, v) => s + (v - mean) ** 2, 0) / P);
    const cvar = sorted.subarray(idx).reduce((s, v) => s + v, 0) / (P - idx);
    const r = await b.monteCarloVaR({ means, factor, assets: A, factors: F, weights, paths: P, horizon: H, confidence: conf, seed });
    expect(r.paths).toBe(P);
    expect(Math.abs(r.var - sorted[idx])).toBeLessThan(1e-4 * sd);
    expect(Math.abs(r.cvar - cvar)).toBeLessThan(1e-4 * sd);
    expect(Math.abs(r.meanLoss - mean)).toBeLessThan(1e-4 * sd);
    expect(Math.abs(r.stdLoss - sd)).toBeLessThan(1e-4 * sd);
  });
});

describe('failures', () => {
  it('out of memory is a clear error and the backend stays usable', async (ctx) => {
    const b = await fresh(ctx, { memory_limit_mb: 1 });
    expect(() => b.createBuffer(2 << 20)).toThrow(VulkanOutOfMemoryError);
    expect(() => b.createBuffer(2 << 20)).toThrow(/out of device memory/);
    await expect(b.rollingMoments({ series: new Float32Array(1 << 20), length: 1 << 20, window: 3 })).rejects.toThrow(VulkanOutOfMemoryError);
    expect(b.available).toBe(true);
    await b.noop();
    const small = b.createBuffer(1024);
    await b.upload(small, new Float32Array(256).fill(3));
    b.freeBuffer(small);
  });

  it('device loss rejects calls, marks the backend unavailable, and the process goes on', async (ctx) => {
    const b = await fresh(ctx);
    const buf = b.createBuffer(64);
    await b.noop();
    b.simulateDeviceLoss('test: simulated');
    await expect(b.noop()).rejects.toThrow(VulkanDeviceLostError);
    expect(b.available).toBe(false);
    expect(b.unavailableReason).toMatch(/simulated/);
    await expect(b.download(buf, new Float32Array(16))).rejects.toThrow(/unavailable/);
    expect(() => b.createBuffer(64)).toThrow(VulkanDeviceLostError);
  });

  it('arguments are checked before anything reaches the device', async (ctx) => {
    const b = await backend(ctx);
    await expect(b.sgemm({ m: 2, n: 2, k: 2, a: new Float32Array(3), b: new Float32Array(4), c: new Float32Array(4) })).rejects.toThrow(ComputeArgumentError);
    expect(() => b.createBuffer(b.capabilities.maxBufferBytes + 4)).toThrow(ComputeArgumentError);
  });

  it('dispose waits for work in flight, then refuses calls', async (ctx) => {
    const b = await fresh(ctx);
    const work = Array.from({ length: 16 }, () => b.noop());
    const scores = b.patternScores({ stored: randomF32(640, 1), storedCount: 40, dim: 16, queries: randomF32(16, 2), queryCount: 1, topK: 2 });
    await b.dispose();
    await Promise.all(work);
    expect((await scores).indices.length).toBe(2);
    await expect(b.noop()).rejects.toThrow(/disposed/);
  });

  it('saves and reloads the pipeline cache', async (ctx) => {
    await probeOrSkip(ctx);
    const dir = mkdtempSync(join(tmpdir(), 'cwts-vk-'));
    try {
      const file = join(dir, 'sub', 'pipelines.bin');
      const b1 = await createVulkanBackend({ settings: { pipeline_cache: file } });
      await b1.noop();
      await b1.dispose();
      expect(existsSync(file)).toBe(true);
      const b2 = await createVulkanBackend({ settings: { pipeline_cache: file } });
      await b2.noop();
      await b2.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

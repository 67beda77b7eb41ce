/**
 * Bad arguments give clear JS errors (ComputeArgumentError naming the kernel and argument), never
 * a crash or a read past a buffer; the addon's own checks catch what bypasses the TypeScript
 * layer. Also: the ordered loader's error, the install script without a toolchain, the plugin.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComputeArgumentError, TOKENS, type ComputeBackendProvider } from '@cwts/core';
import { CwtsContainer } from '@cwts/core/di';
import { skipUnlessRequired } from '@cwts/core/testing';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { CpuSimdBackend } from './backend.js';
import { NativeLoadError, PACKAGE_DIR, addonCandidates, cpuSimdProvider, loadNative, loadNativeFrom, plugin } from './index.js';

const made: CpuSimdBackend[] = [];
afterAll(async () => {
  for (const b of made) await b.dispose();
});

async function backend(ctx: TestContext): Promise<CpuSimdBackend> {
  const p = await cpuSimdProvider.probe();
  if (!p.available) skipUnlessRequired(ctx, 'cpu-simd', p.reason);
  const b = (await cpuSimdProvider.create({ threadPoolSize: 2 })) as CpuSimdBackend;
  made.push(b);
  return b;
}

async function rejects(call: () => unknown, pattern: RegExp): Promise<void> {
  let err: unknown;
  try {
    await call();
  } catch (e) {
    err = e;
  }
  expect(err, `expected an error matching ${pattern}`).toBeInstanceOf(ComputeArgumentError);
  expect((err as Error).message).toMatch(pattern);
}

const f32 = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 10);

describe('cpu-simd argument checks', () => {
  it('patternScores', async (ctx) => {
    const b = await backend(ctx);
    const ok = { stored: f32(40), storedCount: 10, dim: 4, queries: f32(8), queryCount: 2, topK: 3 };
    await expect(b.patternScores(ok)).resolves.toBeDefined();
    await rejects(() => b.patternScores({ ...ok, stored: f32(39) }), /patternScores: stored has 39 elements, needs at least 40/);
    await rejects(() => b.patternScores({ ...ok, stored: new Float64Array(40) as never }), /stored must be a Float32Array or a DeviceBuffer, got Float64Array/);
    await rejects(() => b.patternScores({ ...ok, queries: [1, 2, 3, 4, 5, 6, 7, 8] as never }), /queries must be a Float32Array/);
    await rejects(() => b.patternScores({ ...ok, storedCount: 0 }), /storedCount must be/);
    await rejects(() => b.patternScores({ ...ok, dim: NaN }), /dim must be a positive integer, got NaN/);
    await rejects(() => b.patternScores({ ...ok, dim: 2.5 }), /dim must be/);
    await rejects(() => b.patternScores({ ...ok, queryCount: -1 }), /queryCount/);
    await rejects(() => b.patternScores({ ...ok, topK: 11 }), /topK must be in \[1, storedCount = 10\]/);
    await rejects(() => b.patternScores({ ...ok, topK: 0 }), /topK/);
    await rejects(() => b.patternScores({ ...ok, out: { indices: new Int32Array(5), scores: new Float32Array(6) } }), /out.indices has 5 elements/);
    await rejects(() => b.patternScores({ ...ok, out: { indices: new Float32Array(6) as never, scores: new Float32Array(6) } }), /out.indices must be an Int32Array/);
    await rejects(() => b.patternScores(null as never), /arguments object is required/);
    await rejects(() => b.patternScores({ ...ok, storedCount: 2 ** 31, dim: 1 }), /storedCount/);
    expect(() => b.sync.patternScores({ ...ok, topK: 0 })).toThrow(ComputeArgumentError);
  });

  it('rollingMoments', async (ctx) => {
    const b = await backend(ctx);
    const series = f32(100);
    await rejects(() => b.rollingMoments({ series, length: 101, window: 5 }), /series has 100 elements, needs at least 101/);
    await rejects(() => b.rollingMoments({ series, length: 100, window: 0 }), /window must be a positive integer/);
    await rejects(() => b.rollingMoments({ series, length: 100, window: 101 }), /window must be in \[1, length = 100\]/);
    await rejects(() => b.rollingMoments({ series, length: 0, window: 1 }), /length must be/);
    await rejects(() => b.rollingMoments({ series: new Int16Array(100) as never, length: 100, window: 5 }), /series must be a Float32Array/);
    await rejects(() => b.rollingMoments({ series, length: 100, window: 5, out: { mean: new Float32Array(95), variance: new Float32Array(96) } }), /out.mean has 95 elements/);
    const shared = new Float32Array(200);
    await rejects(
      () => b.rollingMoments({ series, length: 100, window: 5, out: { mean: shared.subarray(0, 96), variance: shared.subarray(50, 146) } }),
      /overlap/,
    );
    expect(() => b.sync.rollingMoments({ series, length: 100, window: -2 })).toThrow(ComputeArgumentError);
  });

  it('sgemm', async (ctx) => {
    const b = await backend(ctx);
    const ok = { m: 2, n: 3, k: 4, a: f32(8), b: f32(12), c: new Float32Array(6) };
    await expect(b.sgemm(ok)).resolves.toBeUndefined();
    await rejects(() => b.sgemm({ ...ok, m: 0 }), /sgemm: m must be a positive integer, got 0/);
    await rejects(() => b.sgemm({ ...ok, a: f32(7) }), /a has 7 elements, needs at least 8 \(m 2 x k 4\)/);
    await rejects(() => b.sgemm({ ...ok, c: new Float32Array(5) }), /c has 5 elements/);
    await rejects(() => b.sgemm({ ...ok, alpha: NaN }), /alpha must be a finite number/);
    await rejects(() => b.sgemm({ ...ok, beta: Infinity }), /beta must be a finite number/);
    await rejects(() => b.sgemm({ ...ok, c: ok.a }), /c must not overlap a/);
    const buf = new Float32Array(30);
    await rejects(() => b.sgemm({ ...ok, b: buf.subarray(0, 12), c: buf.subarray(10, 16) }), /c must not overlap b/);
    await rejects(() => b.sgemm({ ...ok, m: 70000, n: 70000, k: 1, a: f32(70000), b: f32(70000), c: new Float32Array(1) }), /too large/);
  });

  it('monteCarloVaR', async (ctx) => {
    const b = await backend(ctx);
    const ok = { means: f32(2), factor: f32(4), weights: f32(2), assets: 2, factors: 2, paths: 100, confidence: 0.95, seed: 7 };
    await expect(b.monteCarloVaR(ok)).resolves.toHaveProperty('paths', 100);
    await rejects(() => b.monteCarloVaR({ ...ok, confidence: 1 }), /confidence must be a number in \(0, 1\)/);
    await rejects(() => b.monteCarloVaR({ ...ok, confidence: NaN }), /confidence/);
    await rejects(() => b.monteCarloVaR({ ...ok, paths: 0 }), /paths/);
    await rejects(() => b.monteCarloVaR({ ...ok, horizon: 1.5 }), /horizon/);
    await rejects(() => b.monteCarloVaR({ ...ok, seed: -1 }), /seed must be/);
    await rejects(() => b.monteCarloVaR({ ...ok, seed: 1n << 64n }), /seed must be in \[0, 2\^64\)/);
    await rejects(() => b.monteCarloVaR({ ...ok, factor: f32(3) }), /factor has 3 elements, needs at least 4/);
    await rejects(() => b.monteCarloVaR({ ...ok, means: Float32Array.of(1, NaN) }), /means\[1\] is NaN; inputs must be finite/);
    await rejects(() => b.monteCarloVaR({ ...ok, weights: Float32Array.of(Infinity, 1) }), /weights\[0\] is Infinity/);
  });

  it('buffers and copy', async (ctx) => {
    const b = await backend(ctx);
    const other = await backend(ctx);
    await rejects(() => b.createBuffer(0), /createBuffer: byteLength must be/);
    await rejects(() => b.createBuffer(-4), /byteLength/);
    const x = b.createBuffer(16);
    const y = b.createBuffer(8);
    const z = other.createBuffer(16);
    await rejects(() => b.upload(x, new Uint8Array(17)), /do not fit/);
    await rejects(() => b.download(x, new Uint8Array(4), 13), /exceed/);
    await rejects(() => b.copy(x, y, 12), /exceeds/);
    await rejects(() => b.copy(x, x, 4), /different buffers/);
    await rejects(() => b.copy(x, z, 4), /not created by this cpu-simd backend instance/);
    await rejects(() => b.rollingMoments({ series: y, length: 3, window: 1 }), /DeviceBuffer #\d+ has 8 bytes, needs at least 12/);
    await rejects(() => b.copy(x, { backend: 'cuda', id: 1, byteLength: 16 }, 4), /belongs to backend 'cuda'/);
    b.freeBuffer(y);
    await rejects(() => b.copy(x, y, 4), /was freed/);
    expect(() => b.freeBuffer(y)).toThrow(/was freed/);
  });

  it('the addon itself rejects malformed calls with JS errors, not crashes', async (ctx) => {
    const p = await cpuSimdProvider.probe();
    if (!p.available) skipUnlessRequired(ctx, 'cpu-simd', p.reason);
    const { module } = loadNative();
    const e = new module.Engine(1, 'auto', false);
    expect(() => e.patternScores(new Float32Array(3), 10, 10, new Float32Array(10), 1, 1, new Int32Array(1), new Float32Array(1), null, false)).toThrow(
      RangeError,
    );
    expect(() => e.patternScores(new Float64Array(100) as never, 10, 10, new Float32Array(10), 1, 1, new Int32Array(1), new Float32Array(1), null, false)).toThrow(
      TypeError,
    );
    expect(() => e.rollingMoments(new Float32Array(10), 10, 11, new Float32Array(1), new Float32Array(1), false)).toThrow(RangeError);
    expect(() => e.rollingMoments(new Float32Array(10), 10, 3, new Float32Array(7), new Float32Array(7), false)).toThrow(/out.mean has 7 elements, needs 8/);
    expect(() => e.sgemm(3, 3, 3, 1, 0, new Float32Array(9), new Float32Array(9), new Float32Array(8), false)).toThrow(RangeError);
    expect(() => e.sgemm(1.5, 3, 3, 1, 0, new Float32Array(9), new Float32Array(9), new Float32Array(9), false)).toThrow(/integer/);
    expect(() => e.copy(new Uint8Array(4), new Uint8Array(2), 4, false)).toThrow(/dst has 2 bytes, needs 4/);
    expect(() => e.monteCarloVaR(new Float32Array(1), new Float32Array(1), 1, 1, new Float32Array(1), 10, 1, 10, 0, 0, false)).toThrow(/varIndex/);
    expect(() => new module.Engine(1, 'sse9' as never, false)).toThrow(/not supported/);
    e.dispose();
    expect(() => e.noop(false)).toThrow(/disposed/);
  });

  it('settings: simd_enabled=false forces scalar; bad settings are clear errors', async (ctx) => {
    const p = await cpuSimdProvider.probe();
    if (!p.available) skipUnlessRequired(ctx, 'cpu-simd', p.reason);
    const s = (await cpuSimdProvider.create({ threadPoolSize: 1, settings: { simd_enabled: false } })) as CpuSimdBackend;
    made.push(s);
    expect(s.isa).toBe('scalar');
    await expect(cpuSimdProvider.create({ settings: { isa: 'mmx' } })).rejects.toThrow(/setting isa must be one of/);
    await expect(cpuSimdProvider.create({ settings: { simd_enabled: 'no' } })).rejects.toThrow(/simd_enabled must be a boolean/);
    await expect(cpuSimdProvider.create({ threadPoolSize: 0 })).rejects.toThrow(/threadPoolSize/);
    const unsupported = ['avx512', 'avx2', 'neon'].find((i) => !String(p.device.details?.supported).split(',').includes(i));
    if (unsupported) await expect(cpuSimdProvider.create({ settings: { isa: unsupported } })).rejects.toThrow(/not available here/);
    const disposed = (await cpuSimdProvider.create({ threadPoolSize: 1 })) as CpuSimdBackend;
    await disposed.dispose();
    await expect(disposed.noop()).rejects.toThrow(/disposed/);
  });
});

describe('cpu-simd loader, install script, plugin', () => {
  it('the ordered loader lists every path tried and possible solutions', () => {
    const list = addonCandidates({ CWTS_CPU_SIMD_ADDON: '/nowhere/x.node' });
    expect(list[0]).toBe('/nowhere/x.node');
    expect(list[1]).toBe(join(PACKAGE_DIR, 'build', 'Release', 'cwts_cpu_simd.node'));
    expect(list[2]).toBe(join(PACKAGE_DIR, 'prebuilds', `${process.platform}-${process.arch}`, 'cwts_cpu_simd.node'));
    const dir = mkdtempSync(join(tmpdir(), 'cwts-simd-'));
    const junk = join(dir, 'junk.node');
    writeFileSync(junk, 'not a shared object');
    let err: unknown;
    try {
      loadNativeFrom(['/nowhere/a.node', junk]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NativeLoadError);
    const msg = (err as Error).message;
    expect(msg).toContain('1. /nowhere/a.node: not found');
    expect(msg).toMatch(/2\. .*junk\.node: .+/);
    expect(msg).toContain('Possible solutions:');
    expect(msg).toContain('pnpm rebuild @cwts/backend-cpu-simd');
    expect(msg).toContain('[compute] backends = ["js"]');
  });

  it('a platform packed without its binary: the loader repeats the reason the pack left', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-simd-'));
    mkdirSync(join(dir, 'linux-arm64'));
    writeFileSync(join(dir, 'linux-arm64', 'skip-reason.txt'), 'this package was packed without a prebuilt linux-arm64 binary (no cross compiler)\n');
    expect(() => loadNativeFrom([join(dir, 'linux-arm64', 'cwts_cpu_simd.node')])).toThrow(
      /1\. .*linux-arm64\/cwts_cpu_simd\.node: not found: this package was packed without a prebuilt linux-arm64 binary \(no cross compiler\)/,
    );
  });

  it('install without cmake or a compiler: one line, exit 0, no download', () => {
    const empty = mkdtempSync(join(tmpdir(), 'cwts-nopath-'));
    const r = spawnSync(process.execPath, [join(PACKAGE_DIR, 'scripts', 'build-native.mjs')], {
      env: { PATH: empty },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^@cwts\/backend-cpu-simd: native build skipped: cmake not found on PATH; the registry will use the JS backend$/);
    expect(r.stderr).toBe('');
  });

  it('the plugin registers the provider (only when asked) and hands config to it', async () => {
    expect(plugin.kind).toBe('backend');
    expect(plugin.name).toBe('@cwts/backend-cpu-simd');
    const root = CwtsContainer.createRoot('test');
    expect(root.isRegistered(TOKENS.ComputeBackendProvider)).toBe(false);
    plugin.register({ registrar: root.as(plugin.name), instanceName: 'cpu-simd', config: { simd_enabled: false } });
    const providers = root.resolveAll(TOKENS.ComputeBackendProvider) as ComputeBackendProvider[];
    expect(providers.map((p) => [p.name, p.priority])).toEqual([['cpu-simd', 50]]);
    const probe = await providers[0]!.probe();
    if (probe.available) {
      const b = (await providers[0]!.create({ threadPoolSize: 1 })) as CpuSimdBackend;
      made.push(b);
      expect(b.isa).toBe('scalar');
    }
  });
});

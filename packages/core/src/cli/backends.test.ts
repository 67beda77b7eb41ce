// `cwts-ultra backends --config F`: the deployment's backends are created with their
// [compute.<name>] settings, as `run` does, so a setting a backend cannot honour here is reported
// "unavailable: init failed: ..." instead of "available" (a probe alone cannot judge settings).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeRegistry, NoComputeBackendError, startComputeBackend } from '../compute/index.js';
import { silentLogger } from '../observability/logger.js';
import type { ComputeConfig } from '../config/compute-schema.js';
import { CORE_API_VERSION } from '../plugins/manifest.js';
import { backendStatus, backendsCommand, discoverBackends } from './backends.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const dir = mkdtempSync(join(tmpdir(), 'cwts-backends-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A path plugin whose backend refuses `mode = "bad"` at create and counts creates and disposes on globalThis. */
function fakePlugin(): string {
  const file = join(dir, 'fake-backend.mjs');
  writeFileSync(file, `
const token = Object.freeze({ symbol: Symbol.for('cwts.ComputeBackendProvider'), description: 'ComputeBackendProvider', multi: true });
const counts = (globalThis.__cwtsFakeBackend ??= { created: 0, disposed: 0 });
const provider = Object.freeze({
  name: 'fake', priority: 10, gpu: false,
  async probe() { return { available: true, device: { name: 'Fake CPU', type: 'cpu' } }; },
  async create(o) {
    if (o.settings?.mode === 'bad') throw new Error("mode 'bad' is not available here");
    counts.created++;
    return { async dispose() { counts.disposed++; } };
  },
});
export const plugin = { name: 'fake-backend', kind: 'backend', coreApi: ${JSON.stringify(CORE_API_VERSION)}, register(ctx) { ctx.registrar.value(token, provider); } };
export default plugin;
`);
  return file;
}

function statusOf(lines: string[], name: string): { status: string; row: string } {
  const row = lines.find((l) => l.startsWith(`${name} `));
  expect(row, lines.join('\n')).toBeDefined();
  return { status: row!.split(/\s{2,}/)[3]!, row: row! };
}

describe('cwts-ultra backends --config: settings reach create()', () => {
  it('a setting the backend refuses at create is "unavailable: init failed"; a good one is available, and what was created is disposed', async () => {
    const counts = ((globalThis as { __cwtsFakeBackend?: { created: number; disposed: number } }).__cwtsFakeBackend ??= { created: 0, disposed: 0 });
    const plugin = fakePlugin();
    const bad: ComputeConfig = { backends: ['fake'], backendOptions: { fake: { mode: 'bad' } }, plugins: { fake: plugin } };
    let lines: string[] = [];
    await backendsCommand(dir, (l) => lines.push(l), bad);
    let r = statusOf(lines, 'fake');
    expect(r.status, r.row).toBe('unavailable');
    expect(r.row).toMatch(/init failed: mode 'bad' is not available here/);

    const good: ComputeConfig = { backends: ['fake'], backendOptions: { fake: { mode: 'good' } }, plugins: { fake: plugin } };
    lines = [];
    await backendsCommand(dir, (l) => lines.push(l), good);
    r = statusOf(lines, 'fake');
    expect(r.status, r.row).toBe('available');
    expect(counts.created).toBe(1);
    expect(counts.disposed).toBe(1);

    // Without a config nothing is created (probe only), as before.
    const { status } = await backendStatus(dir, [], undefined);
    expect(status.every((s) => !s.initialized)).toBe(true);
  }, 60_000);

  it.skipIf(arch() !== 'x64')('cpu-simd isa = "neon" on x86-64: `run` cannot start it, and `backends` does not call it available', async () => {
    const compute: ComputeConfig = { backends: ['cpu-simd'], backendOptions: { 'cpu-simd': { isa: 'neon' } }, plugins: {} };
    // What `run` does with this config: cpu-simd cannot start.
    const { registry: runRegistry } = await discoverBackends(root, [], compute);
    const providers = runRegistry.providers().filter((p) => p.name !== 'js');
    expect(providers.map((p) => p.name)).toContain('cpu-simd');
    const startup = startComputeBackend({ registry: new ComputeRegistry(silentLogger()), providers, compute, gpuEnabled: true, loadSkips: [] });
    await expect(startup).rejects.toBeInstanceOf(NoComputeBackendError);
    await expect(startup).rejects.toThrow(/cpu-simd \(init failed: .*neon/);

    // What `backends --config` prints for the same config.
    const lines: string[] = [];
    await backendsCommand(root, (l) => lines.push(l), compute);
    const r = statusOf(lines, 'cpu-simd');
    expect(r.status, r.row).toBe('unavailable');
    expect(r.row).toMatch(/init failed: .*neon/);
  }, 60_000);
});

/** A path plugin providing a GPU backend on a real accelerator ('discrete-gpu'). */
function fakeGpuPlugin(): string {
  const file = join(dir, 'fake-gpu.mjs');
  writeFileSync(file, `
const token = Object.freeze({ symbol: Symbol.for('cwts.ComputeBackendProvider'), description: 'ComputeBackendProvider', multi: true });
const provider = Object.freeze({
  name: 'fakegpu', priority: 100, gpu: true,
  async probe() { return { available: true, device: { name: 'Fake H100', type: 'discrete-gpu' } }; },
  async create() { return { name: 'fakegpu', async dispose() {} }; },
});
export const plugin = { name: 'fake-gpu', kind: 'backend', coreApi: ${JSON.stringify(CORE_API_VERSION)}, register(ctx) { ctx.registrar.value(token, provider); } };
export default plugin;
`);
  return file;
}

// `run` refuses every GPU backend while `[performance] gpu_enabled = false` (the default):
// `backends --config` must say so with run's reason, not "available".
describe('cwts-ultra backends --config: [performance] gpu_enabled', () => {
  it('gpu_enabled = false (the default): the GPU backend is unavailable with run\'s reason, and run refuses it', async () => {
    const compute: ComputeConfig = { backends: ['fakegpu'], backendOptions: {}, plugins: { fakegpu: fakeGpuPlugin() } };
    const { registry } = await discoverBackends(dir, [], compute);
    const providers = registry.providers().filter((p) => p.name !== 'js');
    await expect(startComputeBackend({ registry: new ComputeRegistry(silentLogger()), providers, compute, gpuEnabled: false, loadSkips: [] }))
      .rejects.toThrow(/fakegpu \(performance\.gpu_enabled = false\)/);

    // Once with gpuEnabled left out (the config's default), once with false given.
    const byDefault: string[] = [];
    await backendsCommand(dir, (l) => byDefault.push(l), compute);
    const off: string[] = [];
    await backendsCommand(dir, (l) => off.push(l), compute, false);
    for (const lines of [byDefault, off]) {
      const r = statusOf(lines, 'fakegpu');
      expect(r.status, r.row).toBe('unavailable');
      expect(r.row).toMatch(/performance\.gpu_enabled = false$/);
    }
    const { status } = await backendStatus(dir, [], compute, false);
    expect(status.find((s) => s.name === 'fakegpu')).toMatchObject({ available: false, reason: 'performance.gpu_enabled = false', initialized: false });
  }, 60_000);

  it('gpu_enabled = true: the same backend is available, as run finds it', async () => {
    const compute: ComputeConfig = { backends: ['fakegpu'], backendOptions: {}, plugins: { fakegpu: fakeGpuPlugin() } };
    const lines: string[] = [];
    await backendsCommand(dir, (l) => lines.push(l), compute, true);
    const r = statusOf(lines, 'fakegpu');
    expect(r.status, r.row).toBe('available');
    const registry = new ComputeRegistry(silentLogger());
    const { registry: loaded } = await discoverBackends(dir, [], compute);
    const started = await startComputeBackend({ registry, providers: loaded.providers().filter((p) => p.name !== 'js'), compute, gpuEnabled: true, loadSkips: [] });
    expect(started.backend.name).toBe('fakegpu');
    await registry.dispose();
  }, 60_000);

  it('without a config the backends are only probed: no deployment, no gpu_enabled rule', async () => {
    const { status } = await backendStatus(dir, [], undefined);
    expect(status.find((s) => s.name === 'js')?.available).toBe(true);
    expect(status.every((s) => s.reason !== 'performance.gpu_enabled = false')).toBe(true);
  }, 60_000);
});

// `[compute.fast] plugin = "@cwts/backend-cpu-simd"` beside auto-detected cpu-simd loads one
// package under two names: startup used to register its provider twice and die ("already
// registered"). Now cpu-simd is used and `fast` reported as run reports it.
describe('one backend package under two [compute] names', () => {
  const compute: ComputeConfig = { backends: undefined, backendOptions: { fast: {} }, plugins: { fast: '@cwts/backend-cpu-simd' } };

  it('backends --config lists cpu-simd, and `fast` with startup\'s reason', async () => {
    const r = await backendStatus(root, undefined, compute);
    expect(r.status.map((s) => s.name)).toContain('cpu-simd');
    expect(r.missing).toContainEqual({ name: 'fast', reason: expect.stringMatching(/^plugin @cwts\/backend-cpu-simd registered no compute backend named 'fast' \(registered: .*cpu-simd/) });
    const lines: string[] = [];
    await backendsCommand(root, (l) => lines.push(l), compute);
    expect(statusOf(lines, 'fast').row).toMatch(/unavailable +plugin @cwts\/backend-cpu-simd registered no compute backend named 'fast'/);
  }, 60_000);

  it('startup given the same provider once per name selects it', async () => {
    const p = (await import('@cwts/backend-cpu-simd')).cpuSimdProvider;
    const registry = new ComputeRegistry(silentLogger());
    try {
      const r = await startComputeBackend({ registry, providers: [p, p], compute, gpuEnabled: false, loadSkips: [] });
      expect(r.backend.name).toBe((await p.probe()).available ? 'cpu-simd' : 'js');
      expect(r.skipped).toContainEqual({ name: 'fast', reason: expect.stringMatching(/registered no compute backend named 'fast'/) });
    } finally {
      await registry.dispose();
    }
  }, 60_000);
});

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
import { MetricsRegistry } from '../observability/metrics.js';
import type { ComputeConfig } from '../config/compute-schema.js';
import { parseConfig } from '../config/load.js';
import { ManualClock } from '../contracts/clock.js';
import { CwtsContainer } from '../di/container.js';
import { TOKENS } from '../di/tokens.js';
import { registerCoreServices } from '../engine/core-services.js';
import { planPlugins, preparePlugins } from '../engine/prepare-plugins.js';
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

// `run` registers each backend plugin with its [compute.<name>] table plus `[performance]
// simd_enabled`, and creates it with `[performance] thread_pool_size`; backends --config (and
// doctor and validate-config, through backendStatus) registered it with the table alone and
// created it without the pool size, so `simd_enabled = false` with a foreign cpu-simd `isa` was
// reported "init failed" (validate-config: "run refuses to start") while run started on scalar.
const PERF_BASE = '[system]\nname = "t"\n[exchanges]\nenabled = ["sim"]\n[sim]\nplugin = "@cwts/exchange-sim"\nsymbols = ["BTCUSDT"]\n[risk]\nmax_position = 1000\nmax_drawdown = 0.1\nvar_confidence = 0.99\n';

/** A path plugin that records the config its register() got, and its create() options, on globalThis. */
function recordingPlugin(): string {
  const file = join(dir, 'recording-backend.mjs');
  writeFileSync(file, `
const token = Object.freeze({ symbol: Symbol.for('cwts.ComputeBackendProvider'), description: 'ComputeBackendProvider', multi: true });
const seen = (globalThis.__cwtsRecordingBackend ??= { registered: [], created: [] });
export const plugin = {
  name: 'recording-backend', kind: 'backend', coreApi: ${JSON.stringify(CORE_API_VERSION)},
  validateOptions(o, path) { return o.mode === 'refused' ? [{ path: path + '.mode', message: 'mode refused' }] : []; },
  register(ctx) {
    seen.registered.push(ctx.config);
    ctx.registrar.value(token, Object.freeze({
      name: 'rec', priority: 10, gpu: false,
      async probe() { return { available: true, device: { name: 'Rec CPU', type: 'cpu' } }; },
      async create(o) { seen.created.push(o); return { async dispose() {} }; },
    }));
  },
};
export default plugin;
`);
  return file;
}

describe('backends --config: [performance] reaches the backends as run hands it', () => {
  type Seen = { registered: Record<string, unknown>[]; created: { threadPoolSize?: number; settings?: Record<string, unknown> }[] };
  const seen = (): Seen => ((globalThis as { __cwtsRecordingBackend?: Seen }).__cwtsRecordingBackend ??= { registered: [], created: [] });

  it('registers with startup\'s plugin config (simd_enabled from [performance]) and creates with thread_pool_size', async () => {
    const plugin = recordingPlugin();
    const loaded = parseConfig(`${PERF_BASE}[performance]\nsimd_enabled = false\nthread_pool_size = 3\n[compute]\nbackends = ["rec"]\n[compute.rec]\nplugin = ${JSON.stringify(plugin)}\nmode = "fast"\n`, {}, '<t>', dir);
    const startupConfig = planPlugins(loaded, loaded.config.venues).plan.find((p) => p.instanceName === 'rec')!.config;
    expect(startupConfig).toEqual({ mode: 'fast', simd_enabled: false });

    seen().registered.length = 0;
    seen().created.length = 0;
    const { status } = await backendStatus(dir, [], loaded.config.compute, loaded.config.performance);
    expect(status.find((s) => s.name === 'rec')).toMatchObject({ available: true, initialized: true });
    expect(seen().registered).toEqual([startupConfig]);
    expect(seen().created).toEqual([{ threadPoolSize: 3, settings: { mode: 'fast' } }]);
  }, 60_000);

  it('options the plugin\'s validateOptions refuses (run: a ConfigError) are not listed available', async () => {
    const plugin = recordingPlugin();
    const compute: ComputeConfig = { backends: ['rec'], backendOptions: { rec: { mode: 'refused' } }, plugins: { rec: plugin } };
    const lines: string[] = [];
    await backendsCommand(dir, (l) => lines.push(l), compute, { gpu_enabled: false });
    const r = statusOf(lines, 'rec');
    expect(r.status, r.row).toBe('unavailable');
    expect(r.row).toMatch(/invalid options.*compute\.rec\.mode: mode refused/);
  }, 60_000);

  const foreignIsa = arch() === 'arm64' ? 'avx2' : 'neon';
  it(`cpu-simd isa = "${foreignIsa}" with [performance] simd_enabled = false: run starts it on scalar, and backends calls it available`, async () => {
    const loaded = parseConfig(`${PERF_BASE}[performance]\nsimd_enabled = false\n[compute]\nbackends = ["cpu-simd"]\n[compute.cpu-simd]\nisa = "${foreignIsa}"\n`, {}, '<t>', root);
    const { compute, performance } = loaded.config;
    // What run does: preparePlugins registers the plugins, startComputeBackend resolves them.
    const container = CwtsContainer.createRoot('test');
    registerCoreServices(container, { config: loaded.config, clock: new ManualClock(), logger: silentLogger(), metrics: new MetricsRegistry(), timers: false, journal: false, onJournalError: () => {} });
    const prepared = await preparePlugins({ loaded, root: container, logger: silentLogger() });
    const registry = new ComputeRegistry(silentLogger());
    try {
      const started = await startComputeBackend({
        registry, providers: container.resolveAll(TOKENS.ComputeBackendProvider), compute,
        gpuEnabled: performance.gpu_enabled, threadPoolSize: performance.thread_pool_size, loadSkips: prepared.backendSkips,
      });
      expect(started.backend.name).toBe('cpu-simd');
    } finally {
      await registry.dispose();
    }

    const lines: string[] = [];
    await backendsCommand(root, (l) => lines.push(l), compute, performance);
    const r = statusOf(lines, 'cpu-simd');
    expect(r.status, r.row).toBe('available');

    // The same table with SIMD on: both refuse it.
    const { status } = await backendStatus(root, [], compute, { ...performance, simd_enabled: true });
    expect(status.find((s) => s.name === 'cpu-simd')).toMatchObject({ available: false, reason: expect.stringMatching(new RegExp(`init failed: .*${foreignIsa}`)) });
  }, 120_000);
});

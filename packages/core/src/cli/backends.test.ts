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

// validate-config, backends --config and run take the compute backends the same way
// (compute/startup.ts: registerComputeProviders, unusableComputeBackends): what run will skip,
// validate-config reports; a deployment run must refuse, validate-config refuses.
//  - `[compute.fast] plugin = "@cwts/backend-cpu-simd"` beside auto-detected cpu-simd (one
//    package, two names, different settings) used to stop run with "compute backend 'cpu-simd'
//    is already registered" while validate-config said valid.
//  - `[performance] gpu_enabled = false` (the default): run skips every GPU backend.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeRegistry, NoComputeBackendError, startComputeBackend } from '../compute/index.js';
import { loadConfigFile } from '../config/index.js';
import { ManualClock } from '../contracts/clock.js';
import { CwtsContainer } from '../di/container.js';
import { TOKENS } from '../di/tokens.js';
import { registerCoreServices } from '../engine/core-services.js';
import { preparePlugins } from '../engine/prepare-plugins.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { validateConfigCommand } from './validate.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-validate-compute-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A small sim deployment with the given [performance] and [compute] TOML. */
function config(compute: string, performance = ''): string {
  const p = join(dir, `c${n++}.toml`);
  writeFileSync(p, `
[system]
name = "validate-compute"
[performance]
${performance}
[exchanges]
enabled = ["sim"]
[sim]
symbols = ["BTCUSDT"]
[risk]
max_position = 100000
max_drawdown = 0.15
kelly_fraction = 0.25
var_confidence = 0.99
[monitoring]
metrics_port = 0
health_check_port = 0
control_port = 0
[journal]
path = "${join(dir, `j${n}.db`)}"
${compute}
`);
  return p;
}

async function validate(file: string): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await validateConfigCommand({ config: file }, (l) => lines.push(l));
  return { code, lines };
}

/** What run does up to choosing the backend: the same plugin loading, then startup's compute step. */
async function runStartup(file: string) {
  const loaded = loadConfigFile(file);
  const root = CwtsContainer.createRoot('test');
  registerCoreServices(root, { config: loaded.config, clock: new ManualClock(), logger: silentLogger(), metrics: new MetricsRegistry(), timers: false, journal: true, onJournalError: () => {} });
  const prepared = await preparePlugins({ loaded, root, logger: silentLogger() });
  const registry = new ComputeRegistry(silentLogger());
  const started = startComputeBackend({
    registry, providers: root.resolveAll(TOKENS.ComputeBackendProvider), compute: loaded.config.compute,
    gpuEnabled: loaded.config.performance.gpu_enabled, loadSkips: prepared.backendSkips,
  });
  try {
    return await started;
  } finally {
    await registry.dispose();
  }
}

const FAST = /compute backend fast will be skipped: plugin @cwts\/backend-cpu-simd registered no compute backend named 'fast' \(registered: /;

describe('one backend package under two [compute] names', () => {
  it('auto-detect: validate-config reports `fast` as run skips it, and run starts (on cpu-simd)', async () => {
    const file = config('[compute.fast]\nplugin = "@cwts/backend-cpu-simd"\nisa = "scalar"');
    const v = await validate(file);
    expect(v.code, v.lines.join('\n')).toBe(0);
    expect(v.lines[0]).toMatch(/: valid$/);
    expect(v.lines.join('\n')).toMatch(FAST);
    expect(v.lines.join('\n')).toMatch(/registered: .*cpu-simd/);
    const r = await runStartup(file);
    expect(['cpu-simd', 'js']).toContain(r.backend.name);
    expect(r.skipped).toContainEqual({ name: 'fast', reason: expect.stringMatching(/registered no compute backend named 'fast'/) });
  }, 60_000);

  it('an exact list of only that name: validate-config refuses, as run does', async () => {
    const file = config('[compute]\nbackends = ["fast"]\n[compute.fast]\nplugin = "@cwts/backend-cpu-simd"');
    const v = await validate(file);
    expect(v.code, v.lines.join('\n')).toBe(1);
    expect(v.lines[0]).toMatch(/: invalid$/);
    expect(v.lines.join('\n')).toMatch(FAST);
    expect(v.lines).toContain("  error: no backend of [compute] backends = [fast] can start here, so `run` refuses to start");
    await expect(runStartup(file)).rejects.toBeInstanceOf(NoComputeBackendError);
  }, 60_000);
});

describe('[performance] gpu_enabled in validate-config', () => {
  it('false (the default): a listed GPU backend is reported skipped with run\'s reason', async () => {
    const file = config('[compute]\nbackends = ["vulkan", "js"]');
    const v = await validate(file);
    expect(v.code, v.lines.join('\n')).toBe(0);
    expect(v.lines).toContain('  compute backend vulkan will be skipped: performance.gpu_enabled = false');
    const r = await runStartup(file);
    expect(r.backend.name).toBe('js');
    expect(r.skipped).toContainEqual({ name: 'vulkan', reason: 'performance.gpu_enabled = false' });
  }, 60_000);

  it('true: no such line', async () => {
    const v = await validate(config('[compute]\nbackends = ["vulkan", "js"]', 'gpu_enabled = true'));
    expect(v.code, v.lines.join('\n')).toBe(0);
    expect(v.lines.join('\n')).not.toMatch(/gpu_enabled/);
  }, 60_000);
});

describe('a [compute.<name>] setting only the backend can judge on this host', () => {
  // A kernel set this CPU does not have: run's create fails, as doctor's and `backends --config`'s do.
  const foreignIsa = process.arch === 'arm64' ? 'avx2' : 'neon';

  it(`cpu-simd isa = "${foreignIsa}" as the only backend: validate-config refuses (exit 1) with the backend's reason, as run does`, async () => {
    const file = config(`[compute]\nbackends = ["cpu-simd"]\n[compute.cpu-simd]\nisa = "${foreignIsa}"`);
    const v = await validate(file);
    expect(v.code, v.lines.join('\n')).toBe(1);
    expect(v.lines[0]).toMatch(/: invalid$/);
    expect(v.lines.join('\n')).toMatch(new RegExp(`compute backend cpu-simd will be skipped: init failed: cpu-simd: kernel set '${foreignIsa}' is not available here`));
    expect(v.lines).toContain('  error: no backend of [compute] backends = [cpu-simd] can start here, so `run` refuses to start');
    await expect(runStartup(file)).rejects.toBeInstanceOf(NoComputeBackendError);
  }, 60_000);

  it('with js after it: valid, and cpu-simd is reported skipped as run skips it', async () => {
    const file = config(`[compute]\nbackends = ["cpu-simd", "js"]\n[compute.cpu-simd]\nisa = "${foreignIsa}"`);
    const v = await validate(file);
    expect(v.code, v.lines.join('\n')).toBe(0);
    expect(v.lines.join('\n')).toMatch(/compute backend cpu-simd will be skipped: init failed: /);
    const r = await runStartup(file);
    expect(r.backend.name).toBe('js');
    expect(r.skipped).toContainEqual({ name: 'cpu-simd', reason: expect.stringMatching(/^init failed: /) });
  }, 60_000);

  // Startup hands cpu-simd `[performance] simd_enabled` in its plugin config (prepare-plugins.ts
  // computeBackendPlugin): with SIMD off, run forces the scalar kernels whatever `isa` says and
  // starts. validate-config once created it with the isa alone and refused the deployment.
  it(`the same isa with [performance] simd_enabled = false: run starts (scalar), so validate-config is valid`, async () => {
    const file = config(`[compute]\nbackends = ["cpu-simd"]\n[compute.cpu-simd]\nisa = "${foreignIsa}"`, 'simd_enabled = false');
    const r = await runStartup(file);
    expect(r.backend.name).toBe('cpu-simd');
    const v = await validate(file);
    expect(v.lines.join('\n')).not.toMatch(/run` refuses to start/);
    expect(v.code, v.lines.join('\n')).toBe(0);
  }, 120_000);
});

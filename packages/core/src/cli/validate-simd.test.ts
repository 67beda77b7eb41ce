// validate-config creates the deployment's backends "exactly as startup does": startup hands
// cpu-simd `[performance] simd_enabled` in its plugin config (prepare-plugins.ts
// computeBackendPlugin), so with simd_enabled = false run forces the scalar kernels whatever
// `isa` says and starts; validate-config once created it with the isa alone and refused the
// deployment ("run refuses to start").
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeRegistry, startComputeBackend } from '../compute/index.js';
import { loadConfigFile } from '../config/index.js';
import { ManualClock } from '../contracts/clock.js';
import { CwtsContainer } from '../di/container.js';
import { TOKENS } from '../di/tokens.js';
import { registerCoreServices } from '../engine/core-services.js';
import { preparePlugins } from '../engine/prepare-plugins.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { validateConfigCommand } from './validate.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-validate-simd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(compute: string, performance: string): string {
  const p = join(dir, 'c.toml');
  writeFileSync(p, `
[system]
name = "validate-simd"
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
path = "${join(dir, 'j.db')}"
${compute}
`);
  return p;
}

async function runStartup(file: string) {
  const loaded = loadConfigFile(file);
  const root = CwtsContainer.createRoot('test');
  registerCoreServices(root, { config: loaded.config, clock: new ManualClock(), logger: silentLogger(), metrics: new MetricsRegistry(), timers: false, journal: true, onJournalError: () => {} });
  const prepared = await preparePlugins({ loaded, root, logger: silentLogger() });
  const registry = new ComputeRegistry(silentLogger());
  try {
    return await startComputeBackend({
      registry, providers: root.resolveAll(TOKENS.ComputeBackendProvider), compute: loaded.config.compute,
      gpuEnabled: loaded.config.performance.gpu_enabled, loadSkips: prepared.backendSkips,
    });
  } finally {
    await registry.dispose();
  }
}

describe('validate-config vs run: [performance] simd_enabled = false', () => {
  const foreignIsa = process.arch === 'arm64' ? 'avx2' : 'neon';
  it(`cpu-simd isa = "${foreignIsa}" with simd_enabled = false: run starts (scalar), so validate-config must not refuse`, async () => {
    const file = config(`[compute]\nbackends = ["cpu-simd"]\n[compute.cpu-simd]\nisa = "${foreignIsa}"`, 'simd_enabled = false');
    // What run does: starts cpu-simd on the scalar kernels.
    const r = await runStartup(file);
    expect(r.backend.name).toBe('cpu-simd');
    // What validate-config says about the same file.
    const lines: string[] = [];
    const code = await validateConfigCommand({ config: file }, (l) => lines.push(l));
    expect(lines.join('\n')).not.toMatch(/run` refuses to start/);
    expect(code, lines.join('\n')).toBe(0);
  }, 120_000);
});

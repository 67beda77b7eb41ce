// `[compute] backends = ["cuda"]` on a machine where CUDA cannot start must refuse to start,
// naming cuda and why; it must never fall back to js silently.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '@cwts/core/config';
import { MetricsRegistry, silentLogger } from '@cwts/core/observability';
import { NoComputeBackendError } from '@cwts/core/compute';
import { composeDeployment } from '@cwts/core/engine';
import { cudaProvider } from '../src/index.js';

const simPath = fileURLToPath(new URL('../../../examples/reference-app/config/sim.toml', import.meta.url));
// Relative plugin paths in the reference config are made absolute, so the copy works elsewhere.
const sim = readFileSync(simPath, 'utf8').replace(/"(\.\.?\/[^"]+)"/g, (_m, rel: string) => JSON.stringify(resolve(dirname(simPath), rel)));
const dir = mkdtempSync(join(tmpdir(), 'cwts-cuda-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configWith(compute: string, gpuEnabled: boolean): string {
  const text = sim
    .replace(/^gpu_enabled = .*$/m, `gpu_enabled = ${gpuEnabled}`)
    .replace(/^\[compute\][\s\S]*?(?=^\[)/m, `[compute]\n${compute}\n\n`);
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(file, text);
  return file;
}

describe('startup with [compute] backends = ["cuda"]', () => {
  it('refuses to start with the reason when CUDA is unavailable here', async (ctx) => {
    const probe = await cudaProvider.probe();
    if (probe.available) ctx.skip('this machine has a usable CUDA device');
    const loaded = loadConfigFile(configWith('backends = ["cuda"]', true));
    const err = await composeDeployment({ loaded, logger: silentLogger(), metrics: new MetricsRegistry(), journal: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoComputeBackendError);
    expect((err as Error).message).toBe(`No compute backend is usable. Tried: cuda (${(probe as { reason: string }).reason})`);
  });

  it('with gpu_enabled = false names that setting as the reason', async () => {
    const loaded = loadConfigFile(configWith('backends = ["cuda"]', false));
    const err = await composeDeployment({ loaded, logger: silentLogger(), metrics: new MetricsRegistry(), journal: false }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('No compute backend is usable. Tried: cuda (performance.gpu_enabled = false)');
  });

  it('falls back to js only when js is listed after it', async () => {
    const loaded = loadConfigFile(configWith('backends = ["cuda", "js"]', false));
    const d = await composeDeployment({ loaded, logger: silentLogger(), metrics: new MetricsRegistry(), journal: false });
    try {
      expect(d.compute.backend.name).toBe('js');
      expect(d.compute.skipped).toEqual([{ name: 'cuda', reason: 'performance.gpu_enabled = false' }]);
    } finally {
      await d.dispose();
    }
  });
});

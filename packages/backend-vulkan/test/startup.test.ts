// `[compute.vulkan]` settings reach the backend's create(): a device index that does not exist
// fails startup with an error naming the devices there are (lavapipe on CI and dev machines).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { NoComputeBackendError } from '@cwts/core/compute';
import { loadConfigFile } from '@cwts/core/config';
import { composeDeployment } from '@cwts/core/engine';
import { MetricsRegistry, silentLogger } from '@cwts/core/observability';
import { skipUnlessRequired } from '@cwts/core/testing';
import { vulkanProvider } from '../src/index.js';

const simPath = fileURLToPath(new URL('../../../examples/reference-app/config/sim.toml', import.meta.url));
const sim = readFileSync(simPath, 'utf8').replace(/"(\.\.?\/[^"]+)"/g, (_m, rel: string) => JSON.stringify(resolve(dirname(simPath), rel)));
const dir = mkdtempSync(join(tmpdir(), 'cwts-vulkan-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configWith(compute: string): string {
  const text = sim.replace(/^gpu_enabled = .*$/m, 'gpu_enabled = true').replace(/^\[compute\][\s\S]*?(?=^\[)/m, `${compute}\n\n`);
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(file, text);
  return file;
}

const compose = (file: string) => composeDeployment({ loaded: loadConfigFile(file), logger: silentLogger(), metrics: new MetricsRegistry(), journal: false });

describe('startup with [compute.vulkan] settings', () => {
  it('device = 99 fails startup naming the available devices', async (ctx) => {
    const probe = await vulkanProvider.probe();
    if (!probe.available) skipUnlessRequired(ctx, 'vulkan', probe.reason);
    const err = await compose(configWith('[compute]\nbackends = ["vulkan"]\n\n[compute.vulkan]\ndevice = 99')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoComputeBackendError);
    const message = (err as Error).message;
    expect(message).toMatch(/^No compute backend is usable\. Tried: vulkan \(init failed: vulkan backend unavailable: device index 99 out of range \(devices: 0: .+\)\)$/);
    expect(message).toContain(probe.available ? probe.device.name.split(' ')[0] : 'unreachable');
  });

  it('device = 0 starts on that device', async (ctx) => {
    const probe = await vulkanProvider.probe();
    if (!probe.available) skipUnlessRequired(ctx, 'vulkan', probe.reason);
    const d = await compose(configWith('[compute]\nbackends = ["vulkan"]\n\n[compute.vulkan]\ndevice = 0'));
    try {
      expect(d.compute.backend.name).toBe('vulkan');
      expect(d.compute.skipped).toEqual([]);
    } finally {
      await d.dispose();
    }
  });

  it('a bad [compute.vulkan] key fails before anything starts, with its path', async () => {
    const err = await compose(configWith('[compute]\nbackends = ["vulkan"]\n\n[compute.vulkan]\ndevise = 0')).catch((e: unknown) => e);
    expect((err as Error).message).toContain('compute.vulkan');
    expect((err as Error).message).toContain('compute.vulkan.devise: unknown key (did you mean device?)');
  });
});

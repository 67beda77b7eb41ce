// The third-party backend passes the compute conformance suite (the kernels it declares, float64
// included), and a deployment loads it from a path with `[compute.naive] plugin`, its settings
// checked by the plugin before startup and passed to its create().
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile } from '@cwts/core/config';
import { composeDeployment } from '@cwts/core/engine';
import { MetricsRegistry, silentLogger } from '@cwts/core/observability';
import { describeComputeConformance } from '@cwts/core/testing';
import { naiveProvider } from '../src/index.js';

describeComputeConformance('naive (third party)', () => naiveProvider);

const distEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const simPath = fileURLToPath(new URL('../../reference-app/config/sim.toml', import.meta.url));
const sim = readFileSync(simPath, 'utf8').replace(/"(\.\.?\/[^"]+)"/g, (_m, rel: string) => JSON.stringify(resolve(dirname(simPath), rel)));
const dir = mkdtempSync(join(tmpdir(), 'cwts-naive-backend-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configWith(compute: string): string {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(file, sim.replace(/^\[compute\][\s\S]*?(?=^\[)/m, `${compute}\n\n`));
  return file;
}
const compose = (file: string) => composeDeployment({ loaded: loadConfigFile(file), logger: silentLogger(), metrics: new MetricsRegistry(), journal: false });

describe('loaded as a plugin from a path', () => {
  it('runs as the configured backend, with its settings', async () => {
    const d = await compose(configWith(`[compute]\nbackends = ["naive"]\n\n[compute.naive]\nplugin = ${JSON.stringify(distEntry)}\nmax_window = 8`));
    try {
      const backend = d.compute.backend;
      expect(backend.name).toBe('naive');
      const series = Float64Array.from({ length: 20 }, (_, i) => 100 + (i % 3));
      const r = await backend.rollingMoments64!({ series, length: 20, window: 8 });
      expect(r.mean[0]).toBeCloseTo((100 + 101 + 102 + 100 + 101 + 102 + 100 + 101) / 8, 12);
      // max_window = 8 reached create(): a wider window is refused.
      await expect(backend.rollingMoments64!({ series, length: 20, window: 9 })).rejects.toThrow('exceeds [compute.naive] max_window = 8');
    } finally {
      await d.dispose();
    }
  });

  it('a bad setting fails before startup with its key path', async () => {
    const err = await compose(configWith(`[compute]\nbackends = ["naive"]\n\n[compute.naive]\nplugin = ${JSON.stringify(distEntry)}\nmax_windw = 8`)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([{ path: 'compute.naive.max_windw', message: 'unknown key (did you mean max_window?)' }]);
  });

  it('a plugin path that does not exist leaves the backend unusable with the reason, and startup fails naming it', async () => {
    const err = await compose(configWith('[compute]\nbackends = ["naive"]\n\n[compute.naive]\nplugin = "./no/such/backend.js"')).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^No compute backend is usable\. Tried: naive \(.*no\/such\/backend\.js.*\)$/);
  });

  it('auto-detects it without a backends list (a CPU backend, ahead of js)', async () => {
    const d = await compose(configWith(`[compute.naive]\nplugin = ${JSON.stringify(distEntry)}`));
    try {
      // cpu-simd (priority 50) wins where its addon is built; the naive backend (10) otherwise.
      expect(['cpu-simd', 'naive']).toContain(d.compute.backend.name);
      expect(d.compute.backend.name).not.toBe('js');
    } finally {
      await d.dispose();
    }
  });
});

describe('`cwts-ultra backends --config` (and doctor, which shares its discovery)', () => {
  const cli = join(dirname(createRequire(import.meta.url).resolve('@cwts/core/package.json')), 'bin', 'cwts-ultra.js');
  const backends = (file: string) => spawnSync(process.execPath, [cli, 'backends', '--config', file], { encoding: 'utf8', timeout: 60_000 });

  it('lists the configured third-party backend, loaded from its path with its settings', () => {
    const r = backends(configWith(`[compute]\nbackends = ["naive"]\n\n[compute.naive]\nplugin = ${JSON.stringify(distEntry)}\nmax_window = 8`));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^naive\s+cpu\s+10\s+available\s+naive two-pass \(JavaScript\)/m);
    // The packages it always looks for are still listed.
    expect(r.stdout).toMatch(/^cpu-simd\s/m);
  });

  it('a plugin path that does not exist is listed unavailable with the reason', () => {
    const r = backends(configWith('[compute]\nbackends = ["naive"]\n\n[compute.naive]\nplugin = "./no/such/backend.js"'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^naive\s+-\s+-\s+unavailable\s+.*no\/such\/backend\.js/m);
  });
});

import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importPlugin, PluginHost } from './loader.js';
import { PluginLoadError } from './errors.js';
import { CORE_API_VERSION, type PluginManifest } from './manifest.js';
import { CwtsContainer } from '../di/container.js';
import { silentLogger } from '../observability/logger.js';

describe('plugin loader: a hostile manifest, a manifest used by several instances', () => {
  it('a manifest whose getter throws is a PluginLoadError naming the spec and the config key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-loader-'));
    writeFileSync(
      join(dir, 'getter.mjs'),
      `export const plugin = { name: 'acme-getter', get kind() { throw new Error('kind getter exploded'); }, coreApi: '1.0', register() {} };\n`,
    );
    let caught: unknown;
    try {
      await importPlugin({ spec: './getter.mjs', kind: 'exchange', origin: 'exchanges.enabled: acme' }, dir);
    } catch (err) {
      caught = err;
    }
    // The getter's raw Error once escaped importPlugin; preparePlugins then reported it as
    // "Error: kind getter exploded" with neither the spec nor the config key.
    expect(caught).toBeInstanceOf(PluginLoadError);
    expect((caught as Error).message).toContain('./getter.mjs');
    expect((caught as Error).message).toContain('exchanges.enabled: acme');
  });

  it('a manifest used by two instances is disposed after every plugin initialized after its first instance', async () => {
    const order: string[] = [];
    const mk = (name: string): PluginManifest => ({
      name,
      kind: 'risk',
      coreApi: CORE_API_VERSION,
      register() {},
      async initialize(ctx) {
        order.push(`init ${name} (${ctx.instanceName})`);
      },
      async dispose() {
        order.push(`dispose ${name}`);
      },
    });
    const shared = mk('acme-shared-feed'); // e.g. opens a connection Q's initialize relies on
    const q = mk('acme-uses-shared');
    const root = CwtsContainer.createRoot();
    const host = new PluginHost(silentLogger());
    host.register(shared, root, 'a', {});
    host.register(q, root, 'b', {});
    host.register(shared, root, 'c', {});
    await host.initializeAll();
    await host.disposeAll();
    // shared was initialized before q (instance a): reverse order disposes q first.
    expect(order).toEqual(['init acme-shared-feed (a)', 'init acme-uses-shared (b)', 'init acme-shared-feed (c)', 'dispose acme-uses-shared', 'dispose acme-shared-feed']);
  });
});

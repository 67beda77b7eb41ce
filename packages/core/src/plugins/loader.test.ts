import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { importPlugin, importPlugins, isApiCompatible, PluginHost } from './loader.js';
import { CORE_API_VERSION } from './manifest.js';
import { PluginLoadError, PluginLoadErrors } from './errors.js';
import { CwtsContainer } from '../di/container.js';
import { silentLogger } from '../observability/logger.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/plugins');

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PluginLoadError);
    return { code: (err as PluginLoadError).code, message: (err as Error).message };
  }
  throw new Error('expected a PluginLoadError');
}

describe('plugin loader', () => {
  it('loads a plugin by relative path from the config directory', async () => {
    const m = await importPlugin({ spec: './good-exchange.mjs', kind: 'exchange', origin: 'exchanges.enabled: acme' }, fixtures);
    expect(m.name).toBe('acme-exchange-good');
  });

  it('loads a plugin by npm name (resolved from the base directory)', async () => {
    // tsyringe is installed but is not a plugin: resolution works, the manifest check fails.
    const r = await codeOf(importPlugin({ spec: 'tsyringe', kind: 'exchange', origin: 'exchanges.enabled: x' }, process.cwd()));
    expect(r.code).toBe('NO_MANIFEST');
  });

  it('not installed: names the package, where it was asked for, and how to fix it', async () => {
    const r = await codeOf(importPlugin({ spec: '@cwts/exchange-nowhere', kind: 'exchange', origin: 'exchanges.enabled: nowhere' }, fixtures));
    expect(r.code).toBe('NOT_INSTALLED');
    expect(r.message).toMatch(/@cwts\/exchange-nowhere \(exchanges.enabled: nowhere\) is not installed/);
    expect(r.message).toMatch(/pnpm add @cwts\/exchange-nowhere/);
  });

  it('a missing local path says to check the path', async () => {
    const r = await codeOf(importPlugin({ spec: './nope.mjs', kind: 'strategy', origin: 'strategy.plugin' }, fixtures));
    expect(r.code).toBe('NOT_INSTALLED');
    expect(r.message).toMatch(/check the path/);
  });

  it('no manifest: lists what the module exports instead', async () => {
    const r = await codeOf(importPlugin({ spec: './no-manifest.mjs', kind: 'exchange', origin: 'exchanges.enabled: x' }, fixtures));
    expect(r.code).toBe('NO_MANIFEST');
    expect(r.message).toMatch(/it exports: helper, version/);
  });

  it('wrong kind: says what it is and what was needed', async () => {
    const r = await codeOf(importPlugin({ spec: './backend-kind.mjs', kind: 'exchange', origin: 'exchanges.enabled: acme' }, fixtures));
    expect(r.code).toBe('WRONG_KIND');
    expect(r.message).toMatch(/is a 'backend' plugin, but exchanges.enabled needs an 'exchange' plugin/);
  });

  it('incompatible API version: names both versions', async () => {
    const r = await codeOf(importPlugin({ spec: './future-api.mjs', kind: 'exchange', origin: 'exchanges.enabled: acme' }, fixtures));
    expect(r.code).toBe('INCOMPATIBLE_API');
    expect(r.message).toContain(`built for core API 2.0, but this @cwts/core provides API ${CORE_API_VERSION}`);
    const r2 = await codeOf(importPlugin({ spec: './newer-minor.mjs', kind: 'exchange', origin: 'exchanges.enabled: acme' }, fixtures));
    expect(r2.code).toBe('INCOMPATIBLE_API');
  });

  it('API compatibility: same major, plugin minor not newer than core', () => {
    expect(isApiCompatible('1.0', '1.0')).toBe(true);
    expect(isApiCompatible('1.0', '1.3')).toBe(true);
    expect(isApiCompatible('1.4', '1.3')).toBe(false);
    expect(isApiCompatible('0.9', '1.3')).toBe(false);
    expect(isApiCompatible('1', '1.0')).toBe(false);
  });

  it('a module that throws on import is reported with its message', async () => {
    const r = await codeOf(importPlugin({ spec: './import-throws.mjs', kind: 'exchange', origin: 'exchanges.enabled: acme' }, fixtures));
    expect(r.code).toBe('IMPORT_FAILED');
    expect(r.message).toMatch(/boom at import time/);
  });

  it('reports every failing plugin at once', async () => {
    const err = await importPlugins(
      [
        { spec: './good-exchange.mjs', kind: 'exchange', origin: 'exchanges.enabled: a' },
        { spec: './no-manifest.mjs', kind: 'exchange', origin: 'exchanges.enabled: b' },
        { spec: '@cwts/exchange-nowhere', kind: 'exchange', origin: 'exchanges.enabled: c' },
      ],
      fixtures,
    ).catch((e) => e);
    expect(err).toBeInstanceOf(PluginLoadErrors);
    expect((err as PluginLoadErrors).errors.map((e) => e.code)).toEqual(['NO_MANIFEST', 'NOT_INSTALLED']);
    expect(err.message).toMatch(/2 plugin problems/);
  });
});

describe('PluginHost', () => {
  it('initialize failure names the plugin and the cause', async () => {
    const host = new PluginHost(silentLogger());
    const m = await importPlugin({ spec: './init-throws.mjs', kind: 'detector', origin: 'detectors.acme' }, fixtures);
    host.register(m, CwtsContainer.createRoot(), 'acme', {});
    const r = await codeOf(host.initializeAll());
    expect(r.code).toBe('INITIALIZE_FAILED');
    expect(r.message).toBe('acme-init-throws (acme): initialize() failed: device /dev/acme0 not found');
  });

  it('register failure names the plugin', async () => {
    const host = new PluginHost(silentLogger());
    const m = await importPlugin({ spec: './register-throws.mjs', kind: 'strategy', origin: 'strategy.plugin' }, fixtures);
    expect(() => host.register(m, CwtsContainer.createRoot(), 'strategy', {})).toThrowError(/acme-register-throws \(strategy\): register\(\) failed: bad settings/);
  });

  it('registers into the given scope, initializes once, disposes once', async () => {
    const g = globalThis as any;
    g.__acmeInitialized = 0;
    g.__acmeDisposed = 0;
    const host = new PluginHost(silentLogger());
    const m = await importPlugin({ spec: './good-exchange.mjs', kind: 'exchange', origin: 'exchanges.enabled: acme' }, fixtures);
    const root = CwtsContainer.createRoot();
    const a = root.createChild('acme-1');
    const b = root.createChild('acme-2');
    host.register(m, a, 'acme-1', {});
    host.register(m, b, 'acme-2', {});
    await host.initializeAll();
    await host.initializeAll();
    expect(g.__acmeInitialized).toBe(2);
    await host.disposeAll();
    expect(g.__acmeDisposed).toBe(1);
  });
});

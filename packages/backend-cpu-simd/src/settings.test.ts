// `[compute.cpu-simd]` keys: a misspelt one (async_treshold, simd_enable) used to pass
// validate-config and create() and leave its setting at the default without a word. Unknown keys
// are refused, at their own key path, with the likely key, as the config reader and Vulkan's
// strict schema refuse them. And the package provides one backend, cpu-simd: loaded under
// another [compute] name as well, it registers nothing there (a second provider named cpu-simd
// with that table's settings would stop startup as a duplicate).
import { TOKENS, type ComputeBackendProvider } from '@cwts/core';
import { CwtsContainer } from '@cwts/core/di';
import { describe, expect, it } from 'vitest';
import { CPU_SIMD_SETTING_KEYS, cpuSimdProvider, plugin, resolveSettings } from './index.js';

describe('[compute.cpu-simd] settings: unknown keys', () => {
  it('validateOptions reports each misspelt key at its path, with the likely key', () => {
    expect(plugin.validateOptions!({ async_treshold: 0, isa: 'avx2', simd_enable: false }, 'compute.cpu-simd')).toEqual([
      { path: 'compute.cpu-simd.async_treshold', message: 'unknown key (did you mean async_threshold?)' },
      { path: 'compute.cpu-simd.simd_enable', message: 'unknown key (did you mean simd_enabled?)' },
    ]);
  });

  it('a key like none of them lists the known keys', () => {
    expect(plugin.validateOptions!({ threads: 4 }, 'compute.cpu-simd')).toEqual([
      { path: 'compute.cpu-simd.threads', message: `unknown key (known: ${CPU_SIMD_SETTING_KEYS.join(', ')})` },
    ]);
  });

  it('create() (resolveSettings) refuses an unknown key instead of ignoring it', async () => {
    expect(() => resolveSettings({ threadPoolSize: 1, settings: { simd_enable: false } })).toThrow(/cpu-simd: setting simd_enable: unknown key \(did you mean simd_enabled\?\)/);
    // From the plugin's config table too ([compute.cpu-simd] as the engine hands it to register).
    expect(() => resolveSettings({ threadPoolSize: 1 }, { simd_enabled: true, blass: false })).toThrow(/setting blass: unknown key \(did you mean blas\?\)/);
    await expect(cpuSimdProvider.create({ threadPoolSize: 1, settings: { async_treshold: 0 } })).rejects.toThrow(/async_treshold/);
  });

  it('every documented key (and simdEnabled) is accepted', () => {
    expect(plugin.validateOptions!({ simd_enabled: true, simdEnabled: true, isa: 'scalar', blas: false, async_threshold: 0 }, 'compute.cpu-simd')).toEqual([]);
    expect(resolveSettings({ threadPoolSize: 2, settings: { isa: 'scalar', blas: false, async_threshold: 10 } }, { simd_enabled: true })).toEqual({ isa: 'scalar', blas: false, asyncThreshold: 10, threads: 2 });
  });
});

describe('the plugin under another [compute] name', () => {
  it('registers its provider as cpu-simd only; under another name, nothing', () => {
    const root = CwtsContainer.createRoot('test');
    plugin.register({ registrar: root.as(plugin.name), instanceName: 'fast', config: { simd_enabled: true, isa: 'scalar' } });
    expect(root.isRegistered(TOKENS.ComputeBackendProvider)).toBe(false);
    plugin.register({ registrar: root.as(plugin.name), instanceName: 'cpu-simd', config: { simd_enabled: true } });
    expect((root.resolveAll(TOKENS.ComputeBackendProvider) as ComputeBackendProvider[]).map((p) => p.name)).toEqual(['cpu-simd']);
  });
});

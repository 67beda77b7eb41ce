import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { planPlugins } from './prepare-plugins.js';

const BASE = '[system]\nname = "t"\n[exchanges]\nenabled = ["sim"]\n[sim]\nplugin = "@cwts/exchange-sim"\n[risk]\nmax_position = 1000\nmax_drawdown = 0.1\nvar_confidence = 0.99\n';

/** The settings the cpu-simd backend's plugin is registered with (its create() merges its own table over them). */
function cpuSimdConfig(extra: string): Readonly<Record<string, unknown>> {
  const loaded = parseConfig(BASE + extra, {});
  const { plan } = planPlugins(loaded, loaded.config.venues);
  return plan.find((p) => p.instanceName === 'cpu-simd')!.config;
}

describe('planPlugins: a compute backend\'s simd_enabled', () => {
  it('is [compute.<name>] simd_enabled when the table sets it, whatever [performance] says', () => {
    expect(cpuSimdConfig('[compute]\nbackends = ["cpu-simd", "js"]\n[compute.cpu-simd]\nsimd_enabled = false\n').simd_enabled).toBe(false);
    expect(cpuSimdConfig('[performance]\nsimd_enabled = false\n[compute.cpu-simd]\nsimd_enabled = true\n').simd_enabled).toBe(true);
    // cpu-simd's alias: [performance]'s default must not sit beside it (the backend reads simd_enabled first)
    const alias = cpuSimdConfig('[compute.cpu-simd]\nsimdEnabled = false\n');
    expect(alias.simd_enabled ?? alias.simdEnabled).toBe(false);
  });

  it('is [performance] simd_enabled (default true) when the table does not set it', () => {
    expect(cpuSimdConfig('').simd_enabled).toBe(true);
    expect(cpuSimdConfig('[performance]\nsimd_enabled = false\n[compute.cpu-simd]\nisa = "avx2"\n')).toEqual({ isa: 'avx2', simd_enabled: false });
  });
});

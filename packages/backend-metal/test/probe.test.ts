import { describe, expect, it } from 'vitest';
import { loadMetalAddon, metalProvider } from '../src/index.js';

describe('metal probe', () => {
  it('says Metal needs macOS anywhere else, and create() fails with that reason', async (ctx) => {
    if (process.platform === 'darwin') ctx.skip('this is macOS: the probe asks Metal');
    expect(await metalProvider.probe()).toEqual({ available: false, reason: `Metal needs macOS (this is ${process.platform})` });
    await expect(metalProvider.create({})).rejects.toThrow(`metal backend unavailable: Metal needs macOS (this is ${process.platform})`);
  });

  it('on macOS: available, or unavailable with a reason', async (ctx) => {
    if (process.platform !== 'darwin') ctx.skip('Metal needs macOS');
    const r = await metalProvider.probe();
    if (!r.available) expect(r.reason.length).toBeGreaterThan(0);
  });

  it('an addon that is not there: the reason names the explicit build command (nothing builds at install)', () => {
    // The override reaches the loader on any OS, so the macOS "not built" path runs here too.
    const before = process.env.CWTS_METAL_ADDON;
    process.env.CWTS_METAL_ADDON = '/nonexistent/cwts-metal-probe-test/cwts_metal.node';
    try {
      const r = loadMetalAddon();
      if (r.addon) throw new Error(`loaded ${r.path}`);
      expect(r.reason).toMatch(/^native addon not built: /);
      expect(r.reason).toContain('`node node_modules/@cwts/backend-metal/scripts/build-native.mjs`');
      expect(r.reason).toContain('nothing builds at install');
    } finally {
      if (before === undefined) delete process.env.CWTS_METAL_ADDON;
      else process.env.CWTS_METAL_ADDON = before;
    }
  });
});

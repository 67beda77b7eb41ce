import { describe, expect, it } from 'vitest';
import { metalProvider } from '../src/index.js';

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
});

// The ROCm backend's probe on this machine (Debian's hipcc builds the addon; there is no AMD GPU
// in CI): unavailable with the HIP runtime's own answer, or the build's skip reason.
import { describe, expect, it } from 'vitest';
import { probeResultFrom } from '@cwts/backend-cuda';
import { ROCM_LABELS, rocmProvider } from '../src/index.js';

describe('rocm probe', () => {
  it('words hipErrorNoDevice (100) as no ROCm device', () => {
    const r = probeResultFrom(ROCM_LABELS, {
      api: 'HIP', ok: false, error: 100, errorName: 'hipErrorNoDevice', errorString: 'hipErrorNoDevice',
      driverVersion: 50221153, runtimeVersion: 50221153, devices: [],
    });
    expect(r).toEqual({ available: false, reason: 'no ROCm device: hipGetDeviceCount returned 100 (hipErrorNoDevice: hipErrorNoDevice)' });
  });

  it('on this machine: available, or unavailable with a reason that says why', async () => {
    const r = await rocmProvider.probe();
    if (r.available) {
      expect(r.device.details?.arch).toMatch(/^gfx/);
    } else {
      expect(r.reason).toMatch(/^(native addon not built: .+|native addon failed to load .+|no ROCm driver: hipGetDeviceCount returned \d+ .+|no ROCm device: hipGetDeviceCount returned \d+ .+)$/);
      await expect(rocmProvider.create({})).rejects.toThrow(`rocm backend unavailable: ${r.reason}`);
    }
  });

  it('validates [compute.rocm] settings before touching the device', async () => {
    await expect(rocmProvider.create({ settings: { device: 'first' } })).rejects.toThrow('[compute.rocm] device must be a device index');
  });
});

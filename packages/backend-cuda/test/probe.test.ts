// The probe's wording and the settings, without a device; and this machine's real probe, which
// must say why when there is no usable GPU.
import { describe, expect, it } from 'vitest';
import { CUDA_LABELS, cudaProvider, formatVersion, parseGpuSettings, probeResultFrom, type NativeGpuProbe } from '../src/index.js';

const base: NativeGpuProbe = {
  api: 'CUDA', ok: false, error: 35, errorName: 'cudaErrorInsufficientDriver',
  errorString: 'CUDA driver version is insufficient for CUDA runtime version', driverVersion: 0, runtimeVersion: 13000, devices: [],
};

describe('cuda probe', () => {
  it('says there is no driver when the runtime finds none (error 35, driver version 0)', () => {
    expect(probeResultFrom(CUDA_LABELS, base)).toEqual({
      available: false,
      reason: 'no NVIDIA driver: cudaGetDeviceCount returned 35 (cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version); install the NVIDIA driver (runtime 13.0)',
    });
  });

  it('says there is no device when a driver is there but no GPU (error 100)', () => {
    const r = probeResultFrom(CUDA_LABELS, { ...base, error: 100, errorName: 'cudaErrorNoDevice', errorString: 'no CUDA-capable device is detected', driverVersion: 13000 });
    expect(r).toEqual({ available: false, reason: 'no CUDA device: cudaGetDeviceCount returned 100 (cudaErrorNoDevice: no CUDA-capable device is detected)' });
  });

  it('reports the first device with its facts when there is one', () => {
    const r = probeResultFrom(CUDA_LABELS, {
      ...base, ok: true, error: 0, errorName: 'cudaSuccess', errorString: 'no error', driverVersion: 13000,
      devices: [{ index: 0, name: 'NVIDIA H200', memoryBytes: 150e9, computeUnits: 132, major: 9, minor: 0, arch: 'sm_90', warpSize: 32, sharedPerBlock: 49152, l2CacheBytes: 52428800, memoryBusWidth: 6144, integrated: false }],
    });
    expect(r.available).toBe(true);
    if (r.available) {
      expect(r.device).toMatchObject({ name: 'NVIDIA H200', type: 'discrete-gpu', computeUnits: 132, driver: 'CUDA driver 13.0, runtime 13.0' });
      expect(r.device.details).toMatchObject({ arch: 'sm_90', devices: '0: NVIDIA H200 (sm_90)' });
    }
  });

  it('formats CUDA and HIP versions', () => {
    expect(formatVersion('CUDA', 12040)).toBe('12.4');
    expect(formatVersion('HIP', 50222201)).toBe('5.2.22201');
    expect(formatVersion('CUDA', 0)).toBe('none');
  });

  it('validates [compute.cuda] settings, naming the key', () => {
    expect(parseGpuSettings('compute.cuda', { device: 1 })).toEqual({ device: 1 });
    expect(parseGpuSettings('compute.cuda', { device: '2', simd_enabled: true })).toEqual({ device: 2 });
    expect(parseGpuSettings('compute.cuda', undefined)).toEqual({});
    expect(() => parseGpuSettings('compute.cuda', { devcie: 1 })).toThrow("[compute.cuda] unknown key 'devcie' (known: device)");
    expect(() => parseGpuSettings('compute.cuda', { device: -1 })).toThrow('[compute.cuda] device must be a device index (a non-negative integer), got -1');
  });

  it('on this machine: available, or unavailable with a reason that says why', async () => {
    const r = await cudaProvider.probe();
    if (r.available) {
      expect(r.device.name.length).toBeGreaterThan(0);
    } else {
      // Without the addon: the build's skip reason; with it but no GPU: the runtime's answer.
      expect(r.reason).toMatch(/^(native addon not built: .+|native addon failed to load .+|no NVIDIA driver: cudaGetDeviceCount returned \d+ .+|no CUDA device: .+)$/);
    }
  });

  it('create() on a machine without a device fails with the probe reason, after validating settings', async () => {
    const r = await cudaProvider.probe();
    if (r.available) return;
    await expect(cudaProvider.create({ settings: { bogus: 1 } })).rejects.toThrow("[compute.cuda] unknown key 'bogus'");
    await expect(cudaProvider.create({})).rejects.toThrow(`cuda backend unavailable: ${r.reason}`);
  });
});

/**
 * @cwts/backend-rocm: the ROCm compute backend. The kernels and the Node-API glue are
 * @cwts/backend-cuda's, compiled as HIP (native/gpu_compat.h there maps the runtime names);
 * the TypeScript backend class is shared too, so both GPUs obey one set of argument rules.
 * Importing registers nothing; list "rocm" in `[compute] backends` or register `plugin`.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOKENS, type BackendInitOptions, type PluginManifest, type ProbeResult } from '@cwts/core';
import { createGpuBackend, gpuProvider, loadGpuAddon, probeGpu, type GpuComputeBackend, type GpuRuntimeLabels, type NativeGpuLoad } from '@cwts/backend-cuda';

export const ROCM_BACKEND_NAME = 'rocm';
/** Just below CUDA: a real AMD GPU outranks Metal, Vulkan, cpu-simd and js when auto-detecting. */
export const ROCM_PRIORITY = 95;

export const ROCM_LABELS: GpuRuntimeLabels = Object.freeze({
  name: ROCM_BACKEND_NAME,
  api: 'HIP',
  vendor: 'ROCm',
  countCall: 'hipGetDeviceCount',
  driverHint: 'install the amdgpu kernel driver and the ROCm runtime',
  deviceKind: 'ROCm',
});

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Loads the addon once: CWTS_ROCM_ADDON, else a source build, else the shipped prebuilt binary; never throws. */
export function loadRocmAddon(): NativeGpuLoad {
  return loadGpuAddon(packageRoot, 'cwts_rocm.node', 'CWTS_ROCM_ADDON', 'build from source: `node scripts/build-native.mjs` in @cwts/backend-rocm (needs hipcc and the HIP runtime, cmake and a C++ compiler)');
}

export const rocmProvider = gpuProvider(ROCM_LABELS, ROCM_PRIORITY, loadRocmAddon);

export function probeRocm(): Promise<ProbeResult> {
  return probeGpu(ROCM_LABELS, loadRocmAddon);
}

export function createRocmBackend(options: BackendInitOptions = {}): Promise<GpuComputeBackend> {
  return createGpuBackend(ROCM_LABELS, loadRocmAddon, options);
}

export const plugin: PluginManifest = {
  name: '@cwts/backend-rocm',
  kind: 'backend',
  coreApi: '1.8',
  register(ctx) {
    ctx.registrar.value(TOKENS.ComputeBackendProvider, rocmProvider);
  },
};

export default plugin;

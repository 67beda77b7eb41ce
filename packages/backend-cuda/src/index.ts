/**
 * @cwts/backend-cuda: the CUDA compute backend (our own kernels compiled by nvcc; cuBLAS loaded
 * at run time only to compare sgemm against). Importing registers nothing; list "cuda" in
 * `[compute] backends` or register `plugin` yourself.
 *
 * The GPU-generic parts (the backend class over the native context, the probe wording, the
 * settings) are exported for @cwts/backend-rocm, which compiles the same native sources as HIP.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOKENS, type BackendInitOptions, type PluginManifest, type ProbeResult } from '@cwts/core';
import { CUDA_LABELS, createGpuBackend, gpuProvider, probeGpu } from './provider.js';
import { loadGpuAddon, type NativeGpuLoad } from './native.js';
import type { GpuComputeBackend } from './gpu-backend.js';

export { GpuComputeBackend, GpuBackendError, GpuOutOfMemoryError, gpuDeviceFacts, formatVersion } from './gpu-backend.js';
export { CUDA_LABELS, createGpuBackend, gpuProvider, probeGpu, probeResultFrom, type GpuRuntimeLabels } from './provider.js';
export { gpuAddonCandidates, loadGpuAddon, type NativeGpuAddon, type NativeGpuContext, type NativeGpuDevice, type NativeGpuInfo, type NativeGpuLoad, type NativeGpuProbe, type NativeF32 } from './native.js';
export { parseGpuSettings, type GpuSettings } from './settings.js';

export const CUDA_BACKEND_NAME = 'cuda';
/** Above every other backend: a real NVIDIA GPU is the first choice when auto-detecting. */
export const CUDA_PRIORITY = 100;

/** This package's root: native/ holds the kernel source @cwts/backend-rocm compiles as HIP. */
export const cudaPackageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Loads the addon once: CWTS_CUDA_ADDON, else a source build, else the shipped prebuilt binary; never throws. */
export function loadCudaAddon(): NativeGpuLoad {
  return loadGpuAddon(cudaPackageRoot, 'cwts_cuda.node', 'CWTS_CUDA_ADDON', 'build from source: `node scripts/build-native.mjs` in @cwts/backend-cuda (needs the CUDA toolkit (nvcc), cmake and a C++ compiler)');
}

export const cudaProvider = gpuProvider(CUDA_LABELS, CUDA_PRIORITY, loadCudaAddon);

export function probeCuda(): Promise<ProbeResult> {
  return probeGpu(CUDA_LABELS, loadCudaAddon);
}

export function createCudaBackend(options: BackendInitOptions = {}): Promise<GpuComputeBackend> {
  return createGpuBackend(CUDA_LABELS, loadCudaAddon, options);
}

export const plugin: PluginManifest = {
  name: '@cwts/backend-cuda',
  kind: 'backend',
  coreApi: '1.8',
  register(ctx) {
    ctx.registrar.value(TOKENS.ComputeBackendProvider, cudaProvider);
  },
};

export default plugin;

/**
 * @cwts/backend-metal: the Metal compute backend for Apple GPUs. Its compute pipelines come from
 * the Vulkan backend's GLSL compute shaders (GLSL -> SPIR-V by glslc -> MSL by spirv-cross,
 * checked in under shaders/); sgemm is Metal Performance Shaders' MPSMatrixMultiplication. The
 * native addon (native/addon.mm) implements the same context interface as the CUDA/ROCm addon,
 * so the TypeScript backend class and its argument rules are @cwts/backend-cuda's.
 * It builds only on macOS, when asked (no install script); elsewhere its probe says "Metal needs macOS".
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOKENS, type BackendInitOptions, type PluginManifest, type ProbeResult } from '@cwts/core';
import { createGpuBackend, gpuProvider, loadGpuAddon, probeGpu, type GpuComputeBackend, type GpuRuntimeLabels, type NativeGpuLoad } from '@cwts/backend-cuda';

export const METAL_BACKEND_NAME = 'metal';
/** A real Apple GPU: above Vulkan (MoltenVK or lavapipe), cpu-simd and js when auto-detecting. */
export const METAL_PRIORITY = 90;

export const metalPackageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The generated MSL the addon compiles at context creation. */
export const metalShaderDir = join(metalPackageRoot, 'shaders');

export const METAL_LABELS: GpuRuntimeLabels = Object.freeze({
  name: METAL_BACKEND_NAME,
  api: 'Metal',
  vendor: 'Apple',
  countCall: 'MTLCopyAllDevices',
  driverHint: 'Metal ships with macOS 10.14 and later',
  deviceKind: 'Metal',
  contextOptions: Object.freeze({ shaderDir: metalShaderDir }),
});

/**
 * What a missing addon's reason tells the user to run. The package has no install script (pnpm 12
 * fails `pnpm add` on an unapproved one) and ships no binary, so on a Mac this explicit build is
 * the only way the addon comes to exist; the path is the one a project's root sees.
 */
export const METAL_BUILD_HINT =
  'build it on macOS (nothing builds at install): `node node_modules/@cwts/backend-metal/scripts/build-native.mjs` (needs the Xcode command line tools and cmake)';

/** Loads build/Release/cwts_metal.node once (CWTS_METAL_ADDON overrides the path); never throws. */
export function loadMetalAddon(): NativeGpuLoad {
  if (process.platform !== 'darwin' && !process.env.CWTS_METAL_ADDON) return { reason: notMacReason() };
  return loadGpuAddon(metalPackageRoot, 'cwts_metal.node', 'CWTS_METAL_ADDON', METAL_BUILD_HINT);
}

function notMacReason(): string {
  return `Metal needs macOS (this is ${process.platform})`;
}

export function probeMetal(): Promise<ProbeResult> {
  return probeGpu(METAL_LABELS, loadMetalAddon);
}

export function createMetalBackend(options: BackendInitOptions = {}): Promise<GpuComputeBackend> {
  return createGpuBackend(METAL_LABELS, loadMetalAddon, options);
}

export const metalProvider = gpuProvider(METAL_LABELS, METAL_PRIORITY, loadMetalAddon);

export const plugin: PluginManifest = {
  name: '@cwts/backend-metal',
  kind: 'backend',
  coreApi: '1.8',
  register(ctx) {
    ctx.registrar.value(TOKENS.ComputeBackendProvider, metalProvider);
  },
};

export default plugin;

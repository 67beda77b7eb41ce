/**
 * Loading the native addon. The addon does not link libvulkan (it dlopens the loader), so it
 * loads on any machine where it was built; whether Vulkan works is the probe's question.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const shaderDir = join(packageRoot, 'shaders');

export interface NativeDeviceSummary {
  index: number;
  name: string;
  type: string;
  driverName: string;
  driverInfo: string;
  apiVersion: string;
  vendorId: number;
  memoryBytes: number;
  subgroupSize: number;
  subgroupArithmetic: boolean;
  maxComputeWorkGroupInvocations: number;
  maxComputeSharedMemorySize: number;
  maxStorageBufferRange: number;
  suitable: boolean;
  whyNot: string;
}

export interface NativeProbe {
  ok: boolean;
  reason?: string;
  devices?: NativeDeviceSummary[];
  defaultIndex?: number;
  instanceVersion?: string;
}

export interface NativeDeviceInfo {
  index: number;
  name: string;
  type: string;
  driverName: string;
  driverInfo: string;
  apiVersion: string;
  vendorId: number;
  deviceId: number;
  memoryBytes: number;
  subgroupSize: number;
  subgroupArithmetic: boolean;
  workgroupSize: number;
  normalizeWorkgroupSize: number;
  sgemmWorkgroup: string;
  sgemmTile: string;
  sgemmVariant: 'tiled' | 'direct';
  scoresQueryBlock: number;
  maxBufferBytes: number;
  /** Loop iterations the kernels let one shader invocation run (llvmpipe's limit, CPU devices); 0 = no limit. */
  loopIterationBudget: number;
  maxComputeWorkGroupInvocations: number;
  maxComputeSharedMemorySize: number;
  maxComputeWorkGroupCountX: number;
  maxStorageBufferRange: number;
  timestamps: boolean;
  timestampPeriodNs: number;
  unifiedMemory: boolean;
  validation: boolean;
  queueFamily: number;
}

export interface NativeContextOptions {
  shaderDir: string;
  device?: number | string;
  validation?: boolean;
  memoryLimitBytes?: number;
  kernelTimeoutMs?: number;
  pipelineCache?: Buffer;
}

/** A kernel argument on the native side: a device buffer id or a host Float32Array. */
export type NativeF32 = number | Float32Array;

export interface NativeContext {
  info(): NativeDeviceInfo;
  createBuffer(bytes: number): number;
  freeBuffer(id: number): void;
  upload(id: number, src: Uint8Array, dstOffset: number): Promise<void>;
  download(id: number, dst: Uint8Array, srcOffset: number): Promise<void>;
  copy(src: number, dst: number, bytes: number): Promise<void>;
  noop(): Promise<void>;
  patternScores(stored: NativeF32, K: number, D: number, queries: NativeF32, B: number, topK: number,
    outIdx: Int32Array, outScores: Float32Array, allScores: Float32Array | undefined): Promise<void>;
  rollingMoments(series: NativeF32, N: number, W: number, mean: Float32Array, variance: Float32Array): Promise<void>;
  /** `cIn`: where C is read from when beta != 0 (a copy of a host `c` taken at the call's turn); default `c`. */
  sgemm(m: number, n: number, k: number, alpha: number, beta: number, a: NativeF32, b: NativeF32, c: NativeF32, cIn?: NativeF32): Promise<void>;
  monteCarlo(v: Float32Array, F: number, paths: number, horizon: number, seedLo: number, seedHi: number, drift: number, confidence: number):
    Promise<{ var: number; cvar: number; meanLoss: number; stdLoss: number; stdLossSample: number }>;
  pipelineCacheData(): Buffer | null;
  simulateDeviceLost(reason?: string): void;
  destroy(): void;
  readonly lost: boolean;
  readonly lastKernelNs: number;
  readonly validationMessages: number;
  readonly inFlight: number;
  readonly memoryInUse: number;
}

export interface NativeAddon {
  /** Built with CWTS_VULKAN_DEBUG=1 (validation on by default). */
  debugBuild: boolean;
  probe(): NativeProbe;
  VulkanContext: new (options: NativeContextOptions) => NativeContext;
}

export type NativeLoad = { addon: NativeAddon; path: string; debug: boolean } | { addon?: undefined; reason: string };

let cached: NativeLoad | undefined;

/** Loads the addon once (CWTS_VULKAN_ADDON overrides the path); never throws. */
export function loadNative(): NativeLoad {
  if (cached) return cached;
  const candidates = process.env.CWTS_VULKAN_ADDON
    ? [process.env.CWTS_VULKAN_ADDON]
    : [
        // A source build exists only where one was made on this host (the workspace's
        // postinstall, or someone running scripts/build-native.mjs), so it wins over the
        // shipped binary.
        join(packageRoot, 'build', 'Release', 'cwts_vulkan.node'),
        join(packageRoot, 'build', 'debug', 'Debug', 'cwts_vulkan.node'),
        join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'cwts_vulkan.node'),
      ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    const reasonFile = join(packageRoot, 'build', 'skip-reason.txt');
    const why = existsSync(reasonFile) ? readFileSync(reasonFile, 'utf8').trim() : 'run `node scripts/build-native.mjs` in @cwts/backend-vulkan';
    cached = { reason: `native addon not built: ${why}` };
    return cached;
  }
  try {
    const require = createRequire(import.meta.url);
    const addon = require(found) as NativeAddon;
    cached = { addon, path: found, debug: addon.debugBuild === true };
  } catch (e) {
    cached = { reason: `native addon failed to load (${found}): ${e instanceof Error ? e.message : String(e)}` };
  }
  return cached;
}

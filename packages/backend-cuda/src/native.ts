/**
 * The native addon shared by the CUDA and ROCm backends (one source, native/, compiled by nvcc
 * or hipcc): its TypeScript shape and a loader that never throws.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export interface NativeGpuDevice {
  index: number;
  name: string;
  memoryBytes: number;
  computeUnits: number;
  major: number;
  minor: number;
  /** sm_90, gfx90a, ... */
  arch: string;
  warpSize: number;
  sharedPerBlock: number;
  l2CacheBytes: number;
  memoryBusWidth: number;
  integrated: boolean;
}

/** What `probe()` reports: the runtime's own answer, worded by `probeResultFrom`. */
export interface NativeGpuProbe {
  api: 'CUDA' | 'HIP' | 'Metal';
  ok: boolean;
  /** cudaError_t / hipError_t of the device count query. */
  error: number;
  errorName: string;
  errorString: string;
  driverVersion: number;
  runtimeVersion: number;
  devices: NativeGpuDevice[];
}

export interface NativeGpuInfo extends NativeGpuDevice {
  api: 'CUDA' | 'HIP' | 'Metal';
  driverVersion: number;
  runtimeVersion: number;
  /** The vendor BLAS library loaded for comparison (cuBLAS), or null with the reason. */
  vendorBlas: string | null;
  vendorBlasReason: string;
  maxBufferBytes: number;
}

/** A kernel argument on the native side: a device buffer id or a host Float32Array. */
export type NativeF32 = number | Float32Array;

export interface NativeGpuContext {
  info(): NativeGpuInfo;
  createBuffer(bytes: number): number;
  freeBuffer(id: number): void;
  upload(id: number, src: Uint8Array, dstOffset: number): Promise<void>;
  download(id: number, dst: Uint8Array, srcOffset: number): Promise<void>;
  copy(src: number, dst: number, bytes: number): Promise<void>;
  noop(): Promise<void>;
  rollingMoments(series: NativeF32, length: number, window: number, mean: Float32Array, variance: Float32Array): Promise<void>;
  patternScores(stored: NativeF32, K: number, D: number, queries: NativeF32, B: number, topK: number,
    outIdx: Int32Array, outScores: Float32Array, allScores: Float32Array | undefined): Promise<void>;
  sgemm(m: number, n: number, k: number, alpha: number, beta: number, a: NativeF32, b: NativeF32, c: NativeF32): Promise<void>;
  sgemmVendor(m: number, n: number, k: number, alpha: number, beta: number, a: NativeF32, b: NativeF32, c: NativeF32): Promise<void>;
  monteCarlo(v: Float64Array, factors: number, paths: number, horizon: number, seedLo: number, seedHi: number, drift: number, varIndex: number):
    Promise<{ var: number; cvar: number; meanLoss: number; stdLoss: number }>;
  /** Microseconds per empty launch + stream synchronise (blocks the JS thread). */
  benchLaunch(iterations: number): number;
  /** Device milliseconds per m x n x k sgemm on resident data, ours or the vendor's (blocks). */
  benchSgemm(m: number, n: number, k: number, iterations: number, vendor: boolean): number;
  /** Device milliseconds per device-to-device copy of `bytes` (blocks). */
  benchCopy(bytes: number, iterations: number): number;
  destroy(): void;
  readonly inFlight: number;
  readonly memoryInUse: number;
}

export interface NativeGpuAddon {
  api: 'CUDA' | 'HIP' | 'Metal';
  probe(): NativeGpuProbe;
  GpuContext: new (options: { device?: number }) => NativeGpuContext;
}

export type NativeGpuLoad = { addon: NativeGpuAddon; path: string } | { addon?: undefined; reason: string };

/**
 * Loads `<packageRoot>/build/Release/<file>` once per path (`envOverride` names an environment
 * variable with another path); never throws: a missing or broken addon gives the reason, with
 * the install step's own skip reason when it left one.
 */
const cache = new Map<string, NativeGpuLoad>();

export function loadGpuAddon(packageRoot: string, file: string, envOverride: string, buildHint: string): NativeGpuLoad {
  const override = process.env[envOverride];
  const path = override && override !== '' ? override : join(packageRoot, 'build', 'Release', file);
  const hit = cache.get(path);
  if (hit) return hit;
  let result: NativeGpuLoad;
  if (!existsSync(path)) {
    const reasonFile = join(packageRoot, 'build', 'skip-reason.txt');
    const why = existsSync(reasonFile) ? readFileSync(reasonFile, 'utf8').trim() : buildHint;
    result = { reason: `native addon not built: ${why}` };
  } else {
    try {
      const require = createRequire(import.meta.url);
      result = { addon: require(path) as NativeGpuAddon, path };
    } catch (e) {
      result = { reason: `native addon failed to load (${path}): ${e instanceof Error ? e.message : String(e)}` };
    }
  }
  cache.set(path, result);
  return result;
}

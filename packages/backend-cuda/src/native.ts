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
  /**
   * Device milliseconds per m x n x k sgemm on resident data, the vendor's or our kernel
   * `variant` (default 0, the one sgemm() uses; ids index sgemmVariants()) (blocks).
   */
  benchSgemm(m: number, n: number, k: number, iterations: number, vendor: boolean, variant?: number): number;
  /** Descriptions of our sgemm kernel variants, index = variant id; 0 is the default. */
  sgemmVariants(): string[];
  /**
   * One sgemm with kernel `variant` on host arrays (B is n x k when transB); writes c. alpha = 0
   * scales C as sgemm() does. Blocks: for the device checks of each variant, not for trading.
   */
  runSgemmVariant(variant: number, m: number, n: number, k: number, alpha: number, beta: number, transB: boolean,
    a: Float32Array, b: Float32Array, c: Float32Array): void;
  /** Device milliseconds per device-to-device copy of `bytes` (blocks). */
  benchCopy(bytes: number, iterations: number): number;
  destroy(): void;
  readonly inFlight: number;
  readonly memoryInUse: number;
}

export interface NativeGpuAddon {
  api: 'CUDA' | 'HIP' | 'Metal';
  probe(): NativeGpuProbe;
  GpuContext: new (options: { device?: number; [key: string]: unknown }) => NativeGpuContext;
}

export type NativeGpuLoad = { addon: NativeGpuAddon; path: string } | { addon?: undefined; reason: string };

/**
 * The paths the loader tries, in order: the override variable (an explicit path, for packagers
 * and tests), a source build in the package (it exists only where someone asked for one on this
 * host, so it wins), then the binary shipped in the package, prebuilds/<platform>-<arch>/.
 */
export function gpuAddonCandidates(packageRoot: string, file: string, envOverride: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const override = env[envOverride];
  if (override && override !== '') return [override];
  return [join(packageRoot, 'build', 'Release', file), join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, file)];
}

function firstLine(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n')[0] : undefined;
}

/**
 * Loads the first of gpuAddonCandidates() that loads, once per package (the outcome, failure
 * included, is cached); never throws. The failure is one line, because it is what `backends` and
 * the probe show: why there is no addon (the pack's reason for shipping no binary, the source
 * build's skip reason, or `buildHint`), every path tried and why it failed, and what to do.
 * It starts "native addon not built: " when no file exists, "native addon failed to load (path): "
 * when one exists but does not load (e.g. libamdhip64 missing on a host without ROCm).
 */
const cache = new Map<string, NativeGpuLoad>();

export function loadGpuAddon(packageRoot: string, file: string, envOverride: string, buildHint: string): NativeGpuLoad {
  const candidates = gpuAddonCandidates(packageRoot, file, envOverride);
  const key = candidates.join('\0');
  const hit = cache.get(key);
  if (hit) return hit;
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  let loadFailure: string | undefined;
  let result: NativeGpuLoad | undefined;
  for (const path of candidates) {
    if (!existsSync(path)) {
      tried.push(`${path} (not found)`);
      continue;
    }
    try {
      result = { addon: require(path) as NativeGpuAddon, path };
      break;
    } catch (e) {
      const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
      loadFailure ??= `native addon failed to load (${path}): ${msg}`;
      tried.push(`${path} (${msg})`);
    }
  }
  if (!result) {
    const platform = `${process.platform}-${process.arch}`;
    const why = firstLine(join(packageRoot, 'build', 'skip-reason.txt')) ?? firstLine(join(packageRoot, 'prebuilds', platform, 'skip-reason.txt')) ?? buildHint;
    const solutions = [
      `install a release that ships prebuilds/${platform}/${file}`,
      buildHint,
      `or point ${envOverride} at a built ${file}`,
    ];
    result = { reason: `${loadFailure ?? `native addon not built: ${why}`}. Tried: ${tried.join('; ')}. Possible solutions: ${solutions.join('; ')}` };
  }
  cache.set(key, result);
  return result;
}

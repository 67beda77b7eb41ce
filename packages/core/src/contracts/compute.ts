/**
 * The compute backend contract. One contract for the pure-TypeScript oracle, CPU SIMD, CUDA,
 * ROCm, Metal and Vulkan, so it is shaped for devices with their own memory:
 *
 *  - Data can live where the backend computes: `createBuffer` returns a backend-owned
 *    DeviceBuffer; `upload`/`download` move bytes. Every kernel argument typed `F32Arg`
 *    accepts either a host Float32Array (moved for the call) or a DeviceBuffer (no transfer),
 *    so a GPU keeps the pattern store resident and a query moves only queries and results.
 *  - Kernels are asynchronous by contract (they return Promises). A backend whose
 *    `capabilities.syncKernels` is true also offers `sync`, synchronous fast paths that take
 *    host arrays only, for small inputs on the hot path.
 *  - Kernel data is float32 (the type every GPU API has); accumulation precision is the
 *    backend's choice and the conformance suite states the tolerances. A backend whose
 *    `capabilities.float64` is true also runs the float64 kernels (`rollingMoments64`) on
 *    Float64Array data, so indicators on prices need no conversion pass and match a float64
 *    calculation to 1e-12 relative. Buffers are untyped bytes: a DeviceBuffer holds either.
 *  - Operations on one backend take effect in call order: a kernel called after an un-awaited
 *    upload sees the uploaded data (GPU backends must serialise their submissions).
 *  - Async methods reject (never throw synchronously) with ComputeArgumentError; sync kernels
 *    throw it. Using a freed or foreign buffer, or freeing twice, is a ComputeArgumentError.
 *  - `capabilities.maxBufferBytes` also bounds every single argument and intermediate (e.g. the
 *    B x K score matrix): callers split larger work.
 */

export type KernelName = 'patternScores' | 'rollingMoments' | 'monteCarloVaR' | 'sgemm' | 'copy' | 'noop';

export const ALL_KERNELS: readonly KernelName[] = ['patternScores', 'rollingMoments', 'monteCarloVaR', 'sgemm', 'copy', 'noop'];

export interface DeviceFacts {
  name: string;
  /** e.g. 'cpu', 'discrete-gpu', 'integrated-gpu', 'virtual-gpu', 'cpu-device' (lavapipe). */
  type: string;
  driver?: string;
  memoryBytes?: number;
  /** Cores, SMs, CUs or EUs, whatever the vendor calls a unit. */
  computeUnits?: number;
  /** Anything else worth printing in `cwts-ultra backends` (SIMD path, API version, limits). */
  details?: Record<string, string | number | boolean>;
}

export type ProbeResult =
  | { available: true; device: DeviceFacts }
  | { available: false; reason: string };

/** Float64 kernels; present on a backend exactly when `capabilities.float64` is true. */
export type Float64KernelName = 'rollingMoments64';

export const FLOAT64_KERNELS: readonly Float64KernelName[] = ['rollingMoments64'];

export interface BackendCapabilities {
  /** Kernels this backend implements; the conformance suite skips the others. */
  kernels: readonly KernelName[];
  /** True when `sync` is provided. */
  syncKernels: boolean;
  /** True when buffers live in memory separate from the JS heap (GPU). */
  deviceMemory: boolean;
  /** Largest single buffer in bytes. */
  maxBufferBytes: number;
  /**
   * True when the backend implements every float64 kernel (`rollingMoments64`, and its sync form
   * when `syncKernels`). GPU backends declare false unless they implement them in double
   * precision; the conformance suite skips its float64 section on false.
   */
  float64: boolean;
  /**
   * True when an async call copies the host arrays it reads before computing (a host-memory
   * backend that computes off the JS thread, like CPU SIMD, must: the caller may detach them
   * meanwhile). Data read by many calls, such as a pattern store, is then cheaper kept in a
   * `DeviceBuffer`, which is used in place. Backends with `deviceMemory` move host inputs anyway
   * and need not say so. Absent means false (API 1.9).
   */
  copiesHostInputs?: boolean;
}

/** Opaque handle to backend-owned memory. Only the backend that created it may use it. */
export interface DeviceBuffer {
  readonly backend: string;
  readonly id: number;
  readonly byteLength: number;
}

export type F32Arg = Float32Array | DeviceBuffer;
export type F64Arg = Float64Array | DeviceBuffer;

/**
 * Pearson correlation of each of B query windows against each of K stored windows of length D,
 * and the top-k stored windows per query.
 *  - stored: K x D row-major; queries: B x D row-major.
 *  - A window with zero variance (or a query with zero variance) scores 0 against everything.
 *    Float32 backends may treat sum((x - mean)^2) <= 1e-10 * sum(x^2) as zero. A window or query
 *    containing NaN or +-Infinity is treated as zero-variance.
 *  - topK: indices and scores sorted by score descending, ties broken by the lower index and
 *    judged on the returned float32 scores; 1 <= topK <= K.
 *  - A DeviceBuffer argument is read from byte 0; host arrays may be longer than needed and a
 *    view's byteOffset is honoured.
 */
export interface PatternScoresArgs {
  stored: F32Arg;
  storedCount: number;
  dim: number;
  queries: F32Arg;
  queryCount: number;
  topK: number;
  /** Also return all B x K scores (costly; for tests and diagnostics). */
  returnAllScores?: boolean;
  /** Optional output arrays to fill instead of allocating (B x topK). */
  out?: { indices: Int32Array; scores: Float32Array };
}

export interface PatternScoresResult {
  /** B x topK stored-window indices. */
  indices: Int32Array;
  /** B x topK correlations in [-1, 1]. */
  scores: Float32Array;
  /** B x K, when requested. */
  allScores?: Float32Array;
}

/**
 * Rolling mean and population variance (divide by W) of a series over a window W.
 * Output i covers input [i, i + W); length N - W + 1. W must be in [1, N].
 * NaN or +-Infinity at index q makes mean and variance NaN for every window containing q;
 * variance is never negative.
 */
export interface RollingMomentsArgs {
  series: F32Arg;
  length: number;
  window: number;
  out?: { mean: Float32Array; variance: Float32Array };
}

export interface RollingMomentsResult {
  mean: Float32Array;
  variance: Float32Array;
}

/**
 * rollingMoments on float64 data (prices as every feed delivers them): the same semantics, with
 * float64 in and out. `meanOnly` computes just the rolling mean (a simple moving average) and
 * returns no variance. Precision: mean within 1e-12 * (|mean| + sd) and variance within
 * 1e-12 * variance of a float64 two-pass calculation of each window (windows of equal values
 * exactly: mean = the value, variance 0).
 */
export interface RollingMoments64Args {
  series: F64Arg;
  length: number;
  window: number;
  meanOnly?: boolean;
  /** Output arrays to fill instead of allocating; `variance` is required unless `meanOnly`. */
  out?: { mean: Float64Array; variance?: Float64Array };
}

export interface RollingMoments64Result {
  mean: Float64Array;
  /** Absent when `meanOnly`. */
  variance?: Float64Array;
}

/**
 * Monte Carlo VaR / CVaR of a portfolio. Per path p and step t, asset returns are
 * r = means + factor * z with z ~ N(0, I_F); the path loss is -sum_t weights . r.
 *
 * Normals are defined exactly so every backend draws the same numbers (see `philox.ts`):
 * z[p][t][j] comes from Philox4x32-10 with key (seedLo, seedHi) and counter
 * (p, t, floor(j / 4), 0); of its four outputs x0..x3, pair h = (j % 4) >> 1 gives
 * u1 = (x[2h] + 0.5) / 2^32, u2 = (x[2h+1] + 0.5) / 2^32, and
 * z = sqrt(-2 ln u1) * (j even ? cos(2 pi u2) : sin(2 pi u2)).
 *
 * VaR is the loss at sorted index ceil(confidence * paths) - 1 (ascending); CVaR is the mean
 * of the losses from that index up. stdLoss is the population standard deviation. Backends
 * without float64 log/cos (GLSL) draw the same normals up to float32 precision.
 * means, factor and weights must be finite. seed: a bigint in [0, 2^64) or a non-negative safe
 * integer; seedLo = seed mod 2^32, seedHi = floor(seed / 2^32).
 */
export interface MonteCarloVaRArgs {
  /** A per-asset means of one step's returns. */
  means: Float32Array;
  /** A x F row-major factor of the covariance (e.g. its Cholesky factor, F = A). */
  factor: Float32Array;
  assets: number;
  factors: number;
  /** A portfolio weights (exposure in quote currency per unit return). */
  weights: Float32Array;
  paths: number;
  /** Steps per path (returns are summed over the horizon); default 1. */
  horizon?: number;
  confidence: number;
  /** 64-bit seed as a bigint or a safe integer. */
  seed: bigint | number;
}

export interface MonteCarloVaRResult {
  var: number;
  cvar: number;
  meanLoss: number;
  stdLoss: number;
  paths: number;
}

/**
 * C = alpha * A x B + beta * C, row-major; A is m x k, B is k x n, C is m x n. alpha defaults
 * to 1 and beta to 0 (BLAS conventions: beta = 0 does not read C, alpha = 0 does not read A, B).
 * C must not overlap A or B.
 */
export interface SgemmArgs {
  m: number;
  n: number;
  k: number;
  alpha?: number;
  beta?: number;
  a: F32Arg;
  b: F32Arg;
  /** Written in place: a host array holds the result once the promise resolves. */
  c: F32Arg;
}

export interface SyncKernels {
  patternScores(args: PatternScoresArgs): PatternScoresResult;
  rollingMoments(args: RollingMomentsArgs): RollingMomentsResult;
  sgemm(args: SgemmArgs): void;
  /** Present exactly when `capabilities.float64`. */
  rollingMoments64?(args: RollingMoments64Args): RollingMoments64Result;
}

export interface ComputeBackend {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  readonly device: DeviceFacts;

  createBuffer(byteLength: number): DeviceBuffer;
  upload(dst: DeviceBuffer, src: ArrayBufferView, dstOffsetBytes?: number): Promise<void>;
  download(src: DeviceBuffer, dst: ArrayBufferView, srcOffsetBytes?: number): Promise<void>;
  freeBuffer(buffer: DeviceBuffer): void;

  patternScores(args: PatternScoresArgs): Promise<PatternScoresResult>;
  rollingMoments(args: RollingMomentsArgs): Promise<RollingMomentsResult>;
  monteCarloVaR(args: MonteCarloVaRArgs): Promise<MonteCarloVaRResult>;
  sgemm(args: SgemmArgs): Promise<void>;
  /** Float64 rolling moments; present exactly when `capabilities.float64`. */
  rollingMoments64?(args: RollingMoments64Args): Promise<RollingMoments64Result>;
  /** Device-to-device copy, the bandwidth probe of `gpu-test`. */
  copy(src: DeviceBuffer, dst: DeviceBuffer, byteLength: number): Promise<void>;
  /** An empty kernel launch, the launch-latency probe. Resolves when the device finished it. */
  noop(): Promise<void>;

  readonly sync?: SyncKernels;

  /**
   * Releases everything the backend holds after in-flight calls settle; the backend is unusable
   * afterwards. New buffers are uninitialised.
   */
  dispose(): Promise<void>;
}

export interface BackendInitOptions {
  /** `[performance] thread_pool_size`. */
  threadPoolSize?: number;
  /** The backend's own table, e.g. `[compute.vulkan]`. */
  settings?: Record<string, unknown>;
}

/**
 * What a backend plugin registers: cheap probe, then create. The registry calls `probe` at most
 * once and `create` at most once per process and caches both outcomes, failures included.
 */
export interface ComputeBackendProvider {
  readonly name: string;
  /**
   * Orders backends of the same kind when the config gives no list (higher first); js = 0, and
   * 0 or less means "fallback": auto-detection tries it last.
   */
  readonly priority: number;
  /**
   * True when the backend runs on a GPU (CUDA, ROCm, Metal, Vulkan): `[performance]
   * gpu_enabled = false` disables it, and auto-detection orders backends as real accelerators
   * (a GPU whose probe reports a device type other than 'cpu' / 'cpu-device'), then CPU
   * backends, then GPU APIs on CPU-emulated devices (llvmpipe, lavapipe), then fallbacks.
   * Absent means false.
   */
  readonly gpu?: boolean;
  probe(): Promise<ProbeResult>;
  create(options: BackendInitOptions): Promise<ComputeBackend>;
}

export class ComputeArgumentError extends Error {
  constructor(kernel: string, message: string) {
    super(`${kernel}: ${message}`);
    this.name = 'ComputeArgumentError';
  }
}

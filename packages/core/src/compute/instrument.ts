import type {
  BackendCapabilities,
  ComputeBackend,
  DeviceBuffer,
  DeviceFacts,
  Float64KernelName,
  KernelName,
  MonteCarloVaRArgs,
  MonteCarloVaRResult,
  PatternScoresArgs,
  PatternScoresResult,
  RollingMoments64Args,
  RollingMoments64Result,
  RollingMomentsArgs,
  RollingMomentsResult,
  SgemmArgs,
  SyncKernels,
} from '../contracts/compute.js';

/** Receives each kernel call's duration, e.g. to feed `cwts_compute_kernel_seconds`. */
export type KernelObserver = (kernel: KernelName | Float64KernelName, seconds: number) => void;

/**
 * Wraps a backend so that every kernel call (async and sync) reports its duration in seconds to
 * `observe`: for async kernels the time until the promise resolves. Calls that throw or reject
 * are not reported (they ran no kernel or failed). An observer that throws is ignored. Buffer
 * operations and dispose pass through untimed.
 */
export function instrumentBackend(backend: ComputeBackend, observe: KernelObserver): ComputeBackend {
  return new InstrumentedBackend(backend, observe);
}

const now = (): number => performance.now();

class InstrumentedBackend implements ComputeBackend {
  readonly sync?: SyncKernels;
  readonly rollingMoments64?: (args: RollingMoments64Args) => Promise<RollingMoments64Result>;
  readonly #inner: ComputeBackend;
  readonly #observe: KernelObserver;

  constructor(inner: ComputeBackend, observe: KernelObserver) {
    this.#inner = inner;
    this.#observe = observe;
    const sync = inner.sync;
    if (sync !== undefined) {
      this.sync = Object.freeze({
        patternScores: (args: PatternScoresArgs): PatternScoresResult => this.#timeSync('patternScores', () => sync.patternScores(args)),
        rollingMoments: (args: RollingMomentsArgs): RollingMomentsResult => this.#timeSync('rollingMoments', () => sync.rollingMoments(args)),
        sgemm: (args: SgemmArgs): void => this.#timeSync('sgemm', () => sync.sgemm(args)),
        ...(sync.rollingMoments64 === undefined ? {} : {
          rollingMoments64: (args: RollingMoments64Args): RollingMoments64Result => this.#timeSync('rollingMoments64', () => sync.rollingMoments64!(args)),
        }),
      });
    }
    // Present exactly when the inner backend has it, so `capabilities.float64` stays truthful.
    if (inner.rollingMoments64 !== undefined) {
      this.rollingMoments64 = (args) => this.#time('rollingMoments64', () => inner.rollingMoments64!(args));
    }
  }

  get name(): string { return this.#inner.name; }
  get capabilities(): BackendCapabilities { return this.#inner.capabilities; }
  get device(): DeviceFacts { return this.#inner.device; }

  createBuffer(byteLength: number): DeviceBuffer { return this.#inner.createBuffer(byteLength); }
  upload(dst: DeviceBuffer, src: ArrayBufferView, dstOffsetBytes?: number): Promise<void> { return this.#inner.upload(dst, src, dstOffsetBytes); }
  download(src: DeviceBuffer, dst: ArrayBufferView, srcOffsetBytes?: number): Promise<void> { return this.#inner.download(src, dst, srcOffsetBytes); }
  freeBuffer(buffer: DeviceBuffer): void { this.#inner.freeBuffer(buffer); }

  patternScores(args: PatternScoresArgs): Promise<PatternScoresResult> { return this.#time('patternScores', () => this.#inner.patternScores(args)); }
  rollingMoments(args: RollingMomentsArgs): Promise<RollingMomentsResult> { return this.#time('rollingMoments', () => this.#inner.rollingMoments(args)); }
  monteCarloVaR(args: MonteCarloVaRArgs): Promise<MonteCarloVaRResult> { return this.#time('monteCarloVaR', () => this.#inner.monteCarloVaR(args)); }
  sgemm(args: SgemmArgs): Promise<void> { return this.#time('sgemm', () => this.#inner.sgemm(args)); }
  copy(src: DeviceBuffer, dst: DeviceBuffer, byteLength: number): Promise<void> { return this.#time('copy', () => this.#inner.copy(src, dst, byteLength)); }
  noop(): Promise<void> { return this.#time('noop', () => this.#inner.noop()); }

  dispose(): Promise<void> { return this.#inner.dispose(); }

  #report(kernel: KernelName | Float64KernelName, t0: number): void {
    try {
      this.#observe(kernel, (now() - t0) / 1000);
    } catch {
      // A broken metrics sink must not break a kernel call.
    }
  }

  async #time<T>(kernel: KernelName | Float64KernelName, call: () => Promise<T>): Promise<T> {
    const t0 = now();
    const result = await call();
    this.#report(kernel, t0);
    return result;
  }

  #timeSync<T>(kernel: KernelName | Float64KernelName, call: () => T): T {
    const t0 = now();
    const result = call();
    this.#report(kernel, t0);
    return result;
  }
}

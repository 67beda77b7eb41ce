import { availableParallelism } from 'node:os';
import {
  ComputeArgumentError,
  type BackendInitOptions,
  type ComputeBackend,
  type ComputeBackendProvider,
  type DeviceBuffer,
  type DeviceFacts,
  type MonteCarloVaRArgs,
  type MonteCarloVaRResult,
  type PatternScoresArgs,
  type PatternScoresResult,
  type RollingMoments64Args,
  type RollingMoments64Result,
  type RollingMomentsArgs,
  type RollingMomentsResult,
  type SgemmArgs,
  type SyncKernels,
} from '../contracts/compute.js';
import { runMonteCarloVaR } from './kernels/monte-carlo-var.js';
import { runPatternScores } from './kernels/pattern-scores.js';
import { runRollingMoments } from './kernels/rolling-moments.js';
import { runRollingMoments64 } from './kernels/rolling-moments64.js';
import { runSgemm } from './kernels/sgemm.js';
import { isDeviceBufferLike } from './host-buffers.js';
import { HostMemoryBackend } from './host-memory-backend.js';

export const JS_BACKEND_NAME = 'js';

/** Device facts of the pure-TypeScript backend (the JS engine on this machine). */
export function jsDeviceFacts(): DeviceFacts {
  return {
    name: 'JavaScript (V8)',
    type: 'cpu',
    computeUnits: availableParallelism(),
    details: { node: process.version, v8: process.versions.v8, accumulation: 'float64', threads: 1 },
  };
}

/**
 * The pure-TypeScript compute backend: the oracle every other backend is checked against.
 * Single-threaded, float64 accumulation, results rounded to float32 once. Its "device memory"
 * is ordinary ArrayBuffers held by id; `sync` offers every kernel except monteCarloVaR
 * synchronously (and also accepts its own DeviceBuffers there). `threadPoolSize` is ignored.
 */
export class JsComputeBackend extends HostMemoryBackend implements ComputeBackend {
  readonly device: DeviceFacts;
  readonly sync: Required<SyncKernels>;

  readonly #resolve = (kernel: string, name: string, arg: unknown, count: number, what?: string): Float32Array =>
    this.buffers.f32(kernel, name, arg, count, what);
  readonly #resolve64 = (kernel: string, name: string, arg: unknown, count: number, what?: string): Float64Array =>
    this.buffers.f64(kernel, name, arg, count, what);
  readonly #same = (x: unknown, y: unknown): boolean => isDeviceBufferLike(x) && x === y;

  constructor(_options: BackendInitOptions = {}) {
    super(JS_BACKEND_NAME);
    this.device = jsDeviceFacts();
    this.sync = Object.freeze({
      patternScores: (args: PatternScoresArgs): PatternScoresResult => {
        this.alive('patternScores');
        return runPatternScores(args, this.#resolve);
      },
      rollingMoments: (args: RollingMomentsArgs): RollingMomentsResult => {
        this.alive('rollingMoments');
        return runRollingMoments(args, this.#resolve);
      },
      sgemm: (args: SgemmArgs): void => {
        this.alive('sgemm');
        runSgemm(args, this.#resolve, this.#same);
      },
      rollingMoments64: (args: RollingMoments64Args): RollingMoments64Result => {
        this.alive('rollingMoments64');
        return runRollingMoments64(args, this.#resolve64);
      },
    });
  }

  async patternScores(args: PatternScoresArgs): Promise<PatternScoresResult> {
    return this.sync.patternScores(args);
  }

  async rollingMoments(args: RollingMomentsArgs): Promise<RollingMomentsResult> {
    return this.sync.rollingMoments(args);
  }

  async rollingMoments64(args: RollingMoments64Args): Promise<RollingMoments64Result> {
    return this.sync.rollingMoments64(args);
  }

  async monteCarloVaR(args: MonteCarloVaRArgs): Promise<MonteCarloVaRResult> {
    this.alive('monteCarloVaR');
    return runMonteCarloVaR(args);
  }

  async sgemm(args: SgemmArgs): Promise<void> {
    this.sync.sgemm(args);
  }

  async copy(src: DeviceBuffer, dst: DeviceBuffer, byteLength: number): Promise<void> {
    this.alive('copy');
    const { from, to } = this.buffers.copyRanges(src, dst, byteLength);
    to.set(from);
  }

  async noop(): Promise<void> {
    this.alive('noop');
  }

  async dispose(): Promise<void> {
    this.buffers.clear();
    this.markDisposed();
  }

}

/** The provider of the js backend: priority 0, always available. Register it explicitly. */
export const jsBackendProvider: ComputeBackendProvider = Object.freeze({
  name: JS_BACKEND_NAME,
  priority: 0,
  gpu: false,
  async probe() {
    return { available: true as const, device: jsDeviceFacts() };
  },
  async create(options: BackendInitOptions) {
    return new JsComputeBackend(options);
  },
});

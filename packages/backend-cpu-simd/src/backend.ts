/**
 * The cpu-simd compute backend: the TypeScript face of the native addon.
 *
 *  - Typed arrays go to native code zero-copy (the addon reads and writes their memory directly);
 *    results are allocated here (or taken from `out`) and filled in place.
 *  - Small calls run synchronously on the calling thread, even through the async API (the
 *    Promise is already settled): a hop to a worker thread costs more than they do. Calls whose
 *    work exceeds `async_threshold` run off the JS thread (an N-API async worker) and split across
 *    the backend's own thread pool of `threadPoolSize` threads.
 *  - "Device" buffers are ordinary ArrayBuffers held by id (CPU memory is the device memory).
 */
import { availableParallelism, totalmem } from 'node:os';
import { ComputeArgumentError, type BackendInitOptions, type ComputeBackend, type DeviceBuffer, type DeviceFacts, type MonteCarloVaRArgs, type MonteCarloVaRResult, type PatternScoresArgs, type PatternScoresResult, type RollingMoments64Args, type RollingMoments64Result, type RollingMomentsArgs, type RollingMomentsResult, type SgemmArgs, type SyncKernels } from '@cwts/core';
import { prepareRollingMoments64 } from '@cwts/core/compute';
import { HostMemoryBackend, prepareMonteCarloVaR, isDeviceBufferLike } from '@cwts/core/compute';
import type { Isa, NativeEngine, NativeModule, NativeProbe, NativeStatus } from './native.js';
import {
  describeValue,
  overlaps,
  requireFinite,
  requireHostF32,
  requireHostI32,
  requireInt,
  requireProduct,
} from './validate.js';

export const CPU_SIMD_BACKEND_NAME = 'cpu-simd';
const ISAS: readonly string[] = ['auto', 'avx512', 'avx2', 'neon', 'scalar'];

/**
 * Settings, from `[compute.cpu-simd]` (plugin config) merged with `BackendInitOptions.settings`:
 *  - simd_enabled (boolean, default true): `[performance] simd_enabled`; false forces the scalar kernels.
 *  - isa ('auto' | 'avx512' | 'avx2' | 'neon' | 'scalar', default 'auto', or $CWTS_CPU_SIMD_ISA):
 *    force one kernel set (it must be supported by the CPU).
 *  - blas (boolean, default true): use the BLAS linked at build time for sgemm, when there is one.
 *  - async_threshold (number, default 262144): estimated element-operations above which an async
 *    kernel call leaves the JS thread.
 */
export interface CpuSimdSettings {
  simd_enabled?: boolean;
  isa?: Isa | 'auto';
  blas?: boolean;
  async_threshold?: number;
}

export interface ResolvedSettings {
  isa: Isa | 'auto';
  blas: boolean;
  asyncThreshold: number;
  threads: number;
}

export function resolveSettings(options: BackendInitOptions, base: Readonly<Record<string, unknown>> = {}): ResolvedSettings {
  const s: Record<string, unknown> = { ...base, ...(options.settings ?? {}) };
  const bad = (key: string, want: string): never => {
    throw new TypeError(`${CPU_SIMD_BACKEND_NAME}: setting ${key} must be ${want}, got ${describeValue(s[key])}`);
  };
  const simd = s.simd_enabled ?? s.simdEnabled ?? true;
  if (typeof simd !== 'boolean') bad('simd_enabled', 'a boolean');
  let isa = (s.isa ?? process.env.CWTS_CPU_SIMD_ISA ?? 'auto') as string;
  if (typeof isa !== 'string' || !ISAS.includes(isa)) bad('isa', `one of ${ISAS.join(', ')}`);
  if (simd === false) isa = 'scalar';
  const blas = s.blas ?? true;
  if (typeof blas !== 'boolean') bad('blas', 'a boolean');
  const asyncThreshold = s.async_threshold ?? 262144;
  if (typeof asyncThreshold !== 'number' || !(asyncThreshold >= 0)) bad('async_threshold', 'a number >= 0');
  const threads = options.threadPoolSize ?? availableParallelism();
  if (!Number.isSafeInteger(threads) || threads < 1 || threads > 1024) {
    throw new TypeError(`${CPU_SIMD_BACKEND_NAME}: threadPoolSize must be an integer in [1, 1024], got ${describeValue(threads)}`);
  }
  return { isa: isa as Isa | 'auto', blas: blas as boolean, asyncThreshold: asyncThreshold as number, threads };
}

export function deviceFacts(probe: NativeProbe, addonPath: string, extra: Record<string, string | number | boolean> = {}): DeviceFacts {
  return {
    name: `${probe.cpu} (${probe.best})`,
    type: 'cpu',
    memoryBytes: totalmem(),
    computeUnits: probe.hardwareConcurrency,
    details: {
      simd: probe.best,
      supported: probe.supported.join(','),
      compiled: probe.compiled.join(','),
      blas: probe.blas ?? 'none',
      arch: probe.arch,
      napi: probe.napiVersion,
      addon: addonPath,
      ...extra,
    },
  };
}


/** A prepared kernel call: `run(async)` calls native code; `work` decides sync vs async. */
interface Prepared<R> {
  work: number;
  run(async: false): R;
  run(async: true): Promise<R>;
}

export class CpuSimdBackend extends HostMemoryBackend implements ComputeBackend {
  readonly device: DeviceFacts;
  readonly sync: Required<SyncKernels>;
  /** The kernel set in use ('avx512', 'avx2', 'neon', 'scalar'). */
  readonly isa: Isa;
  /** Threads of the pool (the calling thread included). */
  readonly threads: number;
  /** Whether sgemm goes to the BLAS linked at build time. */
  readonly usesBlas: boolean;

  readonly #engine: NativeEngine;
  readonly #asyncThreshold: number;
  readonly #inflight = new Set<Promise<unknown>>();

  constructor(native: NativeModule, probe: NativeProbe, addonPath: string, settings: ResolvedSettings) {
    super(CPU_SIMD_BACKEND_NAME);
    if (settings.isa !== 'auto' && !probe.supported.includes(settings.isa)) {
      throw new Error(
        `${CPU_SIMD_BACKEND_NAME}: kernel set '${settings.isa}' is not available here (this CPU and build support: ${probe.supported.join(', ')})`,
      );
    }
    this.#engine = new native.Engine(settings.threads, settings.isa, settings.blas && probe.blas !== null);
    const info = this.#engine.info();
    this.isa = info.isa;
    this.threads = info.threads;
    this.usesBlas = info.blas;
    this.#asyncThreshold = settings.asyncThreshold;
    this.device = deviceFacts(probe, addonPath, {
      simd: info.isa,
      lanes: info.lanes,
      threads: info.threads,
      sgemm: info.blas ? (probe.blas ?? 'blas') : `native-${info.isa}`,
    });
    this.sync = Object.freeze({
      patternScores: (args: PatternScoresArgs): PatternScoresResult => this.#preparePattern(args).run(false),
      rollingMoments: (args: RollingMomentsArgs): RollingMomentsResult => this.#prepareRolling(args).run(false),
      sgemm: (args: SgemmArgs): void => this.#prepareSgemm(args).run(false),
      rollingMoments64: (args: RollingMoments64Args): RollingMoments64Result => this.#prepareRolling64(args).run(false),
    });
  }

  patternScores(args: PatternScoresArgs): Promise<PatternScoresResult> {
    return this.#dispatch(() => this.#preparePattern(args));
  }

  rollingMoments(args: RollingMomentsArgs): Promise<RollingMomentsResult> {
    return this.#dispatch(() => this.#prepareRolling(args));
  }

  rollingMoments64(args: RollingMoments64Args): Promise<RollingMoments64Result> {
    return this.#dispatch(() => this.#prepareRolling64(args));
  }

  monteCarloVaR(args: MonteCarloVaRArgs): Promise<MonteCarloVaRResult> {
    return this.#dispatch(() => this.#prepareVaR(args));
  }

  sgemm(args: SgemmArgs): Promise<void> {
    return this.#dispatch(() => this.#prepareSgemm(args));
  }

  /**
   * sgemm with the built-in blocked kernel even when a BLAS is linked (benchmarks compare the two).
   */
  sgemmNative(args: SgemmArgs): Promise<void> {
    return this.#dispatch(() => this.#prepareSgemm(args, false));
  }

  copy(src: DeviceBuffer, dst: DeviceBuffer, byteLength: number): Promise<void> {
    return this.#dispatch(() => {
      this.alive('copy');
      const { from: sv, to: dv } = this.buffers.copyRanges(src, dst, byteLength);
      const n = sv.byteLength;
      return this.#prepared(n / 4, (async: boolean) => this.#engine.copy(sv, dv, n, async as false), () => undefined);
    });
  }

  /**
   * Diagnostic, not a contract kernel: one read-only streaming pass over `x` on the pool, off the
   * JS thread; resolves with the sum. Benchmarks time it to measure memory read bandwidth.
   */
  readProbe(x: Float32Array): Promise<number> {
    this.alive('readProbe');
    if (!(x instanceof Float32Array)) return Promise.reject(new ComputeArgumentError('readProbe', `x must be a Float32Array, got ${describeValue(x)}`));
    return this.#engine.readProbe(x, true);
  }

  async noop(): Promise<void> {
    this.alive('noop');
    this.#engine.noop(false);
  }

  async dispose(): Promise<void> {
    if (!this.markDisposed()) return;
    await Promise.allSettled([...this.#inflight]);
    this.buffers.clear();
    this.#engine.dispose();
  }

  // ------------------------------------------------------------------------------------------

  /** Runs a prepared call: synchronously when small (settled Promise), else off the JS thread. */
  #dispatch<R>(prepare: () => Prepared<R>): Promise<R> {
    let p: Prepared<R>;
    try {
      p = prepare();
      if (p.work < this.#asyncThreshold) return Promise.resolve(p.run(false));
    } catch (e) {
      return Promise.reject(e);
    }
    const promise = p.run(true);
    this.#inflight.add(promise);
    const forget = (): void => {
      this.#inflight.delete(promise);
    };
    promise.then(forget, forget);
    return promise;
  }

  /** Wraps a native call returning a status (or nothing) and a result builder into a Prepared. */
  #prepared<S, R>(work: number, call: (async: boolean) => S | Promise<S>, finish: (status: S) => R): Prepared<R> {
    return {
      work,
      run: ((async: boolean) => (async ? (call(true) as Promise<S>).then(finish) : finish(call(false) as S))) as Prepared<R>['run'],
    };
  }

  #check(kernel: string, status: NativeStatus | undefined): void {
    if (status !== undefined && !status.ok) throw new ComputeArgumentError(kernel, status.error ?? 'rejected by the native kernel');
  }

  #preparePattern(args: PatternScoresArgs): Prepared<PatternScoresResult> {
    const K = 'patternScores';
    this.alive(K);
    if (args === null || typeof args !== 'object') throw new ComputeArgumentError(K, 'arguments object is required');
    const storedCount = requireInt(K, 'storedCount', args.storedCount);
    if (storedCount > 0x7fffffff) throw new ComputeArgumentError(K, `storedCount must be at most 2147483647 (Int32 indices), got ${storedCount}`);
    const dim = requireInt(K, 'dim', args.dim);
    const queryCount = requireInt(K, 'queryCount', args.queryCount);
    const topK = requireInt(K, 'topK', args.topK);
    if (topK > storedCount) throw new ComputeArgumentError(K, `topK must be in [1, storedCount = ${storedCount}], got ${topK}`);
    const storedLen = requireProduct(K, 'storedCount x dim', storedCount, dim);
    const queryLen = requireProduct(K, 'queryCount x dim', queryCount, dim);
    const outLen = requireProduct(K, 'queryCount x topK', queryCount, topK);
    if (args.returnAllScores) requireProduct(K, 'queryCount x storedCount', queryCount, storedCount);
    const stored = this.#f32(K, 'stored', args.stored, storedLen, `storedCount ${storedCount} x dim ${dim}`);
    const queries = this.#f32(K, 'queries', args.queries, queryLen, `queryCount ${queryCount} x dim ${dim}`);
    let indices: Int32Array;
    let scores: Float32Array;
    if (args.out !== undefined) {
      if (args.out === null || typeof args.out !== 'object') throw new ComputeArgumentError(K, 'out must be { indices, scores }');
      indices = requireHostI32(K, 'out.indices', args.out.indices, outLen, `queryCount ${queryCount} x topK ${topK}`);
      scores = requireHostF32(K, 'out.scores', args.out.scores, outLen, `queryCount ${queryCount} x topK ${topK}`);
    } else {
      indices = new Int32Array(outLen);
      scores = new Float32Array(outLen);
    }
    const allScores = args.returnAllScores ? new Float32Array(queryCount * storedCount) : undefined;
    const result: PatternScoresResult = allScores ? { indices, scores, allScores } : { indices, scores };
    return this.#prepared(
      storedLen * (queryCount + 2),
      (async) => this.#engine.patternScores(stored, storedCount, dim, queries, queryCount, topK, indices, scores, allScores ?? null, async as false),
      (status) => {
        this.#check(K, status);
        return result;
      },
    );
  }

  #prepareRolling(args: RollingMomentsArgs): Prepared<RollingMomentsResult> {
    const K = 'rollingMoments';
    this.alive(K);
    if (args === null || typeof args !== 'object') throw new ComputeArgumentError(K, 'arguments object is required');
    const length = requireInt(K, 'length', args.length, 1, 2 ** 32);
    const window = requireInt(K, 'window', args.window);
    if (window > length) throw new ComputeArgumentError(K, `window must be in [1, length = ${length}], got ${window}`);
    const series = this.#f32(K, 'series', args.series, length, `length ${length}`);
    const n = length - window + 1;
    let mean: Float32Array;
    let variance: Float32Array;
    if (args.out !== undefined) {
      if (args.out === null || typeof args.out !== 'object') throw new ComputeArgumentError(K, 'out must be { mean, variance }');
      mean = requireHostF32(K, 'out.mean', args.out.mean, n, `length - window + 1 = ${n}`);
      variance = requireHostF32(K, 'out.variance', args.out.variance, n, `length - window + 1 = ${n}`);
      if (overlaps(mean, n, variance, n)) throw new ComputeArgumentError(K, 'out.mean and out.variance overlap');
      if (overlaps(mean, n, series, length) || overlaps(variance, n, series, length)) {
        throw new ComputeArgumentError(K, 'out arrays must not overlap series');
      }
    } else {
      mean = new Float32Array(n);
      variance = new Float32Array(n);
    }
    return this.#prepared(
      length * 8,
      (async) => this.#engine.rollingMoments(series, length, window, mean, variance, async as false),
      (status) => {
        this.#check(K, status);
        return { mean, variance };
      },
    );
  }

  #prepareRolling64(args: RollingMoments64Args): Prepared<RollingMoments64Result> {
    const K = 'rollingMoments64';
    this.alive(K);
    // The oracle's own argument rules, so both backends reject exactly the same calls.
    const p = prepareRollingMoments64(args, (kernel, name, arg, count, what) => this.buffers.f64(kernel, name, arg, count, what));
    const mean = p.out?.mean ?? new Float64Array(p.outputs);
    const variance = p.meanOnly ? undefined : (p.out?.variance ?? new Float64Array(p.outputs));
    const result: RollingMoments64Result = variance === undefined ? { mean } : { mean, variance };
    return this.#prepared(
      p.length * (p.meanOnly ? 4 : 8),
      (async) => this.#engine.rollingMoments64(p.series, p.length, p.window, mean, variance ?? null, async as false),
      (status) => {
        this.#check(K, status);
        return result;
      },
    );
  }

  #prepareSgemm(args: SgemmArgs, useBlas = true): Prepared<void> {
    const K = 'sgemm';
    this.alive(K);
    if (args === null || typeof args !== 'object') throw new ComputeArgumentError(K, 'arguments object is required');
    const m = requireInt(K, 'm', args.m);
    const n = requireInt(K, 'n', args.n);
    const k = requireInt(K, 'k', args.k);
    for (const [name, v] of [['m', m], ['n', n], ['k', k]] as const) {
      if (v > 0x7fffffff) throw new ComputeArgumentError(K, `${name} must be at most 2147483647 (a BLAS int), got ${v}`);
    }
    const alpha = args.alpha === undefined ? 1 : requireFinite(K, 'alpha', args.alpha);
    const beta = args.beta === undefined ? 0 : requireFinite(K, 'beta', args.beta);
    const aLen = requireProduct(K, 'm x k', m, k);
    const bLen = requireProduct(K, 'k x n', k, n);
    const cLen = requireProduct(K, 'm x n', m, n);
    const a = this.#f32(K, 'a', args.a, aLen, `m ${m} x k ${k}`);
    const b = this.#f32(K, 'b', args.b, bLen, `k ${k} x n ${n}`);
    const c = this.#f32(K, 'c', args.c, cLen, `m ${m} x n ${n}`);
    const same = (x: unknown, y: unknown): boolean => isDeviceBufferLike(x) && x === y;
    if (same(args.c, args.a) || overlaps(c, cLen, a, aLen)) throw new ComputeArgumentError(K, 'c must not overlap a');
    if (same(args.c, args.b) || overlaps(c, cLen, b, bLen)) throw new ComputeArgumentError(K, 'c must not overlap b');
    return this.#prepared(
      m * n * k,
      (async) => this.#engine.sgemm(m, n, k, alpha, beta, a, b, c, async as false, useBlas),
      () => undefined,
    );
  }

  #prepareVaR(args: MonteCarloVaRArgs): Prepared<MonteCarloVaRResult> {
    const K = 'monteCarloVaR';
    this.alive(K);
    // The oracle's own argument rules, so both backends reject exactly the same calls.
    const { means, factor, weights, assets, factors, paths, horizon, confidence, seedLo, seedHi } = prepareMonteCarloVaR(args);
    const varIndex = Math.ceil(confidence * paths) - 1;
    return this.#prepared(
      paths * horizon * factors * 16,
      (async) => this.#engine.monteCarloVaR(means, factor, assets, factors, weights, paths, horizon, varIndex, seedLo, seedHi, async as false),
      (r) => {
        this.#check(K, r);
        return { var: r.var, cvar: r.cvar, meanLoss: r.meanLoss, stdLoss: Math.sqrt(r.m2 / paths), paths };
      },
    );
  }


  #f32(kernel: string, name: string, arg: unknown, count: number, what?: string): Float32Array {
    return this.buffers.f32(kernel, name, arg, count, what);
  }
}

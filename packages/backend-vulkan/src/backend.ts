import {
  ALL_KERNELS,
  ComputeArgumentError,
  type BackendCapabilities,
  type ComputeBackend,
  type DeviceBuffer,
  type DeviceFacts,
  type F32Arg,
  type MonteCarloVaRArgs,
  type MonteCarloVaRResult,
  type PatternScoresArgs,
  type PatternScoresResult,
  type RollingMomentsArgs,
  type RollingMomentsResult,
  type SgemmArgs,
} from '@cwts/core';
import {
  describeValue,
  isDeviceBufferLike,
  portfolioExposure,
  prepareMonteCarloVaR,
  requireFloat32Scalar,
  requireHostF32,
  requireInt,
  requireProduct,
  viewsOverlap,
} from '@cwts/core/compute';
import { HostArrayCallOrder, type HostRead } from '@cwts/core/compute';
import type { NativeContext, NativeDeviceInfo, NativeF32 } from './native.js';

export const VULKAN_BACKEND_NAME = 'vulkan';
const MAX_U32 = 0xffffffff;

/** Any Vulkan failure that is not an argument error. `code` is the native code (VULKAN_*). */
export class VulkanError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = 'VulkanError';
  }
}

/** The device was lost (or hung past kernelTimeoutMs): the backend is unavailable for good. */
export class VulkanDeviceLostError extends VulkanError {
  constructor(message: string) {
    super(message, 'VULKAN_DEVICE_LOST');
    this.name = 'VulkanDeviceLostError';
  }
}

/** A device allocation failed (or passed memoryLimitBytes). The backend stays usable. */
export class VulkanOutOfMemoryError extends VulkanError {
  constructor(message: string) {
    super(message, 'VULKAN_OUT_OF_MEMORY');
    this.name = 'VulkanOutOfMemoryError';
  }
}

class VulkanBuffer implements DeviceBuffer {
  readonly backend = VULKAN_BACKEND_NAME;
  constructor(readonly id: number, readonly byteLength: number) {
    Object.freeze(this);
  }
}

// Argument checks shared with every backend (core), so all reject the same calls the same way.
const describe = describeValue;
const int = (kernel: string, name: string, v: unknown, min = 1, max = MAX_U32): number => requireInt(kernel, name, v, min, max);
const hostF32 = (kernel: string, name: string, v: unknown, count: number): Float32Array => requireHostF32(kernel, name, v, count);
const product = requireProduct;

function u8(view: ArrayBufferView): Uint8Array {
  return view instanceof Uint8Array ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** A host Float32Array argument as a read of its first `count` elements (none for a DeviceBuffer id). */
function hostRead(name: string, arg: NativeF32, count: number): HostRead[] {
  return arg instanceof Float32Array ? [{ name, view: arg.subarray(0, count) }] : [];
}

/** The input standing for `arg` at the call's turn: the `inputs` entry of its read, else `arg` (a buffer id, an array not read). */
function inputFor(arg: NativeF32, reads: readonly HostRead[], inputs: readonly ArrayBufferView[], name: string): NativeF32 {
  const i = reads.findIndex((r) => r.name === name);
  return i < 0 ? arg : (inputs[i] as Float32Array);
}

export interface VulkanBackendOptions {
  /** Called once when the backend becomes unavailable (device lost or hung). */
  onUnavailable?: (reason: string) => void;
  /** Called by dispose() with the pipeline cache bytes (to persist them). */
  savePipelineCache?: (data: Buffer) => void;
}

/**
 * The Vulkan ComputeBackend over a native context. Argument checking happens here (the same
 * rules as the reference backend, failing with ComputeArgumentError); the native side records,
 * submits and completes.
 */
export class VulkanBackend implements ComputeBackend {
  readonly name = VULKAN_BACKEND_NAME;
  readonly capabilities: BackendCapabilities;
  readonly device: DeviceFacts;
  /** What the native side chose from the device limits (workgroup sizes, tiles, ...). */
  readonly info: NativeDeviceInfo;
  private readonly live = new Map<DeviceBuffer, number>();
  private readonly pending = new Set<Promise<unknown>>();
  /** Calls that meet through host arrays run as if one after the other (call-order.ts). */
  private readonly order = new HostArrayCallOrder();
  private unavailable?: string;
  private disposed = false;

  constructor(private readonly ctx: NativeContext, private readonly options: VulkanBackendOptions = {}) {
    const info = ctx.info();
    this.info = info;
    this.capabilities = Object.freeze({
      kernels: ALL_KERNELS,
      syncKernels: false,
      deviceMemory: true,
      maxBufferBytes: info.maxBufferBytes,
      // The shaders are float32 (shaderFloat64 is optional in Vulkan and slow or absent on most GPUs).
      float64: false,
    });
    this.device = Object.freeze({
      name: info.name,
      type: info.type,
      driver: [info.driverName, info.driverInfo].filter(Boolean).join(' '),
      memoryBytes: info.memoryBytes,
      details: {
        api: `Vulkan ${info.apiVersion}`,
        deviceIndex: info.index,
        vendorId: `0x${info.vendorId.toString(16)}`,
        subgroupSize: info.subgroupSize,
        subgroupArithmetic: info.subgroupArithmetic,
        workgroupSize: info.workgroupSize,
        sgemm: `${info.sgemmVariant} ${info.sgemmTile}`,
        maxBufferBytes: info.maxBufferBytes,
        maxSharedMemory: info.maxComputeSharedMemorySize,
        unifiedMemory: info.unifiedMemory,
        timestamps: info.timestamps,
        validation: info.validation,
        loopIterationBudget: info.loopIterationBudget,
      },
    });
  }

  /** False once the device was lost; `unavailableReason` says why. */
  get available(): boolean {
    return this.unavailable === undefined && !this.disposed;
  }

  get unavailableReason(): string | undefined {
    return this.unavailable;
  }

  /** Device time of the most recently completed timed submission, in ns (-1 before any). */
  get lastKernelTimeNs(): number {
    return this.ctx.lastKernelNs;
  }

  /** Validation-layer messages seen so far (validation enabled only). */
  get validationMessages(): number {
    return this.ctx.validationMessages;
  }

  /** Bytes of device memory this backend holds (buffers, pooled temporaries). */
  get memoryInUse(): number {
    return this.ctx.memoryInUse;
  }

  /** Test hook: behave as if the device was lost. */
  simulateDeviceLoss(reason = 'simulated device loss'): void {
    this.ctx.simulateDeviceLost(reason);
  }

  // ------------------------------------------------------------------------------ buffers
  createBuffer(byteLength: number): DeviceBuffer {
    this.checkUsable('createBuffer');
    int('createBuffer', 'byteLength', byteLength, 1, this.capabilities.maxBufferBytes);
    let id: number;
    try {
      id = this.ctx.createBuffer(byteLength);
    } catch (e) {
      throw this.translate('createBuffer', e);
    }
    const buf = new VulkanBuffer(id, byteLength);
    this.live.set(buf, id);
    return buf;
  }

  freeBuffer(buffer: DeviceBuffer): void {
    const id = this.idOf('freeBuffer', 'buffer', buffer);
    this.live.delete(buffer);
    // At once for later calls (the buffer is no longer live); calls made before still waiting
    // for their turn (call-order.ts) are recorded first, on the buffer's memory.
    if (!this.disposed) this.order.afterWaitingCalls(() => this.ctx.freeBuffer(id));
  }

  upload(dst: DeviceBuffer, src: ArrayBufferView, dstOffsetBytes = 0): Promise<void> {
    return this.run('upload', () => {
      const id = this.idOf('upload', 'dst', dst);
      if (!ArrayBuffer.isView(src)) throw new ComputeArgumentError('upload', `src must be an ArrayBufferView, got ${describe(src)}`);
      int('upload', 'dstOffsetBytes', dstOffsetBytes, 0, Number.MAX_SAFE_INTEGER);
      if (dstOffsetBytes + src.byteLength > dst.byteLength) {
        throw new ComputeArgumentError('upload', `${src.byteLength} bytes at offset ${dstOffsetBytes} exceed the buffer's ${dst.byteLength} bytes`);
      }
      return this.order.submit('upload', [{ name: 'src', view: u8(src) }], [], ([bytes]) => this.ctx.upload(id, bytes as Uint8Array, dstOffsetBytes));
    });
  }

  download(src: DeviceBuffer, dst: ArrayBufferView, srcOffsetBytes = 0): Promise<void> {
    return this.run('download', () => {
      const id = this.idOf('download', 'src', src);
      if (!ArrayBuffer.isView(dst)) throw new ComputeArgumentError('download', `dst must be an ArrayBufferView, got ${describe(dst)}`);
      int('download', 'srcOffsetBytes', srcOffsetBytes, 0, Number.MAX_SAFE_INTEGER);
      if (srcOffsetBytes + dst.byteLength > src.byteLength) {
        throw new ComputeArgumentError('download', `${dst.byteLength} bytes at offset ${srcOffsetBytes} exceed the buffer's ${src.byteLength} bytes`);
      }
      const bytes = u8(dst);
      return this.order.submit('download', [], [bytes], () => this.ctx.download(id, bytes, srcOffsetBytes));
    });
  }

  copy(src: DeviceBuffer, dst: DeviceBuffer, byteLength: number): Promise<void> {
    return this.run('copy', () => {
      const s = this.idOf('copy', 'src', src);
      const d = this.idOf('copy', 'dst', dst);
      if (s === d) throw new ComputeArgumentError('copy', 'src and dst are the same buffer');
      int('copy', 'byteLength', byteLength, 1, Math.min(src.byteLength, dst.byteLength));
      return this.order.submit('copy', [], [], () => this.ctx.copy(s, d, byteLength));
    });
  }

  noop(): Promise<void> {
    return this.run('noop', () => this.order.submit('noop', [], [], () => this.ctx.noop()));
  }

  // ------------------------------------------------------------------------------ kernels
  patternScores(args: PatternScoresArgs): Promise<PatternScoresResult> {
    const K = 'patternScores';
    return this.run(K, async () => {
      if (args === null || typeof args !== 'object') throw new ComputeArgumentError(K, 'arguments object is required');
      const storedCount = int(K, 'storedCount', args.storedCount);
      const dim = int(K, 'dim', args.dim);
      const queryCount = int(K, 'queryCount', args.queryCount);
      const topK = int(K, 'topK', args.topK);
      if (topK > storedCount) throw new ComputeArgumentError(K, `topK must be in [1, storedCount = ${storedCount}], got ${topK}`);
      const storedLen = product(K, 'storedCount x dim', storedCount, dim);
      const queryLen = product(K, 'queryCount x dim', queryCount, dim);
      const outLen = product(K, 'queryCount x topK', queryCount, topK);
      const scoresLen = product(K, 'queryCount x storedCount', queryCount, storedCount);
      this.fits(K, 'storedCount x dim', storedLen);
      this.fits(K, 'queryCount x dim', queryLen);
      this.fits(K, 'queryCount x storedCount (the score matrix)', scoresLen);
      const stored = this.f32(K, 'stored', args.stored, storedLen);
      const queries = this.f32(K, 'queries', args.queries, queryLen);
      let indices: Int32Array;
      let scores: Float32Array;
      const writes: ArrayBufferView[] = [];
      if (args.out !== undefined) {
        if (args.out === null || typeof args.out !== 'object') throw new ComputeArgumentError(K, 'out must be { indices, scores }');
        if (!(args.out.indices instanceof Int32Array)) throw new ComputeArgumentError(K, `out.indices must be an Int32Array, got ${describe(args.out.indices)}`);
        if (args.out.indices.length < outLen) throw new ComputeArgumentError(K, `out.indices has ${args.out.indices.length} elements, needs at least ${outLen}`);
        indices = args.out.indices;
        scores = hostF32(K, 'out.scores', args.out.scores, outLen);
        // The oracle's rule (core's preparePatternScores): the scores' bits must not come back as indices.
        if (viewsOverlap(indices, outLen, scores, outLen)) throw new ComputeArgumentError(K, 'out.indices and out.scores overlap');
        writes.push(indices.subarray(0, outLen), scores.subarray(0, outLen));
      } else {
        indices = new Int32Array(outLen);
        scores = new Float32Array(outLen);
      }
      const allScores = args.returnAllScores ? new Float32Array(scoresLen) : undefined;
      const reads = [...hostRead('stored', stored, storedLen), ...hostRead('queries', queries, queryLen)];
      return this.order.submit(K, reads, writes, async (inputs) => {
        const s = inputFor(stored, reads, inputs, 'stored');
        const q = inputFor(queries, reads, inputs, 'queries');
        await this.ctx.patternScores(s, storedCount, dim, q, queryCount, topK, indices, scores, allScores);
        return allScores ? { indices, scores, allScores } : { indices, scores };
      });
    });
  }

  rollingMoments(args: RollingMomentsArgs): Promise<RollingMomentsResult> {
    const K = 'rollingMoments';
    return this.run(K, async () => {
      if (args === null || typeof args !== 'object') throw new ComputeArgumentError(K, 'arguments object is required');
      const length = int(K, 'length', args.length);
      const window = int(K, 'window', args.window);
      if (window > length) throw new ComputeArgumentError(K, `window must be in [1, length = ${length}], got ${window}`);
      this.fits(K, 'length', length);
      const series = this.f32(K, 'series', args.series, length);
      const n = length - window + 1;
      let mean: Float32Array;
      let variance: Float32Array;
      const writes: ArrayBufferView[] = [];
      if (args.out !== undefined) {
        if (args.out === null || typeof args.out !== 'object') throw new ComputeArgumentError(K, 'out must be { mean, variance }');
        mean = hostF32(K, 'out.mean', args.out.mean, n);
        variance = hostF32(K, 'out.variance', args.out.variance, n);
        if (viewsOverlap(mean, n, variance, n)) throw new ComputeArgumentError(K, 'out.mean and out.variance overlap');
        // The oracle's rule (core's prepareRollingMoments): outputs must not alias the series.
        if (series instanceof Float32Array && (viewsOverlap(mean, n, series, length) || viewsOverlap(variance, n, series, length))) {
          throw new ComputeArgumentError(K, 'out arrays must not overlap the series');
        }
        writes.push(mean.subarray(0, n), variance.subarray(0, n));
      } else {
        mean = new Float32Array(n);
        variance = new Float32Array(n);
      }
      const reads = hostRead('series', series, length);
      return this.order.submit(K, reads, writes, async (inputs) => {
        await this.ctx.rollingMoments(inputFor(series, reads, inputs, 'series'), length, window, mean, variance);
        return { mean, variance };
      });
    });
  }

  monteCarloVaR(args: MonteCarloVaRArgs): Promise<MonteCarloVaRResult> {
    const K = 'monteCarloVaR';
    return this.run(K, async () => {
      // The portfolio is folded on the host, so its arrays are read at the call's turn: one an
      // earlier call still in flight writes (a factor computed by sgemm) is read once written,
      // and the argument checks (all finite, the oracle's own rules) see what is used.
      const arrays = args !== null && typeof args === 'object' ? args : undefined;
      const reads = (['means', 'factor', 'weights'] as const).flatMap((name) => {
        const v: unknown = arrays?.[name];
        return v instanceof Float32Array ? [{ name, view: v }] : [];
      });
      return this.order.submit(K, reads, [], async (inputs) => {
        const atTurn: MonteCarloVaRArgs | undefined = arrays && {
          means: arrays.means,
          factor: arrays.factor,
          assets: arrays.assets,
          factors: arrays.factors,
          weights: arrays.weights,
          paths: arrays.paths,
          horizon: arrays.horizon,
          confidence: arrays.confidence,
          seed: arrays.seed,
        };
        if (atTurn) reads.forEach((r, i) => (atTurn[r.name] = inputs[i] as Float32Array));
        // The oracle's own argument rules, so every backend rejects exactly the same calls.
        const prepared = prepareMonteCarloVaR(atTurn as MonteCarloVaRArgs);
        const { factors, paths, horizon, confidence, seedLo, seedHi } = prepared;
        this.fits(K, 'paths', paths);
        // Drift and factor exposure in float64 on the host; the device draws the normals.
        const { drift, exposure: v } = portfolioExposure(prepared);
        const r = await this.ctx.monteCarlo(Float32Array.from(v), factors, paths, horizon, seedLo, seedHi, drift, confidence);
        return { var: r.var, cvar: r.cvar, meanLoss: r.meanLoss, stdLoss: r.stdLoss, paths };
      });
    });
  }

  sgemm(args: SgemmArgs): Promise<void> {
    const K = 'sgemm';
    return this.run(K, async () => {
      if (args === null || typeof args !== 'object') throw new ComputeArgumentError(K, 'arguments object is required');
      const m = int(K, 'm', args.m);
      const n = int(K, 'n', args.n);
      const k = int(K, 'k', args.k);
      // a float32 kernel's scalars, as every backend checks them (docs/writing-a-compute-backend.md)
      const alpha = args.alpha === undefined ? 1 : requireFloat32Scalar(K, 'alpha', args.alpha);
      const beta = args.beta === undefined ? 0 : requireFloat32Scalar(K, 'beta', args.beta);
      const aLen = product(K, 'm x k', m, k);
      const bLen = product(K, 'k x n', k, n);
      const cLen = product(K, 'm x n', m, n);
      for (const [what, len] of [['m x k', aLen], ['k x n', bLen], ['m x n', cLen]] as const) this.fits(K, what, len);
      const a = this.f32(K, 'a', args.a, aLen);
      const b = this.f32(K, 'b', args.b, bLen);
      const c = this.f32(K, 'c', args.c, cLen);
      // The oracle's rule (core's prepareSgemm): C must not overlap A or B, whether they are the
      // same DeviceBuffer or host views over overlapping bytes.
      const same = (x: unknown, y: unknown): boolean => isDeviceBufferLike(x) && x === y;
      const hostOverlap = (x: NativeF32, xLen: number, y: NativeF32, yLen: number): boolean =>
        x instanceof Float32Array && y instanceof Float32Array && viewsOverlap(x, xLen, y, yLen);
      if (same(args.c, args.a) || hostOverlap(c, cLen, a, aLen)) throw new ComputeArgumentError(K, 'c must not overlap a');
      if (same(args.c, args.b) || hostOverlap(c, cLen, b, bLen)) throw new ComputeArgumentError(K, 'c must not overlap b');
      // BLAS: alpha = 0 reads neither A nor B, beta = 0 does not read C.
      const reads = [
        ...(alpha !== 0 ? [...hostRead('a', a, aLen), ...hostRead('b', b, bLen)] : []),
        ...(beta !== 0 ? hostRead('c', c, cLen) : []),
      ];
      const writes = c instanceof Float32Array ? [c.subarray(0, cLen)] : [];
      return this.order.submit(K, reads, writes, async (inputs) => {
        const cIn = beta !== 0 ? inputFor(c, reads, inputs, 'c') : c;
        await this.ctx.sgemm(m, n, k, alpha, beta, inputFor(a, reads, inputs, 'a'), inputFor(b, reads, inputs, 'b'), c, cIn);
      });
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.allSettled([...this.pending]);
    if (this.options.savePipelineCache && this.unavailable === undefined) {
      try {
        const data = this.ctx.pipelineCacheData();
        if (data) this.options.savePipelineCache(data);
      } catch {
        // a cache that cannot be saved is only a slower next start
      }
    }
    this.live.clear();
    this.ctx.destroy();
  }

  // ------------------------------------------------------------------------------ internals
  private checkUsable(kernel: string): void {
    if (this.disposed) throw new VulkanError(`${kernel}: the vulkan backend was disposed`, 'VULKAN_DISPOSED');
    if (this.unavailable !== undefined) throw new VulkanDeviceLostError(`${kernel}: the vulkan backend is unavailable: ${this.unavailable}`);
  }

  private idOf(kernel: string, name: string, buf: unknown): number {
    const id = buf !== null && typeof buf === 'object' ? this.live.get(buf as DeviceBuffer) : undefined;
    if (id === undefined) {
      const b = buf as Partial<DeviceBuffer> | null;
      const why =
        b && typeof b === 'object' && 'backend' in b
          ? b.backend !== this.name
            ? `belongs to backend '${b.backend}'`
            : 'was freed or belongs to another vulkan backend instance'
          : `is not a DeviceBuffer (${describe(buf)})`;
      throw new ComputeArgumentError(kernel, `${name} ${why}`);
    }
    return id;
  }

  private f32(kernel: string, name: string, arg: F32Arg, count: number): NativeF32 {
    if (arg instanceof Float32Array) return hostF32(kernel, name, arg, count);
    const id = this.idOf(kernel, name, arg);
    if (arg.byteLength < count * 4) {
      throw new ComputeArgumentError(kernel, `${name} buffer holds ${arg.byteLength} bytes, needs at least ${count * 4} (${count} floats)`);
    }
    return id;
  }

  private fits(kernel: string, what: string, floats: number): void {
    if (floats * 4 > this.capabilities.maxBufferBytes) {
      throw new ComputeArgumentError(kernel, `${what} = ${floats} floats exceeds this device's largest buffer (${this.capabilities.maxBufferBytes} bytes)`);
    }
  }

  private run<T>(kernel: string, body: () => Promise<T>): Promise<T> {
    let p: Promise<T>;
    try {
      this.checkUsable(kernel);
      p = body();
    } catch (e) {
      return Promise.reject(this.translate(kernel, e));
    }
    const tracked = p.catch((e: unknown) => {
      throw this.translate(kernel, e);
    });
    this.pending.add(tracked);
    const done = (): void => {
      this.pending.delete(tracked);
    };
    tracked.then(done, done);
    return tracked;
  }

  private translate(kernel: string, e: unknown): unknown {
    if (!(e instanceof Error) || e instanceof ComputeArgumentError || e instanceof VulkanError) return e;
    const code = (e as Error & { code?: string }).code;
    switch (code) {
      case 'VULKAN_DEVICE_LOST': {
        this.markUnavailable(e.message);
        return new VulkanDeviceLostError(`${kernel}: ${e.message}`);
      }
      case 'VULKAN_OUT_OF_MEMORY':
        return new VulkanOutOfMemoryError(`${kernel}: ${e.message}`);
      case 'VULKAN_BAD_ARGUMENT':
      case 'VULKAN_BAD_BUFFER':
        return new ComputeArgumentError(kernel, e.message);
      case undefined:
        return e;
      default:
        return new VulkanError(`${kernel}: ${e.message}`, code);
    }
  }

  private markUnavailable(reason: string): void {
    if (this.unavailable !== undefined) return;
    this.unavailable = reason;
    try {
      this.options.onUnavailable?.(reason);
    } catch {
      // a listener's failure must not hide the device error
    }
  }
}

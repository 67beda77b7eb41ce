/**
 * The ComputeBackend shared by the CUDA and ROCm packages, over the native context both compile
 * from one source. Argument rules are core's (prepare* and require* from @cwts/core), so these
 * backends reject exactly the calls the JS oracle rejects, with the same messages; the native
 * side enqueues on one stream in call order and settles each promise from an event. Calls that
 * meet through host arrays (one reads what an earlier, un-awaited one writes) are ordered here,
 * before they reach the stream (HostArrayCallOrder, @cwts/core/compute).
 */
import {
  ALL_KERNELS,
  ComputeArgumentError,
  type BackendCapabilities,
  type ComputeBackend,
  type DeviceBuffer,
  type DeviceFacts,
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
  preparePatternScores,
  prepareRollingMoments,
  prepareSgemm,
  type PreparedSgemm,
  requireHostF32,
  requireInt,
} from '@cwts/core/compute';
import { HostArrayCallOrder, type HostRead } from '@cwts/core/compute';
import type { NativeF32, NativeGpuContext, NativeGpuInfo } from './native.js';

/** Any device failure that is not an argument error. `code` is the native code (CUDA_* / HIP_*). */
export class GpuBackendError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = 'GpuBackendError';
  }
}

/** A device allocation failed. The backend stays usable. */
export class GpuOutOfMemoryError extends GpuBackendError {
  constructor(message: string, code: string) {
    super(message, code);
    this.name = 'GpuOutOfMemoryError';
  }
}

class GpuBuffer implements DeviceBuffer {
  constructor(readonly backend: string, readonly id: number, readonly byteLength: number) {
    Object.freeze(this);
  }
}

function u8(view: ArrayBufferView): Uint8Array {
  return view instanceof Uint8Array ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** A host Float32Array argument as a read of its first `count` elements (none for a DeviceBuffer id). */
function hostRead(name: string, arg: NativeF32, count: number): HostRead[] {
  return arg instanceof Float32Array ? [{ name, view: arg.subarray(0, count) }] : [];
}

/**
 * What stands for `arg` at the call's turn: `arg` itself when its read took it as it is (no wait,
 * or not a read: a buffer id), else the copy that holds the bytes an earlier call wrote.
 */
function inputFor(arg: NativeF32, name: string, reads: readonly HostRead[], inputs: readonly ArrayBufferView[]): NativeF32 {
  const i = reads.findIndex((r) => r.name === name);
  return i < 0 || inputs[i] === reads[i]!.view ? arg : (inputs[i] as Float32Array);
}

/** Device facts from the native info (pure; tested without a device). */
export function gpuDeviceFacts(info: NativeGpuInfo): DeviceFacts {
  return {
    name: info.name,
    type: info.integrated ? 'integrated-gpu' : 'discrete-gpu',
    driver: `${info.api} driver ${formatVersion(info.api, info.driverVersion)}, runtime ${formatVersion(info.api, info.runtimeVersion)}`,
    memoryBytes: info.memoryBytes,
    computeUnits: info.computeUnits,
    details: {
      deviceIndex: info.index,
      arch: info.arch,
      warpSize: info.warpSize,
      l2CacheBytes: info.l2CacheBytes,
      memoryBusWidth: info.memoryBusWidth,
      sgemm: 'own tiled kernel (128x128x8, 8x8 per thread)',
      vendorBlas: info.vendorBlas ?? `none (${info.vendorBlasReason})`,
    },
  };
}

/**
 * 13000 -> "13.0" (CUDA encodes 1000 * major + 10 * minor; HIP 10^7 * major + 10^5 * minor +
 * patch; Metal reports the Metal family number as is).
 */
export function formatVersion(api: 'CUDA' | 'HIP' | 'Metal', v: number): string {
  if (!Number.isFinite(v) || v <= 0) return 'none';
  if (api === 'Metal') return String(v);
  if (api === 'CUDA') return `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
  return `${Math.floor(v / 10_000_000)}.${Math.floor((v % 10_000_000) / 100_000)}.${v % 100_000}`;
}

export class GpuComputeBackend implements ComputeBackend {
  readonly capabilities: BackendCapabilities;
  readonly device: DeviceFacts;
  readonly info: NativeGpuInfo;
  readonly #live = new Map<DeviceBuffer, number>();
  /** Zero-length stand-ins core's prepare* return for our DeviceBuffers, mapped to buffer ids. */
  readonly #markers = new WeakMap<Float32Array, number>();
  readonly #pending = new Set<Promise<unknown>>();
  /** Calls that meet through host arrays run as if one after the other (HostArrayCallOrder, @cwts/core/compute). */
  readonly #order = new HostArrayCallOrder();
  #disposed = false;

  constructor(readonly name: string, private readonly ctx: NativeGpuContext) {
    this.info = ctx.info();
    this.capabilities = Object.freeze({ kernels: ALL_KERNELS, syncKernels: false, deviceMemory: true, maxBufferBytes: this.info.maxBufferBytes, float64: false });
    this.device = Object.freeze(gpuDeviceFacts(this.info));
  }

  /** Bytes of device and pinned memory this backend holds (buffers and pooled staging). */
  get memoryInUse(): number {
    return this.ctx.memoryInUse;
  }

  /** The native context, for benchmarks (benchLaunch, benchSgemm, benchCopy) and the vendor BLAS comparison. */
  get native(): NativeGpuContext {
    return this.ctx;
  }

  // ------------------------------------------------------------------------------ buffers
  createBuffer(byteLength: number): DeviceBuffer {
    this.#usable('createBuffer');
    requireInt('createBuffer', 'byteLength', byteLength, 1, this.capabilities.maxBufferBytes);
    let id: number;
    try {
      id = this.ctx.createBuffer(byteLength);
    } catch (e) {
      throw this.#translate('createBuffer', e);
    }
    const buf = new GpuBuffer(this.name, id, byteLength);
    this.#live.set(buf, id);
    return buf;
  }

  freeBuffer(buffer: DeviceBuffer): void {
    const id = this.#idOf('freeBuffer', 'buffer', buffer);
    this.#live.delete(buffer);
    // At once for later calls (the buffer is no longer live); calls made before it and still
    // waiting for their turn (HostArrayCallOrder, @cwts/core/compute) are enqueued first, on the buffer's memory.
    if (!this.#disposed) this.#order.afterWaitingCalls(() => this.ctx.freeBuffer(id));
  }

  upload(dst: DeviceBuffer, src: ArrayBufferView, dstOffsetBytes = 0): Promise<void> {
    return this.#run('upload', () => {
      const id = this.#idOf('upload', 'dst', dst);
      if (!ArrayBuffer.isView(src)) throw new ComputeArgumentError('upload', `src must be a typed array or DataView, got ${describeValue(src)}`);
      const off = requireInt('upload', 'dstOffsetBytes', dstOffsetBytes, 0);
      if (off + src.byteLength > dst.byteLength) {
        throw new ComputeArgumentError('upload', `${src.byteLength} bytes at offset ${off} do not fit buffer #${dst.id} of ${dst.byteLength} bytes`);
      }
      return this.#order.submit('upload', [{ name: 'src', view: u8(src) }], [], ([bytes]) => this.ctx.upload(id, bytes as Uint8Array, off));
    });
  }

  download(src: DeviceBuffer, dst: ArrayBufferView, srcOffsetBytes = 0): Promise<void> {
    return this.#run('download', () => {
      const id = this.#idOf('download', 'src', src);
      if (!ArrayBuffer.isView(dst)) throw new ComputeArgumentError('download', `dst must be a typed array or DataView, got ${describeValue(dst)}`);
      const off = requireInt('download', 'srcOffsetBytes', srcOffsetBytes, 0);
      if (off + dst.byteLength > src.byteLength) {
        throw new ComputeArgumentError('download', `${dst.byteLength} bytes at offset ${off} exceed buffer #${src.id} of ${src.byteLength} bytes`);
      }
      const bytes = u8(dst);
      return this.#order.submit('download', [], [bytes], () => this.ctx.download(id, bytes, off));
    });
  }

  copy(src: DeviceBuffer, dst: DeviceBuffer, byteLength: number): Promise<void> {
    return this.#run('copy', () => {
      const s = this.#idOf('copy', 'src', src);
      const d = this.#idOf('copy', 'dst', dst);
      if (s === d) throw new ComputeArgumentError('copy', 'src and dst are the same buffer');
      requireInt('copy', 'byteLength', byteLength, 1, Math.min(src.byteLength, dst.byteLength));
      return this.#order.submit('copy', [], [], () => this.ctx.copy(s, d, byteLength));
    });
  }

  noop(): Promise<void> {
    return this.#run('noop', () => this.#order.submit('noop', [], [], () => this.ctx.noop()));
  }

  // ------------------------------------------------------------------------------ kernels
  patternScores(args: PatternScoresArgs): Promise<PatternScoresResult> {
    const K = 'patternScores';
    return this.#run(K, async () => {
      const p = preparePatternScores(args, this.#resolve);
      this.#fits(K, 'storedCount x dim', p.storedCount * p.dim);
      this.#fits(K, 'queryCount x dim', p.queryCount * p.dim);
      this.#fits(K, 'queryCount x storedCount (the score matrix)', p.queryCount * p.storedCount);
      const outLen = p.queryCount * p.topK;
      const indices = p.out?.indices ?? new Int32Array(outLen);
      const scores = p.out?.scores ?? new Float32Array(outLen);
      const allScores = p.returnAllScores ? new Float32Array(p.queryCount * p.storedCount) : undefined;
      const stored = this.#native(p.stored);
      const queries = this.#native(p.queries);
      const reads = [...hostRead('stored', stored, p.storedCount * p.dim), ...hostRead('queries', queries, p.queryCount * p.dim)];
      const writes = p.out ? [indices.subarray(0, outLen), scores.subarray(0, outLen)] : [];
      return this.#order.submit(K, reads, writes, async (inputs) => {
        const s = inputFor(stored, 'stored', reads, inputs);
        const q = inputFor(queries, 'queries', reads, inputs);
        await this.ctx.patternScores(s, p.storedCount, p.dim, q, p.queryCount, p.topK, indices, scores, allScores);
        return allScores ? { indices, scores, allScores } : { indices, scores };
      });
    });
  }

  rollingMoments(args: RollingMomentsArgs): Promise<RollingMomentsResult> {
    const K = 'rollingMoments';
    return this.#run(K, async () => {
      const p = prepareRollingMoments(args, this.#resolve);
      this.#fits(K, 'length', p.length);
      const mean = p.out?.mean ?? new Float32Array(p.outputs);
      const variance = p.out?.variance ?? new Float32Array(p.outputs);
      const series = this.#native(p.series);
      const reads = hostRead('series', series, p.length);
      const writes = p.out ? [mean.subarray(0, p.outputs), variance.subarray(0, p.outputs)] : [];
      return this.#order.submit(K, reads, writes, async (inputs) => {
        await this.ctx.rollingMoments(inputFor(series, 'series', reads, inputs), p.length, p.window, mean, variance);
        return { mean, variance };
      });
    });
  }

  monteCarloVaR(args: MonteCarloVaRArgs): Promise<MonteCarloVaRResult> {
    const K = 'monteCarloVaR';
    return this.#run(K, async () => {
      // The portfolio is folded on the host, so its arrays are read at the call's turn: one an
      // earlier call still in flight writes (a factor computed by sgemm) is read once written,
      // and the argument checks (all finite, the oracle's own rules) see what is used.
      const given = args !== null && typeof args === 'object' ? args : undefined;
      const reads = (['means', 'factor', 'weights'] as const).flatMap((name): HostRead[] => {
        const v: unknown = given?.[name];
        return v instanceof Float32Array ? [{ name, view: v }] : [];
      });
      return this.#order.submit(K, reads, [], async (inputs) => {
        const atTurn: MonteCarloVaRArgs | undefined = given && {
          means: given.means,
          factor: given.factor,
          assets: given.assets,
          factors: given.factors,
          weights: given.weights,
          paths: given.paths,
          horizon: given.horizon,
          confidence: given.confidence,
          seed: given.seed,
        };
        if (atTurn) reads.forEach((r, i) => (atTurn[r.name as 'means' | 'factor' | 'weights'] = inputs[i] as Float32Array));
        const p = prepareMonteCarloVaR(atTurn as MonteCarloVaRArgs);
        // Losses are float64 on the device (8 bytes per path).
        this.#fits(K, 'paths (float64 losses)', p.paths * 2);
        const { drift, exposure } = portfolioExposure(p);
        const varIndex = Math.ceil(p.confidence * p.paths) - 1;
        const r = await this.ctx.monteCarlo(exposure, p.factors, p.paths, p.horizon, p.seedLo, p.seedHi, drift, varIndex);
        return { var: r.var, cvar: r.cvar, meanLoss: r.meanLoss, stdLoss: r.stdLoss, paths: p.paths };
      });
    });
  }

  sgemm(args: SgemmArgs): Promise<void> {
    const K = 'sgemm';
    return this.#run(K, async () => {
      const p = prepareSgemm(args, this.#resolve, (x, y) => isDeviceBufferLike(x) && x === y);
      this.#fits(K, 'm x k', p.m * p.k);
      this.#fits(K, 'k x n', p.k * p.n);
      this.#fits(K, 'm x n', p.m * p.n);
      // BLAS: alpha = 0 reads neither A nor B (the native side only scales C).
      return this.#sgemmInOrder(p, p.alpha !== 0, (a, b, c) => this.ctx.sgemm(p.m, p.n, p.k, p.alpha, p.beta, a, b, c));
    });
  }

  /**
   * The vendor BLAS (cuBLAS) on the same arguments, for comparing against our kernel in one run.
   * Rejects with code *_NO_VENDOR_BLAS where none was loaded (`info.vendorBlasReason`).
   */
  vendorSgemm(args: SgemmArgs): Promise<void> {
    const K = 'sgemm';
    return this.#run(K, async () => {
      const p = prepareSgemm(args, this.#resolve, (x, y) => isDeviceBufferLike(x) && x === y);
      // The vendor's rules for alpha = 0 are its own: A and B are treated as read.
      return this.#sgemmInOrder(p, true, (a, b, c) => this.ctx.sgemmVendor(p.m, p.n, p.k, p.alpha, p.beta, a, b, c));
    });
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await Promise.allSettled([...this.#pending]);
    this.#live.clear();
    this.ctx.destroy();
  }

  // ------------------------------------------------------------------------------ internals
  /**
   * Runs one prepared sgemm in call order (HostArrayCallOrder, @cwts/core/compute). The native side reads a host C when
   * called (beta != 0) and writes it at completion; when C holds bytes an earlier call still
   * writes, it is read at the call's turn into a copy, which the native call computes in, and
   * the result is copied into the caller's C on completion (after the same check the native
   * side makes: still attached, still long enough).
   */
  #sgemmInOrder(p: PreparedSgemm, readsAB: boolean, run: (a: NativeF32, b: NativeF32, c: NativeF32) => Promise<void>): Promise<void> {
    const [a, b, c] = [this.#native(p.a), this.#native(p.b), this.#native(p.c)];
    const cLen = p.m * p.n;
    const reads = [
      ...(readsAB ? [...hostRead('a', a, p.m * p.k), ...hostRead('b', b, p.k * p.n)] : []),
      ...(p.beta !== 0 ? hostRead('c', c, cLen) : []),
    ];
    const writes = c instanceof Float32Array ? [c.subarray(0, cLen)] : [];
    return this.#order.submit('sgemm', reads, writes, async (inputs) => {
      const cIn = inputFor(c, 'c', reads, inputs);
      await run(inputFor(a, 'a', reads, inputs), inputFor(b, 'b', reads, inputs), cIn);
      if (cIn !== c) {
        const caller = c as Float32Array;
        if (caller.length < cLen) throw new ComputeArgumentError('sgemm', 'c was detached (its ArrayBuffer was transferred) or shrank while the call was in flight; the results were discarded');
        caller.set((cIn as Float32Array).subarray(0, cLen));
      }
    });
  }

  readonly #resolve = (kernel: string, name: string, arg: unknown, count: number, what?: string): Float32Array => {
    if (arg instanceof Float32Array) return requireHostF32(kernel, name, arg, count, what);
    const id = this.#idOf(kernel, name, arg);
    const buf = arg as DeviceBuffer;
    if (buf.byteLength < count * 4) {
      throw new ComputeArgumentError(kernel, `${name} buffer holds ${buf.byteLength} bytes, needs at least ${count * 4} (${count} floats${what ? `, ${what}` : ''})`);
    }
    const marker = new Float32Array(0);
    this.#markers.set(marker, id);
    return marker;
  };

  #native(x: Float32Array): NativeF32 {
    return this.#markers.get(x) ?? x;
  }

  #usable(kernel: string): void {
    if (this.#disposed) throw new GpuBackendError(`${kernel}: the ${this.name} backend was disposed`, `${this.info.api}_DISPOSED`);
  }

  #idOf(kernel: string, name: string, buf: unknown): number {
    const id = buf !== null && typeof buf === 'object' ? this.#live.get(buf as DeviceBuffer) : undefined;
    if (id === undefined) {
      const why = isDeviceBufferLike(buf)
        ? buf.backend !== this.name
          ? `belongs to backend '${buf.backend}'`
          : `was freed or belongs to another ${this.name} backend instance`
        : `must be a Float32Array or a DeviceBuffer, got ${describeValue(buf)}`;
      throw new ComputeArgumentError(kernel, `${name} ${why}`);
    }
    return id;
  }

  #fits(kernel: string, what: string, floats: number): void {
    if (floats * 4 > this.capabilities.maxBufferBytes) {
      throw new ComputeArgumentError(kernel, `${what} = ${floats} floats exceeds this device's memory (${this.capabilities.maxBufferBytes} bytes)`);
    }
  }

  #run<T>(kernel: string, body: () => Promise<T>): Promise<T> {
    let p: Promise<T>;
    try {
      this.#usable(kernel);
      p = body();
    } catch (e) {
      return Promise.reject(this.#translate(kernel, e));
    }
    const tracked = p.catch((e: unknown) => {
      throw this.#translate(kernel, e);
    });
    this.#pending.add(tracked);
    const done = (): void => {
      this.#pending.delete(tracked);
    };
    tracked.then(done, done);
    return tracked;
  }

  #translate(kernel: string, e: unknown): unknown {
    if (!(e instanceof Error) || e instanceof ComputeArgumentError || e instanceof GpuBackendError) return e;
    const code = (e as Error & { code?: string }).code;
    if (code === undefined) return e;
    if (code.endsWith('_BAD_ARGUMENT') || code.endsWith('_BAD_BUFFER')) return new ComputeArgumentError(kernel, e.message);
    if (code.endsWith('_OUT_OF_MEMORY')) return new GpuOutOfMemoryError(`${kernel}: ${e.message}`, code);
    return new GpuBackendError(`${kernel}: ${e.message}`, code);
  }
}

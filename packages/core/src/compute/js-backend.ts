import { constants as bufferConstants } from 'node:buffer';
import { availableParallelism } from 'node:os';
import {
  ALL_KERNELS,
  ComputeArgumentError,
  type BackendCapabilities,
  type BackendInitOptions,
  type ComputeBackend,
  type ComputeBackendProvider,
  type DeviceBuffer,
  type DeviceFacts,
  type MonteCarloVaRArgs,
  type MonteCarloVaRResult,
  type PatternScoresArgs,
  type PatternScoresResult,
  type RollingMomentsArgs,
  type RollingMomentsResult,
  type SgemmArgs,
  type SyncKernels,
} from '../contracts/compute.js';
import { runMonteCarloVaR } from './kernels/monte-carlo-var.js';
import { runPatternScores } from './kernels/pattern-scores.js';
import { runRollingMoments } from './kernels/rolling-moments.js';
import { runSgemm } from './kernels/sgemm.js';
import { describeValue, requireInt } from './validate.js';

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

class JsDeviceBuffer implements DeviceBuffer {
  readonly backend = JS_BACKEND_NAME;
  constructor(readonly id: number, readonly byteLength: number) {
    Object.freeze(this);
  }
}

function isDeviceBufferLike(v: unknown): v is DeviceBuffer {
  return typeof v === 'object' && v !== null && !ArrayBuffer.isView(v)
    && typeof (v as DeviceBuffer).backend === 'string' && typeof (v as DeviceBuffer).id === 'number';
}

/**
 * The pure-TypeScript compute backend: the oracle every other backend is checked against.
 * Single-threaded, float64 accumulation, results rounded to float32 once. Its "device memory"
 * is ordinary ArrayBuffers held by id; `sync` offers every kernel except monteCarloVaR
 * synchronously (and also accepts its own DeviceBuffers there). `threadPoolSize` is ignored.
 */
export class JsComputeBackend implements ComputeBackend {
  readonly name = JS_BACKEND_NAME;
  readonly capabilities: BackendCapabilities = Object.freeze({
    kernels: ALL_KERNELS,
    syncKernels: true,
    deviceMemory: false,
    maxBufferBytes: bufferConstants.MAX_LENGTH,
  });
  readonly device: DeviceFacts;
  readonly sync: SyncKernels;

  readonly #buffers = new Map<number, { handle: DeviceBuffer; bytes: ArrayBuffer }>();
  readonly #freed = new WeakSet<DeviceBuffer>();
  #nextId = 1;
  #disposed = false;
  readonly #resolve = (kernel: string, name: string, arg: unknown, count: number, what?: string): Float32Array =>
    this.#resolveF32(kernel, name, arg, count, what);
  readonly #same = (x: unknown, y: unknown): boolean => isDeviceBufferLike(x) && x === y;

  constructor(_options: BackendInitOptions = {}) {
    this.device = jsDeviceFacts();
    this.sync = Object.freeze({
      patternScores: (args: PatternScoresArgs): PatternScoresResult => {
        this.#alive('patternScores');
        return runPatternScores(args, this.#resolve);
      },
      rollingMoments: (args: RollingMomentsArgs): RollingMomentsResult => {
        this.#alive('rollingMoments');
        return runRollingMoments(args, this.#resolve);
      },
      sgemm: (args: SgemmArgs): void => {
        this.#alive('sgemm');
        runSgemm(args, this.#resolve, this.#same);
      },
    });
  }

  /** Number of live buffers (for leak checks in tests). */
  get liveBuffers(): number {
    return this.#buffers.size;
  }

  createBuffer(byteLength: number): DeviceBuffer {
    this.#alive('createBuffer');
    requireInt('createBuffer', 'byteLength', byteLength, 1, this.capabilities.maxBufferBytes);
    const handle = new JsDeviceBuffer(this.#nextId++, byteLength);
    this.#buffers.set(handle.id, { handle, bytes: new ArrayBuffer(byteLength) });
    return handle;
  }

  async upload(dst: DeviceBuffer, src: ArrayBufferView, dstOffsetBytes = 0): Promise<void> {
    this.#alive('upload');
    const bytes = this.#bytes('upload', 'dst', dst);
    if (!ArrayBuffer.isView(src)) throw new ComputeArgumentError('upload', `src must be a typed array or DataView, got ${describeValue(src)}`);
    const off = requireInt('upload', 'dstOffsetBytes', dstOffsetBytes, 0);
    if (off + src.byteLength > bytes.byteLength) {
      throw new ComputeArgumentError('upload', `${src.byteLength} bytes at offset ${off} do not fit buffer #${dst.id} of ${bytes.byteLength} bytes`);
    }
    new Uint8Array(bytes, off, src.byteLength).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
  }

  async download(src: DeviceBuffer, dst: ArrayBufferView, srcOffsetBytes = 0): Promise<void> {
    this.#alive('download');
    const bytes = this.#bytes('download', 'src', src);
    if (!ArrayBuffer.isView(dst)) throw new ComputeArgumentError('download', `dst must be a typed array or DataView, got ${describeValue(dst)}`);
    const off = requireInt('download', 'srcOffsetBytes', srcOffsetBytes, 0);
    if (off + dst.byteLength > bytes.byteLength) {
      throw new ComputeArgumentError('download', `${dst.byteLength} bytes at offset ${off} exceed buffer #${src.id} of ${bytes.byteLength} bytes`);
    }
    new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(new Uint8Array(bytes, off, dst.byteLength));
  }

  freeBuffer(buffer: DeviceBuffer): void {
    this.#alive('freeBuffer');
    this.#bytes('freeBuffer', 'buffer', buffer);
    this.#buffers.delete(buffer.id);
    this.#freed.add(buffer);
  }

  async patternScores(args: PatternScoresArgs): Promise<PatternScoresResult> {
    return this.sync.patternScores(args);
  }

  async rollingMoments(args: RollingMomentsArgs): Promise<RollingMomentsResult> {
    return this.sync.rollingMoments(args);
  }

  async monteCarloVaR(args: MonteCarloVaRArgs): Promise<MonteCarloVaRResult> {
    this.#alive('monteCarloVaR');
    return runMonteCarloVaR(args);
  }

  async sgemm(args: SgemmArgs): Promise<void> {
    this.sync.sgemm(args);
  }

  async copy(src: DeviceBuffer, dst: DeviceBuffer, byteLength: number): Promise<void> {
    this.#alive('copy');
    const s = this.#bytes('copy', 'src', src);
    const d = this.#bytes('copy', 'dst', dst);
    if (src === dst) throw new ComputeArgumentError('copy', 'src and dst must be different buffers');
    const n = requireInt('copy', 'byteLength', byteLength);
    if (n > s.byteLength || n > d.byteLength) {
      throw new ComputeArgumentError('copy', `byteLength ${n} exceeds src (${s.byteLength} bytes) or dst (${d.byteLength} bytes)`);
    }
    new Uint8Array(d, 0, n).set(new Uint8Array(s, 0, n));
  }

  async noop(): Promise<void> {
    this.#alive('noop');
  }

  async dispose(): Promise<void> {
    this.#buffers.clear();
    this.#disposed = true;
  }

  #alive(op: string): void {
    if (this.#disposed) throw new Error(`${op}: the js compute backend was disposed`);
  }

  #bytes(kernel: string, name: string, buffer: unknown): ArrayBuffer {
    if (!isDeviceBufferLike(buffer)) {
      throw new ComputeArgumentError(kernel, `${name} must be a DeviceBuffer, got ${describeValue(buffer)}`);
    }
    if (buffer.backend !== JS_BACKEND_NAME) {
      throw new ComputeArgumentError(kernel, `${name}: DeviceBuffer #${buffer.id} belongs to backend '${buffer.backend}', not '${JS_BACKEND_NAME}'`);
    }
    const entry = this.#buffers.get(buffer.id);
    if (entry === undefined || entry.handle !== buffer) {
      if (this.#freed.has(buffer)) throw new ComputeArgumentError(kernel, `${name}: DeviceBuffer #${buffer.id} was freed`);
      throw new ComputeArgumentError(kernel, `${name}: DeviceBuffer #${buffer.id} was not created by this js backend instance`);
    }
    return entry.bytes;
  }

  #resolveF32(kernel: string, name: string, arg: unknown, count: number, what?: string): Float32Array {
    const suffix = what ? ` (${what})` : '';
    if (arg instanceof Float32Array) {
      if (arg.length < count) throw new ComputeArgumentError(kernel, `${name} has ${arg.length} elements, needs at least ${count}${suffix}`);
      return arg;
    }
    if (isDeviceBufferLike(arg)) {
      const bytes = this.#bytes(kernel, name, arg);
      if (bytes.byteLength < count * 4) {
        throw new ComputeArgumentError(kernel, `${name}: DeviceBuffer #${arg.id} has ${bytes.byteLength} bytes, needs at least ${count * 4} (${count} floats${what ? `, ${what}` : ''})`);
      }
      return new Float32Array(bytes, 0, count);
    }
    throw new ComputeArgumentError(kernel, `${name} must be a Float32Array or a DeviceBuffer, got ${describeValue(arg)}`);
  }
}

/** The provider of the js backend: priority 0, always available. Register it explicitly. */
export const jsBackendProvider: ComputeBackendProvider = Object.freeze({
  name: JS_BACKEND_NAME,
  priority: 0,
  async probe() {
    return { available: true as const, device: jsDeviceFacts() };
  },
  async create(options: BackendInitOptions) {
    return new JsComputeBackend(options);
  },
});

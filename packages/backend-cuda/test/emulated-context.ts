/**
 * A NativeGpuContext that runs on the host with the native addon's contract (buffer ids, codes,
 * call-order effects, host inputs read at the call and host outputs written at completion as the
 * addon's staging does, the monteCarlo reduction by drift / exposure / varIndex), computing the
 * kernels with the JS oracle. It lets the conformance suite exercise GpuComputeBackend's
 * TypeScript half (argument rules, buffer markers, error translation, result assembly) on a
 * machine without a GPU. It says nothing about the CUDA kernels themselves: the *.gpu.test.ts
 * files and scripts/gpu-check.sh do, on a GPU.
 */
import { JsComputeBackend, normalAt } from '@cwts/core/compute';
import type { NativeF32, NativeGpuContext, NativeGpuInfo } from '../src/native.js';

/** Writes a staged host output into the caller's array at completion, or says why it could not. */
type Late = () => string | undefined;

function codeError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

export class EmulatedGpuContext implements NativeGpuContext {
  readonly calls: string[] = [];
  readonly #buffers = new Map<number, Uint8Array>();
  readonly #js = new JsComputeBackend();
  #next = 1;
  #destroyed = false;
  inFlight = 0;

  constructor(readonly maxBufferBytes = 1 << 30) {}

  get memoryInUse(): number {
    let n = 0;
    for (const b of this.#buffers.values()) n += b.byteLength;
    return n;
  }

  info(): NativeGpuInfo {
    return {
      api: 'CUDA', index: 0, name: 'Emulated GPU', memoryBytes: this.maxBufferBytes, computeUnits: 1, major: 9, minor: 0, arch: 'sm_90',
      warpSize: 32, sharedPerBlock: 49152, l2CacheBytes: 0, memoryBusWidth: 0, integrated: false, driverVersion: 13000, runtimeVersion: 13000,
      vendorBlas: null, vendorBlasReason: 'emulated', maxBufferBytes: this.maxBufferBytes,
    };
  }

  createBuffer(bytes: number): number {
    this.#alive();
    const id = this.#next++;
    this.#buffers.set(id, new Uint8Array(bytes));
    return id;
  }

  freeBuffer(id: number): void {
    if (!this.#buffers.delete(id)) throw codeError(`freeBuffer: unknown or freed buffer #${id}`, 'CUDA_BAD_BUFFER');
  }

  upload(id: number, src: Uint8Array, dstOffset: number): Promise<void> {
    return this.#op('upload', () => this.#buf(id).set(src, dstOffset));
  }

  download(id: number, dst: Uint8Array, srcOffset: number): Promise<void> {
    const late: Late[] = [];
    return this.#op('download', () => this.#staged(dst, 'dst', late, false).set(this.#buf(id).subarray(srcOffset, srcOffset + dst.byteLength)), late);
  }

  copy(src: number, dst: number, bytes: number): Promise<void> {
    return this.#op('copy', () => this.#buf(dst).set(this.#buf(src).subarray(0, bytes)));
  }

  noop(): Promise<void> {
    return this.#op('noop', () => undefined);
  }

  rollingMoments(series: NativeF32, length: number, window: number, mean: Float32Array, variance: Float32Array): Promise<void> {
    const late: Late[] = [];
    return this.#op('rollingMoments', () => {
      this.#js.sync.rollingMoments({ series: this.#f32(series), length, window, out: { mean: this.#staged(mean, 'mean', late, false), variance: this.#staged(variance, 'variance', late, false) } });
    }, late);
  }

  patternScores(stored: NativeF32, K: number, D: number, queries: NativeF32, B: number, topK: number,
    outIdx: Int32Array, outScores: Float32Array, allScores: Float32Array | undefined): Promise<void> {
    const late: Late[] = [];
    return this.#op('patternScores', () => {
      const r = this.#js.sync.patternScores({
        stored: this.#f32(stored), storedCount: K, dim: D, queries: this.#f32(queries), queryCount: B, topK,
        returnAllScores: allScores !== undefined, out: { indices: this.#staged(outIdx, 'outIdx', late, false), scores: this.#staged(outScores, 'outScores', late, false) },
      });
      if (allScores) this.#staged(allScores, 'allScores', late, false).set(r.allScores!);
    }, late);
  }

  sgemm(m: number, n: number, k: number, alpha: number, beta: number, a: NativeF32, b: NativeF32, c: NativeF32): Promise<void> {
    const late: Late[] = [];
    return this.#op('sgemm', () => {
      const cOut = typeof c === 'number' ? this.#f32(c) : this.#staged(c, 'c', late, beta !== 0);
      this.#js.sync.sgemm({ m, n, k, alpha, beta, a: this.#f32(a), b: this.#f32(b), c: cOut });
    }, late);
  }

  sgemmVendor(): Promise<void> {
    return Promise.reject(codeError('no vendor BLAS: emulated', 'CUDA_NO_VENDOR_BLAS'));
  }

  monteCarlo(v: Float64Array, factors: number, paths: number, horizon: number, seedLo: number, seedHi: number, drift: number, varIndex: number) {
    return this.#op('monteCarlo', () => {
      const losses = new Float64Array(paths);
      for (let p = 0; p < paths; p++) {
        let acc = 0;
        for (let t = 0; t < horizon; t++) for (let j = 0; j < factors; j++) acc += v[j]! * normalAt(seedLo, seedHi, p, t, j);
        losses[p] = -(drift + acc);
      }
      let sum = 0;
      for (const l of losses) sum += l;
      const meanLoss = sum / paths;
      let ss = 0;
      for (const l of losses) ss += (l - meanLoss) ** 2;
      const sorted = Float64Array.from(losses).sort();
      let tail = 0;
      for (let i = varIndex; i < paths; i++) tail += sorted[i]!;
      return { var: sorted[varIndex]!, cvar: tail / (paths - varIndex), meanLoss, stdLoss: Math.sqrt(ss / paths) };
    });
  }

  benchLaunch(): number {
    throw codeError('emulated: no device', 'CUDA_ERROR');
  }

  benchSgemm(): number {
    throw codeError('emulated: no device', 'CUDA_ERROR');
  }

  sgemmVariants(): string[] {
    return ['the JS oracle'];
  }

  runSgemmVariant(): void {
    throw codeError('emulated: no device', 'CUDA_ERROR');
  }

  benchCopy(): number {
    throw codeError('emulated: no device', 'CUDA_ERROR');
  }

  destroy(): void {
    this.#buffers.clear();
    this.#destroyed = true;
  }

  #alive(): void {
    if (this.#destroyed) throw codeError('the context was destroyed', 'CUDA_DISPOSED');
  }

  #buf(id: number): Uint8Array {
    const b = this.#buffers.get(id);
    if (!b) throw codeError(`unknown or freed buffer #${id}`, 'CUDA_BAD_BUFFER');
    return b;
  }

  #f32(x: NativeF32): Float32Array {
    if (typeof x !== 'number') return x;
    const b = this.#buf(x);
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength >>> 2);
  }

  /**
   * A host array the call writes, as the addon stages it: the call computes into a copy (holding
   * the array's bytes at the call when `read`, as sgemm's C with beta != 0), which reaches the
   * caller's array only when the call completes (`late`), if it is still attached and long
   * enough (the addon's jsResultTarget); otherwise `late` says why, naming it as the addon does.
   */
  #staged<T extends Float32Array | Int32Array | Uint8Array>(target: T, name: string, late: Late[], read: boolean): T {
    const own = (read ? target.slice() : new (target.constructor as new (n: number) => T)(target.length)) as T;
    late.push(() => {
      if (target.byteLength < own.byteLength) return `${name} was detached (its ArrayBuffer was transferred) while the call was in flight; the results were discarded`;
      target.set(own);
      return undefined;
    });
    return own;
  }

  /**
   * Effects on device buffers and reads of host inputs happen at call time (as stream order
   * and the addon's staging do); host outputs are written by `late` when the call settles, and
   * a detached one rejects the call with the addon's code (the others are still written).
   */
  #op<T>(name: string, effect: () => T, late: readonly Late[] = []): Promise<T> {
    this.#alive();
    this.calls.push(name);
    let value: T;
    try {
      value = effect();
    } catch (e) {
      return Promise.reject(e);
    }
    this.inFlight++;
    return new Promise((resolve, reject) => setImmediate(() => {
      this.inFlight--;
      let why: string | undefined;
      for (const write of late) {
        const failed = write();
        why ??= failed;
      }
      if (why !== undefined) reject(codeError(why, 'CUDA_BAD_ARGUMENT'));
      else resolve(value);
    }));
  }
}

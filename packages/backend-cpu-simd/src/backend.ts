/**
 * The cpu-simd compute backend: the TypeScript face of the native addon.
 *
 *  - Small calls run synchronously on the calling thread, even through the async API (the
 *    Promise is already settled): a hop to a worker thread costs more than they do. Calls whose
 *    work exceeds `async_threshold` run off the JS thread (an N-API async worker) and split across
 *    the backend's own thread pool of `threadPoolSize` threads.
 *  - Synchronous calls hand typed arrays to native code zero-copy. An async call never lets the
 *    worker touch memory the caller can still detach or resize: the addon copies the caller's
 *    host inputs when called and computes into its own memory, copying outputs into the caller's
 *    arrays on the JS thread at completion (after checking they are still attached; else the call
 *    rejects with a ComputeArgumentError). Memory this class owns and never hands out (DeviceBuffer
 *    memory, results it allocates) is used in place.
 *  - Call order (the contract): async work runs one call at a time, in call order, through a
 *    per-backend queue. While anything is queued or running, later calls (kernels, upload,
 *    download, copy, noop) queue behind it, capturing their host inputs when called, except an
 *    input holding bytes that an earlier pending call writes: that one is read at the call's
 *    turn, after those results land (two calls chained through a host array behave as if run
 *    one after the other). The sync fast path is taken only when nothing is in flight.
 *    `sync.*` kernels never wait: while async work is in flight they run at once unless they
 *    touch memory that work uses (a DeviceBuffer, an output array of a queued call, or an input
 *    read at its turn), which throws a ComputeArgumentError ("busy").
 *    `freeBuffer` takes effect at once: calls made before it still complete on its memory.
 *  - "Device" buffers are ordinary ArrayBuffers held by id (CPU memory is the device memory).
 */
import { availableParallelism, totalmem } from 'node:os';
import { ComputeArgumentError, type BackendInitOptions, type ComputeBackend, type DeviceBuffer, type DeviceFacts, type MonteCarloVaRArgs, type MonteCarloVaRResult, type PatternScoresArgs, type PatternScoresResult, type RollingMoments64Args, type RollingMoments64Result, type RollingMomentsArgs, type RollingMomentsResult, type SgemmArgs, type SyncKernels } from '@cwts/core';
import { prepareRollingMoments64 } from '@cwts/core/compute';
import { unknownKeyMessage } from '@cwts/core/config';
import { HostMemoryBackend, prepareMonteCarloVaR, isDeviceBufferLike, viewsOverlap } from '@cwts/core/compute';
import type { Isa, NativeEngine, NativeModule, NativeProbe, NativeStatus } from './native.js';
import {
  describeValue,
  overlaps,
  requireFloat32Scalar,
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

/** The keys of `[compute.cpu-simd]` (snake_case as in TOML; `simdEnabled` as well, as before). */
export const CPU_SIMD_SETTING_KEYS: readonly string[] = ['simd_enabled', 'isa', 'blas', 'async_threshold'];
const ACCEPTED_KEYS: ReadonlySet<string> = new Set([...CPU_SIMD_SETTING_KEYS, 'simdEnabled']);

/**
 * The keys of a settings table that cpu-simd does not know, each with its message ("unknown key
 * (did you mean async_threshold?)", else the known keys). A misspelt key would otherwise leave
 * its setting at the default without a word; the config reader and Vulkan's strict schema
 * refuse unknown keys too.
 */
export function unknownSettings(settings: Readonly<Record<string, unknown>>): { key: string; message: string }[] {
  return Object.keys(settings)
    .filter((key) => !ACCEPTED_KEYS.has(key))
    .map((key) => ({ key, message: unknownKeyMessage(key, CPU_SIMD_SETTING_KEYS, [...ACCEPTED_KEYS]) }));
}

/** Checks and resolves the settings; throws a TypeError naming each unknown key or bad value. */
export function resolveSettings(options: BackendInitOptions, base: Readonly<Record<string, unknown>> = {}): ResolvedSettings {
  const s: Record<string, unknown> = { ...base, ...(options.settings ?? {}) };
  const unknown = unknownSettings(s);
  if (unknown.length > 0) throw new TypeError(unknown.map((u) => `${CPU_SIMD_BACKEND_NAME}: setting ${u.key}: ${u.message}`).join('; '));
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


type HostArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** Bytes [start, end) of a caller's ArrayBuffer that a queued or running operation will write. */
interface HostWrite {
  readonly buffer: ArrayBufferLike;
  readonly start: number;
  readonly end: number;
}

const NO_WRITES: readonly HostWrite[] = [];

/**
 * The caller's bytes in one ArrayBuffer that queued or running operations will write: how many
 * operations, and one span [start, end) covering what they all write. One span, not a list,
 * keeps marking and unmarking O(1) per call; it can only cover more bytes than are written
 * (a gap between two pending writes), which makes a read there wait for its turn needlessly,
 * never read early.
 */
interface PendingWrites {
  count: number;
  start: number;
  end: number;
}

/** One typed-array argument of a native call. */
interface KernelArg {
  /** What the native call receives: the caller's array, a DeviceBuffer's memory, or our own. */
  array: HostArray;
  /** Its position in the native call's arguments (its bit in the borrow mask). */
  readonly pos: number;
  /** Elements the kernel reads or writes. */
  readonly count: number;
  readonly role: 'in' | 'out' | 'inout';
  /** Memory this backend owns and never hands out while the call runs (used in place). */
  owned: boolean;
  /** A DeviceBuffer's memory (a queued call on it makes it busy for `sync` kernels). */
  readonly device: boolean;
  readonly name: string;
}

/** A validated kernel call: `call` invokes native code with the args' current arrays. */
interface Prepared<R> {
  readonly kernel: string;
  /** Estimated element-operations: decides sync (below async_threshold) or a worker. */
  readonly work: number;
  readonly args: KernelArg[];
  call(async: false, borrow: number): unknown;
  call(async: true, borrow: number): Promise<unknown>;
  finish(status: unknown): R;
  /** Checks made at the call's turn, when queued (on inputs read then: see #dispatch); throws to reject the call. */
  readonly atTurn?: () => void;
}

function arg(array: HostArray, pos: number, count: number, role: KernelArg['role'], name: string, source: 'host' | 'device' | 'own'): KernelArg {
  return { array, pos, count, role, name, owned: source !== 'host', device: source === 'device' };
}

/** Where an argument's memory comes from: a DeviceBuffer of ours, or the caller's host array. */
function from(raw: unknown): 'device' | 'host' {
  return isDeviceBufferLike(raw) ? 'device' : 'host';
}

function borrowMask(args: readonly KernelArg[]): number {
  let m = 0;
  for (const a of args) if (a.owned) m |= 1 << a.pos;
  return m >>> 0;
}

function copyOf(a: HostArray, count: number): HostArray {
  return a.slice(0, count);
}

function detachedError(kernel: string, name: string, when: string): ComputeArgumentError {
  return new ComputeArgumentError(kernel, `${name} was detached (its ArrayBuffer was transferred) or shrank ${when}; the results were discarded`);
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
  /** Async operations queued or running (the queue's length); 0 = the sync fast path is open. */
  #queued = 0;
  /** Settles when the last queued operation has finished; never rejects. */
  #tail: Promise<void> = Promise.resolve();
  /**
   * ArrayBuffers that queued or running operations use (DeviceBuffer memory, output arrays,
   * inputs read at their turn), counted.
   */
  readonly #busy = new Map<ArrayBufferLike, number>();
  /**
   * The caller's bytes that queued or running operations will write (kernel outputs, download
   * targets), by ArrayBuffer: a call queued behind them that reads any of those bytes must read
   * them at its turn, after those results land, not when called.
   */
  readonly #hostWrites = new Map<ArrayBufferLike, PendingWrites>();

  constructor(native: NativeModule, probe: NativeProbe, addonPath: string, settings: ResolvedSettings) {
    // Async calls copy host inputs (README, "Calls, threads and memory"): saying so lets a
    // pattern store keep its slab in a DeviceBuffer instead of being copied on every query.
    super(CPU_SIMD_BACKEND_NAME, { copiesHostInputs: true });
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
      patternScores: (args: PatternScoresArgs): PatternScoresResult => this.#runSync(this.#preparePattern(args)),
      rollingMoments: (args: RollingMomentsArgs): RollingMomentsResult => this.#runSync(this.#prepareRolling(args)),
      sgemm: (args: SgemmArgs): void => this.#runSync(this.#prepareSgemm(args)),
      rollingMoments64: (args: RollingMoments64Args): RollingMoments64Result => this.#runSync(this.#prepareRolling64(args)),
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
      const args = [arg(sv, 0, n, 'in', 'src', 'device'), arg(dv, 1, n, 'out', 'dst', 'device')];
      return this.#prepared('copy', n / 4, args, (async, borrow) => this.#engine.copy(args[0]!.array, args[1]!.array, n, async as false, borrow), () => undefined);
    });
  }

  override async upload(dst: DeviceBuffer, src: ArrayBufferView, dstOffsetBytes = 0): Promise<void> {
    this.alive('upload');
    if (this.#queued === 0) return this.buffers.upload(dst, src, dstOffsetBytes);
    // Queued behind earlier work: the oracle's checks now, the bytes captured now, written in
    // call order (after the kernels called before, before those called after).
    const bytes = this.buffers.bytes('upload', 'dst', dst);
    if (!ArrayBuffer.isView(src)) throw new ComputeArgumentError('upload', `src must be a typed array or DataView, got ${describeValue(src)}`);
    const off = requireInt('upload', 'dstOffsetBytes', dstOffsetBytes, 0);
    if (off + src.byteLength > bytes.byteLength) {
      throw new ComputeArgumentError('upload', `${src.byteLength} bytes at offset ${off} do not fit buffer #${dst.id} of ${bytes.byteLength} bytes`);
    }
    const { buffer, byteOffset, byteLength } = src;
    if (this.#writtenByPending(buffer, byteOffset, byteLength)) {
      // An earlier call still to write (part of) src: read src at this upload's turn, after that
      // call's results land, as if the calls ran one after the other.
      return this.#enqueue(() => {
        if (buffer.byteLength < byteOffset + byteLength) throw detachedError('upload', 'src', 'before the queued upload ran');
        new Uint8Array(bytes, off, byteLength).set(new Uint8Array(buffer, byteOffset, byteLength));
      }, [bytes, buffer]);
    }
    const copy = new Uint8Array(buffer, byteOffset, byteLength).slice();
    return this.#enqueue(() => {
      new Uint8Array(bytes, off, copy.byteLength).set(copy);
    }, [bytes]);
  }

  override async download(src: DeviceBuffer, dst: ArrayBufferView, srcOffsetBytes = 0): Promise<void> {
    this.alive('download');
    if (this.#queued === 0) return this.buffers.download(src, dst, srcOffsetBytes);
    // Queued behind earlier work: the oracle's checks now, the bytes read in call order.
    const bytes = this.buffers.bytes('download', 'src', src);
    if (!ArrayBuffer.isView(dst)) throw new ComputeArgumentError('download', `dst must be a typed array or DataView, got ${describeValue(dst)}`);
    const off = requireInt('download', 'srcOffsetBytes', srcOffsetBytes, 0);
    const n = dst.byteLength;
    if (off + n > bytes.byteLength) {
      throw new ComputeArgumentError('download', `${n} bytes at offset ${off} exceed buffer #${src.id} of ${bytes.byteLength} bytes`);
    }
    return this.#enqueue(
      () => {
        if (dst.byteLength < n) throw detachedError('download', 'dst', 'before the queued download ran');
        new Uint8Array(dst.buffer, dst.byteOffset, n).set(new Uint8Array(bytes, off, n));
      },
      [bytes, dst.buffer],
      [{ buffer: dst.buffer, start: dst.byteOffset, end: dst.byteOffset + n }],
    );
  }

  /**
   * Diagnostic, not a contract kernel: one read-only streaming pass over `x` on the pool; resolves
   * with the sum. Benchmarks time it to measure memory read bandwidth. It runs after everything
   * queued before it, on the JS thread together with the pool (so `x` is read in place, and the
   * event loop waits for it).
   */
  readProbe(x: Float32Array): Promise<number> {
    try {
      this.alive('readProbe');
    } catch (e) {
      return Promise.reject(e);
    }
    if (!(x instanceof Float32Array)) return Promise.reject(new ComputeArgumentError('readProbe', `x must be a Float32Array, got ${describeValue(x)}`));
    if (this.#queued === 0) return Promise.resolve(this.#engine.readProbe(x, false));
    return this.#enqueue(() => this.#engine.readProbe(x, false), []);
  }

  async noop(): Promise<void> {
    this.alive('noop');
    if (this.#queued === 0) {
      this.#engine.noop(false);
      return;
    }
    return this.#enqueue(() => {
      this.#engine.noop(false);
    }, []);
  }

  async dispose(): Promise<void> {
    if (!this.markDisposed()) return;
    // Everything called before dispose() finishes first (the queue's tail never rejects).
    await this.#tail;
    this.buffers.clear();
    this.#engine.dispose();
  }

  // ------------------------------------------------------------------------------------------

  /**
   * Runs a prepared call in call order. Nothing in flight: small calls run now on the JS thread
   * (a settled Promise), large ones start now on a worker (the addon copies the caller's host
   * inputs before returning). Otherwise the call queues behind the work before it, with its
   * host inputs captured now and its outputs written at its turn; an input that a call before
   * it will write is read at its turn instead (after that call's results land).
   */
  #dispatch<R>(prepare: () => Prepared<R>): Promise<R> {
    let p: Prepared<R>;
    try {
      p = prepare();
      if (this.#queued === 0 && p.work < this.#asyncThreshold) return Promise.resolve(p.finish(p.call(false, 0)));
    } catch (e) {
      return Promise.reject(e);
    }
    const { busy, writes } = this.#usesOf(p);
    if (this.#queued === 0) {
      const started = this.#native(p);
      return this.#enqueue(() => started, busy, writes);
    }
    // Queued: from here on the call owns its arrays. Inputs are copied now (the call sees what
    // they hold now, whatever the caller does later); outputs are computed into our own arrays
    // and copied into the caller's at the call's turn, if they are still attached.
    // An input (or in-out array) that a call before this one will write is the exception: what
    // it holds now is stale, so it stays the caller's array and is read at this call's turn,
    // after the earlier results are copied in (in place when the turn runs on the JS thread,
    // else copied by the addon as it starts the worker). Only then is there anything to wait
    // for, so the common case keeps its one copy at the call.
    const backs: { user: HostArray; own: HostArray; a: KernelArg }[] = [];
    let atTurn: KernelArg[] | undefined;
    for (const a of p.args) {
      if (a.owned) continue;
      if (a.role !== 'out' && this.#hostWrites.size > 0 && this.#writtenByPending(a.array.buffer, a.array.byteOffset, a.count * a.array.BYTES_PER_ELEMENT)) {
        (atTurn ??= []).push(a);
        if (a.role === 'in') busy.push(a.array.buffer); // a sync kernel must not change it before the turn
        continue;
      }
      const user = a.array;
      a.array = a.role === 'out' ? new (user.constructor as new (n: number) => HostArray)(a.count) : copyOf(user, a.count);
      a.owned = true;
      if (a.role !== 'in') backs.push({ user, own: a.array, a });
    }
    const copyBack = (result: R): R => {
      for (const b of backs) if (b.user.length < b.a.count) throw detachedError(p.kernel, b.a.name, 'while the call was queued');
      for (const b of backs) (b.user as Float32Array).set((b.own as Float32Array).subarray(0, b.a.count));
      return result;
    };
    const run = (): R | Promise<R> => {
      if (atTurn !== undefined) for (const a of atTurn) if (a.array.length < a.count) throw detachedError(p.kernel, a.name, 'while the call was queued');
      p.atTurn?.();
      return p.work < this.#asyncThreshold ? copyBack(p.finish(p.call(false, 0))) : this.#native(p).then(copyBack);
    };
    return this.#enqueue(run, busy, writes);
  }

  /** Starts `p` on a worker; a detached output (the addon says so) becomes a ComputeArgumentError. */
  #native<R>(p: Prepared<R>): Promise<R> {
    let started: Promise<unknown>;
    try {
      started = p.call(true, borrowMask(p.args));
    } catch (e) {
      return Promise.reject(e); // the addon's own argument checks throw synchronously
    }
    return started.then(
      (status) => p.finish(status),
      (e: unknown) => {
        if ((e as { code?: unknown } | null)?.code === 'CWTS_ARG_DETACHED') throw new ComputeArgumentError(p.kernel, (e as Error).message);
        throw e;
      },
    );
  }

  /**
   * Queues `run` after everything queued before it; `busy` stays marked, and `writes` recorded
   * as pending, until it settles.
   */
  #enqueue<R>(run: () => R | Promise<R>, busy: readonly ArrayBufferLike[], writes: readonly HostWrite[] = NO_WRITES): Promise<R> {
    this.#queued++;
    for (const b of busy) this.#busy.set(b, (this.#busy.get(b) ?? 0) + 1);
    for (const w of writes) {
      const pending = this.#hostWrites.get(w.buffer);
      if (pending === undefined) this.#hostWrites.set(w.buffer, { count: 1, start: w.start, end: w.end });
      else {
        pending.count++;
        if (w.start < pending.start) pending.start = w.start;
        if (w.end > pending.end) pending.end = w.end;
      }
    }
    const result = this.#tail.then(run);
    const done = (): void => {
      this.#queued--;
      for (const b of busy) {
        const n = (this.#busy.get(b) ?? 1) - 1;
        if (n === 0) this.#busy.delete(b);
        else this.#busy.set(b, n);
      }
      for (const w of writes) {
        const pending = this.#hostWrites.get(w.buffer);
        if (pending !== undefined && --pending.count === 0) this.#hostWrites.delete(w.buffer);
      }
    };
    this.#tail = result.then(done, done);
    return result;
  }

  /**
   * What a call uses while queued or running, taken before it owns any array: the memory it
   * makes busy for `sync` kernels (DeviceBuffers, and the caller's arrays it writes), and the
   * caller's bytes it writes (its host outputs and in-out arrays).
   */
  #usesOf(p: Prepared<unknown>): { busy: ArrayBufferLike[]; writes: readonly HostWrite[] } {
    const busy: ArrayBufferLike[] = [];
    let writes: HostWrite[] | undefined;
    for (const a of p.args) {
      if (a.device) busy.push(a.array.buffer);
      else if (!a.owned && a.role !== 'in') {
        const { buffer, byteOffset } = a.array;
        busy.push(buffer);
        (writes ??= []).push({ buffer, start: byteOffset, end: byteOffset + a.count * a.array.BYTES_PER_ELEMENT });
      }
    }
    return { busy, writes: writes ?? NO_WRITES };
  }

  /**
   * Whether a queued or running operation will write any of bytes [start, start + length) of
   * `buffer`: any view of it, whatever its offset or element type, not only the same array.
   */
  #writtenByPending(buffer: ArrayBufferLike, start: number, length: number): boolean {
    const pending = this.#hostWrites.get(buffer);
    return pending !== undefined && length > 0 && pending.start < start + length && start < pending.end;
  }

  /** A `sync.*` call: at once; while async work is in flight, only on memory that work does not use. */
  #runSync<R>(p: Prepared<R>): R {
    if (this.#queued > 0) {
      for (const a of p.args) {
        if (this.#busy.has(a.array.buffer)) {
          throw new ComputeArgumentError(
            p.kernel,
            `${a.name} is busy: an async call still queued or running on this ${CPU_SIMD_BACKEND_NAME} backend uses its memory; await that call first, or use the async ${p.kernel}() (it queues behind it)`,
          );
        }
      }
    }
    return p.finish(p.call(false, 0));
  }

  /** A Prepared from a native call (given the async flag and borrow mask) and a result builder. */
  #prepared<S, R>(kernel: string, work: number, args: KernelArg[], call: (async: boolean, borrow: number) => S | Promise<S>, finish: (status: S) => R): Prepared<R> {
    return { kernel, work, args, call: call as Prepared<R>['call'], finish: finish as (status: unknown) => R };
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
      // The oracle's rule (core's preparePatternScores): the scores' bits must not come back as indices.
      if (viewsOverlap(indices, outLen, scores, outLen)) throw new ComputeArgumentError(K, 'out.indices and out.scores overlap');
    } else {
      indices = new Int32Array(outLen);
      scores = new Float32Array(outLen);
    }
    const allScores = args.returnAllScores ? new Float32Array(queryCount * storedCount) : undefined;
    const result: PatternScoresResult = allScores ? { indices, scores, allScores } : { indices, scores };
    const own = args.out === undefined ? 'own' : 'host';
    const a = [
      arg(stored, 0, storedLen, 'in', 'stored', from(args.stored)),
      arg(queries, 3, queryLen, 'in', 'queries', from(args.queries)),
      arg(indices, 6, outLen, 'out', 'out.indices', own),
      arg(scores, 7, outLen, 'out', 'out.scores', own),
      ...(allScores ? [arg(allScores, 8, queryCount * storedCount, 'out', 'allScores', 'own')] : []),
    ];
    return this.#prepared(
      K,
      storedLen * (queryCount + 2),
      a,
      (async, borrow) =>
        this.#engine.patternScores(a[0]!.array as Float32Array, storedCount, dim, a[1]!.array as Float32Array, queryCount, topK, a[2]!.array as Int32Array, a[3]!.array as Float32Array, (a[4]?.array as Float32Array | undefined) ?? null, async as false, borrow),
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
        throw new ComputeArgumentError(K, 'out arrays must not overlap the series');
      }
    } else {
      mean = new Float32Array(n);
      variance = new Float32Array(n);
    }
    const own = args.out === undefined ? 'own' : 'host';
    const a = [
      arg(series, 0, length, 'in', 'series', from(args.series)),
      arg(mean, 3, n, 'out', 'out.mean', own),
      arg(variance, 4, n, 'out', 'out.variance', own),
    ];
    return this.#prepared(
      K,
      length * 8,
      a,
      (async, borrow) => this.#engine.rollingMoments(a[0]!.array as Float32Array, length, window, a[1]!.array as Float32Array, a[2]!.array as Float32Array, async as false, borrow),
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
    const a = [
      arg(p.series, 0, p.length, 'in', 'series', from(args.series)),
      arg(mean, 3, p.outputs, 'out', 'out.mean', p.out?.mean ? 'host' : 'own'),
      ...(variance ? [arg(variance, 4, p.outputs, 'out', 'out.variance', p.out?.variance ? 'host' : 'own')] : []),
    ];
    return this.#prepared(
      K,
      p.length * (p.meanOnly ? 4 : 8),
      a,
      (async, borrow) =>
        this.#engine.rollingMoments64(a[0]!.array as Float64Array, p.length, p.window, a[1]!.array as Float64Array, (a[2]?.array as Float64Array | undefined) ?? null, async as false, borrow),
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
    const alpha = args.alpha === undefined ? 1 : requireFloat32Scalar(K, 'alpha', args.alpha);
    const beta = args.beta === undefined ? 0 : requireFloat32Scalar(K, 'beta', args.beta);
    const aLen = requireProduct(K, 'm x k', m, k);
    const bLen = requireProduct(K, 'k x n', k, n);
    const cLen = requireProduct(K, 'm x n', m, n);
    const a = this.#f32(K, 'a', args.a, aLen, `m ${m} x k ${k}`);
    const b = this.#f32(K, 'b', args.b, bLen, `k ${k} x n ${n}`);
    const c = this.#f32(K, 'c', args.c, cLen, `m ${m} x n ${n}`);
    const same = (x: unknown, y: unknown): boolean => isDeviceBufferLike(x) && x === y;
    if (same(args.c, args.a) || overlaps(c, cLen, a, aLen)) throw new ComputeArgumentError(K, 'c must not overlap a');
    if (same(args.c, args.b) || overlaps(c, cLen, b, bLen)) throw new ComputeArgumentError(K, 'c must not overlap b');
    const x = [
      arg(a, 5, aLen, 'in', 'a', from(args.a)),
      arg(b, 6, bLen, 'in', 'b', from(args.b)),
      arg(c, 7, cLen, beta !== 0 ? 'inout' : 'out', 'c', from(args.c)),
    ];
    return this.#prepared(
      K,
      m * n * k,
      x,
      (async, borrow) => this.#engine.sgemm(m, n, k, alpha, beta, x[0]!.array as Float32Array, x[1]!.array as Float32Array, x[2]!.array as Float32Array, async as false, useBlas, borrow),
      () => undefined,
    );
  }

  #prepareVaR(args: MonteCarloVaRArgs): Prepared<MonteCarloVaRResult> {
    const K = 'monteCarloVaR';
    this.alive(K);
    // The oracle's own argument rules, so both backends reject exactly the same calls. An array
    // that a call still queued or running writes (a factor an un-awaited sgemm computes) is read
    // at this call's turn (#dispatch), so its values are checked then, on what is used; its
    // type and length now.
    const late = (x: unknown): x is Float32Array => this.#queued > 0 && x instanceof Float32Array && this.#writtenByPending(x.buffer, x.byteOffset, x.byteLength);
    const anyLate = args !== null && typeof args === 'object' && (late(args.means) || late(args.factor) || late(args.weights));
    const standIn = (x: unknown): unknown => (late(x) ? new Float32Array(x.length) : x);
    const checked = anyLate ? prepareMonteCarloVaR({ ...args, means: standIn(args.means), factor: standIn(args.factor), weights: standIn(args.weights) } as MonteCarloVaRArgs) : prepareMonteCarloVaR(args);
    const { assets, factors, paths, horizon, confidence, seedLo, seedHi } = checked;
    // (Late or not, each passed the type check: a stand-in replaced only a Float32Array.)
    const [means, factor, weights] = anyLate ? [args.means as Float32Array, args.factor as Float32Array, args.weights as Float32Array] : [checked.means, checked.factor, checked.weights];
    const varIndex = Math.ceil(confidence * paths) - 1;
    const a = [arg(means, 0, assets, 'in', 'means', 'host'), arg(factor, 1, assets * factors, 'in', 'factor', 'host'), arg(weights, 4, assets, 'in', 'weights', 'host')];
    const atTurn = anyLate
      ? () => void prepareMonteCarloVaR({ ...args, means: a[0]!.array as Float32Array, factor: a[1]!.array as Float32Array, weights: a[2]!.array as Float32Array })
      : undefined;
    const prepared = this.#prepared(
      K,
      paths * horizon * factors * 16,
      a,
      (async, borrow) =>
        this.#engine.monteCarloVaR(a[0]!.array as Float32Array, a[1]!.array as Float32Array, assets, factors, a[2]!.array as Float32Array, paths, horizon, varIndex, seedLo, seedHi, async as false, borrow),
      (r) => {
        this.#check(K, r);
        return { var: r.var, cvar: r.cvar, meanLoss: r.meanLoss, stdLoss: Math.sqrt(r.m2 / paths), paths };
      },
    );
    return atTurn === undefined ? prepared : { ...prepared, atTurn };
  }


  #f32(kernel: string, name: string, arg: unknown, count: number, what?: string): Float32Array {
    return this.buffers.f32(kernel, name, arg, count, what);
  }
}

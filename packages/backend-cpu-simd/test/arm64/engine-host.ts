/**
 * The x86-64 end of the emulated-engine channel: starts engine-server.mjs under qemu-aarch64 with
 * an arm64 Node and gives the test a NativeModule whose Engine runs there. The backend's
 * TypeScript layer (argument checks, buffers, sync/async choice) stays in the test process; every
 * kernel call crosses to the arm64 addon, its written arrays come back. Calls block (the engine's
 * contract is synchronous where `async` is false) on a non-blocking FIFO polled against a deadline,
 * so a hung or dead emulator fails the test instead of freezing it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeEngine, NativeModule, NativeProbe } from '../../src/native.js';
import { bytesOf, encodeArgs, encodeFrame, readFrame } from './frames.mjs';

const SERVER = join(dirname(fileURLToPath(import.meta.url)), 'engine-server.mjs');
const ENGINE_METHODS = ['patternScores', 'rollingMoments', 'rollingMoments64', 'sgemm', 'monteCarloVaR', 'copy', 'noop', 'readProbe', 'info', 'dispose'] as const;

export interface EmulatorTools {
  qemu: string;
  /** The arm64 C library and loader (Debian: /usr/aarch64-linux-gnu, from the cross toolchain). */
  sysroot: string;
  /** An arm64 `node` binary. */
  node: string;
}

/** What the arm64 process found when it loaded the package. */
export interface Hello {
  ok: boolean;
  error?: string;
  path: string;
  probe: NativeProbe;
  provider: { available: boolean; reason?: string; device?: { name: string; details?: Record<string, unknown> } };
  arch: string;
  node: string;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

export class EmulatedEngineHost {
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly #log: string;
  readonly #in: number;
  #out = -1;
  #pending = Buffer.alloc(0);

  private constructor(child: ChildProcess, dir: string, log: string, inFd: number) {
    this.#child = child;
    this.#dir = dir;
    this.#log = log;
    this.#in = inFd;
  }

  /** Starts the arm64 process and waits (without blocking) for it to load the package. */
  static async start(tools: EmulatorTools, pkgDir: string, timeoutMs: number): Promise<{ host: EmulatedEngineHost; hello: Hello }> {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-arm64-'));
    const req = join(dir, 'requests');
    const res = join(dir, 'responses');
    for (const f of [req, res]) {
      const r = spawnSync('mkfifo', [f]);
      if (r.status !== 0) throw new Error(`mkfifo ${f} failed: ${r.stderr}`);
    }
    // Opened non-blocking before the child starts, so its open for writing finds a reader.
    const inFd = openSync(res, constants.O_RDONLY | constants.O_NONBLOCK);
    const log = join(dir, 'stderr.log');
    const logFd = openSync(log, 'w');
    // The loader's override would bypass the pick this test is about.
    const { CWTS_CPU_SIMD_ADDON: _override, ...env } = process.env;
    const child = spawn(tools.qemu, ['-L', tools.sysroot, tools.node, SERVER, req, res, pkgDir], { stdio: ['ignore', logFd, logFd], env });
    closeSync(logFd);
    const host = new EmulatedEngineHost(child, dir, log, inFd);
    const deadline = Date.now() + timeoutMs;
    let frame: ReturnType<typeof readFrame> = null;
    while (frame === null) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the arm64 process exited before it answered (${child.exitCode ?? child.signalCode}): ${host.stderr()}`);
      if (Date.now() > deadline) {
        host.close();
        throw new Error(`the arm64 process did not answer in ${timeoutMs} ms: ${host.stderr()}`);
      }
      frame = host.#tryFrame();
      if (frame === null) await new Promise((r) => setTimeout(r, 50));
    }
    host.#out = openSync(req, 'w');
    return { host, hello: frame.header as unknown as Hello };
  }

  stderr(): string {
    try {
      return readFileSync(this.#log, 'utf8').trim().slice(-4000) || '(no output)';
    } catch {
      return '(no output)';
    }
  }

  /** Moves what the FIFO holds now into #pending; false at end of input (no writer). */
  #drain(): boolean {
    const chunk = Buffer.alloc(1 << 20);
    for (;;) {
      let n: number;
      try {
        n = readSync(this.#in, chunk, 0, chunk.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return true;
        throw e;
      }
      if (n === 0) return false;
      this.#pending = Buffer.concat([this.#pending, chunk.subarray(0, n)]);
    }
  }

  /** A whole frame if one has arrived, else null (nothing consumed). */
  #tryFrame(): ReturnType<typeof readFrame> {
    this.#drain();
    let off = 0;
    const take = (n: number): Buffer | null => {
      if (this.#pending.length - off < n) throw new Incomplete();
      const b = this.#pending.subarray(off, off + n);
      off += n;
      return b;
    };
    try {
      const frame = readFrame(take);
      this.#pending = this.#pending.subarray(off);
      return frame;
    } catch (e) {
      if (e instanceof Incomplete) return null;
      throw e;
    }
  }

  /** One call, answered synchronously; the arguments the arm64 side wrote are written here too. */
  call(header: Record<string, unknown>, args: unknown[], timeoutMs = 120_000): { value: unknown; promise: boolean; error?: Error } {
    const { args: encoded, blobs } = encodeArgs(args);
    const frame = encodeFrame({ ...header, args: encoded }, blobs);
    for (let off = 0; off < frame.length; ) off += writeSync(this.#out, frame, off, frame.length - off);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = this.#tryFrame();
      if (reply !== null) {
        const h = reply.header as { ok: boolean; value: unknown; undef: boolean; promise: boolean; error?: { name: string; message: string }; changed: number[] };
        h.changed.forEach((i, j) => bytesOf(args[i] as ArrayBufferView).set(reply.blobs[j]!));
        if (h.ok) return { value: h.undef ? undefined : h.value, promise: h.promise };
        const error = new Error(h.error!.message);
        error.name = h.error!.name;
        return { value: undefined, promise: h.promise, error };
      }
      if (!this.#drain()) throw new Error(`the arm64 process closed the channel during ${String(header.method ?? header.op)}: ${this.stderr()}`);
      if (Date.now() > deadline) throw new Error(`the arm64 process did not answer ${String(header.method ?? header.op)} in ${timeoutMs} ms`);
      Atomics.wait(sleepCell, 0, 0, 1);
    }
  }

  /** The addon's module, its Engine running in the arm64 process. */
  module(probe: NativeProbe): NativeModule {
    const host = this;
    const settle = (r: { value: unknown; promise: boolean; error?: Error }): unknown => {
      if (r.promise) return r.error ? Promise.reject(r.error) : Promise.resolve(r.value);
      if (r.error) throw r.error;
      return r.value;
    };
    class Engine {
      readonly id: number;
      constructor(...args: unknown[]) {
        this.id = settle(host.call({ op: 'new' }, args)) as number;
      }
    }
    for (const method of ENGINE_METHODS) {
      Object.defineProperty(Engine.prototype, method, {
        value(this: Engine, ...args: unknown[]) {
          return settle(host.call({ op: 'call', engine: this.id, method }, args));
        },
      });
    }
    return { probe: () => probe, Engine: Engine as unknown as NativeModule['Engine'] };
  }

  /** Ends the arm64 process (it exits when its request channel closes) and removes the FIFOs. */
  close(): void {
    if (this.#out >= 0) closeSync(this.#out);
    this.#out = -1;
    closeSync(this.#in);
    const child = this.#child;
    if (child.exitCode === null && child.signalCode === null) {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('exit', () => clearTimeout(timer));
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

class Incomplete extends Error {}

export type { NativeEngine };

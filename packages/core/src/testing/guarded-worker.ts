/**
 * Runs untrusted-input code (a parser, a frame harness) in a worker thread under a watchdog.
 * A synchronous endless loop cannot be interrupted by a timer on the thread that loops, so the
 * code under test lives in a worker; every call has a bound, and a call that does not answer
 * within it is a hang: the worker is terminated and the caller told so (`restart()` brings up a
 * fresh one for the next input).
 *
 * The module is loaded in the worker by path or file URL and must export a factory
 * `(options) => object` (sync or async); calls name a method of that object. TypeScript modules
 * (.ts/.mts) are loaded through tsx (`tsx/esm/api`), which must then be installed; a built .js
 * module needs nothing.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export interface GuardedModuleRef {
  /** Absolute path or file: URL of the module. */
  module: string;
  /** Name of the factory export (default 'default'). */
  export?: string;
  /** Structured-cloneable argument of the factory. */
  options?: unknown;
}

export type GuardedResult<T = unknown> = { ok: true; value: T } | { ok: false; hang: true; error: string } | { ok: false; hang: false; error: string };

const BOOTSTRAP = `
const { parentPort, workerData } = require('node:worker_threads');
let target;
const ready = (async () => {
  const w = workerData;
  const mod = w.tsx ? await (await import(w.tsx)).tsImport(w.url, w.url) : await import(w.url);
  const factory = mod[w.exportName];
  if (typeof factory !== 'function') throw new Error('module ' + w.url + ' has no factory export ' + JSON.stringify(w.exportName));
  target = await factory(w.options);
})();
parentPort.on('message', async (m) => {
  try {
    await ready;
    const fn = target[m.method];
    if (typeof fn !== 'function') throw new Error('no method ' + m.method);
    const value = await fn.apply(target, m.args);
    parentPort.postMessage({ id: m.id, ok: true, value });
  } catch (err) {
    parentPort.postMessage({ id: m.id, ok: false, error: String(err && err.stack || err) });
  }
});
`;

function tsxApiUrl(): string {
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  } catch {
    throw new Error('loading a TypeScript module in a worker needs tsx installed (or pass the built .js module)');
  }
  const api = join(dir, 'dist/esm/api/index.mjs');
  if (!existsSync(api)) throw new Error(`tsx at ${dir} has no dist/esm/api/index.mjs`);
  return pathToFileURL(api).href;
}

export class GuardedWorker {
  private worker: Worker | undefined;
  private seq = 0;
  private readonly pending = new Map<number, (r: GuardedResult) => void>();
  /** Calls that ran past the bound. */
  hangs = 0;

  private constructor(
    private readonly ref: GuardedModuleRef,
    readonly boundMs: number,
  ) {}

  static async start(ref: GuardedModuleRef, boundMs = 2000): Promise<GuardedWorker> {
    const g = new GuardedWorker(ref, boundMs);
    g.spawn();
    // the first call also waits for the module to load (not under the per-call bound: loading
    // TypeScript through tsx on a loaded machine can take seconds)
    const r = await g.call('__ping__', [], 60_000);
    if (!r.ok && !/no method __ping__/.test(r.error)) {
      await g.close();
      throw new Error(`guarded worker for ${ref.module} failed to start: ${r.error}`);
    }
    return g;
  }

  private spawn(): void {
    const m = this.ref.module;
    const url = m.startsWith('file:') ? m : isAbsolute(m) ? pathToFileURL(m).href : m;
    const isTs = /\.(m|c)?ts$/.test(url);
    const w = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: { url, exportName: this.ref.export ?? 'default', options: this.ref.options, tsx: isTs ? tsxApiUrl() : undefined },
    });
    w.on('message', (msg: { id: number; ok: boolean; value?: unknown; error?: string }) => {
      const done = this.pending.get(msg.id);
      if (!done) return;
      this.pending.delete(msg.id);
      done(msg.ok ? { ok: true, value: msg.value } : { ok: false, hang: false, error: msg.error ?? 'error' });
    });
    w.on('error', (err) => this.failAll(`worker error: ${err.stack ?? err.message}`));
    w.on('exit', (code) => {
      if (this.worker === w) this.worker = undefined;
      this.failAll(`worker exited with code ${code}`);
    });
    this.worker = w;
  }

  private failAll(error: string): void {
    for (const [id, done] of this.pending) {
      this.pending.delete(id);
      done({ ok: false, hang: false, error });
    }
  }

  get alive(): boolean {
    return this.worker !== undefined;
  }

  /** Calls target[method](...args) in the worker; a call past the bound terminates the worker. */
  call<T = unknown>(method: string, args: unknown[] = [], boundMs = this.boundMs): Promise<GuardedResult<T>> {
    const w = this.worker;
    if (!w) return Promise.resolve({ ok: false, hang: false, error: 'worker is not running (restart it)' });
    const id = ++this.seq;
    return new Promise<GuardedResult<T>>((resolve) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        this.hangs++;
        this.worker = undefined;
        void w.terminate();
        this.failAll('worker terminated after a hang');
        resolve({ ok: false, hang: true, error: `${method} did not return within ${boundMs} ms` });
      }, boundMs);
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r as GuardedResult<T>);
      });
      w.postMessage({ id, method, args });
    });
  }

  /** A fresh worker (after a hang); waits for the module to load. */
  async restart(): Promise<void> {
    await this.close();
    this.spawn();
    await this.call('__ping__', [], 60_000);
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }
}

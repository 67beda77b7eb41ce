/**
 * PluginHost against plugins that hang or break the lifecycle contract. Deadlines run on fake
 * timers: nothing here waits on the wall clock.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CwtsContainer } from '../di/container.js';
import { TOKENS } from '../di/tokens.js';
import type { Logger } from '../observability/logger.js';
import { silentLogger } from '../observability/logger.js';
import { PluginLoadError } from './errors.js';
import { DEFAULT_PLUGIN_DISPOSE_TIMEOUT_MS, DEFAULT_PLUGIN_INIT_TIMEOUT_MS, PluginHost } from './loader.js';
import { CORE_API_VERSION, type PluginManifest } from './manifest.js';

const never = () => new Promise<void>(() => {});
function plugin(name: string, extra: Partial<PluginManifest> = {}): PluginManifest {
  return { name, kind: 'detector', coreApi: CORE_API_VERSION, register() {}, ...extra };
}
/** How `p` has settled once `ms` of fake time has run. */
async function settleAfter(p: Promise<unknown>, ms: number): Promise<{ settled: boolean; error?: unknown }> {
  let out: { settled: boolean; error?: unknown } = { settled: false };
  p.then(() => (out = { settled: true }), (e: unknown) => (out = { settled: true, error: e }));
  await vi.advanceTimersByTimeAsync(ms);
  return out;
}
/** A logger that keeps its error lines. */
function recordingLogger(): { logger: Logger; errors: { obj: unknown; msg: unknown }[] } {
  const errors: { obj: unknown; msg: unknown }[] = [];
  const base = silentLogger();
  const logger = new Proxy(base, {
    get(target, prop, receiver) {
      if (prop === 'error') return (obj: unknown, msg?: unknown) => void errors.push({ obj, msg });
      if (prop === 'child') return () => logger;
      return Reflect.get(target, prop, receiver);
    },
  });
  return { logger, errors };
}

afterEach(() => vi.useRealTimers());

describe('PluginHost: register() must be synchronous', () => {
  it('an async register() is REGISTER_FAILED naming the plugin, and is not kept', () => {
    const host = new PluginHost(silentLogger());
    const root = CwtsContainer.createRoot();
    const m = plugin('acme-async-risk', {
      kind: 'risk',
      // What the bug looked like: the check lands after compose read the container.
      register: (async ({ registrar }: Parameters<PluginManifest['register']>[0]) => {
        await Promise.resolve();
        registrar.value(TOKENS.RiskCheck, { name: 'max_lots', check: () => ({ ok: true }) });
      }) as PluginManifest['register'],
    });
    let err: unknown;
    try {
      host.register(m, root, 'fat_finger', {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PluginLoadError);
    expect({ code: (err as PluginLoadError).code, plugin: (err as PluginLoadError).plugin }).toEqual({ code: 'REGISTER_FAILED', plugin: 'acme-async-risk' });
    expect((err as Error).message).toBe('acme-async-risk (fat_finger): register() must be synchronous; do I/O in initialize() (it returned a promise)');
    expect(host.names).toEqual([]);
  });

  it('the rejection of an async register() is swallowed, not an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const host = new PluginHost(silentLogger());
      const m = plugin('acme-async-throws', { register: (() => Promise.reject(new Error('limits file missing'))) as PluginManifest['register'] });
      expect(() => host.register(m, CwtsContainer.createRoot(), 'x', {})).toThrow(/register\(\) must be synchronous/);
      // Node reports unhandled rejections once the microtask queue has drained.
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });
});

describe('PluginHost: initialize() deadline', () => {
  it('an initialize() that never resolves fails startup with INITIALIZE_FAILED naming the plugin, at the default 60 s', async () => {
    vi.useFakeTimers();
    const host = new PluginHost(silentLogger());
    host.register(plugin('acme-hangs-on-init', { initialize: never }), CwtsContainer.createRoot(), 'acme', {});
    const p = host.initializeAll();
    expect((await settleAfter(p, DEFAULT_PLUGIN_INIT_TIMEOUT_MS - 1)).settled).toBe(false);
    const r = await settleAfter(p, 1);
    expect(r.settled).toBe(true);
    expect(r.error).toBeInstanceOf(PluginLoadError);
    expect((r.error as PluginLoadError).code).toBe('INITIALIZE_FAILED');
    expect((r.error as Error).message).toBe('acme-hangs-on-init (acme): initialize() did not finish within 60000 ms ([system] plugin_init_timeout_ms)');
  });

  it('the deadline is the configured one; the plugins initialized before are disposed in reverse order, the hung one is told by its signal', async () => {
    vi.useFakeTimers();
    const host = new PluginHost(silentLogger(), { initializeTimeoutMs: 1000 });
    const root = CwtsContainer.createRoot();
    const order: string[] = [];
    let signal: AbortSignal | undefined;
    host.register(plugin('acme-a', { initialize: async () => void order.push('init a'), dispose: async () => void order.push('dispose a') }), root, 'a', {});
    host.register(plugin('acme-b', { initialize: async () => void order.push('init b'), dispose: async () => void order.push('dispose b') }), root, 'b', {});
    host.register(plugin('acme-hang', { initialize: (ctx) => ((signal = ctx.signal), never()), dispose: async () => void order.push('dispose hang') }), root, 'hang', {});
    host.register(plugin('acme-after', { initialize: async () => void order.push('init after'), dispose: async () => void order.push('dispose after') }), root, 'after', {});
    const r = await settleAfter(host.initializeAll(), 1000);
    expect((r.error as Error).message).toMatch(/^acme-hang \(hang\): initialize\(\) did not finish within 1000 ms/);
    expect(order).toEqual(['init a', 'init b', 'dispose b', 'dispose a']);
    expect(signal?.aborted).toBe(true);
    // The host is empty: a later disposeAll (compose's) does nothing twice.
    await host.disposeAll();
    expect(order).toEqual(['init a', 'init b', 'dispose b', 'dispose a']);
    expect(host.names).toEqual([]);
  });

  it('an initialize() that throws synchronously is INITIALIZE_FAILED too, and earlier plugins are disposed', async () => {
    const host = new PluginHost(silentLogger());
    const root = CwtsContainer.createRoot();
    let disposed = false;
    host.register(plugin('acme-a', { initialize: async () => {}, dispose: async () => void (disposed = true) }), root, 'a', {});
    host.register(plugin('acme-sync-throw', { initialize: (() => { throw new Error('no device'); }) as PluginManifest['initialize'] }), root, 'b', {});
    await expect(host.initializeAll()).rejects.toThrow('acme-sync-throw (b): initialize() failed: no device');
    expect(disposed).toBe(true);
  });

  it('refuses a deadline a timer cannot hold', () => {
    expect(() => new PluginHost(silentLogger(), { initializeTimeoutMs: 0 })).toThrow(RangeError);
    expect(() => new PluginHost(silentLogger(), { disposeTimeoutMs: 2 ** 31 })).toThrow(RangeError);
    expect(() => new PluginHost(silentLogger(), { disposeTimeoutMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('PluginHost: startup abandoned (a shutdown signal while plugins initialize)', () => {
  it('the plugin initializing is told by its signal, no later one starts, the initialized ones are disposed in reverse order, and the reason is thrown', async () => {
    const host = new PluginHost(silentLogger());
    const root = CwtsContainer.createRoot();
    const order: string[] = [];
    const abandon = new AbortController();
    const sigterm = new Error('startup abandoned: SIGTERM');
    let signal: AbortSignal | undefined;
    host.register(plugin('acme-a', { initialize: async () => void order.push('init a'), dispose: async () => void order.push('dispose a') }), root, 'a', {});
    host.register(plugin('acme-b', { initialize: async () => void order.push('init b'), dispose: async () => void order.push('dispose b') }), root, 'b', {});
    // a venue handshake that ignores its signal: the host does not wait for it
    host.register(plugin('acme-slow', { initialize: (ctx) => ((signal = ctx.signal), abandon.abort(sigterm), never()), dispose: async () => void order.push('dispose slow') }), root, 'slow', {});
    host.register(plugin('acme-after', { initialize: async () => void order.push('init after'), dispose: async () => void order.push('dispose after') }), root, 'after', {});
    await expect(host.initializeAll({ signal: abandon.signal })).rejects.toBe(sigterm);
    expect(order).toEqual(['init a', 'init b', 'dispose b', 'dispose a']);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(sigterm);
    expect(host.names).toEqual([]);
  });

  it('a plugin rejecting on its aborted signal is the abandon, not INITIALIZE_FAILED; aborted before the first, none starts', async () => {
    const host = new PluginHost(silentLogger());
    const root = CwtsContainer.createRoot();
    const abandon = new AbortController();
    const sigint = new Error('startup abandoned: SIGINT');
    let disposed = false;
    host.register(plugin('acme-a', { initialize: async () => {}, dispose: async () => void (disposed = true) }), root, 'a', {});
    host.register(
      plugin('acme-honours-signal', {
        initialize: (ctx) =>
          new Promise<void>((_, reject) => {
            ctx.signal!.addEventListener('abort', () => reject(new Error('handshake cancelled')));
            abandon.abort(sigint);
          }),
      }),
      root,
      'b',
      {},
    );
    await expect(host.initializeAll({ signal: abandon.signal })).rejects.toBe(sigint);
    expect(disposed).toBe(true);

    const untouched = new PluginHost(silentLogger());
    let started = false;
    untouched.register(plugin('acme-a', { initialize: async () => void (started = true) }), CwtsContainer.createRoot(), 'a', {});
    await expect(untouched.initializeAll({ signal: AbortSignal.abort(new Error('stopped')) })).rejects.toThrow('stopped');
    expect(started).toBe(false);
  });
});

describe('PluginHost: dispose() deadline', () => {
  it('a dispose() that never resolves: logged, the others are still disposed in reverse order, disposeAll returns', async () => {
    vi.useFakeTimers();
    const { logger, errors } = recordingLogger();
    const host = new PluginHost(logger);
    const root = CwtsContainer.createRoot();
    const order: string[] = [];
    host.register(plugin('acme-gpu', { dispose: async () => void order.push('gpu') }), root, 'gpu', {});
    host.register(plugin('acme-hangs-on-dispose', { dispose: never }), root, 'hang', {});
    host.register(plugin('acme-last', { dispose: async () => void order.push('last') }), root, 'last', {});
    await host.initializeAll();
    const p = host.disposeAll();
    expect((await settleAfter(p, DEFAULT_PLUGIN_DISPOSE_TIMEOUT_MS - 1)).settled).toBe(false);
    expect(order).toEqual(['last']);
    const r = await settleAfter(p, 1);
    expect({ settled: r.settled, error: r.error, order }).toEqual({ settled: true, error: undefined, order: ['last', 'gpu'] });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.obj).toMatchObject({ plugin: 'acme-hangs-on-dispose', timeoutMs: DEFAULT_PLUGIN_DISPOSE_TIMEOUT_MS });
  });

  it('a dispose() that throws, synchronously or not, never makes disposeAll throw', async () => {
    const { logger, errors } = recordingLogger();
    const host = new PluginHost(logger, { disposeTimeoutMs: 100 });
    const root = CwtsContainer.createRoot();
    let first = false;
    host.register(plugin('acme-first', { dispose: async () => void (first = true) }), root, 'a', {});
    host.register(plugin('acme-rejects', { dispose: () => Promise.reject(new Error('busy')) }), root, 'b', {});
    host.register(plugin('acme-throws', { dispose: (() => { throw new Error('boom'); }) as PluginManifest['dispose'] }), root, 'c', {});
    await host.initializeAll();
    await expect(host.disposeAll()).resolves.toBeUndefined();
    expect(first).toBe(true);
    expect(errors.map((e) => (e.obj as { plugin: string }).plugin)).toEqual(['acme-throws', 'acme-rejects']);
  });
});

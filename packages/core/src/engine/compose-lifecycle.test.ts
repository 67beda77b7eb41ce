/**
 * composeDeployment against plugins that misbehave as third-party plugins do: each must end in
 * a clear error with everything already acquired released (plugins disposed, journal closed), or
 * in a clean load; never a half-initialized engine or a process that cannot exit.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfigFile } from '../config/load.js';
import type { Deployment } from './compose.js';
import { NOOP_DETECTOR, composeFile, deploymentToml, pluginFolder, trackedDetectorPlugin, tracked } from './compose.fixture.js';
import { preparePlugins } from './prepare-plugins.js';
import { CwtsContainer } from '../di/container.js';
import { silentLogger } from '../observability/logger.js';

const { dir, file, remove } = pluginFolder('cwts-compose-lifecycle-');
afterAll(remove);

const config = (extra: string, exchanges?: string) => file('config.toml', deploymentToml({ name: 'lifecycle', exchanges, extra }));

/** `configPath` with `keys` added to its [system] table. */
function withSystemKeys(configPath: string, keys: string): string {
  return file('system.toml', readFileSync(configPath, 'utf8').replace('mode = "paper"\n', `mode = "paper"\n${keys}\n`));
}

const trackedDetector = (key: string) => file('tracked-detector.mjs', trackedDetectorPlugin(key));

let dep: Deployment | undefined;
afterEach(async () => {
  await dep?.dispose();
  dep = undefined;
});

describe('composeDeployment with a buggy plugin', () => {
  it('a risk plugin whose register() is async is refused naming it, not run half-registered (its check would be skipped)', async () => {
    // A plausible mistake: `async register()` that loads its limits first. What it registers
    // after the await lands in the container after the engine took its list of checks: a 51-lot
    // order would pass its 50-lot cap. The await here never ends during compose (a gate the test
    // holds), so without the refusal compose succeeds without the check, deterministically.
    const plugin = file(
      'async-register-risk.mjs',
      `const RiskCheck = { symbol: Symbol.for('cwts.RiskCheck'), description: 'RiskCheck', multi: true };
       export const plugin = {
         name: 'acme-async-risk', kind: 'risk', coreApi: '1.0',
         async register({ registrar }) {
           await new Promise((r) => { globalThis.__lifecycleGate = r; });
           registrar.value(RiskCheck, { name: 'max_lots', check: (i) => (i.qty <= 50 ? { ok: true } : { ok: false, reason: 'RISK_CUSTOM', message: 'over 50 lots' }) });
         },
       };`,
    );
    const g = globalThis as { __lifecycleGate?: () => void };
    let err: unknown;
    try {
      dep = await composeFile(config(`[risk_checks.fat_finger]\nplugin = ${JSON.stringify(plugin)}\n`));
    } catch (e) {
      err = e;
    }
    g.__lifecycleGate?.();
    expect({ composeFailed: err !== undefined, checks: dep?.engine ? 'engine built without max_lots' : undefined }).toEqual({ composeFailed: true, checks: undefined });
    expect(String((err as Error).message)).toMatch(/acme-async-risk \(fat_finger\): register\(\) must be synchronous; do I\/O in initialize\(\)/);
  });

  it('a strategy whose factory throws at resolve: plugins already initialized are disposed, the error is the cause', async () => {
    const strategy = file(
      'throwing-strategy.mjs',
      `const Strategy = { symbol: Symbol.for('cwts.Strategy'), description: 'Strategy', multi: false };
       export const plugin = {
         name: 'acme-strategy', kind: 'strategy', coreApi: '1.0',
         register({ registrar }) { registrar.factory(Strategy, () => { throw new Error('model file missing'); }); },
         async initialize() { globalThis.__lifecycleStrategy = { opened: 1, disposed: 0 }; },
         async dispose() { globalThis.__lifecycleStrategy.disposed++; },
       };`,
    );
    const err = await composeFile(config(`[strategy]\nplugin = ${JSON.stringify(strategy)}\n`)).catch((e: unknown) => e);
    expect(String(err)).toMatch(/model file missing/);
    expect(tracked('__lifecycleStrategy')).toEqual({ opened: 1, disposed: 1 });
  });

  it.each([
    ['a risk check', 'risk_checks.broken', 'risk', `const T = { symbol: Symbol.for('cwts.RiskCheck'), description: 'RiskCheck', multi: true };`, 'limits file missing'],
    ['a detector', 'detectors.broken', 'detector', `const T = { symbol: Symbol.for('cwts.Detector'), description: 'Detector', multi: true };`, 'pattern store missing'],
  ])('%s whose factory throws at resolve: every initialized plugin is disposed', async (_what, table, kind, token, message) => {
    const key = `__lifecycle_${kind}`;
    const broken = file(
      `broken-${kind}.mjs`,
      `${token}
       export const plugin = { name: 'acme-broken-${kind}', kind: '${kind}', coreApi: '1.0', register({ registrar }) { registrar.factory(T, () => { throw new Error('${message}'); }); } };`,
    );
    const err = await composeFile(config(`[detectors.tracked]\nplugin = ${JSON.stringify(trackedDetector(key))}\n\n[${table}]\nplugin = ${JSON.stringify(broken)}\n`)).catch((e: unknown) => e);
    expect(String(err)).toContain(message);
    expect(tracked(key)).toEqual({ opened: 1, disposed: 1 });
  });

  it('a venue whose clients throw when built (createVenue): every initialized plugin is disposed', async () => {
    const key = '__lifecycle_venue';
    const venue = file(
      'broken-venue.mjs',
      `const MD = { symbol: Symbol.for('cwts.MarketDataClient'), description: 'MarketDataClient', multi: false };
       const EX = { symbol: Symbol.for('cwts.ExecutionClient'), description: 'ExecutionClient', multi: false };
       const fail = () => { throw new Error('acme: instruments file missing'); };
       export const plugin = { name: 'acme-exchange-broken', kind: 'exchange', coreApi: '1.0', register({ registrar }) { registrar.factory(MD, fail); registrar.factory(EX, fail); } };`,
    );
    const err = await composeFile(
      config(`[detectors.tracked]\nplugin = ${JSON.stringify(trackedDetector(key))}\n`, `[exchanges]\nenabled = ["acme"]\n\n[acme]\nplugin = ${JSON.stringify(venue)}\nsymbols = ["BTCUSDT"]\n`),
    ).catch((e: unknown) => e);
    expect(String(err)).toMatch(/instruments file missing/);
    expect(tracked(key)).toEqual({ opened: 1, disposed: 1 });
  });

  it('a failure after the journal is opened closes it: the same data directory composes again', async () => {
    const key = '__lifecycle_journal';
    const dataDir = mkdtempSync(path.join(dir, 'data-'));
    // The router is resolved after the journal is opened.
    const router = file(
      'broken-router.mjs',
      `const Router = { symbol: Symbol.for('cwts.OrderRouter'), description: 'OrderRouter', multi: false };
       export const plugin = { name: 'acme-router', kind: 'detector', coreApi: '1.0', overrides: [Router], register({ registrar }) { ${NOOP_DETECTOR} registrar.factory(Router, () => { throw new Error('routing table missing'); }); } };`,
    );
    const err = await composeFile(config(`[detectors.tracked]\nplugin = ${JSON.stringify(trackedDetector(key))}\n\n[detectors.router]\nplugin = ${JSON.stringify(router)}\n`), { journal: true, dataDir }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/routing table missing/);
    expect(tracked(key)).toEqual({ opened: 1, disposed: 1 });
    // A journal left open keeps its writer lock (and its writer thread: `run` would not exit).
    dep = await composeFile(config(''), { journal: true, dataDir });
    expect(dep.engine).toBeDefined();
  });

  it('validateOptions() that returns nothing when the options are fine loads (undefined means no issues)', async () => {
    const plugin = file(
      'validate-returns-undefined.mjs',
      `const Strategy = { symbol: Symbol.for('cwts.Strategy'), description: 'Strategy', multi: false };
       export const plugin = {
         name: 'acme-lax-validate', kind: 'strategy', coreApi: '1.0',
         validateOptions(options, path) { if (options.size !== undefined && typeof options.size !== 'number') return [{ path: path + '.size', message: 'a number' }]; },
         register({ registrar }) { registrar.value(Strategy, { name: 'noop', onSignal() {} }); },
       };`,
    );
    dep = await composeFile(config(`[strategy]\nplugin = ${JSON.stringify(plugin)}\nsize = 3\n`));
    expect(dep.engine).toBeDefined();
    // Its real issues still count.
    const err = await composeFile(config(`[strategy]\nplugin = ${JSON.stringify(plugin)}\nsize = "3"\n`)).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/strategy\.size: a number/);
  });

  it('validateOptions() that returns something other than an array is an issue naming the plugin', async () => {
    const plugin = file(
      'validate-returns-object.mjs',
      `export const plugin = {
         name: 'acme-odd-validate', kind: 'strategy', coreApi: '1.0',
         validateOptions() { return { ok: true }; },
         register() {},
       };`,
    );
    const err = await composeFile(config(`[strategy]\nplugin = ${JSON.stringify(plugin)}\n`)).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/acme-odd-validate: validateOptions\(\) returned an object, not an array/);
  });
});

describe('composeDeployment abandoned (run got a shutdown signal while starting)', () => {
  it('during a plugin\'s initialize(): it rejects with the reason, the plugin is told by its signal, those initialized are disposed', async () => {
    const key = '__composeAbandonInit';
    const first = trackedDetector(`${key}First`);
    // Waits for its signal only, and reports that it started and that it was told.
    const slow = file(
      'slow-detector.mjs',
      `export const plugin = {
         name: 'acme-slow', kind: 'detector', coreApi: '1.0',
         register({ registrar }) { ${NOOP_DETECTOR} },
         initialize(ctx) {
           return new Promise((_, reject) => {
             ctx.signal.addEventListener('abort', () => { globalThis.${key}.told = true; reject(new Error('handshake cancelled')); });
             globalThis.${key}.started();
           });
         },
       };`,
    );
    const started = new Promise<void>((r) => ((globalThis as Record<string, unknown>)[key] = { started: r, told: false }));
    const abandon = new AbortController();
    const reason = new Error('startup abandoned: SIGTERM');
    const composing = composeFile(config(`[detectors.first]\nplugin = ${JSON.stringify(first)}\n\n[detectors.slow]\nplugin = ${JSON.stringify(slow)}\n`), { signal: abandon.signal });
    await started;
    abandon.abort(reason);
    await expect(composing).rejects.toBe(reason);
    expect((globalThis as Record<string, { told: boolean }>)[key]!.told).toBe(true);
    expect(tracked(`${key}First`)).toEqual({ opened: 1, disposed: 1 });
  });

  it('during the compute backend\'s create(): it rejects with the reason once create() is done, and that backend is disposed with the plugins', async () => {
    const key = '__composeAbandonBackend';
    const detector = trackedDetector(`${key}Detector`);
    const backend = file(
      'slow-backend.mjs',
      `const token = { symbol: Symbol.for('cwts.ComputeBackendProvider'), description: 'ComputeBackendProvider', multi: true };
       const state = globalThis.${key};
       const provider = {
         name: 'slow', priority: 10, gpu: false,
         async probe() { return { available: true, device: { name: 'Slow CPU', type: 'cpu' } }; },
         async create() {
           state.creating();
           await state.release;
           return { name: 'slow', device: { name: 'Slow CPU', type: 'cpu' }, async dispose() { state.disposed++; } };
         },
       };
       export const plugin = { name: 'acme-slow-backend', kind: 'backend', coreApi: '1.0', register(ctx) { ctx.registrar.value(token, provider); } };`,
    );
    let release!: () => void;
    const state = { creating: () => {}, release: new Promise<void>((r) => (release = r)), disposed: 0 };
    const creating = new Promise<void>((r) => (state.creating = r));
    (globalThis as Record<string, unknown>)[key] = state;
    const abandon = new AbortController();
    const reason = new Error('startup abandoned: SIGINT');
    const cfg = config(`[compute.slow]\nplugin = ${JSON.stringify(backend)}\n\n[detectors.tracked]\nplugin = ${JSON.stringify(detector)}\n`);
    let outcome: unknown;
    const composing = composeFile(file('backend.toml', readFileSync(cfg, 'utf8').replace('backends = ["js"]', 'backends = ["slow"]')), { signal: abandon.signal }).then(
      (d) => (dep = d),
      (e: unknown) => (outcome = e),
    );
    await creating;
    abandon.abort(reason);
    release();
    await composing;
    expect(outcome).toBe(reason);
    expect(state.disposed).toBe(1);
    expect(tracked(`${key}Detector`)).toEqual({ opened: 1, disposed: 1 });
  });
});

describe('plugin deadlines from [system]', () => {
  afterEach(() => vi.useRealTimers());

  it('plugin_init_timeout_ms bounds each initialize(): a hung one fails startup naming it', async () => {
    const hung = file(
      'hung-detector.mjs',
      `export const plugin = { name: 'acme-hung', kind: 'detector', coreApi: '1.0', register() {}, initialize: () => new Promise(() => {}) };`,
    );
    const loaded = loadConfigFile(withSystemKeys(config(`[detectors.hung]\nplugin = ${JSON.stringify(hung)}\n`), 'plugin_init_timeout_ms = 2000'));
    const { host } = await preparePlugins({ loaded, root: CwtsContainer.createRoot(), logger: silentLogger() });
    vi.useFakeTimers();
    let error: unknown;
    host.initializeAll().catch((e: unknown) => (error = e));
    await vi.advanceTimersByTimeAsync(1999);
    expect(error).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(String((error as Error)?.message)).toBe('acme-hung (hung): initialize() did not finish within 2000 ms ([system] plugin_init_timeout_ms)');
  });

  it('the keys load from the file, with their ranges checked', () => {
    const withKeys = (keys: string) => withSystemKeys(config(''), keys);
    expect(loadConfigFile(withKeys('plugin_init_timeout_ms = 120000\nplugin_dispose_timeout_ms = 2000')).config.system).toMatchObject({ plugin_init_timeout_ms: 120_000, plugin_dispose_timeout_ms: 2000 });
    expect(loadConfigFile(config('')).config.system).toMatchObject({ plugin_init_timeout_ms: 60_000, plugin_dispose_timeout_ms: 5000 });
    expect(() => loadConfigFile(withKeys('plugin_init_timeout_ms = 0'))).toThrow(/system\.plugin_init_timeout_ms/);
    expect(() => loadConfigFile(withKeys('plugin_dispose_timeout_ms = 10000000'))).toThrow(/system\.plugin_dispose_timeout_ms/);
  });
});

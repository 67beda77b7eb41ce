/**
 * A plugin module whose import never finishes (a top-level `await` on a connection that never
 * answers) must not hang startup or validate-config for good: the wait for it is bounded by
 * `[system] plugin_init_timeout_ms` and ends at once when `run` abandons startup (SIGTERM).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../config/errors.js';
import { parseConfig } from '../config/load.js';
import { CwtsContainer } from '../di/container.js';
import { composeDeployment } from '../engine/compose.js';
import { registerCoreServices } from '../engine/core-services.js';
import { preparePlugins } from '../engine/prepare-plugins.js';
import { ManualClock } from '../contracts/clock.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { simConfig } from '../../test/fixtures/sim-config.js';
import { PluginLoadError } from './errors.js';
import { importPlugin } from './loader.js';

/** A risk plugin whose top-level await never settles, with no handle: the test process can still exit. Fresh per test (import() caches a module). */
function hangingPlugin(): { dir: string; spec: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cwts-import-hang-'));
  writeFileSync(
    join(dir, 'hang.mjs'),
    'await new Promise(() => {});\n' +
      'const RISK_CHECK = { symbol: Symbol.for("cwts.RiskCheck"), description: "RiskCheck", multi: true };\n' +
      'export const plugin = { name: "hang", kind: "risk", coreApi: "1.0", register({ registrar }) { registrar.value(RISK_CHECK, { name: "hang", check: () => ({ ok: true }) }); } };\n',
  );
  return { dir, spec: './hang.mjs' };
}

const REQ = { spec: './hang.mjs', kind: 'risk' as const, origin: 'risk_checks.hang.plugin' };

/**
 * Settles `p` into a box and lets the event loop turn (setImmediate is not faked), so a test
 * checks `done` instead of awaiting a promise that, broken, would never settle.
 */
function watch<T>(p: Promise<T>): { done: boolean; error?: unknown } {
  const box: { done: boolean; error?: unknown } = { done: false };
  p.then(
    () => (box.done = true),
    (err: unknown) => {
      box.done = true;
      box.error = err;
    },
  );
  return box;
}
const turns = async (n = 5): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};


afterEach(() => {
  vi.useRealTimers();
});

describe('a plugin whose import never settles', () => {
  it('importPlugin gives up at its deadline with IMPORT_FAILED naming the spec, the config key and plugin_init_timeout_ms, and leaves no timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { dir } = hangingPlugin();
    const loading = watch(importPlugin(REQ, dir, { timeoutMs: 1_000 }));
    await vi.advanceTimersByTimeAsync(999);
    await turns();
    expect(loading.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await turns();
    expect(loading.done).toBe(true);
    const err = loading.error as PluginLoadError;
    expect(err).toBeInstanceOf(PluginLoadError);
    expect(err.code).toBe('IMPORT_FAILED');
    expect(err.message).toMatch(/^\.\/hang\.mjs \(risk_checks\.hang\.plugin\) did not finish loading within 1000 ms \(\[system\] plugin_init_timeout_ms\)/);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('without a deadline given (backends, doctor) importPlugin still gives up, at the default 60 s', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { dir } = hangingPlugin();
    const loading = watch(importPlugin(REQ, dir));
    await vi.advanceTimersByTimeAsync(60_000);
    await turns();
    expect(loading.done).toBe(true);
    expect((loading.error as Error).message).toMatch(/did not finish loading within 60000 ms/);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("importPlugin stops waiting when its signal aborts, with the signal's reason, and leaves no timer", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { dir } = hangingPlugin();
    const abandon = new AbortController();
    const reason = new Error('SIGTERM');
    const loading = watch(importPlugin(REQ, dir, { timeoutMs: 60_000, signal: abandon.signal }));
    abandon.abort(reason);
    await turns();
    expect(loading.done).toBe(true);
    expect(loading.error).toBe(reason);
    // already abandoned: nothing is imported
    await expect(importPlugin(REQ, dir, { signal: abandon.signal })).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('validate-config (preparePlugins) reports it as a config problem at [system] plugin_init_timeout_ms', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { dir } = hangingPlugin();
    const toml = simConfig('importhang', '[risk_checks.hang]\nplugin = "./hang.mjs"\n').replace('[system]\n', '[system]\nplugin_init_timeout_ms = 1000\n');
    const loaded = parseConfig(toml, {}, 'c.toml', dir);
    const root = CwtsContainer.createRoot('validate-config');
    registerCoreServices(root, { config: loaded.config, clock: new ManualClock(), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), timers: false, journal: true, onJournalError: () => {} });
    const preparing = watch(preparePlugins({ loaded, root, logger: silentLogger() }));
    await vi.advanceTimersByTimeAsync(1_000);
    // the other plugins (the sim venue, the js backend) load in real time: wait for them
    await vi.waitFor(() => expect(preparing.done).toBe(true), { timeout: 20_000 });
    expect(preparing.error).toBeInstanceOf(ConfigError);
    expect((preparing.error as Error).message).toMatch(/\.\/hang\.mjs \(risk_checks\.hang\.plugin\) did not finish loading within 1000 ms \(\[system\] plugin_init_timeout_ms\)/);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('composing is abandoned when its signal aborts (run got SIGTERM), instead of waiting for the import for ever', async () => {
    const { dir } = hangingPlugin();
    const loaded = parseConfig(simConfig('importhang', '[risk_checks.hang]\nplugin = "./hang.mjs"\n'), {}, 'c.toml', dir);
    const abandon = new AbortController();
    const composing = composeDeployment({ loaded, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), journal: false, watchdog: false, signal: abandon.signal });
    const reason = new Error('SIGTERM');
    const settled = composing.then(
      () => 'composed',
      (err: unknown) => (err === reason ? 'abandoned' : `failed: ${String(err)}`),
    );
    abandon.abort(reason);
    // Settles as soon as the abort is seen; the bound only makes a regression fail readably
    // instead of at the test timeout (the 60 s import deadline would also end it, as a failure).
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<string>((r) => (timer = setTimeout(() => r('still composing 10 s after the abort'), 10_000)));
    const outcome = await Promise.race([settled, bound]);
    clearTimeout(timer);
    expect(outcome).toBe('abandoned');
  }, 30_000);
});

/**
 * A compute backend whose dispose() never settles (a GPU context stuck in the driver, a kernel
 * call dispose() waits for that never ends). Every plugin call core makes at shutdown is bounded by
 * [system] plugin_dispose_timeout_ms (docs/operations.md, "Stop deadline"), the backends' dispose
 * included: the stop ends, the plugins are still disposed after it, and a startup that fails
 * after the backend was created still rejects (so `run` exits instead of hanging).
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { ComputeBackend, ComputeBackendProvider } from '../contracts/compute.js';
import { JsComputeBackend } from '../compute/js-backend.js';
import { ComputeRegistry } from '../compute/registry.js';
import { composeFile, deploymentToml, pluginFolder, trackedDetectorPlugin, tracked } from './compose.fixture.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { silentLogger } from '../observability/logger.js';

const { file, remove } = pluginFolder('cwts-backend-dispose-');
afterAll(remove);

function hungBackend(): string {
  return file(
    'hung-backend.mjs',
    `const token = { symbol: Symbol.for('cwts.ComputeBackendProvider'), description: 'ComputeBackendProvider', multi: true };
     const provider = {
       name: 'stuck', priority: 10, gpu: false,
       async probe() { return { available: true, device: { name: 'Stuck GPU', type: 'cpu' } }; },
       async create() { return { name: 'stuck', device: { name: 'Stuck GPU', type: 'cpu' }, dispose: () => new Promise(() => {}) }; },
     };
     export const plugin = { name: 'acme-stuck-backend', kind: 'backend', coreApi: '1.0', register(ctx) { ctx.registrar.value(token, provider); } };`,
  );
}

const trackedDetector = (key: string) => file('tracked-detector.mjs', trackedDetectorPlugin(key));

/** The stuck backend the only one, plugins given 200 ms to dispose, and `extra`. */
const config = (extra: string) =>
  file(
    'config.toml',
    deploymentToml({ name: 'backend-dispose', system: 'plugin_dispose_timeout_ms = 200', backends: ['stuck'], extra: `[compute.stuck]\nplugin = ${JSON.stringify(hungBackend())}\n\n${extra}` }),
  );

/** 'settled' when `p` settles within `ms` (25x the configured dispose deadline), else 'hung'. */
const within = (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => 'settled', () => 'settled'), new Promise((r) => setTimeout(() => r('hung'), ms).unref())]);

async function errorsOf(metrics: MetricsRegistry, component: string): Promise<string | undefined> {
  return (await metrics.text()).split('\n').find((l) => l.startsWith(`cwts_errors_total{component="${component}"}`))?.split(' ').pop();
}

describe('a compute backend whose dispose() hangs', () => {
  afterEach(() => {
    delete (globalThis as Record<string, unknown>).__backendDisposeStop;
    delete (globalThis as Record<string, unknown>).__backendDisposeStart;
  });

  it('Deployment.dispose() ends at the dispose deadline, counts it, and the plugins are still disposed', async () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    const dep = await composeFile(config(`[detectors.tracked]\nplugin = ${JSON.stringify(trackedDetector('__backendDisposeStop'))}\n`), { metrics });
    expect(await within(dep.dispose(), 5000)).toBe('settled');
    expect(tracked('__backendDisposeStop')).toEqual({ opened: 1, disposed: 1 });
    expect(await errorsOf(metrics, 'compute:stuck')).toBe('1');
  });

  it('a startup that fails after the backend was created still rejects, with its own error, the plugins disposed', async () => {
    const strategy = file(
      'throwing-strategy.mjs',
      `const Strategy = { symbol: Symbol.for('cwts.Strategy'), description: 'Strategy', multi: false };
       export const plugin = { name: 'acme-strategy', kind: 'strategy', coreApi: '1.0', register({ registrar }) { registrar.factory(Strategy, () => { throw new Error('model file missing'); }); } };`,
    );
    const composing = composeFile(config(`[detectors.tracked]\nplugin = ${JSON.stringify(trackedDetector('__backendDisposeStart'))}\n\n[strategy]\nplugin = ${JSON.stringify(strategy)}\n`));
    const outcome = composing.then(() => 'composed', (err: Error) => err.message);
    expect(await within(outcome, 5000)).toBe('settled');
    expect(await outcome).toMatch(/model file missing/);
    expect(tracked('__backendDisposeStart')).toEqual({ opened: 1, disposed: 1 });
  });
});

describe('ComputeRegistry.dispose(timeoutMs)', () => {
  afterEach(() => vi.useRealTimers());

  function provider(name: string, dispose: () => Promise<void>): ComputeBackendProvider {
    return {
      name,
      priority: 10,
      probe: async () => ({ available: true, device: { name: `${name} device`, type: 'discrete-gpu' } }),
      create: async (): Promise<ComputeBackend> => {
        const b = new JsComputeBackend();
        Object.defineProperty(b, 'name', { value: name });
        b.dispose = dispose;
        return b;
      },
    };
  }

  it('bounds each backend, waits for the others, never rejects, and returns what failed or ran out of time', async () => {
    let fineDisposed = false;
    const registry = new ComputeRegistry(silentLogger());
    registry.register(provider('hung', () => new Promise(() => {})));
    registry.register(provider('broken', async () => { throw new Error('device lost'); }));
    registry.register(provider('fine', async () => { fineDisposed = true; }));
    for (const name of ['hung', 'broken', 'fine']) await registry.resolve([name]);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let settled = false;
    const disposing = registry.dispose(1000).then((problems) => ((settled = true), problems));
    await vi.advanceTimersByTimeAsync(999);
    expect(settled, 'dispose() ended before the hung backend had its full deadline').toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const problems = await disposing;
    expect(fineDisposed).toBe(true);
    expect([...problems].sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'broken', timedOut: false, error: 'device lost' },
      { name: 'hung', timedOut: true, error: 'did not finish within 1000 ms' },
    ]);
  });
});

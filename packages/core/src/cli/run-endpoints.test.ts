/**
 * What `run` serves: /metrics shows the registry the engine writes to (a plugin may replace core's
 * metrics), and a stop that comes while the endpoints start leaves none of them listening (the
 * bin only sets process.exitCode: an open server would keep the process alive for ever).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpEndpoint } from '../observability/http.js';
import { OffThreadMetricsEndpoint } from '../observability/metrics-server.js';
import type { MetricsRegistry } from '../observability/metrics.js';
import { ANY_PORTS, simConfig } from '../../test/fixtures/sim-config.js';
import { runCommand } from './run.js';

/** Whether something accepts connections on 127.0.0.1:port. */
const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

describe('run: the endpoints', () => {
  const savedDataDir = process.env.CWTS_DATA_DIR;
  afterEach(() => {
    vi.restoreAllMocks();
    if (savedDataDir === undefined) delete process.env.CWTS_DATA_DIR;
    else process.env.CWTS_DATA_DIR = savedDataDir;
  });

  function deployment(name: string, extra = ''): string {
    const dir = mkdtempSync(join(tmpdir(), `cwts-run-${name}-`));
    process.env.CWTS_DATA_DIR = join(dir, 'data');
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, simConfig(name, ANY_PORTS) + extra);
    return cfg;
  }

  it('with a plugin that replaces core metrics (overrides: [TOKENS.Metrics]), /metrics serves the registry the engine writes to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-run-metrics-plugin-'));
    const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
    const plugin = join(dir, 'metrics-plugin.mjs');
    writeFileSync(
      plugin,
      `import { TOKENS } from ${JSON.stringify(join(dist, 'di/tokens.js'))};
       import { MetricsRegistry } from ${JSON.stringify(join(dist, 'observability/metrics.js'))};
       const metrics = new MetricsRegistry();
       globalThis.__pluginMetrics = metrics;
       export const plugin = {
         name: 'acme-metrics', kind: 'strategy', coreApi: '1.0', overrides: [TOKENS.Metrics],
         register({ registrar }) {
           registrar.value(TOKENS.Metrics, metrics);
           registrar.value(TOKENS.Strategy, { name: 'idle', onSignal() {} });
         },
       };`,
    );
    const cfg = deployment('metrics-override', `[strategy]\nplugin = ${JSON.stringify(plugin)}\n`);
    let served: MetricsRegistry | undefined;
    const listen = OffThreadMetricsEndpoint.prototype.listen;
    vi.spyOn(OffThreadMetricsEndpoint.prototype, 'listen').mockImplementation(function (this: OffThreadMetricsEndpoint, port: number, host: string) {
      served = (this as unknown as { metrics: MetricsRegistry }).metrics;
      return listen.call(this, port, host);
    });
    await runCommand({ config: cfg, duration: 1, logLevel: 'silent' });
    const pluginMetrics = (globalThis as Record<string, unknown>).__pluginMetrics as MetricsRegistry;
    // the engine counted the sim's market events into the plugin's registry, and /metrics serves it
    expect(await pluginMetrics.text()).toMatch(/cwts_market_events_total\{exchange="sim"/);
    expect(served).toBe(pluginMetrics);
  }, 60_000);

  it('a SIGTERM while the metrics endpoint starts: run returns as after any stop, and no endpoint is left listening', async () => {
    const cfg = deployment('startup-signal');
    const healthListens: number[] = [];
    const listen = HttpEndpoint.prototype.listen;
    vi.spyOn(HttpEndpoint.prototype, 'listen').mockImplementation(async function (this: HttpEndpoint, port: number, host: string) {
      const p = await listen.call(this, port, host);
      if (this.label === 'health') healthListens.push(p);
      return p;
    });
    let metricsPort: number | undefined;
    const metricsListen = OffThreadMetricsEndpoint.prototype.listen;
    vi.spyOn(OffThreadMetricsEndpoint.prototype, 'listen').mockImplementation(async function (this: OffThreadMetricsEndpoint, port: number, host: string) {
      // the supervisor's SIGTERM arrives while the metrics worker starts; the stop runs meanwhile
      process.emit('SIGTERM', 'SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      metricsPort = await metricsListen.call(this, port, host);
      return metricsPort;
    });
    expect(await runCommand({ config: cfg, logLevel: 'silent' })).toBe(0);
    expect(metricsPort).toBeDefined();
    expect(await accepts(metricsPort!)).toBe(false);
    for (const p of healthListens) expect(await accepts(p)).toBe(false);
  }, 60_000);
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfigFile } from '@cwts/core/config';
import { composeDeployment, type Deployment } from '@cwts/core/engine';
import { BackpressureMonitor, createLogger, HttpEndpoint, metricsRoutes, MetricsRegistry } from '@cwts/core/observability';
import { waitUntil } from '@cwts/core/testing';

// Back-pressure through a composed deployment (the sim venue, core's risk chain, /metrics over
// HTTP): the monitor is core's, on a manual monotonic clock, so the lag it sees is the test's.
const dir = mkdtempSync(path.join(tmpdir(), 'cwts-backpressure-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(): string {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(
    file,
    `[system]\nname = "backpressure-test"\nmode = "paper"\n\n[performance]\nmax_latency_ms = 5\n\n[exchanges]\nenabled = ["sim"]\n\n[sim]\nplugin = "@cwts/exchange-sim"\nsymbols = ["BTCUSDT"]\n\n` +
      `[risk]\nmax_position = 100000\nmax_drawdown = 0.15\nkelly_fraction = 0.25\nvar_confidence = 0.99\n\n[compute]\nbackends = ["js"]\n`,
  );
  return file;
}

let dep: Deployment | undefined;
let http: HttpEndpoint | undefined;
afterEach(async () => {
  await dep?.dispose();
  await http?.close();
  dep = http = undefined;
});

describe('back-pressure in a running deployment', () => {
  it('a lag over [performance] max_latency_ms is warned once, shown in /metrics, and refuses new risk with BACKPRESSURE until it recovers', async () => {
    const loaded = loadConfigFile(config());
    const lines: { level: number; msg: string }[] = [];
    const logger = createLogger({
      level: 'info',
      pretty: false,
      destination: new Writable({
        write(chunk, _e, cb) {
          for (const l of String(chunk).trim().split('\n')) lines.push(JSON.parse(l));
          cb();
        },
      }),
    });
    const metrics = new MetricsRegistry();
    let t = 0;
    const monitor = new BackpressureMonitor({ budgetMs: loaded.config.performance.max_latency_ms, metrics, logger, now: () => t, busy: () => 1, recoverAfterMs: 100 });
    dep = await composeDeployment({ loaded, logger, metrics, journal: false, watchdog: false, backpressure: monitor });
    expect(dep.backpressure).toBe(monitor);
    http = new HttpEndpoint('metrics', metricsRoutes(metrics));
    const port = await http.listen(0, '127.0.0.1');
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const engine = dep.engine;
    await engine.start();
    monitor.stop(); // the test samples by hand
    await waitUntil(() => engine.book('sim', 'BTCUSDT')?.synced === true && engine.book('sim', 'BTCUSDT')!.bestAsk() !== undefined, 'the sim BTCUSDT book to sync', 20_000);
    const buy = (qty: number) => engine.submit({ exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'market', qty, tif: 'IOC', source: 'test' });
    const sell = (qty: number) => engine.submit({ exchange: 'sim', symbol: 'BTCUSDT', side: 'sell', type: 'market', qty, tif: 'IOC', source: 'test' });

    expect(buy(20)).toMatchObject({ accepted: true });
    await vi.waitFor(() => expect(engine.portfolio.qty('sim', 'BTCUSDT')).toBe(20), { timeout: 20_000, interval: 10 });
    const held = engine.portfolio.qty('sim', 'BTCUSDT');

    // Two samples 12 ms late against a 5 ms budget: intake outpaces the engine.
    const late = (ms: number) => {
      t += 10 + ms;
      monitor.sample();
    };
    monitor.sample();
    late(12);
    late(12);
    expect(buy(20)).toMatchObject({ accepted: false, reason: 'BACKPRESSURE' });
    expect(sell(held)).toMatchObject({ accepted: true }); // an exit still goes
    const text = await scrape();
    expect(text).toMatch(/^cwts_risk_rejections_total\{reason="BACKPRESSURE"\} 1$/m);
    expect(text).toMatch(/^cwts_backpressure 1$/m);
    expect(text).toMatch(/^cwts_event_loop_lag_seconds 0\.012$/m);
    await new Promise((r) => setImmediate(r));
    expect(lines.filter((l) => l.level === 40 && /^back-pressure:/.test(l.msg))).toHaveLength(1);

    for (let i = 0; i < 11; i++) late(0);
    expect(monitor.active).toBe(false);
    expect(buy(20)).toMatchObject({ accepted: true });
    await vi.waitFor(async () => expect(await scrape()).toMatch(/^cwts_backpressure 0$/m), { timeout: 5_000, interval: 100 });
    expect(lines.some((l) => l.level === 30 && /^back-pressure over after 110 ms \(peak lag 12 ms, 1 order\(s\) refused\)/.test(l.msg))).toBe(true);
  }, 60_000);

  it('a deployment builds its monitor from [performance] max_latency_ms; replay (no watchdog) has none', async () => {
    const loaded = loadConfigFile(config());
    const logger = createLogger({ level: 'silent' });
    dep = await composeDeployment({ loaded, logger, metrics: new MetricsRegistry({ processMetrics: false }), journal: false });
    expect(dep.backpressure?.budgetMs).toBe(5);
    await dep.dispose();
    dep = await composeDeployment({ loaded, logger, metrics: new MetricsRegistry({ processMetrics: false }), journal: false, watchdog: false });
    expect(dep.backpressure).toBeUndefined();
  }, 60_000);
});

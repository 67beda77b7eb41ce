/**
 * Engine.stop() bounds every plugin call it waits for: a venue client's stop() that never settles
 * (a WebSocket close waiting for the venue's closing frame) once kept stop() from returning, so
 * `run` never exited on SIGTERM and the journal was never closed (the next start reported an
 * unclean shutdown). Each venue stop and detector dispose runs under `[system]
 * plugin_dispose_timeout_ms`; the one past it is logged and counted, and the stop goes on.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfigFile } from '../config/load.js';
import { ManualClock } from '../contracts/clock.js';
import { defineInstrument } from '../domain/instrument.js';
import { composeDeployment } from './compose.js';
import { Engine } from './engine.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { createLogger, silentLogger } from '../observability/logger.js';
import { ScriptedVenue } from './test-venue.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cwts-stop-deadline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.useRealTimers());

function config(systemKeys = ''): string {
  const f = path.join(dir, `config-${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(
    f,
    `[system]\nname = "hung"\nmode = "paper"\n${systemKeys}\n[exchanges]\nenabled = ["sim"]\n\n[sim]\nplugin = "@cwts/exchange-sim"\nsymbols = ["BTCUSDT"]\n\n` +
      `[risk]\nmax_position = 100000\nmax_drawdown = 0.15\nkelly_fraction = 0.25\nvar_confidence = 0.99\n\n[compute]\nbackends = ["js"]\n`,
  );
  return f;
}

const errorsOf = async (metrics: MetricsRegistry, component: string): Promise<number> => {
  const line = (await metrics.text()).split('\n').find((l) => l.startsWith(`cwts_errors_total{component="${component}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
};

describe('Engine.stop() with a venue client whose stop() never settles', () => {
  it('returns and closes the journal once plugin_dispose_timeout_ms has passed, counting the client as an error', async () => {
    const dataDir = mkdtempSync(path.join(dir, 'data-'));
    const metrics = new MetricsRegistry();
    const dep = await composeDeployment({ loaded: loadConfigFile(config('plugin_dispose_timeout_ms = 2000\n')), logger: silentLogger(), metrics, journal: true, dataDir, watchdog: false });
    await dep.engine.start();
    const md = dep.engine.venue('sim')!.marketData;
    const realStop = md.stop.bind(md);
    md.stop = () => new Promise<void>(() => {});
    const journal = dep.engine.journalStore as unknown as { closed: boolean };

    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    let returned = false;
    const stopping = dep.engine.stop('SIGTERM').then(() => (returned = true));
    await vi.advanceTimersByTimeAsync(1_999);
    const earlyReturn = returned;
    await vi.advanceTimersByTimeAsync(1);
    const closed = journal.closed;
    // No deadline timer is left behind to keep the process alive.
    const timersLeft = vi.getTimerCount();
    vi.useRealTimers();

    // clean up whatever the outcome
    await realStop();
    if (!returned) await dep.plugins.disposeAll();
    else await dep.dispose();
    void stopping;

    expect({ earlyReturn, returned, journalClosed: closed, timersLeft }).toEqual({ earlyReturn: false, returned: true, journalClosed: true, timersLeft: 0 });
    expect(await errorsOf(metrics, 'sim:market_data')).toBe(1);
  }, 30_000);

  it('a hung detector dispose() and hung venue clients are bounded the same way, each logged naming it', async () => {
    const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
    const venue = new ScriptedVenue('v', [BTC]);
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l).msg as string);
        cb();
      },
    });
    const metrics = new MetricsRegistry({ processMetrics: false });
    const hung = () => new Promise<void>(() => {});
    const engine = new Engine({
      clock: new ManualClock(1_000),
      logger: createLogger({ level: 'info', destination, pretty: false }),
      metrics,
      watchdog: false,
      stopTimeoutMs: 500,
      detectors: [{ name: 'stuck', onMarketEvent() {}, dispose: hung }],
      venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
    });
    await engine.start();
    venue.stop = hung; // the venue's market data and execution client alike

    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    let returned = false;
    void engine.stop('SIGTERM').then(() => (returned = true));
    // market data (the venues together), then each detector, then execution: 500 ms each at most
    await vi.advanceTimersByTimeAsync(1_500);
    vi.useRealTimers();

    expect(returned).toBe(true);
    expect(lines.filter((l) => /did not finish within 500 ms/.test(l))).toEqual([
      'v:market_data: stop did not finish within 500 ms ([system] plugin_dispose_timeout_ms); going on without it',
      'detector:stuck: stop did not finish within 500 ms ([system] plugin_dispose_timeout_ms); going on without it',
      'v:execution: stop did not finish within 500 ms ([system] plugin_dispose_timeout_ms); going on without it',
    ]);
    expect(await errorsOf(metrics, 'detector:stuck')).toBe(1);
    expect(await errorsOf(metrics, 'v:market_data')).toBe(1);
    expect(await errorsOf(metrics, 'v:execution')).toBe(1);
  });
});

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ManualClock } from '../contracts/clock.js';
import { loadConfigFile, type VenueConfig } from '../config/index.js';
import type { InstrumentSpec } from '../domain/instrument.js';
import { composeDeployment } from '../engine/compose.js';
import { RECORDING_KIND } from '../engine/recorder.js';
import { createLogger, silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { ReplayReporting } from '../reports/replay-report.js';

export interface ReplayOptions {
  config: string;
  data: string;
  json: boolean;
  /** Write an HTML report here. */
  report?: string;
}

/** Reads the header line of a `run --record` file. */
export function readRecordingHeader(path: string): { instruments: InstrumentSpec[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read recording ${path}: ${(err as Error).message}`);
  }
  const first = text.slice(0, text.indexOf('\n') === -1 ? undefined : text.indexOf('\n'));
  let header: { kind?: string; instruments?: InstrumentSpec[] };
  try {
    header = JSON.parse(first);
  } catch {
    throw new Error(`${path} is not a cwts recording: the first line is not JSON`);
  }
  if (header.kind !== RECORDING_KIND || !Array.isArray(header.instruments)) throw new Error(`${path} is not a cwts recording: the first line must be a "${RECORDING_KIND}" header with instruments`);
  return { instruments: header.instruments };
}

/**
 * `cwts-ultra replay`: the config's detectors, strategy and risk over a recording, with every
 * recorded exchange played by the simulated venue as fast as possible on a virtual clock that
 * follows the recorded timestamps; paper fills come from the simulated venue's matching. The
 * same file and config give the same summary (and digest of signals and fills) every time.
 */
export async function replayCommand(o: ReplayOptions, out: (line: string) => void): Promise<number> {
  const loaded = loadConfigFile(o.config);
  const data = resolve(o.data);
  const { instruments } = readRecordingHeader(data);
  const exchanges = [...new Set(instruments.map((i) => i.exchange))];
  // One simulated venue replays the file; it labels events with the recorded exchange names.
  if (exchanges.length !== 1) throw new Error(`${o.data} holds ${exchanges.length} exchanges (${exchanges.join(', ')}); replay of multi-exchange recordings is not supported yet: record one venue per file`);
  const venues: VenueConfig[] = exchanges.map((name) => ({
    name,
    plugin: '@cwts/exchange-sim',
    hasCredentials: false,
    testnet: false,
    market: 'spot',
    symbols: instruments.filter((i) => i.exchange === name).map((i) => i.symbol),
    options: { replay_file: data, replay_format: 'jsonl', replay_speed: 0 },
  }));
  const clock = new ManualClock(0);
  const logger = o.json ? silentLogger() : createLogger({ level: loaded.config.system.log_level });
  const metrics = new MetricsRegistry({ processMetrics: false });
  const reporting = new ReplayReporting(loaded, { config: o.config, data, report: o.report });
  const dep = await composeDeployment({
    loaded,
    logger,
    metrics,
    clock,
    journal: false,
    watchdog: false,
    venues,
    beforeEvent: (ev) => {
      clock.set(ev.ts);
      reporting.beforeEvent(ev);
    },
    observer: reporting.observer,
    onShutdown: 'keep',
  });
  reporting.attach(dep.engine);
  let s;
  try {
    await dep.engine.start();
    await dep.engine.waitForEndOfStreams();
    s = { ...dep.engine.summary(), stats: await reporting.finish(metrics) };
  } finally {
    await dep.dispose();
  }
  if (o.json) out(JSON.stringify(s));
  else {
    out(`replayed ${s.events} events (${Object.entries(s.eventsByType).map(([k, v]) => `${v} ${k}`).join(', ')})`);
    out(`signals ${s.signals}, orders ${s.orders} (${s.rejected} refused), fills ${s.fills}`);
    out(`PnL realized ${s.realizedPnl}, unrealized ${s.unrealizedPnl}, fees ${s.fees}, equity ${s.equity}`);
    out(`return ${s.stats.return ?? 'n/a'}, max drawdown ${s.stats.maxDrawdown}, Sharpe ${s.stats.sharpe ?? 'n/a'} (${s.stats.ratioFrequency}), trades ${s.stats.trades}, win rate ${s.stats.winRate ?? 'n/a'}`);
    if (o.report) out(`report ${o.report}`);
    out(`digest ${s.digest}`);
  }
  return 0;
}

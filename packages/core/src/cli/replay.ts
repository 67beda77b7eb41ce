import { resolve } from 'node:path';
import { ManualClock } from '../contracts/clock.js';
import type { RecordingIntegrity } from '../contracts/exchange.js';
import { outputRedactor } from '../config/index.js';
import { loadConfigForCli, writeErrLine } from './output.js';
import type { MarketEvent } from '../domain/events.js';
import { composeDeployment } from '../engine/compose.js';
import type { RunSummary } from '../engine/engine.js';
import { createLogger, silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { ReplayReporting } from '../reports/replay-report.js';
import type { SessionStatistics } from '../reports/statistics.js';
import { readRecordingHeader } from './replay-header.js';
import { replayVenue } from './replay-venue.js';

export interface ReplayOptions {
  config: string;
  data: string;
  json: boolean;
  /** Replay a damaged or truncated recording anyway (exit 0, with a warning and the counts). */
  allowDamaged?: boolean;
  /** Where warnings and the damage verdict go (default: stderr). */
  err?: (line: string) => void;
  /** Write an HTML report here. */
  report?: string;
}

/** Exit code of a replay whose recording is damaged or truncated (without --allow-damaged). */
export const EXIT_RECORDING_DAMAGED = 3;
export { readRecordingHeader } from './replay-header.js';

/** Damage that fails a replay: malformed or out-of-order records, a cut file. Skipped records are not damage. */
export function isDamaged(i: RecordingIntegrity): boolean {
  return i.malformed > 0 || i.outOfOrder > 0 || i.truncated > 0;
}

const describeReasons = (byReason: Record<string, number>): string =>
  Object.entries(byReason)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
const describeIntegrity = (i: RecordingIntegrity): string => `${i.malformed} malformed, ${i.skipped} skipped, ${i.outOfOrder} out of order, ${i.truncated} truncated`;
/** What a damaged recording did to the results: the stderr warning under --allow-damaged and the report page's. */
const damageWarning = (data: string, i: RecordingIntegrity): string => `${data} is damaged (${describeIntegrity(i)}); the results cover only its valid records`;

/**
 * The engine's clock at a replayed event: the time the live engine received it (`recvTs`, what
 * its clock read then), else its venue time (an event recorded without a receive time). The
 * replay's ManualClock never goes back, so the reader checks receive times as it checks venue
 * times (exchange-sim's MAX_RECEIVE_LAG_MS): a damaged one (a day ahead would stop the strategy
 * for the rest of the replay) is counted out of order and repaired before it gets here. The
 * simulated venue keeps its own clock on venue time for order timing (latency, arrivals, fills).
 *
 * On venue time, the replay judged time differently from the live run it replays: a signal's
 * age (`ctx.now - signal.ts`, the reference app's `max_signal_age_ms`), cooldowns and risk
 * windows all read `now`, and a feed that reached the engine 3 s late made a whale 3 s old live
 * (skipped) and fresh in the replay (followed).
 */
export function replayClockTime(ev: Pick<MarketEvent, 'ts' | 'recvTs'>): number {
  return ev.recvTs > 0 ? ev.recvTs : ev.ts;
}

/** What `replay --json` prints: the engine's summary, what became of the orders, the statistics and the recording's integrity. */
export interface ReplaySummary extends RunSummary, RecordingIntegrity {
  /**
   * Net PnL, quote units: realized + unrealized - fees, without the starting capital (equity is
   * `stats.finalEquity`, `stats.initialEquity` + net).
   */
  net: string;
  /**
   * @deprecated The same figure as `net` (PnL only, not starting capital + PnL), kept under its
   * old name for existing consumers; read `net`, or `stats.finalEquity` for equity.
   */
  equity: string;
  /** Orders the venue rejected (`rejected` counts the engine's own refusals, which never reached it). */
  venueRejected: number;
  /** The venue's rejections by reason. */
  venueRejectReasons: Record<string, number>;
  /** Orders that ended cancelled (IOC and market remainders included). */
  cancelled: number;
  /** Orders still working at the end of the recording. */
  openAtEnd: number;
  stats: SessionStatistics;
}

/**
 * `cwts-ultra replay`: the config's detectors, strategy and risk over a recording, with every
 * recorded exchange played by the simulated venue as fast as possible on a virtual clock that
 * follows the recorded timestamps (the engine's: receive times, replayClockTime; the venue's:
 * venue times); paper fills come from the simulated venue's matching, at the latency and fees
 * `run` uses for that exchange (replay-venue.ts). The recording may be gzip (`.jsonl.gz`). The
 * same file and config give the same summary (and digest of signals and fills) every time.
 */
export async function replayCommand(o: ReplayOptions, out: (line: string) => void): Promise<number> {
  const loaded = loadConfigForCli(o.config);
  const data = resolve(o.data);
  const { instruments } = await readRecordingHeader(data);
  const exchanges = [...new Set(instruments.map((i) => i.exchange))];
  // One simulated venue replays the file; it labels events with the recorded exchange names.
  if (exchanges.length !== 1) throw new Error(`${o.data} holds ${exchanges.length} exchanges (${exchanges.join(', ')}); replay of multi-exchange recordings is not supported yet: record one venue per file`);
  // Each venue fills at the config's own latency and fees for it (replay-venue.ts), as `run` would.
  const venues = exchanges.map((name) => replayVenue(loaded.config, name, instruments, data));
  const clock = new ManualClock(0);
  const logger = o.json ? silentLogger() : createLogger({ level: loaded.config.system.log_level, scrub: (line) => outputRedactor.redact(line) });
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
      clock.set(replayClockTime(ev));
      reporting.beforeEvent(ev);
    },
    observer: reporting.observer,
    onShutdown: 'keep',
    digest: true,
  });
  reporting.attach(dep.engine);
  let s: Omit<ReplaySummary, keyof RecordingIntegrity>;
  const integrity: RecordingIntegrity = { malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 };
  try {
    await dep.engine.start();
    await dep.engine.waitForEndOfStreams();
    // The integrity first: the report page is written inside finish(), and a page that is shared
    // must say the recording was damaged, not only the exit code and stderr.
    for (const name of dep.engine.venueNames()) {
      const got = dep.engine.venue(name)?.marketData.recordingIntegrity?.();
      if (!got) throw new Error(`replay: venue ${name} does not report the recording's integrity (is @cwts/exchange-sim older than @cwts/core?); refusing to vouch for the recording`);
      integrity.malformed += got.malformed;
      integrity.skipped += got.skipped;
      integrity.outOfOrder += got.outOfOrder;
      integrity.truncated += got.truncated;
    }
    if (reporting.collector.events === 0) {
      throw new Error(`${o.data} has no market event${isDamaged(integrity) ? ` it could read (${describeIntegrity(integrity)})` : ' (its header only?)'}: there is no session to replay${o.report ? ' or report; no report was written' : ''}`);
    }
    const warnings = isDamaged(integrity) ? [damageWarning(o.data, integrity)] : [];
    const stats = await reporting.finish(metrics, warnings);
    const orders = reporting.collector.orders();
    const summary = dep.engine.summary();
    s = { ...summary, net: summary.equity, venueRejected: orders.rejected, venueRejectReasons: orders.rejectReasons, cancelled: orders.cancelled, openAtEnd: orders.open, stats };
  } finally {
    await dep.dispose();
  }
  if (o.json) out(JSON.stringify({ ...s, ...integrity } satisfies ReplaySummary));
  else {
    out(`replayed ${s.events} events (${Object.entries(s.eventsByType).map(([k, v]) => `${v} ${k}`).join(', ')})`);
    out(`recording: ${describeIntegrity(integrity)}`);
    out(`signals ${s.signals}, orders ${s.orders} sent (${s.rejected} refused by the engine, not sent), fills ${s.fills}`);
    out(`orders at the venue: ${s.venueRejected} rejected${s.venueRejected > 0 ? ` (${describeReasons(s.venueRejectReasons)})` : ''}, ${s.cancelled} cancelled, ${s.openAtEnd} open at the end`);
    // "equity" is starting capital + net everywhere else (/status, the report): net PnL is "net" here.
    out(`PnL realized ${s.realizedPnl}, unrealized ${s.unrealizedPnl}, fees ${s.fees}, net ${s.net}`);
    out(`equity ${s.stats.finalEquity} (initial ${s.stats.initialEquity} + net)`);
    out(`return ${s.stats.return ?? 'n/a'}, max drawdown ${s.stats.maxDrawdown}, Sharpe ${s.stats.sharpe ?? 'n/a'} (${s.stats.ratioFrequency}), trades ${s.stats.trades}, win rate ${s.stats.winRate ?? 'n/a'}`);
    if (o.report) out(`report ${o.report}`);
    out(`digest ${s.digest}`);
  }
  if (!isDamaged(integrity)) return 0;
  const err = o.err ?? writeErrLine;
  if (o.allowDamaged) {
    err(`cwts-ultra replay: warning: ${damageWarning(o.data, integrity)}`);
    return 0;
  }
  err(`cwts-ultra replay: ${o.data} is damaged (${describeIntegrity(integrity)}); the results above cover only its valid records. Pass --allow-damaged to accept them (see docs/reliability.md, "Replay of damaged recordings")`);
  return EXIT_RECORDING_DAMAGED;
}

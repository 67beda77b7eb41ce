import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import type { MarketEvent } from '../domain/events.js';
import type { Engine } from '../engine/engine.js';
import { journalFileOf, sameFile } from '../journal/journal-files.js';
import { resolveJournalPath } from '../journal/location.js';
import { startingCapitalCommon } from '../risk/starting-capital.js';
import type { MetricsRegistry } from '../observability/metrics.js';
import { createProgress, type Progress } from '../observability/progress.js';
import { SessionCollector } from './collector.js';
import { detectorFollowUps } from './follow-ups.js';
import { renderReportHtml } from './html.js';
import { sessionStatistics, type SessionStatistics } from './statistics.js';

/** Seconds after a signal in which fills and price moves count as "what followed". */
export const FOLLOW_UP_HORIZON_MS = 60_000;

/** Bytes hashed per read: a recording may be far larger than one Buffer (2 GiB) or memory. */
const HASH_CHUNK = 1 << 20;

/** sha256 of a file, read in 1 MiB chunks, so its size does not matter. */
export function sha256File(path: string): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(HASH_CHUNK);
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, HASH_CHUNK, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** The files a report is made from; the report must be written to none of them. */
export interface ReportInputs {
  /** The journal: SQLite's -wal, -shm and -journal files beside it count too. */
  journal?: string | undefined;
  recording?: string | undefined;
  config?: string | undefined;
}

/**
 * Why a report must not be written to `out`, or undefined. Writing it truncates the file first,
 * so `out` may be none of its inputs: a typo that names the journal would wipe the positions,
 * open orders, HALT and client-id sequence of the engine journaling there (as `run --record`
 * refuses it too), and one that names the recording or the config destroys what the report is
 * about. The same file under another name (a link) counts.
 */
export function reportTargetProblem(out: string, inputs: ReportInputs): string | undefined {
  if (inputs.journal !== undefined) {
    const suffix = journalFileOf(out, inputs.journal);
    if (suffix !== undefined) return `${out} is the journal ${inputs.journal}${suffix ? ` (its ${suffix} file)` : ''}; the report would overwrite it: write the report to another file`;
  }
  if (inputs.recording !== undefined && sameFile(out, inputs.recording)) return `${out} is the recording ${inputs.recording}; the report would overwrite it: write the report to another file`;
  if (inputs.config !== undefined && sameFile(out, inputs.config)) return `${out} is the config ${inputs.config}; the report would overwrite it: write the report to another file`;
  return undefined;
}

/**
 * The config as a report shows it: Secrets as "[redacted]" (their JSON form), and every string
 * through the config's redactor, so `${VAR}` values and URL credentials (a NATS server's
 * password, a tracing endpoint's) stay out of a file that is meant to be shared. Values the
 * loader converted to internal units are shown as the file writes them (`[routing]` fees and
 * penalties: basis points, not the millionths of notional the router computes with).
 */
export function reportConfig(loaded: Pick<LoadedConfig, 'config' | 'redactor'>): unknown {
  const json = JSON.stringify(loaded.config, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  const shown = JSON.parse(json, (_k, v) => (typeof v === 'string' ? loaded.redactor.redact(v) : v)) as { routing?: Record<string, unknown> };
  if (shown.routing !== undefined) routingInBps(shown.routing);
  return shown;
}

/** config/routing-schema.ts keeps each `*_bps` rate as millionths of notional (1 bp = 100): back to bp, for display only. */
const MILLIONTHS_PER_BP = 100;
function routingInBps(routing: Record<string, unknown>): void {
  const toBps = (t: Record<string, unknown>, key: string) => {
    if (typeof t[key] === 'number') t[key] = (t[key] as number) / MILLIONTHS_PER_BP;
  };
  toBps(routing, 'default_taker_fee_bps');
  for (const v of Object.values((routing.venue ?? {}) as Record<string, Record<string, unknown>>)) {
    toBps(v, 'taker_fee_bps');
    toBps(v, 'latency_penalty_bps');
  }
}

/**
 * The starting capital x 10^-18 the replayed risk engine counts equity and drawdown from
 * (risk/starting-capital.ts: initial_equity, else the position limits), so the report's return,
 * drawdown ratio and Sharpe are against the capital the run's HALT used, as `report --journal`'s
 * (journaled equity - PnL) are.
 */
export function initialEquityCommon(loaded: LoadedConfig): bigint {
  const r = loaded.config.risk;
  return startingCapitalCommon(r, r.initial_equity);
}

/** Events in a JSON-lines recording, estimated from the first 256 KiB (for progress only). */
export function estimateLines(path: string): number {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(size, 256 * 1024));
    const n = readSync(fd, buf, 0, buf.length, 0);
    let lines = 0;
    for (let k = 0; k < n; k++) if (buf[k] === 10) lines++;
    return lines === 0 ? 0 : Math.round((size / n) * lines);
  } finally {
    closeSync(fd);
  }
}

/**
 * What `replay` needs for statistics, `--report` and progress, behind three calls: pass
 * `beforeEvent` and `observer` to the composition, `attach` the engine, `finish` at the end.
 */
export class ReplayReporting {
  readonly collector = new SessionCollector();
  private readonly progress: Progress;

  constructor(
    private readonly loaded: LoadedConfig,
    private readonly files: { config: string; data: string; report?: string },
    progress: 'auto' | 'off' = 'auto',
  ) {
    // refused before the replay runs, not after it
    // the config's journal too: a replay is usually run with the live config, whose engine
    // journals there (run --record refuses it for the same reason)
    const journal = resolveJournalPath(loaded.config.journal, loaded.config.system.name);
    const problem = files.report === undefined ? undefined : reportTargetProblem(files.report, { journal, recording: files.data, config: files.config });
    if (problem) throw new Error(`--report: ${problem}`);
    this.progress = createProgress({ label: `replay ${basename(files.data)}`, total: estimateLines(files.data) - 1, unit: 'events', estimate: true, mode: progress === 'off' ? 'off' : undefined, checkEvery: 1024 });
  }

  get observer() {
    return this.collector;
  }

  beforeEvent = (ev: MarketEvent): void => {
    this.collector.onEvent(ev);
    this.progress.update(this.collector.events);
  };

  attach(engine: Engine): void {
    this.collector.attach(engine);
  }

  /**
   * Statistics for the `--json` summary; writes the HTML report when one was asked for, with
   * `warnings` (what is wrong with the recording: its damage) at the top of the page.
   */
  async finish(metrics: MetricsRegistry, warnings: readonly string[] = []): Promise<SessionStatistics> {
    this.progress.stop();
    const record = await this.collector.finish(initialEquityCommon(this.loaded), metrics);
    if (warnings.length > 0) record.warnings = [...warnings];
    const stats = sessionStatistics(record);
    if (this.files.report) {
      const html = renderReportHtml({
        title: `Replay of ${basename(this.files.data)} with ${basename(this.files.config)}`,
        inputs: [
          { kind: 'recording', path: this.files.data, sha256: sha256File(this.files.data) },
          { kind: 'config', path: this.files.config, sha256: sha256File(this.files.config) },
        ],
        config: reportConfig(this.loaded),
        record,
        stats,
        followUps: detectorFollowUps(record, FOLLOW_UP_HORIZON_MS),
        followUpHorizonMs: FOLLOW_UP_HORIZON_MS,
        generatedAt: new Date().toISOString(),
      });
      writeFileSync(this.files.report, html);
    }
    return stats;
  }
}

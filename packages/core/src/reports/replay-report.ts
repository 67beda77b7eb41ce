import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import { parseDecimal } from '../domain/instrument.js';
import type { MarketEvent } from '../domain/events.js';
import type { Engine } from '../engine/engine.js';
import { COMMON_EXPONENT, toCommon } from '../risk/portfolio.js';
import type { MetricsRegistry } from '../observability/metrics.js';
import { createProgress, type Progress } from '../observability/progress.js';
import { SessionCollector } from './collector.js';
import { detectorFollowUps } from './follow-ups.js';
import { renderReportHtml } from './html.js';
import { sessionStatistics, type SessionStatistics } from './statistics.js';

/** Seconds after a signal in which fills and price moves count as "what followed". */
export const FOLLOW_UP_HORIZON_MS = 60_000;

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * The config as a report shows it: Secrets as "[redacted]" (their JSON form), and every string
 * through the config's redactor, so `${VAR}` values and URL credentials (a NATS server's
 * password, a tracing endpoint's) stay out of a file that is meant to be shared.
 */
export function reportConfig(loaded: Pick<LoadedConfig, 'config' | 'redactor'>): unknown {
  const json = JSON.stringify(loaded.config, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  return JSON.parse(json, (_k, v) => (typeof v === 'string' ? loaded.redactor.redact(v) : v));
}

/** `[risk] initial_equity` x 10^-18; 0 when not configured. */
export function initialEquityCommon(loaded: LoadedConfig): bigint {
  const v = loaded.config.risk.initial_equity;
  if (v === undefined) return 0n;
  // The shortest decimal that round-trips ("0.1", not 0.1000000000000000055...), without exponent notation.
  const shortest = String(v);
  const text = !/e/i.test(shortest) ? shortest : Number.isInteger(v) ? BigInt(v).toString() : v.toFixed(COMMON_EXPONENT);
  const d = parseDecimal(text);
  return toCommon(d.mantissa, d.exponent);
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
    this.progress = createProgress({ label: `replay ${basename(files.data)}`, total: estimateLines(files.data) - 1, unit: 'events', estimate: true, mode: progress === 'off' ? 'off' : undefined, checkEvery: 1024 });
  }

  get observer() {
    return this.collector;
  }

  beforeEvent = (ev: MarketEvent): void => {
    this.collector.onEvent(ev.ts);
    this.progress.update(this.collector.events);
  };

  attach(engine: Engine): void {
    this.collector.attach(engine);
  }

  /** Statistics for the `--json` summary; writes the HTML report when one was asked for. */
  async finish(metrics: MetricsRegistry): Promise<SessionStatistics> {
    this.progress.stop();
    const record = await this.collector.finish(initialEquityCommon(this.loaded), metrics);
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

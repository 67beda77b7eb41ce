import { writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { z } from 'zod';
import { configDigest } from '../config/index.js';
import { JournalStore } from '../journal/store.js';
import { detectorFollowUps } from '../reports/follow-ups.js';
import { renderReportHtml } from '../reports/html.js';
import { sessionFromJournal } from '../reports/journal-session.js';
import { FOLLOW_UP_HORIZON_MS, reportConfig, reportTargetProblem, sha256File } from '../reports/replay-report.js';
import { sessionStatistics } from '../reports/statistics.js';
import { EXIT_RECORDING_DAMAGED } from './replay.js';
import { UsageError } from './usage-error.js';
import { loadConfigForCli } from './output.js';

export interface ReportOptions {
  journal: string;
  out: string;
  data?: string;
  from?: string;
  to?: string;
  /** The config the session ran with: shown redacted, and its digest checked against the journal's. */
  config?: string;
  json?: boolean;
}

const isoTime = z.iso.datetime({ offset: true, local: false });

function parseTime(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const r = isoTime.safeParse(v);
  if (!r.success) throw new UsageError(`${flag} must be an ISO-8601 time with a zone, e.g. 2026-12-05T06:00:00Z; got ${JSON.stringify(v)}`);
  return Date.parse(v);
}

/**
 * `cwts-ultra report --journal DB --out FILE.html`: the report of a live session from its
 * journal (read-only, in one read transaction: it works while the session runs and sees one
 * moment of it), prices from a recording when given.
 */
export async function reportCommand(o: ReportOptions, out: (line: string) => void): Promise<number> {
  const from = parseTime('--from', o.from);
  const to = parseTime('--to', o.to);
  if (from !== undefined && to !== undefined && from > to) throw new UsageError(`--from ${o.from} is after --to ${o.to}`);
  const journal = resolve(o.journal);
  const problem = reportTargetProblem(o.out, { journal, recording: o.data, config: o.config });
  if (problem) throw new Error(`--out: ${problem}`);
  const db = JournalStore.openReadOnly(journal);
  let record;
  try {
    record = sessionFromJournal(db, { from, to }, o.data ? resolve(o.data) : undefined);
  } finally {
    db.close();
  }
  const inputs = [{ kind: 'journal', path: journal, sha256: sha256File(journal) }];
  if (o.data) inputs.push({ kind: 'recording', path: resolve(o.data), sha256: sha256File(o.data) });
  const digests = [...new Set(record.runs.map((r) => r.configDigest).filter((d): d is string => !!d))];
  for (const d of digests) inputs.push({ kind: 'config digest (journal)', path: `runs ${record.runs.filter((r) => r.configDigest === d).map((r) => r.runId).join(', ')}`, sha256: d });
  let config: unknown = { note: 'the journal keeps the config digest only; pass --config to show the config', digests };
  if (o.config) {
    // Shown with every secret as [redacted] anyway: the venue keys need not be set to report.
    const loaded = loadConfigForCli(o.config, process.env, { credentials: 'not-needed' });
    config = reportConfig(loaded);
    // The file's own hash, as replay --report lists it; then, under its own label, the digest
    // compose.ts journals (sha256 of the loaded config's canonical JSON), compared with the journal's.
    inputs.push({ kind: 'config', path: resolve(o.config), sha256: sha256File(o.config) });
    const digest = configDigest(loaded.config);
    inputs.push({ kind: digests.includes(digest) ? 'config digest, loaded (matches the journal)' : 'config digest, loaded (NOT the one journaled)', path: resolve(o.config), sha256: digest });
  }
  const stats = sessionStatistics(record);
  const html = renderReportHtml({
    title: `Session report of ${basename(journal)}${o.from || o.to ? ` (${o.from ?? 'start'} → ${o.to ?? 'end'})` : ''}`,
    inputs,
    config,
    record,
    stats,
    followUps: detectorFollowUps(record, FOLLOW_UP_HORIZON_MS),
    followUpHorizonMs: FOLLOW_UP_HORIZON_MS,
    generatedAt: new Date().toISOString(),
  });
  writeFileSync(o.out, html);
  // What was wrong with the inputs is said where the caller looks, not only on the page: a
  // script reading the exit code must not take a report built on a damaged recording for a clean one.
  const warnings = record.warnings ?? [];
  // Notes (the span a recording's prices cover) are not damage: said, without exit 3.
  const notes = record.notes ?? [];
  const span = record.recordingSpan;
  const recordingSpan = span === undefined ? {} : { recordingSpan: span && { firstTrade: new Date(span.firstTrade).toISOString(), lastTrade: new Date(span.lastTrade).toISOString() } };
  if (o.json) out(JSON.stringify({ report: o.out, stats, ...recordingSpan, ...(warnings.length > 0 ? { warnings } : {}), ...(notes.length > 0 ? { notes } : {}) }));
  else {
    out(`report ${o.out}: ${stats.fills} fills, ${stats.trades} trades, net ${stats.net}, max drawdown ${stats.maxDrawdown}`);
    for (const w of warnings) out(`warning: ${w}`);
    for (const n of notes) out(`note: ${n}`);
  }
  return warnings.length > 0 ? EXIT_RECORDING_DAMAGED : 0;
}

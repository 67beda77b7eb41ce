/**
 * `cwts-ultra benchmark`: the seed's performance validation table, measured live on this machine
 * (cli/benchmark/seed-rows.ts names the code behind each row). Quick by default (seconds per
 * row), `--full` for longer runs, `--json` for one JSON object on stdout. Progress (one bar or
 * line per row) goes to stderr. Each row prints p50/p99 and PASS/FAIL of its p99 against the
 * seed's budget, and met/MISSED against our own goal where the project set one. The figures are
 * written to <results dir>/benchmark.json in the `pnpm bench` results format.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createProgress } from '../observability/progress.js';
import type { RowFigure } from './benchmark/row.js';
import { SEED_ROWS, type SeedRow } from './benchmark/seed-rows.js';
import { observeGc, stopObservingGc } from './benchmark/e2e.js';

export interface BenchmarkOptions {
  full?: boolean;
  json?: boolean;
  /** Multiplies the quick iteration counts (tests run tiny ones); default 1. */
  scale?: number;
  /** Where benchmark.json goes; default ./bench/results. `false`: write nothing. */
  resultsDir?: string | false;
  /** Where the venue, sim and backend packages are looked up; default the working directory. */
  baseDir?: string;
  progress?: 'bar' | 'lines' | 'off';
  /** Only these row keys (seed-rows.ts); default all nine. */
  only?: readonly string[];
  /** The table to run (tests); default SEED_ROWS. */
  rows?: readonly SeedRow[];
}

export interface BenchmarkRowResult {
  key: string;
  label: string;
  suite: string;
  budgetUs: number;
  /** Undefined when the row failed to run (error says why). */
  p50Us?: number;
  p99Us?: number;
  p999Us?: number;
  maxUs?: number;
  samples?: number;
  /** p99 within the seed's budget. */
  pass: boolean;
  goal?: string;
  goalMet?: boolean;
  what?: string;
  figures?: RowFigure[];
  error?: string;
  seconds: number;
}

export interface BenchmarkReport {
  date: string;
  mode: 'quick' | 'full';
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; platform: string; loadavg: number[] };
  rows: BenchmarkRowResult[];
}

const us = (ns: number): number => Math.round(ns) / 1000;

function machine(): BenchmarkReport['machine'] {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

async function runRow(row: SeedRow, o: BenchmarkOptions): Promise<BenchmarkRowResult> {
  const mode = o.progress ?? (process.stderr.isTTY ? 'bar' : 'lines');
  const bar = createProgress({ label: row.label.padEnd(22), total: 100, unit: '%', mode, intervalMs: 2000 });
  const t0 = performance.now();
  const base = { key: row.key, label: row.label, suite: row.suite, budgetUs: row.budgetUs, ...(row.goal ? { goal: row.goal.text } : {}) };
  try {
    const m = await row.measure({ full: o.full ?? false, scale: o.scale ?? 1, baseDir: o.baseDir ?? process.cwd(), progress: (f) => bar.update(Math.min(100, Math.round(f * 100))) });
    bar.update(100);
    const l = m.latency;
    if (!(l.count > 0) || ![l.p50, l.p99, l.p999, l.max].every((x) => Number.isFinite(x) && x > 0)) throw new Error(`no valid samples (${l.count})`);
    return {
      ...base,
      p50Us: us(l.p50),
      p99Us: us(l.p99),
      p999Us: us(l.p999),
      maxUs: us(l.max),
      samples: l.count,
      pass: us(l.p99) <= row.budgetUs,
      ...(row.goal ? { goalMet: row.goal.met(m) } : {}),
      what: m.what,
      ...(m.figures ? { figures: m.figures } : {}),
      seconds: Math.round(performance.now() - t0) / 1000,
    };
  } catch (err) {
    return { ...base, pass: false, error: String((err as Error)?.message ?? err).split('\n')[0]!, seconds: Math.round(performance.now() - t0) / 1000 };
  } finally {
    bar.stop();
  }
}

export async function runBenchmark(o: BenchmarkOptions = {}): Promise<BenchmarkReport> {
  const rows = (o.rows ?? SEED_ROWS).filter((r) => !o.only || o.only.includes(r.key));
  const report: BenchmarkReport = { date: new Date().toISOString(), mode: o.full ? 'full' : 'quick', machine: machine(), rows: [] };
  observeGc();
  try {
    for (const row of rows) report.rows.push(await runRow(row, o));
  } finally {
    stopObservingGc();
  }
  report.machine.loadavg = loadavg().map((x) => Math.round(x * 100) / 100);
  return report;
}

/** The report in the `pnpm bench` results format (bench/lib/harness.ts writeResults). */
export function resultsDocument(r: BenchmarkReport): Record<string, unknown> {
  const results: Record<string, unknown>[] = [];
  for (const row of r.rows) {
    if (row.p99Us === undefined) continue;
    const note = `${row.what}; seed budget ${row.budgetUs} us: ${row.pass ? 'PASS' : 'FAIL'}${row.goal ? `; goal ${row.goal}: ${row.goalMet ? 'met' : 'MISSED'}` : ''}; fuller figures: pnpm bench ${row.suite}`;
    results.push({ name: `${row.label} p99`, metric: 'p99 latency', unit: 'us', value: row.p99Us, note });
    results.push({ name: `${row.label} p50`, metric: 'p50 latency', unit: 'us', value: row.p50Us });
    for (const f of row.figures ?? []) results.push({ name: `${row.label}: ${f.name}`, metric: f.metric, unit: f.unit, value: f.value, ...(f.note ? { note: f.note } : {}) });
  }
  const { loadavg: load, ...m } = r.machine;
  return { suite: 'benchmark', date: r.date, machine: m, results, mode: r.mode, loadavg: load, rows: r.rows };
}

function fmt(x: number | undefined): string {
  if (x === undefined) return '-';
  return x >= 100 ? `${Math.round(x)} us` : x >= 1 ? `${x.toFixed(2)} us` : `${x.toFixed(3)} us`;
}

export function formatReport(r: BenchmarkReport): string[] {
  const m = r.machine;
  const lines = [
    `PERFORMANCE VALIDATION RESULTS (measured live, ${r.mode} mode; ${m.cores} x ${m.cpu}, Node ${m.node}, load average at the end ${m.loadavg.join(' ')})`,
    `  ${'row'.padEnd(22)} ${'p50'.padStart(11)} ${'p99'.padStart(11)}  ${'seed budget'.padStart(11)}  seed  our goal`,
  ];
  for (const row of r.rows) {
    if (row.error !== undefined) {
      lines.push(`  ${row.label.padEnd(22)} ERROR: ${row.error}`);
      continue;
    }
    const goal = row.goal ? `${row.goalMet ? 'met   ' : 'MISSED'} (${row.goal})` : '-';
    lines.push(`  ${row.label.padEnd(22)} ${fmt(row.p50Us).padStart(11)} ${fmt(row.p99Us).padStart(11)}  ${`${row.budgetUs} us`.padStart(11)}  ${row.pass ? 'PASS' : 'FAIL'}  ${goal}`);
  }
  const failed = r.rows.filter((x) => x.error === undefined && !x.pass).length;
  const errors = r.rows.filter((x) => x.error !== undefined).length;
  const missed = r.rows.filter((x) => x.goalMet === false).length;
  lines.push(`${r.rows.length - errors - failed} of ${r.rows.length} rows within the seed's budget${failed ? `, ${failed} FAIL` : ''}${errors ? `, ${errors} could not run` : ''}; ${missed} of ${r.rows.filter((x) => x.goal).length} goals missed.`);
  for (const row of r.rows) if (row.what) lines.push(`  ${row.label}: ${row.what}`);
  return lines;
}

/** Runs the table; exit code 1 when a row could not run (a FAIL against a budget is a result, not an error). */
export async function benchmarkCommand(o: BenchmarkOptions, out: (line: string) => void): Promise<number> {
  const report = await runBenchmark(o);
  const dir = o.resultsDir === undefined ? resolve('bench/results') : o.resultsDir;
  let written: string | undefined;
  if (dir !== false) {
    written = join(dir, 'benchmark.json');
    mkdirSync(dirname(written), { recursive: true });
    writeFileSync(written, JSON.stringify(resultsDocument(report), null, 2) + '\n');
  }
  if (o.json) out(JSON.stringify(report));
  else {
    for (const l of formatReport(report)) out(l);
    if (written) out(`wrote ${written}`);
  }
  return report.rows.some((r) => r.error !== undefined) ? 1 : 0;
}

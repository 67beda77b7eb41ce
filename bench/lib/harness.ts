/**
 * Shared benchmark harness: machine facts, results file (public contract), GC observation,
 * HdrHistogram helpers. Results: bench/results/<suite>.json =
 * { suite, date, commit, dirty, machine, results: [{ name, metric, unit, value, peer?, peerValue? }] }.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RESULTS_DIR = join(ROOT, 'bench', 'results');

export interface BenchResult {
  name: string;
  metric: string;
  unit: string;
  value: number;
  peer?: string;
  peerValue?: number;
  /** Free-form context (repeats, spread, caveats). */
  note?: string;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
}

export function machine(): Machine {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** Which code a results file measured. */
export interface SourceRevision {
  /** `git rev-parse --short HEAD`; null where the tree is not a git checkout (or git is missing). */
  commit: string | null;
  /**
   * Whether the tree had changes not in `commit` (tracked or untracked, `git status --porcelain`),
   * bench/results/ left out: the suites rewrite those files themselves, so counting them would mark
   * every suite after the first of a `pnpm bench` run dirty. Null when `commit` is.
   */
  dirty: boolean | null;
}

/** Runs git with `args` in `cwd` and returns stdout; throws when git fails or is missing. */
export type GitRunner = (args: string[], cwd: string) => string;

// --no-optional-locks: a status that only reads must not rewrite .git/index under a concurrent git.
const runGit: GitRunner = (args, cwd) =>
  execFileSync('git', ['--no-optional-locks', ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });

export function sourceRevision(cwd: string = ROOT, git: GitRunner = runGit): SourceRevision {
  let commit: string;
  try {
    commit = git(['rev-parse', '--short', 'HEAD'], cwd).trim();
  } catch {
    return { commit: null, dirty: null };
  }
  if (commit === '') return { commit: null, dirty: null };
  try {
    return { commit, dirty: git(['status', '--porcelain', '--', '.', ':(exclude)bench/results'], cwd).trim() !== '' };
  } catch {
    return { commit, dirty: null };
  }
}

export function writeResults(suite: string, results: BenchResult[], extra: Record<string, unknown> = {}, dir: string = RESULTS_DIR): string {
  const file = join(dir, `${suite}.json`);
  mkdirSync(dirname(file), { recursive: true });
  const doc = { suite, date: new Date().toISOString(), ...sourceRevision(), machine: machine(), results, ...extra };
  writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
  return file;
}

/**
 * A suite whose backend is unavailable here (no GPU, no native addon) measured nothing, so it must
 * not replace figures measured where the backend was (the committed H100 CUDA results, say): an
 * existing results file is kept and the reason printed. Only where there is no file yet is one
 * written, with no rows and the reason (`unavailable`), so the suite's empty result is explained.
 */
export function recordUnavailable(suite: string, reason: string, dir: string = RESULTS_DIR): { file: string; written: boolean } {
  const file = join(dir, `${suite}.json`);
  if (existsSync(file)) {
    log(`${suite}: unavailable here (${reason}); nothing measured, ${file} kept as it was`);
    return { file, written: false };
  }
  writeResults(suite, [], { unavailable: reason }, dir);
  log(`${suite}: unavailable here (${reason}); wrote ${file} with no rows`);
  return { file, written: true };
}

/** Observes GC pauses between start() and stop(). */
export class GcWatch {
  count = 0;
  totalMs = 0;
  maxMs = 0;
  private readonly obs: PerformanceObserver;
  constructor() {
    this.obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        this.count++;
        this.totalMs += e.duration;
        if (e.duration > this.maxMs) this.maxMs = e.duration;
      }
    });
  }
  start(): void {
    this.count = 0;
    this.totalMs = 0;
    this.maxMs = 0;
    this.obs.observe({ entryTypes: ['gc'] });
  }
  /** GC entries are delivered asynchronously: await a tick before reading. */
  async stop(): Promise<void> {
    await new Promise((r) => setTimeout(r, 50));
    this.obs.disconnect();
  }
}

export function forceGc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

export function heapUsedMiB(): number {
  return Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 100) / 100;
}

export function histogram(): hdr.Histogram {
  return hdr.build({ bitBucketSize: 64, lowestDiscernibleValue: 1, highestTrackableValue: 60e9, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}

export interface Percentiles {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  count: number;
}

/** Percentiles in the histogram's unit (ns here). */
export function percentiles(h: hdr.Histogram): Percentiles {
  return { p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), p999: h.getValueAtPercentile(99.9), max: h.maxValue, mean: h.mean, count: h.totalCount };
}

export const now = (): number => performance.now();

/**
 * Median latency sample of an empty operation (two performance.now() calls and the subtraction),
 * in ns: the floor under every per-operation latency figure, reported beside them.
 */
export function timerOverheadNs(): number {
  const n = 200_000;
  const h = histogram();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const d = performance.now() - t;
    h.recordValue(Math.max(1, Math.round(d * 1e6)));
  }
  return h.getValueAtPercentile(50);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function log(msg: string): void {
  process.stdout.write(msg + '\n');
}

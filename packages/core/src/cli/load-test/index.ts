/**
 * `cwts-ultra load-test` (wrapped by scripts/load_test.sh): drives the app through the simulated
 * venue at stepped event rates, one fresh app process per step, orders from the load strategy
 * (load-strategy.ts), and reads `/metrics` while it runs. Per step: events/s and orders/s
 * sustained, tick-to-order p50/p99 from the histogram, event-loop lag, RSS, errors, and
 * PASS/FAIL against the seed's targets and ours (targets.ts). With `--url` it attaches to a
 * running app instead and measures windows of whatever load that app is under.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startApp, type AppSummary } from './app-process.js';
import { snapshotOf, stepFigures, type MetricsSnapshot, type StepFigures } from './measure.js';
import { MAX_SIM_EVENTS_PER_SECOND, stepConfigToml } from './step-config.js';
import { checkStep, DEFAULT_TARGETS, stepVerdict, type TargetCheck, type Targets } from './targets.js';

export interface LoadTestOptions {
  /** Offered events/s per step; "max" is the sim's largest rate. Default 10000,50000,100000,max. */
  steps?: string;
  stepSeconds?: string | number;
  warmupSeconds?: string | number;
  /** Attach to this running app (its /metrics URL, or its base URL) instead of starting one. */
  url?: string;
  /** Attached: how many windows of step-seconds to measure. */
  windows?: string | number;
  eventsPerOrder?: string | number;
  symbols?: string;
  fsync?: string;
  /** Scrape interval during a step, ms. */
  sampleMs?: string | number;
  json?: boolean;
  /** Where plugins resolve from (default: the current directory). */
  baseDir?: string;
  targets?: Partial<Targets>;
}

export interface StepResult {
  step: string;
  /**
   * The simulated venue's `events_per_second` for the step: market steps per second, each of
   * which emits one or more events (a trade, book deltas, liquidations). Null for an attached app.
   */
  offeredEventsPerSecond: number | null;
  /** At least this many orders per second could be asked for (offered / events-per-order); null for "max" and when attached. */
  offeredOrdersPerSecond: number | null;
  figures: StepFigures | null;
  /** The scrapes the figures come from (raw counter values, buckets left out), for checking against /metrics. */
  scrapes: { start: RawCounters; end: RawCounters; count: number } | null;
  /** The app's own counts over its whole life (child mode): its log's summary at exit. */
  appSummary: AppSummary | null;
  appExit: { code: number | null; signal: string | null } | null;
  checks: TargetCheck[];
  verdict: 'PASS' | 'FAIL';
  /** Why the step could not be measured, when it could not. */
  error?: string;
}

export type RawCounters = Omit<MetricsSnapshot, 'tickToOrderBuckets'>;
const raw = ({ tickToOrderBuckets: _, ...counters }: MetricsSnapshot): RawCounters => counters;

export interface LoadTestReport {
  mode: 'child' | 'attach';
  date: string;
  node: string;
  targets: Targets;
  steps: StepResult[];
  /** The seed's throughput target over the run: PASS when any step sustained it. */
  seedThroughput: 'PASS' | 'FAIL';
  verdict: 'PASS' | 'FAIL';
}

/** Exit codes: 0 every step PASS, 1 a target missed, 2 the load test could not run (bad arguments, app failed to start, an attached app that could not be scraped: nothing measured). */
export const LOAD_TEST_EXIT = { pass: 0, fail: 1, error: 2 } as const;

const num = (v: string | number | undefined, dflt: number, name: string, min = 0): number => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= min) throw new LoadTestArgumentError(`--${name} must be a number > ${min}, got ${v}`);
  return n;
};

/** A count (e.g. --windows): a fraction would silently measure fewer windows, or none at all. */
const count = (v: string | number | undefined, dflt: number, name: string): number => {
  if (v === undefined) return dflt;
  const n = typeof v === 'number' ? v : /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new LoadTestArgumentError(`--${name} must be a whole number >= 1, got ${v}`);
  return n;
};

export class LoadTestArgumentError extends Error {}

export function parseSteps(spec: string): { label: string; rate: number }[] {
  const out = spec.split(',').map((raw) => raw.trim()).filter(Boolean).map((s) => {
    if (s === 'max') return { label: 'max', rate: MAX_SIM_EVENTS_PER_SECOND };
    const m = /^(\d+(?:\.\d+)?)(k)?$/i.exec(s);
    const rate = m ? Number(m[1]) * (m[2] ? 1000 : 1) : NaN;
    if (!Number.isInteger(rate) || rate <= 0 || rate > MAX_SIM_EVENTS_PER_SECOND) throw new LoadTestArgumentError(`--steps: ${s} is not an event rate (a whole number of events/s up to ${MAX_SIM_EVENTS_PER_SECOND}, "10k", or "max")`);
    return { label: String(s), rate };
  });
  if (out.length === 0) throw new LoadTestArgumentError('--steps: no step given');
  return out;
}

async function scrape(url: string): Promise<MetricsSnapshot> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    // fetch says only "fetch failed"; the cause says why (ECONNREFUSED: no app listens there).
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new Error(`${url}: ${cause ?? (err as Error).message}`);
  }
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const text = await res.text();
  return snapshotOf(text, performance.now());
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Scrapes at the window's start, every sampleMs during it, and at its end. */
async function measureWindow(url: string, seconds: number, sampleMs: number, alive: () => boolean): Promise<{ start: MetricsSnapshot; end: MetricsSnapshot; during: MetricsSnapshot[] }> {
  const start = await scrape(url);
  const during: MetricsSnapshot[] = [];
  const endAt = start.atMs + seconds * 1000;
  for (;;) {
    const left = endAt - performance.now();
    if (left <= 0 || !alive()) break;
    await sleep(Math.min(sampleMs, left));
    if (performance.now() < endAt - 1) during.push(await scrape(url));
  }
  return { start, end: await scrape(url), during };
}

function metricsUrlOf(url: string): string {
  const u = new URL(url);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/metrics';
  return u.href;
}

export async function runLoadTest(o: LoadTestOptions, progress: (line: string) => void = () => {}): Promise<LoadTestReport> {
  const targets = { ...DEFAULT_TARGETS, ...o.targets };
  const stepSeconds = num(o.stepSeconds, 10, 'step-seconds');
  const sampleMs = num(o.sampleMs, 500, 'sample-ms');
  const steps: StepResult[] = [];
  if (o.url !== undefined) {
    const url = metricsUrlOf(o.url);
    const windows = count(o.windows, 1, 'windows');
    for (let i = 1; i <= windows; i++) {
      progress(`window ${i}/${windows}: measuring ${url} for ${stepSeconds} s`);
      let w: Awaited<ReturnType<typeof measureWindow>>;
      try {
        w = await measureWindow(url, stepSeconds, sampleMs, () => true);
      } catch (err) {
        // Nothing measured (no app there, not a /metrics endpoint, the app went away): the
        // window could not run, which is not a missed target (figures null: exit 2). The
        // windows after it would only fail the same way.
        steps.push({ step: `window ${i}`, offeredEventsPerSecond: null, offeredOrdersPerSecond: null, figures: null, scrapes: null, appSummary: null, appExit: null, checks: [], verdict: 'FAIL', error: (err as Error).message });
        break;
      }
      const figures = stepFigures(w.start, w.end, w.during);
      const checks = checkStep(figures, null, null, targets);
      steps.push({ step: `window ${i}`, offeredEventsPerSecond: null, offeredOrdersPerSecond: null, figures, scrapes: { start: raw(w.start), end: raw(w.end), count: w.during.length + 2 }, appSummary: null, appExit: null, checks, verdict: stepVerdict(checks) });
    }
    return finish('attach', steps, targets);
  }
  // Each step of a load test this command starts is measured once; windows are for an attached app.
  if (o.windows !== undefined) throw new LoadTestArgumentError('--windows is for an attached app (--url); without --url each step is measured once for --step-seconds');
  const plan = parseSteps(o.steps ?? '10000,50000,100000,max');
  const warmup = num(o.warmupSeconds, 2, 'warmup-seconds', -1);
  const eventsPerOrder = num(o.eventsPerOrder, 1, 'events-per-order');
  if (!Number.isInteger(eventsPerOrder)) throw new LoadTestArgumentError(`--events-per-order must be a whole number, got ${o.eventsPerOrder}`);
  const fsync = o.fsync ?? 'batch';
  if (fsync !== 'always' && fsync !== 'batch' && fsync !== 'never') throw new LoadTestArgumentError(`--fsync must be always, batch or never, got ${fsync}`);
  const symbols = (o.symbols ?? 'BTCUSDT').split(',').map((s) => s.trim()).filter(Boolean);
  for (const step of plan) {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-load-test-'));
    const offeredOrders = step.label === 'max' ? null : step.rate / eventsPerOrder;
    const base: Omit<StepResult, 'figures' | 'scrapes' | 'appSummary' | 'appExit' | 'checks' | 'verdict'> = { step: step.label, offeredEventsPerSecond: step.label === 'max' ? null : step.rate, offeredOrdersPerSecond: offeredOrders };
    try {
      const configPath = join(dir, 'load-test.toml');
      // The sim's rate is per symbol: each symbol gets its share of the step's rate.
      writeFileSync(configPath, stepConfigToml({ eventsPerSecond: Math.max(1, Math.round(step.rate / symbols.length)), eventsPerOrder, symbols, fsync, baseDir: o.baseDir ?? process.cwd() }));
      progress(`step ${step.label}: starting the app (${step.label === 'max' ? `sim at its largest rate, ${step.rate}` : step.rate} events/s offered)`);
      const app = await startApp(configPath, join(dir, 'data'));
      let w: Awaited<ReturnType<typeof measureWindow>> | undefined;
      let failure: string | undefined;
      try {
        await sleep(warmup * 1000);
        progress(`step ${step.label}: measuring for ${stepSeconds} s`);
        w = await measureWindow(app.metricsUrl, stepSeconds, sampleMs, () => !app.exited);
        if (app.exited) failure = `the app exited during the step:\n${app.tail()}`;
      } catch (err) {
        failure = `${(err as Error).message}\n${app.tail()}`;
      }
      const exit = await app.stop();
      const cleanExit = exit.code === 0;
      if (!w) throw new Error(failure ?? 'no measurement');
      const figures = stepFigures(w.start, w.end, w.during);
      // An app that crashed or did not stop cleanly is an error of the step.
      if (!cleanExit || failure) figures.errors += 1;
      const checks = checkStep(figures, eventsPerOrder, offeredOrders, targets);
      steps.push({ ...base, figures, scrapes: { start: raw(w.start), end: raw(w.end), count: w.during.length + 2 }, appSummary: exit.summary ?? null, appExit: { code: exit.code, signal: exit.signal }, checks, verdict: stepVerdict(checks), ...(failure ? { error: failure } : !cleanExit ? { error: `the app exited with code ${exit.code} (signal ${exit.signal})` } : {}) });
    } catch (err) {
      steps.push({ ...base, figures: null, scrapes: null, appSummary: null, appExit: null, checks: [], verdict: 'FAIL', error: (err as Error).message });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return finish('child', steps, targets);
}

function finish(mode: 'child' | 'attach', steps: StepResult[], targets: Targets): LoadTestReport {
  const seedThroughput = steps.some((s) => s.figures && s.figures.ordersPerSecond > targets.ordersPerSecond) ? 'PASS' : 'FAIL';
  return { mode, date: new Date().toISOString(), node: process.version, targets, steps, seedThroughput, verdict: steps.every((s) => s.verdict === 'PASS') && seedThroughput === 'PASS' ? 'PASS' : 'FAIL' };
}

const fmt = (x: number | null | undefined, digits = 0) => (x === null || x === undefined ? '-' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

/** The table a person reads. */
export function formatReport(r: LoadTestReport): string[] {
  const lines: string[] = [];
  lines.push(`load test (${r.mode === 'child' ? 'one fresh app per step, simulated venue' : 'attached to a running app'}), node ${r.node}`);
  lines.push('step       offered ev/s   events/s   orders/s  t2o p50 ms  t2o p99 ms  loop lag p99 ms  RSS MiB  rejected  errors  verdict');
  for (const s of r.steps) {
    const f = s.figures;
    lines.push(
      [
        s.step.padEnd(9),
        fmt(s.offeredEventsPerSecond).padStart(13),
        fmt(f?.eventsPerSecond).padStart(10),
        fmt(f?.ordersPerSecond).padStart(10),
        fmt(f?.tickToOrderP50Ms, 3).padStart(11),
        fmt(f?.tickToOrderP99Ms, 3).padStart(11),
        fmt(f?.eventLoopLagP99Ms, 1).padStart(16),
        fmt(f?.rssMaxBytes == null ? null : f.rssMaxBytes / 2 ** 20).padStart(8),
        fmt(f?.riskRejections).padStart(9),
        fmt(f ? f.errors + f.feedErrors : null).padStart(7),
        ` ${s.verdict}`,
      ].join(' '),
    );
    for (const c of s.checks) lines.push(`    ${c.verdict.padEnd(4)} ${c.source === 'seed' ? 'seed' : 'ours'}: ${c.title} (measured ${c.measured === null ? '-' : fmt(c.measured, c.id === 'keeps-up' ? 3 : c.id === 'orders-per-second' ? 0 : 3)})`);
    if (s.error) lines.push(`    error: ${s.error.split('\n').slice(0, 12).join('\n    ')}`);
  }
  lines.push(`seed: > ${fmt(r.targets.ordersPerSecond)} orders/s in some step: ${r.seedThroughput}`);
  lines.push(`verdict: ${r.verdict}`);
  return lines;
}

export async function loadTestCommand(o: LoadTestOptions, out: (line: string) => void): Promise<number> {
  let report: LoadTestReport;
  try {
    report = await runLoadTest(o, o.json ? () => {} : (l) => process.stderr.write(`${l}\n`));
  } catch (err) {
    // Whatever stopped it before a report (a bad argument, a temporary directory that cannot be
    // made), nothing was measured: the load test could not run, which is never "a target missed".
    process.stderr.write(`cwts-ultra load-test: ${(err as Error)?.message ?? String(err)}\n`);
    return LOAD_TEST_EXIT.error;
  }
  if (o.json) out(JSON.stringify(report, null, 2));
  else for (const l of formatReport(report)) out(l);
  const unmeasured = report.steps.filter((s) => s.figures === null);
  for (const s of unmeasured) process.stderr.write(`cwts-ultra load-test: ${s.step} could not be measured: ${s.error ?? 'no measurement'}\n`);
  if (unmeasured.length > 0) return LOAD_TEST_EXIT.error;
  return report.verdict === 'PASS' ? LOAD_TEST_EXIT.pass : LOAD_TEST_EXIT.fail;
}

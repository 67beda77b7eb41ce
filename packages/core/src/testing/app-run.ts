/**
 * Runs the built `cwts-ultra` CLI for app-level tests: spawned with JSON logs, its ephemeral
 * metrics and health ports read from the "metrics on ..." start line, its output kept for
 * diagnostics. Shared by every venue package's engine acceptance test.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface AppRun {
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  out: string[];
  healthPort: number;
  metricsPort: number;
  exited: Promise<number | null>;
}

export interface StartAppRunOptions {
  cwd: string;
  /** How long to wait for the start line before failing with the output so far. */
  startTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

const START_LINE = /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics, health on http:\/\/127\.0\.0\.1:(\d+)\/health/;

/** Spawns `node <cli> <args...>` and resolves once its HTTP ports are known. */
export async function startAppRun(cli: string, args: readonly string[], o: StartAppRunOptions): Promise<AppRun> {
  const child = spawn(process.execPath, [cli, ...args], { cwd: o.cwd, env: { ...(o.env ?? process.env), CWTS_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const ports = await new Promise<{ m: number; h: number }>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`no "metrics on" log line:\n${out.join('')}`)), o.startTimeoutMs ?? 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out.push(d.toString());
      const m = START_LINE.exec(out.join(''));
      if (m) {
        clearTimeout(t);
        res({ m: Number(m[1]), h: Number(m[2]) });
      }
    });
    child.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
    void exited.then(() => rej(new Error(`cwts-ultra exited early:\n${out.join('')}`)));
  });
  return { child, out, healthPort: ports.h, metricsPort: ports.m, exited };
}

/** SIGTERM (a clean shutdown that flushes the recording); resolves with the exit code. */
export async function stopAppRun(run: AppRun): Promise<number | null> {
  if (run.child.exitCode === null) run.child.kill('SIGTERM');
  return run.exited;
}

export async function getJson(url: string): Promise<any> {
  const r = await fetch(url);
  return r.json();
}

/** Sum of a counter's samples whose labels contain every `match` (e.g. 'reason="malformed"'). */
export function counterSum(metrics: string, name: string, ...match: string[]): number {
  return metrics
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && match.every((m) => l.includes(m)))
    .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}

/**
 * Scrapes /metrics until `caughtUp(text)` holds or `ms` passes, and returns the last text. The
 * app serves /metrics from a snapshot up to 250 ms old, so a count read once, right after /status
 * showed the event, may not include it yet. Never throws for a timeout: the caller's assertions
 * then report the mismatch with the text.
 */
export async function scrapeUntil(url: string, caughtUp: (metrics: string) => boolean, ms = 5_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const text = await (await fetch(url)).text();
    if (caughtUp(text) || Date.now() >= deadline) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
}

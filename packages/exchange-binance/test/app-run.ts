/**
 * Runs `cwts-ultra run` (the built CLI) against the local Binance server for the app-level
 * tests: a config on loopback with ephemeral ports, the log captured, /status, /health and
 * /metrics read back. The run is stopped by the test (SIGTERM), never by a wall-clock duration,
 * so a slow machine only makes a test slower, not red.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FakeBinance } from './fake-binance.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '../../..');
const CLI = join(ROOT, 'packages/core/bin/cwts-ultra.js');
const PLUGIN = join(ROOT, 'packages/exchange-binance/dist/index.js');
export const SYM = 'BTCUSDT';

export function config(dir: string, f: FakeBinance, extra = ''): string {
  const file = join(dir, 'binance.toml');
  writeFileSync(
    file,
    `[system]
name = "binance-acceptance"
log_level = "info"
mode = "paper"

[exchanges]
enabled = ["binance"]

[binance]
plugin = "${PLUGIN}"
api_url = "${f.wsUrl}"
rest_url = "${f.restUrl}"
symbols = ["${SYM}"]
${extra}

[binance.options]
reconnect_initial_ms = 20
reconnect_max_ms = 200

[risk]
max_position = 100000
max_drawdown = 0.15
kelly_fraction = 0.25
var_confidence = 0.99

[monitoring]
metrics_port = 0
health_check_port = 0
control_port = 0
bind_address = "127.0.0.1"

[compute]
backends = ["js"]

[journal]
path = "${join(dir, 'journal.jsonl')}"
`,
  );
  return file;
}

export interface Run {
  child: ChildProcess;
  out: string[];
  healthPort: number;
  metricsPort: number;
  exited: Promise<number | null>;
}

/** Starts the app; it runs until the test sends SIGTERM (`stopRun`). */
export async function startRun(cfg: string, record: string): Promise<Run> {
  const child = spawn(process.execPath, [CLI, 'run', '--config', cfg, '--record', record], { cwd: ROOT, env: { ...process.env, CWTS_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const ports = await new Promise<{ m: number; h: number }>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`no "metrics on" log line:\n${out.join('')}`)), 60_000);
    const onData = (d: Buffer) => {
      out.push(d.toString());
      const m = /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics, health on http:\/\/127\.0\.0\.1:(\d+)\/health/.exec(out.join(''));
      if (m) {
        clearTimeout(t);
        res({ m: Number(m[1]), h: Number(m[2]) });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
    void exited.then(() => rej(new Error(`cwts-ultra exited early:\n${out.join('')}`)));
  });
  return { child, out, healthPort: ports.h, metricsPort: ports.m, exited };
}

export async function getJson(url: string): Promise<any> {
  const r = await fetch(url);
  return r.json();
}

export async function until(cond: () => Promise<boolean> | boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}


/** SIGTERM (a clean shutdown that flushes the recording); resolves with the exit code. */
export async function stopRun(run: Run): Promise<number | null> {
  if (run.child.exitCode === null) run.child.kill('SIGTERM');
  return run.exited;
}

/** Sum of a counter's samples whose labels contain every `match` (e.g. 'reason="malformed"'). */
export function counterSum(metrics: string, name: string, ...match: string[]): number {
  return metrics
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && match.every((m) => l.includes(m)))
    .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}

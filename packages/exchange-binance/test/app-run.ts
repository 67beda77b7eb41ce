/**
 * Runs `cwts-ultra run` (the built CLI) against the local Binance server for the app-level
 * tests: a config on loopback with ephemeral ports, the log captured, /status, /health and
 * /metrics read back. The run is stopped by the test (SIGTERM), never by a wall-clock duration,
 * so a slow machine only makes a test slower, not red.
 */
import { counterSum, getJson, startAppRun, stopAppRun, waitUntil, type AppRun } from '@cwts/core/testing';
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

export type Run = AppRun;
export { getJson, counterSum };

/** Starts the app; it runs until the test sends SIGTERM (`stopRun`). */
export function startRun(cfg: string, record: string): Promise<Run> {
  return startAppRun(CLI, ['run', '--config', cfg, '--record', record], { cwd: ROOT, startTimeoutMs: 60_000 });
}

export const stopRun = stopAppRun;

export function until(cond: () => Promise<boolean> | boolean, what: string, ms = 15_000): Promise<void> {
  return waitUntil(cond, what, ms, 25);
}

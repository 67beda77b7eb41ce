/**
 * The control token and the journal's writer lock. Off loopback (`CWTS_BIND_ADDRESS=0.0.0.0` in
 * the shipped image and pod) `run` needs the token for /status too; it used to write a new
 * `control.token` before the lock was checked, so a second instance the lock refused had already
 * replaced the running engine's token, and `cwts-ultra risk halt` got 401 until that engine
 * restarted: the kill switch gone exactly when the CwtsDown runbook has the operator stop one of
 * two instances. "Off loopback" here is `::ffff:127.0.0.1`, which isLoopback() does not count as
 * loopback but which is reachable only from this host: nothing leaves 127.0.0.1. Every wait is on
 * a log line or a process exit, never on time.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ANY_PORTS, simConfig } from '../../test/fixtures/sim-config.js';
import { CONTROL_TOKEN_ENV, CONTROL_TOKEN_FILE } from '../risk/control-token.js';
import { riskCommand } from './risk.js';

const BIN = fileURLToPath(new URL('../../bin/cwts-ultra.js', import.meta.url));
const OFF_LOOPBACK = '::ffff:127.0.0.1';

type Run = ReturnType<typeof spawnRun>;
const started: Run[] = [];
afterEach(() => {
  for (const r of started.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
});

function spawnRun(cfg: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [BIN, 'run', '--config', cfg], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { log: '', stderr: '' };
  child.stdout.on('data', (b) => (out.log += String(b)));
  child.stderr.on('data', (b) => {
    out.log += String(b);
    out.stderr += String(b);
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const run = { child, out, exited };
  started.push(run);
  return run;
}

/** Waits for `re` in the run's log (or its exit); returns the match. */
async function logLine(run: Run, re: RegExp): Promise<RegExpExecArray> {
  let m: RegExpExecArray | null = null;
  for (let i = 0; i < 2400 && !(m = re.exec(run.out.log)) && run.child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
  expect(m, run.out.log).not.toBeNull();
  return m!;
}

function baseEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CWTS_LOG_FORMAT: 'json', CWTS_DATA_DIR: dataDir };
  delete env[CONTROL_TOKEN_ENV];
  delete env.CWTS_BIND_ADDRESS;
  return env;
}

async function status(healthPort: string, token?: string): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${healthPort}/status`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  await r.arrayBuffer();
  return r.status;
}

describe('run: a second instance refused by the journal lock', () => {
  it("leaves the running engine's control.token alone: `risk halt` still works, and /status still takes that token", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-run-second-token-'));
    const dataDir = join(dir, 'data');
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, simConfig('secondtoken', ANY_PORTS));
    const env = baseEnv(dataDir);
    const first = spawnRun(cfg, { ...env, CWTS_BIND_ADDRESS: OFF_LOOPBACK });
    const url = (await logLine(first, /risk control endpoint on (http:\/\/127\.0\.0\.1:\d+)\/risk/))[1]!;
    const healthPort = (await logLine(first, /health on http:\/\/.*:(\d+)\/health/))[1]!;
    const token = readFileSync(join(dataDir, CONTROL_TOKEN_FILE), 'utf8').trim();

    // the same deployment started again by mistake, as in the image / pod: refused before it listens
    const second = spawnRun(cfg, { ...env, CWTS_BIND_ADDRESS: OFF_LOOPBACK });
    expect(await second.exited, second.out.log).toBe(2);
    expect(second.out.stderr).toMatch(/in use by another cwts-ultra process/);
    expect(readFileSync(join(dataDir, CONTROL_TOKEN_FILE), 'utf8').trim()).toBe(token);
    expect(readdirSync(dataDir).filter((f) => f.startsWith(CONTROL_TOKEN_FILE))).toEqual([CONTROL_TOKEN_FILE]);

    // /status of the running engine: the token the control endpoint accepts, the one in the file
    expect(await status(healthPort)).toBe(401);
    expect(await status(healthPort, token)).toBe(200);
    // the kill switch the documented way: the token from control.token, no flag
    const lines: string[] = [];
    expect(await riskCommand('halt', { url, json: true, reason: 'second instance', env: { CWTS_DATA_DIR: dataDir } }, (l) => lines.push(l))).toBe(0);
    expect(JSON.parse(lines[0]!).state).toBe('HALTED');

    first.child.kill('SIGTERM');
    expect(await first.exited, first.out.log).toBe(0);
  }, 120_000);

  it('with CWTS_CONTROL_TOKEN set, the operator\'s token still wins: no control.token is written, and /status and the kill switch take it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-run-env-token-'));
    const dataDir = join(dir, 'data');
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, simConfig('envtoken', ANY_PORTS));
    const token = 'operator-chosen-token-0123456789';
    const run = spawnRun(cfg, { ...baseEnv(dataDir), CWTS_BIND_ADDRESS: OFF_LOOPBACK, [CONTROL_TOKEN_ENV]: token });
    const url = (await logLine(run, /risk control endpoint on (http:\/\/127\.0\.0\.1:\d+)\/risk/))[1]!;
    const healthPort = (await logLine(run, /health on http:\/\/.*:(\d+)\/health/))[1]!;
    expect(readdirSync(dataDir).filter((f) => f.startsWith(CONTROL_TOKEN_FILE))).toEqual([]);
    expect(await status(healthPort, 'not-the-token-at-all')).toBe(401);
    expect(await status(healthPort, token)).toBe(200);
    expect(await riskCommand('status', { url, json: true, env: { CWTS_DATA_DIR: dataDir, [CONTROL_TOKEN_ENV]: token } }, () => {})).toBe(0);
    run.child.kill('SIGTERM');
    expect(await run.exited, run.out.log).toBe(0);
  }, 120_000);
});

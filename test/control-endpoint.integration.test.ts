import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'packages/core/bin/cwts-ultra.js');
const app = join(root, 'examples/reference-app');
const dir = mkdtempSync(join(tmpdir(), 'cwts-control-e2e-'));
const dataDir = join(dir, 'data');

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function config(): string {
  const t = readFileSync(join(app, 'config/sim.toml'), 'utf8')
    .replace('metrics_port = 9090', 'metrics_port = 0')
    .replace('health_check_port = 8080', 'health_check_port = 0')
    .replace('control_port = 8081', 'control_port = 0')
    .replaceAll('"../dist/', `"${app}/dist/`)
    .replace('path = "./.cwts/journal.jsonl"', `path = "${join(dir, 'journal.jsonl')}"`);
  const p = join(dir, 'c.toml');
  writeFileSync(p, t);
  return p;
}

describe('control endpoint of a running engine', () => {
  it('writes a 0600 token into CWTS_DATA_DIR that `cwts-ultra risk` uses without flags; others get 401', async () => {
    const env = { ...process.env, CWTS_LOG_FORMAT: 'json', CWTS_DATA_DIR: dataDir };
    delete env.CWTS_CONTROL_TOKEN;
    const child = spawn(process.execPath, [bin, 'run', '--config', config()], { cwd: dir, env });
    children.push(child);
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const end = Date.now() + 60_000;
    let m: RegExpExecArray | null = null;
    while (!(m = /risk control endpoint on (http:\/\/127\.0\.0\.1:\d+)\/risk/.exec(log)) && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    expect(m, log).not.toBeNull();
    const url = m![1]!;
    const tokenFile = join(dataDir, 'control.token');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, 'utf8').trim();

    expect((await fetch(`${url}/risk/halt`, { method: 'POST', headers: { 'x-cwts-control': '1' } })).status).toBe(401);
    const risk = (action: string, e: NodeJS.ProcessEnv) => spawnSync(process.execPath, [bin, 'risk', action, '--url', url, '--json'], { cwd: dir, env: e, encoding: 'utf8', timeout: 30_000 });
    const halted = risk('halt', env);
    expect(halted.status, halted.stderr).toBe(0);
    expect(JSON.parse(halted.stdout).state).toBe('HALTED');
    const elsewhere = risk('resume', { ...env, CWTS_DATA_DIR: join(dir, 'other') });
    expect(elsewhere.status).not.toBe(0);
    expect(elsewhere.stderr).toMatch(/no control token/);
    expect(risk('status', env).stdout).toMatch(/"state":\s*"HALTED"/);

    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    expect(log).toMatch(/risk control token from .*control\.token/);
    expect(log).not.toContain(token);
  }, 120_000);
});

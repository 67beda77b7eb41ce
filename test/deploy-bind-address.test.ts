import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, parseConfig } from '../packages/core/src/config/index.js';
import { HttpEndpoint, requireToken } from '../packages/core/src/observability/http.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'packages/core/bin/cwts-ultra.js');
const app = join(root, 'examples/reference-app');
const dir = mkdtempSync(join(tmpdir(), 'cwts-bind-'));

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('CWTS_BIND_ADDRESS', () => {
  const sim = readFileSync(join(app, 'config/sim.toml'), 'utf8');
  const monitoring = (text: string, env: NodeJS.ProcessEnv) => parseConfig(text, env, 'sim.toml', join(app, 'config')).config.monitoring;

  it('overrides [monitoring] bind_address and leaves the rest of the table alone', () => {
    expect(monitoring(sim, {}).bind_address).toBe('127.0.0.1');
    const over = monitoring(sim, { CWTS_BIND_ADDRESS: ' 0.0.0.0 ' });
    expect(over.bind_address).toBe('0.0.0.0');
    expect(over.metrics_port).toBe(monitoring(sim, {}).metrics_port);
    expect(over.control_bind_address).toBe('127.0.0.1');
  });

  it('applies when the file has no [monitoring] table, and is validated like the file value', () => {
    const without = sim.replace(/^\[monitoring\]\n(?:[a-z_]+ = .*\n|#.*\n|\n)*/m, '');
    expect(without).not.toMatch(/^\[monitoring\]/m);
    expect(monitoring(without, { CWTS_BIND_ADDRESS: '0.0.0.0' }).bind_address).toBe('0.0.0.0');
    expect(() => monitoring(sim, { CWTS_BIND_ADDRESS: 'not a host!' })).toThrow(ConfigError);
    expect(() => monitoring(sim, { CWTS_BIND_ADDRESS: 'not a host!' })).toThrow(/bind_address/);
  });
});

describe('requireToken', () => {
  it('answers 401 with a Basic challenge without the token; Bearer and Basic (token as password) pass', async () => {
    const token = 'a-long-enough-test-token-0123456789';
    const http = new HttpEndpoint('t', {
      '/health/live': () => ({ status: 200, body: { live: true } }),
      ...requireToken({ '/status': () => ({ status: 200, body: { secret: 'positions' } }) }, (p) => p === token, 'test'),
    });
    const port = await http.listen(0, '127.0.0.1');
    try {
      const url = `http://127.0.0.1:${port}`;
      expect((await fetch(`${url}/health/live`)).status).toBe(200);
      const anon = await fetch(`${url}/status`);
      expect(anon.status).toBe(401);
      expect(anon.headers.get('www-authenticate')).toMatch(/^Basic /);
      expect(await anon.text()).not.toContain('positions');
      expect((await fetch(`${url}/status`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
      expect((await fetch(`${url}/status`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      const basic = Buffer.from(`anyone:${token}`).toString('base64');
      expect((await fetch(`${url}/status`, { headers: { authorization: `Basic ${basic}` } })).status).toBe(200);
      expect((await fetch(`${url}/status`, { headers: { authorization: `Basic ${Buffer.from(`${token}:`).toString('base64')}` } })).status).toBe(401);
    } finally {
      await http.close();
    }
  });
});

describe('cwts-ultra run with CWTS_BIND_ADDRESS=0.0.0.0 (as in the container)', () => {
  it('keeps probes and /metrics open and puts /status and the live page behind the control token', async () => {
    const t = readFileSync(join(app, 'config/sim.toml'), 'utf8')
      .replace('metrics_port = 9090', 'metrics_port = 0')
      .replace('health_check_port = 8080', 'health_check_port = 0')
      .replace('control_port = 8081', 'control_port = 0')
      .replaceAll('"../dist/', `"${app}/dist/`)
      .replace('path = "./.cwts/journal.jsonl"', `path = "${join(dir, 'journal.jsonl')}"`);
    const cfgPath = join(dir, 'c.toml');
    writeFileSync(cfgPath, t);
    const token = 'bind-address-test-token-0123456789';
    const env = { ...process.env, CWTS_LOG_FORMAT: 'json', CWTS_DATA_DIR: join(dir, 'data'), CWTS_BIND_ADDRESS: '0.0.0.0', CWTS_CONTROL_TOKEN: token };
    const child = spawn(process.execPath, [bin, 'run', '--config', cfgPath], { cwd: dir, env });
    children.push(child);
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const end = Date.now() + 60_000;
    let m: RegExpExecArray | null = null;
    while (!(m = /metrics on http:\/\/0\.0\.0\.0:(\d+)\/metrics, health on http:\/\/0\.0\.0\.0:(\d+)\/health/.exec(log)) && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    expect(m, log).not.toBeNull();
    const metrics = `http://127.0.0.1:${m![1]}`;
    const health = `http://127.0.0.1:${m![2]}`;
    expect((await fetch(`${metrics}/metrics`)).status).toBe(200);
    expect((await fetch(`${health}/health/live`)).status).toBe(200);
    expect([200, 503]).toContain((await fetch(`${health}/health/ready`)).status);
    for (const path of ['/status', '/', '/events']) expect((await fetch(`${health}${path}`)).status, path).toBe(401);
    const auth = { authorization: `Bearer ${token}` };
    const status = await fetch(`${health}/status`, { headers: auth });
    expect(status.status).toBe(200);
    expect(await status.json()).toHaveProperty('system');
    expect((await fetch(`${health}/`, { headers: auth })).status).toBe(200);
    expect(log).not.toContain(token);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }, 90_000);
});

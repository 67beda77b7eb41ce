import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipUnlessRequired } from '@cwts/core/testing';
import { controlRequest } from '../packages/core/src/risk/control.js';

// A real Prometheus, loading monitoring/alerts.yml unchanged, scrapes a running engine; the kill
// switch is engaged through the control endpoint and the RiskHalted alert must go to firing.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'packages/core/bin/cwts-ultra.js');
const app = join(root, 'examples/reference-app');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

async function poll<T>(f: () => Promise<T | undefined>, ms: number): Promise<T | undefined> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}

type Alert = { labels: Record<string, string>; state: string };

/** The reference app's sim config on free ports, `edit`ed, run with a known control token; a Prometheus scraping it with monitoring/ unchanged except the intervals. */
async function startStack(edit: (toml: string) => string = (t) => t) {
  const dir = mkdtempSync(join(tmpdir(), 'cwts-prom-alerts-'));
  const cfg = edit(
    readFileSync(join(app, 'config/sim.toml'), 'utf8')
      .replace('metrics_port = 9090', 'metrics_port = 0')
      .replace('health_check_port = 8080', 'health_check_port = 0')
      .replace('control_port = 8081', 'control_port = 0')
      .replaceAll('"../dist/', `"${app}/dist/`)
      .replace('path = "./.cwts/journal.jsonl"', `path = "${join(dir, 'journal.jsonl')}"`),
  );
  writeFileSync(join(dir, 'c.toml'), cfg);
  const token = 'monitoring-alerts-test-token-0123456789';
  const appProc = spawn(process.execPath, [bin, 'run', '--config', join(dir, 'c.toml')], { cwd: dir, env: { ...process.env, CWTS_LOG_FORMAT: 'json', CWTS_DATA_DIR: join(dir, 'data'), CWTS_CONTROL_TOKEN: token } });
  children.push(appProc);
  let log = '';
  appProc.stdout!.on('data', (d) => (log += d));
  appProc.stderr!.on('data', (d) => (log += d));
  const ports = await poll(async () => {
    const m = /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(log);
    const c = /risk control endpoint on (http:\/\/127\.0\.0\.1:\d+)\/risk/.exec(log);
    return m && c ? { metrics: Number(m[1]), control: c[1]! } : undefined;
  }, 60_000);
  expect(ports, log).toBeDefined();
  const promPort = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    readFileSync(join(root, 'monitoring/prometheus.yml'), 'utf8')
      .replace('scrape_interval: 5s', 'scrape_interval: 1s')
      .replace('evaluation_interval: 5s', 'evaluation_interval: 1s')
      .replace("'localhost:9090'", `'127.0.0.1:${ports!.metrics}'`)
      .replace('  - alerts.yml', `  - ${join(root, 'monitoring/alerts.yml')}`),
  );
  const prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'prom')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });
  children.push(prom);
  const api = async <T>(path: string) => ((await (await fetch(`http://127.0.0.1:${promPort}/api/v1/${path}`)).json()) as { data: T }).data;
  const value = async (q: string) => (await api<{ result: { value: [number, string] }[] }>(`query?query=${encodeURIComponent(q)}`)).result[0]?.value[1];
  const alerts = async (name: string) => (await api<{ alerts: Alert[] }>('alerts')).alerts.filter((a) => a.labels.alertname === name);
  const stop = async () => {
    prom.kill('SIGTERM');
    appProc.kill('SIGTERM');
    await new Promise((r) => appProc.once('exit', r));
  };
  return { dir, token, control: ports!.control, value, alerts, stop, prom, appProc };
}

describe('alerts on a real Prometheus', () => {
  it('RiskHalted goes to firing once the running engine is halted, and not before', async (ctx) => {
    if (!has('prometheus')) skipUnlessRequired(ctx, 'prometheus', 'prometheus not installed (Debian package prometheus)');
    const s = await startStack();
    // Scraped, ACTIVE, and the rules evaluated after that: no RiskHalted yet.
    expect(await poll(async () => ((await s.value('cwts_risk_state{job="cwts-ultra"}')) === '0' ? true : undefined), 60_000), 'Prometheus never saw cwts_risk_state 0').toBe(true);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await s.alerts('RiskHalted')).toEqual([]);

    const halted = await controlRequest(s.control, 'halt', { token: s.token, reason: 'alert test' });
    expect(halted.status).toBe(200);
    const firing = await poll(async () => (await s.alerts('RiskHalted')).find((a) => a.state === 'firing'), 60_000);
    expect(firing, 'RiskHalted never fired').toBeDefined();
    expect(firing!.labels.severity).toBe('page');
    await s.stop();
  }, 150_000);

  it('BookNotSynced goes pending then firing (after its 30 s) when the venue reports the feed disconnected', async (ctx) => {
    if (!has('prometheus')) skipUnlessRequired(ctx, 'prometheus', 'prometheus not installed (Debian package prometheus)');
    // A replayed feed: a synced book, then at +15 s the venue reports the feed disconnected; a
    // last delta far in the future keeps the replay (and the venue) running meanwhile.
    const dir = mkdtempSync(join(tmpdir(), 'cwts-prom-book-'));
    const T = 1_700_000_000_000;
    const lines = [
      { kind: 'cwts-recording', version: 1, instruments: [{ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' }] },
      { type: 'book_snapshot', exchange: 'sim', symbol: 'BTCUSDT', ts: T, recvTs: T, seq: 1, reason: 'initial', bids: [{ price: 5_999_900, qty: 300 }], asks: [{ price: 6_000_000, qty: 100 }] },
      { type: 'feed_status', exchange: 'sim', symbol: 'BTCUSDT', state: 'synced', reason: 'snapshot', ts: T },
      { type: 'feed_status', exchange: 'sim', symbol: 'BTCUSDT', state: 'disconnected', reason: 'test: venue went away', ts: T + 15_000 },
      { type: 'book_delta', exchange: 'sim', symbol: 'BTCUSDT', ts: T + 600_000, recvTs: T + 600_000, seq: 2, bids: [], asks: [] },
    ];
    writeFileSync(join(dir, 'feed.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const s = await startStack((t) => t.replace('symbols = ["BTCUSDT", "ETHUSDT"]', 'symbols = ["BTCUSDT"]').replace(/^seed = 42$/m, `seed = 42\nreplay_file = "${join(dir, 'feed.jsonl')}"`));
    const synced = await poll(async () => ((await s.value('cwts_book_state{symbol="BTCUSDT"}')) === '1' ? true : undefined), 30_000);
    expect(synced, 'Prometheus never saw the book synced').toBe(true);
    expect(await s.alerts('BookNotSynced')).toEqual([]);
    const pending = await poll(async () => (await s.alerts('BookNotSynced')).find((a) => a.state === 'pending'), 30_000);
    expect(pending, 'BookNotSynced never went pending').toBeDefined();
    expect(pending!.labels).toMatchObject({ exchange: 'sim', symbol: 'BTCUSDT', severity: 'page' });
    const firing = await poll(async () => (await s.alerts('BookNotSynced')).find((a) => a.state === 'firing'), 60_000);
    expect(firing, 'BookNotSynced never fired').toBeDefined();
    await s.stop();
  }, 180_000);

  it('CwtsDown and CwtsTargetMissing match the target the shipped prometheus.yml scrapes: quiet while it answers, CwtsDown once it stops answering, CwtsTargetMissing once the target is gone', async (ctx) => {
    if (!has('prometheus')) skipUnlessRequired(ctx, 'prometheus', 'prometheus not installed (Debian package prometheus)');
    type Rule = { alert: string; expr: string };
    const rules: Rule[] = parseYaml(readFileSync(join(root, 'monitoring/alerts.yml'), 'utf8')).groups.flatMap((g: { rules: Rule[] }) => g.rules);
    const down = rules.find((r) => r.alert === 'CwtsDown')!;
    const missing = rules.find((r) => r.alert === 'CwtsTargetMissing');
    expect(missing, 'a rule for the target disappearing (up == 0 cannot see it)').toBeDefined();
    const selector = /up\{[^}]*\}/.exec(down.expr)![0];
    const s = await startStack();
    // The rules' own selector finds the scraped target, answering.
    expect(await poll(async () => ((await s.value(selector)) === '1' ? true : undefined), 60_000), `Prometheus never scraped ${selector} = 1`).toBe(true);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await s.value(down.expr)).toBeUndefined();
    expect(await s.value(missing!.expr)).toBeUndefined();
    expect(await s.alerts('CwtsDown')).toEqual([]);
    expect(await s.alerts('CwtsTargetMissing')).toEqual([]);

    // The process stops: its target fails its scrapes, CwtsDown goes pending (firing after 1m).
    s.appProc.kill('SIGTERM');
    await new Promise((r) => s.appProc.once('exit', r));
    const pendingDown = await poll(async () => (await s.alerts('CwtsDown')).find((a) => a.state === 'pending'), 30_000);
    expect(pendingDown, 'CwtsDown never went pending with the process stopped').toBeDefined();
    expect(pendingDown!.labels).toMatchObject({ severity: 'page', app: 'cwts-ultra' });
    expect(await s.alerts('CwtsTargetMissing')).toEqual([]);

    // The target goes (removed from the config, as discovery drops an evicted pod): no `up` series,
    // CwtsDown resolves and CwtsTargetMissing goes pending.
    const conf = join(s.dir, 'prometheus.yml');
    writeFileSync(conf, readFileSync(conf, 'utf8').replace(/targets: \['127\.0\.0\.1:\d+'\]/, 'targets: []'));
    s.prom.kill('SIGHUP');
    const pendingMissing = await poll(async () => (await s.alerts('CwtsTargetMissing')).find((a) => a.state === 'pending'), 30_000);
    expect(pendingMissing, 'CwtsTargetMissing never went pending with the target gone').toBeDefined();
    expect(pendingMissing!.labels).toMatchObject({ severity: 'page', app: 'cwts-ultra' });
    expect(await poll(async () => ((await s.alerts('CwtsDown')).length === 0 ? true : undefined), 30_000)).toBe(true);
    s.prom.kill('SIGTERM'); // the app has exited already
  }, 180_000);
});

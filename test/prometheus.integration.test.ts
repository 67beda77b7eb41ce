import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipUnlessRequired } from '@cwts/core/testing';

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
    await new Promise((r) => setTimeout(r, 500));
  }
  return undefined;
}

describe('monitoring', () => {
  it('promtool accepts the alert rules and the scrape config', (ctx) => {
    if (!has('promtool')) skipUnlessRequired(ctx, 'prometheus', 'promtool not installed (Debian package prometheus)');
    const rules = spawnSync('promtool', ['check', 'rules', join(root, 'monitoring/alerts.yml')], { encoding: 'utf8' });
    expect(rules.status, rules.stdout + rules.stderr).toBe(0);
    expect(rules.stdout).toMatch(/SUCCESS: \d+ rules found/);
    const conf = spawnSync('promtool', ['check', 'config', join(root, 'monitoring/prometheus.yml')], { encoding: 'utf8' });
    expect(conf.status, conf.stdout + conf.stderr).toBe(0);
  });

  it('a real Prometheus scrapes the running app and sees the seed metrics', async (ctx) => {
    if (!has('prometheus')) skipUnlessRequired(ctx, 'prometheus', 'prometheus not installed (Debian package prometheus)');
    const dir = mkdtempSync(join(tmpdir(), 'cwts-prom-'));
    const [metricsPort, healthPort, promPort] = [await freePort(), await freePort(), await freePort()];
    const cfg = readFileSync(join(app, 'config/sim.toml'), 'utf8')
      .replace('metrics_port = 9090', `metrics_port = ${metricsPort}`)
      .replace('health_check_port = 8080', `health_check_port = ${healthPort}`)
      .replace('control_port = 8081', 'control_port = 0')
      .replaceAll('"../dist/', `"${app}/dist/`)
      .replace('path = "./.cwts/journal.jsonl"', `path = "${join(dir, 'journal.jsonl')}"`);
    writeFileSync(join(dir, 'c.toml'), cfg);
    const appProc = spawn(process.execPath, [bin, 'run', '--config', join(dir, 'c.toml')], { cwd: root, stdio: 'ignore' });
    children.push(appProc);
    writeFileSync(
      join(dir, 'prometheus.yml'),
      readFileSync(join(root, 'monitoring/prometheus.yml'), 'utf8')
        .replace('scrape_interval: 5s', 'scrape_interval: 1s')
        .replace("'localhost:9090'", `'127.0.0.1:${metricsPort}'`)
        .replace('  - alerts.yml', `  - ${join(root, 'monitoring/alerts.yml')}`),
    );
    const prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });
    children.push(prom);
    const query = async (q: string) => {
      const r = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      return r.data.result;
    };
    const up = await poll(async () => {
      const r = await query('up{job="cwts-ultra"}');
      return r.length > 0 && r[0]!.value[1] === '1' ? r : undefined;
    }, 60_000);
    expect(up, 'Prometheus never saw the target up').toBeDefined();
    const events = await poll(async () => {
      const r = await query('sum(cwts_market_events_total)');
      return r.length > 0 && Number(r[0]!.value[1]) > 0 ? Number(r[0]!.value[1]) : undefined;
    }, 30_000);
    expect(events).toBeGreaterThan(0);
    for (const name of ['cwts_latency_p99', 'cwts_orders_per_second', 'cwts_book_state', 'cwts_risk_state']) {
      expect((await query(name)).length, name).toBeGreaterThan(0);
    }
    const rules = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string }[] }[] } };
    expect(rules.data.groups[0]!.rules.map((r) => r.name)).toContain('LatencyBudgetExceeded');
    appProc.kill('SIGTERM');
    prom.kill('SIGTERM');
  }, 120_000);
});

import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'packages/core/bin/cwts-ultra.js');
const app = join(root, 'examples/reference-app');
const dir = mkdtempSync(join(tmpdir(), 'cwts-e2e-'));

/** sim.toml with free ports, absolute plugin paths and a private journal. */
function config(extra: (t: string) => string = (t) => t): string {
  let t = readFileSync(join(app, 'config/sim.toml'), 'utf8')
    .replace('metrics_port = 9090', 'metrics_port = 0')
    .replace('health_check_port = 8080', 'health_check_port = 0')
    .replace('control_port = 8081', 'control_port = 0')
    .replaceAll('"../dist/', `"${app}/dist/`)
    .replace('path = "./.cwts/journal.jsonl"', `path = "${join(dir, 'journal.jsonl')}"`);
  t = extra(t);
  const p = join(dir, `c-${Math.abs(hash(t))}.toml`);
  writeFileSync(p, t);
  return p;
}
function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return h;
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function eventsTotal(metrics: string): number {
  let sum = 0;
  for (const m of metrics.matchAll(/^cwts_market_events_total\{[^}]*\} (\d+)/gm)) sum += Number(m[1]);
  return sum;
}

describe('reference app on the simulated venue', () => {
  const recording = join(dir, 'run.jsonl');

  it('becomes ready, serves rising metrics and status, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [bin, 'run', '--config', config(), '--record', recording], { cwd: root, env: { ...process.env, CWTS_LOG_FORMAT: 'json' } });
    children.push(child);
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const ports = await waitFor('the listening log line', async () => {
      const m = /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics, health on http:\/\/127\.0\.0\.1:(\d+)\/health/.exec(log);
      return m ? { metrics: Number(m[1]), health: Number(m[2]) } : undefined;
    }, 30_000);
    const ready = await waitFor('/health/ready 200', async () => {
      const r = await fetch(`http://127.0.0.1:${ports.health}/health/ready`);
      return r.status === 200 ? ((await r.json()) as { ready: boolean; components: { name: string }[] }) : undefined;
    }, 60_000);
    expect(ready.ready).toBe(true);
    expect(ready.components.map((c) => c.name)).toEqual(expect.arrayContaining(['book:sim:BTCUSDT', 'book:sim:ETHUSDT', 'reconciliation']));
    expect((await fetch(`http://127.0.0.1:${ports.health}/health/live`)).status).toBe(200);

    const first = eventsTotal(await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text());
    await new Promise((r) => setTimeout(r, 1500));
    const text = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
    expect(eventsTotal(text)).toBeGreaterThan(first);
    expect(text).toMatch(/^cwts_latency_p99 /m);
    expect(text).toMatch(/^cwts_orders_per_second /m);
    expect(text).toMatch(/^cwts_book_state\{exchange="sim",symbol="BTCUSDT"\} 1$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);

    const status = (await (await fetch(`http://127.0.0.1:${ports.health}/status`)).json()) as { books: { symbol: string; state: string; bids: [string, string][]; asks: [string, string][] }[]; risk: { state: string } };
    const btc = status.books.find((b) => b.symbol === 'BTCUSDT')!;
    expect(btc.state).toBe('SYNCED');
    expect(btc.bids).toHaveLength(10);
    expect(btc.asks).toHaveLength(10);
    expect(btc.bids[0]![0]).toMatch(/^\d+(\.\d{1,2})?$/);
    expect(Number(btc.bids[0]![0])).toBeLessThan(Number(btc.asks[0]![0]));
    expect(status.risk.state).toBe('ACTIVE');

    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(log).toMatch(/shutdown requested|stopping: SIGTERM/);
    expect(log).toMatch(/stopped: \d+ events/);
  }, 120_000);

  it('replay of the recording gives the same summary twice, counting every recorded event', () => {
    const lines = readFileSync(recording, 'utf8').trim().split('\n');
    const recordedEvents = lines.slice(1).filter((l) => !l.includes('"type":"feed_status"')).length;
    expect(recordedEvents).toBeGreaterThan(100);
    const run = () => spawnSync(process.execPath, [bin, 'replay', '--config', config(), '--data', recording, '--json'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    const a = run();
    const b = run();
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    const sa = JSON.parse(a.stdout.trim());
    expect(sa.events).toBe(recordedEvents);
    expect(a.stdout).toBe(b.stdout);
    expect(sa.digest).toMatch(/^[0-9a-f]{64}$/);
  }, 120_000);
});

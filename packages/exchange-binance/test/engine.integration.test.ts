/**
 * Acceptance: `cwts-ultra run` against the local Binance server, one scenario per test
 * (normal flow, a sequence gap, a dropped connection, malformed frames). Each run must end with
 * /status showing the venue's true top-10 book and SYNCED, cwts_book_resyncs_total counting
 * each resync, and every trade recorded once in the --record file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeBinance } from './fake-binance.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '../../..');
const CLI = join(ROOT, 'packages/core/bin/cwts-ultra.js');
const PLUGIN = join(ROOT, 'packages/exchange-binance/dist/index.js');
const SYM = 'BTCUSDT';

function config(dir: string, f: FakeBinance, extra = ''): string {
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

interface Run {
  child: ChildProcess;
  out: string[];
  healthPort: number;
  metricsPort: number;
  exited: Promise<number | null>;
}

async function startRun(cfg: string, record: string, seconds: number): Promise<Run> {
  const child = spawn(process.execPath, [CLI, 'run', '--config', cfg, '--duration', String(seconds), '--record', record], { cwd: ROOT, env: { ...process.env, CWTS_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const ports = await new Promise<{ m: number; h: number }>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`no "metrics on" log line:\n${out.join('')}`)), 20_000);
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

async function getJson(url: string): Promise<any> {
  const r = await fetch(url);
  return r.json();
}

async function until(cond: () => Promise<boolean> | boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const canon = (levels: [string, string][]) => levels.map(([p, q]) => [String(Number(p)), String(Number(q))]);

describe('cwts-ultra run against the local Binance server', () => {
  let fake: FakeBinance | undefined;
  let run: Run | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let dir = '';

  afterEach(async () => {
    if (ticker) clearInterval(ticker);
    if (run && run.child.exitCode === null) run.child.kill('SIGTERM');
    await run?.exited;
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    fake = undefined;
    run = undefined;
  });

  const scenarios: { name: string; act: (f: FakeBinance) => void; resyncs: { reason: string; min: number } | undefined; errors?: number }[] = [
    { name: 'normal flow', act: () => {}, resyncs: undefined },
    { name: 'a sequence gap', act: (f) => f.skipSequence(SYM), resyncs: { reason: 'sequence_gap', min: 1 } },
    { name: 'a dropped connection', act: (f) => f.dropConnections(), resyncs: { reason: 'reconnect', min: 1 } },
    { name: 'malformed frames', act: (f) => { f.sendRaw('{"e":"depthUpdate","s":"BTC'); f.sendRaw('garbage'); f.sendRaw('{"unknown":true}'); }, resyncs: undefined, errors: 3 },
  ];

  for (const sc of scenarios) {
    it(`ends SYNCED with the true top-10 book after ${sc.name}`, async () => {
      dir = mkdtempSync(join(tmpdir(), 'cwts-binance-'));
      fake = await FakeBinance.start({ seed: 5 });
      const f = fake;
      const record = join(dir, 'rec.jsonl');
      run = await startRun(config(dir, f), record, 6);
      const status = () => getJson(`http://127.0.0.1:${run!.healthPort}/status`);
      const book = async () => (await status()).books.find((b: any) => b.exchange === 'binance' && b.symbol === SYM);
      // the venue is live: updates and trades keep coming
      let trades = 0;
      ticker = setInterval(() => {
        f.step(SYM, 1);
        if (f.books.get(SYM)!.lastUpdateId % 4 === 0) {
          const t = f.truth(SYM, 1);
          f.trade(SYM, { price: t.asks[0]![0], qty: '0.00100000', side: 'buy' });
          trades++;
        }
      }, 10);
      await until(async () => (await book())?.state === 'SYNCED', 'SYNCED');
      sc.act(f);
      await new Promise((r) => setTimeout(r, 300));
      clearInterval(ticker);
      ticker = undefined;
      // quiet venue: the book must converge on the truth
      await until(async () => {
        const b = await book();
        const t = f.truth(SYM, 10);
        return b?.state === 'SYNCED' && JSON.stringify(canon(b.bids)) === JSON.stringify(canon(t.bids)) && JSON.stringify(canon(b.asks)) === JSON.stringify(canon(t.asks));
      }, 'the true top-10 book');
      const b = await book();
      expect(b.bids).toHaveLength(10);
      expect(b.asks).toHaveLength(10);
      const metrics = await (await fetch(`http://127.0.0.1:${run.metricsPort}/metrics`)).text();
      const resyncLines = metrics.split('\n').filter((l) => l.startsWith('cwts_book_resyncs_total{'));
      const count = (reason: string) => resyncLines.filter((l) => l.includes(`reason="${reason}"`)).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
      const total = resyncLines.reduce((s, l) => s + Number(l.split(' ').pop()), 0);
      if (sc.resyncs) {
        expect(count(sc.resyncs.reason), metrics).toBeGreaterThanOrEqual(sc.resyncs.min);
        expect(b.resyncs).toBe(total); // every resync counted once: one resync snapshot per counted resync
      } else expect(total).toBe(0);
      if (sc.errors) {
        const errs = metrics.split('\n').filter((l) => l.startsWith('cwts_errors_total{') && l.includes('binance')).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
        expect(errs).toBeGreaterThanOrEqual(sc.errors);
      }
      const code = await run.exited;
      expect(code, run.out.join('')).toBe(0);
      // every trade the venue published, recorded exactly once; resync snapshots recorded too
      const lines = readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines[0].kind).toBe('cwts-recording');
      const recTrades = lines.filter((e) => e.type === 'trade');
      expect(new Set(recTrades.map((e) => e.tradeId)).size).toBe(recTrades.length);
      expect(recTrades.length).toBe(f.tradesDelivered);
      expect(trades - f.tradesDelivered).toBeLessThanOrEqual(sc.name === 'a dropped connection' ? trades : 0);
      const snaps = lines.filter((e) => e.type === 'book_snapshot');
      expect(snaps.filter((s) => s.reason === 'resync').length).toBe(b.resyncs);
      // the secret-free log: nothing resembling a key (no keys configured here) and no crash
      expect(run.out.join('')).not.toMatch(/Unhandled|TypeError/);
    }, 60_000);
  }
});

/**
 * Acceptance: `cwts-ultra run` against the local Coinbase Advanced Trade server, one scenario per test
 * (normal flow, a sequence gap, a dropped connection, malformed frames). Each run must end with
 * /status showing the venue's true top-10 book and SYNCED, cwts_book_resyncs_total counting
 * each resync, and every trade recorded once in the --record file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { counterSum, getJson, scrapeUntil, startAppRun, stopAppRun, waitUntil, type AppRun } from '@cwts/core/testing';
import { FakeCoinbase } from './fake-coinbase.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '../../..');
const CLI = join(ROOT, 'packages/core/bin/cwts-ultra.js');
const PLUGIN = join(ROOT, 'packages/exchange-coinbase/dist/index.js');
const SYM = 'BTC-USD';

function config(dir: string, f: FakeCoinbase, extra = ''): string {
  const file = join(dir, 'coinbase.toml');
  writeFileSync(
    file,
    `[system]
name = "coinbase-acceptance"
log_level = "info"
mode = "paper"

[exchanges]
enabled = ["coinbase"]

[coinbase]
plugin = "${PLUGIN}"
api_url = "${f.wsUrl}"
rest_url = "${f.restUrl}"
symbols = ["${SYM}"]
${extra}

[coinbase.options]
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

type Run = AppRun;

/** Runs until the test stops it (SIGTERM, which flushes the recording): no wall-clock duration. */
function startRun(cfg: string, record: string): Promise<Run> {
  return startAppRun(CLI, ['run', '--config', cfg, '--record', record], { cwd: ROOT, startTimeoutMs: 20_000 });
}

function until(cond: () => Promise<boolean> | boolean, what: string, ms = 15_000): Promise<void> {
  return waitUntil(cond, what, ms, 25);
}

const canon = (levels: [string, string][]) => levels.map(([p, q]) => [String(Number(p)), String(Number(q))]);

describe('cwts-ultra run against the local Coinbase server', () => {
  let fake: FakeCoinbase | undefined;
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

  const scenarios: { name: string; act: (f: FakeCoinbase) => void; resyncs: { reason: string; min: number } | undefined; errors?: number }[] = [
    { name: 'normal flow', act: () => {}, resyncs: undefined },
    { name: 'a sequence gap', act: (f) => f.skipSequence(SYM), resyncs: { reason: 'sequence_gap', min: 1 } },
    { name: 'a dropped connection', act: (f) => f.dropConnections(), resyncs: { reason: 'reconnect', min: 1 } },
    { name: 'malformed frames', act: (f) => { f.sendRaw('{"channel":"l2_data","sequence_num":'); f.sendRaw('garbage'); f.sendRaw('{"unknown":true}'); }, resyncs: undefined, errors: 3 },
  ];

  for (const sc of scenarios) {
    it(`ends SYNCED with the true top-10 book after ${sc.name}`, async () => {
      dir = mkdtempSync(join(tmpdir(), 'cwts-coinbase-'));
      fake = await FakeCoinbase.start({ seed: 5 });
      const f = fake;
      const record = join(dir, 'rec.jsonl');
      run = await startRun(config(dir, f), record);
      const status = () => getJson(`http://127.0.0.1:${run!.healthPort}/status`);
      const book = async () => (await status()).books.find((b: any) => b.exchange === 'coinbase' && b.symbol === SYM);
      // the venue is live: updates keep coming, and trades once we are subscribed (earlier
      // trades are history the venue's first market_trades snapshot carries; they are not replayed)
      const published: string[] = [];
      let live = false;
      let tick = 0;
      ticker = setInterval(() => {
        f.step(SYM, 1);
        if (live && ++tick % 4 === 0) {
          const t = f.truth(SYM, 1);
          published.push(f.trade(SYM, { price: t.asks[0]![0], qty: '0.00100000', side: tick % 8 === 0 ? 'sell' : 'buy' }));
        }
      }, 10);
      await until(async () => (await book())?.state === 'SYNCED', 'SYNCED');
      live = true;
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
      // /metrics is a snapshot up to 250 ms old: scrape until it has caught up with /status
      const metrics = await scrapeUntil(`http://127.0.0.1:${run.metricsPort}/metrics`, (m) =>
        counterSum(m, 'cwts_book_resyncs_total') === b.resyncs &&
        (!sc.resyncs || counterSum(m, 'cwts_book_resyncs_total', `reason="${sc.resyncs.reason}"`) >= sc.resyncs.min) &&
        counterSum(m, 'cwts_feed_errors_total', 'coinbase') >= (sc.errors ?? 0));
      const resyncLines = metrics.split('\n').filter((l) => l.startsWith('cwts_book_resyncs_total{'));
      const count = (reason: string) => resyncLines.filter((l) => l.includes(`reason="${reason}"`)).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
      const total = resyncLines.reduce((s, l) => s + Number(l.split(' ').pop()), 0);
      if (sc.resyncs) {
        expect(count(sc.resyncs.reason), metrics).toBeGreaterThanOrEqual(sc.resyncs.min);
        expect(b.resyncs).toBe(total); // every resync counted once: one resync snapshot per counted resync
      } else expect(total).toBe(0);
      if (sc.errors) {
        // every rejected frame is counted in cwts_feed_errors_total (its warn log is rate-limited)
        const errs = metrics.split('\n').filter((l) => l.startsWith('cwts_feed_errors_total{') && l.includes('coinbase')).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
        expect(errs).toBeGreaterThanOrEqual(sc.errors);
      }
      const code = await stopAppRun(run);
      expect(code, run.out.join('')).toBe(0);
      // every trade the venue published, recorded exactly once; resync snapshots recorded too
      const lines = readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines[0].kind).toBe('cwts-recording');
      const recTrades = lines.filter((e) => e.type === 'trade');
      expect(new Set(recTrades.map((e) => e.tradeId)).size).toBe(recTrades.length);
      // every trade published, even while the connection was down (the market_trades snapshot
      // after the reconnect backfills them), in id order
      expect(published.length).toBeGreaterThan(0);
      expect(recTrades.map((e) => e.tradeId)).toEqual(published);
      const snaps = lines.filter((e) => e.type === 'book_snapshot');
      expect(snaps.filter((s) => s.reason === 'resync').length).toBe(b.resyncs);
      // the secret-free log: nothing resembling a key (no keys configured here) and no crash
      expect(run.out.join('')).not.toMatch(/Unhandled|TypeError/);
      // [performance] intake defaults to "worker": the venue's socket and parsing run on an intake worker thread
      expect(run.out.join('')).toMatch(/coinbase: market data intake on a worker thread/);
      expect(run.out.join('')).not.toMatch(/intake stays on the engine thread/);
    }, 60_000);
  }
});

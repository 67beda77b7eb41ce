/**
 * Acceptance through the CLI: `cwts-ultra run` with a venue named "okx" served by
 * @cwts/exchange-ccxt with ccxt_id = "binance", pointed at the local Binance server. The config
 * (options table with a nested ccxt_options table) must load, the run must reach SYNCED, and
 * after a dropped connection /status must show the venue's true top-10 book, SYNCED, with the
 * resync counted, and the recorded trades each once.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { counterSum, scrapeUntil, startAppRun, stopAppRun, waitUntil, type AppRun } from '@cwts/core/testing';
import { FakeBinance } from '../../exchange-binance/test/fake-binance.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '../../..');
const CLI = join(ROOT, 'packages/core/bin/cwts-ultra.js');
const PLUGIN = join(ROOT, 'packages/exchange-ccxt/dist/index.js');
const SYM = 'BTCUSDT';

function config(dir: string, f: FakeBinance): string {
  const file = join(dir, 'ccxt.toml');
  writeFileSync(
    file,
    `[system]
name = "ccxt-acceptance"
log_level = "info"
mode = "paper"

[exchanges]
enabled = ["okx"]

[okx]
plugin = "${PLUGIN}"
api_url = "${f.wsUrl}"
rest_url = "${f.restUrl}"
symbols = ["${SYM}"]

[okx.options]
ccxt_id = "binance"
reconnect_initial_ms = 20
reconnect_max_ms = 200
ccxt_options = { fetchMarkets = { types = ["spot"] }, fetchCurrencies = false, fetchMargins = false, defaultType = "spot", adjustForTimeDifference = false, streamLimits = { spot = 1 } }

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
  return startAppRun(CLI, ['run', '--config', cfg, '--record', record], { cwd: ROOT, startTimeoutMs: 30_000 });
}

function until(cond: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<void> {
  return waitUntil(cond, what, ms, 25);
}

const canon = (levels: [string, string][]) => levels.map(([p, q]) => [String(Number(p)), String(Number(q))]);

describe('cwts-ultra run with @cwts/exchange-ccxt (ccxt_id "binance") against the local Binance server', () => {
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

  it('ends SYNCED with the true top-10 book after a dropped connection, the resync counted, trades once', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cwts-ccxt-'));
    fake = await FakeBinance.start({ seed: 5 });
    const f = fake;
    const record = join(dir, 'rec.jsonl');
    run = await startRun(config(dir, f), record);
    const status = async () => (await fetch(`http://127.0.0.1:${run!.healthPort}/status`).catch(() => undefined))?.json() as Promise<any>;
    const book = async () => (await status())?.books.find((b: any) => b.exchange === 'okx' && b.symbol === SYM);
    let ticks = 0;
    ticker = setInterval(() => {
      f.step(SYM, 1);
      if (++ticks % 4 === 0) f.trade(SYM, { price: f.truth(SYM, 1).asks[0]![0], qty: '0.00100000', side: 'buy' });
    }, 10);
    await until(async () => (await book())?.state === 'SYNCED', 'SYNCED').catch((err: Error) => {
      throw new Error(`${err.message}\n${run!.out.join('').slice(-3000)}`);
    });
    await new Promise((r) => setTimeout(r, 400));
    f.dropConnections();
    await new Promise((r) => setTimeout(r, 500));
    clearInterval(ticker);
    ticker = undefined;
    await until(async () => {
      const b = await book();
      const t = f.truth(SYM, 10);
      return b?.state === 'SYNCED' && JSON.stringify(canon(b.bids)) === JSON.stringify(canon(t.bids)) && JSON.stringify(canon(b.asks)) === JSON.stringify(canon(t.asks));
    }, 'the true top-10 book');
    const b = await book();
    expect(b.bids).toHaveLength(10);
    expect(b.resyncs).toBeGreaterThanOrEqual(1);
    // /metrics is a snapshot up to 250 ms old: scrape until it has caught up with /status
    const metrics = await scrapeUntil(`http://127.0.0.1:${run.metricsPort}/metrics`, (m) => counterSum(m, 'cwts_book_resyncs_total', 'okx') === b.resyncs);
    const total = metrics.split('\n').filter((l) => l.startsWith('cwts_book_resyncs_total{') && l.includes('okx')).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
    expect(b.resyncs).toBe(total);
    const code = await stopAppRun(run);
    expect(code, run.out.join('')).toBe(0);
    const lines = readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const recTrades = lines.filter((e) => e.type === 'trade');
    expect(recTrades.length).toBeGreaterThan(3);
    expect(new Set(recTrades.map((e) => e.tradeId)).size).toBe(recTrades.length);
    expect(recTrades.length).toBe(f.tradesDelivered);
  }, 60_000);
});

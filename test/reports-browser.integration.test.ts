import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { instrumentSpec, RECORDING_KIND, RECORDING_VERSION } from '@cwts/core/engine';
import { skipUnlessRequired } from '@cwts/core/testing';
import { resolveSimOptions, SyntheticMarket, type SimEvent } from '@cwts/exchange-sim';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'packages/core/bin/cwts-ultra.js');
const app = join(root, 'examples/reference-app');
const CHROMIUM = process.env.CWTS_CHROMIUM ?? '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'cwts-report-'));

/** sim.toml with starting capital (for return and ratios), free ports, absolute plugin paths (the journal goes to CWTS_DATA_DIR). */
function config(): string {
  const t = readFileSync(join(app, 'config/sim.toml'), 'utf8')
    .replace(/^\[risk\]$/m, '[risk]\ninitial_equity = 10000')
    .replace('metrics_port = 9090', 'metrics_port = 0')
    .replace('health_check_port = 8080', 'health_check_port = 0')
    .replace('control_port = 8081', 'control_port = 0')
    .replaceAll('"../dist/', `"${app}/dist/`);
  const p = join(dir, 'c.toml');
  writeFileSync(p, t);
  return p;
}

/** Ten virtual minutes of the synthetic market in the `run --record` format. */
function writeRecording(path: string, seed: number): void {
  const market = new SyntheticMarket({ exchange: 'sim', symbols: ['BTCUSDT', 'ETHUSDT'], options: resolveSimOptions({ seed, whale_probability: 0.002 }), startTs: 1_700_000_000_000 });
  const lines: string[] = [];
  market.attach((ev: SimEvent) => lines.push(JSON.stringify(ev)));
  market.begin();
  market.generate(1_700_000_000_000 + 10 * 60_000);
  const header = { kind: RECORDING_KIND, version: RECORDING_VERSION, createdAt: 'test', instruments: market.instruments().map(instrumentSpec) };
  writeFileSync(path, [JSON.stringify(header), ...lines].join('\n') + '\n');
}

/** Console errors and uncaught page errors, collected for the assertion "none". */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}

/** Per canvas: pixels with any ink, and pixels close to each of the given colours. */
async function canvasInk(page: Page, colors: Record<string, [number, number, number]>) {
  return page.evaluate((colors) => {
    return [...document.querySelectorAll('canvas')].map((c) => {
      const ctx = c.getContext('2d')!;
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      const near: Record<string, number> = Object.fromEntries(Object.keys(colors).map((k) => [k, 0]));
      let ink = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3]! === 0) continue;
        ink++;
        for (const [k, [r, g, b]] of Object.entries(colors)) if (Math.abs(d[i]! - r) < 12 && Math.abs(d[i + 1]! - g) < 12 && Math.abs(d[i + 2]! - b) < 12 && d[i + 3]! > 200) near[k]!++;
      }
      const chart = c.closest('[data-chart]')?.getAttribute('data-chart') ?? c.id;
      return { chart, ink, near };
    });
  }, colors);
}

function at(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], obj);
}

/** Opens a report offline and checks charts, errors and that every [data-stat] cell equals `stats`. */
async function expectReportRenders(report: string, stats: Record<string, unknown>, replay: boolean): Promise<void> {
  const html = readFileSync(report, 'utf8');
  expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=["']?https?:/i);
  const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = watchErrors(page);
  // Offline: any request that leaves the file is refused (and would surface as an error).
  await page.route(/^(?!file:)/, (route) => route.abort());
  await page.goto(pathToFileURL(report).href);
  await page.waitForSelector('body[data-rendered="true"]', { timeout: 30_000 });

  const ink = await canvasInk(page, { equity: [0x15, 0x65, 0xc0], buy: [0x2e, 0x7d, 0x32], sell: [0xc6, 0x28, 0x28] });
  const charts = ink.map((c) => c.chart);
  expect(charts).toEqual(expect.arrayContaining(['equity', 'drawdown', 'risk', 'price sim:BTCUSDT', 'price sim:ETHUSDT', 'position sim:BTCUSDT', ...(replay ? ['latency'] : [])]));
  for (const c of ink) expect(c.ink, `canvas of ${c.chart} is blank`).toBeGreaterThan(500);
  expect(ink.find((c) => c.chart === 'equity')!.near.equity).toBeGreaterThan(200);
  // A live session's fills may sit on one symbol and one side; a replay of ten minutes has both everywhere.
  const markers = ink.filter((c) => c.chart.startsWith('price ')).reduce((n, c) => n + c.near.buy + c.near.sell, 0);
  expect(markers, 'fill markers').toBeGreaterThan(20);
  for (const sym of replay ? ['sim:BTCUSDT', 'sim:ETHUSDT'] : []) {
    const price = ink.find((c) => c.chart === `price ${sym}`)!;
    expect(price.near.buy, `buy markers on ${sym}`).toBeGreaterThan(20);
    expect(price.near.sell, `sell markers on ${sym}`).toBeGreaterThan(20);
  }

  const cells = await page.$$eval('[data-stat]', (els) => els.map((e) => ({ path: e.getAttribute('data-stat')!, value: JSON.parse(e.getAttribute('data-value')!), text: e.textContent })));
  expect(cells.length).toBeGreaterThan(30);
  const paths = new Set(cells.map((c) => c.path));
  for (const k of ['realized', 'unrealized', 'fees', 'net', 'return', 'maxDrawdown', 'maxDrawdownDurationMs', 'sharpe', 'sortino', 'trades', 'winRate', 'avgWin', 'avgLoss', 'turnover', 'exposureMs', 'bySymbol.0.net', 'byVenue.0.net']) expect(paths.has(k), k).toBe(true);
  for (const c of cells) {
    const want = at(stats, c.path);
    if (typeof want === 'number') expect(Math.abs((c.value as number) - want), c.path).toBeLessThanOrEqual(1e-12);
    else expect(c.value, c.path).toEqual(want);
    // Exact money is shown as is.
    if (typeof want === 'string') expect(c.text, c.path).toBe(want);
  }
  expect(errors).toEqual([]);
  await page.close();
}

const haveChromium = existsSync(CHROMIUM);
const children: ChildProcess[] = [];
let browser: Browser | undefined;

beforeAll(async () => {
  if (haveChromium) browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}, 60_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await browser?.close();
});

describe('reports in a real browser', () => {
  it('a replay of ten simulated minutes renders every chart with no console error, and its summary equals the --json summary', async (ctx) => {
    if (!haveChromium) return skipUnlessRequired(ctx, 'chromium', `${CHROMIUM} not installed (Debian package chromium)`);
    const cfg = config();
    const data = join(dir, 'ten-minutes.jsonl');
    writeRecording(data, 1);
    const report = join(dir, 'report.html');
    const r = spawnSync(process.execPath, [bin, 'replay', '--config', cfg, '--data', data, '--json', '--report', report], { cwd: root, encoding: 'utf8', timeout: 180_000 });
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim()) as { fills: number; realizedPnl: string; fees: string; stats: Record<string, unknown> & { fills: number; bySymbol: unknown[] } };
    expect(summary.fills).toBeGreaterThan(0);
    // The statistics recompute PnL from the fills; they must agree with the engine's own books.
    expect(summary.stats.realized).toBe(summary.realizedPnl);
    expect(summary.stats.fees).toBe(summary.fees);
    expect(summary.stats.fills).toBe(summary.fills);
    expect(typeof summary.stats.sharpe).toBe('number');

    await expectReportRenders(report, summary.stats, true);
  }, 240_000);

  it('the live page shows every book SYNCED and PnL that changes while the sim trades, with no console error', async (ctx) => {
    if (!haveChromium) return skipUnlessRequired(ctx, 'chromium', `${CHROMIUM} not installed (Debian package chromium)`);
    const dataDir = mkdtempSync(join(dir, 'live-'));
    const recording = join(dataDir, 'session.jsonl');
    const cfg = config();
    const child = spawn(process.execPath, [bin, 'run', '--config', cfg, '--duration', '150', '--record', recording], { cwd: root, env: { ...process.env, CWTS_LOG_FORMAT: 'json', CWTS_DATA_DIR: dataDir } });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    children.push(child);
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const deadline = Date.now() + 30_000;
    let port: number | undefined;
    while (port === undefined && Date.now() < deadline) {
      const m = /health on http:\/\/127\.0\.0\.1:(\d+)\/health/.exec(log);
      if (m) port = Number(m[1]);
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(port, log).toBeDefined();

    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = watchErrors(page);
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => {
      const states = [...document.querySelectorAll('[data-book] .state')].map((e) => e.textContent);
      return states.length === 2 && states.every((s) => s === 'SYNCED');
    }, undefined, { timeout: 60_000 });
    expect(await page.$$eval('button, form, input', (els) => els.length)).toBe(0);

    const equity = async () => (await page.textContent('#pnl-equity'))!.trim();
    const seen = new Set<string>([await equity()]);
    const until = Date.now() + 90_000;
    while (seen.size < 3 && Date.now() < until) {
      await page.waitForTimeout(500);
      seen.add(await equity());
    }
    expect(seen.size, `equity values seen: ${[...seen].join(', ')}`).toBeGreaterThanOrEqual(3);
    // Server-Sent Events at most 4 a second: count updates over two seconds.
    const n0 = Number(await page.getAttribute('body', 'data-updates'));
    await page.waitForTimeout(2000);
    const n1 = Number(await page.getAttribute('body', 'data-updates'));
    expect(n1 - n0).toBeGreaterThan(0);
    expect(n1 - n0).toBeLessThanOrEqual(9);
    expect(await page.$$eval('#books table tr', (rows) => rows.length)).toBe(2 * 11);
    expect(errors).toEqual([]);
    await page.close();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    // The same session's report from its journal, with prices from its recording.
    const journal = join(dataDir, 'cwts-ultra-sim.db');
    const out = join(dataDir, 'session.html');
    const r = spawnSync(process.execPath, [bin, 'report', '--journal', journal, '--data', recording, '--config', cfg, '--out', out, '--json'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const { stats } = JSON.parse(r.stdout.trim()) as { stats: Record<string, unknown> & { fills: number; initialEquity: string } };
    expect(stats.fills).toBeGreaterThan(0);
    expect(stats.initialEquity).toBe('10000');
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('config digest, loaded (matches the journal)');
    await expectReportRenders(out, stats, false);
  }, 300_000);

  it('report --journal refuses a time that is not ISO-8601 and a missing journal, clearly', () => {
    const bad = spawnSync(process.execPath, [bin, 'report', '--journal', join(dir, 'none.db'), '--out', join(dir, 'x.html'), '--from', 'yesterday'], { cwd: root, encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--from must be an ISO-8601 time/);
    const missing = spawnSync(process.execPath, [bin, 'report', '--journal', join(dir, 'none.db'), '--out', join(dir, 'x.html')], { cwd: root, encoding: 'utf8' });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/none\.db/);
  });
});

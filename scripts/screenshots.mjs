#!/usr/bin/env node
// Regenerates docs/report.png (a replay report of ten simulated minutes) and docs/live.png (the
// live page of the reference app on the simulated venue) with headless Chromium.
// Usage: pnpm build && node scripts/screenshots.mjs   (CWTS_CHROMIUM overrides /usr/bin/chromium)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { instrumentSpec, RECORDING_KIND, RECORDING_VERSION } from '@cwts/core/engine';
import { resolveSimOptions, SyntheticMarket } from '@cwts/exchange-sim';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'packages/core/bin/cwts-ultra.js');
const app = join(root, 'examples/reference-app');
const dir = mkdtempSync(join(tmpdir(), 'cwts-shots-'));

const cfg = join(dir, 'sim.toml');
writeFileSync(cfg, readFileSync(join(app, 'config/sim.toml'), 'utf8')
  .replace(/^\[risk\]$/m, '[risk]\ninitial_equity = 10000')
  .replace('metrics_port = 9090', 'metrics_port = 0')
  .replace('health_check_port = 8080', 'health_check_port = 0')
  .replace('control_port = 8081', 'control_port = 0')
  .replaceAll('"../dist/', `"${app}/dist/`));

const data = join(dir, 'ten-minutes.jsonl');
const market = new SyntheticMarket({ exchange: 'sim', symbols: ['BTCUSDT', 'ETHUSDT'], options: resolveSimOptions({ seed: 1, whale_probability: 0.002 }), startTs: 1_700_000_000_000 });
const lines = [];
market.attach((ev) => lines.push(JSON.stringify(ev)));
market.begin();
market.generate(1_700_000_000_000 + 10 * 60_000);
writeFileSync(data, [JSON.stringify({ kind: RECORDING_KIND, version: RECORDING_VERSION, createdAt: 'screenshots', instruments: market.instruments().map(instrumentSpec) }), ...lines].join('\n') + '\n');

const report = join(dir, 'report.html');
const r = spawnSync(process.execPath, [bin, 'replay', '--config', cfg, '--data', data, '--json', '--report', report], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
if (r.status !== 0) throw new Error(`replay failed (exit ${r.status})`);

const browser = await chromium.launch({ executablePath: process.env.CWTS_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 2300 } });
  await page.goto(pathToFileURL(report).href);
  await page.waitForSelector('body[data-rendered="true"]');
  await page.screenshot({ path: join(root, 'docs/report.png') });
  console.log('wrote docs/report.png');

  const child = spawn(process.execPath, [bin, 'run', '--config', cfg, '--duration', '90'], { cwd: root, env: { ...process.env, CWTS_LOG_FORMAT: 'json', CWTS_DATA_DIR: dir } });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  try {
    let port;
    for (let k = 0; k < 300 && port === undefined; k++) {
      port = /health on http:\/\/127\.0\.0\.1:(\d+)\/health/.exec(log)?.[1];
      if (port === undefined) await new Promise((res) => setTimeout(res, 100));
    }
    if (port === undefined) throw new Error(`the app did not start:\n${log}`);
    const live = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    await live.goto(`http://127.0.0.1:${port}/`);
    await live.waitForFunction(() => [...document.querySelectorAll('[data-book] .state')].filter((e) => e.textContent === 'SYNCED').length === 2, undefined, { timeout: 60_000 });
    // Let some signals, fills and an equity trace accumulate.
    await live.waitForFunction(() => document.querySelectorAll('#fills tr').length > 3, undefined, { timeout: 80_000 }).catch(() => {});
    await live.screenshot({ path: join(root, 'docs/live.png') });
    console.log('wrote docs/live.png');
  } finally {
    child.kill('SIGTERM');
  }
} finally {
  await browser.close();
}

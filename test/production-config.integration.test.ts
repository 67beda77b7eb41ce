/**
 * Acceptance: the shipped examples/reference-app/config/production.toml, unchanged, runs with all
 * four venues when the environment points each venue at its local protocol server
 * (CWTS_<VENUE>_API_URL / _REST_URL), gives test values to the key variables, and moves the HTTP
 * ports off 9090/8080 (CWTS_METRICS_PORT / CWTS_HEALTH_PORT). It must start in paper mode, reach
 * ready, and show every venue's default symbols SYNCED with the venue's true book; Kraken's v1
 * endpoint form is mapped to /v2 with an info line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, startAppRun, stopAppRun, waitUntil, type AppRun } from '@cwts/core/testing';
import { FakeBinance } from '../packages/exchange-binance/test/fake-binance.js';
import { FakeBybit } from '../packages/exchange-bybit/test/fake-bybit.js';
import { FakeCoinbase } from '../packages/exchange-coinbase/test/fake-coinbase.js';
import { FakeKraken } from '../packages/exchange-kraken/test/fake-kraken.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'packages/core/bin/cwts-ultra.js');
const CONFIG = join(ROOT, 'examples/reference-app/config/production.toml');

/** The documented default symbols per venue (docs/venues.md): BTC and ETH against the main quote. */
const EXPECTED: Record<string, string[]> = {
  binance: ['BTCUSDT', 'ETHUSDT'],
  coinbase: ['BTC-USD', 'ETH-USD'],
  kraken: ['BTC/USD', 'ETH/USD'],
  bybit: ['BTCUSDT', 'ETHUSDT'],
};

interface Venue {
  step(symbol: string, n: number): void;
  truth(symbol: string, n: number): { bids: [string, string][]; asks: [string, string][] };
  close(): Promise<void>;
}

const canon = (levels: [string, string][]) => JSON.stringify(levels.map(([p, q]) => [String(Number(p)), String(Number(q))]));

describe('production.toml as shipped, against the four local venue servers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cwts-production-'));
  const fakes: Record<string, Venue> = {};
  let run: AppRun | undefined;
  let ticker: NodeJS.Timeout | undefined;

  afterAll(async () => {
    if (ticker) clearInterval(ticker);
    if (run && run.child.exitCode === null) run.child.kill('SIGKILL');
    await run?.exited;
    await Promise.allSettled(Object.values(fakes).map((f) => f.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts in paper mode, reaches ready and shows every venue\'s default books SYNCED with the true top 10', async () => {
    const binance = await FakeBinance.start({ symbols: EXPECTED.binance, seed: 11 });
    const coinbase = await FakeCoinbase.start({ products: EXPECTED.coinbase, seed: 12 });
    const kraken = await FakeKraken.start({
      seed: 13,
      pairs: [
        { symbol: 'BTC/USD', base: 'BTC', quote: 'USD', pricePrecision: 1, qtyPrecision: 8, mid: 640_000 },
        { symbol: 'ETH/USD', base: 'ETH', quote: 'USD', pricePrecision: 2, qtyPrecision: 8, mid: 320_000 },
      ],
    });
    const bybit = await FakeBybit.start({ symbols: EXPECTED.bybit, seed: 14 });
    Object.assign(fakes, { binance, coinbase, kraken, bybit });

    run = await startAppRun(CLI, ['run', '--config', CONFIG], {
      cwd: ROOT,
      startTimeoutMs: 45_000,
      env: {
        ...process.env,
        CWTS_DATA_DIR: dir,
        CWTS_METRICS_PORT: '0',
        CWTS_HEALTH_PORT: '0',
        // test values only: paper mode never sends an order or a signed request
        BINANCE_API_KEY: 'test-binance-key',
        BINANCE_API_SECRET: 'test-binance-secret',
        KRAKEN_API_KEY: 'test-kraken-key',
        KRAKEN_API_SECRET: 'test-kraken-secret',
        CWTS_BINANCE_API_URL: binance.wsUrl,
        CWTS_BINANCE_REST_URL: binance.restUrl,
        CWTS_COINBASE_API_URL: coinbase.wsUrl,
        CWTS_COINBASE_REST_URL: coinbase.restUrl,
        // the v1 form (no /v2), as production.toml writes Kraken's endpoint
        CWTS_KRAKEN_API_URL: `ws://127.0.0.1:${kraken.port}`,
        CWTS_BYBIT_API_URL: bybit.wsUrl,
        CWTS_BYBIT_REST_URL: bybit.restUrl,
      },
    });
    const base = `http://127.0.0.1:${run.healthPort}`;
    // the venues are live while the app starts: book updates keep coming on every symbol
    ticker = setInterval(() => {
      for (const [venue, symbols] of Object.entries(EXPECTED)) for (const s of symbols) fakes[venue]!.step(s, 1);
    }, 20);

    await waitUntil(async () => (await fetch(`${base}/health/ready`)).status === 200, '/health/ready 200', 45_000, 100);
    const books = async (): Promise<any[]> => (await getJson(`${base}/status`)).books;
    await waitUntil(async () => (await books()).filter((b) => b.state === 'SYNCED').length === 8, 'all eight books SYNCED', 30_000, 100);

    clearInterval(ticker);
    ticker = undefined;
    // a quiet venue: every book converges on its venue's truth (a real check that each URL
    // override reached the right server and each instrument kept its venue identity)
    const matchesTruth = (b: any) => {
      const t = fakes[b.exchange]!.truth(b.symbol, 10);
      return b.state === 'SYNCED' && canon(b.bids) === canon(t.bids) && canon(b.asks) === canon(t.asks);
    };
    await waitUntil(async () => (await books()).every(matchesTruth), 'every book equal to its venue\'s top 10', 20_000, 100);

    const status = await getJson(`${base}/status`);
    expect(status.mode).toBe('paper');
    const seen = status.books.map((b: any) => `${b.exchange}:${b.symbol}`).sort();
    expect(seen).toEqual(Object.entries(EXPECTED).flatMap(([v, ss]) => ss.map((s) => `${v}:${s}`)).sort());
    for (const b of status.books) {
      expect(b.state, `${b.exchange}:${b.symbol}`).toBe('SYNCED');
      expect(b.bids.length, `${b.exchange}:${b.symbol}`).toBe(10);
    }

    const code = await stopAppRun(run);
    const log = run.out.join('');
    expect(code, log).toBe(0);
    expect(log).toMatch(/only v2 is implemented, using ws:\/\/127\.0\.0\.1:\d+\/v2/);
    for (const v of Object.keys(EXPECTED)) expect(log).toMatch(new RegExp(`${v}: no symbols configured; using @cwts/exchange-${v}'s defaults`));
    expect(log).toMatch(/coinbase\.api_url from CWTS_COINBASE_API_URL/);
    // keys absent from the file: market data only, with the usual warning
    expect(log).toMatch(/coinbase: no api_key\/api_secret; market data only/);
    expect(log).toMatch(/bybit: no api_key\/api_secret; market data only/);
    expect(log).not.toMatch(/Unhandled|TypeError/);
  }, 120_000);
});

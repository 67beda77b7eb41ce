import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SystemClock, type ExecutionClient, type ExecutionReport } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { describeExchangeConformance, type ConformanceVenue } from '@cwts/core/testing';
import { describe, expect, it } from 'vitest';
import { createBinanceVenue } from '../src/index.js';
import { FakeBinance } from './fake-binance.js';

// Obviously fake credentials: only the local test server knows them.
const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real';

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296);
}

/**
 * CWTS_CONFORMANCE_META=double-fills (set only by the meta-test at the end of this file): the
 * adapter's execution client hands every fill report to the engine twice, as an adapter that
 * double-books fills would; the suite must fail it.
 */
const DOUBLE_FILLS = process.env.CWTS_CONFORMANCE_META === 'double-fills';
function doubleBookingFills(inner: ExecutionClient): ExecutionClient {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'start') {
        return (onReport: (r: ExecutionReport) => void) =>
          target.start((r) => {
            onReport(r);
            if (r.kind === 'fill') onReport({ ...r });
          });
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describeExchangeConformance({
  venue: 'binance',
  symbol: 'BTCUSDT',
  capabilities: { checksum: false, execution: true, rateLimit: true, requestResync: true },
  createVenue: () => FakeBinance.start({ apiKey: KEY, apiSecret: SECRET, seed: 11 }),
  async createAdapter(venue: ConformanceVenue, opts) {
    const f = venue as FakeBinance;
    const v = createBinanceVenue(
      {
        api_url: f.wsUrl,
        rest_url: f.restUrl,
        api_key: new Secret(KEY),
        api_secret: new Secret(SECRET),
        options: {
          reconnect_initial_ms: 20,
          reconnect_max_ms: 200,
          poll_interval_ms: 100,
          ...(opts.orderRateLimit ? { orders_per_10s: opts.orderRateLimit.limit, order_limit_interval_ms: opts.orderRateLimit.intervalMs } : {}),
        },
      },
      { exchange: 'binance', clock: opts.clock ?? new SystemClock(), random: seeded(3) },
    );
    return { marketData: v.marketData, execution: DOUBLE_FILLS ? doubleBookingFills(v.execution) : v.execution, pendingTimers: () => v.marketData.pendingTimers() + v.execution.pendingTimers() };
  },
  // the malformed-input section drives the adapter's own BinanceFeed in a worker thread
  frameHarness: { module: fileURLToPath(new URL('../src/frame-harness.ts', import.meta.url)), export: 'createBinanceFrameHarness' },
  restingOrder: { side: 'buy', price: '64000.00', qty: '0.01' },
  errorCases: [
    { name: 'insufficient balance (-2010)', arrange: (v) => (v as FakeBinance).failNextOrder('balance'), expect: 'INSUFFICIENT_BALANCE', text: /insufficient balance/i },
    { name: 'cancel of an unknown order (-2011)', arrange: () => {}, cancelUnknown: true, expect: 'UNKNOWN_ORDER', text: /-2011/ },
  ],
});

// Meta-test: the suite's fill test fails an adapter that books every fill twice (the suite ran
// no fill at all before it had one). Runs this file's fill test in a child vitest.
if (!DOUBLE_FILLS) {
  describe('exchange conformance suite (meta)', () => {
    it('fails an execution client that reports every fill twice', () => {
      const dir = mkdtempSync(join(tmpdir(), 'cwts-conformance-meta-'));
      try {
        const out = join(dir, 'r.json');
        // never with coverage: a child vitest with CI's CWTS_COVERAGE=1 cleans the parent run's coverage directory
        const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST'))), CWTS_COVERAGE: '0', CWTS_CONFORMANCE_META: 'double-fills' };
        const file = fileURLToPath(import.meta.url);
        const r = spawnSync('npx', ['vitest', 'run', file, '-t', 'reports each fill once', '--reporter=json', `--outputFile=${out}`, '--coverage.enabled=false'], { cwd: fileURLToPath(new URL('../../../', import.meta.url)), env, encoding: 'utf8', timeout: 240_000 });
        const json = JSON.parse(readFileSync(out, 'utf8')) as { numFailedTests: number; numPassedTests: number };
        expect(json.numPassedTests + json.numFailedTests, `no tests ran: ${r.stderr}`).toBe(1);
        expect(json.numFailedTests, 'the suite passed an execution client that double-books every fill').toBe(1);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 300_000);
  });
}

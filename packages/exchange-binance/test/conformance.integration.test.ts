import { fileURLToPath } from 'node:url';
import { SystemClock } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { describeExchangeConformance, type ConformanceVenue } from '@cwts/core/testing';
import { createBinanceVenue } from '../src/index.js';
import { FakeBinance } from './fake-binance.js';

// Obviously fake credentials: only the local test server knows them.
const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real';

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296);
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
    return { marketData: v.marketData, execution: v.execution, pendingTimers: () => v.marketData.pendingTimers() + v.execution.pendingTimers() };
  },
  // the malformed-input section drives the adapter's own BinanceFeed in a worker thread
  frameHarness: { module: fileURLToPath(new URL('../src/frame-harness.ts', import.meta.url)), export: 'createBinanceFrameHarness' },
  restingOrder: { side: 'buy', price: '64000.00', qty: '0.01' },
  errorCases: [
    { name: 'insufficient balance (-2010)', arrange: (v) => (v as FakeBinance).failNextOrder('balance'), expect: 'INSUFFICIENT_BALANCE', text: /insufficient balance/i },
    { name: 'cancel of an unknown order (-2011)', arrange: () => {}, cancelUnknown: true, expect: 'UNKNOWN_ORDER', text: /-2011/ },
  ],
});

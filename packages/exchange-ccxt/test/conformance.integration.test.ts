/**
 * The exchange conformance suite for the generic ccxt adapter, run with ccxt_id = "binance"
 * against the local Binance server of @cwts/exchange-binance (imported by path): ccxt's own
 * Binance code does the protocol (raw /ws + SUBSCRIBE, REST depth snapshot + diff sync,
 * signing), every ccxt URL re-rooted at 127.0.0.1 through api_url / rest_url.
 */
import { fileURLToPath } from 'node:url';
import { SystemClock } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { describeExchangeConformance, type ConformanceVenue } from '@cwts/core/testing';
import { FakeBinance } from '../../exchange-binance/test/fake-binance.js';
import { createCcxtVenue } from '../src/index.js';
import { BINANCE_CCXT_OPTIONS } from './binance-ccxt-options.js';

// Obviously fake credentials: only the local test server knows them.
const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real';

describeExchangeConformance({
  venue: 'ccxt-binance',
  symbol: 'BTCUSDT',
  // ccxt's Binance client checks update-id continuity (InvalidNonce) but exposes no checksum.
  capabilities: { checksum: false, execution: true, rateLimit: true, requestResync: true },
  createVenue: () => FakeBinance.start({ apiKey: KEY, apiSecret: SECRET, seed: 11 }),
  async createAdapter(venue: ConformanceVenue, opts) {
    const f = venue as FakeBinance;
    const v = createCcxtVenue(
      {
        api_url: f.wsUrl,
        rest_url: f.restUrl,
        api_key: new Secret(KEY),
        api_secret: new Secret(SECRET),
        options: {
          ccxt_id: 'binance',
          reconnect_initial_ms: 20,
          reconnect_max_ms: 200,
          poll_interval_ms: 100,
          ccxt_options: BINANCE_CCXT_OPTIONS,
          ...(opts.orderRateLimit ? { orders_per_interval: opts.orderRateLimit.limit, order_limit_interval_ms: opts.orderRateLimit.intervalMs } : {}),
        },
      },
      { exchange: 'ccxt-binance', clock: opts.clock ?? new SystemClock() },
    );
    return { marketData: v.marketData, execution: v.execution, pendingTimers: () => v.marketData.pendingTimers() + v.execution.pendingTimers() };
  },
  // the malformed-input section drives ccxt's own message handling and our conversion in a worker
  frameHarness: { module: fileURLToPath(new URL('../src/frame-harness.ts', import.meta.url)), export: 'createCcxtBinanceFrameHarness' },
  restingOrder: { side: 'buy', price: '64000.00', qty: '0.01' },
  errorCases: [
    { name: 'insufficient balance (-2010)', arrange: (v) => (v as FakeBinance).failNextOrder('balance'), expect: 'INSUFFICIENT_BALANCE', text: /insufficient balance/i },
    { name: 'cancel of an unknown order (-2011)', arrange: () => {}, cancelUnknown: true, expect: 'UNKNOWN_ORDER', text: /-2011/ },
  ],
});

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SystemClock } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { describeExchangeConformance, type ConformanceVenue } from '@cwts/core/testing';
import { createCoinbaseVenue } from '../src/index.js';
import { FakeCoinbase } from './fake-coinbase.js';

// A CDP-style key generated per run (EC P-256, SEC1 PEM as Coinbase's key file holds it): only
// the local test server knows its public half.
const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const KEY_NAME = `organizations/${randomUUID()}/apiKeys/${randomUUID()}`;
const PEM = keys.privateKey.export({ format: 'pem', type: 'sec1' }).toString();

/**
 * The conformance suite's fill hooks on the local Coinbase server: FakeCoinbaseAccount.fill (the
 * fill in historical/fills, the order's update on the user channel, 0.1 % commission in USD), and
 * the last fill's user-channel update pushed again. No dropUserStream: the user channel shares the
 * market-data connection, whose drop the suite's reconnect test covers.
 */
function withFills(f: FakeCoinbase): FakeCoinbase {
  const account = f.account!;
  let last: string | undefined;
  return Object.assign(f, {
    fillOrder(o: { venueOrderId: string; price: string; qty: string }): string {
      last = o.venueOrderId;
      const commission = ((Number(o.price) * Number(o.qty)) / 1000).toFixed(8);
      return account.fill(o.venueOrderId, { size: o.qty, price: o.price, commission, maker: true });
    },
    repeatLastFill(): void {
      const o = last === undefined ? undefined : account.find(last);
      if (o) account.onOrderChange?.(o);
    },
  });
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296);
}

describeExchangeConformance({
  venue: 'coinbase',
  symbol: 'BTC-USD',
  capabilities: { checksum: false, execution: true, rateLimit: true, requestResync: true },
  createVenue: async () => withFills(await FakeCoinbase.start({ seed: 11, restKey: { publicKey: keys.publicKey, keyName: KEY_NAME } })),
  async createAdapter(venue: ConformanceVenue, opts) {
    const f = venue as FakeCoinbase;
    const v = createCoinbaseVenue(
      {
        api_url: f.wsUrl,
        rest_url: f.restUrl,
        api_key: new Secret(KEY_NAME),
        api_secret: new Secret(PEM),
        options: {
          reconnect_initial_ms: 20,
          reconnect_max_ms: 200,
          poll_interval_ms: 100,
          private_requests_per_second: 1000,
          ...(opts.orderRateLimit ? { orders_per_interval: opts.orderRateLimit.limit, order_limit_interval_ms: opts.orderRateLimit.intervalMs } : {}),
        },
      },
      { exchange: 'coinbase', clock: opts.clock ?? new SystemClock(), random: seeded(3) },
    );
    return { marketData: v.marketData, execution: v.execution, pendingTimers: () => v.marketData.pendingTimers() + v.execution.pendingTimers() };
  },
  // the malformed-input section drives the adapter's own CoinbaseFeed in a worker thread
  frameHarness: { module: fileURLToPath(new URL('../src/frame-harness.ts', import.meta.url)), export: 'createCoinbaseFrameHarness' },
  restingOrder: { side: 'buy', price: '64000.00', qty: '0.01000000' },
  errorCases: [
    {
      name: 'insufficient funds',
      arrange: (v) => (v as FakeCoinbase).account!.failNextOrder({ error: 'INSUFFICIENT_FUND', preview: 'PREVIEW_INSUFFICIENT_FUND', message: 'Insufficient balance in source account' }),
      expect: 'INSUFFICIENT_BALANCE',
      text: /INSUFFICIENT_FUND/,
    },
    { name: 'cancel of an unknown order', arrange: () => {}, cancelUnknown: true, expect: 'UNKNOWN_ORDER', text: /UNKNOWN_CANCEL_ORDER/ },
  ],
});

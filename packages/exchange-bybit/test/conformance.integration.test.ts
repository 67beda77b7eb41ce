import { fileURLToPath } from 'node:url';
import { SystemClock } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { describeExchangeConformance, type ConformanceVenue } from '@cwts/core/testing';
import { createBybitVenue } from '../src/index.js';
import { FakeBybit, type FakeCategory } from './fake-bybit.js';

// Obviously fake credentials: only the local test server knows them.
const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real';

/**
 * The conformance suite's fill hooks on the local Bybit server: FakeBybit.fill (the execution in
 * /v5/execution/list, the order's cumExecQty in /v5/order/realtime, 0.1 % fee), and the last
 * execution listed a second time (the adapter reads fills by polling; there is no private stream).
 */
function withFills(f: FakeBybit): FakeBybit {
  let last: (typeof f.executions)[number] | undefined;
  return Object.assign(f, {
    fillOrder(o: { venueOrderId: string; qty: string }): string {
      last = f.fill(o.venueOrderId, o.qty);
      return last.execId;
    },
    repeatLastFill(): void {
      if (last) f.executions.push({ ...last });
    },
  });
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296);
}

// Both public streams: spot (numeric trade ids, spot error codes) and linear (UUID trade ids,
// liquidations, contract error codes).
for (const category of ['spot', 'linear'] as FakeCategory[]) {
  describeExchangeConformance({
    venue: `bybit-${category}`,
    symbol: 'BTCUSDT',
    capabilities: { checksum: false, execution: true, rateLimit: true, requestResync: true },
    createVenue: async () => withFills(await FakeBybit.start({ category, seed: category === 'spot' ? 7 : 8, apiKey: KEY, apiSecret: SECRET })),
    async createAdapter(venue: ConformanceVenue, opts) {
      const f = venue as FakeBybit;
      const v = createBybitVenue(
        {
          api_url: f.wsUrl,
          rest_url: f.restUrl,
          market: category === 'linear' ? 'usdm' : 'spot',
          api_key: new Secret(KEY),
          api_secret: new Secret(SECRET),
          options: {
            reconnect_initial_ms: 20,
            reconnect_max_ms: 200,
            poll_interval_ms: 100,
            ...(opts.orderRateLimit ? { orders_per_interval: opts.orderRateLimit.limit, order_limit_interval_ms: opts.orderRateLimit.intervalMs } : {}),
          },
        },
        { exchange: `bybit-${category}`, clock: opts.clock ?? new SystemClock(), random: seeded(3) },
      );
      return { marketData: v.marketData, execution: v.execution, pendingTimers: () => v.marketData.pendingTimers() + v.execution.pendingTimers() };
    },
    // the malformed-input section drives the adapter's own BybitFeed in a worker thread
    frameHarness: { module: fileURLToPath(new URL('../src/frame-harness.ts', import.meta.url)), export: 'createBybitFrameHarness', options: { category } },
    restingOrder: { side: 'buy', price: category === 'spot' ? '64000.00' : '64000.0', qty: category === 'spot' ? '0.010000' : '0.010' },
    errorCases: [
      { name: 'insufficient balance', arrange: (v) => (v as FakeBybit).failNextOrder('balance'), expect: 'INSUFFICIENT_BALANCE', text: category === 'spot' ? /170131/ : /110007/ },
      { name: 'cancel of an unknown order', arrange: () => {}, cancelUnknown: true, expect: 'UNKNOWN_ORDER', text: category === 'spot' ? /170213/ : /110001/ },
    ],
  });
}

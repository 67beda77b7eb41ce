import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SystemClock } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { describeExchangeConformance, type ConformanceVenue } from '@cwts/core/testing';
import { createKrakenVenue } from '../src/index.js';
import { FakeKraken } from './fake-kraken.js';

// Generated per run: only the local test server knows them (Kraken secrets are base64).
const KEY = `test-key-${randomBytes(8).toString('hex')}`;
const SECRET = randomBytes(64).toString('base64');

/**
 * The conformance suite's fill hooks on the local Kraken server: FakeKrakenAccount.fill (the
 * trade on the executions stream and in QueryTrades, fee in USD), the last fill's executions
 * update sent again (a new sequence, the same events), and the executions connections dropped.
 */
function withFills(f: FakeKraken): FakeKraken {
  const account = f.account!;
  const publish = account.onExecution!;
  let capture = false;
  let last: Record<string, unknown>[] | undefined;
  account.onExecution = (events) => {
    if (capture) last = events;
    publish(events);
  };
  return Object.assign(f, {
    fillOrder(o: { venueOrderId: string; price: string; qty: string }): string {
      capture = true;
      try {
        return account.fill(o.venueOrderId, { qty: o.qty, price: o.price, fee: ((Number(o.price) * Number(o.qty)) / 1000).toFixed(5), maker: true });
      } finally {
        capture = false;
      }
    },
    repeatLastFill(): void {
      if (last) publish(last);
    },
    dropUserStream: () => f.dropExecutions(),
  });
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296);
}

// Kraken v2 books carry no sequence numbers: a missed update (the suite's "sequence gap") is
// found by the CRC32 checksum of the next one, so the gap test accepts a checksum resync.
describeExchangeConformance({
  venue: 'kraken',
  symbol: 'BTC/USD',
  capabilities: { checksum: true, execution: true, rateLimit: true, sequenceNumbers: false, requestResync: true },
  frameHarness: { module: fileURLToPath(new URL('../src/frame-harness.ts', import.meta.url)), export: 'createKrakenFrameHarness' },
  createVenue: async () => withFills(await FakeKraken.start({ seed: 11, apiKey: KEY, apiSecret: SECRET })),
  async createAdapter(venue: ConformanceVenue, opts) {
    const f = venue as FakeKraken;
    const v = createKrakenVenue(
      {
        api_url: f.wsUrl,
        rest_url: f.restUrl,
        api_key: new Secret(KEY),
        api_secret: new Secret(SECRET),
        options: {
          reconnect_initial_ms: 20,
          reconnect_max_ms: 200,
          poll_interval_ms: 100,
          private_requests_per_interval: 10_000,
          private_interval_ms: 1000,
          // the rate-limit test's clock stands still while real time runs: the AddOrder
          // deadline (checked by the server on real time) gets the most room Kraken allows
          order_deadline_ms: 60_000,
          ...(opts.orderRateLimit ? { orders_per_interval: opts.orderRateLimit.limit, order_limit_interval_ms: opts.orderRateLimit.intervalMs } : {}),
        },
      },
      { exchange: 'kraken', clock: opts.clock ?? new SystemClock(), random: seeded(3) },
    );
    return { marketData: v.marketData, execution: v.execution, pendingTimers: () => v.marketData.pendingTimers() + v.execution.pendingTimers() };
  },
  restingOrder: { side: 'buy', price: '63000.0', qty: '0.01000000' },
  errorCases: [
    { name: 'insufficient funds', arrange: (v) => (v as FakeKraken).account!.failNextOrder('EOrder:Insufficient funds'), expect: 'INSUFFICIENT_BALANCE', text: /EOrder:Insufficient funds/ },
    { name: 'cancel of an unknown order', arrange: () => {}, cancelUnknown: true, expect: 'UNKNOWN_ORDER', text: /EOrder:Unknown order/ },
    { name: 'fill-or-kill (Kraken spot has none)', arrange: () => {}, order: { tif: 'FOK' }, expect: 'INVALID_ORDER', text: /fill-or-kill/ },
  ],
});

/**
 * Nothing is sent after stop(): not orders or cancels, and not the REST reads that follow an
 * order either (an order read after a cancel whose outcome is unknown, polls, resolveUnknown).
 * A read waiting for the shared per-IP limiter (held back by a ban) when stop() comes is dropped.
 */
import { Writable } from 'node:stream';
import { SystemClock, type ExecutionReport } from '@cwts/core';
import type { RateLimiter } from '@cwts/core/adapter-kit';
import { Secret } from '@cwts/core/config';
import { createLogger } from '@cwts/core/observability';
import { conformanceOrder, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createBinanceVenue } from '../src/index.js';
import { FakeBinance } from './fake-binance.js';

const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real';
const UNKNOWN_1007 = 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.';

describe('Binance: nothing sent after stop()', () => {
  let fake: FakeBinance | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it('an order read waiting for the shared limiter when stop() comes is never sent', async () => {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    const logger = createLogger({ level: 'error', destination: new Writable({ write(_c, _e, cb) { cb(); } }) as never, pretty: false });
    const v = createBinanceVenue(
      { api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET), options: { fills: 'polling', poll_interval_ms: 600_000, order_entry: 'rest' } },
      { exchange: 'binance', clock: new SystemClock(), logger },
    );
    const [i] = await v.marketData.loadInstruments(['BTCUSDT']);
    const reports: ExecutionReport[] = [];
    await v.execution.start((r) => reports.push(r));
    const o = conformanceOrder(i!, { side: 'buy', price: '64000.5', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'the ack');
    const shared = (v.execution as unknown as { deps: { limiter: RateLimiter } }).deps.limiter;
    // the cancel is answered -1007 (outcome unknown): the order is then read over REST; the
    // shared limiter is held back for 300 ms at that moment (a 429 on the market-data half)
    const cancel = fake.cancelOrder.bind(fake);
    fake.cancelOrder = (params, _send, err) => {
      shared.blockUntil(Date.now() + 300);
      cancel(params, () => err(503, -1007, UNKNOWN_1007), err);
    };
    v.execution.cancel({ ...o, venueOrderId: reports.find((r) => r.kind === 'ack')!.venueOrderId, status: 'pending_cancel' });
    await waitUntil(() => reports.some((r) => r.kind === 'rejected' && r.rejects === 'request'), 'the cancel answered');
    await v.execution.stop();
    const stoppedAt = Date.now();
    await shared.acquire({ ip: 1 });
    await new Promise((r) => setTimeout(r, 200));
    const after = fake.requests.filter((r) => r.at >= stoppedAt).map((r) => `${r.method} ${r.path}`);
    expect(after, 'requests sent to the venue after stop()').toEqual([]);
  });
});

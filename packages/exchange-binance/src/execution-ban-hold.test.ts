import { SystemClock, type ExecutionReport } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { conformanceOrder, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY, SECRET, banRestOrders, countWsApiUpgrades } from '../test/ban-hold.fixture.js';
import { FakeBinance } from '../test/fake-binance.js';
import { createBinanceVenue } from './plugin.js';

describe('BinanceExecution: a REST ban holds the user data stream\'s reconnects', () => {
  let fake: FakeBinance | undefined;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await fake?.close();
    fake = undefined;
  });

  it('after a 418 with Retry-After on an order, a user data stream connection the venue drops is not reconnected while the ban lasts', async () => {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    const attempts = countWsApiUpgrades(fake);
    const v = createBinanceVenue(
      {
        api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET),
        // orders through REST (the ban comes from there); reconnects every <= 100 ms without a hold
        options: { fills: 'stream', order_entry: 'rest', poll_interval_ms: 600_000, reconnect_initial_ms: 20, reconnect_max_ms: 100 },
      },
      { exchange: 'binance', clock: new SystemClock() },
    );
    const [i] = await v.marketData.loadInstruments(['BTCUSDT']);
    const reports: ExecutionReport[] = [];
    await v.execution.start((r) => reports.push(r));
    stops.push(() => v.execution.stop());
    await waitUntil(() => v.execution.userStream?.up === true, 'stream subscribed');
    expect(attempts()).toBe(1);

    // the ban lasts 120 s: far past the end of this test, so no wall-clock race decides it
    banRestOrders(fake);
    const o = conformanceOrder(i!, { side: 'buy', price: '64000.5', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId), 'the order answered');
    expect(reports.find((r) => r.clientOrderId === o.clientOrderId)).toMatchObject({ kind: 'rejected', rejectReason: 'RATE_LIMITED' });

    const subscribes = fake.wsApi.subscribeRequests;
    fake.wsApi.dropSessions();
    await waitUntil(() => v.execution.userStream?.up === false, 'stream seen down');
    // many reconnect backoffs (<= 100 ms) later
    await new Promise((r) => setTimeout(r, 1500));
    expect(attempts()).toBe(1);
    expect(fake.wsApi.subscribeRequests).toBe(subscribes);
  });
});

import { SystemClock, type ExecutionReport, type Instrument } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { conformanceOrder, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY, SECRET, banRestOrders, countWsApiUpgrades } from '../test/ban-hold.fixture.js';
import { FakeBinance } from '../test/fake-binance.js';
import { BINANCE_MAX_BAN_MS, type BinanceIntakeArgs } from './market-data.js';
import { createBinanceVenue, type BinanceVenue } from './plugin.js';

describe('BinanceExecution: a ban holds order entry on the WebSocket API, and a ban is never believed past 3 days', () => {
  let fake: FakeBinance | undefined;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await fake?.close();
    fake = undefined;
  });

  /** A venue with order entry on the WebSocket API (fills by polling: no other WebSocket API connection); counts connection attempts. */
  async function setup(options: Record<string, number> = {}): Promise<{ v: BinanceVenue; instrument: Instrument; attempts: () => number; reports: ExecutionReport[]; submitBanned: (bannedUntil: number) => Promise<void> }> {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    const attempts = countWsApiUpgrades(fake);
    const v = createBinanceVenue(
      {
        api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET),
        options: { fills: 'polling', order_entry: 'ws', poll_interval_ms: 600_000, reconnect_initial_ms: 20, reconnect_max_ms: 100, ...options },
      },
      { exchange: 'binance', clock: new SystemClock() },
    );
    const [i] = await v.marketData.loadInstruments(['BTCUSDT']);
    const reports: ExecutionReport[] = [];
    await v.execution.start((r) => reports.push(r));
    stops.push(() => v.execution.stop());
    await waitUntil(() => v.execution.orderEntry?.ready === true, 'order entry connected');
    const submitBanned = async (bannedUntil: number): Promise<void> => {
      fake!.wsApi.answerNextOrder = {
        status: 418,
        error: { code: -1003, msg: `Way too much request weight used; IP banned until ${bannedUntil}. Please use WebSocket Streams for live updates to avoid bans.`, data: { retryAfter: bannedUntil } },
      };
      const o = conformanceOrder(i!, { side: 'buy', price: '64000.5', qty: '0.01' });
      v.execution.submit(o);
      await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId), 'the order answered');
      expect(reports.find((r) => r.clientOrderId === o.clientOrderId)).toMatchObject({ kind: 'rejected', rejectReason: 'RATE_LIMITED' });
    };
    return { v, instrument: i!, attempts, reports, submitBanned };
  }

  it('a 418 answered to a REST order while order entry waits to reconnect moves that reconnect past the ban', async () => {
    // reconnects 1 to 2 s after a loss (equal jitter): the ban below comes well inside that
    const { v, attempts, reports, instrument } = await setup({ reconnect_initial_ms: 2000, reconnect_max_ms: 2000 });
    expect(attempts()).toBe(1);
    fake!.wsApi.dropSessions();
    await waitUntil(() => v.execution.orderEntry?.ready === false, 'order entry seen down');
    // the ban lasts 120 s: far past the end of this test, so no wall-clock race decides its end
    banRestOrders(fake!);
    const o = conformanceOrder(instrument, { side: 'buy', price: '64000.5', qty: '0.01' });
    v.execution.submit(o); // order entry is down: through REST
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId), 'the order answered');
    expect(reports.find((r) => r.clientOrderId === o.clientOrderId)).toMatchObject({ kind: 'rejected', rejectReason: 'RATE_LIMITED' });
    expect(v.execution.orderPaths.rest).toBe(1);
    // past the reconnect's delay (at most 2 s after the loss)
    await new Promise((r) => setTimeout(r, 2500));
    expect(attempts()).toBe(1);
    expect(v.execution.cappedBans).toBe(0);
  });

  it('a "banned until" thousands of years off is held to 3 days (counted), not believed', async () => {
    const { v, submitBanned } = await setup();
    const year30000 = 884_541_340_800_000;
    const before = Date.now();
    await submitBanned(year30000);
    expect(v.execution.cappedBans).toBe(1);
    // the per-IP limiter shared with market data (what a new intake worker would start with)
    const blocked = (v.marketData.intakeWorker().args as BinanceIntakeArgs).blockedUntilMs;
    expect(blocked).toBeGreaterThanOrEqual(before + BINANCE_MAX_BAN_MS);
    expect(blocked).toBeLessThanOrEqual(Date.now() + BINANCE_MAX_BAN_MS);
  });
});

/**
 * The account-wide set of booked trade ids is bounded (65,536 ids, the oldest dropped first). An
 * order that stays open while the account books more trades than that has its early trade ids
 * dropped from it; the next read of its trades (a poll, a stream gap: the whole list, from its
 * first trade) must not report them again. Each followed order keeps the ids of the trades it
 * counted (its prior ones, claimed from a listing, included) for as long as it is followed.
 */
import { SystemClock, type ExecutionReport } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { silentLogger } from '@cwts/core/observability';
import { waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createBinanceVenue } from '../src/index.js';
import { FakeBinance } from './fake-binance.js';

const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real';
/** The client's window of booked trade ids (execution.ts APPLIED_WINDOW). */
const WINDOW = 65_536;

describe('Binance: a long-lived order after the account-wide booked-trade window has moved on', () => {
  let fake: FakeBinance | undefined;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await fake?.close();
    fake = undefined;
  });


  it('a listed order whose prior and reported trades left the window: its next trade is reported, none of its earlier ones again', async () => {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    const now = Date.now();
    fake.restingOrder(8001, 'cw-long', now - 60_000);
    fake.fill(8001, '0.00002'); // before this process: a prior trade
    const v = createBinanceVenue(
      { api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET), options: { poll_interval_ms: 50, fills: 'polling' } },
      { exchange: 'binance', clock: new SystemClock(), logger: silentLogger() },
    );
    await v.marketData.loadInstruments(['BTCUSDT']);
    const reports: ExecutionReport[] = [];
    await v.execution.start((r) => reports.push(r));
    stops.push(() => v.execution.stop());
    const ex = v.execution;
    const fillsOf = (cid: string) => reports.filter((r) => r.kind === 'fill' && r.clientOrderId === cid).map((r) => [r.tradeId, r.lastQty, r.cumQty]);

    expect((await ex.openOrders()).map((o) => [o.clientOrderId, o.filledQty])).toEqual([['cw-long', 2]]);
    // it trades: the polls report that trade (its prior one claimed, not reported)
    fake.fill(8001, '0.00002');
    const second = String(fake.wsApi.trades.at(-1)!.id);
    await waitUntil(() => fillsOf('cw-long').length > 0, 'the second trade reported');
    expect(fillsOf('cw-long')).toEqual([[second, 2, 4]]);

    // another order of the account trades a window's worth of times; reconciliation books them all
    fake.restingOrder(8002, 'other', now - 60_000, '1.00000');
    for (let n = 0; n < WINDOW; n++) fake.fill(8002, '0.00001');
    fake.orders.get(8002)!.status = 'CANCELED';
    expect((await ex.tradesSince!(['BTCUSDT'], now - 120_000)).length).toBe(WINDOW + 2);

    // the long-lived order trades again: its whole trade list is read (from its first trade), and
    // only the new trade is reported (the trades of one read are reported together)
    fake.fill(8001, '0.00002');
    const third = String(fake.wsApi.trades.at(-1)!.id);
    await waitUntil(() => fillsOf('cw-long').length > 1, 'the third trade reported');
    expect(fillsOf('cw-long')).toEqual([[second, 2, 4], [third, 2, 6]]);
  }, 60_000);
});

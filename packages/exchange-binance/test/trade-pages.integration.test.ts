/**
 * Trade lists longer than one answer: GET /api/v3/myTrades answers at most 1,000 trades (500
 * unless `limit` says more) and takes a time window of at most 24 h. Reconciliation
 * (`tradesSince`, `queryOrder`) and the reads of a followed order must still see every trade.
 */
import { Writable } from 'node:stream';
import { SystemClock, type ExecutionReport } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { createLogger } from '@cwts/core/observability';
import { conformanceOrder, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createBinanceVenue } from '../src/plugin.js';
import { FakeBinance } from './fake-binance.js';

const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real-4242';
const HOUR = 3_600_000;

describe('Binance trade lists longer than one myTrades page', () => {
  let fake: FakeBinance | undefined;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await fake?.close();
    fake = undefined;
  });

  /** A process trading on the local venue; `pollMs` large: only the test's calls read its orders. */
  async function venue(pollMs: number) {
    fake ??= await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    const v = createBinanceVenue(
      { api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET), options: { fills: 'polling', poll_interval_ms: pollMs, order_entry: 'rest' } },
      { exchange: 'binance', clock: new SystemClock(), logger: createLogger({ level: 'error', destination: new Writable({ write(_c, _e, cb) { cb(); } }) as never, pretty: false }) },
    );
    const [i] = await v.marketData.loadInstruments(['BTCUSDT']);
    const reports: ExecutionReport[] = [];
    await v.execution.start((r) => reports.push(r));
    stops.push(() => v.execution.stop());
    return { ex: v.execution, i: i!, reports };
  }

  /** A resting order, acked. */
  async function restingOrder(qty: string, pollMs = 600_000) {
    const { ex, i, reports } = await venue(pollMs);
    const o = conformanceOrder(i, { side: 'buy', price: '64000.5', qty });
    ex.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack' && r.clientOrderId === o.clientOrderId), 'ack');
    const id = Number(reports.find((r) => r.kind === 'ack')!.venueOrderId);
    return { ex, o: { ...o, venueOrderId: String(id) }, id, reports };
  }

  it('tradesSince returns every trade since the time asked: 24 h windows in turn, then pages by trade id', async () => {
    const { ex, id } = await restingOrder('1');
    const since = Date.now() - 72 * HOUR;
    // 1,200 fills while the process was down: none in the first day, 200 in the second, 1,000 in the third
    for (let k = 0; k < 1200; k++) fake!.fill(id, '0.00001');
    fake!.wsApi.trades.forEach((t, k) => (t.time = k < 200 ? since + 26 * HOUR + k * 1000 : since + 50 * HOUR + k * 1000));
    const trades = await ex.tradesSince(['BTCUSDT'], since);
    expect(trades.map((t) => t.tradeId)).toEqual(fake!.wsApi.trades.map((t) => String(t.id)));
    // the venue refuses a window over 24 h and a window combined with fromId: every request was one it takes
    // the most recent 1,000 (all since then: more may be older), day 1 (none), day 2 (200), from id (1,000), from id (none)
    expect(fake!.wsApi.tradeListRequests).toBe(5);
  });

  it('tradesSince after a short downtime reads one page: the most recent trades reach back before the time asked', async () => {
    const { ex, id } = await restingOrder('1');
    for (let k = 0; k < 30; k++) fake!.fill(id, '0.00001');
    const since = Date.now() - HOUR;
    fake!.wsApi.trades.forEach((t, k) => (t.time = since - 10_000 + k * 1000));
    const trades = await ex.tradesSince(['BTCUSDT'], since);
    expect(trades.map((t) => t.tradeId)).toEqual(fake!.wsApi.trades.slice(10).map((t) => String(t.id)));
    expect(fake!.wsApi.tradeListRequests).toBe(1);
  });

  it('tradesSince refuses, rather than cuts short, a read of more than a year of 24 h windows', async () => {
    const { ex, id } = await restingOrder('1');
    for (let k = 0; k < 1000; k++) fake!.fill(id, '0.00001');
    await expect(ex.tradesSince(['BTCUSDT'], 0)).rejects.toThrow(/over 1000 trades since 0 \(epoch ms\).*day windows \(at most 366\); not read/);
  });

  it('polling books every trade of an order filled in more pieces than one page, and ends it', async () => {
    const { id, reports } = await restingOrder('0.006', 50);
    for (let k = 0; k < 600; k++) fake!.fill(id, '0.00001');
    expect(fake!.orders.get(id)!.status).toBe('FILLED');
    await waitUntil(() => reports.filter((r) => r.kind === 'fill').length === 600, 'every fill booked');
    const fills = reports.filter((r) => r.kind === 'fill');
    expect(new Set(fills.map((f) => f.tradeId)).size).toBe(600);
    expect(fills.at(-1)).toMatchObject({ cumQty: 600, leavesQty: 0 });
  });

  it('queryOrder (reconciliation) returns every trade of an order with more trades than one page', async () => {
    const { ex, o, id } = await restingOrder('0.006');
    for (let k = 0; k < 600; k++) fake!.fill(id, '0.00001');
    const st = await ex.queryOrder(o);
    expect(st).toMatchObject({ status: 'filled', filledQty: 600 });
    expect(st!.fills.map((f) => f.tradeId)).toEqual(fake!.wsApi.trades.map((t) => String(t.id)));
  });

  it('queryOrder of an order whose trade list lags reports it as far as its trades go, and the trade missing is booked once it is listed', async () => {
    const first = await restingOrder('0.02');
    await first.ex.stop();
    // filled twice while the process was down; after the restart the trade list lags by one trade
    fake!.fill(first.id, '0.005');
    fake!.fill(first.id, '0.005');
    fake!.wsApi.tradeListLag = 1;
    const { ex, reports } = await venue(50);
    const st = await ex.queryOrder(first.o);
    expect(st).toMatchObject({ status: 'partially_filled', filledQty: 500 });
    expect(st!.fills).toHaveLength(1);
    fake!.wsApi.tradeListLag = 0;
    await waitUntil(() => reports.some((r) => r.kind === 'fill'), 'the trade the list left out, booked by the poll');
    const last = fake!.wsApi.trades.at(-1)!;
    expect(reports.filter((r) => r.kind === 'fill').map((f) => [f.tradeId, f.lastQty, f.cumQty])).toEqual([[String(last.id), 500, 1000]]);
  });
});

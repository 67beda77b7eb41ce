/**
 * BybitOrderDriver against v5 answers that are no answer, as the bybit-exec fuzz target
 * (fuzz/targets/bybit-exec.mjs) found them: ccxt hands over a body it cannot parse as JSON as the
 * raw text, and one without `result.list` as it is; neither may read as "no such order", "no
 * working orders" or "no trades". Also a listed order of no size or filled past it, an
 * orderLinkId that is no string, an order/create id that is no string, and a trade without its
 * orderId. Scripted ccxt (no network), as execution-driver.test.ts.
 */
import { ManualClock, defineInstrument, type Instrument, type Order } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BybitOrderDriver, type BybitExecJson, type BybitOrderJson } from '../src/execution.js';
import { bybitEndpoints } from '../src/market-data.js';
import { DEFAULT_BYBIT_OPTIONS } from '../src/options.js';

const venue = await vi.hoisted(async () => (await import('@cwts/core/testing')).scriptedCcxt());
vi.mock('ccxt', () => venue.module('bybit', { urls: { api: { spot: 'https://api.bybit.com' } } }));

const BTC: Instrument = defineInstrument({ exchange: 'bybit', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.1', lotSize: '0.001' });
const NOW = Date.parse('2026-12-05T10:00:00Z');
const ok = <T>(result: T) => ({ retCode: 0, retMsg: 'OK', result });

function json(extra: Partial<BybitOrderJson> = {}): BybitOrderJson {
  return { orderId: 'O1', orderLinkId: 'c1', symbol: 'BTCUSDT', side: 'Buy', orderType: 'Limit', price: '64000.0', qty: '0.010', timeInForce: 'GTC', orderStatus: 'New', cumExecQty: '0', createdTime: '1764928800123', rejectReason: 'EC_NoError', ...extra };
}
function exec(extra: Partial<BybitExecJson> = {}): BybitExecJson {
  return { symbol: 'BTCUSDT', orderId: 'O1', execId: 'x1', execPrice: '64000.0', execQty: '0.004', execFee: '0.1', execType: 'Trade', execTime: String(NOW - 1000), isMaker: true, ...extra };
}

/** Answers that are no v5 list: what ccxt hands on for a body it cannot read, or one without the list. */
const NO_LIST: [string, unknown][] = [
  ['the raw text of a cut body', '{"retCode":0,"retMsg":"OK","result":{"list":[{"orderId":"O1"'],
  ['result null', ok(null)],
  ['result without list', ok({ nextPageCursor: '' })],
  ['list an object', ok({ list: {} })],
  ['a list holding null', ok({ list: [null] })],
];

describe('BybitOrderDriver: answers that are no answer', () => {
  let driver: BybitOrderDriver | undefined;
  beforeEach(() => venue.reset());
  afterEach(() => {
    driver?.close();
    driver = undefined;
  });

  async function started() {
    const d = new BybitOrderDriver({
      exchange: 'bybit', endpoints: bybitEndpoints({ rest_url: 'http://127.0.0.1:1', market: 'usdm' }), options: { ...DEFAULT_BYBIT_OPTIONS, query_requests_per_second: 1000 },
      clock: new ManualClock(NOW), apiKey: new Secret('key'), apiSecret: new Secret('secret'), instrument: (s) => (s === 'BTCUSDT' ? BTC : undefined), symbols: () => ['BTCUSDT'],
    });
    venue.handlers.privateGetV5OrderRealtime = () => ok({ list: [] });
    await d.connect();
    return d;
  }

  it.each(NO_LIST)('an order read answered with %s fails; it is not "unknown to the venue"', async (_what, body) => {
    driver = await started();
    venue.handlers.privateGetV5OrderRealtime = () => body;
    venue.handlers.privateGetV5OrderHistory = () => body;
    await expect(driver.fetchOrder({ symbol: 'BTCUSDT', clientOrderId: 'c1' })).rejects.toThrow(/without a list/);
  });

  it.each(NO_LIST)('a working-order listing or a trade list answered with %s fails; it is not empty', async (_what, body) => {
    driver = await started();
    venue.handlers.privateGetV5OrderRealtime = () => body;
    await expect(driver.fetchOpenOrders(['BTCUSDT'])).rejects.toThrow(/without a list/);
    venue.handlers.privateGetV5ExecutionList = () => body;
    await expect(driver.fetchFillsSince(['BTCUSDT'], NOW - 60_000)).rejects.toThrow(/without a list/);
  });

  it('a listed order of no size, filled past its size, or with an orderLinkId that is no string is refused and counted', async () => {
    driver = await started();
    venue.handlers.privateGetV5OrderRealtime = () =>
      ok({ list: [json({ qty: '-42990.000' }), json({ orderId: 'O2', qty: '0' }), json({ orderId: 'O3', cumExecQty: '0.020' }), json({ orderId: 'O4', orderLinkId: true as unknown as string }), json({ orderId: 'O5', cumExecQty: '0.004' })] });
    expect((await driver.fetchOpenOrders(['BTCUSDT'])).map((v) => [v.venueOrderId, v.qty, v.filledQty])).toEqual([['O5', '0.010', '0.004']]);
    expect(driver.refusedOrderReads).toBe(4);
  });

  it('an order/create answer whose orderId is no string is no ack', async () => {
    driver = await started();
    const o = { exchange: 'bybit', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 640000, qty: 10, tif: 'GTC', clientOrderId: 'c1' } as Order;
    for (const orderId of [[], {}, 7, '']) {
      venue.handlers.privatePostV5OrderCreate = () => ok({ orderId, orderLinkId: 'c1' });
      await expect(driver.place(o, BTC)).rejects.toThrow(/without an orderId/);
    }
    venue.handlers.privatePostV5OrderCreate = () => ok({ orderId: 'O1', orderLinkId: 'c1' });
    expect(await driver.place(o, BTC)).toBe('O1');
  });

  it('a trade of the account without its orderId fails the read (it would be booked under no order)', async () => {
    driver = await started();
    venue.handlers.privateGetV5ExecutionList = () => ok({ list: [exec(), exec({ execId: 'x2', orderId: undefined as unknown as string })], nextPageCursor: '' });
    await expect(driver.fetchFillsSince(['BTCUSDT'], NOW - 60_000)).rejects.toThrow(/without its orderId/);
  });
});

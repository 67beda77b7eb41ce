/**
 * BybitOrderDriver called directly with a scripted ccxt (no network): v5 order states, time in
 * force and reject reasons as the kit's view, answers that are no ack, execution filtering,
 * cursor paging against a misbehaving venue, 7-day windows, balances and linear positions. The
 * round trip through real ccxt signing is covered by execution.integration.test.ts.
 */
import { ManualClock, defineInstrument, type ExecutionReport, type Instrument, type Order } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BybitExecution, BybitOrderDriver, type BybitExecJson, type BybitOrderJson } from '../src/execution.js';
import { bybitEndpoints } from '../src/market-data.js';
import { DEFAULT_BYBIT_OPTIONS } from '../src/options.js';

/** The scripted venue (@cwts/core/testing scriptedCcxt): each test sets the endpoints it needs; calls are recorded. */
const venue = await vi.hoisted(async () => (await import('@cwts/core/testing')).scriptedCcxt());
vi.mock('ccxt', () => venue.module('bybit', { urls: { api: { spot: 'https://api.bybit.com', nested: { a: 'b' } } } }));

const BTC: Instrument = defineInstrument({ exchange: 'bybit', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.1', lotSize: '0.001' });
const NOW = Date.parse('2026-12-05T10:00:00Z');
const DAY = 24 * 3600 * 1000;
const ok = <T>(result: T) => ({ retCode: 0, retMsg: 'OK', result });
/** What ccxt throws for Bybit's rate-limit answer. */
const tooMany = (): never => {
  throw Object.assign(new Error('bybit {"retCode":10006,"retMsg":"Too many visits!","result":{},"retExtInfo":{},"time":1764928800123}'), { name: 'RateLimitExceeded' });
};
/** Lets what can run on the frozen ManualClock run (a paced read sleeps in real time, then finds the clock unmoved). */
const tick = () => new Promise((r) => setTimeout(r, 20));

function json(extra: Partial<BybitOrderJson> = {}): BybitOrderJson {
  return { orderId: 'O1', orderLinkId: 'c1', symbol: 'BTCUSDT', side: 'Buy', orderType: 'Limit', price: '64000.0', qty: '0.010', timeInForce: 'GTC', orderStatus: 'New', cumExecQty: '0', createdTime: '1764928800123', rejectReason: 'EC_NoError', ...extra };
}

function exec(extra: Partial<BybitExecJson> = {}): BybitExecJson {
  return { symbol: 'BTCUSDT', orderId: 'O1', execId: 'x1', execPrice: '64000.0', execQty: '0.004', execFee: '0.1', execType: 'Trade', execTime: '1764928801500', isMaker: true, ...extra };
}

function order(extra: Partial<Order> = {}): Order {
  return {
    exchange: 'bybit', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 640000, qty: 10, tif: 'GTC', source: 't',
    clientOrderId: 'c1', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0, ...extra,
  } as Order;
}

let clock = new ManualClock(NOW);

/** Reads unpaced (the clock here only moves when a test moves it) unless a test passes the defaults. */
const UNPACED = { ...DEFAULT_BYBIT_OPTIONS, query_requests_per_second: 1000 };

async function started(market: 'spot' | 'usdm' = 'usdm', options = UNPACED) {
  clock = new ManualClock(NOW);
  const d = new BybitOrderDriver({
    exchange: 'bybit', endpoints: bybitEndpoints({ rest_url: 'http://127.0.0.1:1', market }), options, clock,
    apiKey: new Secret('key'), apiSecret: new Secret('secret'), instrument: (s) => (s === 'BTCUSDT' ? BTC : undefined), symbols: () => ['BTCUSDT'],
  });
  venue.handlers.privateGetV5OrderRealtime = () => ok({ list: [] });
  await d.connect();
  venue.calls.length = 0;
  return d;
}

describe('BybitOrderDriver (scripted venue)', () => {
  let driver: BybitOrderDriver | undefined;
  beforeEach(() => venue.reset());
  afterEach(() => {
    driver?.close();
    driver = undefined;
  });

  it('connect re-roots every endpoint and checks the key with one signed request; calls before connect are refused', async () => {
    const cold = new BybitOrderDriver({
      exchange: 'bybit', endpoints: bybitEndpoints({ market: 'spot' }), options: DEFAULT_BYBIT_OPTIONS, clock: new ManualClock(NOW),
      instrument: () => undefined, symbols: () => [],
    });
    expect(cold.hasCredentials).toBe(false);
    await expect(cold.fetchBalances()).rejects.toThrow(/not started/);
    venue.handlers.privateGetV5OrderRealtime = () => ok({ list: [] });
    driver = new BybitOrderDriver({
      exchange: 'bybit', endpoints: bybitEndpoints({ rest_url: 'http://127.0.0.1:1', market: 'spot' }), options: DEFAULT_BYBIT_OPTIONS, clock: new ManualClock(NOW),
      apiKey: new Secret('key'), apiSecret: new Secret('secret'), instrument: () => BTC, symbols: () => ['BTCUSDT', 'ETHUSDT'],
    });
    expect(driver.hasCredentials).toBe(true);
    await driver.connect();
    expect((driver as unknown as { ccxt: { urls: { api: Record<string, unknown> } } }).ccxt.urls.api).toEqual({ spot: 'http://127.0.0.1:1', nested: { a: 'b' } });
    expect(venue.calls).toEqual([{ fn: 'privateGetV5OrderRealtime', params: { category: 'spot', symbol: 'BTCUSDT', limit: 1 } }]);
  });

  it('v5 order states, time in force, market price and reject reasons become the kit view', async () => {
    driver = await started();
    const cases: [string, string][] = [
      ['Created', 'pending'], ['New', 'open'], ['PartiallyFilled', 'open'], ['Untriggered', 'open'], ['Filled', 'filled'], ['Cancelled', 'cancelled'],
      ['PartiallyFilledCanceled', 'cancelled'], ['Rejected', 'rejected'], ['Deactivated', 'expired'], ['SomethingNew', 'open'],
    ];
    for (const [orderStatus, state] of cases) {
      venue.handlers.privateGetV5OrderRealtime = () => ok({ list: [json({ orderStatus })] });
      expect((await driver.fetchOrder({ symbol: 'BTCUSDT', clientOrderId: 'c1' }))?.state, orderStatus).toBe(state);
    }
    venue.handlers.privateGetV5OrderRealtime = () => ok({ list: [json({ orderStatus: 'Cancelled', timeInForce: 'PostOnly', rejectReason: 'EC_PostOnlyWillTakeLiquidity' })] });
    expect(await driver.fetchOrder({ symbol: 'BTCUSDT', clientOrderId: 'c1', venueOrderId: 'O1' })).toEqual({
      venueOrderId: 'O1', clientOrderId: 'c1', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: '64000.0', qty: '0.010', filledQty: '0', state: 'cancelled', tif: 'POST_ONLY',
      createdTs: 1764928800123, text: 'bybit: EC_PostOnlyWillTakeLiquidity',
    });
    expect(venue.calls.at(-1)!.params).toEqual({ category: 'linear', symbol: 'BTCUSDT', orderId: 'O1' });
    venue.handlers.privateGetV5OrderRealtime = () => ok({ list: [json({ orderType: 'Market', side: 'Sell', price: '0', timeInForce: 'IOC' })] });
    const m = await driver.fetchOrder({ symbol: 'BTCUSDT', clientOrderId: 'c1' });
    expect(m).toMatchObject({ type: 'market', side: 'sell', tif: 'IOC' });
    expect(m).not.toHaveProperty('price');
    // an answer on another symbol is not the order asked for: the read fails, counted; it is no
    // "unknown to the venue" either (the venue was not answering about ours)
    venue.handlers.privateGetV5OrderRealtime = () => ok({ list: [json({ symbol: 'DOGEUSDT' })] });
    venue.handlers.privateGetV5OrderHistory = () => ok({ list: [] });
    await expect(driver.fetchOrder({ symbol: 'BTCUSDT', clientOrderId: 'c1' })).rejects.toThrow(/another order/);
    expect(driver.refusedOrderReads).toBe(1);
  });

  it('an order realtime no longer lists is asked from order/history; unknown to both is undefined', async () => {
    driver = await started();
    venue.handlers.privateGetV5OrderRealtime = () => ok({ list: [] });
    venue.handlers.privateGetV5OrderHistory = (p) => ok({ list: p.orderLinkId === 'c1' ? [json({ orderStatus: 'Filled', cumExecQty: '0.010' })] : [] });
    expect(await driver.fetchOrder({ symbol: 'BTCUSDT', clientOrderId: 'c1' })).toMatchObject({ state: 'filled', filledQty: '0.010' });
    expect(await driver.fetchOrder({ symbol: 'BTCUSDT', clientOrderId: 'c2' })).toBeUndefined();
    expect(venue.calls.map((c) => c.fn)).toEqual(['privateGetV5OrderRealtime', 'privateGetV5OrderHistory', 'privateGetV5OrderRealtime', 'privateGetV5OrderHistory']);
  });

  it('place: limit with price and TIF, PostOnly spelled as Bybit does; an answer without an orderId is no ack', async () => {
    driver = await started();
    venue.handlers.privatePostV5OrderCreate = () => ok({ orderId: 'O9', orderLinkId: 'c1' });
    expect(await driver.place(order({ tif: 'POST_ONLY' }), BTC)).toBe('O9');
    expect(venue.calls[0]!.params).toEqual({ category: 'linear', symbol: 'BTCUSDT', side: 'Buy', orderType: 'Limit', qty: '0.01', orderLinkId: 'c1', price: '64000', timeInForce: 'PostOnly' });
    // linear market orders are in contracts (base) already: no marketUnit
    await driver.place(order({ type: 'market', price: undefined, tif: 'IOC', side: 'sell' }), BTC);
    expect(venue.calls[1]!.params).toEqual({ category: 'linear', symbol: 'BTCUSDT', side: 'Sell', orderType: 'Market', qty: '0.01', orderLinkId: 'c1' });
    venue.handlers.privatePostV5OrderCreate = () => ok({});
    await expect(driver.place(order(), BTC)).rejects.toThrow(/without an orderId/);
  });

  // Unflagged, a reduce-only exit checked against a position a poll behind the venue's (after an
  // ADL, a liquidation, a manual trade) could open or flip one, and in Bybit's reduce-only windows
  // (110023, 110042, 110137) the exit itself was refused.
  it('a reduceOnly order on linear is sent with reduceOnly: true; spot, which has no such flag, sends none (core checks it)', async () => {
    driver = await started();
    venue.handlers.privatePostV5OrderCreate = () => ok({ orderId: 'O9', orderLinkId: 'c1' });
    await driver.place(order({ side: 'sell', reduceOnly: true }), BTC);
    await driver.place(order({ type: 'market', price: undefined, tif: 'IOC', side: 'sell', reduceOnly: true }), BTC);
    await driver.place(order({ side: 'sell', reduceOnly: false }), BTC);
    expect(venue.calls.map((c) => c.params.reduceOnly)).toEqual([true, true, undefined]);
    expect(venue.calls[0]!.params).toMatchObject({ category: 'linear', side: 'Sell', orderType: 'Limit', reduceOnly: true });
    driver.close();
    driver = await started('spot');
    venue.handlers.privatePostV5OrderCreate = () => ok({ orderId: 'O9', orderLinkId: 'c1' });
    expect(await driver.place(order({ side: 'sell', reduceOnly: true }), BTC)).toBe('O9');
    expect(venue.calls[0]!.params).not.toHaveProperty('reduceOnly');
  });

  // The entry of order/realtime or order/history was taken as the order asked for whatever it
  // was: an answer about another order (a venue ignoring the filter, a stale cache, a reused
  // orderLinkId) acked ours under its id and booked its trades as our fills.
  it("an order read takes only the answer's entry about the order asked for; another order's answer fails the read, counted", async () => {
    driver = await started();
    const other = json({ orderId: 'O7', orderLinkId: 'manual-123', orderStatus: 'Filled', cumExecQty: '0.010' });
    venue.handlers.privateGetV5OrderHistory = () => ok({ list: [] });
    // ours beside another order: ours is taken, the other one refused (counted)
    venue.handlers.privateGetV5OrderRealtime = () => ok({ list: [other, json()] });
    expect(await driver.fetchOrder({ symbol: 'BTCUSDT', clientOrderId: 'c1' })).toMatchObject({ venueOrderId: 'O1', clientOrderId: 'c1' });
    expect(driver.refusedOrderReads).toBe(1);
    const refused: [string, Parameters<BybitOrderDriver['fetchOrder']>[0], BybitOrderJson][] = [
      ['by orderLinkId, another order', { symbol: 'BTCUSDT', clientOrderId: 'c1' }, other],
      ['by orderLinkId, an order without one', { symbol: 'BTCUSDT', clientOrderId: 'c1' }, json({ orderLinkId: '' })],
      ['by orderId, another order', { symbol: 'BTCUSDT', clientOrderId: 'c1', venueOrderId: 'O1' }, json({ orderId: 'O2' })],
      ['by orderId, another client id', { symbol: 'BTCUSDT', clientOrderId: 'c1', venueOrderId: 'O1' }, json({ orderLinkId: 'c9' })],
    ];
    for (const [what, ref, answer] of refused) {
      venue.handlers.privateGetV5OrderRealtime = () => ok({ list: [answer] });
      await expect(driver.fetchOrder(ref), what).rejects.toThrow(/another order/);
    }
    expect(driver.refusedOrderReads).toBe(1 + refused.length);
    // the same answer found in order/history is refused likewise (realtime lists nothing)
    venue.handlers.privateGetV5OrderRealtime = () => ok({ list: [] });
    venue.handlers.privateGetV5OrderHistory = () => ok({ list: [other] });
    await expect(driver.fetchOrder({ symbol: 'BTCUSDT', clientOrderId: 'c1' })).rejects.toThrow(/another order/);
    expect(driver.refusedOrderReads).toBe(1 + refused.length + 1);
    // an order followed under its venue id (no client id of ours: the kit's stand-in is the venue
    // id, or none for a trade's order) is its orderId's answer whatever orderLinkId it has
    venue.handlers.privateGetV5OrderHistory = () => ok({ list: [json({ orderLinkId: 'manual-9' })] });
    expect(await driver.fetchOrder({ symbol: 'BTCUSDT', clientOrderId: 'O1', venueOrderId: 'O1' })).toMatchObject({ venueOrderId: 'O1', clientOrderId: 'manual-9' });
    expect(await driver.fetchOrder({ symbol: 'BTCUSDT', clientOrderId: '', venueOrderId: 'O1' })).toMatchObject({ venueOrderId: 'O1' });
    expect(driver.refusedOrderReads).toBe(1 + refused.length + 1);
  });

  // A missing or unknown side was read as a buy: an adopted sell's fills booked as buys.
  it('an order answered without a side (or one Bybit does not write) is refused and counted, never read as a buy', async () => {
    driver = await started();
    venue.handlers.privateGetV5OrderRealtime = () =>
      ok({ list: [json({ side: undefined as unknown as 'Buy' }), json({ orderId: 'O2', orderLinkId: 'c2', side: 'Sell' }), json({ orderId: 'O3', orderLinkId: 'c3', side: 'SELL' as 'Sell' })], nextPageCursor: '' });
    expect((await driver.fetchOpenOrders(['BTCUSDT'])).map((v) => [v.venueOrderId, v.side])).toEqual([['O2', 'sell']]);
    expect(driver.refusedOrderReads).toBe(2);
    // our own order without a side is no "unknown to the venue" either: the read fails
    venue.handlers.privateGetV5OrderRealtime = () => ok({ list: [json({ side: '' as 'Buy' })] });
    await expect(driver.fetchOrder({ symbol: 'BTCUSDT', clientOrderId: 'c1' })).rejects.toThrow(/without a side/);
    expect(driver.refusedOrderReads).toBe(3);
  });

  it('close() then connect() (a stop, then a start): the paced list reads work again', async () => {
    driver = await started();
    venue.handlers.privateGetV5ExecutionList = () => ok({ list: [exec({ execTime: String(NOW - 1000) })] });
    driver.close();
    await expect(driver.fetchOpenOrders(['BTCUSDT'])).rejects.toThrow(/closed|not started/);
    await driver.connect();
    expect(await driver.fetchOpenOrders(['BTCUSDT'])).toEqual([]);
    expect((await driver.fetchFills({ venueOrderId: 'O1', symbol: 'BTCUSDT', side: 'buy', type: 'limit', qty: '0.010', filledQty: '0.004', state: 'open' })).map((f) => f.tradeId)).toEqual(['x1']);
    expect((await driver.fetchFillsSince(['BTCUSDT'], NOW - DAY)).map((f) => f.tradeId)).toEqual(['x1']);
  });

  it('cancel by orderId when known, else by orderLinkId', async () => {
    driver = await started();
    venue.handlers.privatePostV5OrderCancel = () => ok({ orderId: 'O1', orderLinkId: 'c1' });
    await driver.cancel(order({ venueOrderId: 'O1' }));
    await driver.cancel(order());
    expect(venue.calls.map((c) => c.params)).toEqual([
      { category: 'linear', symbol: 'BTCUSDT', orderId: 'O1' },
      { category: 'linear', symbol: 'BTCUSDT', orderLinkId: 'c1' },
    ]);
  });

  it("fills of an order: every page by cursor, trades only (not funding), this order's only, fee in the settle coin", async () => {
    driver = await started();
    venue.handlers.privateGetV5ExecutionList = (p) =>
      !p.cursor
        ? ok({ list: [exec(), exec({ execId: 'fund', execType: 'Funding' })], nextPageCursor: 'p2' })
        : ok({ list: [exec({ execId: 'x2', isMaker: false, execTime: '' }), exec({ execId: 'other', orderId: 'O2' })], nextPageCursor: '' });
    const fills = await driver.fetchFills({ venueOrderId: 'O1', symbol: 'BTCUSDT', side: 'buy', type: 'limit', qty: '0.010', filledQty: '0.008', state: 'open' });
    expect(fills).toEqual([
      { tradeId: 'x1', venueOrderId: 'O1', symbol: 'BTCUSDT', price: '64000.0', qty: '0.004', fee: '0.1', feeAsset: 'USDT', ts: 1764928801500, liquidity: 'maker' },
      { tradeId: 'x2', venueOrderId: 'O1', symbol: 'BTCUSDT', price: '64000.0', qty: '0.004', fee: '0.1', feeAsset: 'USDT', ts: NOW, liquidity: 'taker' },
    ]);
    expect(venue.calls.map((c) => c.params)).toEqual([
      { category: 'linear', symbol: 'BTCUSDT', orderId: 'O1', limit: 100 },
      { category: 'linear', symbol: 'BTCUSDT', orderId: 'O1', limit: 100, cursor: 'p2' },
    ]);
  });

  it('paging ends on a repeated cursor or an empty page, and fails rather than loop on a cursor that never ends', async () => {
    driver = await started();
    const view = { venueOrderId: 'O1', symbol: 'BTCUSDT', side: 'buy' as const, type: 'limit' as const, qty: '0.010', filledQty: '0.004', state: 'open' as const };
    venue.handlers.privateGetV5ExecutionList = () => ok({ list: [exec()], nextPageCursor: 'same' });
    // two pages read, the same execId on both: one trade
    expect(await driver.fetchFills(view)).toHaveLength(1);
    expect(venue.calls).toHaveLength(2);
    venue.calls.length = 0;
    venue.handlers.privateGetV5ExecutionList = () => ok({ list: [], nextPageCursor: 'more' });
    expect(await driver.fetchFills(view)).toEqual([]);
    expect(venue.calls).toHaveLength(1);
    let n = 0;
    venue.handlers.privateGetV5ExecutionList = () => ok({ list: [exec({ execId: `x${n}` })], nextPageCursor: `c${++n}` });
    await expect(driver.fetchFills(view)).rejects.toThrow(/did not end after 200 pages/);
  });

  it("an order's fills: 7-day windows from its createdTime (execution/list answers only the last 7 days when given no range), the last one from startTime alone", async () => {
    driver = await started();
    const windows: [unknown, unknown][] = [];
    venue.handlers.privateGetV5ExecutionList = (p) => {
      windows.push([p.startTime, p.endTime]);
      return ok({ list: Number(p.startTime) === NOW - 10 * DAY ? [exec({ execTime: String(NOW - 10 * DAY + 5) })] : [exec({ execId: 'x2', execTime: String(NOW - 1000) })] });
    };
    const view = { venueOrderId: 'O1', symbol: 'BTCUSDT', side: 'buy' as const, type: 'limit' as const, qty: '0.010', filledQty: '0.008', state: 'open' as const, createdTs: NOW - 10 * DAY };
    expect((await driver.fetchFills(view)).map((f) => f.tradeId)).toEqual(['x1', 'x2']);
    // Bybit answers startTime alone with the 7 days from it: a trade stamped past our clock's now is not cut off
    expect(windows).toEqual([[NOW - 10 * DAY, NOW - 3 * DAY - 1], [NOW - 3 * DAY, undefined]]);
    expect(venue.calls.every((c) => c.params.orderId === 'O1' && c.params.symbol === 'BTCUSDT')).toBe(true);
    // a recent order: one read from its createdTime
    windows.length = 0;
    await driver.fetchFills({ ...view, createdTs: NOW - 60_000 });
    expect(windows).toEqual([[NOW - 60_000, undefined]]);
  });

  it("an order's fills by orderId: every window answering the same trades (Bybit may ignore the range given an orderId) gives each execId once", async () => {
    driver = await started();
    venue.handlers.privateGetV5ExecutionList = (p) => ok({ list: p.orderId === 'O1' ? [exec({ execId: 'x2', execTime: String(NOW - 1000) }), exec({ execTime: String(NOW - 9 * DAY) })] : [] });
    const view = { venueOrderId: 'O1', symbol: 'BTCUSDT', side: 'buy' as const, type: 'limit' as const, qty: '0.010', filledQty: '0.008', state: 'open' as const, createdTs: NOW - 10 * DAY };
    expect((await driver.fetchFills(view)).map((f) => f.tradeId)).toEqual(['x2', 'x1']);
    expect(venue.calls).toHaveLength(2);
    // the account's trades: an execId answered by two windows (a window's edge, a venue answering past endTime) once
    venue.handlers.privateGetV5ExecutionList = () => ok({ list: [exec({ execTime: String(NOW - 3 * DAY), side: 'Sell' })] });
    const since = await driver.fetchFillsSince(['BTCUSDT'], NOW - 10 * DAY);
    expect(since.map((f) => [f.tradeId, f.side])).toEqual([['x1', 'sell']]);
  });

  it('an order created more than 7 days ago that realtime no longer lists is searched in order/history in 7-day windows from its creation', async () => {
    driver = await started();
    const created = NOW - 20 * DAY;
    venue.handlers.privateGetV5OrderRealtime = () => ok({ list: [] });
    const asked: [unknown, unknown][] = [];
    // as documented: no range is the past 7 days; a range is at most 7 days (by creation time)
    venue.handlers.privateGetV5OrderHistory = (p) => {
      asked.push([p.startTime, p.endTime]);
      const from = p.startTime !== undefined ? Number(p.startTime) : NOW - 7 * DAY;
      const to = p.endTime !== undefined ? Number(p.endTime) : NOW;
      expect(to - from).toBeLessThanOrEqual(7 * DAY);
      return ok({ list: p.orderId === 'O1' && created >= from && created <= to ? [json({ orderStatus: 'Filled', cumExecQty: '0.010', createdTime: String(created) })] : [] });
    };
    expect(await driver.fetchOrder({ symbol: 'BTCUSDT', clientOrderId: 'c1', venueOrderId: 'O1', createdTs: created })).toMatchObject({ state: 'filled', createdTs: created });
    expect(asked).toEqual([[undefined, undefined], [created - 60_000, created - 60_000 + 7 * DAY - 1]]);
    // unknown under every window: each week from its creation up to the past 7 days (asked first) once, then undefined
    asked.length = 0;
    expect(await driver.fetchOrder({ symbol: 'BTCUSDT', clientOrderId: 'c9', venueOrderId: 'O9', createdTs: created })).toBeUndefined();
    expect(asked).toEqual([[undefined, undefined], [created - 60_000, created - 60_000 + 7 * DAY - 1], [created - 60_000 + 7 * DAY, created - 60_000 + 14 * DAY - 1]]);
    // without a creation time: the past 7 days only
    asked.length = 0;
    expect(await driver.fetchOrder({ symbol: 'BTCUSDT', clientOrderId: 'c9', venueOrderId: 'O9' })).toBeUndefined();
    expect(asked).toEqual([[undefined, undefined]]);
  });

  it('order reads (realtime, history) are paced like the list reads: at most query_requests_per_second at one instant', async () => {
    driver = await started('usdm', DEFAULT_BYBIT_OPTIONS);
    venue.handlers.privateGetV5OrderHistory = () => ok({ list: [] });
    // 12 working orders polled, or 12 orders of a reconciliation, on a clock that does not move
    for (let k = 0; k < 12; k++) void driver.fetchOrder({ symbol: 'BTCUSDT', clientOrderId: `c${k}`, venueOrderId: `O${k}` }).catch(() => {});
    await tick();
    const reads = venue.calls.filter((c) => c.fn === 'privateGetV5OrderRealtime' || c.fn === 'privateGetV5OrderHistory');
    expect(reads).toHaveLength(DEFAULT_BYBIT_OPTIONS.query_requests_per_second);
  });

  it("a 10006 answer to a read holds every read back for a second of the driver's clock; a cancel still goes out", async () => {
    driver = await started();
    venue.handlers.privateGetV5OrderRealtime = tooMany;
    venue.handlers.privateGetV5ExecutionList = () => ok({ list: [] });
    venue.handlers.privatePostV5OrderCancel = () => ok({ orderId: 'O1', orderLinkId: 'c1' });
    const view = { venueOrderId: 'O1', symbol: 'BTCUSDT', side: 'buy' as const, type: 'limit' as const, qty: '0.010', filledQty: '0.004', state: 'open' as const };
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      await expect(driver.fetchOrder({ symbol: 'BTCUSDT', clientOrderId: 'c1', venueOrderId: 'O1' })).rejects.toThrow(/10006/);
      let done = false;
      const reading = driver.fetchFills(view).finally(() => (done = true));
      clock.advance(999);
      await vi.advanceTimersByTimeAsync(999);
      expect(venue.calls.filter((c) => c.fn === 'privateGetV5ExecutionList')).toHaveLength(0);
      await driver.cancel(order({ venueOrderId: 'O1' }));
      expect(venue.calls.filter((c) => c.fn === 'privatePostV5OrderCancel')).toHaveLength(1);
      clock.advance(1);
      for (let step = 0; !done && step < 100; step++) await vi.advanceTimersByTimeAsync(10);
      await reading;
      expect(venue.calls.filter((c) => c.fn === 'privateGetV5ExecutionList')).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('trades since: 7-day windows from since to now (at most 2 years back), per symbol, filtered by time', async () => {
    driver = await started('usdm', DEFAULT_BYBIT_OPTIONS);
    const windows: [number, number][] = [];
    // the last window gives startTime alone (Bybit answers its 7 days): NaN marks "no endTime"
    venue.handlers.privateGetV5ExecutionList = (p) => {
      windows.push([Number(p.startTime), Number(p.endTime)]);
      if (p.endTime !== undefined) expect(Number(p.endTime) - Number(p.startTime)).toBeLessThanOrEqual(7 * DAY);
      return ok({ list: Number(p.startTime) === NOW - 10 * DAY ? [exec({ execTime: String(NOW - 10 * DAY - 1) }), exec({ execId: 'x2', execTime: String(NOW - 9 * DAY) })] : [] });
    };
    const fills = await driver.fetchFillsSince(['BTCUSDT'], NOW - 10 * DAY);
    expect(fills.map((f) => f.tradeId)).toEqual(['x2']);
    expect(windows).toEqual([[NOW - 10 * DAY, NOW - 3 * DAY - 1], [NOW - 3 * DAY, NaN]]);
    windows.length = 0;
    // Two years back is 105 reads: paced at query_requests_per_second (5) on the driver's clock;
    // a read waits while 5 were sent in the last second. The driver's clock and its sleeps move
    // together here, 50 ms a step, with no real waiting.
    const sentAt: number[] = [];
    const list = venue.handlers.privateGetV5ExecutionList;
    venue.handlers.privateGetV5ExecutionList = (p) => {
      sentAt.push(clock.now());
      return list!(p);
    };
    const start = clock.now();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let done = false;
      const reading = driver.fetchFillsSince(['BTCUSDT'], 0).finally(() => (done = true));
      for (let step = 0; !done && step < 10_000; step++) {
        clock.advance(50);
        await vi.advanceTimersByTimeAsync(50);
      }
      await reading;
    } finally {
      vi.useRealTimers();
    }
    // 105 reads at 5 per second: at least 20 s of the venue's time.
    expect(sentAt.at(-1)! - start).toBeGreaterThanOrEqual(20_000);
    expect(windows[0]![0]).toBe(NOW - 730 * DAY);
    expect(windows.at(-2)![1]).toBeLessThan(NOW);
    expect(windows.at(-1)![0]).toBeGreaterThan(NOW - 7 * DAY);
    expect(windows.at(-1)![1]).toBeNaN();
    expect(windows).toHaveLength(105);
    for (let i = 5; i < sentAt.length; i++) expect(sentAt[i]! - sentAt[i - 5]!, `read ${i}`).toBeGreaterThanOrEqual(1000);
  });

  // The last window ended at our clock's now: a trade just made, stamped by a venue clock ahead of
  // ours, fell past it and was never read by the reconciliation.
  it("trades since: a trade stamped past our clock's now (the venue's clock ahead) is found: the last window gives startTime alone", async () => {
    driver = await started();
    const ahead = exec({ execId: 'x9', execTime: String(NOW + 5000) });
    // as documented (v5/order/execution): startTime alone answers startTime + 7 days
    venue.handlers.privateGetV5ExecutionList = (p) => {
      const from = Number(p.startTime);
      const to = p.endTime !== undefined ? Number(p.endTime) : from + 7 * DAY;
      return ok({ list: [ahead].filter((x) => Number(x.execTime) >= from && Number(x.execTime) <= to), nextPageCursor: '' });
    };
    expect((await driver.fetchFillsSince(['BTCUSDT'], NOW - DAY)).map((f) => f.tradeId)).toEqual(['x9']);
  });

  it('balances: the unified wallet, walletBalance per coin; linear positions signed, flat entries left out; spot has no position reader', async () => {
    driver = await started();
    venue.handlers.privateGetV5AccountWalletBalance = () => ok({ list: [{ accountType: 'UNIFIED', coin: [{ coin: 'USDT', walletBalance: '1000.5' }, { coin: 'BTC', walletBalance: '' }] }] });
    expect(await driver.fetchBalances()).toEqual([{ asset: 'USDT', total: '1000.5' }]);
    expect(venue.calls[0]!.params).toEqual({ accountType: 'UNIFIED' });
    venue.handlers.privateGetV5PositionList = () =>
      ok({ list: [{ symbol: 'BTCUSDT', side: 'Buy', size: '0.300' }, { symbol: 'BTCUSDT', side: 'Sell', size: '0.100' }, { symbol: 'BTCUSDT', side: '', size: '0' }], nextPageCursor: '' });
    expect(await driver.fetchPositions!(['BTCUSDT'])).toEqual([{ symbol: 'BTCUSDT', qty: '0.300' }, { symbol: 'BTCUSDT', qty: '-0.100' }]);
    driver.close();
    driver = await started('spot');
    expect(driver.fetchPositions).toBeUndefined();
  });
});

describe('BybitExecution: a 10006 answered to order reads', () => {
  let ex: BybitExecution | undefined;
  beforeEach(() => venue.reset());
  afterEach(async () => {
    await ex?.stop();
    ex = undefined;
  });

  // Bybit limits each endpoint per UID (docs v5/rate-limit: order/create, order/cancel and
  // order/realtime each have their own budget). A limited poll of a working order used to pause
  // the order limiter for a second, renewed by every poll: no cancel went out while the reads
  // stayed limited. The clock here never moves, so any such pause would never end.
  it('a poll answered 10006 holds back no cancel: it goes out at once', async () => {
    const frozen = new ManualClock(NOW);
    ex = new BybitExecution({
      exchange: 'bybit', endpoints: bybitEndpoints({ rest_url: 'http://127.0.0.1:1', market: 'usdm' }), options: { ...DEFAULT_BYBIT_OPTIONS, poll_interval_ms: 3_600_000 },
      clock: frozen, apiKey: new Secret('key'), apiSecret: new Secret('secret'), instrument: (s) => (s === 'BTCUSDT' ? BTC : undefined), symbols: () => ['BTCUSDT'],
    });
    venue.handlers.privateGetV5OrderRealtime = () => ok({ list: [] });
    venue.handlers.privatePostV5OrderCreate = () => ok({ orderId: 'O1', orderLinkId: 'c1' });
    venue.handlers.privatePostV5OrderCancel = () => ok({ orderId: 'O1', orderLinkId: 'c1' });
    const reports: { kind: string }[] = [];
    await ex.start((r) => reports.push(r));
    ex.submit(order());
    await vi.waitFor(() => expect(reports.some((r) => r.kind === 'ack')).toBe(true));
    venue.handlers.privateGetV5OrderRealtime = tooMany;
    await ex.reconcile('a poll while the venue limits order reads');
    expect(venue.calls.filter((c) => c.fn === 'privateGetV5OrderRealtime').length).toBeGreaterThan(1);
    ex.cancel(order({ venueOrderId: 'O1' }));
    await vi.waitFor(() => expect(venue.calls.filter((c) => c.fn === 'privatePostV5OrderCancel')).toHaveLength(1));
    expect(reports.filter((r) => r.kind === 'rejected')).toEqual([]);
  });
});

// End to end through the kit (restart reconciliation of a journaled order), the venue answering
// as documented: execution/list ignores the range given an orderId (docs v5/order/execution),
// order/history answers the past 7 days unless given a range of at most 7 days (docs
// v5/order/order-list), and order/realtime lists no closed order after a server release.
describe('BybitExecution: reconciling a long-resting order', () => {
  let ex: BybitExecution | undefined;
  beforeEach(() => venue.reset());
  afterEach(async () => {
    await ex?.stop();
    ex = undefined;
  });
  const WEEK = 7 * DAY;
  const created = NOW - 10 * DAY;
  const journaled = (extra: Partial<Order>) => order({ price: 640000, qty: 10, venueOrderId: 'O1', status: 'open', createdTs: created, updatedTs: created, ...extra });
  const execution = () =>
    new BybitExecution({
      exchange: 'bybit', endpoints: bybitEndpoints({ rest_url: 'http://127.0.0.1:1', market: 'usdm' }), options: { ...DEFAULT_BYBIT_OPTIONS, poll_interval_ms: 3_600_000, query_requests_per_second: 1000 },
      clock: new ManualClock(NOW), apiKey: new Secret('key'), apiSecret: new Secret('secret'), instrument: (s) => (s === 'BTCUSDT' ? BTC : undefined), symbols: () => ['BTCUSDT'],
    });

  it('each trade is reported once by queryOrder, and a later partial fill before a cancel is booked', async () => {
    ex = execution();
    let state = json({ orderStatus: 'PartiallyFilled', cumExecQty: '0.004', createdTime: String(created) });
    const execs = [exec({ execTime: String(created + DAY) })];
    venue.handlers.privateGetV5OrderRealtime = (p) => ok({ list: p.orderId === 'O1' || p.orderLinkId === 'c1' ? [state] : [] });
    venue.handlers.privateGetV5ExecutionList = (p) => ok({ list: p.orderId === 'O1' ? [...execs].reverse() : [], nextPageCursor: '' });
    const reports: ExecutionReport[] = [];
    await ex.start((r) => reports.push(r));
    const st = await ex.queryOrder(journaled({ status: 'partially_filled', filledQty: 4 }));
    expect(st).toMatchObject({ status: 'partially_filled', filledQty: 4 });
    expect(st!.fills.map((f) => f.tradeId)).toEqual(['x1']);
    execs.push(exec({ execId: 'x2', execTime: String(NOW - 1000) }));
    state = { ...state, orderStatus: 'PartiallyFilledCanceled', cumExecQty: '0.008' };
    await ex.reconcile('poll');
    expect(reports.filter((r) => r.kind === 'fill').map((r) => [r.tradeId, r.cumQty])).toEqual([['x2', 8]]);
    expect(reports.filter((r) => r.kind === 'cancelled').map((r) => r.cumQty)).toEqual([8]);
  });

  it('a filled order created 10 days ago is found by queryOrder, and tradesSince reports its trade under its client id', async () => {
    ex = execution();
    const filled = json({ orderStatus: 'Filled', cumExecQty: '0.010', createdTime: String(created) });
    const x = exec({ execQty: '0.010', execTime: String(NOW - 3600_000), side: 'Buy' });
    venue.handlers.privateGetV5OrderRealtime = () => ok({ list: [] });
    venue.handlers.privateGetV5OrderHistory = (p) => {
      const ranged = p.startTime !== undefined && p.endTime !== undefined;
      const from = ranged ? Number(p.startTime) : NOW - WEEK;
      const to = ranged ? Number(p.endTime) : NOW;
      const match = (p.orderId === undefined || p.orderId === 'O1') && (p.orderLinkId === undefined || p.orderLinkId === 'c1');
      return ok({ list: match && created >= from && created <= to ? [filled] : [], nextPageCursor: '' });
    };
    venue.handlers.privateGetV5ExecutionList = (p) => {
      const from = p.startTime !== undefined ? Number(p.startTime) : NOW - WEEK;
      const to = p.endTime !== undefined ? Number(p.endTime) : from + WEEK;
      return ok({ list: (p.orderId === undefined || p.orderId === 'O1') && Number(x.execTime) >= from && Number(x.execTime) <= to ? [x] : [], nextPageCursor: '' });
    };
    await ex.start(() => {});
    expect(await ex.queryOrder(journaled({}))).toMatchObject({ status: 'filled', filledQty: 10 });
    const trades = await ex.tradesSince(['BTCUSDT'], NOW - 2 * DAY);
    expect(trades.map((t) => [t.tradeId, t.clientOrderId, t.side, t.lastQty])).toEqual([['x1', 'c1', 'buy', 10]]);
  });
});

describe('BybitExecution: orders followed by the poll and by client id', () => {
  let ex: BybitExecution | undefined;
  beforeEach(() => venue.reset());
  afterEach(async () => {
    await ex?.stop();
    ex = undefined;
  });
  const WEEK = 7 * DAY;
  const execution = (at: ManualClock) =>
    new BybitExecution({
      exchange: 'bybit', endpoints: bybitEndpoints({ rest_url: 'http://127.0.0.1:1', market: 'usdm' }), options: { ...DEFAULT_BYBIT_OPTIONS, poll_interval_ms: 3_600_000, query_requests_per_second: 1000 },
      clock: at, apiKey: new Secret('key'), apiSecret: new Secret('secret'), instrument: (s) => (s === 'BTCUSDT' ? BTC : undefined), symbols: () => ['BTCUSDT'],
    });

  // The venue as documented (see "reconciling a long-resting order"): once filled, realtime no
  // longer lists it, and order/history answers the past 7 days unless given a range. The poll
  // asked without the order's creation time, so an order resting longer was never found again:
  // its fill never booked, the order never ended.
  it('a GTC order resting 10 days that fills while we run: the poll books its fill and ends it', async () => {
    const created = NOW - 10 * DAY;
    const at = new ManualClock(created);
    ex = execution(at);
    let state = json({ createdTime: String(created) });
    const x = exec({ execQty: '0.010', execTime: String(NOW - 1000) });
    let filled = false;
    venue.handlers.privatePostV5OrderCreate = () => ok({ orderId: 'O1', orderLinkId: 'c1' });
    venue.handlers.privateGetV5OrderRealtime = (p) => ok({ list: !filled && (p.orderId === 'O1' || p.orderLinkId === 'c1') ? [state] : [] });
    venue.handlers.privateGetV5OrderHistory = (p) => {
      const ranged = p.startTime !== undefined && p.endTime !== undefined;
      const from = ranged ? Number(p.startTime) : at.now() - WEEK;
      const to = ranged ? Number(p.endTime) : at.now();
      const match = (p.orderId === undefined || p.orderId === 'O1') && (p.orderLinkId === undefined || p.orderLinkId === 'c1');
      return ok({ list: filled && match && created >= from && created <= to ? [state] : [], nextPageCursor: '' });
    };
    venue.handlers.privateGetV5ExecutionList = (p) => {
      const from = p.startTime !== undefined ? Number(p.startTime) : at.now() - WEEK;
      const to = p.endTime !== undefined ? Number(p.endTime) : from + WEEK;
      return ok({ list: filled && p.orderId === 'O1' && Number(x.execTime) >= from && Number(x.execTime) <= to ? [x] : [], nextPageCursor: '' });
    };
    const reports: ExecutionReport[] = [];
    await ex.start((r) => reports.push(r));
    ex.submit(order({ createdTs: created, updatedTs: created }));
    await vi.waitFor(() => expect(reports.map((r) => r.kind)).toEqual(['ack']));
    at.set(NOW);
    state = { ...state, orderStatus: 'Filled', cumExecQty: '0.010' };
    filled = true;
    await ex.reconcile('poll');
    expect(reports.map((r) => [r.kind, r.tradeId, r.cumQty, r.leavesQty])).toEqual([['ack', undefined, 0, 10], ['fill', 'x1', 10, 0]]);
    expect(ex.workingOrders).toBe(0);
  });

  it("an unknown submit whose lookup by orderLinkId answers another order: that order's trade is not booked as ours, and the refusal is counted", async () => {
    ex = execution(new ManualClock(NOW));
    venue.handlers.privateGetV5OrderRealtime = () => ok({ list: [] });
    venue.handlers.privatePostV5OrderCreate = () => {
      throw Object.assign(new Error('bybit POST http://127.0.0.1:1/v5/order/create request timed out (10000 ms)'), { name: 'RequestTimeout' });
    };
    const reports: ExecutionReport[] = [];
    await ex.start((r) => reports.push(r));
    // every lookup answers with someone else's filled order
    const other = json({ orderId: 'O7', orderLinkId: 'manual-123', orderStatus: 'Filled', cumExecQty: '0.010' });
    venue.handlers.privateGetV5OrderRealtime = () => ok({ list: [other] });
    venue.handlers.privateGetV5OrderHistory = () => ok({ list: [other] });
    venue.handlers.privateGetV5ExecutionList = (p) => ok({ list: p.orderId === 'O7' ? [exec({ orderId: 'O7', execId: 'x7', execQty: '0.010' })] : [], nextPageCursor: '' });
    ex.submit(order());
    await vi.waitFor(() => expect(venue.calls.filter((c) => c.fn === 'privateGetV5OrderHistory').length).toBeGreaterThan(0));
    await tick();
    expect(reports.filter((r) => r.kind === 'fill' || r.kind === 'ack')).toEqual([]);
    expect(venue.calls.filter((c) => c.fn === 'privateGetV5ExecutionList')).toEqual([]);
    expect(Object.fromEntries(ex.inputRejections())).toEqual({ order_read: 1 });
    // still being asked for (never declared received, nor never received)
    expect(ex.workingOrders).toBe(1);
  });
});

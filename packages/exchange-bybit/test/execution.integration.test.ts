import { Writable } from 'node:stream';
import { SystemClock, type ExecutionReport } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { createLogger } from '@cwts/core/observability';
import { conformanceOrder, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createBybitVenue } from '../src/index.js';
import { FakeBybit, type FakeCategory } from './fake-bybit.js';

const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real';
const WRONG_SECRET = 'wrong-secret-DO-NOT-LOG-4711';

function capture() {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
  return { lines, logger: createLogger({ level: 'debug', destination: dest as never, pretty: false }) };
}

describe('Bybit execution through ccxt against the local server', () => {
  let fake: FakeBybit | undefined;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await fake?.close();
    fake = undefined;
  });

  async function venue(category: FakeCategory, secret: string, logger = capture().logger, pollMs = 50) {
    fake = await FakeBybit.start({ category, apiKey: KEY, apiSecret: SECRET });
    const v = createBybitVenue({ api_url: fake.wsUrl, rest_url: fake.restUrl, market: category === 'linear' ? 'usdm' : 'spot', api_key: new Secret(KEY), api_secret: new Secret(secret), options: { poll_interval_ms: pollMs } }, { exchange: 'bybit', clock: new SystemClock(), logger });
    const [i] = await v.marketData.loadInstruments(['BTCUSDT']);
    const reports: ExecutionReport[] = [];
    await v.execution.start((r) => reports.push(r));
    stops.push(() => v.execution.stop());
    return { v, i: i!, reports };
  }

  it('maps a bad API secret to 10004 AUTH_FAILED (at start and on the order) and never logs the secret', async () => {
    const cap = capture();
    const { v, i, reports } = await venue('spot', WRONG_SECRET, cap.logger);
    expect(cap.lines.join('')).toMatch(/signed request check failed at start: bybit 10004/);
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.length > 0, 'a report');
    expect(reports[0]).toMatchObject({ kind: 'rejected', rejectReason: 'AUTH_FAILED', clientOrderId: o.clientOrderId });
    expect(reports[0]!.text).toMatch(/10004.*check api_secret/);
    const all = cap.lines.join('') + JSON.stringify(reports, (_k, x) => (typeof x === 'bigint' ? String(x) : x));
    expect(all).not.toContain(WRONG_SECRET);
    expect(all).not.toContain(SECRET);
    expect(fake!.orders.size).toBe(0);
  });

  it('spot: fills learned by polling, exact price, real fee (base coin on a buy, quote on a sell) and liquidity', async () => {
    const { v, i, reports } = await venue('spot', SECRET);
    const buy = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.02' });
    v.execution.submit(buy);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const ack = reports.find((r) => r.kind === 'ack')!;
    const sent = fake!.orders.get(ack.venueOrderId!)!;
    expect(sent).toMatchObject({ orderLinkId: buy.clientOrderId, side: 'Buy', orderType: 'Limit', price: '64000.5', qty: '0.02', timeInForce: 'GTC' });
    fake!.fill(ack.venueOrderId!, '0.005');
    await waitUntil(() => reports.some((r) => r.kind === 'fill'), 'a partial fill');
    fake!.fill(ack.venueOrderId!, '0.015', { maker: false });
    await waitUntil(() => reports.filter((r) => r.kind === 'fill').length === 2, 'the second fill');
    const fills = reports.filter((r) => r.kind === 'fill');
    expect(fills.map((f) => [f.lastPrice, f.lastQty, f.cumQty, f.leavesQty, f.liquidity, f.feeAsset])).toEqual([
      [6400050, 5000, 5000, 15000, 'maker', 'BTC'],
      [6400050, 15000, 20000, 0, 'taker', 'BTC'],
    ]);
    // 0.000005 BTC x 64000.5 = 0.3200025 USDT; quote atoms are 1e-8 USDT
    expect(fills.map((f) => f.feeAtoms)).toEqual([32000250n, 96000750n]);
    const sell = conformanceOrder(i, { side: 'sell', price: '64000.5', qty: '0.002' });
    v.execution.submit(sell);
    await waitUntil(() => reports.some((r) => r.kind === 'ack' && r.clientOrderId === sell.clientOrderId), 'the sell ack');
    fake!.fill(reports.find((r) => r.kind === 'ack' && r.clientOrderId === sell.clientOrderId)!.venueOrderId!, '0.002');
    await waitUntil(() => reports.some((r) => r.kind === 'fill' && r.clientOrderId === sell.clientOrderId), 'the sell fill');
    // 0.1 % of 128.001 USDT, charged in USDT
    expect(reports.find((r) => r.kind === 'fill' && r.clientOrderId === sell.clientOrderId)).toMatchObject({ feeAsset: 'USDT', feeAtoms: 12800100n, leavesQty: 0 });
    await new Promise((r) => setTimeout(r, 200)); // more polls: nothing is reported twice
    expect(reports.filter((r) => r.kind === 'fill')).toHaveLength(3);
  });

  it('linear: fees in the settle coin rounded up; cancel after a partial fill reports the fill, then cancelled', async () => {
    const { v, i, reports } = await venue('linear', SECRET);
    const o = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.020' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const id = reports.find((r) => r.kind === 'ack')!.venueOrderId!;
    fake!.fill(id, '0.005');
    v.execution.cancel({ ...o, venueOrderId: id, status: 'pending_cancel' });
    await waitUntil(() => reports.some((r) => r.kind === 'cancelled'), 'the cancel');
    const kinds = reports.map((r) => r.kind);
    expect(kinds).toEqual(['ack', 'fill', 'cancelled']);
    // 0.005 x 64000.5 x 0.001 = 0.3200025 USDT = 3200.025 atoms of 1e-4: never understated
    expect(reports[1]).toMatchObject({ lastQty: 5, cumQty: 5, leavesQty: 15, feeAtoms: 3201n, feeAsset: 'USDT' });
    expect(reports[2]).toMatchObject({ cumQty: 5, leavesQty: 0 });
    expect(fake!.orders.get(id)!.orderStatus).toBe('Cancelled');
  });

  it('a cancel refused because the order filled meanwhile: the cancel is rejected, the fill still reported', async () => {
    const { v, i, reports } = await venue('spot', SECRET, capture().logger, 60_000); // no poll in this test's time
    const o = conformanceOrder(i, { side: 'sell', price: '64000', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const id = reports.find((r) => r.kind === 'ack')!.venueOrderId!;
    fake!.fill(id, '0.01');
    v.execution.cancel({ ...o, venueOrderId: id, status: 'pending_cancel' });
    await waitUntil(() => reports.some((r) => r.kind === 'fill'), 'the fill');
    expect(reports.map((r) => r.kind)).toEqual(['ack', 'rejected', 'fill']);
    expect(reports[1]).toMatchObject({ rejectReason: 'UNKNOWN_ORDER' });
    expect(reports[1]!.text).toMatch(/170213/);
    expect(reports[2]).toMatchObject({ cumQty: 10000, leavesQty: 0, lastPrice: 6400000 });
  });

  it('lists working orders (and follows them) after a restart', async () => {
    const { v, i, reports } = await venue('spot', SECRET);
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const open = await v.execution.openOrders();
    expect(open.map((x) => [x.clientOrderId, x.side, x.price, x.qty, x.status])).toEqual([[o.clientOrderId, 'buy', 6400000, 10000, 'open']]);
  });

  it('reconciliation (spot): queryOrder by client id with its fills, tradesSince, unified balances, positions from the base coin', async () => {
    const { v, i, reports } = await venue('spot', SECRET);
    const t0 = Date.now();
    const o = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.02' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const id = reports.find((r) => r.kind === 'ack')!.venueOrderId!;
    const x = fake!.fill(id, '0.005', { maker: false });
    // asked by client id only (as after a restart, with no venue id journaled)
    const st = await v.execution.queryOrder({ ...o, venueOrderId: undefined });
    expect(st).toMatchObject({ clientOrderId: o.clientOrderId, venueOrderId: id, status: 'partially_filled', filledQty: 5000 });
    expect(st!.fills).toHaveLength(1);
    expect(st!.fills[0]).toMatchObject({ kind: 'fill', tradeId: x.execId, lastQty: 5000, cumQty: 5000, lastPrice: 6400050, liquidity: 'taker', feeAsset: 'BTC', feeAtoms: 32000250n });
    expect(await v.execution.queryOrder({ ...o, clientOrderId: 'never-sent-1', venueOrderId: undefined })).toBeUndefined();
    const trades = await v.execution.tradesSince(['BTCUSDT'], t0 - 1000);
    expect(trades.map((t) => [t.clientOrderId, t.tradeId, t.lastQty])).toEqual([[o.clientOrderId, x.execId, 5000]]);
    expect(await v.execution.tradesSince(['BTCUSDT'], Date.now() + 60_000)).toEqual([]);
    expect(await v.execution.balances()).toEqual([{ asset: 'BTC', total: '1.250000' }, { asset: 'USDT', total: '100000.00' }]);
    expect(await v.execution.positions(['BTCUSDT'])).toEqual([{ symbol: 'BTCUSDT', qty: 1_250_000 }]);
    // whichever saw the trade first (polling or queryOrder), it is reported at most once
    await new Promise((r) => setTimeout(r, 300));
    expect(reports.filter((r) => r.kind === 'fill').length).toBeLessThanOrEqual(1);
  });

  it('reconciliation (linear): signed positions from position/list; funding is no fill; trades older than 7 days and past 100 a page are all found', async () => {
    const { v, i, reports } = await venue('linear', SECRET);
    const now = Date.now();
    const sell = conformanceOrder(i, { side: 'sell', price: '64000.5', qty: '0.250' });
    v.execution.submit(sell);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const id = reports.find((r) => r.kind === 'ack')!.venueOrderId!;
    // 10 days ago (an earlier 7-day window), then 120 fills now: two pages of execution/list
    const old = fake!.fill(id, '0.010', { time: now - 10 * 24 * 3600 * 1000 });
    for (let k = 0; k < 120; k++) fake!.fill(id, '0.001');
    fake!.funding('BTCUSDT', '0.5');
    expect(await v.execution.positions(['BTCUSDT'])).toEqual([{ symbol: 'BTCUSDT', qty: -130 }]);
    const trades = await v.execution.tradesSince(['BTCUSDT'], now - 20 * 24 * 3600 * 1000);
    expect(trades).toHaveLength(121);
    expect(trades[0]).toMatchObject({ tradeId: old.execId, clientOrderId: sell.clientOrderId, lastQty: 10 });
    expect(new Set(trades.map((t) => t.tradeId)).size).toBe(121);
    expect(trades.reduce((a, t) => a + t.lastQty, 0)).toBe(130);
    // polling goes on: whatever it reports is reported once, never the funding entry, and the
    // partly filled order is still followed
    await new Promise((r) => setTimeout(r, 400));
    const polled = reports.filter((r) => r.kind === 'fill');
    expect(new Set(polled.map((f) => f.tradeId)).size).toBe(polled.length);
    expect(polled.every((f) => trades.some((t) => t.tradeId === f.tradeId))).toBe(true);
    expect(v.execution.workingOrders).toBe(1);
  });

  it("an order older than 7 days: all its trades are found (execution/list answers the last 7 days when given no range), read in weekly windows from its createdTime", async () => {
    const DAY = 24 * 3600 * 1000;
    const { v, i, reports } = await venue('linear', SECRET, capture().logger, 60_000);
    const now = Date.now();
    const o = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.030' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const id = reports.find((r) => r.kind === 'ack')!.venueOrderId!;
    // a long-resting order (as one journaled before a restart): placed 20 days ago, filled over them
    fake!.orders.get(id)!.createdTime = String(now - 20 * DAY);
    const trades = [fake!.fill(id, '0.010', { time: now - 19 * DAY }), fake!.fill(id, '0.010', { time: now - 9 * DAY }), fake!.fill(id, '0.010')];
    const st = await v.execution.queryOrder({ ...o, venueOrderId: undefined });
    expect(st).toMatchObject({ status: 'filled', filledQty: 30 });
    expect(st!.fills.map((f) => [f.tradeId, f.cumQty])).toEqual(trades.map((x, k) => [x.execId, 10 * (k + 1)]));
    expect(v.execution.workingOrders).toBe(0);
  });

  it('a filled order that order/realtime no longer lists (venue restart) is found through order/history', async () => {
    const { v, i, reports } = await venue('spot', SECRET, capture().logger, 60_000);
    const o = conformanceOrder(i, { side: 'sell', price: '64000', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    fake!.fill(reports.find((r) => r.kind === 'ack')!.venueOrderId!, '0.01');
    fake!.realtimeOpenOnly = true;
    const st = await v.execution.queryOrder({ ...o, venueOrderId: undefined });
    expect(st).toMatchObject({ status: 'filled', filledQty: 10000 });
    expect(st!.fills.map((f) => [f.lastQty, f.cumQty, f.leavesQty])).toEqual([[10000, 10000, 0]]);
    expect(v.execution.workingOrders).toBe(0);
    expect(fake!.restRequests.some((r) => r.startsWith('GET /v5/order/history'))).toBe(true);
  });

  it('an order/create whose answer is lost is found by orderLinkId and acked, never assumed rejected', async () => {
    const { v, i, reports } = await venue('spot', SECRET);
    fake!.loseCreateAnswers = 1;
    const o = conformanceOrder(i, { side: 'buy', price: '63000', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId), 'a report');
    const sent = [...fake!.orders.values()].find((x) => x.orderLinkId === o.clientOrderId)!;
    expect(reports[0]).toMatchObject({ kind: 'ack', clientOrderId: o.clientOrderId, venueOrderId: sent.orderId });
    expect(fake!.orders.size).toBe(1);
    expect(reports.filter((r) => r.kind === 'rejected')).toHaveLength(0);
  });

  it.each([
    [10000, 'Server Timeout'],
    [10016, 'Service is restarting'],
    // the spot engine's own (docs v5/error, "Spot Trade")
    [170007, 'Timeout waiting for response from backend server.'],
    [170146, 'Order creation timeout'],
    [170035, 'Submitted to the system for processing!'],
  ])('order/create answered %i "%s" after the venue took the order: not rejected; found by orderLinkId, acked, its fill reported', async (code, msg) => {
    const { v, i, reports } = await venue('spot', SECRET);
    // Bybit's own "outcome unknown": the order is working at the venue all the same
    fake!.createAnswerCodes.push([code, msg]);
    const o = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.02' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId), 'a report');
    expect(reports.map((r) => r.kind)).toEqual(['ack']);
    const sent = [...fake!.orders.values()].find((x) => x.orderLinkId === o.clientOrderId)!;
    expect(reports[0]).toMatchObject({ venueOrderId: sent.orderId });
    fake!.fill(sent.orderId, '0.02');
    await waitUntil(() => reports.some((r) => r.kind === 'fill'), 'the fill');
    expect(reports.map((r) => [r.kind, r.cumQty])).toEqual([['ack', 0], ['fill', 20000]]);
  });

  it('stop() then start(): the list reads still work, so the fills of a new order are learned', async () => {
    const { v, i, reports } = await venue('spot', SECRET);
    await v.execution.stop();
    await v.execution.start((r) => reports.push(r));
    const o = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.02' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    fake!.fill(reports.find((r) => r.kind === 'ack')!.venueOrderId!, '0.02');
    await waitUntil(() => reports.some((r) => r.kind === 'fill'), 'the fill');
    expect(reports.filter((r) => r.kind === 'fill').map((r) => r.lastQty)).toEqual([20000]);
    expect(await v.execution.openOrders()).toEqual([]);
  });

  it('a spot market order states its qty in the base coin (a market buy is in the quote coin unless told)', async () => {
    const { v, i, reports } = await venue('spot', SECRET);
    const o = { ...conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.01' }), type: 'market' as const, price: undefined, tif: 'IOC' as const };
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    expect(fake!.lastCreate).toMatchObject({ orderType: 'Market', qty: '0.01', marketUnit: 'baseCoin' });
    expect(fake!.lastCreate).not.toHaveProperty('price');
  });

  it('is market-data only without credentials', async () => {
    fake = await FakeBybit.start({});
    const v = createBybitVenue({ api_url: fake.wsUrl, rest_url: fake.restUrl }, { exchange: 'bybit', clock: new SystemClock() });
    expect(v.execution.availability()).toEqual({ canTrade: false, reason: 'no api_key/api_secret configured; market data only' });
  });
});

import { Writable } from 'node:stream';
import { SystemClock, priceToTicks, type Clock, type ExecutionReport } from '@cwts/core';
import type { RateLimiter } from '@cwts/core/adapter-kit';
import { Secret } from '@cwts/core/config';
import { createLogger } from '@cwts/core/observability';
import { conformanceOrder, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createBinanceVenue, type BinanceExecution } from '../src/index.js';
import { FakeBinance } from './fake-binance.js';
import { SteppedClock } from './stepped-clock.js';

const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real';
const WRONG_SECRET = 'wrong-secret-DO-NOT-LOG-4711';

const UNKNOWN_1007 = 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.';

function capture() {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
  return { lines, logger: createLogger({ level: 'debug', destination: dest as never, pretty: false }) };
}

describe('Binance execution through ccxt against the local server', () => {
  let fake: FakeBinance | undefined;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await fake?.close();
  });

  const entryReady = async (v: { execution: BinanceExecution }, entry: 'ws' | 'rest') => {
    if (entry === 'ws') await waitUntil(() => v.execution.orderEntry?.ready === true, 'order entry connected');
  };

  async function venue(secret: string, logger = capture().logger, options: Record<string, unknown> = {}, clock: Clock = new SystemClock()) {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    const v = createBinanceVenue({ api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(secret), options: { poll_interval_ms: 50, fills: 'polling', ...options } }, { exchange: 'binance', clock, logger });
    const [i] = await v.marketData.loadInstruments(['BTCUSDT']);
    const reports: ExecutionReport[] = [];
    await v.execution.start((r) => reports.push(r));
    stops.push(() => v.execution.stop());
    return { v, i: i!, reports };
  }

  it('maps a bad API secret to -1022 AUTH_FAILED and never logs the secret', async () => {
    const cap = capture();
    const { v, i, reports } = await venue(WRONG_SECRET, cap.logger);
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.length > 0, 'a report');
    expect(reports[0]).toMatchObject({ kind: 'rejected', rejectReason: 'AUTH_FAILED', clientOrderId: o.clientOrderId });
    expect(reports[0]!.text).toMatch(/-1022/);
    expect(reports[0]!.text).toMatch(/check api_secret/);
    const all = cap.lines.join('') + JSON.stringify(reports, (_k, x) => (typeof x === 'bigint' ? String(x) : x));
    expect(all).toContain('-1022');
    expect(all).not.toContain(WRONG_SECRET);
    expect(all).not.toContain(SECRET);
    expect(all).not.toMatch(/signature=[0-9a-f]{16}/);
  });

  it('reports fills learned by polling (fills = "polling"), at the exact price, with the real fee and liquidity', async () => {
    const { v, i, reports } = await venue(SECRET);
    const o = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.02' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const id = Number(reports.find((r) => r.kind === 'ack')!.venueOrderId);
    fake!.fill(id, '0.005');
    await waitUntil(() => reports.some((r) => r.kind === 'fill'), 'a partial fill');
    fake!.fill(id, '0.015');
    await waitUntil(() => reports.filter((r) => r.kind === 'fill').length === 2, 'the second fill');
    const fills = reports.filter((r) => r.kind === 'fill');
    expect(fills.map((f) => [f.lastPrice, f.lastQty, f.cumQty, f.leavesQty])).toEqual([
      [6400050, 500, 500, 1500],
      [6400050, 1500, 2000, 0],
    ]);
    // maker 0.075 % of 320.0025 = 0.24000188 USDT; quote atoms are 1e-7 USDT, rounded up
    expect(fills.map((f) => [f.liquidity, f.feeAtoms])).toEqual([
      ['maker', 2400019n],
      ['maker', 7200057n],
    ]);
    expect(v.execution.medianRequestNs()).toBeGreaterThan(0);
  });

  const hostileAnswers: [string, (body: Record<string, unknown>, tradeId: number) => void][] = [
    ['a fill at price 0', (b, t) => (b.fills = [{ price: '0.00000000', qty: '0.02000000', commission: '0', commissionAsset: 'USDT', tradeId: t }])],
    ['a negative fill', (b, t) => (b.fills = [{ price: '65000.01000000', qty: '-0.02000000', commission: '0', commissionAsset: 'USDT', tradeId: t }])],
    ['a fill entry that is not an object', (b) => (b.fills = [null, 7])],
    ['an executed quantity that is not a decimal', (b) => (b.executedQty = 'lots')],
    ['no order id', (b) => delete b.orderId],
  ];
  it.each(hostileAnswers.flatMap(([what, edit]) => (['rest', 'ws'] as const).map((entry) => [what, entry, edit] as const)))('an order answer with %s (order entry %s) books nothing from it: the order is read over REST and its trade booked once at the venue\'s values', async (_what, entry, edit) => {
    const { v, i, reports } = await venue(SECRET, capture().logger, { order_entry: entry });
    fake!.editNextOrderAnswer = (body) => edit(body, fake!.wsApi.trades.at(-1)!.id);
    const o = conformanceOrder(i, { side: 'buy', price: '65000', qty: '0.02' }, { type: 'market', price: undefined });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'fill'), 'the fill');
    const trade = fake!.wsApi.trades.at(-1)!;
    const fills = reports.filter((r) => r.kind === 'fill');
    expect(fills.map((f) => [f.lastQty, f.lastPrice, f.tradeId])).toEqual([[2000, priceToTicks(i, trade.price), String(trade.id)]]);
    expect(reports.filter((r) => r.kind === 'rejected')).toEqual([]);
    expect(reports.find((r) => r.kind === 'ack')?.venueOrderId).toBe(String(trade.orderId));
    expect((v.execution as BinanceExecution).orderPaths[entry]).toBe(1);
  });

  it('an order whose trade list lags its status is not ended before its trades are read (fills by polling)', async () => {
    const { v, i, reports } = await venue(SECRET);
    const o = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.02' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const id = Number(reports.find((r) => r.kind === 'ack')!.venueOrderId);
    fake!.wsApi.tradeListLag = 1;
    fake!.fill(id, '0.005');
    v.execution.cancel({ ...o, venueOrderId: String(id) });
    // the venue says CANCELED with 0.005 executed, and its trade list does not show that trade yet
    await waitUntil(() => fake!.wsApi.laggedTradeLists >= 3, 'the order read again while its trades lag');
    expect(reports.filter((r) => r.kind === 'cancelled' || r.kind === 'fill')).toEqual([]);
    fake!.wsApi.tradeListLag = 0;
    await waitUntil(() => reports.some((r) => r.kind === 'cancelled'), 'the end, once the trade is listed');
    const fillAt = reports.findIndex((r) => r.kind === 'fill');
    const endAt = reports.findIndex((r) => r.kind === 'cancelled');
    expect(fillAt).toBeGreaterThanOrEqual(0);
    expect(fillAt).toBeLessThan(endAt);
    expect(reports[fillAt]).toMatchObject({ lastQty: 500, cumQty: 500 });
    expect(reports[endAt]).toMatchObject({ cumQty: 500 });
  });

  it.each(['ws', 'rest'])('a refused cancel (order entry %s) leaves the order followed: "unknown order" for an order that filled meanwhile brings its fill', async (entry) => {
    // polling far apart: only the cancel's refusal can make the adapter look at the order again
    const { v, i, reports } = await venue(SECRET, capture().logger, { poll_interval_ms: 60_000, order_entry: entry });
    const o = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.02' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const ack = reports.find((r) => r.kind === 'ack')!;
    fake!.fill(Number(ack.venueOrderId), '0.02');
    v.execution.cancel({ ...o, venueOrderId: ack.venueOrderId, status: 'pending_cancel' });
    await waitUntil(() => reports.some((r) => r.kind === 'fill'), 'the fill, learned after the refused cancel');
    const refusal = reports.find((r) => r.kind === 'rejected')!;
    expect(refusal).toMatchObject({ rejects: 'request', rejectReason: 'UNKNOWN_ORDER', clientOrderId: o.clientOrderId });
    expect(reports.find((r) => r.kind === 'fill')).toMatchObject({ lastPrice: 6400050, lastQty: 2000, cumQty: 2000, leavesQty: 0 });
  });

  // Binance errors.md: -1006 / -1007 "execution status unknown"; rest-api.md: a 5xx is an error
  // on Binance's side and the execution status is unknown. The venue below did execute the order.
  const unknownAnswers = [
    ['-1007 "execution status unknown"', 400, -1007, UNKNOWN_1007],
    ['-1006 "execution status unknown"', 400, -1006, 'An unexpected response was received from the message bus. Execution status unknown.'],
    ['HTTP 500 (-1000)', 500, -1000, 'An unknown error occurred while processing the request.'],
  ] as const;
  it.each(unknownAnswers.flatMap(([what, status, code, msg]) => (['ws', 'rest'] as const).map((entry) => [what, entry, status, code, msg] as const)))('an order answered %s (order entry %s) is asked for by client id, never reported rejected', async (_what, entry, status, code, msg) => {
    const { v, i, reports } = await venue(SECRET, capture().logger, { order_entry: entry, poll_interval_ms: 600_000 });
    await entryReady(v, entry);
    const place = fake!.placeOrder.bind(fake!);
    fake!.placeOrder = (params, _send, err, drop) => place(params, () => err(status, code, msg), err, drop);
    const o = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.02' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId), 'a report for the order');
    const working = [...fake!.orders.values()].find((x) => x.clientOrderId === o.clientOrderId)!;
    expect(working.status).toBe('NEW');
    expect(reports.filter((r) => r.clientOrderId === o.clientOrderId).map((r) => [r.kind, r.venueOrderId])).toEqual([['ack', String(working.orderId)]]);
    expect(fake!.requests.some((r) => r.method === 'GET' && r.path === '/api/v3/order')).toBe(true);
    expect(fake!.newOrderRequests).toBe(1);
  });

  it.each(['ws', 'rest'] as const)('a cancel answered -1007 (order entry %s) is followed by reading the order: the cancel the venue did is reported', async (entry) => {
    const { v, i, reports } = await venue(SECRET, capture().logger, { order_entry: entry, poll_interval_ms: 600_000 });
    await entryReady(v, entry);
    const o = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.02' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'the ack');
    const cancel = fake!.cancelOrder.bind(fake!);
    fake!.cancelOrder = (params, _send, err) => cancel(params, () => err(503, -1007, UNKNOWN_1007), err);
    v.execution.cancel({ ...o, venueOrderId: reports.find((r) => r.kind === 'ack')!.venueOrderId, status: 'pending_cancel' });
    await waitUntil(() => reports.some((r) => r.kind === 'cancelled'), 'the cancel, learned by reading the order');
    expect([...fake!.orders.values()].find((x) => x.clientOrderId === o.clientOrderId)!.status).toBe('CANCELED');
    expect(reports.filter((r) => r.kind === 'cancelled')).toHaveLength(1);
  });

  it('an order found by client id whose trades cannot be read at once is read again until its fill is booked', async () => {
    const { v, i, reports } = await venue(SECRET, capture().logger, { order_entry: 'rest', poll_interval_ms: 600_000 });
    const place = fake!.placeOrder.bind(fake!);
    fake!.placeOrder = (params, _send, err, drop) => place(params, () => err(503, -1007, UNKNOWN_1007), err, drop);
    // the first trade list read after the order is found fails (a 500): the order is known, its fill not yet
    fake!.wsApi.failTradeLists = 1;
    const o = conformanceOrder(i, { side: 'buy', price: '65000', qty: '0.02' }, { type: 'market', price: undefined });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'fill'), 'the fill');
    expect(fake!.wsApi.failTradeLists).toBe(0);
    const trade = fake!.wsApi.trades.at(-1)!;
    expect(reports.map((r) => [r.kind, r.kind === 'fill' ? r.tradeId : r.venueOrderId])).toEqual([['ack', String(trade.orderId)], ['fill', String(trade.id)]]);
    expect(reports[1]).toMatchObject({ lastQty: 2000, cumQty: 2000, leavesQty: 0 });
  });

  it.each(['rest', 'ws'] as const)('an order waiting for the shared limiter when stop() comes is never sent (order entry %s)', async (entry) => {
    const { v, i } = await venue(SECRET, capture().logger, { order_entry: entry, poll_interval_ms: 600_000 });
    await entryReady(v, entry);
    const internals = v.execution as unknown as { deps: { limiter: RateLimiter }; ccxt: { createOrder: (...a: unknown[]) => Promise<unknown> } };
    const ccxt = internals.ccxt;
    const createOrder = ccxt.createOrder;
    let sent = 0;
    ccxt.createOrder = (...a) => {
      sent++;
      return createOrder.apply(ccxt, a);
    };
    // what a 429 on a depth snapshot does to the per-IP limiter the market-data half shares (market-data.ts)
    const shared = internals.deps.limiter;
    shared.blockUntil(Date.now() + 300);
    // the WebSocket API path does not wait for a limit: the order takes the REST path, which does
    v.execution.submit(conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.01' }));
    await v.execution.stop();
    // the limiter serves in turn: when this turn comes, the order's wait is over and what follows it has run
    await shared.acquire({ ip: 1 });
    await new Promise((r) => setImmediate(r));
    expect(sent).toBe(0);
    expect(fake!.newOrderRequests).toBe(0);
    expect(fake!.orders.size).toBe(0);
  });

  it.each(['rest', 'ws'] as const)('a cancel waiting for the shared limiter when stop() comes is never sent (order entry %s)', async (entry) => {
    const { v, i, reports } = await venue(SECRET, capture().logger, { order_entry: entry, poll_interval_ms: 600_000 });
    await entryReady(v, entry);
    const o = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'the ack');
    const internals = v.execution as unknown as { deps: { limiter: RateLimiter }; ccxt: { cancelOrder: (...a: unknown[]) => Promise<unknown> } };
    const ccxt = internals.ccxt;
    const cancelOrder = ccxt.cancelOrder;
    let sent = 0;
    ccxt.cancelOrder = (...a) => {
      sent++;
      return cancelOrder.apply(ccxt, a);
    };
    const shared = internals.deps.limiter;
    shared.blockUntil(Date.now() + 300);
    v.execution.cancel({ ...o, venueOrderId: reports.find((r) => r.kind === 'ack')!.venueOrderId, status: 'pending_cancel' });
    await v.execution.stop();
    await shared.acquire({ ip: 1 });
    await new Promise((r) => setImmediate(r));
    expect(sent).toBe(0);
    expect([...fake!.orders.values()].map((x) => x.status)).toEqual(['NEW']);
  });

  it('a REST 418 (IP banned) holds every order back until the ban ends, not for a second', async () => {
    const clock = new SteppedClock();
    const { v, i, reports } = await venue(SECRET, capture().logger, { order_entry: 'rest', poll_interval_ms: 600_000 }, clock);
    const place = fake!.placeOrder.bind(fake!);
    let banned = true;
    fake!.placeOrder = (params, send, err, drop) => {
      if (!banned) return place(params, send, err, drop);
      fake!.newOrderRequests++;
      return err(418, -1003, `Way too many requests; IP banned until ${clock.now() + 120_000}. Please use the websocket for live updates to avoid bans.`, { 'retry-after': '120' });
    };
    const a = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.01' });
    v.execution.submit(a);
    await waitUntil(() => reports.some((r) => r.clientOrderId === a.clientOrderId), 'the first answer');
    expect(reports.find((r) => r.clientOrderId === a.clientOrderId)).toMatchObject({ kind: 'rejected', rejectReason: 'RATE_LIMITED' });
    // the ban still holds at the venue; the fake answers normally from now on only to show what got through
    banned = false;
    clock.ahead = 1_500;
    const b = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.01' });
    v.execution.submit(b);
    await waitUntil(() => reports.some((r) => r.clientOrderId === b.clientOrderId), 'the second order decided');
    expect(reports.find((r) => r.clientOrderId === b.clientOrderId)).toMatchObject({ kind: 'rejected', rejectReason: 'RATE_LIMITED' });
    expect(fake!.newOrderRequests).toBe(1);
    // after the ban, orders go out again
    clock.ahead = 121_000;
    const c = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.01' });
    v.execution.submit(c);
    await waitUntil(() => reports.some((r) => r.clientOrderId === c.clientOrderId), 'the third order answered');
    expect(reports.find((r) => r.clientOrderId === c.clientOrderId)).toMatchObject({ kind: 'ack' });
  });

  it('is market-data only without credentials', async () => {
    fake = await FakeBinance.start({});
    const v = createBinanceVenue({ api_url: fake.wsUrl, rest_url: fake.restUrl }, { exchange: 'binance', clock: new SystemClock() });
    expect(v.execution.availability()).toEqual({ canTrade: false, reason: 'no api_key/api_secret configured; market data only' });
  });

  it('refuses orders on USD-M futures, whose execution is not implemented (the spot REST API would be called)', async () => {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    const v = createBinanceVenue({ api_url: fake.wsUrl, rest_url: fake.restUrl, market: 'usdm', api_key: new Secret(KEY), api_secret: new Secret(SECRET) } as never, { exchange: 'binance', clock: new SystemClock() });
    expect(v.execution.availability()).toEqual({ canTrade: false, reason: 'USD-M futures execution is not implemented (market data only)' });
  });
});

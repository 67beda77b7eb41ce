/**
 * Order entry on Binance's WebSocket API (order.place / order.cancel) against the local server:
 * place, cancel, reject with the venue's code, signature checks (HMAC and Ed25519), a request
 * in flight when the connection drops (resolved by query, never re-sent), an unanswered request
 * (resolved by query once the injected clock passes the timeout), REST while the WebSocket API
 * is down, and the venue's rate-limit counters honoured.
 */
import { generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { type Clock, type ExecutionReport, type Instrument } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { TimerSet } from '@cwts/core/adapter-kit';
import { createLogger } from '@cwts/core/observability';
import { conformanceOrder, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createBinanceVenue } from '../src/plugin.js';
import type { BinanceExecution } from '../src/execution.js';
import { BinanceWsOrderEntry } from '../src/ws-order-entry.js';
import { FakeBinance, type FakeBinanceOptions } from './fake-binance.js';
import { SteppedClock } from './stepped-clock.js';

const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real-ws';

function capture() {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
  return { lines, logger: createLogger({ level: 'debug', destination: dest as never, pretty: false }) };
}

const W = 15_000;
const restPosts = (f: FakeBinance) => f.requests.filter((r) => r.method === 'POST' && r.path === '/api/v3/order').length;
const restDeletes = (f: FakeBinance) => f.requests.filter((r) => r.method === 'DELETE' && r.path === '/api/v3/order').length;

describe('Binance order entry on the WebSocket API (against the local server)', () => {
  let fake: FakeBinance | undefined;
  const stops: (() => Promise<void>)[] = [];
  // an exception thrown from a socket's message handler escapes as an uncaught one: the process ends
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  afterEach(async () => {
    process.off('uncaughtException', onUncaught);
    uncaught.length = 0;
    for (const s of stops.splice(0)) await s();
    await fake?.close();
    fake = undefined;
  });

  async function venue(opts: { secret?: string; options?: Record<string, unknown>; clock?: Clock; fake?: FakeBinanceOptions; logger?: ReturnType<typeof capture>['logger'] } = {}) {
    fake ??= await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET, ...opts.fake });
    const v = createBinanceVenue(
      {
        api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(opts.secret ?? SECRET),
        // polling every 10 min and no user stream: every report here comes from the order entry's answers or its queries
        options: { fills: 'polling', poll_interval_ms: 600_000, reconnect_initial_ms: 20, reconnect_max_ms: 100, ...opts.options },
      },
      { exchange: 'binance', clock: opts.clock ?? new SteppedClock(), logger: opts.logger ?? capture().logger },
    );
    const [i] = await v.marketData.loadInstruments(['BTCUSDT']);
    const reports: ExecutionReport[] = [];
    await v.execution.start((r) => reports.push(r));
    stops.push(() => v.execution.stop());
    await waitUntil(() => v.execution.orderEntry?.ready === true, 'order entry connected', W);
    return { ex: v.execution, i: i!, reports };
  }

  const of = (reports: ExecutionReport[], cid: string, kind?: ExecutionReport['kind']) => reports.filter((r) => r.clientOrderId === cid && (kind === undefined || r.kind === kind));

  async function ack(ex: BinanceExecution, i: Instrument, reports: ExecutionReport[], price = '64000.5') {
    const o = conformanceOrder(i, { side: 'buy', price, qty: '0.02' });
    ex.submit(o);
    await waitUntil(() => of(reports, o.clientOrderId).length > 0, 'an answer', W);
    return o;
  }

  it('places on the WebSocket API: the signed request is on the socket when submit() returns, the answer acks it', async () => {
    const { ex, i, reports } = await venue();
    const o = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.02' });
    ex.submit(o);
    // written synchronously inside submit(): counted as sent before any I/O turn
    expect(ex.orderEntry!.counts.sent).toBe(1);
    expect(ex.orderEntry!.inFlight).toBe(1);
    await waitUntil(() => of(reports, o.clientOrderId, 'ack').length === 1, 'the ack', W);
    const a = of(reports, o.clientOrderId, 'ack')[0]!;
    const venueOrder = [...fake!.orders.values()].find((x) => x.clientOrderId === o.clientOrderId)!;
    expect(a.venueOrderId).toBe(String(venueOrder.orderId));
    expect(venueOrder).toMatchObject({ price: '64000.50000000', origQty: '0.02000000', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC' });
    expect(fake!.wsApi.wsOrderRequests).toBe(1);
    expect(restPosts(fake!)).toBe(0);
    expect(ex.orderPaths).toMatchObject({ ws: 1, rest: 0 });
    expect(ex.medianRequestNs()).toBeGreaterThan(0);
  });

  it('sends each order type with the parameters Binance expects: post-only as LIMIT_MAKER, market without price, its fill learned with the real fee', async () => {
    const { ex, i, reports } = await venue();
    const maker = conformanceOrder(i, { side: 'sell', price: '66000', qty: '0.01' }, { tif: 'POST_ONLY' });
    ex.submit(maker);
    const market = conformanceOrder(i, { side: 'buy', price: '0', qty: '0.01' }, { type: 'market', price: undefined });
    ex.submit(market);
    await waitUntil(() => of(reports, maker.clientOrderId, 'ack').length === 1 && of(reports, market.clientOrderId, 'fill').length === 1, 'both answered', W);
    const byCid = (cid: string) => [...fake!.orders.values()].find((x) => x.clientOrderId === cid)!;
    expect(byCid(maker.clientOrderId)).toMatchObject({ type: 'LIMIT_MAKER', side: 'SELL', price: '66000.00000000' });
    expect(byCid(market.clientOrderId)).toMatchObject({ type: 'MARKET', side: 'BUY', status: 'FILLED' });
    const fill = of(reports, market.clientOrderId, 'fill')[0]!;
    expect(fill).toMatchObject({ lastQty: 1000, cumQty: 1000, leavesQty: 0, liquidity: 'taker' });
    expect(fill.feeAtoms).toBeGreaterThan(0n);
    expect(ex.orderPaths).toMatchObject({ ws: 2, rest: 0 });
  });

  it('drops malformed frames and answers to no request of ours, counted, without a report or a crash', async () => {
    const { ex, i, reports } = await venue();
    for (const s of fake!.wsApi.sessions) {
      s.ws.send('not json {');
      s.ws.send('null');
      s.ws.send(JSON.stringify({ id: 424242, status: 200, result: { orderId: 1, status: 'NEW' } }));
      s.ws.send(JSON.stringify({ id: 'x', status: 200 }));
    }
    await waitUntil(() => ex.orderEntry!.counts.malformed + ex.orderEntry!.counts.unmatched >= 4, 'the frames read', W);
    expect(ex.orderEntry!.counts).toMatchObject({ malformed: 3, unmatched: 1 });
    expect(reports).toEqual([]);
    const o = await ack(ex, i, reports);
    expect(of(reports, o.clientOrderId)[0]).toMatchObject({ kind: 'ack' });
  });

  it('an error answer whose msg is not a string is reported rejected with its code; nothing escapes the socket handler', async () => {
    const { ex, i, reports } = await venue();
    process.on('uncaughtException', onUncaught);
    fake!.wsApi.answerNextOrder = { status: 400, error: { code: -2010, msg: 12345 } };
    const o = await ack(ex, i, reports);
    expect(uncaught).toEqual([]);
    expect(of(reports, o.clientOrderId)).toHaveLength(1);
    expect(of(reports, o.clientOrderId)[0]).toMatchObject({ kind: 'rejected', rejectReason: 'INVALID_ORDER' });
    expect(of(reports, o.clientOrderId)[0]!.text).toMatch(/-2010: 12345/);
  });

  it('rateLimits entries that are not objects are left out and counted; the answer still acks the order', async () => {
    const { ex, i, reports } = await venue();
    process.on('uncaughtException', onUncaught);
    fake!.wsApi.answerNextOrder = {
      status: 200, result: { symbol: 'BTCUSDT', orderId: 777, clientOrderId: 'x', executedQty: '0.00000000', status: 'NEW', fills: [] },
      rateLimits: [null, 7, { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100, count: 1 }],
    };
    const o = await ack(ex, i, reports);
    expect(uncaught).toEqual([]);
    expect(of(reports, o.clientOrderId)).toEqual([expect.objectContaining({ kind: 'ack', venueOrderId: '777' })]);
    expect(ex.orderEntry!.counts).toMatchObject({ answered: 1, malformed: 1, lost: 0 });
    // acked from the answer itself, not from a query after it was given up on
    expect(fake!.requests.some((r) => r.method === 'GET' && r.path === '/api/v3/order')).toBe(false);
  });

  it("an answer the caller's handlers throw on is counted and handed over as lost (asked for), not thrown out of the socket handler", async () => {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    process.on('uncaughtException', onUncaught);
    const timers = new TimerSet();
    const lost: string[] = [];
    const entry = new BinanceWsOrderEntry({
      url: `ws://127.0.0.1:${fake.port}/ws-api/v3`, apiKey: new Secret(KEY), apiSecret: new Secret(SECRET), recvWindowMs: 5000, now: () => Date.now(), timers, responseTimeoutMs: 600_000,
      onResponse: () => {
        throw new TypeError('a bug reading the answer');
      },
      onRateLimits: () => {
        throw new TypeError('a bug reading the rate limits');
      },
      onLost: (_req, reason) => lost.push(reason),
    });
    stops.push(async () => {
      await entry.close();
      timers.close();
    });
    await entry.start();
    const r = entry.place({ symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '0.01', price: '64000.5', newClientOrderId: 'handler-throws-1' });
    expect(typeof r).toBe('object');
    await waitUntil(() => lost.length > 0 || uncaught.length > 0, 'the answer handled', W);
    expect(uncaught).toEqual([]);
    expect(lost).toEqual(['its answer could not be read']);
    expect(entry.counts).toMatchObject({ sent: 1, answered: 1, lost: 1, malformed: 2 });
    expect(entry.inFlight).toBe(0);
  });

  it('cancels on the WebSocket API', async () => {
    const { ex, i, reports } = await venue();
    const o = await ack(ex, i, reports);
    const venueOrderId = of(reports, o.clientOrderId, 'ack')[0]!.venueOrderId;
    ex.cancel({ ...o, venueOrderId });
    await waitUntil(() => of(reports, o.clientOrderId, 'cancelled').length === 1, 'the cancel', W);
    expect([...fake!.orders.values()].find((x) => x.clientOrderId === o.clientOrderId)!.status).toBe('CANCELED');
    expect(restDeletes(fake!)).toBe(0);
    expect(ex.orderPaths).toMatchObject({ wsCancels: 1, restCancels: 0 });
  });

  it('a refused cancel is reported with the venue code (-2011) and changes nothing else', async () => {
    const { ex, i, reports } = await venue();
    const o = await ack(ex, i, reports);
    const venueOrderId = of(reports, o.clientOrderId, 'ack')[0]!.venueOrderId;
    ex.cancel({ ...o, venueOrderId });
    await waitUntil(() => of(reports, o.clientOrderId, 'cancelled').length === 1, 'the cancel', W);
    ex.cancel({ ...o, venueOrderId });
    await waitUntil(() => of(reports, o.clientOrderId, 'rejected').length === 1, 'the refusal', W);
    expect(of(reports, o.clientOrderId, 'rejected')[0]).toMatchObject({ rejectReason: 'UNKNOWN_ORDER' });
    expect(of(reports, o.clientOrderId, 'rejected')[0]!.text).toMatch(/-2011/);
    expect(of(reports, o.clientOrderId, 'cancelled')).toHaveLength(1);
    expect(restDeletes(fake!)).toBe(0);
  });

  it('reports a venue reject with its code (-2010 insufficient balance)', async () => {
    const { ex, i, reports } = await venue();
    fake!.failNextOrder('balance');
    const o = await ack(ex, i, reports);
    const r = of(reports, o.clientOrderId);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'rejected', rejectReason: 'INSUFFICIENT_BALANCE' });
    expect(r[0]!.text).toMatch(/-2010/);
    expect(fake!.wsApi.wsOrderRequests).toBe(1);
  });

  it('a wrong secret is refused by the signature check (-1022 AUTH_FAILED); neither secret nor signature is logged', async () => {
    const cap = capture();
    const wrong = 'wrong-secret-DO-NOT-LOG-9090';
    const { ex, i, reports } = await venue({ secret: wrong, logger: cap.logger });
    const o = await ack(ex, i, reports);
    expect(of(reports, o.clientOrderId)[0]).toMatchObject({ kind: 'rejected', rejectReason: 'AUTH_FAILED' });
    expect(of(reports, o.clientOrderId)[0]!.text).toMatch(/-1022/);
    expect(ex.orderPaths.ws).toBe(1);
    expect(fake!.orders.size).toBe(0);
    const all = cap.lines.join('') + JSON.stringify(reports, (_k, x) => (typeof x === 'bigint' ? String(x) : x));
    expect(all).not.toContain(wrong);
    expect(all).not.toContain(SECRET);
    expect(all).not.toMatch(/[0-9a-f]{64}/);
  });

  it('signs with an Ed25519 key (PKCS#8 PEM as api_secret), verified by the venue with the public key', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    // REST (exchangeInfo) needs no signature here; the order goes on the WebSocket API only
    // the user data stream beside it subscribes with the same key
    const { ex, i, reports } = await venue({ secret: pem, fake: { ed25519PublicKey: pub }, options: { fills: 'stream' } });
    expect(ex.orderEntry!.keyKind).toBe('ed25519');
    await waitUntil(() => ex.userStream?.up === true, 'stream subscribed with the Ed25519 key', W);
    const o = await ack(ex, i, reports);
    expect(of(reports, o.clientOrderId)[0]).toMatchObject({ kind: 'ack' });
    // a different Ed25519 key is refused by the same check
    await fake!.close();
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET, ed25519PublicKey: other });
    const second = await venue({ secret: pem });
    const o2 = await ack(second.ex, second.i, second.reports);
    expect(of(second.reports, o2.clientOrderId)[0]).toMatchObject({ kind: 'rejected', rejectReason: 'AUTH_FAILED' });
  });

  it('an order in flight when the connection drops is resolved by query (by client id), never sent twice; the connection comes back', async () => {
    const { ex, i, reports } = await venue();
    fake!.wsApi.swallowOrderResponses(1); // the venue executes it, its answer never leaves
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.01' });
    ex.submit(o);
    await waitUntil(() => fake!.wsApi.orderRequests.includes(o.clientOrderId), 'the request at the venue', W);
    expect(ex.orderEntry!.inFlight).toBe(1);
    fake!.wsApi.dropSessions();
    await waitUntil(() => of(reports, o.clientOrderId, 'ack').length === 1, 'an ack learned by query', W);
    expect(of(reports, o.clientOrderId)).toHaveLength(1);
    expect(fake!.wsApi.orderRequests.filter((c) => c === o.clientOrderId)).toHaveLength(1);
    expect(restPosts(fake!)).toBe(0);
    expect(fake!.requests.some((r) => r.method === 'GET' && r.path === '/api/v3/order')).toBe(true);
    expect([...fake!.orders.values()].filter((x) => x.clientOrderId === o.clientOrderId)).toHaveLength(1);
    // reconnected: the next order goes on the WebSocket API again
    await waitUntil(() => ex.orderEntry!.ready, 'reconnected', W);
    const o2 = await ack(ex, i, reports);
    expect(of(reports, o2.clientOrderId)[0]).toMatchObject({ kind: 'ack' });
    expect(ex.orderPaths).toMatchObject({ ws: 2, rest: 0 });
  });

  it('an order lost with the connection (never reached the venue) is reported rejected only after its recvWindow, never re-sent', async () => {
    const clock = new SteppedClock();
    const { ex, i, reports } = await venue({ clock, options: { recv_window_ms: 5000 } });
    fake!.wsApi.loseOrderRequests(1); // the venue drops the connection before executing it
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.01' });
    ex.submit(o);
    await waitUntil(() => fake!.requests.some((r) => r.method === 'GET' && r.path === '/api/v3/order'), 'a query by client id', W);
    expect(of(reports, o.clientOrderId)).toEqual([]); // inside the window nothing is concluded
    clock.ahead = 7_001;
    await waitUntil(() => of(reports, o.clientOrderId).length > 0, 'a conclusion', W);
    expect(of(reports, o.clientOrderId)[0]).toMatchObject({ kind: 'rejected', rejectReason: 'VENUE_ERROR' });
    expect(of(reports, o.clientOrderId)[0]!.text).toMatch(/never reached the venue/);
    expect(fake!.orders.size).toBe(0);
    expect(restPosts(fake!)).toBe(0);
  });

  it('an unanswered request is given up after order_entry_timeout_ms on the injected clock and resolved by query', async () => {
    const clock = new SteppedClock();
    const { ex, i, reports } = await venue({ clock, options: { order_entry_timeout_ms: 2000 } });
    fake!.wsApi.swallowOrderResponses(1);
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.01' });
    ex.submit(o);
    await waitUntil(() => fake!.wsApi.orderRequests.includes(o.clientOrderId), 'the request at the venue', W);
    expect(ex.orderEntry!.inFlight).toBe(1);
    clock.ahead = 2_500;
    await waitUntil(() => of(reports, o.clientOrderId, 'ack').length === 1, 'an ack learned by query', W);
    expect(ex.orderEntry!.counts.lost).toBe(1);
    expect(fake!.wsApi.orderRequests.filter((c) => c === o.clientOrderId)).toHaveLength(1);
    expect(restPosts(fake!)).toBe(0);
  });

  it('falls back to REST while the WebSocket API is down, and returns to it when it is back', async () => {
    const { ex, i, reports } = await venue();
    fake!.wsApi.refuse = true;
    fake!.wsApi.dropSessions();
    await waitUntil(() => !ex.orderEntry!.ready, 'order entry down', W);
    const o = await ack(ex, i, reports);
    expect(of(reports, o.clientOrderId)[0]).toMatchObject({ kind: 'ack' });
    expect(restPosts(fake!)).toBe(1);
    expect(fake!.wsApi.wsOrderRequests).toBe(0);
    ex.cancel({ ...o, venueOrderId: of(reports, o.clientOrderId, 'ack')[0]!.venueOrderId });
    await waitUntil(() => of(reports, o.clientOrderId, 'cancelled').length === 1, 'the REST cancel', W);
    expect(restDeletes(fake!)).toBe(1);
    fake!.wsApi.refuse = false;
    await waitUntil(() => ex.orderEntry!.ready, 'order entry back', W);
    const o2 = await ack(ex, i, reports);
    expect(of(reports, o2.clientOrderId)[0]).toMatchObject({ kind: 'ack' });
    expect(ex.orderPaths).toMatchObject({ ws: 1, rest: 1 });
    expect(restPosts(fake!)).toBe(1);
  });

  it('fills of an order placed on the WebSocket API come from the user data stream beside it, once each', async () => {
    const { ex, i, reports } = await venue({ options: { fills: 'stream' } });
    await waitUntil(() => ex.userStream?.up === true, 'stream subscribed', W);
    const o = await ack(ex, i, reports);
    const id = Number(of(reports, o.clientOrderId, 'ack')[0]!.venueOrderId);
    fake!.fill(id, '0.005', true);
    fake!.fill(id, '0.015', false);
    await waitUntil(() => of(reports, o.clientOrderId, 'fill').length === 2, 'two fills', W);
    expect(of(reports, o.clientOrderId, 'fill').map((f) => [f.cumQty, f.liquidity])).toEqual([[500, 'maker'], [2000, 'taker']]);
    expect(of(reports, o.clientOrderId, 'ack')).toHaveLength(1);
    expect(ex.fillSources.stream).toBe(2);
    expect(ex.orderPaths.ws).toBe(1);
  });

  it('a 429 whose retryAfter is not a time still holds orders back for a second: the next order waits its turn on REST', async () => {
    const { ex, i, reports } = await venue();
    await ack(ex, i, reports, '64000');
    // no Binance code to map: only the HTTP status says "back off"
    fake!.wsApi.answerNextOrder = { status: 429, error: { msg: 'Too many requests.', data: { retryAfter: 'soon' } } };
    const o2 = conformanceOrder(i, { side: 'buy', price: '64000.01', qty: '0.01' });
    ex.submit(o2);
    await waitUntil(() => of(reports, o2.clientOrderId, 'rejected').length === 1, 'the refusal');
    expect(of(reports, o2.clientOrderId, 'rejected')[0]).toMatchObject({ rejects: 'order' });
    const paths = { ...ex.orderPaths };
    ex.submit(conformanceOrder(i, { side: 'buy', price: '64000.02', qty: '0.01' }));
    // not written on the WebSocket API: the REST path took it, to wait out the back-off there
    expect(ex.orderPaths).toMatchObject({ ws: paths.ws, rest: paths.rest + 1 });
  });

  it("honours the venue's ORDERS counter from the answers: a full window sends nothing more on either path", async () => {
    const { ex, i, reports } = await venue({ fake: { orderLimit: { limit: 2, intervalMs: 10_000 } }, options: { orders_per_10s: 100 } });
    await ack(ex, i, reports, '64000');
    await ack(ex, i, reports, '64000.01');
    expect(fake!.wsApi.wsOrderRequests).toBe(2);
    const o3 = conformanceOrder(i, { side: 'buy', price: '64000.02', qty: '0.01' });
    ex.submit(o3);
    expect(ex.orderEntry!.counts.sent).toBe(2); // not written: our own limit (100) had room, the venue's counter (2 of 2) had not
    // give any wrongly sent request ample time to arrive
    await new Promise((r) => setTimeout(r, 300));
    expect(fake!.wsApi.wsOrderRequests).toBe(2);
    expect(restPosts(fake!)).toBe(0);
  });
});

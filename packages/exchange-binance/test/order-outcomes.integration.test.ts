/**
 * What the execution client makes of venue answers and events that say less, or something else,
 * than what happened: a FILLED status without the fills, a status 200 without a result, a "does
 * not exist" answered late, a fill streamed while reconciliation's read of the order is on the
 * wire, an order left at a price of an older tick (and its fill), a self-trade (one trade id on two
 * orders of the account), an order amended down outside this process (also under a new client
 * id), an STP DECREMENT match that leaves the order working, an order answer without its id in
 * polling mode, a -1007 answer (the matching engine may still take the order), one trade id
 * named at two quantities, a FULL answer's fill time. Also the order path's turn under the order limit. Against the local fake venue (REST + WebSocket API on 127.0.0.1).
 */
import { Writable } from 'node:stream';
import { qtyToLots, type Clock, type ExecutionReport } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { createLogger } from '@cwts/core/observability';
import { conformanceOrder, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createBinanceVenue } from '../src/plugin.js';
import { FakeBinance } from './fake-binance.js';
import { SteppedClock } from './stepped-clock.js';

const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real-ws';
const W = 15_000;

/** A clock that moves only when told: time the test does not step does not pass. */
class ManualClock implements Clock {
  at = Date.now();
  now(): number {
    return this.at;
  }
  monoNs(): bigint {
    return process.hrtime.bigint();
  }
}

/** A logger whose lines go to `lines` (JSON text), or nowhere. */
function logger(lines?: string[]) {
  const dest = new Writable({
    write(c, _e, cb) {
      lines?.push(String(c));
      cb();
    },
  });
  return createLogger({ level: 'debug', destination: dest as never, pretty: false });
}

describe('Binance order outcomes', () => {
  let fake: FakeBinance | undefined;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await fake?.close();
    fake = undefined;
  });

  async function venue(clock: Clock, options: Record<string, unknown> = {}, prepare?: (f: FakeBinance) => void, logLines?: string[]) {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    prepare?.(fake);
    const v = createBinanceVenue(
      {
        api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET),
        options: { fills: 'polling', poll_interval_ms: 600_000, reconnect_initial_ms: 20, reconnect_max_ms: 100, ...options },
      },
      { exchange: 'binance', clock, logger: logger(logLines) },
    );
    const [i] = await v.marketData.loadInstruments(['BTCUSDT']);
    const reports: ExecutionReport[] = [];
    await v.execution.start((r) => reports.push(r));
    stops.push(() => v.execution.stop());
    if (options.order_entry !== 'rest') await waitUntil(() => v.execution.orderEntry?.ready === true, 'order entry connected', W);
    if (options.fills === 'stream') await waitUntil(() => v.execution.userStream?.up === true, 'user data stream up', W);
    return { ex: v.execution, i: i!, reports };
  }

  it('an order.place answer with status 200 but no result (the venue took the order) is not reported rejected: the order is asked for', async () => {
    const { ex, i, reports } = await venue(new SteppedClock());
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.0001' });
    // the venue took the order (it rests there under our client id), but its answer carries no result object
    fake!.restingOrder(4242, o.clientOrderId, Date.now(), '0.00010');
    fake!.wsApi.answerNextOrder = { status: 200, result: null, rateLimits: [] };
    ex.submit(o);
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId), 'a report', W);
    const mine = reports.filter((r) => r.clientOrderId === o.clientOrderId);
    // status 200 says the venue executed the request: never shown as a refusal
    expect(mine.filter((r) => r.kind === 'rejected')).toEqual([]);
    expect(mine[0]).toMatchObject({ kind: 'ack', venueOrderId: '4242' });
  });

  it('an order.cancel answer with status 200 but no result (the venue cancelled) is not reported refused: the order is read and its cancel reported', async () => {
    const { ex, i, reports } = await venue(new SteppedClock());
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.0001' });
    ex.submit(o);
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'ack'), 'the ack', W);
    const venueOrderId = reports.find((r) => r.kind === 'ack')!.venueOrderId!;
    fake!.wsApi.answerNextCancel = { status: 200, result: null, rateLimits: [] };
    ex.cancel({ ...o, venueOrderId, status: 'pending_cancel' });
    expect(ex.orderPaths.wsCancels).toBe(1);
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && (r.kind === 'cancelled' || r.kind === 'rejected')), 'the cancel\'s outcome', W);
    expect(reports.filter((r) => r.clientOrderId === o.clientOrderId).map((r) => r.kind)).toEqual(['ack', 'cancelled']);
  });

  it('"does not exist" is final only for a query sent after recvWindow (+1 s): a query sent inside it and answered after it does not reject the order', async () => {
    const clock = new ManualClock();
    const { ex, i, reports } = await venue(clock, { recv_window_ms: 5000 });
    const cc = (ex as unknown as { ccxt: { privateGetOrder: (p: Record<string, unknown>) => Promise<unknown> } }).ccxt;
    const orig = cc.privateGetOrder.bind(cc);
    let slow = false;
    let queries = 0;
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.0001' });
    const sentAt = clock.now();
    cc.privateGetOrder = async (p) => {
      queries++;
      if (!slow) return orig(p);
      slow = false;
      try {
        return await orig(p); // read at the venue now, inside the request's window: not there yet
      } finally {
        // the order (held up in the same slow network) lands at the venue after the query read
        // it, and the query's answer comes back 1.5 s later, past recvWindow + 1 s
        fake!.restingOrder(4343, o.clientOrderId, Date.now(), '0.00010');
        clock.at = sentAt + 6500;
      }
    };
    fake!.wsApi.loseOrderRequests(1); // the connection drops with the order request: outcome unknown
    ex.submit(o);
    await waitUntil(() => queries >= 1, 'the first query by client id', W);
    // 5 s after the submit (inside recvWindow + 1 s = 6 s), the next query goes out
    clock.at = sentAt + 5000;
    slow = true;
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId), 'a conclusion', W);
    const mine = reports.filter((r) => r.clientOrderId === o.clientOrderId);
    expect(mine.filter((r) => r.kind === 'rejected')).toEqual([]);
    expect(mine[0]).toMatchObject({ kind: 'ack', venueOrderId: '4343' });
  });

  it('an order waiting its turn for the order limit (REST path) is not overtaken by an order submitted after it (WebSocket path)', async () => {
    const clock = new SteppedClock();
    const { ex, i } = await venue(clock, { orders_per_10s: 1, order_limit_interval_ms: 1000 });
    const first = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.0001' });
    const a = conformanceOrder(i, { side: 'buy', price: '64000.01', qty: '0.0001' });
    const b = conformanceOrder(i, { side: 'buy', price: '64000.02', qty: '0.0001' });
    ex.submit(first); // takes the only slot of the window
    ex.submit(a); // must wait for the window: queued on the REST path
    expect(ex.orderPaths).toMatchObject({ ws: 1, rest: 1 });
    await new Promise((r) => setImmediate(r)); // a is now waiting in the limiter
    clock.ahead += 1001; // the window has rolled over: one slot is free, and a is first in line for it
    ex.submit(b);
    expect(ex.orderPaths).toMatchObject({ ws: 1, rest: 2 }); // b queues behind a
    await waitUntil(() => fake!.wsApi.orderRequests.includes(a.clientOrderId) && fake!.wsApi.orderRequests.includes(b.clientOrderId), 'both orders at the venue', W);
    const at = (cid: string) => fake!.wsApi.orderRequests.indexOf(cid);
    expect(at(a.clientOrderId)).toBeLessThan(at(b.clientOrderId));
  });

  it('openOrders() still lists the account when one working order rests at a price of an older, finer tick: that one at its price rounded toward crossing', async () => {
    const { ex } = await venue(new SteppedClock(), { order_entry: 'rest' }, (f) => f.tickSizes.set('BTCUSDT', '0.10000000')); // the venue coarsened the tick
    fake!.restingOrder(5001, 'cw-7', Date.now(), '0.00010'); // 64000.00: on both grids
    fake!.restingOrder(5002, 'cw-8', Date.now(), '0.00010').price = '64000.05000000'; // a buy placed under the 0.01 tick
    const sell = fake!.restingOrder(5003, 'cw-9', Date.now(), '0.00010');
    sell.price = '64000.05000000';
    sell.side = 'SELL';
    const listed = await ex.openOrders();
    const byId = new Map(listed.map((o) => [o.clientOrderId, o]));
    expect([...byId.keys()].sort()).toEqual(['cw-7', 'cw-8', 'cw-9']);
    expect(byId.get('cw-7')).toMatchObject({ price: 640_000 });
    expect(byId.get('cw-7')!.text).toBeUndefined();
    // ticks of 0.1: a buy's 64000.05 is held at 64000.1 and a sell's at 64000.0, the side on which
    // the self-trade check refuses rather than misses
    expect(byId.get('cw-8')).toMatchObject({ side: 'buy', price: 640_001 });
    expect(byId.get('cw-8')!.text).toMatch(/64000\.05.*off the 0\.1 tick grid/);
    expect(byId.get('cw-9')).toMatchObject({ side: 'sell', price: 640_000 });
  });

  it('openOrders() leaves out (and counts) an order whose quantity is not on the lot grid, listing the others', async () => {
    const { ex } = await venue(new SteppedClock(), { order_entry: 'rest' });
    fake!.restingOrder(5001, 'cw-7', Date.now(), '0.00010');
    fake!.restingOrder(5002, 'cw-8', Date.now(), '0.000105'); // finer than the 0.00001 lot
    expect((await ex.openOrders()).map((o) => o.clientOrderId)).toEqual(['cw-7']);
    expect(new Map(ex.inputRejections()).get('order_read')).toBe(1);
  });

  it.each(['ws', 'rest'] as const)('an answer (order entry %s) with status FILLED whose executed quantity does not cover the order does not end it: its fill is read and reported', async (entry) => {
    const { ex, i, reports } = await venue(new SteppedClock(), { poll_interval_ms: 50, order_entry: entry });
    // the venue fills the market order; its answer says FILLED but lists neither the fill nor an executed quantity
    fake!.editNextOrderAnswer = (body) => {
      body.executedQty = '0.00000000';
      body.fills = [];
    };
    const o = conformanceOrder(i, { side: 'buy', price: '65000', qty: '0.02' }, { type: 'market', price: undefined });
    ex.submit(o);
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'fill'), 'the fill', W);
    const trade = fake!.wsApi.trades.at(-1)!;
    expect(reports.filter((r) => r.clientOrderId === o.clientOrderId).map((r) => [r.kind, r.lastQty, r.tradeId])).toEqual([['ack', 0, undefined], ['fill', 2000, String(trade.id)]]);
  });

  it('a TRADE report with X = FILLED whose z is below the order quantity does not end the order: its later fills are still reported', async () => {
    const { ex, i, reports } = await venue(new SteppedClock(), { fills: 'stream', poll_interval_ms: 50, audit_interval_ms: 200 });
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.02' });
    ex.submit(o);
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'ack'), 'the ack', W);
    const id = Number(reports.find((r) => r.kind === 'ack')!.venueOrderId);
    fake!.wsApi.editNextEvent = (ev) => (ev.X = 'FILLED'); // a broken report: 0.005 of 0.02 filled, status FILLED
    fake!.fill(id, '0.005');
    await waitUntil(() => reports.filter((r) => r.kind === 'fill').length === 1, 'the first fill', W);
    fake!.fill(id, '0.015');
    await waitUntil(() => reports.filter((r) => r.kind === 'fill').length === 2, 'the second fill', W);
    expect(reports.filter((r) => r.kind === 'fill').map((f) => [f.lastQty, f.cumQty])).toEqual([[500, 500], [1500, 2000]]);
  });

  it("a fill streamed while queryOrder's read is on the wire is counted in the order it follows: the order's later cancel is reported", async () => {
    const { ex, i, reports } = await venue(new SteppedClock(), { fills: 'stream', poll_interval_ms: 50 }, (f) => f.restingOrder(5001, 'cw-7', Date.now() - 60_000, '0.02000')); // working since before the restart
    const o = { ...conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.02' }), clientOrderId: 'cw-7', status: 'open' as const };
    // reconciliation asks for the journal's open order; the venue reads it (nothing filled yet) ...
    fake!.holdOrderQueries();
    const asked = ex.queryOrder(o);
    await waitUntil(() => fake!.heldOrderQueries() === 1, 'the query read at the venue', W);
    // ... and before its answer arrives the order trades; the stream reports that fill
    fake!.fill(5001, '0.005');
    await waitUntil(() => reports.some((r) => r.kind === 'fill' && r.clientOrderId === 'cw-7'), 'the streamed fill', W);
    fake!.releaseOrderQueries();
    expect(await asked).toMatchObject({ status: 'open', filledQty: 0 });
    ex.cancel({ ...o, venueOrderId: '5001', status: 'pending_cancel' });
    await waitUntil(() => reports.some((r) => r.kind === 'cancelled' && r.clientOrderId === 'cw-7'), 'the cancel', W);
    expect(reports.filter((r) => r.clientOrderId === 'cw-7').map((r) => [r.kind, r.cumQty])).toEqual([['fill', 500], ['cancelled', 500]]);
  });

  it("a self-trade (our order against another order of the account: one trade id on both) reports each order's side of it under its own order, ours once", async () => {
    const { ex, i, reports } = await venue(new SteppedClock(), { fills: 'stream' });
    const since = Date.now() - 1000;
    // another program's sell resting on the account, and our buy at its price
    const other = fake!.restingOrder(5001, 'manual-sell', Date.now());
    other.side = 'SELL';
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.0001' });
    ex.submit(o);
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'ack'), 'the ack', W);
    const ourId = Number(reports.find((r) => r.clientOrderId === o.clientOrderId && r.kind === 'ack')!.venueOrderId);
    // the match: Binance gives the maker (their sell) and the taker (our buy) one trade id
    fake!.fill(5001, '0.00010', true);
    const shared = fake!.wsApi.trades.at(-1)!.id;
    await waitUntil(() => reports.some((r) => r.clientOrderId === 'manual-sell' && r.kind === 'fill'), "the other order's fill passed on", W);
    fake!.wsApi.editNextEvent = (ev) => (ev.t = shared);
    fake!.fill(ourId, '0.00010', false);
    fake!.wsApi.trades.at(-1)!.id = shared; // myTrades lists both sides of a self-trade under its id
    // a later event on the same stream: every event before it has been read
    fake!.restingOrder(5003, 'manual-marker', Date.now());
    fake!.fill(5003, '0.00010');
    await waitUntil(() => reports.some((r) => r.clientOrderId === 'manual-marker' && r.kind === 'fill'), 'a later event', W);
    const lots = qtyToLots(i, '0.0001');
    const sides = (cid: string) => reports.filter((r) => r.clientOrderId === cid).map((r) => [r.kind, r.side, r.lastQty, r.tradeId]);
    expect(sides(o.clientOrderId)).toEqual([['ack', 'buy', 0, undefined], ['fill', 'buy', lots, String(shared)]]);
    expect(sides('manual-sell')).toEqual([['fill', 'sell', lots, String(shared)]]);
    // reconciliation's read of the account names both sides, each under its own order
    const read = (await ex.tradesSince!(['BTCUSDT'], since)).filter((t) => t.tradeId === String(shared));
    expect(read.map((t) => [t.clientOrderId, t.side, t.lastQty]).sort()).toEqual([['manual-sell', 'sell', lots], [o.clientOrderId, 'buy', lots]].sort());
  });

  it.each([
    ['the user data stream', { fills: 'stream' }],
    ['polling', { fills: 'polling', poll_interval_ms: 50 }],
  ] as const)('an order amended down outside this process (keep-priority amend) and then FILLED ends here, and the engine is told the rest will not fill (%s)', async (_how, options) => {
    const { ex, i, reports } = await venue(new SteppedClock(), options);
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.0002' });
    ex.submit(o);
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'ack'), 'the ack', W);
    const id = Number(reports.find((r) => r.kind === 'ack')!.venueOrderId);
    // amended by hand at the venue, 0.0002 -> 0.0001 (an amend can only reduce), then filled: FILLED, z = q = 0.0001
    fake!.orders.get(id)!.origQty = '0.00010';
    fake!.fill(id, '0.00010');
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'cancelled'), 'the end of the order', W);
    const half = qtyToLots(i, '0.0001');
    const mine = reports.filter((r) => r.clientOrderId === o.clientOrderId);
    expect(mine.map((r) => [r.kind, r.lastQty, r.cumQty])).toEqual([['ack', 0, 0], ['fill', half, half], ['cancelled', 0, half]]);
    expect(mine.at(-1)).toMatchObject({ leavesQty: 0, venueOrderId: String(id) });
    expect(mine.at(-1)!.text).toMatch(new RegExp(`amended at the venue .*from ${2 * half} to ${half} lots`));
  });

  it('an STP DECREMENT prevented match that leaves the order working (x = TRADE_PREVENTION, X = NEW) does not end it: its later fill is reported, and FILLED short by the prevented lots ends it', async () => {
    const { ex, i, reports } = await venue(new SteppedClock(), { fills: 'stream', poll_interval_ms: 50 });
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.0006' });
    ex.submit(o);
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'ack'), 'the ack', W);
    const id = Number(reports.find((r) => r.kind === 'ack')!.venueOrderId);
    const fo = fake!.orders.get(id)!;
    // another order of the account sells 0.0002 into ours with STP DECREMENT (stp_faq.md, Scenario
    // G): the smaller taker expires; ours stays on the book, NEW, origQty unchanged,
    // preventedQuantity 0.0002. Its report: x = TRADE_PREVENTION, X = NEW, A = B = 0.0002.
    fo.preventedQuantity = '0.00020';
    fake!.wsApi.editNextEvent = (ev) => Object.assign(ev, { x: 'TRADE_PREVENTION', X: 'NEW', A: '0.00020000', B: '0.00020000', v: 4 });
    fake!.wsApi.orderEvent(fo, 'NEW');
    // the rest fills: the venue says FILLED with 0.0004 executed of 0.0006 (0.0002 prevented)
    fake!.fill(id, '0.00040');
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'expired'), 'the end of the order', W);
    const four = qtyToLots(i, '0.0004');
    const mine = reports.filter((r) => r.clientOrderId === o.clientOrderId);
    expect(mine.map((r) => [r.kind, r.lastQty, r.cumQty])).toEqual([['ack', 0, 0], ['fill', four, four], ['expired', 0, four]]);
    expect(mine.at(-1)).toMatchObject({ leavesQty: 0, venueOrderId: String(id) });
    expect(mine.at(-1)!.text).toMatch(/self-trade prevention/);
  });

  it('an STP prevented match whose report says the order expired (X = EXPIRED_IN_MATCH) ends it as expired', async () => {
    const { ex, i, reports } = await venue(new SteppedClock(), { fills: 'stream' });
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.0002' });
    ex.submit(o);
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'ack'), 'the ack', W);
    const fo = fake!.orders.get(Number(reports.find((r) => r.kind === 'ack')!.venueOrderId))!;
    fake!.wsApi.editNextEvent = (ev) => Object.assign(ev, { x: 'TRADE_PREVENTION', X: 'EXPIRED_IN_MATCH', A: '0.00020000', B: '0.00020000', v: 5 });
    fake!.wsApi.orderEvent(fo, 'NEW');
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'expired'), 'the expiry', W);
    expect(reports.filter((r) => r.clientOrderId === o.clientOrderId).map((r) => [r.kind, r.cumQty, r.leavesQty])).toEqual([['ack', 0, qtyToLots(i, '0.0002')], ['expired', 0, 0]]);
  });

  it('an order amended outside this process with a new client order id (the venue default) keeps its events, fills and listing on the engine order', async () => {
    const { ex, i, reports } = await venue(new SteppedClock(), { fills: 'stream', poll_interval_ms: 50, audit_interval_ms: 100 });
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.0002' });
    ex.submit(o);
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'ack'), 'the ack', W);
    const id = Number(reports.find((r) => r.kind === 'ack')!.venueOrderId);
    const fo = fake!.orders.get(id)!;
    // order.amend.keepPriority by hand, newQty 0.0001, no newClientOrderId: "one will be randomly
    // generated" (rest-api.md). Same orderId, new clientOrderId; the stream says x = REPLACED.
    const renamed = 'PFaq6hIHxqFENGfdtn4J6Q';
    fo.origQty = '0.00010';
    fo.clientOrderId = renamed;
    fake!.wsApi.editNextEvent = (ev) => Object.assign(ev, { x: 'REPLACED', C: o.clientOrderId });
    fake!.wsApi.orderEvent(fo, 'NEW');
    // the account's listing names it by the new id: it is the engine's order, not one to adopt
    expect((await ex.openOrders()).map((x) => [x.clientOrderId, x.venueOrderId])).toEqual([[o.clientOrderId, String(id)]]);
    fake!.fill(id, '0.00010');
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'cancelled'), 'the end of the order', W);
    const half = qtyToLots(i, '0.0001');
    expect(reports.filter((r) => r.clientOrderId === renamed)).toEqual([]);
    expect(reports.filter((r) => r.clientOrderId === o.clientOrderId).map((r) => [r.kind, r.lastQty, r.cumQty])).toEqual([['ack', 0, 0], ['fill', half, half], ['cancelled', 0, half]]);
  });

  it('polling: an order whose answer named no order id, and whose first read failed, is read again: acked and its fill reported', async () => {
    const lines: string[] = [];
    const { ex, i, reports } = await venue(new SteppedClock(), { fills: 'polling', order_entry: 'rest', poll_interval_ms: 50, rest_timeout_ms: 500 }, undefined, lines);
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.0002' });
    // the venue takes the order, its answer lacks the order id; the read that follows times out
    fake!.editNextOrderAnswer = (b) => {
      delete b.orderId;
    };
    fake!.holdOrderQueries();
    ex.submit(o);
    await waitUntil(() => lines.some((l) => l.includes('order read failed')), 'the first read of the order failed', W);
    fake!.releaseOrderQueries();
    const placed = [...fake!.orders.values()].find((x) => x.clientOrderId === o.clientOrderId)!;
    fake!.fill(placed.orderId, '0.00020');
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'fill'), 'the fill of the order', W);
    expect(reports.filter((r) => r.clientOrderId === o.clientOrderId).map((r) => [r.kind, r.venueOrderId])).toEqual([['ack', String(placed.orderId)], ['fill', String(placed.orderId)]]);
  });

  it("after a tick-size change, a fill of an order left at its old-grid price is skipped (counted, warned with its ids) by reconciliation's reads: the account's other trades are read", async () => {
    const lines: string[] = [];
    const { ex, i } = await venue(new SteppedClock(), { order_entry: 'rest' }, (f) => f.tickSizes.set('BTCUSDT', '0.10000000'), lines);
    const now = Date.now();
    // working orders of ours: one on the new grid, one at a price of the older, finer tick, one
    // whose quantity is off the lot grid (its trade is on it)
    fake!.restingOrder(5001, 'cw-7', now - 60_000, '0.00010');
    fake!.restingOrder(5002, 'cw-8', now - 60_000, '0.00010').price = '64000.05000000';
    fake!.restingOrder(5003, 'cw-9', now - 60_000, '0.000105');
    const listed = await ex.openOrders();
    expect(listed.map((x) => x.clientOrderId).sort()).toEqual(['cw-7', 'cw-8']);
    fake!.fill(5001, '0.00010');
    fake!.fill(5002, '0.00010'); // at its own, old-grid price: 64000.05 on a 0.1 tick
    fake!.fill(5003, '0.00010');
    const offGrid = fake!.wsApi.trades.find((t) => t.orderId === 5002)!;
    // the next start's reconciliation: the journal's open order, then the account's trades
    const adopted = listed.find((x) => x.clientOrderId === 'cw-8')!;
    expect(await ex.queryOrder!(adopted)).toMatchObject({ status: 'open', filledQty: 0, fills: [] }) // as far as its readable trades book it;
    const got = await ex.tradesSince!(['BTCUSDT'], now - 120_000);
    expect(got.map((t) => [t.clientOrderId, t.lastQty]).sort()).toEqual([['cw-7', qtyToLots(i, '0.0001')], ['cw-9', qtyToLots(i, '0.0001')]]);
    expect(new Map(ex.inputRejections()).get('trade_list_off_grid')).toBe(2); // queryOrder's read and tradesSince's
    const warned = lines.map((l) => JSON.parse(l) as { level: number; msg: string; tradeId?: number; venueOrderId?: number }).filter((l) => l.tradeId === offGrid.id);
    expect(warned.length).toBe(2);
    expect(warned[0]).toMatchObject({ venueOrderId: 5002 });
    expect(warned[0]!.msg).toMatch(/off the current grid.*book it by hand/);
    // a trade that is no trade at all (a broken answer) still fails the read: nothing of it is booked
    fake!.wsApi.editTradeList = (ts) => {
      ts[0]!.commission = 'n/a';
      return false;
    };
    await expect(ex.tradesSince!(['BTCUSDT'], now - 120_000)).rejects.toThrow(/holds a trade that is not one/);
  });

  it('an order answered -1007 (after the API waited 10 s for the matching engine) is not rejected on the first "does not exist": the window runs from the answer, and the order the engine takes later is acked', async () => {
    const clock = new ManualClock();
    const { ex, i, reports } = await venue(clock, { recv_window_ms: 5000 });
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.0001' });
    const cc = (ex as unknown as { ccxt: { privateGetOrder: (p: Record<string, unknown>) => Promise<unknown> } }).ccxt;
    const orig = cc.privateGetOrder.bind(cc);
    let queries = 0;
    cc.privateGetOrder = async (p) => {
      queries++;
      try {
        return await orig(p);
      } finally {
        // the matching engine, 10+ s behind, takes the order just after the first query read the venue
        if (queries === 1) fake!.restingOrder(4444, o.clientOrderId, Date.now(), '0.00010');
      }
    };
    fake!.wsApi.answerNextOrder = { status: 408, error: { code: -1007, msg: 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.' }, rateLimits: [] };
    const sentAt = clock.now();
    ex.submit(o);
    clock.at = sentAt + 10_050; // the -1007 comes after the API's 10 s: past recvWindow + 1 s from the signing time
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId), 'a conclusion about the order', W);
    expect(reports.filter((r) => r.clientOrderId === o.clientOrderId).map((r) => r.kind)).toEqual(['ack']);
    expect(reports.find((r) => r.kind === 'ack')!.venueOrderId).toBe('4444');
  });

  it('a trade the stream booked at 1 lot that REST lists at 2 (the order FILLED) is counted, warned, and ends the order naming it, never booked twice', async () => {
    const lines: string[] = [];
    const { ex, i, reports } = await venue(new SteppedClock(), { fills: 'stream', poll_interval_ms: 50, audit_interval_ms: 200 }, undefined, lines);
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.00002' });
    ex.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack' && r.clientOrderId === o.clientOrderId), 'the ack', W);
    const id = Number(reports.find((r) => r.kind === 'ack')!.venueOrderId);
    // one trade of 2 lots at the venue; its stream event says 1 lot (l and z), still partially filled
    fake!.wsApi.editNextEvent = (ev) => {
      ev.l = '0.00001000';
      ev.z = '0.00001000';
      ev.X = 'PARTIALLY_FILLED';
    };
    fake!.fill(id, '0.00002');
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind !== 'ack' && r.kind !== 'fill'), 'the order ended', W);
    const mine = reports.filter((r) => r.clientOrderId === o.clientOrderId);
    expect(mine.map((r) => [r.kind, r.lastQty])).toEqual([['ack', 0], ['fill', 1], ['expired', 0]]);
    expect(mine[2]).toMatchObject({ cumQty: 1, leavesQty: 0 });
    expect(mine[2]!.text).toMatch(/trade \d+ booked at 1 lots, listed at 2/);
    expect(new Map(ex.inputRejections()).get('trade_qty_mismatch')).toBe(1);
    expect(lines.some((l) => /"level":50/.test(l) && /listed at 2 lots/.test(l))).toBe(true);
  });

  it.each(['ws', 'rest'] as const)("a fill read from the FULL order answer (order entry %s) carries the venue's transactTime, not the host's arrival time", async (entry) => {
    const clock = new SteppedClock();
    clock.ahead = 900; // the host's clock ahead of the venue's (Binance takes up to 1 s)
    const { ex, i, reports } = await venue(clock, { order_entry: entry });
    let transactTime = 0;
    fake!.editNextOrderAnswer = (body) => {
      const t = fake!.wsApi.trades[fake!.wsApi.trades.length - 1]!;
      transactTime = t.time;
      body.transactTime = t.time;
      body.fills = [{ price: t.price, qty: t.qty, commission: t.commission, commissionAsset: t.commissionAsset, tradeId: t.id }];
    };
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.0001' }, { type: 'market', price: undefined });
    ex.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'fill' && r.clientOrderId === o.clientOrderId), 'the fill', W);
    expect(ex.fillSources.response).toBe(1);
    expect(ex.orderPaths[entry]).toBe(1);
    expect(transactTime).toBeGreaterThan(0);
    expect(reports.find((r) => r.kind === 'fill')!.ts).toBe(transactTime);
  });
});

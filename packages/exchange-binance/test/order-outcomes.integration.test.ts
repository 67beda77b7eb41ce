/**
 * What the execution client makes of venue answers and events that say less, or something else,
 * than what happened: a FILLED status without the fills, a status 200 without a result, a "does
 * not exist" answered late, a fill streamed while reconciliation's read of the order is on the
 * wire, an order left at a price of an older tick. Also the order path's turn under the order
 * limit. Against the local fake venue (REST + WebSocket API on 127.0.0.1).
 */
import { Writable } from 'node:stream';
import { type Clock, type ExecutionReport } from '@cwts/core';
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

function logger() {
  const dest = new Writable({ write(_c, _e, cb) { cb(); } });
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

  async function venue(clock: Clock, options: Record<string, unknown> = {}, prepare?: (f: FakeBinance) => void) {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    prepare?.(fake);
    const v = createBinanceVenue(
      {
        api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET),
        options: { fills: 'polling', poll_interval_ms: 600_000, reconnect_initial_ms: 20, reconnect_max_ms: 100, ...options },
      },
      { exchange: 'binance', clock, logger: logger() },
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
});

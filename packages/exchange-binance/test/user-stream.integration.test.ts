import { Writable } from 'node:stream';
import { SystemClock, type Clock, type ExecutionReport, type Instrument } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { createLogger } from '@cwts/core/observability';
import { conformanceOrder, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createBinanceVenue, type BinanceVenue } from '../src/plugin.js';
import { BinanceExecution } from '../src/execution.js';
import type { RotationScheduler } from '../src/user-stream.js';
import { FakeBinance } from './fake-binance.js';

const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real-4242';

function capture() {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
  return { lines, logger: createLogger({ level: 'debug', destination: dest as never, pretty: false }) };
}

/** Rotation timers fired by the test, not by wall time. */
class ManualScheduler implements RotationScheduler {
  private next = 0;
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  timeout(fn: () => void, ms: number): unknown {
    const h = ++this.next;
    this.pending.set(h, { fn, ms });
    return h;
  }
  clear(h: never): void {
    this.pending.delete(h as unknown as number);
  }
  /** Fires the timers set for `ms` (all of them without an argument). */
  fire(ms?: number): void {
    for (const [h, d] of [...this.pending]) {
      if (ms !== undefined && d.ms !== ms) continue;
      this.pending.delete(h);
      d.fn();
    }
  }
}

describe('Binance user data stream on the WebSocket API (against the local server)', () => {
  let fake: FakeBinance | undefined;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await fake?.close();
    fake = undefined;
  });

  async function venue(opts: { secret?: string; options?: Record<string, unknown>; logger?: ReturnType<typeof capture>['logger']; scheduler?: RotationScheduler; clock?: Clock } = {}) {
    fake ??= await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    const v: BinanceVenue = createBinanceVenue(
      { api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(opts.secret ?? SECRET),       // orders through REST here: these tests count the user stream's sessions (order entry on the
      // WebSocket API beside the stream: ws-order-entry.integration.test.ts)
      options: { poll_interval_ms: 50, reconnect_initial_ms: 20, reconnect_max_ms: 100, order_entry: 'rest', ...opts.options } },
      { exchange: 'binance', clock: opts.clock ?? new SystemClock(), logger: opts.logger ?? capture().logger, ...(opts.scheduler ? { rotationScheduler: opts.scheduler } : {}) },
    );
    const [i] = await v.marketData.loadInstruments(['BTCUSDT']);
    const reports: ExecutionReport[] = [];
    await v.execution.start((r) => reports.push(r));
    stops.push(() => v.execution.stop());
    return { ex: v.execution, i: i!, reports };
  }

  async function placed(ex: BinanceExecution, i: Instrument, reports: ExecutionReport[], price = '64000.5', qty = '0.02') {
    const o = conformanceOrder(i, { side: 'buy', price, qty });
    ex.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack' && r.clientOrderId === o.clientOrderId), 'an ack');
    return { o, id: Number(reports.find((r) => r.kind === 'ack' && r.clientOrderId === o.clientOrderId)!.venueOrderId) };
  }
  const fills = (reports: ExecutionReport[]) => reports.filter((r) => r.kind === 'fill');
  /** The venue drops the user data stream and refuses new connections until `refuse` is cleared. */
  async function streamDown(ex: BinanceExecution): Promise<void> {
    fake!.wsApi.refuse = true;
    fake!.wsApi.dropSessions();
    await waitUntil(() => ex.userStream?.up === false, 'stream seen down');
  }

  it('delivers fills from executionReports with the real commission, commission asset and maker flag', async () => {
    // polling every 10 min: a fill seen within the test can only have come from the stream
    const { ex, i, reports } = await venue({ options: { poll_interval_ms: 600_000 } });
    await waitUntil(() => ex.userStream?.up === true, 'stream subscribed');
    const { id } = await placed(ex, i, reports);
    fake!.fill(id, '0.005', true); // maker, 0.075 % of 320.0025 USDT = 0.24000188 USDT (rounded by the venue to 8 dp)
    fake!.fill(id, '0.015', false); // taker, 0.1 % of 960.0075 USDT = 0.96000750 USDT
    await waitUntil(() => fills(reports).length === 2, 'two fills');
    const [a, b] = fills(reports) ;
    expect([a!.lastPrice, a!.lastQty, a!.cumQty, a!.liquidity, a!.feeAsset]).toEqual([6400050, 500, 500, 'maker', 'USDT']);
    expect([b!.lastPrice, b!.lastQty, b!.cumQty, b!.leavesQty, b!.liquidity]).toEqual([6400050, 1500, 2000, 0, 'taker']);
    // quote atoms are 1e-7 USDT for tick 0.01 x lot 0.00001; the venue's 8-dp commission rounds up
    expect(a!.feeAtoms).toBe(2400019n);
    expect(b!.feeAtoms).toBe(9600075n);
    expect(a!.tradeId).toBe(String(fake!.wsApi.trades[0]!.id));
    expect(ex.fillSources).toMatchObject({ stream: 2, poll: 0 });
  });

  it('values a base-asset commission at the fill price and keeps a third-asset one by name', async () => {
    const { ex, i, reports } = await venue({ options: { poll_interval_ms: 600_000 } });
    await waitUntil(() => ex.userStream?.up === true, 'stream subscribed');
    fake!.wsApi.commission = { makerRate1e6: 1000, takerRate1e6: 1000, asset: 'base' };
    const { id } = await placed(ex, i, reports, '65000', '0.01');
    fake!.fill(id, '0.004');
    await waitUntil(() => fills(reports).length === 1, 'a fill');
    // 0.1 % of 0.004 BTC = 0.000004 BTC at 65000 = 0.26 USDT = 2600000 atoms
    expect(fills(reports)[0]).toMatchObject({ feeAtoms: 2600000n, feeAsset: 'BTC' });
    fake!.wsApi.commission = { makerRate1e6: 1000, takerRate1e6: 1000, asset: 'BNB' };
    fake!.fill(id, '0.006');
    await waitUntil(() => fills(reports).length === 2, 'a second fill');
    expect(fills(reports)[1]).toMatchObject({ feeAtoms: 0n, feeAsset: 'BNB' });
    expect(fills(reports)[1]!.text).toMatch(/^commission 0\.00039000 BNB$/);
  });

  it('falls back to REST polling (with real fees) while the stream is down, then resumes on the stream', async () => {
    const { ex, i, reports } = await venue();
    await waitUntil(() => ex.userStream?.up === true, 'stream subscribed');
    const { id } = await placed(ex, i, reports);
    await streamDown(ex);
    fake!.fill(id, '0.005', true);
    await waitUntil(() => fills(reports).length === 1, 'a fill by polling');
    expect(ex.fillSources.poll).toBe(1);
    expect(fills(reports)[0]).toMatchObject({ liquidity: 'maker', feeAtoms: 2400019n, lastQty: 500 });
    fake!.wsApi.refuse = false;
    await waitUntil(() => ex.userStream?.up === true, 'stream back');
    const subs = fake!.wsApi.subscribeRequests;
    expect(subs).toBeGreaterThanOrEqual(2); // subscribed again after the reconnect
    fake!.fill(id, '0.015', false);
    await waitUntil(() => fills(reports).length === 2, 'the second fill');
    // exactly two fills, none twice, whichever source saw them first
    expect(fills(reports).map((f) => [f.lastQty, f.cumQty, f.tradeId])).toEqual([
      [500, 500, String(fake!.wsApi.trades[0]!.id)],
      [1500, 2000, String(fake!.wsApi.trades[1]!.id)],
    ]);
  });

  it('rotates the connection without a gap: the new one subscribes before the old closes, and nothing is lost or doubled', async () => {
    const scheduler = new ManualScheduler();
    const { ex, i, reports } = await venue({ options: { poll_interval_ms: 600_000, user_stream_rotation_ms: 3_600_000 }, scheduler });
    await waitUntil(() => ex.userStream?.up === true, 'stream subscribed');
    expect([...scheduler.pending.values()].map((p) => p.ms)).toEqual([3_600_000]);
    const { id } = await placed(ex, i, reports, '64000.5', '0.03');
    fake!.fill(id, '0.01');
    await waitUntil(() => fills(reports).length === 1, 'fill before rotation');
    let bothSubscribed = -1;
    fake!.wsApi.afterSubscribe = (n) => {
      if (n !== 2) return;
      // the venue now sends every event on both connections: the overlap
      bothSubscribed = fake!.wsApi.subscribedSessions();
      fake!.fill(id, '0.01');
    };
    let downs = 0;
    const stream = ex.userStream!;
    const poll = setInterval(() => { if (!stream.up) downs++; }, 1);
    scheduler.fire(3_600_000);
    await waitUntil(() => stream.rotations === 1 && stream.duplicatesDropped === 1, 'rotation done, the overlap event seen on both connections');
    expect(fills(reports)).toHaveLength(2);
    expect(fake!.wsApi.sessions.size).toBe(2); // the old one drains
    expect([...scheduler.pending.values()].map((p) => p.ms).sort()).toEqual([3_600_000, 5000].sort()); // next rotation armed, drain pending
    scheduler.fire(5000); // the drain period ends
    await waitUntil(() => fake!.wsApi.sessions.size === 1, 'old connection closed');
    clearInterval(poll);
    expect(bothSubscribed).toBe(2);
    expect(downs).toBe(0);
    fake!.fill(id, '0.01');
    await waitUntil(() => fills(reports).length === 3, 'fill after rotation');
    expect(fills(reports).map((f) => f.cumQty)).toEqual([1000, 2000, 3000]);
    expect(new Set(fills(reports).map((f) => f.tradeId)).size).toBe(3);
    expect(stream.up).toBe(true);
  });

  it('asks by client id after a submit timed out instead of assuming a rejection', async () => {
    const { ex, i, reports } = await venue({ options: { fills: 'polling', rest_timeout_ms: 1000 } });
    fake!.wsApi.swallowOrderResponses(1);
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.01' });
    ex.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack learned by query');
    expect(reports.some((r) => r.kind === 'rejected')).toBe(false);
    expect(fake!.wsApi.orderRequests).toEqual([o.clientOrderId]); // asked, never re-sent
    expect(fake!.requests.some((r) => r.method === 'GET' && r.path === '/api/v3/order')).toBe(true);
    const id = Number(reports.find((r) => r.kind === 'ack')!.venueOrderId);
    fake!.fill(id, '0.01', false);
    await waitUntil(() => fills(reports).length === 1, 'the fill of the order whose submit timed out');
    expect(fills(reports)[0]).toMatchObject({ liquidity: 'taker', cumQty: 1000, leavesQty: 0 });
  });

  it('reports an order rejected only once the venue does not know it after the recvWindow has passed', async () => {
    // the adapter's clock runs ahead when the test says so: no waiting for the window in wall time
    let ahead = 0;
    const clock = { now: () => Date.now() + ahead, monoNs: () => process.hrtime.bigint() };
    const { ex, i, reports } = await venue({ options: { fills: 'polling', recv_window_ms: 5000 }, clock });
    fake!.wsApi.loseOrderRequests(1);
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.01' });
    ex.submit(o);
    await waitUntil(() => fake!.requests.some((r) => r.method === 'GET' && r.path === '/api/v3/order'), 'a query by client id');
    expect(reports).toEqual([]); // not known yet: nothing is concluded inside the window
    ahead = 6_001 + 1000;
    await waitUntil(() => reports.length > 0, 'a conclusion');
    expect(reports[0]).toMatchObject({ kind: 'rejected', clientOrderId: o.clientOrderId, rejectReason: 'VENUE_ERROR' });
    expect(reports[0]!.text).toMatch(/never reached the venue/);
    expect(fake!.wsApi.orderRequests).toEqual([]); // never re-sent
  });

  it('answers reconciliation: order by client id with its fills, trades since a time, and the base balance as position', async () => {
    const { ex, i, reports } = await venue({ options: { poll_interval_ms: 600_000 } });
    await waitUntil(() => ex.userStream?.up === true, 'stream subscribed');
    const since = Date.now() - 1;
    const { o, id } = await placed(ex, i, reports, '64000', '0.02');
    fake!.fill(id, '0.005', true);
    fake!.fill(id, '0.005', false);
    await waitUntil(() => fills(reports).length === 2, 'fills');
    const q = await ex.queryOrder(o);
    expect(q).toMatchObject({ clientOrderId: o.clientOrderId, venueOrderId: String(id), status: 'partially_filled', filledQty: 1000 });
    expect(q!.fills.map((f) => [f.lastQty, f.liquidity, f.feeAtoms, f.tradeId])).toEqual(fills(reports).map((f) => [f.lastQty, f.liquidity, f.feeAtoms, f.tradeId]));
    // created a minute ago: past the window in which the venue may still take it, so three
    // spaced "does not exist" answers conclude it (one sent moments ago is waited for)
    expect(await ex.queryOrder({ ...o, clientOrderId: 'never-sent-1', createdTs: Date.now() - 60_000 })).toBeUndefined();
    const t = await ex.tradesSince(['BTCUSDT'], since);
    expect(t.map((r) => [r.clientOrderId, r.tradeId, r.feeAtoms])).toEqual(fills(reports).map((f) => [o.clientOrderId, f.tradeId, f.feeAtoms]));
    expect(await ex.positions(['BTCUSDT'])).toEqual([{ symbol: 'BTCUSDT', qty: 1000 }]);
    // 1,000,000 USDT - 2 x 320 - commissions 0.24 (maker 0.075 %) + 0.32 (taker 0.1 %); free + locked.
    const bal = Object.fromEntries((await ex.balances()).map((b) => [b.asset, b.total.replace(/\.?0+$/, '')]));
    expect(bal).toEqual({ USDT: '999359.44', BTC: '0.01' });
    // nothing of the above is reported a second time
    expect(fills(reports)).toHaveLength(2);
  });

  it('a poll under way when the stream comes back is followed by one more: a trade made while the stream was down is not missed', async () => {
    const { ex, i, reports } = await venue();
    await waitUntil(() => ex.userStream?.up === true, 'stream subscribed');
    const { id } = await placed(ex, i, reports);
    await streamDown(ex);
    // a poll reads the order before the trade, and its answer is slow
    fake!.holdOrderQueries();
    await waitUntil(() => fake!.heldOrderQueries() > 0, 'a poll waiting for its answer');
    fake!.fill(id, '0.005'); // nobody is subscribed: its event is lost
    fake!.wsApi.refuse = false;
    await waitUntil(() => ex.userStream?.up === true, 'stream back');
    fake!.releaseOrderQueries();
    await waitUntil(() => fills(reports).length === 1, 'the trade, by the sweep after the poll');
    expect(fills(reports)[0]).toMatchObject({ lastQty: 500, cumQty: 500, tradeId: String(fake!.wsApi.trades[0]!.id) });
    expect(ex.fillSources.poll).toBe(1);
  });

  it.each(['rest', 'ws'])("a trade the stream never delivered is read over REST before the order's end (order entry %s): the cancel's report counts it", async (entry) => {
    // polling every 10 min: only the stream's cumulative quantity can tell that a trade is missing
    const { ex, i, reports } = await venue({ options: { poll_interval_ms: 600_000, order_entry: entry } });
    await waitUntil(() => ex.userStream?.up === true, 'stream subscribed');
    const { o, id } = await placed(ex, i, reports);
    fake!.wsApi.dropEvents = 1;
    fake!.fill(id, '0.005'); // its TRADE event is lost on the way
    ex.cancel({ ...o, venueOrderId: String(id) });
    await waitUntil(() => reports.some((r) => r.kind === 'cancelled'), 'the cancel');
    const trade = fake!.wsApi.trades[0]!;
    expect(fills(reports).map((f) => [f.lastQty, f.lastPrice, f.cumQty, f.tradeId])).toEqual([[500, 6400050, 500, String(trade.id)]]);
    const end = reports.findIndex((r) => r.kind === 'cancelled');
    expect(reports.findIndex((r) => r.kind === 'fill')).toBeLessThan(end);
    expect(reports[end]).toMatchObject({ cumQty: 500, leavesQty: 0 });
    expect(reports.filter((r) => r.kind === 'cancelled')).toHaveLength(1);
    expect(ex.streamGaps).toBeGreaterThanOrEqual(1);
    expect(ex.fillSources).toMatchObject({ stream: 0, query: 1 });
  });

  it.each<[string, (ev: Record<string, unknown>) => void, string]>([
    ['a trade at price 0', (ev) => (ev.L = '0.00000000'), 'invalid_trade'],
    ['a negative trade quantity', (ev) => (ev.l = '-0.00500000'), 'invalid_trade'],
    ['a trade quantity off the grid', (ev) => (ev.l = '0.005000001'), 'invalid_trade'],
    ['a fill past the order', (ev) => (ev.z = '0.03000000'), 'overfill'],
    ['no readable client order id', (ev) => (ev.c = 42), 'shape'],
  ])('an executionReport with %s is refused and counted; its trade is booked once, at the venue\'s values, from REST', async (_what, edit, reason) => {
    const cap = capture();
    const { ex, i, reports } = await venue({ options: { poll_interval_ms: 600_000 }, logger: cap.logger });
    await waitUntil(() => ex.userStream?.up === true, 'stream subscribed');
    const { id } = await placed(ex, i, reports);
    fake!.wsApi.editNextEvent = edit;
    fake!.fill(id, '0.005');
    await waitUntil(() => fills(reports).length === 1, 'the fill, read over REST');
    expect(fills(reports)[0]).toMatchObject({ lastQty: 500, lastPrice: 6400050, cumQty: 500, feeAtoms: 2400019n, liquidity: 'maker', tradeId: String(fake!.wsApi.trades[0]!.id) });
    expect(ex.userStream!.parser.rejects.get(reason)).toBe(1);
    // what the engine scrapes into cwts_execution_input_rejected_total
    expect(new Map(ex.inputRejections())).toEqual(new Map([[`stream_${reason}`, 1]]));
    expect(ex.fillSources.stream).toBe(0);
    expect(cap.lines.join('')).toContain(`user data stream frame refused (${reason})`);
    // the stream goes on: the next trade comes from it, and nothing is reported twice
    fake!.fill(id, '0.015', false);
    await waitUntil(() => fills(reports).length === 2, 'the second fill');
    expect(fills(reports).map((f) => [f.lastQty, f.cumQty])).toEqual([[500, 500], [1500, 2000]]);
    expect(ex.fillSources.stream).toBe(1);
  });

  it("another program's order, first seen on the stream, is passed on but never read over REST by the polls", async () => {
    const { ex, i, reports } = await venue();
    await waitUntil(() => ex.userStream?.up === true, 'stream subscribed');
    const { id: ours } = await placed(ex, i, reports);
    // placed on the same account by someone else
    fake!.placeOrder(new URLSearchParams({ symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '0.01000', price: '63000.00', newClientOrderId: 'web_manual_1' }), () => undefined, () => undefined, () => undefined);
    const theirs = [...fake!.orders.values()].find((o) => o.clientOrderId === 'web_manual_1')!.orderId;
    fake!.fill(theirs, '0.00500');
    await waitUntil(() => reports.some((r) => r.clientOrderId === 'web_manual_1' && r.kind === 'fill'), 'its trade passed on');
    const asked: string[] = [];
    fake!.onHttpRequest = (method, url) => {
      if (method === 'GET' && url?.startsWith('/api/v3/order?')) asked.push(url);
    };
    await streamDown(ex);
    await waitUntil(() => asked.filter((u) => u.includes(`orderId=${ours}`)).length >= 3, 'our order polled three times');
    expect(asked.filter((u) => u.includes(`orderId=${theirs}`) || u.includes('web_manual_1'))).toEqual([]);
  });

  it('never logs the secret or a signature, also when the venue refuses the subscription', async () => {
    const cap = capture();
    const wrong = 'wrong-secret-DO-NOT-LOG-5150';
    const { ex } = await venue({ secret: wrong, logger: cap.logger, options: { poll_interval_ms: 600_000 } });
    await waitUntil(() => cap.lines.some((l) => l.includes('subscription refused')), 'the refusal logged');
    expect(ex.userStream!.up).toBe(false);
    const all = cap.lines.join('');
    expect(all).toMatch(/Signature for this request is not valid/);
    expect(all).not.toContain(wrong);
    expect(all).not.toContain(SECRET);
    expect(all).not.toMatch(/[0-9a-f]{64}/); // no HMAC-SHA256 hex
  });

  /** The venue's WebSocket API sockets, each frame it sends passed through `edit` first (undefined: the frame is lost). */
  function editVenueFrames(edit: (text: string) => string | undefined): void {
    const api = fake!.wsApi as unknown as { onConn: (ws: { send: (d: unknown, ...r: unknown[]) => void }) => void };
    const onConn = api.onConn.bind(api);
    api.onConn = (ws) => {
      const send = ws.send.bind(ws);
      ws.send = (d, ...r) => {
        const out = edit(String(d));
        if (out !== undefined) send(out, ...r);
      };
      onConn(ws);
    };
  }

  it('a lost answer to the subscription is given up after the WebSocket API answer timeout: the stream reconnects and comes up', async () => {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    let lost = 0;
    editVenueFrames((d) => {
      if (lost === 0 && /"result":\{"subscriptionId"/.test(d)) {
        lost++;
        return undefined;
      }
      return d;
    });
    const { ex } = await venue({ options: { order_entry_timeout_ms: 300 } });
    await waitUntil(() => lost === 1, 'the subscription answer lost');
    expect(ex.userStream!.up).toBe(false);
    await waitUntil(() => ex.userStream?.up === true, 'the user data stream subscribed on a new connection', 5000);
    expect(fake.wsApi.subscribeRequests).toBe(2);
  });

  it('a 418 "IP banned" answer to the subscription holds every request back until the ban ends, and the stream does not subscribe into it', async () => {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    const until = Date.now() + 120_000;
    let banned = false;
    // while banned, each subscription is answered 418 -1003 (web-socket-api.md "Rate limits")
    editVenueFrames((d) => {
      const m = /^\{"id":("uds-\d+"),"status":200,"result":\{"subscriptionId"/.exec(d);
      if (!banned || !m) return d;
      const error = { code: -1003, msg: `Way too much request weight used; IP banned until ${until}. Please use WebSocket Streams for live updates to avoid bans.`, data: { serverTime: Date.now(), retryAfter: until } };
      return JSON.stringify({ id: JSON.parse(m[1]!), status: 418, error, rateLimits: [] });
    });
    const { ex, i } = await venue({ options: { poll_interval_ms: 600_000 } });
    await waitUntil(() => ex.userStream?.up === true, 'stream subscribed');
    banned = true;
    const subscribesBefore = fake.wsApi.subscribeRequests;
    fake.wsApi.dropSessions();
    await waitUntil(() => fake!.wsApi.subscribeRequests > subscribesBefore, 'the subscription answered 418');
    await new Promise((r) => setTimeout(r, 300));
    const sentBefore = fake.newOrderRequests;
    ex.submit(conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.0001' }));
    // many reconnect backoffs (<= 100 ms here) later
    await new Promise((r) => setTimeout(r, 1500));
    expect(fake.newOrderRequests - sentBefore).toBe(0);
    expect(fake.wsApi.subscribeRequests - subscribesBefore).toBe(1);
    expect(ex.userStream!.up).toBe(false);
  });
});

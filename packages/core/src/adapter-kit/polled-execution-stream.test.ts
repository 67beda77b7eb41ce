/**
 * PolledExecutionClient's push path: a venue's private order stream beside the polling, with a
 * scripted venue and a scripted stream (no network). The poll timer never fires here.
 */
import { describe, expect, it } from 'vitest';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { addDecimalStrings, type OrderRef, type VenueFill, type VenueOrderView } from './polled-execution.js';
import { MemoryStream, StubVenue, flush, order, polledClient } from './polled-execution.fixture.js';

const PI = defineInstrument({ exchange: 'v', symbol: 'BTC-USD', base: 'BTC', quote: 'USD', tickSize: '0.01', lotSize: '0.001' });

/** A venue in memory: one order book of our orders, their trades, and a counter per call. */
class ScriptedVenue extends StubVenue {
  views = new Map<string, VenueOrderView>();
  fills: VenueFill[] = [];
  calls = { fetchOrder: 0, fetchFills: 0 };
  /** Trades the fills endpoint does not list yet (its list lags the order state). */
  hiddenFills = 0;
  override async place(o: Readonly<Order>): Promise<string> {
    const id = `V${o.clientOrderId}`;
    this.views.set(id, { venueOrderId: id, clientOrderId: o.clientOrderId, symbol: o.symbol, side: o.side, type: 'limit', price: '100', qty: '0.010', filledQty: '0', state: 'open' });
    return id;
  }
  override async fetchOrder(ref: OrderRef): Promise<VenueOrderView | undefined> {
    this.calls.fetchOrder++;
    return ref.venueOrderId ? { ...this.views.get(ref.venueOrderId)! } : undefined;
  }
  override async fetchFills(v: VenueOrderView): Promise<VenueFill[]> {
    this.calls.fetchFills++;
    const all = this.fills.filter((f) => f.venueOrderId === v.venueOrderId);
    return all.slice(0, all.length - this.hiddenFills);
  }
  /** A trade of order `id`: the order's filled size grows. */
  trade(id: string, tradeId: string, qty: string, state: VenueOrderView['state'] = 'open'): VenueFill {
    const v = this.views.get(id)!;
    const f: VenueFill = { tradeId, venueOrderId: id, symbol: v.symbol, price: '100.00', qty, fee: '0.01', ts: this.fills.length + 1 };
    this.fills.push(f);
    v.filledQty = addDecimalStrings(v.filledQty, qty);
    v.state = state;
    return f;
  }
}

describe('PolledExecutionClient push path', () => {
  async function client() {
    const venue = new ScriptedVenue();
    const stream = new MemoryStream();
    const reports: ExecutionReport[] = [];
    // the poll timer never fires in these tests: every report comes from the push or an explicit reconcile()
    const c = polledClient(venue, { unknownOrderGraceMs: 1000, instrument: (s) => (s === PI.symbol ? PI : undefined), symbols: () => [PI.symbol], stream });
    await c.start((r) => reports.push(r));
    c.submit(order({ symbol: PI.symbol, price: 10000 }));
    await flush();
    return { c, venue, stream, reports, sink: stream.sink!, fills: () => reports.filter((r) => r.kind === 'fill') };
  }

  it('starts and stops the stream with the client', async () => {
    const { c, stream } = await client();
    expect(stream.sink).toBeDefined();
    await c.stop();
    expect(stream.stopped).toBe(true);
  });

  it('a pushed filled size above what was booked reads the order trades at once; the same push again reads nothing', async () => {
    const { venue, sink, fills } = await client();
    venue.trade('Vc1', 't1', '0.004');
    sink.order({ ...venue.views.get('Vc1')! });
    await flush();
    expect(fills().map((r) => [r.tradeId, r.lastQty, r.cumQty])).toEqual([['t1', 4, 4]]);
    expect(venue.calls).toEqual({ fetchOrder: 0, fetchFills: 1 });
    sink.order({ ...venue.views.get('Vc1')! });
    await flush();
    expect(venue.calls.fetchFills).toBe(1);
    expect(fills()).toHaveLength(1);
  });

  it('trades carried by the push (per-trade events) are booked directly, once; a view push and a poll after them book nothing', async () => {
    const { c, venue, sink, fills } = await client();
    const f = venue.trade('Vc1', 't1', '0.004');
    const e = { venueOrderId: 'Vc1', clientOrderId: 'c1', symbol: PI.symbol, state: 'open' as const, filledQty: '0.004', fill: f };
    expect(sink.execution(e)).toBe('applied');
    expect(sink.execution(e)).toBe('duplicate');
    // the same order as a running-totals view: nothing above what is booked, no read
    expect(sink.order({ ...venue.views.get('Vc1')! })).toBe('applied');
    await flush();
    expect(venue.calls.fetchFills).toBe(0);
    await c.reconcile('test');
    expect(venue.calls.fetchOrder).toBe(1);
    expect(fills().map((r) => r.tradeId)).toEqual(['t1']);
  });

  it('a pushed cancel with nothing new filled is reported at once, without a request', async () => {
    const { c, venue, sink, reports } = await client();
    venue.views.get('Vc1')!.state = 'cancelled';
    sink.order({ ...venue.views.get('Vc1')!, text: 'v: user requested' });
    await flush();
    expect(reports.at(-1)).toMatchObject({ kind: 'cancelled', clientOrderId: 'c1', leavesQty: 0, text: 'v: user requested' });
    expect(venue.calls).toEqual({ fetchOrder: 0, fetchFills: 0 });
    expect(c.workingOrders).toBe(0);
  });

  it('a final state is not applied before every counted trade is booked (the fills list lags): the next poll finishes it', async () => {
    const { c, venue, sink, fills, reports } = await client();
    venue.trade('Vc1', 't1', '0.004');
    venue.trade('Vc1', 't2', '0.006', 'filled');
    venue.hiddenFills = 1;
    sink.order({ ...venue.views.get('Vc1')! });
    await flush();
    expect(fills().map((r) => r.tradeId)).toEqual(['t1']);
    expect(c.workingOrders).toBe(1);
    venue.hiddenFills = 0;
    c.reconcile('test');
    await flush();
    expect(fills().map((r) => [r.tradeId, r.cumQty])).toEqual([['t1', 4], ['t2', 10]]);
    expect(c.workingOrders).toBe(0);
    expect(reports.filter((r) => r.kind === 'cancelled' || r.kind === 'rejected')).toEqual([]);
  });

  it('ignores pushes for orders it does not follow, and a reject before the create answer (that answer decides)', async () => {
    const { venue, sink, reports } = await client();
    const n = reports.length;
    sink.order({ venueOrderId: 'other', clientOrderId: 'someone-else', symbol: PI.symbol, side: 'buy', type: 'limit', qty: '1', filledQty: '1', state: 'filled' });
    await flush();
    expect(reports.length).toBe(n);
    expect(venue.calls).toEqual({ fetchOrder: 0, fetchFills: 0 });
  });

  it('a burst of pushes while a read is in flight costs no read each: the latest is looked at after it; every trade once, the final state last', async () => {
    const { c, venue, sink, fills, reports } = await client();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const orig = venue.fetchFills.bind(venue);
    venue.fetchFills = async (v) => {
      await gate;
      return orig(v);
    };
    venue.trade('Vc1', 't1', '0.002');
    sink.order({ ...venue.views.get('Vc1')! });
    await flush();
    venue.trade('Vc1', 't2', '0.003');
    sink.order({ ...venue.views.get('Vc1')! });
    venue.trade('Vc1', 't3', '0.005', 'filled');
    sink.order({ ...venue.views.get('Vc1')! });
    release();
    await flush();
    // the read in flight already lists all three trades: the pushes behind it need none (one read each would be 3)
    expect(venue.calls.fetchFills).toBe(1);
    expect(fills().map((r) => [r.tradeId, r.cumQty])).toEqual([['t1', 2], ['t2', 5], ['t3', 10]]);
    expect(c.workingOrders).toBe(0);
    expect(reports.at(-1)!.kind).toBe('fill');
  });

  it('a push showing the order working before the create answer is the ack; a failed answer after it is no reject', async () => {
    const venue = new ScriptedVenue();
    const stream = new MemoryStream();
    const reports: ExecutionReport[] = [];
    let answer!: (id: string | Error) => void;
    venue.place = (o) => {
      venue.views.set('Vc2', { venueOrderId: 'Vc2', clientOrderId: o.clientOrderId, symbol: o.symbol, side: o.side, type: 'limit', qty: '0.010', filledQty: '0', state: 'open' });
      return new Promise<string>((res, rej) => (answer = (x) => (typeof x === 'string' ? res(x) : rej(x))));
    };
    const c = polledClient(venue, { unknownOrderGraceMs: 1000, instrument: () => PI, symbols: () => [PI.symbol], stream });
    await c.start((r) => reports.push(r));
    c.submit(order({ symbol: PI.symbol, price: 10000, clientOrderId: 'c2' }));
    await flush();
    stream.sink!.order({ ...venue.views.get('Vc2')! });
    await flush();
    expect(reports.map((r) => [r.kind, r.venueOrderId])).toEqual([['ack', 'Vc2']]);
    answer(new Error('coinbase {"error":"INVALID_ARGUMENT"}'));
    await flush();
    expect(reports.map((r) => r.kind)).toEqual(['ack']);
    expect(c.workingOrders).toBe(1);
  });

  it('a reconcile asked for while a poll runs polls again after it', async () => {
    const { c, venue } = await client();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const orig = venue.fetchOrder.bind(venue);
    venue.fetchOrder = async (ref) => {
      await gate;
      return orig(ref);
    };
    void c.reconcile('first');
    await flush();
    let secondDone = false;
    const second = c.reconcile('second, during the first').then(() => (secondDone = true));
    await flush();
    expect(secondDone).toBe(false);
    release();
    // what the second reconcile asked for is a poll after the first: its promise waits for that one
    await second;
    expect(venue.calls.fetchOrder).toBe(2);
    expect(c.pushStats.reconciles).toBe(2);
  });
});

/**
 * An order the venue shows FILLED below its size (0.006 of 0.010): the venue will trade no more
 * of it, so the order must end with a terminal report (expired, leavesQty 0), or the engine's
 * order stays partially filled for good. A FILLED whose count lags its trades must not end short:
 * the order's trades are read first, and it ends short only if they still do not cover it. The
 * venue and its stream are in memory; polls run only when a test asks (reconcile), on a
 * ManualClock.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { defineInstrument, priceToTicks, qtyToLots } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { VenueErrorMap } from './errors.js';
import { PolledExecutionClient, type OrderUpdateSink, type OrderUpdateStream, type PolledOrderDriver, type VenueFill, type VenueOrderView } from './polled-execution.js';

const errors = new VenueErrorMap('v', []);
const I = defineInstrument({ exchange: 'v', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', tickSize: '0.1', lotSize: '0.001' });

class MemoryVenue implements PolledOrderDriver {
  view: VenueOrderView = view();
  fills: VenueFill[] = [];
  calls = { fetchOrder: 0, fetchFills: 0 };
  async connect(): Promise<void> {}
  close(): void {}
  async place(): Promise<string> {
    return 'V1';
  }
  async cancel(): Promise<void> {}
  async fetchOrder(): Promise<VenueOrderView | undefined> {
    this.calls.fetchOrder++;
    return { ...this.view };
  }
  async fetchFills(): Promise<VenueFill[]> {
    this.calls.fetchFills++;
    return this.fills.map((f) => ({ ...f }));
  }
  async fetchOpenOrders(): Promise<VenueOrderView[]> {
    return [];
  }
  async fetchFillsSince(): Promise<VenueFill[]> {
    return [];
  }
  async fetchBalances() {
    return [];
  }
  mapError(err: unknown) {
    return errors.map(undefined, String((err as Error)?.message ?? err));
  }
}

class MemoryStream implements OrderUpdateStream {
  sink: OrderUpdateSink | undefined;
  start(sink: OrderUpdateSink): void {
    this.sink = sink;
  }
  stop(): void {}
}

function view(over: Partial<VenueOrderView> = {}): VenueOrderView {
  return { venueOrderId: 'V1', clientOrderId: 'c1', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: '100.0', qty: '0.010', filledQty: '0', state: 'open', ...over };
}
const fill = (tradeId: string, qty: string, over: Partial<VenueFill> = {}): VenueFill => ({ tradeId, venueOrderId: 'V1', symbol: 'BTC/USD', price: '100.0', qty, fee: '0.01', feeAsset: 'USD', ts: 1000, liquidity: 'maker', ...over });
const order = (over: Partial<Order> = {}): Order => ({
  exchange: 'v', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: priceToTicks(I, '100.0'), qty: qtyToLots(I, '0.010'), tif: 'GTC', source: 't',
  clientOrderId: 'c1', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0, ...over,
});
const flush = async () => {
  for (let k = 0; k < 20; k++) await new Promise((r) => setImmediate(r));
};

async function setup(opts: { submit?: boolean } = {}) {
  const venue = new MemoryVenue();
  const stream = new MemoryStream();
  const client = new PolledExecutionClient({
    exchange: 'v', clock: new ManualClock(1000), hasCredentials: true, driver: venue, orderLimit: { limit: 100, intervalMs: 1000 },
    // the poll timer never fires: each poll is one reconcile() a test asks for
    pollIntervalMs: 3_600_000, unknownOrderGraceMs: 10_000, instrument: (s) => (s === I.symbol ? I : undefined), symbols: () => [I.symbol], stream,
  });
  const reports: ExecutionReport[] = [];
  await client.start((r) => reports.push(r));
  if (opts.submit !== false) {
    client.submit(order());
    await flush();
  }
  const ends = () => reports.filter((r) => r.kind !== 'ack' && r.kind !== 'fill');
  const fills = () => reports.filter((r) => r.kind === 'fill').map((r) => [r.tradeId, r.cumQty, r.leavesQty]);
  return { client, venue, sink: stream.sink!, reports, ends, fills };
}

describe('PolledExecutionClient: an order the venue shows FILLED below its size', () => {
  it('a poll books the trades the venue has, then ends the order expired at what filled', async () => {
    const { client, venue, reports, ends, fills } = await setup();
    venue.view = view({ state: 'filled', filledQty: '0.006' });
    venue.fills = [fill('T1', '0.006')];
    await client.reconcile('poll');
    expect(fills()).toEqual([['T1', 6, 4]]);
    expect(ends()).toEqual([expect.objectContaining({ kind: 'expired', clientOrderId: 'c1', venueOrderId: 'V1', cumQty: 6, leavesQty: 0, text: 'v closed the order filled at 6 of 10 lots' })]);
    expect(reports.at(-1)!.kind).toBe('expired');
    expect(client.workingOrders).toBe(0);
    await client.stop();
  });

  it('a FILLED whose count lags the trade list: the trades that cover the order are read and booked, and it ends filled', async () => {
    const { client, venue, ends, fills } = await setup();
    venue.view = view({ state: 'filled', filledQty: '0.006' });
    venue.fills = [fill('T1', '0.006'), fill('T2', '0.004', { ts: 1001 })];
    await client.reconcile('poll');
    expect(fills()).toEqual([['T1', 6, 4], ['T2', 10, 0]]);
    expect(ends()).toEqual([]);
    expect(client.workingOrders).toBe(0);
    await client.stop();
  });

  it('a FILLED with nothing new counted still reads the trade list before ending short', async () => {
    const { client, venue, ends, fills } = await setup();
    venue.view = view({ filledQty: '0.006' });
    venue.fills = [fill('T1', '0.006')];
    await client.reconcile('poll');
    expect(fills()).toEqual([['T1', 6, 4]]);
    venue.view = view({ state: 'filled', filledQty: '0.006' });
    venue.fills.push(fill('T2', '0.004', { ts: 1001 }));
    await client.reconcile('poll');
    expect(fills()).toEqual([['T1', 6, 4], ['T2', 10, 0]]);
    expect(ends()).toEqual([]);
    expect(client.workingOrders).toBe(0);
    await client.stop();
  });

  it('a FILLED whose trade list lags its count waits for the trades, and never ends short', async () => {
    const { client, venue, ends, fills } = await setup();
    venue.view = view({ state: 'filled', filledQty: '0.010' });
    venue.fills = [fill('T1', '0.006')];
    await client.reconcile('poll');
    expect(fills()).toEqual([['T1', 6, 4]]);
    expect(client.workingOrders).toBe(1);
    venue.fills.push(fill('T2', '0.004', { ts: 1001 }));
    await client.reconcile('poll');
    expect(fills()).toEqual([['T1', 6, 4], ['T2', 10, 0]]);
    expect(ends()).toEqual([]);
    expect(client.workingOrders).toBe(0);
    await client.stop();
  });

  it('not ended short while a trade the venue lists is refused (it may be the rest of the order)', async () => {
    const { client, venue, ends, fills } = await setup();
    venue.view = view({ state: 'filled', filledQty: '0.006' });
    venue.fills = [fill('T1', '0.006'), fill('T2', '0.004', { ts: 1001, fee: 'n/a' })];
    await client.reconcile('poll');
    expect(fills()).toEqual([['T1', 6, 4]]);
    expect(ends()).toEqual([]);
    expect(client.workingOrders).toBe(1);
    venue.fills[1] = fill('T2', '0.004', { ts: 1001 });
    await client.reconcile('poll');
    expect(fills()).toEqual([['T1', 6, 4], ['T2', 10, 0]]);
    expect(ends()).toEqual([]);
    expect(client.workingOrders).toBe(0);
    await client.stop();
  });

  it('pushed (a running-totals view): the trades are read, the order is read over REST, and it ends expired', async () => {
    const { client, venue, sink, ends, fills } = await setup();
    venue.view = view({ state: 'filled', filledQty: '0.006' });
    venue.fills = [fill('T1', '0.006')];
    sink.order(view({ state: 'filled', filledQty: '0.006' }));
    await flush();
    expect(fills()).toEqual([['T1', 6, 4]]);
    expect(ends()).toEqual([expect.objectContaining({ kind: 'expired', cumQty: 6, leavesQty: 0 })]);
    expect(venue.calls.fetchOrder).toBe(1);
    expect(client.workingOrders).toBe(0);
    await client.stop();
  });

  it('pushed FILLED short while REST still shows the order working: not ended until REST says so', async () => {
    const { client, venue, sink, ends, fills } = await setup();
    venue.view = view({ filledQty: '0.006' });
    venue.fills = [fill('T1', '0.006')];
    sink.order(view({ state: 'filled', filledQty: '0.006' }));
    await flush();
    expect(fills()).toEqual([['T1', 6, 4]]);
    expect(ends()).toEqual([]);
    expect(client.workingOrders).toBe(1);
    venue.view = view({ state: 'filled', filledQty: '0.006' });
    await client.reconcile('poll');
    expect(ends()).toEqual([expect.objectContaining({ kind: 'expired', cumQty: 6, leavesQty: 0 })]);
    expect(client.workingOrders).toBe(0);
    await client.stop();
  });

  it('pushed per-trade events ending FILLED short: the order is read over REST and ends expired', async () => {
    const { client, venue, sink, ends, fills } = await setup();
    venue.view = view({ state: 'filled', filledQty: '0.006' });
    venue.fills = [fill('T1', '0.006')];
    sink.execution({ venueOrderId: 'V1', clientOrderId: 'c1', symbol: I.symbol, state: 'filled', filledQty: '0.006', fill: fill('T1', '0.006') });
    await flush();
    expect(fills()).toEqual([['T1', 6, 4]]);
    expect(ends()).toEqual([expect.objectContaining({ kind: 'expired', cumQty: 6, leavesQty: 0 })]);
    expect(client.workingOrders).toBe(0);
    await client.stop();
  });

  it('queryOrder (a restart): FILLED short is the order ended short, status cancelled, no longer followed', async () => {
    const { client, venue } = await setup({ submit: false });
    venue.view = view({ state: 'filled', filledQty: '0.006' });
    venue.fills = [fill('T1', '0.006')];
    const st = await client.queryOrder(order({ venueOrderId: 'V1', status: 'open' }));
    expect(st).toMatchObject({ status: 'cancelled', filledQty: 6 });
    expect(st!.fills.map((f) => [f.tradeId, f.cumQty])).toEqual([['T1', 6]]);
    expect(client.workingOrders).toBe(0);
    await client.stop();
  });

  it('queryOrder: a FILLED whose count lags the trade list is filled, with every trade', async () => {
    const { client, venue } = await setup({ submit: false });
    venue.view = view({ state: 'filled', filledQty: '0' });
    venue.fills = [fill('T1', '0.006'), fill('T2', '0.004', { ts: 1001 })];
    const st = await client.queryOrder(order({ venueOrderId: 'V1', status: 'open' }));
    expect(st).toMatchObject({ status: 'filled', filledQty: 10 });
    expect(st!.fills.map((f) => [f.tradeId, f.cumQty])).toEqual([['T1', 6], ['T2', 10]]);
    expect(client.workingOrders).toBe(0);
    await client.stop();
  });
});

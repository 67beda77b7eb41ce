/**
 * An order the venue shows FILLED below its size (0.006 of 0.010): the venue will trade no more
 * of it, so the order must end with a terminal report (expired, leavesQty 0), or the engine's
 * order stays partially filled for good. A FILLED whose count lags its trades must not end short:
 * the order's trades are read first, and it ends short only if they still do not cover it. The
 * venue and its stream are in memory; polls run only when a test asks (reconcile), on a
 * ManualClock.
 */
import { describe, expect, it } from 'vitest';
import { I, MemoryStream, MemoryVenue, fill, flush, order, startPolled, view } from './polled-execution.fixture.js';

async function setup(opts: { submit?: boolean } = {}) {
  const venue = new MemoryVenue({ view: view() });
  const stream = new MemoryStream();
  // the poll timer never fires: each poll is one reconcile() a test asks for
  const { client, reports } = await startPolled(venue, { stream });
  if (opts.submit !== false) {
    client.submit(order());
    await flush();
  }
  const ends = () => reports.filter((r) => r.kind !== 'ack' && r.kind !== 'fill');
  const fills = () => reports.filter((r) => r.kind === 'fill').map((r) => [r.tradeId, r.cumQty, r.leavesQty]);
  return { client, venue, sink: stream.sink, reports, ends, fills };
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

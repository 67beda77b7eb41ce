import { describe, expect, it } from 'vitest';
import type { ExecutionReport } from '../domain/orders.js';
import { I, MemoryStream, MemoryVenue, fill as venueFill, order, startPolled, view } from './polled-execution.fixture.js';

/**
 * Per-trade events (trade id + cumulative quantity, as Kraken's executions channel gives them)
 * pushed through OrderUpdateSink.execution into the polled client's bookkeeping. The driver is
 * in memory and the poll interval is an hour: nothing here is delivered by the poll timer; REST
 * reads happen only where the client asks for them (counted).
 */

const fill = (tradeId: string, qty: string, price = '100.0') => venueFill(tradeId, qty, { price });
const tick = () => new Promise((r) => setTimeout(r, 5));

async function setup() {
  const driver = new MemoryVenue();
  const stream = new MemoryStream();
  const { client, reports } = await startPolled(driver, { stream });
  client.submit(order());
  for (let k = 0; k < 20 && !reports.some((r) => r.kind === 'ack'); k++) await tick();
  driver.view = view();
  return { client, sink: stream.sink, driver, reports, stop: () => client.stop() };
}

const fillsOf = (r: ExecutionReport[]) => r.filter((x) => x.kind === 'fill');

describe('PolledExecutionClient push path: per-trade events (OrderUpdateSink.execution)', () => {
  it('applies a pushed trade at once, and the same trade again (push or poll) is a duplicate', async () => {
    const { client, sink, driver, reports, stop } = await setup();
    expect(sink.execution({ venueOrderId: 'V1', clientOrderId: 'c1', filledQty: '0.004', state: 'open', fill: fill('T1', '0.004') })).toBe('applied');
    expect(fillsOf(reports)).toEqual([expect.objectContaining({ tradeId: 'T1', lastQty: 4, cumQty: 4, leavesQty: 6, lastPrice: 1000 })]);
    expect(sink.execution({ venueOrderId: 'V1', clientOrderId: 'c1', filledQty: '0.004', fill: fill('T1', '0.004') })).toBe('duplicate');
    // the poll finds the same trade: still one report
    driver.view!.filledQty = '0.004';
    driver.fills = [fill('T1', '0.004')];
    await client.reconcile('test');
    expect(fillsOf(reports)).toHaveLength(1);
    expect(driver.calls.fetchOrder).toBe(1);
    await stop();
  });

  it('a trade that does not continue the cumulative quantity is not applied from the push: the order is read instead', async () => {
    const { client, sink, driver, reports, stop } = await setup();
    // T1 was missed; T2 says cum 0.007 while we hold 0
    driver.view!.filledQty = '0.007';
    driver.fills = [fill('T1', '0.004'), fill('T2', '0.003')];
    expect(sink.execution({ venueOrderId: 'V1', clientOrderId: 'c1', filledQty: '0.007', fill: fill('T2', '0.003') })).toBe('reconciling');
    for (let k = 0; k < 20 && fillsOf(reports).length < 2; k++) await tick();
    expect(fillsOf(reports).map((f) => [f.tradeId, f.cumQty])).toEqual([['T1', 4], ['T2', 7]]);
    // the push of T2 arriving again is a duplicate
    expect(sink.execution({ venueOrderId: 'V1', filledQty: '0.007', fill: fill('T2', '0.003') })).toBe('duplicate');
    expect(fillsOf(reports)).toHaveLength(2);
    await stop();
  });

  it('a trade counted under another id is not doubled (cumulative quantity already reached)', async () => {
    const { client, sink, driver, reports, stop } = await setup();
    sink.execution({ venueOrderId: 'V1', filledQty: '0.004', fill: fill('T1', '0.004') });
    driver.view!.filledQty = '0.004';
    driver.fills = [fill('T1', '0.004')];
    expect(sink.execution({ venueOrderId: 'V1', filledQty: '0.004', fill: fill('T1-other-name', '0.004') })).toBe('reconciling');
    await tick();
    await tick();
    expect(fillsOf(reports)).toHaveLength(1);
    await stop();
  });

  it('a final state with fills not yet seen reads the order first; a clean cancel is reported once', async () => {
    const { client, sink, driver, reports, stop } = await setup();
    driver.view = { ...driver.view!, filledQty: '0.010', state: 'filled' };
    driver.fills = [fill('T1', '0.010')];
    expect(sink.execution({ venueOrderId: 'V1', state: 'filled', filledQty: '0.010' })).toBe('reconciling');
    for (let k = 0; k < 20 && client.workingOrders > 0; k++) await tick();
    expect(fillsOf(reports).map((f) => f.cumQty)).toEqual([10]);
    expect(client.workingOrders).toBe(0);
    expect(reports.filter((r) => r.kind === 'cancelled')).toHaveLength(0);
    await stop();

    const b = await setup();
    expect(b.sink.execution({ venueOrderId: 'V1', clientOrderId: 'c1', state: 'cancelled', filledQty: '0', text: 'v: User requested' })).toBe('applied');
    expect(b.sink.execution({ venueOrderId: 'V1', clientOrderId: 'c1', state: 'cancelled', filledQty: '0' })).toBe('untracked');
    expect(b.reports.filter((r) => r.kind === 'cancelled')).toEqual([expect.objectContaining({ clientOrderId: 'c1', text: 'v: User requested', leavesQty: 0 })]);
    await b.stop();
  });

  it('refuses values off the grid and events for orders it does not follow, applying nothing', async () => {
    const { sink, reports, stop } = await setup();
    expect(sink.execution({ venueOrderId: 'V1', filledQty: '0.0001', fill: fill('T1', '0.0001') })).toBe('invalid');
    expect(sink.execution({ venueOrderId: 'V1', filledQty: '0.004', fill: fill('T1', '0.004', '100.05') })).toBe('invalid');
    expect(sink.execution({ venueOrderId: 'V1', filledQty: '0.011' })).toBe('invalid');
    expect(sink.execution({ venueOrderId: 'V1', filledQty: 'abc' })).toBe('invalid');
    expect(sink.execution({ venueOrderId: 'OTHER', clientOrderId: 'nobody', filledQty: '0.004', fill: { ...fill('T9', '0.004'), venueOrderId: 'OTHER' } })).toBe('untracked');
    expect(sink.execution({ venueOrderId: 'OTHER', clientOrderId: 'c1', filledQty: '0.004' })).toBe('untracked');
    expect(sink.execution({ venueOrderId: 'V1', clientOrderId: 'c1', symbol: 'ETH/USD', filledQty: '0.004' })).toBe('untracked');
    expect(fillsOf(reports)).toHaveLength(0);
    await stop();
  });

  it('a working event before the submit answer acks the order once; a pending one does not', async () => {
    const driver = new MemoryVenue();
    const stream = new MemoryStream();
    let release!: (id: string) => void;
    driver.place = () => new Promise<string>((r) => (release = r));
    const { client, reports } = await startPolled(driver, { stream, instrument: () => I });
    client.submit(order({ side: 'sell', clientOrderId: 'c9' }));
    for (let k = 0; k < 20 && !release; k++) await tick();
    // pending (Kraken's pending_new): not yet working, so not the ack; the create answer decides
    expect(stream.sink.execution({ venueOrderId: 'V1', clientOrderId: 'c9', state: 'pending', filledQty: '0' })).toBe('applied');
    expect(reports).toEqual([]);
    expect(stream.sink.execution({ venueOrderId: 'V1', clientOrderId: 'c9', state: 'open', filledQty: '0' })).toBe('applied');
    expect(reports.map((r) => [r.kind, r.venueOrderId])).toEqual([['ack', 'V1']]);
    release('V1');
    await tick();
    expect(reports.filter((r) => r.kind === 'ack')).toHaveLength(1);
    await client.stop();
  });
});

describe('PolledExecutionClient push path: final states that do not say how much filled', () => {
  it('a cancel event without a cumulative quantity, before the trade it followed, must not lose that trade', async () => {
    const { client, sink, driver, reports, stop } = await setup();
    // at the venue: 0.004 traded (T1), then the rest was cancelled
    driver.view = { ...driver.view!, filledQty: '0.004', state: 'cancelled' };
    driver.fills = [fill('T1', '0.004')];
    // the stream delivers the cancel first, without cum_qty (Kraken's parser leaves it optional) ...
    sink.execution({ venueOrderId: 'V1', clientOrderId: 'c1', state: 'cancelled', text: 'kraken: User requested' });
    // ... then the trade
    sink.execution({ venueOrderId: 'V1', clientOrderId: 'c1', symbol: 'BTC/USD', filledQty: '0.004', state: 'cancelled', fill: fill('T1', '0.004') });
    for (let k = 0; k < 20; k++) await tick();
    await client.reconcile('test');
    // the trade happened: it must be booked, and the order not reported closed with 0 filled
    expect(fillsOf(reports).map((f) => f.tradeId)).toEqual(['T1']);
    expect(reports.filter((r) => r.kind === 'cancelled').map((r) => r.cumQty)).toEqual([4]);
    await stop();
  });
});

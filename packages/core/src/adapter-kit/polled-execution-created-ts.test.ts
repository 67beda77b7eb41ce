import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { defineInstrument, priceToTicks, qtyToLots } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { VenueErrorMap } from './errors.js';
import { PolledExecutionClient, type OrderRef, type PolledOrderDriver, type VenueFill, type VenueOrderView } from './polled-execution.js';

/**
 * Every read of one of our orders carries its creation time, as queryOrder's does: a venue whose
 * closed-order history answers only a recent span unless told where to look (Bybit: 7 days)
 * searches back to it. The poll and the lookup of an unknown submit asked without it, so an
 * order resting longer than that span that filled while we ran was never found again.
 */
const I = defineInstrument({ exchange: 'v', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', tickSize: '0.1', lotSize: '0.001' });
const errors = new VenueErrorMap('v', []);
const CREATED = 1_000;

class RecordingDriver implements PolledOrderDriver {
  readonly refs: OrderRef[] = [];
  view: VenueOrderView | undefined;
  placeImpl: () => Promise<string> = async () => 'V1';
  async connect(): Promise<void> {}
  close(): void {}
  place(): Promise<string> {
    return this.placeImpl();
  }
  async cancel(): Promise<void> {
    throw new Error('venue refused the cancel');
  }
  async fetchOrder(ref: OrderRef): Promise<VenueOrderView | undefined> {
    this.refs.push({ ...ref });
    return this.view && { ...this.view };
  }
  async fetchFills(): Promise<VenueFill[]> {
    return [];
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

const view = (): VenueOrderView => ({ venueOrderId: 'V1', clientOrderId: 'c1', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: '100.0', qty: '0.010', filledQty: '0', state: 'open' });
const order = (): Order => ({
  exchange: 'v', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: priceToTicks(I, '100.0'), qty: qtyToLots(I, '0.010'), tif: 'GTC', source: 't',
  clientOrderId: 'c1', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: CREATED, updatedTs: CREATED,
});
const until = async (cond: () => boolean): Promise<void> => {
  for (let k = 0; k < 400 && !cond(); k++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

async function setup() {
  const driver = new RecordingDriver();
  // ten days after the order was made
  const client = new PolledExecutionClient({
    exchange: 'v', clock: new ManualClock(CREATED + 10 * 86_400_000), hasCredentials: true, driver, orderLimit: { limit: 100, intervalMs: 1000 }, pollIntervalMs: 3_600_000,
    unknownOrderGraceMs: 10_000, instrument: (s) => (s === 'BTC/USD' ? I : undefined), symbols: () => ['BTC/USD'],
  });
  const reports: ExecutionReport[] = [];
  await client.start((r) => reports.push(r));
  return { client, driver, reports };
}

describe("PolledExecutionClient: an order's reads carry its creation time", () => {
  it('the poll of a working order, and its read after a refused cancel', async () => {
    const { client, driver, reports } = await setup();
    client.submit(order());
    await until(() => reports.some((r) => r.kind === 'ack'));
    driver.view = view();
    await client.reconcile('poll');
    client.cancel({ ...order(), venueOrderId: 'V1' });
    await until(() => driver.refs.length === 2);
    expect(driver.refs).toEqual([
      { symbol: 'BTC/USD', clientOrderId: 'c1', venueOrderId: 'V1', createdTs: CREATED },
      { symbol: 'BTC/USD', clientOrderId: 'c1', venueOrderId: 'V1', createdTs: CREATED },
    ]);
    await client.stop();
  });

  it('the lookup by client id of a submit whose outcome is unknown', async () => {
    const { client, driver, reports } = await setup();
    driver.placeImpl = async () => {
      driver.view = view();
      throw Object.assign(new Error('request timed out'), { name: 'RequestTimeout' });
    };
    client.submit(order());
    await until(() => reports.some((r) => r.kind === 'ack'));
    expect(driver.refs[0]).toEqual({ symbol: 'BTC/USD', clientOrderId: 'c1', createdTs: CREATED });
    await client.stop();
  });
});

/**
 * A venue trade list that would take an order past its size (a trade too many under another id,
 * or one larger than the rest of the order): the kit must not book it. Found by the bybit-exec
 * fuzz target (seed 1, fuzz frame 799: 901 of 743 lots booked). The venue is in memory; polls run
 * only when a test asks (reconcile), on a ManualClock.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { defineInstrument, priceToTicks, qtyToLots } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { VenueErrorMap } from './errors.js';
import { PolledExecutionClient, type PolledOrderDriver, type VenueFill, type VenueOrderView } from './polled-execution.js';

const errors = new VenueErrorMap('v', []);
const I = defineInstrument({ exchange: 'v', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', tickSize: '0.1', lotSize: '0.001' });

class MemoryVenue implements PolledOrderDriver {
  view: VenueOrderView = view();
  fills: VenueFill[] = [];
  async connect(): Promise<void> {}
  close(): void {}
  async place(): Promise<string> {
    return 'V1';
  }
  async cancel(): Promise<void> {}
  async fetchOrder(): Promise<VenueOrderView | undefined> {
    return { ...this.view };
  }
  async fetchFills(): Promise<VenueFill[]> {
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

function view(over: Partial<VenueOrderView> = {}): VenueOrderView {
  return { venueOrderId: 'V1', clientOrderId: 'c1', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: '100.0', qty: '0.010', filledQty: '0', state: 'open', ...over };
}
const fill = (tradeId: string, qty: string): VenueFill => ({ tradeId, venueOrderId: 'V1', symbol: 'BTC/USD', price: '100.0', qty, fee: '0.01', feeAsset: 'USD', ts: 1000, liquidity: 'maker' });
const order = (): Order => ({
  exchange: 'v', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: priceToTicks(I, '100.0'), qty: qtyToLots(I, '0.010'), tif: 'GTC', source: 't',
  clientOrderId: 'c1', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0,
});
const flush = async () => {
  for (let k = 0; k < 20; k++) await new Promise((r) => setImmediate(r));
};

async function setup() {
  const venue = new MemoryVenue();
  const client = new PolledExecutionClient({
    exchange: 'v', clock: new ManualClock(1000), hasCredentials: true, driver: venue, orderLimit: { limit: 100, intervalMs: 1000 },
    pollIntervalMs: 3_600_000, unknownOrderGraceMs: 10_000, instrument: (s) => (s === I.symbol ? I : undefined), symbols: () => [I.symbol],
  });
  const reports: ExecutionReport[] = [];
  await client.start((r) => reports.push(r));
  client.submit(order());
  await flush();
  const fills = () => reports.filter((r) => r.kind === 'fill').map((r) => [r.tradeId, r.cumQty, r.leavesQty]);
  return { client, venue, reports, fills };
}

describe('PolledExecutionClient: a trade that would take an order past its size', () => {
  it('a trade too many (another id) is refused and counted; the order is filled at its size and nothing more', async () => {
    const { client, venue, reports, fills } = await setup();
    venue.view = view({ state: 'filled', filledQty: '0.010' });
    venue.fills = [fill('T1', '0.006'), fill('T2', '0.004'), fill('T3', '0.003')];
    await client.reconcile('poll');
    expect(fills()).toEqual([['T1', 6, 4], ['T2', 10, 0]]);
    expect(client.invalidFills).toBe(1);
    expect(reports.filter((r) => r.kind === 'fill').reduce((n, r) => n + (r.lastQty ?? 0), 0)).toBe(10);
    await client.stop();
  });

  it('a trade larger than what is left is refused; the honest trade under the same id, read later, books', async () => {
    const { client, venue, fills } = await setup();
    venue.view = view({ state: 'open', filledQty: '0.006' });
    venue.fills = [fill('T1', '0.004'), fill('T2', '0.009')];
    await client.reconcile('poll');
    expect(fills()).toEqual([['T1', 4, 6]]);
    expect(client.invalidFills).toBe(1);
    venue.fills = [fill('T1', '0.004'), fill('T2', '0.002')];
    await client.reconcile('poll');
    expect(fills()).toEqual([['T1', 4, 6], ['T2', 6, 4]]);
    await client.stop();
  });
});

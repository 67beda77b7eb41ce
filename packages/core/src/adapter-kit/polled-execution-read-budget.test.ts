import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { defineInstrument, priceToTicks, qtyToLots } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { VenueErrorMap } from './errors.js';
import { PolledExecutionClient, type PolledOrderDriver, type VenueFill, type VenueOrderView } from './polled-execution.js';

/**
 * A venue whose read budget is smaller than the number of working orders (Coinbase: 30 private
 * requests a second; 40 working orders polled each second). Its limiter refills every second.
 * A rate-limit answer to a read pauses the polls; the next poll resumes at the order it could not
 * read (starting again at the first followed order, the orders behind the budget were never read).
 */
const I = defineInstrument({ exchange: 'v', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', tickSize: '0.1', lotSize: '0.001' });
const errors = new VenueErrorMap('v', [{ code: 429, reason: 'RATE_LIMITED', retryable: true }]);
const PAUSE_MS = 1000;

class RateLimited extends Error {
  readonly code = 429;
  constructor() {
    super('too many requests');
  }
}

class BudgetDriver implements PolledOrderDriver {
  /** reads allowed per 1000 ms window of the clock */
  budget = Infinity;
  private windowStart = -1;
  private used = 0;
  readsOf = new Map<string, number>();
  filled = new Set<string>();
  constructor(private readonly clock: ManualClock) {}
  private spend(): void {
    const w = Math.floor(this.clock.now() / 1000);
    if (w !== this.windowStart) {
      this.windowStart = w;
      this.used = 0;
    }
    if (this.used >= this.budget) throw new RateLimited();
    this.used++;
  }
  async connect(): Promise<void> {}
  close(): void {}
  async place(o: Readonly<Order>): Promise<string> {
    return `V-${o.clientOrderId}`;
  }
  async cancel(): Promise<void> {}
  async fetchOrder(ref: { clientOrderId: string; venueOrderId?: string }): Promise<VenueOrderView | undefined> {
    this.spend();
    this.readsOf.set(ref.clientOrderId, (this.readsOf.get(ref.clientOrderId) ?? 0) + 1);
    const done = this.filled.has(ref.clientOrderId);
    return { venueOrderId: `V-${ref.clientOrderId}`, clientOrderId: ref.clientOrderId, symbol: 'BTC/USD', side: 'buy', type: 'limit', price: '100.0', qty: '0.010', filledQty: done ? '0.010' : '0', state: done ? 'filled' : 'open' };
  }
  async fetchFills(v: VenueOrderView): Promise<VenueFill[]> {
    return [{ tradeId: `T-${v.venueOrderId}`, venueOrderId: v.venueOrderId, symbol: 'BTC/USD', price: '100.0', qty: '0.010', fee: '0', ts: 1 }];
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
    return errors.map(err instanceof RateLimited ? err.code : undefined, String((err as Error)?.message ?? err));
  }
}

const order = (clientOrderId: string): Order => ({
  exchange: 'v', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: priceToTicks(I, '100.0'), qty: qtyToLots(I, '0.010'), tif: 'GTC', source: 't',
  clientOrderId, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0,
});
const until = async (cond: () => boolean): Promise<void> => {
  for (let k = 0; k < 400 && !cond(); k++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

describe('polls under a venue read budget smaller than the working orders', () => {
  it('every working order is read within a few polls: a fill of the last followed order is reported', async () => {
    const clock = new ManualClock(1_000_000);
    const driver = new BudgetDriver(clock);
    const client = new PolledExecutionClient({
      exchange: 'v', clock, hasCredentials: true, driver, orderLimit: { limit: 100, intervalMs: 1000 }, pollIntervalMs: 3_600_000, unknownOrderGraceMs: 10_000,
      rateLimitPauseMs: PAUSE_MS, instrument: (s) => (s === 'BTC/USD' ? I : undefined), symbols: () => ['BTC/USD'],
    });
    const reports: ExecutionReport[] = [];
    await client.start((r) => reports.push(r));
    for (const id of ['c1', 'c2', 'c3']) client.submit(order(id));
    await until(() => reports.filter((r) => r.kind === 'ack').length === 3);

    // The venue allows 2 reads a second; c3 (followed last) fills.
    driver.budget = 2;
    driver.filled.add('c3');
    for (let poll = 0; poll < 10; poll++) {
      await client.reconcile(`poll ${poll}`);
      clock.advance(PAUSE_MS); // the pause ends, the venue's budget refills
    }
    const c3Fills = reports.filter((r) => r.kind === 'fill' && r.clientOrderId === 'c3').length;
    const reads = { c1: driver.readsOf.get('c1') ?? 0, c2: driver.readsOf.get('c2') ?? 0, c3: driver.readsOf.get('c3') ?? 0 };
    await client.stop();
    // 10 polls, 20 reads granted: c1 and c2 got all of them, c3 none, its fill never reported
    expect({ c3Fills, c3Read: reads.c3 > 0 }).toEqual({ c3Fills: 1, c3Read: true });
  });
});

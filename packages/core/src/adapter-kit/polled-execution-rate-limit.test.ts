import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { Order } from '../domain/orders.js';
import { VenueErrorMap } from './errors.js';
import type { OrderRef, VenueFill, VenueOrderView } from './polled-execution.js';
import { StubVenue, order as baseOrder, startPolled, until, view } from './polled-execution.fixture.js';

/**
 * What a venue rate-limit answer pauses. An answer to a create or cancel pauses the order
 * limiter; an answer to a read (a poll of a working order, the read after an accepted cancel)
 * pauses the polls, and the order limiter only where the venue counts reads and orders against
 * one budget (readsShareOrderRateLimit). Before, a limited read paused the order limiter, and
 * polls every pollIntervalMs renewed the pause: no cancel went out while reads stayed limited.
 *
 * The clock is a ManualClock that only the tests move, so a pause never ends on its own: what
 * waits for one waits until the test moves the clock. Polls are run by reconcile() (the poll
 * interval is longer than any test). A poll the venue's read budget cuts short resumes at the order it
 * could not read: starting again at the first followed order, the orders behind the budget were
 * never read.
 */
const errors = new VenueErrorMap('v', [{ code: 429, reason: 'RATE_LIMITED', retryable: true }]);
const PAUSE_MS = 100;

class RateLimited extends Error {
  readonly code = 429;
  constructor() {
    super('too many requests');
  }
}

/** Reads our order as working under the ids asked for; answers 429 to the kinds of request a test limits. */
class MemoryDriver extends StubVenue {
  readsLimited = false;
  placeLimited = false;
  cancelLimited = false;
  reads = 0;
  places = 0;
  cancels = 0;
  view: VenueOrderView = view();
  constructor() {
    super(errors);
  }
  override async place(o: Readonly<Order>): Promise<string> {
    this.places++;
    if (this.placeLimited) throw new RateLimited();
    return `V-${o.clientOrderId}`;
  }
  override async cancel(): Promise<void> {
    this.cancels++;
    if (this.cancelLimited) throw new RateLimited();
  }
  override async fetchOrder(ref: OrderRef): Promise<VenueOrderView | undefined> {
    this.reads++;
    if (this.readsLimited) throw new RateLimited();
    return { ...this.view, clientOrderId: ref.clientOrderId, venueOrderId: `V-${ref.clientOrderId}` };
  }
}

/**
 * A venue whose read budget is smaller than the number of working orders (Coinbase: 30 private
 * requests a second; 40 working orders polled each second): `budget` reads per 1000 ms of the
 * clock; orders in `filled` read as filled, with one trade.
 */
class BudgetDriver extends MemoryDriver {
  budget = Infinity;
  private windowStart = -1;
  private used = 0;
  readonly readsOf = new Map<string, number>();
  readonly filled = new Set<string>();
  constructor(private readonly clock: ManualClock) {
    super();
  }
  override async fetchOrder(ref: OrderRef): Promise<VenueOrderView | undefined> {
    const w = Math.floor(this.clock.now() / 1000);
    if (w !== this.windowStart) {
      this.windowStart = w;
      this.used = 0;
    }
    if (this.used >= this.budget) throw new RateLimited();
    this.used++;
    this.readsOf.set(ref.clientOrderId, (this.readsOf.get(ref.clientOrderId) ?? 0) + 1);
    const done = this.filled.has(ref.clientOrderId);
    return { ...this.view, clientOrderId: ref.clientOrderId, venueOrderId: `V-${ref.clientOrderId}`, filledQty: done ? '0.010' : '0', state: done ? 'filled' : 'open' };
  }
  override async fetchFills(v: VenueOrderView): Promise<VenueFill[]> {
    return [{ tradeId: `T-${v.venueOrderId}`, venueOrderId: v.venueOrderId, symbol: 'BTC/USD', price: '100.0', qty: '0.010', fee: '0', ts: 1 }];
  }
}

const order = (clientOrderId: string) => baseOrder({ clientOrderId });
/** Lets whatever can run on a frozen clock run (a limiter sleeps in real time, then looks at the clock again). */
const settle = () => new Promise((r) => setTimeout(r, 30));

async function setup(opts: { readsShareOrderRateLimit?: boolean; driver?: (clock: ManualClock) => MemoryDriver } = {}) {
  const clock = new ManualClock(1_000_000);
  const driver = opts.driver?.(clock) ?? new MemoryDriver();
  const { client, reports } = await startPolled(driver, {
    clock, rateLimitPauseMs: PAUSE_MS, ...(opts.readsShareOrderRateLimit ? { readsShareOrderRateLimit: true } : {}),
  });
  return { client, driver, clock, reports };
}

/** Two working orders, acked. */
async function working(s: Awaited<ReturnType<typeof setup>>): Promise<void> {
  s.client.submit(order('c1'));
  s.client.submit(order('c2'));
  await until(() => s.reports.filter((r) => r.kind === 'ack').length === 2);
}

describe('PolledExecutionClient: what a venue rate-limit answer pauses', () => {
  it('a limited order read does not hold back a cancel: it goes out at once, on a clock that never moves', async () => {
    const s = await setup();
    await working(s);
    s.driver.readsLimited = true;
    await s.client.reconcile('poll while the venue limits reads');
    expect(s.driver.reads).toBeGreaterThan(0);
    s.client.cancel({ ...order('c1'), venueOrderId: 'V-c1' });
    await until(() => s.driver.cancels === 1);
    // and a new order too
    s.client.submit(order('c3'));
    await until(() => s.driver.places === 3);
    await s.client.stop();
  });

  it('a limited order read pauses the polls: the rest of that poll and the polls until the pause ends read nothing', async () => {
    const s = await setup();
    await working(s);
    s.driver.readsLimited = true;
    // two working orders, one read: the poll stops at the first limited answer
    await s.client.reconcile('poll');
    expect(s.driver.reads).toBe(1);
    await s.client.reconcile('poll again');
    s.clock.advance(PAUSE_MS - 1);
    await s.client.reconcile('one ms before the pause ends');
    expect(s.driver.reads).toBe(1);
    s.clock.advance(1);
    s.driver.readsLimited = false;
    await s.client.reconcile('the pause has ended');
    expect(s.driver.reads).toBe(3);
    await s.client.stop();
  });

  it('a read limited after an accepted cancel is no refused cancel, and pauses the polls, not the orders', async () => {
    const s = await setup();
    await working(s);
    s.driver.readsLimited = true;
    s.client.cancel({ ...order('c1'), venueOrderId: 'V-c1' });
    await until(() => s.driver.reads === 1);
    await settle();
    expect(s.reports.filter((r) => r.kind === 'rejected')).toEqual([]);
    await s.client.reconcile('poll');
    expect(s.driver.reads).toBe(1);
    s.client.cancel({ ...order('c2'), venueOrderId: 'V-c2' });
    await until(() => s.driver.cancels === 2);
    await s.client.stop();
  });

  it('a limited create or cancel still pauses the order limiter until the pause ends on the clock', async () => {
    const s = await setup();
    s.driver.placeLimited = true;
    s.client.submit(order('c1'));
    await until(() => s.reports.some((r) => r.kind === 'rejected' && r.rejectReason === 'RATE_LIMITED'));
    s.driver.placeLimited = false;
    s.client.submit(order('c2'));
    await settle();
    expect(s.driver.places).toBe(1);
    s.clock.advance(PAUSE_MS);
    await until(() => s.driver.places === 2);
    await until(() => s.reports.some((r) => r.kind === 'ack'));

    s.driver.cancelLimited = true;
    s.client.cancel({ ...order('c2'), venueOrderId: 'V-c2' });
    await until(() => s.reports.some((r) => r.kind === 'rejected' && r.rejects === 'request' && r.rejectReason === 'RATE_LIMITED'));
    s.driver.cancelLimited = false;
    s.client.cancel({ ...order('c2'), venueOrderId: 'V-c2' });
    await settle();
    expect(s.driver.cancels).toBe(1);
    s.clock.advance(PAUSE_MS);
    await until(() => s.driver.cancels === 2);
    await s.client.stop();
  });

  it('a venue whose reads and orders share one budget (readsShareOrderRateLimit): a limited read pauses the orders too', async () => {
    const s = await setup({ readsShareOrderRateLimit: true });
    await working(s);
    s.driver.readsLimited = true;
    await s.client.reconcile('poll');
    s.client.cancel({ ...order('c1'), venueOrderId: 'V-c1' });
    await settle();
    expect(s.driver.cancels).toBe(0);
    s.clock.advance(PAUSE_MS);
    await until(() => s.driver.cancels === 1);
    await s.client.stop();
  });

  it('a poll cut short by the read budget resumes at the order it could not read: every working order is read, a fill of the last one reported', async () => {
    const s = await setup({ driver: (clock) => new BudgetDriver(clock) });
    const driver = s.driver as BudgetDriver;
    for (const id of ['c1', 'c2', 'c3']) s.client.submit(order(id));
    await until(() => s.reports.filter((r) => r.kind === 'ack').length === 3);
    // the venue allows 2 reads a second; c3 (followed last) fills
    driver.budget = 2;
    driver.filled.add('c3');
    for (let poll = 0; poll < 10; poll++) {
      await s.client.reconcile(`poll ${poll}`);
      s.clock.advance(1000); // the pause ends, the venue's budget refills
    }
    const c3Fills = s.reports.filter((r) => r.kind === 'fill' && r.clientOrderId === 'c3').length;
    const c3Read = (driver.readsOf.get('c3') ?? 0) > 0;
    await s.client.stop();
    // starting each poll at the first order, c1 and c2 took every read granted: c3 was never read
    expect({ c3Fills, c3Read }).toEqual({ c3Fills: 1, c3Read: true });
  });
});

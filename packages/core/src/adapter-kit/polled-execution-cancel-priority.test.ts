/**
 * Cancels go first in the polled client's order-rate line. Creates and cancels share one order
 * budget (and the pause a venue rate-limit answer sets); before, a cancel waited behind every
 * create queued before it, so a HALT's mass cancel went out only after the strategy's backlog of
 * new orders (each one more order to cancel). A cancel now goes ahead of the queued creates,
 * still within the budget and never during the venue's pause. The driver is in memory; a
 * ManualClock and vitest's fake timers move together, so nothing waits for real.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { VenueErrorMap } from './errors.js';
import type { OrderRef, PolledExecutionClient, VenueOrderView } from './polled-execution.js';
import { StubVenue, order as baseOrder, startPolled, view } from './polled-execution.fixture.js';

const T0 = 1_000_000;

class RateLimited extends Error {
  readonly code = 429;
  constructor() {
    super('too many requests');
  }
}

/** Every create and cancel it receives, in order, with the clock's time; answers 429 to creates while `placeLimited`. */
class OrderLog extends StubVenue {
  readonly sent: { req: string; at: number }[] = [];
  readonly cancelled = new Set<string>();
  placeLimited = false;
  constructor(private readonly clock: ManualClock) {
    super(new VenueErrorMap('v', [{ code: 429, reason: 'RATE_LIMITED', retryable: true }]));
  }
  override async place(o: Readonly<Order>): Promise<string> {
    this.sent.push({ req: `place ${o.clientOrderId}`, at: this.clock.now() });
    if (this.placeLimited) throw new RateLimited();
    return `V-${o.clientOrderId}`;
  }
  override async cancel(o: Readonly<Order>): Promise<void> {
    this.sent.push({ req: `cancel ${o.clientOrderId}`, at: this.clock.now() });
    this.cancelled.add(o.clientOrderId);
  }
  override async fetchOrder(ref: OrderRef): Promise<VenueOrderView | undefined> {
    return view({ clientOrderId: ref.clientOrderId, venueOrderId: `V-${ref.clientOrderId}`, state: this.cancelled.has(ref.clientOrderId) ? 'cancelled' : 'open' });
  }
  requests(): string[] {
    return this.sent.map((s) => s.req);
  }
  /** The most requests sent in any window of `intervalMs` (the limiter's sliding window). */
  maxInWindow(intervalMs: number): number {
    return Math.max(0, ...this.sent.map((s) => this.sent.filter((t) => t.at > s.at - intervalMs && t.at <= s.at).length));
  }
}

const order = (clientOrderId: string) => baseOrder({ clientOrderId });
const working = (clientOrderId: string) => ({ ...order(clientOrderId), venueOrderId: `V-${clientOrderId}`, status: 'open' as const });

describe('PolledExecutionClient: cancels go ahead of queued creates', () => {
  let client: PolledExecutionClient | undefined;
  beforeEach(() => vi.useFakeTimers());
  afterEach(async () => {
    await client?.stop();
    client = undefined;
    vi.useRealTimers();
  });

  async function setup(orderLimit: { limit: number; intervalMs: number }) {
    const clock = new ManualClock(T0);
    const driver = new OrderLog(clock);
    const s = await startPolled(driver, { clock, orderLimit, rateLimitPauseMs: 500 });
    client = s.client;
    const step = async (ms: number) => {
      clock.advance(ms);
      await vi.advanceTimersByTimeAsync(ms);
    };
    return { clock, driver, client: s.client, reports: s.reports as ExecutionReport[], step };
  }

  it('a cancel asked for after N creates queued behind the budget reaches the venue before them', async () => {
    const s = await setup({ limit: 2, intervalMs: 1000 });
    s.client.submit(order('c1'));
    s.client.submit(order('c2'));
    await s.step(0);
    expect(s.reports.filter((r) => r.kind === 'ack').map((r) => r.clientOrderId)).toEqual(['c1', 'c2']);
    // the budget is spent: these wait for the window
    for (let n = 3; n <= 8; n++) s.client.submit(order(`c${n}`));
    await s.step(10);
    s.client.cancel(working('c1'));
    await s.step(10);
    expect(s.driver.requests()).toEqual(['place c1', 'place c2']);
    for (let k = 0; k < 100 && s.driver.sent.length < 9; k++) await s.step(100);
    expect(s.driver.requests()).toEqual(['place c1', 'place c2', 'cancel c1', 'place c3', 'place c4', 'place c5', 'place c6', 'place c7', 'place c8']);
    expect(s.driver.maxInWindow(1000)).toBe(2);
    expect(s.reports.find((r) => r.kind === 'cancelled')?.clientOrderId).toBe('c1');
  });

  it("a HALT's mass cancel during a venue pause waits out the pause, then goes before every queued create", async () => {
    const s = await setup({ limit: 100, intervalMs: 1000 });
    s.client.submit(order('c1'));
    s.client.submit(order('c2'));
    await s.step(0);
    // a 429 to a create pauses the order line for rateLimitPauseMs (500)
    s.driver.placeLimited = true;
    s.client.submit(order('c3'));
    await s.step(0);
    s.driver.placeLimited = false;
    const pausedAt = s.clock.now();
    for (let n = 4; n <= 8; n++) s.client.submit(order(`c${n}`));
    await s.step(10);
    s.client.cancel(working('c1'));
    s.client.cancel(working('c2'));
    await s.step(480);
    // the venue's pause binds cancels too: nothing went out during it
    expect(s.driver.requests()).toEqual(['place c1', 'place c2', 'place c3']);
    for (let k = 0; k < 100 && s.driver.sent.length < 10; k++) await s.step(10);
    expect(s.driver.requests()).toEqual(['place c1', 'place c2', 'place c3', 'cancel c1', 'cancel c2', 'place c4', 'place c5', 'place c6', 'place c7', 'place c8']);
    expect(s.driver.sent[3]!.at).toBeGreaterThanOrEqual(pausedAt + 500);
  });
});

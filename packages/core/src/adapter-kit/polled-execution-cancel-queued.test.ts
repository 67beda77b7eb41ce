/**
 * A cancel of an order whose create still waits for the polled client's order budget. Cancels go
 * first in line (a HALT's mass cancel overtakes the creates queued before it), so such a cancel
 * reached the venue before the create: refused there as an unknown order, after which the create
 * went out and the order worked at the venue after the kill switch. It is now answered here: the
 * create is never sent, no request about it is made, and the order is reported cancelled, which
 * the engine's order manager takes for an order never acked. A create that has left (its budget
 * taken, its request under way) is cancelled at the venue as before. The venue is in memory; a
 * ManualClock and vitest's fake timers move together, so nothing waits for real.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { OrderManager } from '../engine/order-manager.js';
import { VenueErrorMap } from './errors.js';
import type { OrderRef, PolledExecutionClient, VenueOrderView } from './polled-execution.js';
import { StubVenue, order as baseOrder, startPolled, view } from './polled-execution.fixture.js';

const T0 = 1_000_000;

class UnknownOrder extends Error {
  readonly code = 404;
  constructor(id: string) {
    super(`unknown order ${id}`);
  }
}

/** A venue that knows only the orders placed at it: a cancel of any other is refused "unknown order". */
class Venue extends StubVenue {
  readonly sent: string[] = [];
  readonly placed = new Set<string>();
  readonly cancelled = new Set<string>();
  /** While set, a create is received (and known) at once but answered only when the test says. */
  holdPlace: (() => void)[] | undefined;
  constructor() {
    super(new VenueErrorMap('v', [{ code: 404, reason: 'UNKNOWN_ORDER' }]));
  }
  override async place(o: Readonly<Order>): Promise<string> {
    this.sent.push(`place ${o.clientOrderId}`);
    this.placed.add(o.clientOrderId);
    if (this.holdPlace) await new Promise<void>((answer) => this.holdPlace!.push(answer));
    return `V-${o.clientOrderId}`;
  }
  override async cancel(o: Readonly<Order>): Promise<void> {
    this.sent.push(`cancel ${o.clientOrderId}`);
    if (!this.placed.has(o.clientOrderId)) throw new UnknownOrder(o.clientOrderId);
    this.cancelled.add(o.clientOrderId);
  }
  override async fetchOrder(ref: OrderRef): Promise<VenueOrderView | undefined> {
    this.sent.push(`read ${ref.clientOrderId}`);
    if (!this.placed.has(ref.clientOrderId)) return undefined;
    return view({ clientOrderId: ref.clientOrderId, venueOrderId: `V-${ref.clientOrderId}`, state: this.cancelled.has(ref.clientOrderId) ? 'cancelled' : 'open' });
  }
  /** Every request about one order. */
  about(cid: string): string[] {
    return this.sent.filter((s) => s.endsWith(` ${cid}`));
  }
}

describe('PolledExecutionClient: a cancel of a create still waiting for the order budget', () => {
  let client: PolledExecutionClient | undefined;
  beforeEach(() => vi.useFakeTimers());
  afterEach(async () => {
    await client?.stop();
    client = undefined;
    vi.useRealTimers();
  });

  /** A client on `venue` with 2 orders a second, its reports applied to an engine order manager as the engine does. */
  async function setup() {
    const clock = new ManualClock(T0);
    const venue = new Venue();
    const orders = new OrderManager('cw');
    const s = await startPolled(venue, { clock, orderLimit: { limit: 2, intervalMs: 1000 } });
    client = s.client;
    const reports = s.reports as ExecutionReport[];
    let applied = 0;
    const step = async (ms: number) => {
      clock.advance(ms);
      await vi.advanceTimersByTimeAsync(ms);
      for (; applied < reports.length; applied++) expect(orders.apply(reports[applied]!, clock.now()).kind).toBe('applied');
    };
    /** A new order, as the engine hands it to the venue. */
    const submit = (): string => {
      const o = orders.create(baseOrder(), clock.now());
      s.client.submit(o);
      return o.clientOrderId;
    };
    /** The engine's cancel: the order marked pending_cancel, then handed to the venue. */
    const cancel = (cid: string): void => {
      s.client.cancel(orders.markPendingCancel(cid)!);
    };
    const reportsOf = (cid: string) => reports.filter((r) => r.clientOrderId === cid);
    return { clock, venue, orders, client: s.client, reports, reportsOf, step, submit, cancel };
  }

  it('a create cancelled while it waited for the order budget never reaches the venue', async () => {
    const s = await setup();
    const [a, b] = [s.submit(), s.submit()];
    await s.step(0);
    // the budget is spent: these two wait in line (pending_new at the engine)
    const queued = s.submit();
    const after = s.submit();
    await s.step(10);
    expect(s.venue.sent).toEqual([`place ${a}`, `place ${b}`]);
    // the kill switch reaches the queued create
    s.cancel(queued);
    await s.step(0);
    expect(s.reportsOf(queued)).toEqual([expect.objectContaining({ kind: 'cancelled', leavesQty: 0, cumQty: 0, lastQty: 0 })]);
    expect(s.reportsOf(queued)[0]!.venueOrderId).toBeUndefined();
    expect(s.orders.get(queued)?.status).toBe('cancelled');
    for (let k = 0; k < 30; k++) await s.step(100);
    // no request of any kind about it, ever: neither its create nor a cancel the venue would refuse
    expect(s.venue.about(queued)).toEqual([]);
    expect(s.reportsOf(queued).map((r) => r.kind)).toEqual(['cancelled']);
    // the create queued behind it was not cancelled: it goes out in its turn
    expect(s.venue.sent).toEqual([`place ${a}`, `place ${b}`, `place ${after}`]);
    expect(s.orders.get(after)?.status).toBe('open');
    expect(s.orders.allOpen().map((o) => o.clientOrderId).sort()).toEqual([a, b, after].sort());
  });

  it('a cancel asked again for the same waiting create answers nothing more', async () => {
    const s = await setup();
    s.submit();
    s.submit();
    await s.step(0);
    const queued = s.submit();
    await s.step(10);
    s.cancel(queued);
    // a second cancel before the first was answered (the engine's re-send)
    s.client.cancel({ ...s.orders.get(queued)!, status: 'pending_cancel' });
    for (let k = 0; k < 20; k++) await s.step(100);
    expect(s.reportsOf(queued).map((r) => r.kind)).toEqual(['cancelled']);
    expect(s.venue.about(queued)).toEqual([]);
  });

  it('a create that has left (its request under way) is cancelled at the venue', async () => {
    const s = await setup();
    s.venue.holdPlace = [];
    const cid = s.submit();
    await s.step(0);
    // the budget was taken and the create is with the venue, not answered yet
    expect(s.venue.sent).toEqual([`place ${cid}`]);
    s.cancel(cid);
    await s.step(0);
    expect(s.venue.about(cid)).toContain(`cancel ${cid}`);
    for (const answer of s.venue.holdPlace) answer();
    s.venue.holdPlace = undefined;
    for (let k = 0; k < 5; k++) await s.step(100);
    expect(s.venue.cancelled.has(cid)).toBe(true);
    expect(s.reportsOf(cid).find((r) => r.kind === 'cancelled')?.text).toBeUndefined();
    expect(s.orders.get(cid)?.status).toBe('cancelled');
  });

  it('a stop while a cancelled create waits: it is never sent, and nothing is reported after its cancel', async () => {
    const s = await setup();
    s.submit();
    s.submit();
    await s.step(0);
    const cancelled = s.submit();
    const waiting = s.submit();
    await s.step(10);
    s.cancel(cancelled);
    await s.step(0);
    await s.client.stop();
    for (let k = 0; k < 20; k++) await s.step(100);
    expect(s.reportsOf(cancelled).map((r) => r.kind)).toEqual(['cancelled']);
    // the one still waiting when stopped is not sent either
    expect(s.venue.about(cancelled)).toEqual([]);
    expect(s.venue.about(waiting)).toEqual([]);
    expect(s.client.pendingTimers()).toBe(0);
  });
});

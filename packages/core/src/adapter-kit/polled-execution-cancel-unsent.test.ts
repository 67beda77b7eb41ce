/**
 * A cancel of an order whose create has left the kit's order budget but still waits inside the
 * driver's place() (a venue counter of its own, as Kraken's per-pair trading counter, which
 * serves cancels first). Such a cancel went the venue's way: sent by client id before the create,
 * refused there as an unknown order, after which the create went out and the order worked at
 * the venue after a HALT's mass cancel. The driver now says the create is unsent
 * (cancelUnsent): the kit answers the cancel itself (one `cancelled` report, nothing filled) and
 * nothing about the order reaches the venue, neither its create, nor a cancel, nor a read. A
 * create whose request has left is cancelled at the venue as before. The venue is in memory; a
 * ManualClock and vitest's fake timers move together, so nothing waits for real.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { OrderManager } from '../engine/order-manager.js';
import { VenueErrorMap } from './errors.js';
import { CancelledBeforeSendError, type OrderRef, type PolledExecutionClient, type VenueOrderView } from './polled-execution.js';
import { StubVenue, order as baseOrder, startPolled, view } from './polled-execution.fixture.js';

const T0 = 1_000_000;

class UnknownOrder extends Error {
  readonly code = 404;
  constructor(id: string) {
    super(`unknown order ${id}`);
  }
}

/**
 * A venue whose driver holds each create in its own line until the test gives it room
 * (`room()`), as a venue counter would; the venue knows only the orders whose create was sent.
 */
class CountingVenue extends StubVenue {
  readonly sent: string[] = [];
  readonly placed = new Set<string>();
  readonly cancelled = new Set<string>();
  /** Creates waiting in the driver, in line: their cancel mark and the wait's end. */
  private readonly line: { cid: string; cancelled: boolean; go: () => void; stop: () => void }[] = [];
  /** 'prompt': a stopped create leaves the line at once; 'late': it learns so only when its turn comes. */
  stops: 'prompt' | 'late' | 'never' = 'prompt';
  constructor() {
    super(new VenueErrorMap('v', [{ code: 404, reason: 'UNKNOWN_ORDER' }]));
  }
  override async place(o: Readonly<Order>): Promise<string> {
    const w = { cid: o.clientOrderId, cancelled: false, go: () => {}, stop: () => {} };
    this.line.push(w);
    await new Promise<void>((go, stop) => Object.assign(w, { go, stop: () => stop(new CancelledBeforeSendError(o.clientOrderId)) }));
    if (w.cancelled && this.stops !== 'never') throw new CancelledBeforeSendError(o.clientOrderId);
    this.sent.push(`place ${o.clientOrderId}`);
    this.placed.add(o.clientOrderId);
    return `V-${o.clientOrderId}`;
  }
  cancelUnsent(o: Readonly<Order>): boolean {
    const w = this.line.find((x) => x.cid === o.clientOrderId);
    if (w === undefined) return false;
    w.cancelled = true;
    if (this.stops === 'prompt') {
      this.line.splice(this.line.indexOf(w), 1);
      w.stop();
    }
    return true;
  }
  /** Room for the next create in line: it leaves (sent, or ended unsent when it was stopped). */
  room(): void {
    this.line.shift()?.go();
  }
  get waiting(): number {
    return this.line.length;
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

describe('PolledExecutionClient: a cancel of a create still waiting inside the driver (cancelUnsent)', () => {
  let client: PolledExecutionClient | undefined;
  beforeEach(() => vi.useFakeTimers());
  afterEach(async () => {
    await client?.stop();
    client = undefined;
    vi.useRealTimers();
  });

  /** A client on `venue` (polling every 100 ms), its reports applied to an engine order manager as the engine does. */
  async function setup(venue = new CountingVenue()) {
    const clock = new ManualClock(T0);
    const orders = new OrderManager('cw');
    const s = await startPolled(venue, { clock, pollIntervalMs: 100, unknownOrderGraceMs: 1000 });
    client = s.client;
    const reports = s.reports as ExecutionReport[];
    let applied = 0;
    const step = async (ms: number) => {
      clock.advance(ms);
      await vi.advanceTimersByTimeAsync(ms);
      for (; applied < reports.length; applied++) expect(orders.apply(reports[applied]!, clock.now()).kind).toBe('applied');
    };
    const submit = (): string => {
      const o = orders.create(baseOrder(), clock.now());
      s.client.submit(o);
      return o.clientOrderId;
    };
    const cancel = (cid: string): void => {
      s.client.cancel(orders.markPendingCancel(cid)!);
    };
    const reportsOf = (cid: string) => reports.filter((r) => r.clientOrderId === cid);
    return { clock, venue, orders, client: s.client, reports, reportsOf, step, submit, cancel };
  }

  it('a create cancelled while it waits inside the driver is never sent: one cancelled report, no request about it', async () => {
    const s = await setup();
    const held = s.submit();
    const after = s.submit();
    await s.step(0);
    // both left the kit's budget; the driver holds them for its counter
    expect(s.venue.waiting).toBe(2);
    s.cancel(held);
    await s.step(0);
    expect(s.reportsOf(held)).toEqual([expect.objectContaining({ kind: 'cancelled', leavesQty: 0, cumQty: 0, lastQty: 0 })]);
    expect(s.reportsOf(held)[0]!.text).toMatch(/cancelled before it was sent/);
    expect(s.reportsOf(held)[0]!.venueOrderId).toBeUndefined();
    expect(s.orders.get(held)?.status).toBe('cancelled');
    // it left the driver's line: the one behind it is next
    expect(s.venue.waiting).toBe(1);
    s.venue.room();
    for (let k = 0; k < 30; k++) await s.step(100);
    // no create, no cancel the venue would refuse, no read (by client id: an unknown outcome)
    expect(s.venue.about(held)).toEqual([]);
    expect(s.reportsOf(held).map((r) => r.kind)).toEqual(['cancelled']);
    // the create behind it goes out in its turn (and is polled as it works)
    expect(s.venue.sent.filter((r) => !r.startsWith('read '))).toEqual([`place ${after}`]);
    expect(s.orders.get(after)?.status).toBe('open');
    expect(s.client.workingOrders).toBe(1);
  });

  it('a repeated cancel of the same waiting create answers nothing more and sends nothing', async () => {
    const s = await setup();
    s.venue.stops = 'late';
    const held = s.submit();
    await s.step(0);
    s.cancel(held);
    // the engine's re-send, before and after the first was answered
    s.client.cancel({ ...s.orders.get(held)!, status: 'pending_cancel' });
    await s.step(0);
    s.client.cancel({ ...s.orders.get(held)!, status: 'pending_cancel' });
    for (let k = 0; k < 10; k++) await s.step(100);
    // its turn in the driver's line comes: it ends unsent, and that is no news
    s.venue.room();
    for (let k = 0; k < 10; k++) await s.step(100);
    expect(s.reportsOf(held).map((r) => r.kind)).toEqual(['cancelled']);
    expect(s.venue.about(held)).toEqual([]);
    expect(s.client.workingOrders).toBe(0);
  });

  it('a driver that lets a stopped create end only at its turn: the cancel is answered at once all the same', async () => {
    const s = await setup();
    s.venue.stops = 'late';
    const held = s.submit();
    await s.step(0);
    s.cancel(held);
    await s.step(0);
    expect(s.reportsOf(held).map((r) => r.kind)).toEqual(['cancelled']);
    s.venue.room();
    for (let k = 0; k < 20; k++) await s.step(100);
    expect(s.reportsOf(held).map((r) => r.kind)).toEqual(['cancelled']);
    expect(s.venue.about(held)).toEqual([]);
  });

  it('a create whose request has left is cancelled at the venue', async () => {
    const s = await setup();
    const cid = s.submit();
    await s.step(0);
    s.venue.room();
    await s.step(0);
    expect(s.orders.get(cid)?.status).toBe('open');
    s.cancel(cid);
    for (let k = 0; k < 5; k++) await s.step(100);
    expect(s.venue.about(cid)).toContain(`cancel ${cid}`);
    expect(s.reportsOf(cid).map((r) => r.kind)).toEqual(['ack', 'cancelled']);
    expect(s.reportsOf(cid)[1]!.text).toBeUndefined();
    expect(s.orders.get(cid)?.status).toBe('cancelled');
  });

  it('a stop after the cancel of a waiting create: it is never sent, and nothing is reported after its cancel', async () => {
    const s = await setup();
    s.venue.stops = 'late';
    const held = s.submit();
    await s.step(0);
    s.cancel(held);
    await s.step(0);
    await s.client.stop();
    s.venue.room();
    for (let k = 0; k < 20; k++) await s.step(100);
    expect(s.reportsOf(held).map((r) => r.kind)).toEqual(['cancelled']);
    expect(s.venue.about(held)).toEqual([]);
    expect(s.client.pendingTimers()).toBe(0);
  });

  it('a place() that rejects with CancelledBeforeSendError by itself ends in one cancelled report, with no lookup by client id', async () => {
    const venue = new CountingVenue();
    const s = await setup(venue);
    const cid = s.submit();
    await s.step(0);
    // the driver stopped it on its own (no cancel asked through the kit)
    expect(venue.cancelUnsent(baseOrder({ clientOrderId: cid }))).toBe(true);
    for (let k = 0; k < 20; k++) await s.step(100);
    expect(s.reportsOf(cid)).toEqual([expect.objectContaining({ kind: 'cancelled', leavesQty: 0, cumQty: 0 })]);
    expect(venue.about(cid)).toEqual([]);
  });

  it('a driver that sends a create after answering it unsent (a fault): the order is cancelled at the venue', async () => {
    const s = await setup();
    s.venue.stops = 'never';
    const held = s.submit();
    await s.step(0);
    s.cancel(held);
    await s.step(0);
    s.venue.room();
    for (let k = 0; k < 10; k++) await s.step(100);
    expect(s.venue.about(held)).toEqual([`place ${held}`, `cancel ${held}`]);
    expect(s.venue.cancelled.has(held)).toBe(true);
    expect(s.reportsOf(held).map((r) => r.kind)).toEqual(['cancelled']);
  });
});

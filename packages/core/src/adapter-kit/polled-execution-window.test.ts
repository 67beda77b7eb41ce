/**
 * The polled client's account-wide set of booked trade ids is bounded (65,536, oldest dropped
 * first). An order that stays open while the account books more trades than that has its early
 * trade ids dropped from it; the next read of its trades (every poll reads the whole list) must
 * not report them again, nor the trades it had when it was listed. Each followed order keeps the
 * ids of its own counted trades. The driver is in memory; vitest's fake timers drive the polls.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { ExecutionReport } from '../domain/orders.js';
import type { OrderRef, PolledExecutionClient, VenueFill, VenueOrderView } from './polled-execution.js';
import { StubVenue, polledClient, view } from './polled-execution.fixture.js';

const NOW = 100_000_000;
const POLL_MS = 1000;
/** PolledExecutionClient's window of booked trade ids (BoundedIdSet's default). */
const WINDOW = 65_536;

/** Orders by venue id, and every trade of the account. */
class AccountDriver extends StubVenue {
  readonly orders = new Map<string, VenueOrderView>();
  readonly fills: VenueFill[] = [];
  override async fetchOrder(q: OrderRef): Promise<VenueOrderView | undefined> {
    const v = q.venueOrderId !== undefined ? this.orders.get(q.venueOrderId) : [...this.orders.values()].find((o) => o.clientOrderId === q.clientOrderId);
    return v && { ...v };
  }
  override async fetchFills(v: VenueOrderView): Promise<VenueFill[]> {
    return this.fills.filter((f) => f.venueOrderId === v.venueOrderId).map((f) => ({ ...f }));
  }
  override async fetchOpenOrders(): Promise<VenueOrderView[]> {
    return [...this.orders.values()].filter((o) => o.state === 'open').map((o) => ({ ...o }));
  }
  override async fetchFillsSince(_s: readonly string[], since: number): Promise<VenueFill[]> {
    return this.fills.filter((f) => f.ts >= since).map((f) => ({ ...f }));
  }
  /** A trade of `lots` on order `vid` (its filled quantity moves with it). */
  trade(vid: string, tradeId: string, lots: number, ts: number): void {
    const o = this.orders.get(vid)!;
    const filled = Math.round(Number(o.filledQty) * 1000) + lots;
    o.filledQty = (filled / 1000).toFixed(3);
    this.fills.push({ tradeId, venueOrderId: vid, symbol: 'BTC/USD', price: '100.0', qty: (lots / 1000).toFixed(3), fee: '0', feeAsset: 'USD', ts });
  }
}

const order = (vid: string, clientOrderId: string, qty: string) => view({ venueOrderId: vid, clientOrderId, qty, filledQty: '0.000' });

describe('polled client: a long-lived order after the account-wide booked-trade window moved on', () => {
  let client: PolledExecutionClient | undefined;
  beforeEach(() => vi.useFakeTimers());
  afterEach(async () => {
    await client?.stop();
    client = undefined;
    vi.useRealTimers();
  });

  it('a listed order whose prior and reported trades left the window: its next trade is reported, none of its earlier ones again', async () => {
    const clock = new ManualClock(NOW);
    const driver = new AccountDriver();
    driver.orders.set('VA', order('VA', 'cw-long', '0.100'));
    driver.trade('VA', 'A1', 2, NOW - 60_000); // before this process: a prior trade
    client = polledClient(driver, { clock, pollIntervalMs: POLL_MS });
    const reports: ExecutionReport[] = [];
    await client.start((r) => reports.push(r));
    const poll = async () => {
      clock.advance(3 * POLL_MS);
      await vi.advanceTimersByTimeAsync(3 * POLL_MS);
    };
    const fillsOf = (cid: string) => reports.filter((r) => r.kind === 'fill' && r.clientOrderId === cid).map((r) => [r.tradeId, r.lastQty, r.cumQty]);

    expect((await client.openOrders()).map((o) => [o.clientOrderId, o.filledQty])).toEqual([['cw-long', 2]]);
    driver.trade('VA', 'A2', 2, NOW);
    await poll();
    expect(fillsOf('cw-long')).toEqual([['A2', 2, 4]]);

    // another order of the account trades a window's worth of times; reconciliation reads them all
    driver.orders.set('VB', order('VB', 'other', '100.000'));
    for (let n = 0; n < WINDOW; n++) driver.trade('VB', `B${n}`, 1, NOW + 1);
    driver.orders.get('VB')!.state = 'cancelled';
    expect((await client.tradesSince!(['BTC/USD'], NOW - 120_000)).length).toBe(WINDOW + 2);

    // the long-lived order trades again: its whole trade list is read, only the new trade reported
    driver.trade('VA', 'A3', 2, NOW + 2);
    await poll();
    expect(fillsOf('cw-long')).toEqual([['A2', 2, 4], ['A3', 2, 6]]);
  }, 60_000);
});

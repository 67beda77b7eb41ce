/**
 * Restart reconciliation against the orders the polled client follows. The engine asks, in this
 * order: queryOrder for each journal order still open (which puts it under follow), openOrders
 * (working orders the journal never saw: followed from the venue's filled quantity; those the
 * engine adopts it asks about with queryOrder too), then tradesSince. Every trade one of
 * these reads marks as booked must also count in its followed order's total: the polls skip a
 * booked trade, and an order's end waits until its total reaches the venue's filled quantity, so
 * a trade booked but not counted would hold the order open forever (no end report, polled for
 * ever, later fills reported with a cumQty below the real one). The driver is in memory; time is
 * a ManualClock and vitest's fake timers drive the polls.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import type { PolledExecutionClient } from './polled-execution.js';
import { MemoryVenue, fill as venueFill, order as baseOrder, startPolled, view } from './polled-execution.fixture.js';

const POLL_MS = 1000;

const fill = (tradeId: string, qty: string, ts: number) => venueFill(tradeId, qty, { ts });
/** The journal's order, open at the restart. */
const order = (over: Partial<Order> = {}) => baseOrder({ status: 'open', ...over });

describe('PolledExecutionClient: restart reconciliation counts every trade it books in the order it follows', () => {
  let client: PolledExecutionClient | undefined;
  let driver: MemoryVenue;
  let clock: ManualClock;
  let reports: ExecutionReport[];

  beforeEach(async () => {
    vi.useFakeTimers();
    driver = new MemoryVenue();
    clock = new ManualClock(1000);
    ({ client, reports } = await startPolled(driver, { clock, pollIntervalMs: POLL_MS }));
  });
  afterEach(async () => {
    await client?.stop();
    client = undefined;
    vi.useRealTimers();
  });

  /** A few polls. */
  const poll = async (n = 3) => {
    clock.advance(n * POLL_MS);
    await vi.advanceTimersByTimeAsync(n * POLL_MS);
  };
  const fills = () => reports.filter((r) => r.kind === 'fill').map((r) => [r.tradeId, r.lastQty, r.cumQty]);

  it('a trade of a followed order first listed by tradesSince counts: the later fill carries the full cumQty, and the order ends', async () => {
    // restart: the journal's open order is asked about; the venue has it open with 5 of 10 filled (T1)
    driver.view = view({ filledQty: '0.005' });
    driver.fills = [fill('T1', '0.005', 1000)];
    expect(await client!.queryOrder(order({ venueOrderId: 'V1' }))).toMatchObject({ status: 'partially_filled', filledQty: 5 });
    // before the engine's next step (tradesSince), the order trades again (T2), which tradesSince hands over
    driver.view = view({ filledQty: '0.008' });
    driver.fills.push(fill('T2', '0.003', 2000));
    expect((await client!.tradesSince(['BTC/USD'], 0)).map((t) => t.tradeId)).toEqual(['T1', 'T2']);
    // nothing new for the polls: both trades are booked and counted
    await poll();
    expect(fills()).toEqual([]);
    // it trades once more: the poll reports that trade alone, at the real running total
    driver.view = view({ filledQty: '0.009' });
    driver.fills.push(fill('T3', '0.001', 3000));
    await poll();
    expect(fills()).toEqual([['T3', 1, 9]]);
    // the rest is cancelled at the venue: reported, with what the venue executed, and no longer polled
    driver.view = view({ filledQty: '0.009', state: 'cancelled' });
    await poll();
    expect(reports.filter((r) => r.kind === 'cancelled').map((r) => [r.cumQty, r.leavesQty])).toEqual([[9, 0]]);
    expect(client!.workingOrders).toBe(0);
  });

  it("the order's trade list lags at queryOrder and tradesSince lists the trade: the order's later cancel is still reported", async () => {
    driver.view = view({ filledQty: '0.005' });
    driver.fills = [fill('T1', '0.005', 1000)];
    driver.lagReads = 1;
    expect(await client!.queryOrder(order({ venueOrderId: 'V1' }))).toMatchObject({ status: 'open', filledQty: 0, fills: [] });
    // the engine's next step: the account's trades since the journal's last fill
    expect((await client!.tradesSince(['BTC/USD'], 0)).map((t) => t.tradeId)).toEqual(['T1']);
    driver.view = view({ filledQty: '0.005', state: 'cancelled' });
    await poll();
    expect(fills()).toEqual([]);
    expect(reports.filter((r) => r.kind === 'cancelled').map((r) => r.cumQty)).toEqual([5]);
    expect(client!.workingOrders).toBe(0);
  });

  it('an order the engine adopts from openOrders is asked about next: its earlier trade is booked once, by trade id; tradesSince counts a later one; its end follows', async () => {
    driver.view = view({ filledQty: '0.005' });
    driver.fills = [fill('T1', '0.005', 1000)];
    // the journal never saw it; the engine adopts it with nothing filled and asks about it (queryOrder)
    const [listed] = await client!.openOrders();
    expect([listed!.clientOrderId, listed!.filledQty]).toEqual(['c1', 5]);
    const answer = await client!.queryOrder({ ...listed!, filledQty: 0 });
    expect(answer?.fills.map((f) => [f.tradeId, f.lastQty, f.cumQty])).toEqual([['T1', 5, 5]]);
    // it trades again before tradesSince reads the account's trades
    driver.view = view({ filledQty: '0.008' });
    driver.fills.push(fill('T2', '0.003', 2000));
    expect((await client!.tradesSince(['BTC/USD'], 0)).map((t) => t.tradeId)).toEqual(['T1', 'T2']);
    await poll();
    expect(fills()).toEqual([]);
    driver.view = view({ filledQty: '0.008', state: 'cancelled' });
    await poll();
    // never counted twice (5 from the listing + 5 + 3 from the trades), never short
    expect(reports.filter((r) => r.kind === 'cancelled').map((r) => r.cumQty)).toEqual([8]);
    expect(client!.workingOrders).toBe(0);
  });

  it("an adopted order whose trades tradesSince does not reach: the engine's query hands each of them once, by trade id, and the polls only later ones", async () => {
    driver.view = view({ filledQty: '0.005' });
    driver.fills = [fill('T1', '0.005', 1000)];
    const [listed] = await client!.openOrders();
    expect((await client!.queryOrder({ ...listed!, filledQty: 0 }))?.fills.map((f) => f.tradeId)).toEqual(['T1']);
    // the journal's last fill is after T1: tradesSince does not list it
    expect(await client!.tradesSince(['BTC/USD'], 1500)).toEqual([]);
    await poll();
    expect(fills()).toEqual([]);
    driver.view = view({ filledQty: '0.010', state: 'filled' });
    driver.fills.push(fill('T2', '0.005', 2000));
    await poll();
    expect(fills()).toEqual([['T2', 5, 10]]);
    expect(client!.workingOrders).toBe(0);
  });

  // openOrders lists every working order of the account, also one the engine leaves alone (an id
  // it does not issue, placed by hand): such an order's trades before the journal began are no
  // one's to book, so a listed order the engine does not ask about is followed from the venue's
  // filled quantity, and only its trades from then on are reported.
  it('an order only listed is followed from the venue\'s filled quantity: its earlier trade is never reported, a later one is, at the running total', async () => {
    driver.view = view({ clientOrderId: 'manual-1', filledQty: '0.005' });
    driver.fills = [fill('T-OLD', '0.005', 1000)];
    await client!.openOrders();
    await poll();
    expect(fills()).toEqual([]);
    driver.view = view({ clientOrderId: 'manual-1', filledQty: '0.008' });
    driver.fills.push(fill('T2', '0.003', 2000));
    await poll();
    expect(fills()).toEqual([['T2', 3, 8]]);
    driver.view = view({ clientOrderId: 'manual-1', filledQty: '0.008', state: 'cancelled' });
    await poll();
    expect(reports.filter((r) => r.kind === 'cancelled').map((r) => r.cumQty)).toEqual([8]);
    expect(client!.workingOrders).toBe(0);
  });

  it('tradesSince lists a listed order\'s earlier trade and one made since: only the later one counts in its total, and its end follows', async () => {
    driver.view = view({ clientOrderId: 'manual-1', filledQty: '0.005' });
    driver.fills = [fill('T-OLD', '0.005', 1000)];
    await client!.openOrders();
    driver.view = view({ clientOrderId: 'manual-1', filledQty: '0.008' });
    driver.fills.push(fill('T2', '0.003', 2000));
    // both are handed to the engine (which books them or not by its own rules), neither reported again
    expect((await client!.tradesSince(['BTC/USD'], 0)).map((t) => t.tradeId)).toEqual(['T-OLD', 'T2']);
    await poll();
    expect(fills()).toEqual([]);
    // a later trade is reported at the venue's running total: 5 listed + 3 + 2
    driver.view = view({ clientOrderId: 'manual-1', filledQty: '0.010', state: 'filled' });
    driver.fills.push(fill('T3', '0.002', 3000));
    await poll();
    expect(fills()).toEqual([['T3', 2, 10]]);
    expect(client!.workingOrders).toBe(0);
  });

  it("a listed order whose trade list lags: the earlier trades it had are claimed as they appear, never reported", async () => {
    driver.view = view({ clientOrderId: 'manual-1', filledQty: '0.005' });
    driver.fills = [fill('T-OLD1', '0.002', 900), fill('T-OLD2', '0.003', 1000)];
    await client!.openOrders();
    // it trades; the trade list shows only its first trade for one read
    driver.view = view({ clientOrderId: 'manual-1', filledQty: '0.007' });
    driver.fills.push(fill('T2', '0.002', 2000));
    const all = driver.fills;
    driver.fills = [all[0]!];
    await poll(1);
    driver.fills = all;
    await poll();
    expect(fills()).toEqual([['T2', 2, 7]]);
  });

  it('queryOrder counts a trade its trade list names twice once: the order is followed from the real total, and a later fill before a cancel is booked', async () => {
    // a driver joining several reads of the list (Bybit's 7-day windows by orderId) hands T1 twice
    driver.view = view({ filledQty: '0.004' });
    driver.fills = [fill('T1', '0.004', 1000), fill('T1', '0.004', 1000)];
    const st = await client!.queryOrder(order({ venueOrderId: 'V1' }));
    expect(st).toMatchObject({ status: 'partially_filled', filledQty: 4 });
    expect(st!.fills.map((f) => [f.tradeId, f.cumQty])).toEqual([['T1', 4]]);
    driver.view = view({ filledQty: '0.008', state: 'cancelled' });
    driver.fills.push(fill('T2', '0.004', 2000));
    await poll();
    expect(fills()).toEqual([['T2', 4, 8]]);
    expect(reports.filter((r) => r.kind === 'cancelled').map((r) => r.cumQty)).toEqual([8]);
  });

  it("tradesSince: a trade whose order the venue no longer answers for is reported under the client id queryOrder read it by; the order's creation time is passed to the reads", async () => {
    driver.view = view({ filledQty: '0.010', state: 'filled' });
    driver.fills = [fill('T1', '0.010', 1000)];
    expect(await client!.queryOrder(order({ venueOrderId: 'V1', createdTs: 500 }))).toMatchObject({ status: 'filled', filledQty: 10 });
    expect(driver.refs.at(-1)).toMatchObject({ venueOrderId: 'V1', createdTs: 500 });
    // its history no longer reaches the order
    driver.view = undefined;
    const trades = await client!.tradesSince(['BTC/USD'], 0);
    expect(trades.map((t) => [t.tradeId, t.clientOrderId, t.side, t.lastQty])).toEqual([['T1', 'c1', 'buy', 10]]);
    expect(driver.refs.at(-1)).toMatchObject({ venueOrderId: 'V1', createdTs: 500 });
  });

  it('tradesSince: a trade of an unreadable order never seen here is reported as that venue order\'s, with the side the trade names; without a side the read fails', async () => {
    driver.fills = [{ ...fill('T9', '0.002', 1000), venueOrderId: 'V9', side: 'sell' }];
    const trades = await client!.tradesSince(['BTC/USD'], 0);
    expect(trades.map((t) => [t.tradeId, t.clientOrderId, t.venueOrderId, t.side, t.lastQty])).toEqual([['T9', 'V9', 'V9', 'sell', 2]]);
    driver.fills = [{ ...fill('T8', '0.002', 1000), venueOrderId: 'V8' }];
    await expect(client!.tradesSince(['BTC/USD'], 0)).rejects.toThrow(/T8 names order V8, which the venue did not answer for/);
  });
});

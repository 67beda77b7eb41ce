/**
 * Reconciliation books the fills of steps 1 and 2 together, after both, in the venue's order
 * (reconcile.ts, bookInVenueOrder): what must still hold when booking waits for every read.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import type { RiskConfig } from '../config/types.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager } from '../risk/manager.js';
import { Engine } from './engine.js';
import type { ClosedOrderRetention } from './order-manager.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 100_000, max_drawdown: 0.5, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };
const snapshot = (seq: number): BookSnapshotEvent => ({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] });

function engineOn(path: string, venue: ScriptedVenue, closedOrders?: ClosedOrderRetention) {
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 1_000_000, timers: false });
  const engine = new Engine({
    clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, journal: store, onShutdown: 'keep', onReconcileMismatch: 'halt',
    ...(closedOrders ? { closedOrders } : {}),
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  attachJournal(engine, store, silentLogger());
  return engine;
}

const fill = (o: Order, qty: number, tradeId: unknown, ts: number): ExecutionReport =>
  ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: o.clientOrderId, side: o.side, lastPrice: o.price!, lastQty: qty, cumQty: qty, leavesQty: o.qty - qty, feeAtoms: 0n, liquidity: 'maker', tradeId: tradeId as string, ts });

/**
 * A first run: `orders` limit buys of `qty` lots acked (each left working, on_shutdown = keep),
 * then `cancel` of them cancelled (closed in the journal). Returns the orders as the venue got them.
 */
async function firstRun(path: string, n: number, cancel: number[] = [], closedOrders?: ClosedOrderRetention): Promise<Order[]> {
  const v = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
  const a = engineOn(path, v, closedOrders);
  await a.start();
  v.sink!.onMarketEvent(snapshot(1));
  for (let i = 0; i < n; i++) {
    expect(a.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 10, tif: 'GTC', source: 'test' }).accepted).toBe(true);
    v.report(v.submitted[i]!, { kind: 'ack', venueOrderId: `V${i}` });
  }
  for (const i of cancel) v.report(v.submitted[i]!, { kind: 'cancelled' });
  await a.stop('SIGTERM');
  return v.submitted.map((o, i) => ({ ...o, venueOrderId: `V${i}` }));
}

/**
 * One journaled order working at the venue, restarted against a venue whose answer about it
 * holds `answer(o)` (its filled quantity their sum) and whose trade list `trades(o, v)` returns.
 */
async function restartWithOneOrder(answer: (o: Order) => ExecutionReport[], trades: (o: Order, v: ScriptedVenue) => Promise<ExecutionReport[]>) {
  const path = join(mkdtempSync(join(tmpdir(), 'cwts-reconcile-booking-')), 'j.db');
  const [o] = await firstRun(path, 1);
  const v = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
  const fills = answer(o!);
  v.orderStatus.set(o!.clientOrderId, { clientOrderId: o!.clientOrderId, status: 'partially_filled', filledQty: fills.reduce((n, f) => n + f.lastQty, 0), fills });
  v.tradesSince = () => trades(o!, v);
  const b = engineOn(path, v);
  await b.start();
  return { o: o!, b };
}

/** The order and the position hold `qty` lots, and reconciliation found nothing wrong. */
async function expectBooked({ o, b }: Awaited<ReturnType<typeof restartWithOneOrder>>, qty: number) {
  expect(b.orders.get(o.clientOrderId)?.filledQty).toBe(qty);
  expect(b.portfolio.qty('v', 'BTCUSDT')).toBe(qty);
  expect(b.reconcileResult!.mismatches.map((m) => `${m.kind}: ${m.detail}`)).toEqual([]);
  expect(b.riskState.state).toBe('ACTIVE');
  await b.stop('test');
}

describe('reconciliation books the fills of steps 1 and 2 after both', () => {
  it('an order that fills again between its query and the trade list is no status mismatch (no HALT)', async () => {
    // The order kept working at the venue while we were down: 5 lots filled when it is asked
    // about; 3 more fill before the trade list is read (reconciliation of many orders takes
    // seconds to minutes on a rate-limited venue). Both fills are the venue's, both are new.
    // The status check is of the venue's answer (5 lots): the later trade is not in its count.
    const run = await restartWithOneOrder(
      (o) => [fill(o, 5, '100', 2_000)],
      async (o) => [fill(o, 5, '100', 2_000), fill(o, 3, '101', 3_000)],
    );
    await expectBooked(run, 8);
  });

  it('a live fill the execution stream delivers while reconciliation reads the trade list is no status mismatch (no HALT)', async () => {
    // The execution client is started before reconciliation: its stream books t2 live while the
    // trade list is being read (the order still works at the venue).
    const run = await restartWithOneOrder(
      (o) => [fill(o, 5, '100', 2_000)],
      async (o, v) => {
        v.onReport!(fill(o, 3, '101', 3_000));
        return [fill(o, 5, '100', 2_000), fill(o, 3, '101', 3_000)];
      },
    );
    await expectBooked(run, 8);
  });

  it('a fill of the venue\'s answer that the live stream books first is counted once, and is no status mismatch', async () => {
    // the stream delivers the answer's own fill while the trade list is read: booked live, so
    // the answer's copy is a duplicate when its turn comes
    const run = await restartWithOneOrder(
      (o) => [fill(o, 5, '100', 2_000)],
      async (o, v) => {
        v.onReport!(fill(o, 5, '100', 2_000));
        return [fill(o, 5, '100', 2_000)];
      },
    );
    await expectBooked(run, 5);
  });

  it('a fill without a trade id that the venue lists in its answer and in its trade list is booked once', async () => {
    // a third-party adapter whose venue gives fills no id
    const run = await restartWithOneOrder(
      (o) => [fill(o, 4, undefined, 2_000)],
      async (o) => [fill(o, 4, undefined, 2_000)],
    );
    await expectBooked(run, 4);
  });

  it('a trade id that is not a string (an adapter bug) is refused alone: the venue\'s other recovered fills are booked and its filled order closed', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-reconcile-booking-')), 'j.db');
    const [a, b] = await firstRun(path, 2);
    const v = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    // a's fill is well formed; b's carries a numeric trade id (a third-party adapter that did not
    // stringify the venue's JSON number): the engine's own check refuses it as an `id` problem.
    const good = fill(a!, 10, '100', 5_000);
    const bad = fill(b!, 10, 101, 5_000);
    v.orderStatus.set(a!.clientOrderId, { clientOrderId: a!.clientOrderId, status: 'filled', filledQty: 10, fills: [good] });
    v.orderStatus.set(b!.clientOrderId, { clientOrderId: b!.clientOrderId, status: 'open', filledQty: 0, fills: [] });
    v.tradesSince = async () => [good, bad];
    const e = engineOn(path, v);
    await e.start();
    // Sorting must not trip over it (a TypeError there was a "venue unreachable" that booked and
    // closed nothing of this venue).
    expect(e.reconcileResult!.mismatches.filter((m) => m.kind === 'venue_unreachable')).toEqual([]);
    expect(e.portfolio.qty('v', 'BTCUSDT')).toBe(10);
    expect(e.orders.get(a!.clientOrderId)?.status).toBe('filled');
    await e.stop('test');
  });

  it('a late fill of a closed order read in step 2 is not lost when booking an earlier fill makes the order manager forget that order', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-reconcile-booking-')), 'j.db');
    // Closed-order retention of one order (the defaults behave the same with more than 1,000
    // closed orders held and a restart more than 10 minutes after they closed).
    const closedOrders: ClosedOrderRetention = { minClosed: 0, closedMs: 3_600_000, maxClosed: 1 };
    // x is cancelled (closed in the journal); a stays working.
    const [x, a] = await firstRun(path, 2, [0], closedOrders);
    const v = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    // While down: a filled (ts 1000) and x's fill after its cancel ack came (ts 2000), which the
    // journal never got (a crash between the cancel and the fill, or a backup restored).
    const ta = fill(a!, 10, '100', 1_000);
    const tx = fill(x!, 10, '101', 2_000);
    v.orderStatus.set(a!.clientOrderId, { clientOrderId: a!.clientOrderId, status: 'filled', filledQty: 10, fills: [ta] });
    v.tradesSince = async () => [ta, tx];
    const e = engineOn(path, v, closedOrders);
    await e.start();
    // Both fills are the venue's: 20 lots. Step 2 found x held (closed) and queued its fill;
    // booking a's fill first closed a, which made retention forget x. x's fill is then booked as
    // a trade of an order not held (adopted), never dropped as a report of an unknown order.
    expect(e.portfolio.qty('v', 'BTCUSDT')).toBe(20);
    await e.stop('test');
  });
});

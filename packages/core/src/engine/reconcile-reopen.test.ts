/**
 * Step 1b of reconciliation (reconcile.ts) meets a working order at the venue that is closed
 * here: the journal closed it (a cancel the venue sent by mistake, a close reconciliation
 * assumed), and the venue still lists it working, so it can still fill. It is opened again and
 * journaled so (OrderManager.reopen, REOPENED_TEXT), whether still held in memory or forgotten
 * since; answered unknown by the venue, it stays closed with what the journal booked on it.
 * Before: a held one was passed over (closed here, working there), a reopen lived only in that
 * run's memory (the next start had it closed again), and one the venue answered unknown was
 * followed as open for the whole run.
 */
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import type { OrderStatusReport } from '../contracts/exchange.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { REOPENED_TEXT, type ClosedOrderRetention } from './order-manager.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const T = 1_000_000;
const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const PRICE = 5_000_000;
/** A pid above Linux's pid_max: the journal sees its lock as left by a dead process (a crash). */
const DEAD = { pid: 2 ** 22 + 777, host: hostname() };
/** Every closed order forgotten at once (the replay too): the journal's notes are all there is. */
const NONE_HELD: ClosedOrderRetention = { minClosed: 0, closedMs: 0, maxClosed: 0 };

const snapshot = (seq: number): BookSnapshotEvent => ({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: PRICE, qty: 100_000 }], asks: [{ price: PRICE + 100, qty: 100_000 }] });
const fill = (clientOrderId: string, qty: number, tradeId: string, ts: number): ExecutionReport =>
  ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId, side: 'buy', lastPrice: PRICE, lastQty: qty, leavesQty: 0, cumQty: 0, feeAtoms: 7n, liquidity: 'maker', tradeId, ts });
const listed = (clientOrderId: string): Order =>
  ({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: PRICE, qty: 3, tif: 'GTC', source: 'venue', clientOrderId, venueOrderId: 'V1', status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: T, updatedTs: T });

/** One process lifetime on the journal at `path`: restore, start (reconciliation), and a kill -9 to end it. */
async function boot(path: string, venue: ScriptedVenue, run: number, closedOrders?: ClosedOrderRetention) {
  const clock = new ManualClock(T + run * 60_000);
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, owner: DEAD });
  const logger = silentLogger();
  const engine = new Engine({
    clock, logger, metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, journal: store, onShutdown: 'keep', ...(closedOrders ? { closedOrders } : {}),
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  attachJournal(engine, store, logger, clock.now());
  await engine.start();
  const kill = () => {
    store.flush();
    store.close({ clean: false });
  };
  return { clock, engine, store, kill };
}

/**
 * Run 1: an order of 3 lots fills 1 (trade t1), then the venue reports it cancelled (by mistake:
 * it still works it). Returns the journal, the order's id and its first fill.
 */
async function closedWithOneFill(closedOrders?: ClosedOrderRetention) {
  const path = join(mkdtempSync(join(tmpdir(), 'cwts-reopen-')), 'j.db');
  const venue = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
  const run = await boot(path, venue, 1, closedOrders);
  venue.sink!.onMarketEvent(snapshot(1));
  const sent = run.engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: PRICE, qty: 3, tif: 'GTC', source: 'test' });
  expect(sent.accepted, sent.message).toBe(true);
  const id = sent.clientOrderId!;
  const o = venue.submitted[0]!;
  venue.report(o, { kind: 'ack', venueOrderId: 'V1', ts: run.clock.now() });
  const t1 = fill(id, 1, 't1', run.clock.now());
  venue.onReport!(t1);
  venue.report(o, { kind: 'cancelled', ts: run.clock.now() });
  expect(run.engine.orders.allOpen()).toEqual([]);
  run.kill();
  return { path, id, t1 };
}

/** A venue that still works the order: listed, answered with t1 and a fill made since (t2); its trade list has both. */
function stillWorking(id: string, t1: ExecutionReport, t2: ExecutionReport): ScriptedVenue {
  const venue = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
  venue.venueOpen = [listed(id)];
  const answer: OrderStatusReport = { clientOrderId: id, venueOrderId: 'V1', status: 'partially_filled', filledQty: 2, fills: [t1, t2] };
  venue.orderStatus.set(id, answer);
  venue.trades = [t1, t2];
  return venue;
}

const statusFindings = (e: Engine, id: string) => e.reconcileResult!.mismatches.filter((m) => m.clientOrderId === id && m.kind === 'status').map((m) => m.detail);
const open = (e: Engine) => e.orders.allOpen().map((o) => [o.clientOrderId, o.status, o.filledQty]);

describe('step 1b: an order closed here that the venue lists as working', () => {
  for (const [held, closedOrders] of [['held in memory', undefined], ['forgotten (closed-order retention)', NONE_HELD]] as const) {
    it(`${held}: opened again, its new fill booked once, and journaled open, so the next start has it open`, async () => {
      const { path, id, t1 } = await closedWithOneFill(closedOrders);
      const t2 = fill(id, 1, 't2', T + 90_000);

      // run 2: the venue still works it, with a fill made while down
      const venue = stillWorking(id, t1, t2);
      const run2 = await boot(path, venue, 2, closedOrders);
      expect(run2.engine.restoredFrom).toMatchObject({ openOrders: 0 });
      expect(run2.engine.reconciled).toBe(true);
      expect(open(run2.engine)).toEqual([[id, 'partially_filled', 2]]);
      expect(run2.engine.portfolio.qty('v', 'BTCUSDT')).toBe(2);
      expect(statusFindings(run2.engine, id)).toEqual([expect.stringMatching(/closed in the journal with 1 lots filled, and working at the venue: followed again as working/)]);
      // the reopen is in the journal, as the ack record an order's open path writes
      run2.store.flush();
      expect(run2.store.database.prepare("SELECT count(*) FROM execution_reports WHERE client_id = ? AND kind = 'ack' AND status_after = 'partially_filled'").pluck().get(id)).toBe(1);
      run2.kill();

      // run 3 (after a crash): restored open, asked about as such (step 1), its fills not booked again
      const run3 = await boot(path, stillWorking(id, t1, t2), 3, closedOrders);
      expect(run3.engine.restoredFrom).toMatchObject({ openOrders: 1, fills: 2 });
      expect(run3.engine.reconciled).toBe(true);
      expect(open(run3.engine)).toEqual([[id, 'partially_filled', 2]]);
      expect(run3.engine.portfolio.qty('v', 'BTCUSDT')).toBe(2);
      expect(run3.engine.reconcileResult!.mismatches).toEqual([]);
      // a fill of it now books onto an open order, once
      const t3 = fill(id, 1, 't3', T + 200_000);
      const live = run3.engine.venue('v')!.execution as ScriptedVenue;
      live.onReport!(t3);
      live.onReport!(t3);
      expect(run3.engine.portfolio.qty('v', 'BTCUSDT')).toBe(3);
      expect(run3.engine.orders.allOpen()).toEqual([]);
      // (with no closed order kept, it leaves memory as it fills)
      if (closedOrders === undefined) expect(run3.engine.orders.get(id)).toMatchObject({ status: 'filled', filledQty: 3 });
      run3.kill();
    });

    it(`${held}: answered unknown when asked, it stays closed with the fill the journal booked`, async () => {
      const { path, id, t1 } = await closedWithOneFill(closedOrders);
      const venue = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
      venue.venueOpen = [listed(id)];
      venue.trades = [t1];
      // listed a moment ago, unknown now (step 1's rule for an order the venue does not know: closed)
      venue.queryOrder = async () => undefined;
      const run2 = await boot(path, venue, 2, closedOrders);
      expect(run2.engine.reconciled).toBe(true);
      expect(run2.engine.orders.allOpen()).toEqual([]);
      expect(run2.engine.portfolio.qty('v', 'BTCUSDT')).toBe(1);
      expect(statusFindings(run2.engine, id)).toEqual([]);
      run2.kill();
      const run3 = await boot(path, stillWorking(id, t1, fill(id, 1, 't2', T + 90_000)), 3, closedOrders);
      // nothing journaled it open
      expect(run3.engine.restoredFrom).toMatchObject({ openOrders: 0, fills: 1 });
      run3.kill();
    });
  }

  it('a venue ack carrying the reopen record\'s text is refused live: a restart would have replayed it as a reopen', async () => {
    const { path, id, t1 } = await closedWithOneFill();
    const venue = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    venue.trades = [t1];
    const run2 = await boot(path, venue, 2);
    venue.report(listed(id), { kind: 'ack', text: REOPENED_TEXT, ts: T + 120_000 });
    expect(run2.engine.orders.allOpen()).toEqual([]);
    run2.kill();
    const run3 = await boot(path, new ScriptedVenue('v', [BTC], { canTrade: true }, false), 3);
    expect(run3.engine.restoredFrom).toMatchObject({ openOrders: 0 });
    expect(run3.engine.orders.get(id)).toMatchObject({ status: 'cancelled', filledQty: 1 });
    run3.kill();
  });
});

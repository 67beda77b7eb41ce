/**
 * Step 1b of reconciliation adopts the working orders a venue lists that the journal does not
 * hold open (reconcile.ts). A listed id that is not held in memory is not always one the journal
 * never saw: the journal may hold it closed (closed-order retention forgot it), or this process
 * may have issued it in this run. Adopted as new, such an order got a second order record under
 * its id and its fills so far were booked again from the venue's answer (their trade ids left
 * memory with it), and an id issued here was followed as a working order of a venue it was never
 * sent to.
 */
import { describe, expect, it, vi } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import type { OrderStatusReport } from '../contracts/exchange.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument, type Instrument } from '../domain/instrument.js';
import type { ExecutionReport, Order, OrderIntent } from '../domain/orders.js';
import type { JournalRecord } from '../journal/records.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { HandTimers, ScriptedVenue } from './test-venue.js';

const T = 1_000_000;
const instrumentOn = (exchange: string): Instrument => defineInstrument({ exchange, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot = (exchange: string): BookSnapshotEvent => ({ type: 'book_snapshot', exchange, symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] });
const buy = (exchange: string, qty: number): OrderIntent => ({ exchange, symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty, tif: 'GTC', source: 'test', reason: 'test' });
const fill = (exchange: string, clientOrderId: string, qty: number, tradeId: string, ts: number): ExecutionReport =>
  ({ kind: 'fill', exchange, symbol: 'BTCUSDT', clientOrderId, venueOrderId: `V${clientOrderId}`, side: 'buy', lastPrice: 5_000_000, lastQty: qty, leavesQty: 0, cumQty: 0, feeAtoms: 0n, liquidity: 'maker', tradeId, ts });
const listed = (exchange: string, clientOrderId: string, qty = 2): Order =>
  ({ exchange, symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty, tif: 'GTC', source: 'venue', clientOrderId, venueOrderId: `V${clientOrderId}`, status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: T - 5000, updatedTs: T - 5000 });

async function settle(): Promise<void> {
  for (let k = 0; k < 20; k++) await new Promise<void>((r) => setImmediate(r));
}

/** A venue whose trade list cannot be read until the function returned is called. */
function failingTrades(v: ScriptedVenue): () => void {
  const read = v.tradesSince.bind(v);
  let reachable = false;
  v.tradesSince = async (symbols, since) => {
    if (!reachable) throw new Error('HTTP 503');
    return read(symbols, since);
  };
  return () => (reachable = true);
}

/** Closed orders are forgotten once closed for a second, at the next close. */
const RETENTION = { minClosed: 0, closedMs: 1000, maxClosed: 1000 };

function journalOf(engine: Engine): JournalRecord[] {
  const out: JournalRecord[] = [];
  const journal = engine.journal.bind(engine);
  vi.spyOn(engine, 'journal').mockImplementation((rec) => {
    out.push(rec);
    journal(rec);
  });
  return out;
}

/**
 * Venue `down` lists cw-5 (2 lots, 1 filled: trade x1) and cw-6; the first attempt adopts both,
 * books x1, then fails reading trades. cw-6 is cancelled two seconds later, which forgets every
 * order closed before it.
 */
async function adoptedThenFailed() {
  const down = new ScriptedVenue('down', [instrumentOn('down')], { canTrade: true }, false);
  down.venueOpen = [listed('down', 'cw-5'), listed('down', 'cw-6')];
  const x1 = fill('down', 'cw-5', 1, 'x1', T - 4000);
  down.orderStatus.set('cw-5', { clientOrderId: 'cw-5', status: 'partially_filled', filledQty: 1, fills: [x1] });
  const up = failingTrades(down);
  const timers = new HandTimers();
  const clock = new ManualClock(T);
  const engine = new Engine({
    clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, timers, closedOrders: RETENTION,
    venues: [{ name: 'down', symbols: ['BTCUSDT'], marketData: down, execution: down }],
  });
  const journaled = journalOf(engine);
  await engine.start();
  expect(engine.reconciled).toBe(false);
  expect(engine.orders.get('cw-5')).toMatchObject({ status: 'partially_filled', filledQty: 1 });
  expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(1);
  const other = engine.orders.get('cw-6')!;
  const forget = () => {
    clock.advance(2000);
    down.report(other, { kind: 'cancelled', ts: clock.now() });
  };
  return { engine, down, timers, up, forget, x1, journaled };
}

const orderRecords = (journaled: JournalRecord[], id: string) => journaled.filter((r) => r.t === 'order' && r.order.clientOrderId === id);

describe('step 1b: a listed working order under an id the journal holds closed, or one issued in this run', () => {
  it('closed in the journal and forgotten, still listed (a stale list), answered filled: its fills are not booked a second time', async () => {
    const { engine, down, timers, up, forget, x1, journaled } = await adoptedThenFailed();
    // the stream fills the rest: cw-5 closes and is forgotten
    const x2 = fill('down', 'cw-5', 1, 'x2', T + 100);
    down.onReport!(x2);
    forget();
    expect(engine.orders.get('cw-5')).toBeUndefined();
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(2);
    // the venue's open-order list lags: it still names cw-5, whose answer says filled
    down.orderStatus.set('cw-5', { clientOrderId: 'cw-5', status: 'filled', filledQty: 2, fills: [x1, x2] });
    down.venueOpen = [listed('down', 'cw-5')];
    down.trades = [x1, x2];
    up();
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
    const mismatches = engine.reconcileResult!.mismatches;
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(2);
    // one order record of cw-5 (the first attempt's adoption), not a second one
    expect(orderRecords(journaled, 'cw-5')).toHaveLength(1);
    expect(mismatches.filter((m) => m.kind === 'unknown_order' && m.clientOrderId === 'cw-5').map((m) => m.detail)).toEqual([expect.stringMatching(/: adopted$/)]);
    // its booked fills are not offered again (refused past its quantity: a false finding)
    expect(mismatches.filter((m) => m.kind === 'status')).toEqual([]);
    expect(engine.orders.allOpen().map((o) => o.clientOrderId)).toEqual([]);
    await engine.stop('test');
  });

  it('closed in the journal and forgotten, working at the venue: followed again once, as open, with its fills booked once', async () => {
    const { engine, down, timers, up, forget, x1, journaled } = await adoptedThenFailed();
    // the stream says cancelled (a venue's mistaken report): cw-5 closes and is forgotten
    down.report(engine.orders.get('cw-5')!, { kind: 'cancelled', ts: T + 100 });
    forget();
    expect(engine.orders.get('cw-5')).toBeUndefined();
    // the venue still works it, with the fill the journal has, and one made since
    const x2 = fill('down', 'cw-5', 1, 'x2', T + 200);
    const answer: OrderStatusReport = { clientOrderId: 'cw-5', status: 'partially_filled', filledQty: 1, fills: [x1] };
    down.orderStatus.set('cw-5', answer);
    down.venueOpen = [listed('down', 'cw-5')];
    down.trades = [x1];
    up();
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
    const mismatches = engine.reconcileResult!.mismatches;
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(1);
    expect(orderRecords(journaled, 'cw-5')).toHaveLength(1);
    // followed as working, once: counted by the risk checks, cancelled by a HALT
    expect(engine.orders.allOpen().map((o) => [o.clientOrderId, o.qty, o.filledQty])).toEqual([['cw-5', 2, 1]]);
    expect(mismatches.filter((m) => m.clientOrderId === 'cw-5' && m.kind === 'status').map((m) => m.detail)).toEqual([expect.stringMatching(/closed in the journal.*working at the venue/)]);
    // a later fill of it books once, onto it
    down.onReport!(x2);
    down.onReport!(x2);
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(2);
    expect(engine.orders.get('cw-5')).toMatchObject({ status: 'filled', filledQty: 2 });
    await engine.stop('test');
  });

  it('issued in this run on another venue and forgotten: listed on the venue retried, it is left alone, never adopted', async () => {
    const down = new ScriptedVenue('down', [instrumentOn('down')], { canTrade: true }, false);
    const ok = new ScriptedVenue('ok', [instrumentOn('ok')], { canTrade: true }, false);
    const up = failingTrades(down);
    const timers = new HandTimers();
    const clock = new ManualClock(T);
    const engine = new Engine({
      clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, timers, closedOrders: RETENTION,
      venues: [
        { name: 'down', symbols: ['BTCUSDT'], marketData: down, execution: down },
        { name: 'ok', symbols: ['BTCUSDT'], marketData: ok, execution: ok },
      ],
    });
    const journaled = journalOf(engine);
    await engine.start();
    ok.sink!.onMarketEvent(snapshot('ok'));
    const a = engine.submit(buy('ok', 1));
    const b = engine.submit(buy('ok', 1));
    expect(a.accepted && b.accepted).toBe(true);
    const id = a.clientOrderId!;
    ok.report(ok.submitted[0]!, { kind: 'fill', lastPrice: 5_000_000, lastQty: 1, tradeId: 'k1', ts: T + 100 });
    clock.advance(2000);
    ok.report(ok.submitted[1]!, { kind: 'cancelled', ts: clock.now() });
    expect(engine.orders.get(id)).toBeUndefined();
    // the venue retried lists a working order under that id (a mangled echo, another program reusing it)
    down.venueOpen = [listed('down', id)];
    up();
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
    const mismatches = engine.reconcileResult!.mismatches;
    expect(engine.orders.get(id)).toBeUndefined();
    expect(engine.orders.allOpen()).toEqual([]);
    // nothing journaled for it by reconciliation (the order's own record went to the journal at submit)
    expect(orderRecords(journaled, id)).toEqual([]);
    expect(mismatches.filter((m) => m.clientOrderId === id).map((m) => [m.kind, m.detail])).toEqual([['unknown_order', expect.stringMatching(/made by this process in this run.*left alone/)]]);
    expect({ down: engine.portfolio.qty('down', 'BTCUSDT'), ok: engine.portfolio.qty('ok', 'BTCUSDT') }).toEqual({ down: 0, ok: 1 });
    await engine.stop('test');
  });
});

/**
 * An order this process journaled in this run (adopted by a reconciliation attempt that then
 * failed, or sent on another venue), and a journaled order filled live after the restore, that
 * left memory (closed-order retention) before a reconciliation retry: the retry's trade list
 * answers a trade of it. Only orders the journal held at the restore were known then, with the
 * fills the journal had: a trade of any other one was adopted as a new order under its id (an
 * overfill booked, "an order the journal never saw" reported), and one of a restored order was
 * checked against its fill count as restored, not as it left memory. Now each is checked against
 * the order as it left memory, as the restore path checks a journaled order's.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument, type Instrument } from '../domain/instrument.js';
import type { ExecutionReport, Order, OrderIntent } from '../domain/orders.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { HandTimers, ScriptedVenue } from './test-venue.js';

const T = 1_000_000;
const instrumentOn = (exchange: string): Instrument => defineInstrument({ exchange, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot = (exchange: string): BookSnapshotEvent => ({ type: 'book_snapshot', exchange, symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] });
const buy = (exchange: string, qty: number): OrderIntent => ({ exchange, symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty, tif: 'GTC', source: 'test', reason: 'test' });
const fill = (exchange: string, clientOrderId: string, qty: number, tradeId: string, ts: number): ExecutionReport =>
  ({ kind: 'fill', exchange, symbol: 'BTCUSDT', clientOrderId, venueOrderId: 'V5', side: 'buy', lastPrice: 5_000_000, lastQty: qty, leavesQty: 0, cumQty: 0, feeAtoms: 0n, liquidity: 'maker', tradeId, ts });

async function settle(): Promise<void> {
  for (let k = 0; k < 20; k++) await new Promise<void>((r) => setImmediate(r));
}

/** A venue whose trade list cannot be read until `up()`. */
function failingTrades(v: ScriptedVenue): () => void {
  const read = v.tradesSince.bind(v);
  let reachable = false;
  v.tradesSince = async (symbols, since) => {
    if (!reachable) throw new Error('HTTP 503');
    return read(symbols, since);
  };
  return () => (reachable = true);
}

/**
 * Closed orders are forgotten once closed for a second, at the next close: as 10 minutes of other
 * venues' orders would make it, while an order brought back for a trade stays for its booking.
 */
const RETENTION = { minClosed: 0, closedMs: 1000, maxClosed: 1000 };

/** Closes `other` two seconds on, which forgets every order closed before. */
function forgetClosed(venue: ScriptedVenue, clock: ManualClock, other: Order): void {
  clock.advance(2000);
  venue.report(other, { kind: 'cancelled', ts: clock.now() });
}

/**
 * Venue `down` lists cw-5 (2 lots, of our id form, not journaled) and cw-6: the first attempt
 * adopts them, then fails.
 */
async function adoptedThenFailed() {
  const down = new ScriptedVenue('down', [instrumentOn('down')], { canTrade: true }, false);
  const listed = (clientOrderId: string): Order => ({ exchange: 'down', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 2, tif: 'GTC', source: 'venue', clientOrderId, venueOrderId: `V${clientOrderId}`, status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: T - 5000, updatedTs: T - 5000 });
  down.venueOpen = [listed('cw-5'), listed('cw-6')];
  const up = failingTrades(down);
  const timers = new HandTimers();
  const clock = new ManualClock(T);
  const engine = new Engine({
    clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, timers, closedOrders: RETENTION,
    venues: [{ name: 'down', symbols: ['BTCUSDT'], marketData: down, execution: down }],
  });
  await engine.start();
  expect(engine.reconciled).toBe(false);
  expect(engine.orders.get('cw-5')).toMatchObject({ status: 'open', qty: 2 });
  const other = engine.orders.get('cw-6')!;
  down.venueOpen = [];
  return { engine, down, timers, up, forget: () => forgetClosed(down, clock, other) };
}

describe('a reconciliation retry, and an order of this run that has left memory', () => {
  it('adopted by the failed attempt and filled: a further trade past its quantity is refused (status), never adopted as a new order', async () => {
    const { engine, down, timers, up, forget } = await adoptedThenFailed();
    // the stream still works: it fills, is booked, closes and is forgotten
    const x1 = fill('down', 'cw-5', 2, 'x1', T + 100);
    down.onReport!(x1);
    forget();
    expect(engine.orders.get('cw-5')).toBeUndefined();
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(2);
    // back: the trade list answers x1 and the same fill again under another trade id
    up();
    down.trades = [x1, fill('down', 'cw-5', 2, 'x2', T + 101)];
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
    const mismatches = engine.reconcileResult!.mismatches;
    expect({ position: engine.portfolio.qty('down', 'BTCUSDT'), adopted: mismatches.filter((m) => m.kind === 'unknown_trade') }).toEqual({ position: 2, adopted: [] });
    expect(mismatches.filter((m) => m.kind === 'status').map((m) => [m.clientOrderId, m.detail])).toEqual([['cw-5', expect.stringMatching(/trade x2 .*past its quantity.*not booked/)]]);
    await engine.stop('test');
  });

  it('adopted by the failed attempt and cancelled: a trade that crossed the cancel is booked onto it, not onto a new order', async () => {
    const { engine, down, timers, up, forget } = await adoptedThenFailed();
    const x1 = fill('down', 'cw-5', 1, 'x1', T + 100);
    down.onReport!(x1);
    down.report(engine.orders.get('cw-5')!, { kind: 'cancelled', ts: T + 102 });
    forget();
    expect(engine.orders.get('cw-5')).toBeUndefined();
    up();
    down.trades = [x1, fill('down', 'cw-5', 1, 'x2', T + 101)];
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
    const mismatches = engine.reconcileResult!.mismatches;
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(2);
    expect(mismatches.filter((m) => m.kind === 'unknown_trade')).toEqual([]);
    expect(mismatches.filter((m) => m.kind === 'status').map((m) => [m.clientOrderId, m.detail])).toEqual([['cw-5', expect.stringMatching(/trade x2 .* of journaled order cw-5, closed in the journal with 1 of 2 lots filled: booked onto it/)]]);
    expect(engine.orders.get('cw-5')).toMatchObject({ filledQty: 2, qty: 2 });
    await engine.stop('test');
  });

  it('sent on another venue and filled: a trade naming it on the venue retried is refused (status), not booked there', async () => {
    const down = new ScriptedVenue('down', [instrumentOn('down')], { canTrade: true }, false);
    const ok = new ScriptedVenue('ok', [instrumentOn('ok')], { canTrade: true }, false);
    const up = failingTrades(down);
    const timers = new HandTimers();
    const engine = new Engine({
      clock: new ManualClock(T), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, timers,
      // a closed order is forgotten at once
      closedOrders: { minClosed: 0, closedMs: 0, maxClosed: 0 },
      venues: [
        { name: 'down', symbols: ['BTCUSDT'], marketData: down, execution: down },
        { name: 'ok', symbols: ['BTCUSDT'], marketData: ok, execution: ok },
      ],
    });
    await engine.start();
    ok.sink!.onMarketEvent(snapshot('ok'));
    const sent = engine.submit(buy('ok', 1));
    expect(sent.accepted, sent.message).toBe(true);
    const id = sent.clientOrderId!;
    ok.report(ok.submitted[0]!, { kind: 'fill', lastPrice: 5_000_000, lastQty: 1, tradeId: 'k1', ts: T + 100 });
    expect(engine.orders.get(id)).toBeUndefined();
    // a venue's trade under our id (a mangled echo, another program reusing it)
    up();
    down.trades = [fill('down', id, 1, 'd1', T + 200)];
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
    const mismatches = engine.reconcileResult!.mismatches;
    expect({ down: engine.portfolio.qty('down', 'BTCUSDT'), ok: engine.portfolio.qty('ok', 'BTCUSDT'), adopted: mismatches.filter((m) => m.kind === 'unknown_trade') }).toEqual({ down: 0, ok: 1, adopted: [] });
    expect(mismatches.filter((m) => m.kind === 'status').map((m) => [m.clientOrderId, m.detail])).toEqual([[id, expect.stringMatching(/trade d1 .*not booked/)]]);
    expect(engine.orders.get(id)).toBeUndefined();
    await engine.stop('test');
  });

  it('journaled, filled live after the restore and forgotten: a further trade past its quantity is refused, the fills since the restore counted', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-forgotten-run-')), 'j.db');
    const open = (venue: ScriptedVenue, clock: ManualClock, timers?: HandTimers) => {
      const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
      const engine = new Engine({
        clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, journal: store, onShutdown: 'keep', ...(timers ? { timers } : {}),
        closedOrders: RETENTION,
        venues: [{ name: 'down', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
      });
      attachJournal(engine, store, silentLogger());
      return engine;
    };
    const v1 = new ScriptedVenue('down', [instrumentOn('down')], { canTrade: true }, false);
    const a = open(v1, new ManualClock(T));
    await a.start();
    v1.sink!.onMarketEvent(snapshot('down'));
    const id = a.submit(buy('down', 2)).clientOrderId!;
    a.submit(buy('down', 2));
    for (const o of v1.submitted) v1.report(o, { kind: 'ack', ts: T + 1 });
    await a.stop('SIGTERM');

    // restart: both orders are working, the venue's trades cannot be read yet
    const v2 = new ScriptedVenue('down', [instrumentOn('down')], { canTrade: true }, false);
    v2.venueOpen = v1.submitted.map((o) => ({ ...o, status: 'open' as const }));
    const up = failingTrades(v2);
    const timers = new HandTimers();
    const clock = new ManualClock(T + 60_000);
    const b = open(v2, clock, timers);
    await b.start();
    expect(b.reconciled).toBe(false);
    // the first fills in full, then the second is cancelled: the first is forgotten
    const x1 = fill('down', id, 2, 'x1', T + 60_100);
    v2.onReport!(x1);
    forgetClosed(v2, clock, v1.submitted[1]!);
    expect(b.orders.get(id)).toBeUndefined();
    up();
    v2.venueOpen = [];
    v2.trades = [x1, fill('down', id, 2, 'x2', T + 60_101)];
    timers.fire();
    await settle();
    expect(b.reconciled).toBe(true);
    const mismatches = b.reconcileResult!.mismatches;
    expect({ position: b.portfolio.qty('down', 'BTCUSDT'), adopted: mismatches.filter((m) => m.kind === 'unknown_trade') }).toEqual({ position: 2, adopted: [] });
    expect(mismatches.filter((m) => m.kind === 'status').map((m) => [m.clientOrderId, m.detail])).toEqual([[id, expect.stringMatching(/trade x2 .*past its quantity.*not booked/)]]);
    await b.stop('test');
  });
});

/**
 * An order step 1b of reconciliation brings back from the journal (reviveJournaled: closed, and
 * forgotten since) has no trade ids on its entry, and a venue's reconciliation may take several
 * attempts (a later read fails, the venue is retried). Its fills are told from booked ones by the
 * journal's count and the trade ids the journal knows, in the attempt that revived it and every
 * later one; a fill without a trade id noted for a retry counts only within the trade list's
 * window.
 */
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import type { OrderStatusReport } from '../contracts/exchange.js';
import { LISTED_WITHOUT_TIME } from '../contracts/listed-time.js';
import { defineInstrument, type Instrument } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { ADOPTED_TRADE_SOURCE, OrderManager } from './order-manager.js';
import { HandTimers, ScriptedVenue } from './test-venue.js';

const T = 1_000_000;
const instrumentOn = (exchange: string): Instrument => defineInstrument({ exchange, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const fill = (exchange: string, clientOrderId: string, qty: number, tradeId: string | undefined, ts: number, feeAtoms = 0n): ExecutionReport =>
  ({ kind: 'fill', exchange, symbol: 'BTCUSDT', clientOrderId, venueOrderId: `V${clientOrderId}`, side: 'buy', lastPrice: 5_000_000, lastQty: qty, leavesQty: 0, cumQty: 0, feeAtoms, liquidity: 'maker', tradeId, ts });
const listed = (exchange: string, clientOrderId: string, qty = 4): Order =>
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

function engineOn(down: ScriptedVenue, clock: ManualClock, timers: HandTimers, closedOrders = RETENTION): Engine {
  return new Engine({
    clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, timers, closedOrders,
    venues: [{ name: 'down', symbols: ['BTCUSDT'], marketData: down, execution: down }],
  });
}

/**
 * The stream delivers a fill of cw-5, a mistaken cancel closes it, and cw-6's cancel 2 s later
 * makes retention forget it: the journal holds cw-5 closed, the venue still works it.
 */
function forgetCw5(engine: Engine, down: ScriptedVenue, clock: ManualClock): void {
  down.report(engine.orders.get('cw-5')!, { kind: 'cancelled', ts: T + 100 });
  clock.advance(2000);
  down.report(engine.orders.get('cw-6')!, { kind: 'cancelled', ts: clock.now() });
  expect(engine.orders.get('cw-5')).toBeUndefined();
}

describe('an order brought back as working by step 1b, then a retry', () => {
  it('a later attempt asks about it again and does not book its journaled fills a second time; it keeps its creation time', async () => {
    const down = new ScriptedVenue('down', [instrumentOn('down')], { canTrade: true }, false);
    down.venueOpen = [listed('down', 'cw-5'), listed('down', 'cw-6')];
    const x1 = fill('down', 'cw-5', 1, 'x1', T - 4000);
    down.orderStatus.set('cw-5', { clientOrderId: 'cw-5', status: 'partially_filled', filledQty: 1, fills: [x1] });
    const up = failingTrades(down);
    const asked: number[] = [];
    const query = down.queryOrder.bind(down);
    down.queryOrder = async (o) => {
      if (o.clientOrderId === 'cw-5') asked.push(o.createdTs);
      return query(o);
    };
    const timers = new HandTimers();
    const clock = new ManualClock(T);
    const engine = engineOn(down, clock, timers);
    // attempt 1 adopts cw-5 and books x1 from its answer, then the trade list fails
    await engine.start();
    expect(engine.reconciled).toBe(false);
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(1);
    forgetCw5(engine, down, clock);
    const answer: OrderStatusReport = { clientOrderId: 'cw-5', status: 'partially_filled', filledQty: 1, fills: [x1] };
    down.orderStatus.set('cw-5', answer);
    down.venueOpen = [listed('down', 'cw-5')];
    down.trades = [x1];
    // attempt 2: step 1b brings cw-5 back as working, then the trade list fails again
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(false);
    expect(engine.orders.get('cw-5')).toMatchObject({ status: 'partially_filled', filledQty: 1, createdTs: T - 5000 });
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(1);
    // attempt 3: step 1 asks about the (held, open) order again; everything answers
    up();
    asked.length = 0;
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
    // the venue filled 1 lot of cw-5, ever
    expect(engine.orders.get('cw-5')?.filledQty).toBe(1);
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(1);
    // asked from when it was placed, not from its revival: a venue reads its trades from there
    expect(asked).toEqual([T - 5000]);
    await engine.stop('test');
  });

  it('a fill whose trade id the journal holds is not counted again by quantity: one missed before it is booked, it is not (journal x2, venue x1 then x2)', async () => {
    const down = new ScriptedVenue('down', [instrumentOn('down')], { canTrade: true }, false);
    down.venueOpen = [listed('down', 'cw-5', 10), listed('down', 'cw-6')];
    // the venue's answer lags: nothing filled yet
    down.orderStatus.set('cw-5', { clientOrderId: 'cw-5', status: 'open', filledQty: 0, fills: [] });
    const up = failingTrades(down);
    const timers = new HandTimers();
    const clock = new ManualClock(T);
    const engine = engineOn(down, clock, timers);
    await engine.start();
    // the stream misses x1 (1 lot) and delivers x2 (2 lots)
    const x1 = fill('down', 'cw-5', 1, 'x1', T + 50);
    const x2 = fill('down', 'cw-5', 2, 'x2', T + 60);
    down.onReport!(x2);
    forgetCw5(engine, down, clock);
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(2);
    down.orderStatus.set('cw-5', { clientOrderId: 'cw-5', status: 'partially_filled', filledQty: 3, fills: [x1, x2] });
    down.venueOpen = [listed('down', 'cw-5', 10)];
    down.trades = [x1, x2];
    up();
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
    // the venue filled x1 + x2 = 3 lots
    expect(engine.orders.get('cw-5')?.filledQty).toBe(3);
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(3);
    await engine.stop('test');
  });

  // `retried`: the attempt that brings cw-5 back fails at the positions read, and the next one
  // asks about it in step 1 (held, open) with the trade list answering again
  it.each([false, true])('a venue fill straddling the journal\'s count is booked only beyond it, with its share of the fee (rounded toward zero); the trade list books none again (a later attempt: %s)', async (retried) => {
    const down = new ScriptedVenue('down', [instrumentOn('down')], { canTrade: true }, false);
    down.venueOpen = [listed('down', 'cw-5', 10), listed('down', 'cw-6')];
    down.orderStatus.set('cw-5', { clientOrderId: 'cw-5', status: 'open', filledQty: 0, fills: [] });
    const up = failingTrades(down);
    const timers = new HandTimers();
    const clock = new ManualClock(T);
    const engine = engineOn(down, clock, timers);
    await engine.start();
    // the stream reports 2 lots as one fill without a trade id; the venue lists them as trades
    // a (1 lot) and b (3 lots, 2 of them filled since)
    down.onReport!(fill('down', 'cw-5', 2, undefined, T + 50, 8n));
    forgetCw5(engine, down, clock);
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(2);
    const a = fill('down', 'cw-5', 1, 'a', T + 40, 7n);
    const b = fill('down', 'cw-5', 3, 'b', T + 50, 10n);
    down.orderStatus.set('cw-5', { clientOrderId: 'cw-5', status: 'partially_filled', filledQty: 4, fills: [a, b] });
    down.venueOpen = [listed('down', 'cw-5', 10)];
    down.trades = [a, b];
    up();
    if (retried) {
      down.positions = async () => {
        throw new Error('HTTP 503');
      };
      timers.fire();
      await settle();
      expect(engine.reconciled).toBe(false);
      expect(engine.orders.get('cw-5')?.filledQty).toBe(4);
      down.positions = async () => [];
    }
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
    // 2 lots in the journal, the venue filled 4: b's 2 lots beyond the count, fee 10 x 2/3 = 6.67 -> 6
    const o = engine.orders.get('cw-5')!;
    expect(o.filledQty).toBe(4);
    expect(o.feeAtoms).toBe(6n);
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(4);
    expect(engine.reconcileResult?.mismatches.filter((m) => m.kind === 'status' && m.detail.includes('venue says'))).toEqual([]);
    await engine.stop('test');
  });
});

describe('a revived order whose fills were matched by quantity, closed before the next attempt', () => {
  /**
   * Attempt 1 fails at the trade list; the stream books `live` on cw-5, then cw-5 is forgotten.
   * Attempt 2 revives cw-5 as working from the listing and matches `answer` by the journal's
   * count, then its positions read fails; cw-5 is cancelled before attempt 3, which does not ask
   * about it (closed, not listed) and reads `trades`. Returns the position after attempt 3.
   */
  async function countedThenClosed(live: ExecutionReport, answer: ExecutionReport[], trades: ExecutionReport[], filledAfter2: number): Promise<number> {
    const down = new ScriptedVenue('down', [instrumentOn('down')], { canTrade: true }, false);
    down.venueOpen = [listed('down', 'cw-5', 10), listed('down', 'cw-6')];
    down.orderStatus.set('cw-5', { clientOrderId: 'cw-5', status: 'open', filledQty: 0, fills: [] });
    const up = failingTrades(down);
    const timers = new HandTimers();
    const clock = new ManualClock(T);
    const engine = engineOn(down, clock, timers);
    await engine.start();
    down.onReport!(live);
    forgetCw5(engine, down, clock);
    const filled = answer.reduce((n, f) => n + f.lastQty, 0);
    down.orderStatus.set('cw-5', { clientOrderId: 'cw-5', status: 'partially_filled', filledQty: filled, fills: answer });
    down.venueOpen = [listed('down', 'cw-5', 10)];
    down.trades = trades;
    up();
    down.positions = async () => {
      throw new Error('HTTP 503');
    };
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(false);
    expect(engine.orders.get('cw-5')?.filledQty).toBe(filledAfter2);
    // the venue cancels the rest of cw-5; the stream says so
    down.report(engine.orders.get('cw-5')!, { kind: 'cancelled', ts: clock.now() });
    down.orderStatus.set('cw-5', { clientOrderId: 'cw-5', status: 'cancelled', filledQty: filled, fills: answer });
    down.venueOpen = [];
    down.positions = async () => [];
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
    const qty = engine.portfolio.qty('down', 'BTCUSDT');
    await engine.stop('test');
    return qty;
  }

  it('the next attempt does not book the trades the earlier one matched by quantity a second time', async () => {
    // the stream reports 2 lots as one fill without a trade id; the venue lists them as trades a and b
    const a = fill('down', 'cw-5', 1, 'a', T + 40, 4n);
    const b = fill('down', 'cw-5', 1, 'b', T + 50, 4n);
    // the venue filled a + b = 2 lots of cw-5, ever
    expect(await countedThenClosed(fill('down', 'cw-5', 2, undefined, T + 50, 8n), [a, b], [a, b], 2)).toBe(2);
  });

  it('nor a fill without a trade id that straddled the count, booked then for its lots beyond it', async () => {
    // the stream booked 1 lot; the venue has one fill of 2 lots: 1 booked by attempt 2, the whole fill in the trade list
    const whole = fill('down', 'cw-5', 2, undefined, T + 60, 8n);
    expect(await countedThenClosed(fill('down', 'cw-5', 1, undefined, T + 50, 4n), [whole], [whole], 2)).toBe(2);
  });
});

describe('a fill without a trade id noted for a retry', () => {
  it('one from before the trade list\'s window does not swallow a later equal fill (late fill after a forgotten cancel)', async () => {
    const down = new ScriptedVenue('down', [instrumentOn('down')], { canTrade: true }, false);
    down.venueOpen = [listed('down', 'cw-5', 4)];
    // X1: made before the venue's trades watermark (the earlier run's stream missed it); no trade ids at this venue
    const X1 = fill('down', 'cw-5', 1, undefined, T - 4000);
    const X2 = fill('down', 'cw-5', 1, undefined, T + 150);
    down.orderStatus.set('cw-5', { clientOrderId: 'cw-5', status: 'partially_filled', filledQty: 1, fills: [X1] });
    const up = failingTrades(down);
    const timers = new HandTimers();
    const clock = new ManualClock(T);
    const engine = engineOn(down, clock, timers, { minClosed: 0, closedMs: 0, maxClosed: 0 });
    // as a restore sets it: the last journaled fill on the venue (another order's) was at T - 3000
    engine.lastFillTsByVenue = { down: T - 3000 };
    await engine.start();
    expect(engine.reconciled).toBe(false);
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(1);
    // cancel acked (order forgotten at once), then a fill that crossed the cancel: not held, not booked live
    down.report(engine.orders.get('cw-5')!, { kind: 'cancelled', ts: T + 100 });
    down.onReport!(X2);
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(1);
    down.venueOpen = [];
    down.trades = [X1, X2];
    up();
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
    // the venue filled X1 and X2
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(2);
    await engine.stop('test');
  });
});

describe('OrderManager.reviveJournaled', () => {
  it('brings an order back with its journaled creation time, and one listed without a time as such', () => {
    const om = new OrderManager('cw', { minClosed: 0, closedMs: 0, maxClosed: 0 });
    const timed: Order = { ...listed('down', 'cw-5'), source: ADOPTED_TRADE_SOURCE };
    const untimed: Order = { ...listed('down', 'cw-6'), source: ADOPTED_TRADE_SOURCE, reason: LISTED_WITHOUT_TIME, createdTs: T - 100 };
    for (const o of [timed, untimed]) {
      om.restore({ ...o, status: 'cancelled' });
      om.noteJournaled(o);
      expect(om.get(o.clientOrderId)).toBeUndefined();
    }
    expect(om.reviveJournaled('cw-5', T, true)).toMatchObject({ createdTs: T - 5000, status: 'open' });
    expect(om.get('cw-5')?.reason).toBeUndefined();
    // asked about with no time (listedWithoutTime), as when it was adopted
    expect(om.reviveJournaled('cw-6', T, true)).toMatchObject({ createdTs: T - 100, reason: LISTED_WITHOUT_TIME });
    expect(om.wasRevived('cw-6')).toBe(true);
    om.forgetJournaled();
    expect(om.wasRevived('cw-6')).toBe(false);
  });
});

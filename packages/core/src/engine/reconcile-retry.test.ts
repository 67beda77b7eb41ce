/**
 * A venue that could not be reconciled at start (`venue_unreachable`): not ready, no new orders on
 * it, retried with backoff until it is reconciled; the venues that were reconciled trade meanwhile
 * (docs/journal.md, "Reconciliation"; docs/operations.md, ReconcileMismatch). Timers are the
 * engine's injectable ones, fired by hand: nothing here waits on a clock.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument, type Instrument } from '../domain/instrument.js';
import type { ExecutionReport, Order, OrderIntent } from '../domain/orders.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine, RECONCILE_RETRY_FIRST_MS, RECONCILE_RETRY_MAX_MS } from './engine.js';
import { engineHealth, engineStatus } from './status.js';
import { HandTimers, ScriptedVenue } from './test-venue.js';

const instrumentOn = (exchange: string): Instrument => defineInstrument({ exchange, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot = (exchange: string): BookSnapshotEvent => ({ type: 'book_snapshot', exchange, symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] });
const buy = (exchange: string): OrderIntent => ({ exchange, symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 1, tif: 'GTC', source: 'test', reason: 'test' });

/** Lets the venue's answers (resolved promises) and the engine's bookings run. */
async function settle(): Promise<void> {
  for (let k = 0; k < 20; k++) await new Promise<void>((r) => setImmediate(r));
}

/** Venue `down` whose trade reads fail until `up()`, and venue `ok`; both with synced books. */
async function twoVenues(onMismatch: 'adopt-venue' | 'halt' = 'adopt-venue', before?: (down: ScriptedVenue) => void) {
  const down = new ScriptedVenue('down', [instrumentOn('down')], { canTrade: true }, false);
  const ok = new ScriptedVenue('ok', [instrumentOn('ok')], { canTrade: true }, false);
  before?.(down);
  const tradesSince = down.tradesSince.bind(down);
  let reachable = false;
  const reads = { trades: 0 };
  down.tradesSince = async (symbols, since) => {
    reads.trades++;
    if (!reachable) throw new Error('connect ECONNREFUSED 10.0.0.1:443');
    return tradesSince(symbols, since);
  };
  const timers = new HandTimers();
  const metrics = new MetricsRegistry({ processMetrics: false });
  const clock = new ManualClock(1_000_000);
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, watchdog: false, timers, onReconcileMismatch: onMismatch,
    venues: [
      { name: 'down', symbols: ['BTCUSDT'], marketData: down, execution: down },
      { name: 'ok', symbols: ['BTCUSDT'], marketData: ok, execution: ok },
    ],
  });
  await engine.start();
  down.sink!.onMarketEvent(snapshot('down'));
  ok.sink!.onMarketEvent(snapshot('ok'));
  const unreachableCount = async () => (await metrics.reconcileMismatches.get()).values.find((v) => v.labels.exchange === 'down' && v.labels.kind === 'venue_unreachable')!.value;
  const reconciliation = () => engineHealth(engine, () => []).find((c) => c.name === 'reconciliation')!;
  return { engine, down, ok, timers, clock, metrics, reads, unreachableCount, reconciliation, up: () => (reachable = true) };
}

describe('a venue that could not be reconciled at start', () => {
  it('keeps /health/ready at 503 and refuses new orders on that venue, while the venues reconciled trade', async () => {
    const t = await twoVenues();
    expect(t.engine.reconcileResult!.mismatches.map((m) => [m.exchange, m.kind])).toEqual([['down', 'venue_unreachable']]);
    expect(await t.unreachableCount()).toBe(1);
    expect(t.reconciliation()).toEqual({ name: 'reconciliation', ready: false, detail: 'not reconciled: down (reconciliation could not complete: connect ECONNREFUSED 10.0.0.1:443; 1 failed attempt(s), next in 1 s)' });
    expect(engineHealth(t.engine, () => []).every((c) => c.ready)).toBe(false);
    expect(t.engine.reconciled).toBe(false);
    // what it holds there is the journal's guess: nothing new goes to it, directly or through a router
    expect(t.engine.submit(buy('down'))).toMatchObject({ accepted: false, reason: 'VENUE_NOT_TRADING', message: expect.stringContaining('down: not reconciled') });
    expect(t.engine.venueRefusal(buy('down'))).toBe('VENUE_NOT_TRADING');
    expect(t.down.submitted).toEqual([]);
    // the venue reconciled trades
    expect(t.engine.submit(buy('ok')).accepted).toBe(true);
    expect(t.ok.submitted).toHaveLength(1);
    expect((engineStatus(t.engine) as { reconcile: { unreconciled: unknown } }).reconcile.unreconciled).toEqual([
      { exchange: 'down', reason: 'reconciliation could not complete: connect ECONNREFUSED 10.0.0.1:443', failedAttempts: 1, nextAttemptTs: 1_000_000 + RECONCILE_RETRY_FIRST_MS },
    ]);
    await t.engine.stop('test');
  });

  it('is tried again with backoff (1 s doubling to 30 s), counted once, and trades once a retry reconciles it', async () => {
    const t = await twoVenues();
    const delays: number[] = [];
    for (let k = 0; k < 7; k++) {
      delays.push(t.timers.fire());
      await settle();
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(RECONCILE_RETRY_MAX_MS).toBe(30_000);
    expect(t.reads.trades).toBe(8);
    // failing again is no new finding: one mismatch, one count (the page), however long it is down
    expect(t.engine.reconcileResult!.mismatches.map((m) => m.kind)).toEqual(['venue_unreachable']);
    expect(await t.unreachableCount()).toBe(1);
    expect(t.reconciliation()).toMatchObject({ ready: false, detail: expect.stringContaining('down (reconciliation could not complete: connect ECONNREFUSED 10.0.0.1:443; 8 failed attempt(s), next in 30 s)') });
    expect(t.engine.submit(buy('down')).accepted).toBe(false);

    // back: a trade made while it was unreachable, by someone else on the account, is found and booked
    t.up();
    const manual: ExecutionReport = { kind: 'fill', exchange: 'down', symbol: 'BTCUSDT', clientOrderId: 'manual-1', side: 'buy', lastPrice: 5_000_000, lastQty: 3, leavesQty: 0, cumQty: 3, feeAtoms: 10n, tradeId: 't-manual-1', ts: 999_000 };
    t.down.trades = [manual];
    expect(t.timers.fire()).toBe(30000);
    await settle();
    expect(t.engine.reconciled).toBe(true);
    expect(t.reconciliation()).toEqual({ name: 'reconciliation', ready: true, detail: 'done, 2 mismatch(es) (see /status)' });
    expect(engineHealth(t.engine, () => []).every((c) => c.ready)).toBe(true);
    expect(t.engine.reconcileResult!.mismatches.map((m) => [m.exchange, m.kind])).toEqual([['down', 'venue_unreachable'], ['down', 'unknown_trade']]);
    expect(t.engine.portfolio.qty('down', 'BTCUSDT')).toBe(3);
    expect(t.timers.pending).toEqual([]);
    expect(t.engine.submit(buy('down')).accepted).toBe(true);
    expect(t.down.submitted).toHaveLength(1);
    expect((engineStatus(t.engine) as { reconcile: { unreconciled: unknown } }).reconcile.unreconciled).toEqual([]);
    await t.engine.stop('test');
  });

  it('under on_mismatch = "halt" starts HALTED as before, and what the retry finds halts again after a resume', async () => {
    const t = await twoVenues('halt');
    expect(t.engine.riskState.state).toBe('HALTED');
    t.engine.riskState.set('ACTIVE', 'operator resumed', t.engine.now, 'operator');
    expect(t.engine.submit(buy('ok')).accepted).toBe(true);
    expect(t.engine.submit(buy('down')).accepted).toBe(false);
    t.up();
    t.down.trades = [{ kind: 'fill', exchange: 'down', symbol: 'BTCUSDT', clientOrderId: 'manual-1', side: 'buy', lastPrice: 5_000_000, lastQty: 3, leavesQty: 0, cumQty: 3, feeAtoms: 10n, tradeId: 't-manual-1', ts: 999_000 }];
    t.timers.fire();
    await settle();
    expect(t.engine.reconciled).toBe(true);
    expect(t.engine.riskState.state).toBe('HALTED');
    // HALTED means nothing works at a venue: the order sent on `ok` meanwhile is cancelled
    expect(t.ok.cancelled.map((o) => o.exchange)).toEqual(['ok']);
    await t.engine.stop('test');
  });

  it('a fill booked live while it was unreachable is not booked again by the retry, though its order has left memory', async () => {
    const down = new ScriptedVenue('down', [instrumentOn('down')], { canTrade: true }, false);
    // an order the journal holds open there, working at the venue
    const working: Order = { exchange: 'down', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 2, tif: 'GTC', source: 'test', reason: 'test', clientOrderId: 'c-1', venueOrderId: 'V1', status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 1, updatedTs: 1 };
    down.venueOpen = [working];
    const tradesSince = down.tradesSince.bind(down);
    let reachable = false;
    down.tradesSince = async (symbols, since) => {
      if (!reachable) throw new Error('HTTP 503');
      return tradesSince(symbols, since);
    };
    const timers = new HandTimers();
    const engine = new Engine({
      clock: new ManualClock(1_000_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, timers,
      // a closed order is forgotten at once, as 10 minutes of other venues' orders would make it
      closedOrders: { minClosed: 0, closedMs: 0, maxClosed: 0 },
      restore: (e) => e.orders.restore({ ...working }),
      venues: [{ name: 'down', symbols: ['BTCUSDT'], marketData: down, execution: down }],
    });
    await engine.start();
    expect(engine.reconciled).toBe(false);
    // the venue's stream still works: the order fills, is booked, closes and is forgotten
    const fill: ExecutionReport = { kind: 'fill', exchange: 'down', symbol: 'BTCUSDT', clientOrderId: 'c-1', venueOrderId: 'V1', side: 'buy', lastPrice: 5_000_000, lastQty: 2, leavesQty: 0, cumQty: 2, feeAtoms: 10n, tradeId: 'T-1', ts: 1_000_500 };
    down.onReport!(fill);
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(2);
    expect(engine.orders.get('c-1')).toBeUndefined();
    // back: its trade list answers that fill again
    reachable = true;
    down.venueOpen = [];
    down.trades = [fill];
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(2);
    expect(engine.reconcileResult!.mismatches.map((m) => m.kind)).toEqual(['venue_unreachable']);
    await engine.stop('test');
  });

  it('a retry that halts (on_mismatch = "halt") and then fails a later read still cancels every open order', async () => {
    const t = await twoVenues('halt');
    expect(t.engine.riskState.state).toBe('HALTED');
    t.engine.riskState.set('ACTIVE', 'operator resumed', t.engine.now, 'operator');
    expect(t.engine.submit(buy('ok')).accepted).toBe(true);
    // back for trades (a trade someone else made: unknown_trade), but its positions read fails
    t.up();
    t.down.trades = [{ kind: 'fill', exchange: 'down', symbol: 'BTCUSDT', clientOrderId: 'manual-1', side: 'buy', lastPrice: 5_000_000, lastQty: 3, leavesQty: 0, cumQty: 3, feeAtoms: 10n, tradeId: 't-manual-1', ts: 999_000 }];
    t.down.positions = async () => {
      throw new Error('HTTP 502');
    };
    t.timers.fire();
    await settle();
    expect(t.engine.reconciled).toBe(false);
    expect(t.engine.reconcileResult!.mismatches.map((m) => m.kind)).toEqual(['venue_unreachable', 'unknown_trade']);
    // the retry's finding halted the engine, so nothing may stay working at any venue
    expect(t.engine.riskState.state).toBe('HALTED');
    expect(t.ok.cancelled.map((o) => o.exchange)).toEqual(['ok']);
    expect(t.engine.orders.openCount()).toBe(0);
    await t.engine.stop('test');
  });

  it('a fill streamed between the execution client start and reconciliation is not booked a second time by the retry', async () => {
    const down = new ScriptedVenue('down', [instrumentOn('down')], { canTrade: true }, false);
    const working: Order = { exchange: 'down', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 2, tif: 'GTC', source: 'test', reason: 'test', clientOrderId: 'c-1', venueOrderId: 'V1', status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 1, updatedTs: 1 };
    const fill: ExecutionReport = { kind: 'fill', exchange: 'down', symbol: 'BTCUSDT', clientOrderId: 'c-1', venueOrderId: 'V1', side: 'buy', lastPrice: 5_000_000, lastQty: 2, leavesQty: 0, cumQty: 2, feeAtoms: 10n, tradeId: 'T-1', ts: 1_000_500 };
    // the user stream delivers the order's fill as soon as it connects (it filled while we were down)
    const start = down.start.bind(down);
    down.start = async (a: unknown, b?: never) => {
      await start(a, b);
      if (typeof a === 'function') (a as (r: ExecutionReport) => void)(fill);
    };
    const tradesSince = down.tradesSince.bind(down);
    let reachable = false;
    down.tradesSince = async (symbols, since) => {
      if (!reachable) throw new Error('HTTP 503');
      return tradesSince(symbols, since);
    };
    const timers = new HandTimers();
    const engine = new Engine({
      clock: new ManualClock(1_000_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, timers,
      // a closed order is forgotten at once, as retention would make it with enough other orders
      closedOrders: { minClosed: 0, closedMs: 0, maxClosed: 0 },
      restore: (e) => e.orders.restore({ ...working }),
      venues: [{ name: 'down', symbols: ['BTCUSDT'], marketData: down, execution: down }],
    });
    await engine.start();
    expect(engine.reconciled).toBe(false);
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(2);
    expect(engine.orders.get('c-1')).toBeUndefined();
    reachable = true;
    down.trades = [fill];
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
    // one fill of 2 lots happened at the venue: the position is 2, not 4
    expect(engine.portfolio.qty('down', 'BTCUSDT')).toBe(2);
    expect(engine.reconcileResult!.mismatches.map((m) => m.kind)).toEqual(['venue_unreachable']);
    await engine.stop('test');
  });

  it('a stop while a retry waits on the venue ends it cleanly: no finding, no timer left, the stop completes', async () => {
    const t = await twoVenues();
    let release!: (err: Error) => void;
    t.down.tradesSince = () => new Promise((_, reject) => (release = reject));
    t.timers.fire();
    await settle();
    expect(release).toBeTypeOf('function'); // the retry is waiting on its read
    const stopping = t.engine.stop('SIGTERM');
    await settle();
    release(new Error('execution not started'));
    await stopping;
    expect(t.engine.reconcileResult!.mismatches.map((m) => m.kind)).toEqual(['venue_unreachable']);
    expect(await t.unreachableCount()).toBe(1);
    expect(t.timers.pending).toEqual([]);
    expect(t.down.stopped.execution).toBe(true);
  });

  it('a stop while a retry is only scheduled clears its timer', async () => {
    const t = await twoVenues();
    expect(t.timers.pending).toHaveLength(1);
    await t.engine.stop('SIGTERM');
    expect(t.timers.pending).toEqual([]);
    expect(t.reads.trades).toBe(1);
  });
});

describe('what a retry finds again that an earlier attempt reported', () => {
  const handOrder = (clientOrderId: string, venueOrderId: string): Order => ({ exchange: 'down', symbol: 'BTCUSDT', side: 'sell', type: 'limit', price: 6_000_000, qty: 1, tif: 'GTC', source: 'web', reason: 'by hand', clientOrderId, venueOrderId, status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 1, updatedTs: 1 });

  /** `down`: an order placed by hand works on the account (reported, left alone), and its trade reads fail. */
  async function handOrderVenue(onMismatch: 'adopt-venue' | 'halt') {
    const t = await twoVenues(onMismatch, (down) => (down.venueOpen = [handOrder('web_8f3a', 'V9')]));
    const count = async (kind: string) => (await t.metrics.reconcileMismatches.get()).values.find((v) => v.labels.exchange === 'down' && v.labels.kind === kind)!.value;
    return { ...t, count };
  }

  it('a hand-placed order found at start is not counted again, nor listed again, by every failing retry', async () => {
    const t = await handOrderVenue('adopt-venue');
    expect(t.engine.reconcileResult!.mismatches.map((m) => m.kind)).toEqual(['unknown_order', 'venue_unreachable']);
    expect(await t.count('unknown_order')).toBe(1);
    for (let k = 0; k < 10; k++) {
      t.timers.fire();
      await settle();
    }
    expect(t.engine.reconciled).toBe(false);
    // nothing new was found: one finding, one count (a page), one entry in /status
    expect(await t.count('unknown_order')).toBe(1);
    expect(t.engine.reconcileResult!.mismatches).toHaveLength(2);
    // a second hand-placed order is a new finding: counted and listed
    t.down.venueOpen = [handOrder('web_8f3a', 'V9'), handOrder('web_11c0', 'V10')];
    t.timers.fire();
    await settle();
    expect(await t.count('unknown_order')).toBe(2);
    expect(t.engine.reconcileResult!.mismatches.map((m) => [m.kind, m.clientOrderId])).toEqual([['unknown_order', 'web_8f3a'], ['venue_unreachable', undefined], ['unknown_order', 'web_11c0']]);
    await t.engine.stop('test');
  });

  it('under on_mismatch = "halt", a failing retry that found nothing new does not HALT again after the operator resumed; one that did, does', async () => {
    const t = await handOrderVenue('halt');
    expect(t.engine.riskState.state).toBe('HALTED');
    t.engine.riskState.set('ACTIVE', 'operator inspected /status and resumed', t.engine.now, 'operator');
    expect(t.engine.submit(buy('ok')).accepted).toBe(true);
    t.timers.fire();
    await settle();
    expect(t.engine.reconciled).toBe(false);
    expect(t.engine.riskState.state).toBe('ACTIVE');
    expect(t.ok.cancelled).toEqual([]);
    // a second hand-placed order, found by the next failing retry: HALTED, and nothing stays working
    t.down.venueOpen = [handOrder('web_8f3a', 'V9'), handOrder('web_11c0', 'V10')];
    t.timers.fire();
    await settle();
    expect(t.engine.reconciled).toBe(false);
    expect(t.engine.riskState.state).toBe('HALTED');
    expect(t.ok.cancelled.map((o) => o.exchange)).toEqual(['ok']);
    await t.engine.stop('test');
  });

  it('a position difference is the same finding while what no fill explains stays the same, and a new one when that changes', async () => {
    const t = await twoVenues();
    t.up();
    // the trade list answers, the venue holds 5 lots the journal does not, and the balance read fails
    t.down.venuePositions = { BTCUSDT: 5 };
    t.down.balances = async () => {
      throw new Error('HTTP 429 Too Many Requests');
    };
    const positionCount = async () => (await t.metrics.reconcileMismatches.get()).values.find((v) => v.labels.exchange === 'down' && v.labels.kind === 'position')!.value;
    for (let k = 0; k < 3; k++) {
      t.timers.fire();
      await settle();
    }
    expect(await positionCount()).toBe(1);
    t.down.venuePositions = { BTCUSDT: 7 };
    t.timers.fire();
    await settle();
    expect(await positionCount()).toBe(2);
    expect(t.engine.reconcileResult!.mismatches.filter((m) => m.kind === 'position').map((m) => m.detail)).toEqual([
      'journal position 0, venue position 0.005',
      'journal position 0, venue position 0.007',
    ]);
    expect(t.engine.reconciled).toBe(false);
    await t.engine.stop('test');
  });
});

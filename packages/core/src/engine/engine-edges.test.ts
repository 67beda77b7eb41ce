import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import type { RiskConfig } from '../config/types.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport, Order, OrderIntent } from '../domain/orders.js';
import type { Signal } from '../domain/signal.js';
import type { RiskCheck } from '../contracts/trading.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager } from '../risk/manager.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const ETH = defineInstrument({ exchange: 'v', symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 100_000, max_drawdown: 0.5, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };

function snapshot(symbol: string, seq: number, bid = 5_000_000, ask = 5_000_100): BookSnapshotEvent {
  return { type: 'book_snapshot', exchange: 'v', symbol, ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: bid, qty: 100_000 }], asks: [{ price: ask, qty: 100_000 }] };
}

const intent = (symbol = 'BTCUSDT', qty = 10): OrderIntent => ({ exchange: 'v', symbol, side: 'buy', type: 'limit', price: 5_000_000, qty, tif: 'GTC', source: 'test' });

/** A venue like the ccxt adapter: a cancel of an order it has not acknowledged (no venue id yet) is refused at once. */
class NoIdYetVenue extends ScriptedVenue {
  override cancel(order: Readonly<Order>): void {
    this.cancelled.push({ ...order });
    if (!order.venueOrderId) this.report(order, { kind: 'rejected', rejects: 'request', rejectReason: 'UNKNOWN_ORDER', text: `no venue order id for ${order.clientOrderId}` });
    else this.report(order, { kind: 'cancelled' });
  }
}

function plainEngine(venue: ScriptedVenue, onShutdown: 'cancel' | 'keep' = 'cancel') {
  const metrics = new MetricsRegistry({ processMetrics: false });
  return new Engine({ clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, onShutdown, venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
}

async function journaled(path: string, venue: ScriptedVenue, symbols: string[]) {
  const clock = new ManualClock(1_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 1_000_000, timers: false });
  const engine = new Engine({ clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, journal: store, onShutdown: 'keep', venues: [{ name: 'v', symbols, marketData: venue, execution: venue }] });
  attachJournal(engine, store, silentLogger());
  return { engine, store, clock, metrics };
}

describe('engine edges a venue or a crash can reach', () => {
  it('HALT: an order whose cancel was refused before the venue acked it is cancelled again once acked', async () => {
    const venue = new NoIdYetVenue('v', [BTC]);
    const engine = plainEngine(venue);
    await engine.start();
    venue.sink!.onMarketEvent(snapshot('BTCUSDT', 1));
    const r = engine.submit(intent());
    expect(r.accepted).toBe(true);
    const o = venue.submitted[0]!;
    engine.halt('kill switch test');
    expect(engine.riskState.state).toBe('HALTED');
    // The venue now acknowledges the order (it was in flight): it is working at the venue.
    venue.report(o, { kind: 'ack', venueOrderId: 'V1' });
    await new Promise((res) => setTimeout(res, 50));
    const cancelsAfterAck = venue.cancelled.filter((c) => c.venueOrderId === 'V1').length;
    // HALTED must mean nothing is working: the order must be cancelled once it can be.
    expect({ status: engine.orders.get(o.clientOrderId)!.status, cancelsAfterAck }).toEqual({ status: 'cancelled', cancelsAfterAck: 1 });
    await engine.stop('test');
  });

  it('stop() with on_shutdown = cancel waits for an unacknowledged order and cancels it once acked', async () => {
    const venue = new NoIdYetVenue('v', [BTC]);
    const engine = plainEngine(venue, 'cancel');
    await engine.start();
    venue.sink!.onMarketEvent(snapshot('BTCUSDT', 1));
    expect(engine.submit(intent()).accepted).toBe(true);
    const o = venue.submitted[0]!;
    // SIGTERM while the order is in flight; the venue acks it 20 ms later, well inside the 5 s cancel wait.
    setTimeout(() => venue.report(o, { kind: 'ack', venueOrderId: 'V1' }), 20);
    await engine.stop('SIGTERM');
    expect(venue.cancelled.filter((c) => c.venueOrderId === 'V1')).toHaveLength(1);
  });

  it('stop() during start() (SIGTERM while reconciling): nothing more starts after the stop', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    class SlowVenue extends ScriptedVenue {
      override async tradesSince(symbols: readonly string[], since: number): Promise<ExecutionReport[]> {
        await gate;
        return super.tradesSince(symbols, since);
      }
    }
    const venue = new SlowVenue('v', [BTC]);
    const engine = plainEngine(venue);
    const starting = engine.start();
    await new Promise((r) => setTimeout(r, 10));
    await engine.stop('SIGTERM');
    expect(venue.stopped.execution).toBe(true);
    release();
    await starting;
    // After a completed stop nothing may start again: no market data subscription, no "started" engine.
    expect({ marketDataStarted: venue.sink !== undefined, started: engine.started }).toEqual({ marketDataStarted: false, started: false });
  });

  it('a restored open order on a symbol dropped from the config: its fill while down is booked, reconciliation runs on', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-review-')), 'j.db');
    const v1 = new ScriptedVenue('v', [BTC, ETH]);
    const a = await journaled(path, v1, ['BTCUSDT', 'ETHUSDT']);
    await a.engine.start();
    v1.sink!.onMarketEvent(snapshot('ETHUSDT', 1));
    expect(a.engine.submit(intent('ETHUSDT', 10)).accepted).toBe(true);
    const o = v1.submitted[0]!;
    v1.report(o, { kind: 'ack', venueOrderId: 'V1' });
    await a.engine.stop('SIGTERM'); // on_shutdown = keep: the order keeps working

    // The operator drops ETHUSDT from the config; the order filled while the process was down.
    const fill: ExecutionReport = { kind: 'fill', exchange: 'v', symbol: 'ETHUSDT', clientOrderId: o.clientOrderId, side: 'buy', lastPrice: 5_000_000, lastQty: 10, cumQty: 10, leavesQty: 0, feeAtoms: 5n, tradeId: 'T1', ts: 2_000_000 };
    const v2 = new ScriptedVenue('v', [BTC]);
    v2.orderStatus.set(o.clientOrderId, { clientOrderId: o.clientOrderId, status: 'filled', filledQty: 10, fills: [fill] });
    v2.venuePositions = { BTCUSDT: 0 };
    const b = await journaled(path, v2, ['BTCUSDT']);
    await b.engine.start();
    const kinds = b.engine.reconcileResult!.mismatches.map((m) => `${m.kind}: ${m.detail}`);
    const ethPos = b.engine.portfolio.qty('v', 'ETHUSDT');
    const status = b.engine.orders.get(o.clientOrderId)?.status;
    await b.engine.stop('test');
    expect({ kinds, ethPos, status }).toEqual({ kinds: [], ethPos: 10, status: 'filled' });
  });

  it('a live fill for a restored order on a dropped symbol is booked, nothing throws into the adapter', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-review-')), 'j.db');
    const v1 = new ScriptedVenue('v', [BTC, ETH]);
    const a = await journaled(path, v1, ['BTCUSDT', 'ETHUSDT']);
    await a.engine.start();
    v1.sink!.onMarketEvent(snapshot('ETHUSDT', 1));
    expect(a.engine.submit(intent('ETHUSDT', 10)).accepted).toBe(true);
    const o = v1.submitted[0]!;
    v1.report(o, { kind: 'ack', venueOrderId: 'V1' });
    await a.engine.stop('SIGTERM');

    const v2 = new ScriptedVenue('v', [BTC]);
    v2.venueOpen = [{ ...o, venueOrderId: 'V1', status: 'open' }];
    const b = await journaled(path, v2, ['BTCUSDT']);
    await b.engine.start();
    expect(b.engine.orders.get(o.clientOrderId)?.status).toBe('open');
    // The user stream reports the fill (Binance's user stream reports every symbol of the account).
    expect(() => v2.report(o, { kind: 'fill', lastPrice: 5_000_000, lastQty: 10, cumQty: 10, leavesQty: 0, feeAtoms: 5n, tradeId: 'T1', venueOrderId: 'V1' })).not.toThrow();
    expect(b.engine.portfolio.qty('v', 'ETHUSDT')).toBe(10);
    await b.engine.stop('test');
  });

  it('a failed client-id reservation refuses the order (no throw), and no id leaves above what the journal reserved', () => {
    const venue = new ScriptedVenue('v', [BTC]);
    const engine = plainEngine(venue);
    return engine.start().then(() => {
      venue.sink!.onMarketEvent(snapshot('BTCUSDT', 1));
      const reserved: number[] = [];
      let fail = true;
      engine.orders.useReservations(0, (upTo) => {
        if (fail) {
          fail = false;
          throw new Error('journal: disk full');
        }
        reserved.push(upTo);
      });
      let threw = false;
      let first: unknown;
      try {
        first = engine.submit(intent());
      } catch {
        threw = true;
      }
      const second = engine.submit(intent());
      // submit() must answer (a refusal), never throw; and no id may be issued above what the journal reserved.
      const issued = Number(/-(\d+)$/.exec(String(second.clientOrderId))?.[1] ?? 0);
      expect({ threw, firstAccepted: (first as { accepted?: boolean } | undefined)?.accepted, idReserved: reserved.some((u) => u >= issued) || !second.accepted }).toEqual({ threw: false, firstAccepted: false, idReserved: true });
    });
  });

  it('reconciliation does not book the last journaled fill again when it has no trade id (tradesSince includes the last fill time)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-review-')), 'j.db');
    const venue = new ScriptedVenue('v', [BTC]);
    const a = await journaled(path, venue, ['BTCUSDT']);
    await a.engine.start();
    venue.sink!.onMarketEvent(snapshot('BTCUSDT', 1));
    expect(a.engine.submit(intent('BTCUSDT', 10)).accepted).toBe(true);
    const o = venue.submitted[0]!;
    const fill: ExecutionReport = { kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: o.clientOrderId, side: 'buy', lastPrice: 5_000_000, lastQty: 10, cumQty: 10, leavesQty: 0, feeAtoms: 5n, ts: 2_000_000 };
    venue.onReport!(fill);
    venue.trades.push(fill);
    expect(a.engine.portfolio.qty('v', 'BTCUSDT')).toBe(10);
    await a.engine.stop('SIGTERM');

    const b = await journaled(path, venue, ['BTCUSDT']);
    await b.engine.start();
    const qty = b.engine.portfolio.qty('v', 'BTCUSDT');
    await b.engine.stop('test');
    expect(qty).toBe(10);
  });
  it('a halt while HALTED cancels again what is still open (the kill switch pressed twice)', async () => {
    const venue = new ScriptedVenue('v', [BTC]);
    venue.autoCancel = false;
    const engine = plainEngine(venue, 'keep');
    await engine.start();
    venue.sink!.onMarketEvent(snapshot('BTCUSDT', 1));
    expect(engine.submit(intent()).accepted).toBe(true);
    const o = venue.submitted[0]!;
    venue.report(o, { kind: 'ack', venueOrderId: 'V1' });
    engine.halt('first');
    expect(venue.cancelled).toHaveLength(1);
    // the venue refuses that cancel (busy): the order works on, HALTED
    venue.report(o, { kind: 'rejected', rejects: 'request', rejectReason: 'RATE_LIMITED' });
    expect(engine.orders.get(o.clientOrderId)!.status).toBe('open');
    engine.halt('again');
    expect(venue.cancelled).toHaveLength(2);
    await engine.stop('test');
  });

  it('partial fills that cross a cancel in flight send no further cancel; once the venue refuses the cancel, the next fill cancels again', async () => {
    const venue = new ScriptedVenue('v', [BTC]);
    venue.autoCancel = false;
    const engine = plainEngine(venue, 'keep');
    await engine.start();
    venue.sink!.onMarketEvent(snapshot('BTCUSDT', 1));
    expect(engine.submit(intent()).accepted).toBe(true);
    const o = venue.submitted[0]!;
    venue.report(o, { kind: 'ack', venueOrderId: 'V1', leavesQty: 10 });
    expect(engine.cancel(o.clientOrderId)).toBe(true);
    // fills made at the venue before the cancel reached it
    venue.report(o, { kind: 'fill', lastPrice: 5_000_000, lastQty: 2, leavesQty: 8, cumQty: 2, tradeId: 't1' });
    venue.report(o, { kind: 'fill', lastPrice: 5_000_000, lastQty: 2, leavesQty: 6, cumQty: 4, tradeId: 't2' });
    expect({ cancels: venue.cancelled.length, status: engine.orders.get(o.clientOrderId)!.status }).toEqual({ cancels: 1, status: 'pending_cancel' });
    // the venue refuses that cancel (busy); the order works on, and the next fill shows it working
    venue.report(o, { kind: 'rejected', rejects: 'request', rejectReason: 'RATE_LIMITED' });
    expect(engine.orders.get(o.clientOrderId)!.status).toBe('partially_filled');
    venue.report(o, { kind: 'fill', lastPrice: 5_000_000, lastQty: 2, leavesQty: 4, cumQty: 6, tradeId: 't3' });
    expect(venue.cancelled.length).toBe(2);
    venue.report(o, { kind: 'cancelled', leavesQty: 0, cumQty: 6 });
    expect(engine.orders.get(o.clientOrderId)).toMatchObject({ status: 'cancelled', filledQty: 6 });
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(6);
    await engine.stop('test');
  });

  it('a fill on an instrument the engine has no definition of (an order from an imported journal) is counted invalid, never thrown', async () => {
    const venue = new ScriptedVenue('v', [BTC]);
    const metrics = new MetricsRegistry({ processMetrics: false });
    const engine = new Engine({ clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
    await engine.start();
    // restored with no definition anywhere (a JSON-lines import carries none)
    engine.orders.restore({ exchange: 'v', symbol: 'XYZUSDT', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 't', clientOrderId: 'cw-7', status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 1, updatedTs: 1 });
    expect(() => venue.onReport!({ kind: 'fill', exchange: 'v', symbol: 'XYZUSDT', clientOrderId: 'cw-7', side: 'buy', lastPrice: 100, lastQty: 10, cumQty: 10, leavesQty: 0, feeAtoms: 0n, tradeId: 'x', ts: 1 })).not.toThrow();
    expect(engine.orders.get('cw-7')!.filledQty).toBe(0);
    expect(await metrics.text()).toMatch(/cwts_execution_reports_invalid_total\{exchange="v",reason="wrong_instrument"\} 1/);
    await engine.stop('test');
  });
});

describe('a venue plugin whose execution client throws', () => {
  const BTC_A = defineInstrument({ exchange: 'a', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
  const BTC_B = defineInstrument({ exchange: 'b', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
  const snap = (exchange: string): BookSnapshotEvent => ({ ...snapshot('BTCUSDT', 1), exchange });
  class ThrowingCancelVenue extends ScriptedVenue {
    override cancel(_order: Readonly<Order>): void {
      throw new Error('plugin bug: socket not connected');
    }
  }
  class ThrowingSubmitVenue extends ScriptedVenue {
    override submit(_order: Readonly<Order>): void {
      throw new Error('plugin bug: not connected');
    }
  }

  it("a venue whose stop() throws at once stops nothing else: the other venue stops, the journal is closed, the throw is counted", async () => {
    const a = new ScriptedVenue('a', [BTC_A]);
    const b = new ScriptedVenue('b', [BTC_B]);
    // a plain function that throws, not a rejected promise: called inside a map it used to escape allSettled
    a.stop = () => {
      throw new Error('plugin bug: stop() threw');
    };
    const metrics = new MetricsRegistry({ processMetrics: false });
    const store = JournalStore.open(join(mkdtempSync(join(tmpdir(), 'cwts-stop-throw-')), 'j.db'), { fsync: 'batch', batchMs: 60_000 });
    const engine = new Engine({
      clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, onShutdown: 'cancel', journal: store,
      venues: [{ name: 'a', symbols: ['BTCUSDT'], marketData: a, execution: a }, { name: 'b', symbols: ['BTCUSDT'], marketData: b, execution: b }],
    });
    await engine.start();
    await expect(engine.stop('test')).resolves.toBeUndefined();
    expect(b.stopped).toEqual({ marketData: true, execution: true });
    expect(() => store.load()).toThrow(); // closed
    expect(await metrics.text()).toMatch(/cwts_errors_total\{component="a:market_data"\} 1/);
    expect(await metrics.text()).toMatch(/cwts_errors_total\{component="a:execution"\} 1/);
  });

  /** Venue a's cancel() throws, venue b is fine; one acked order working at each. */
  async function twoVenues() {
    const a = new ThrowingCancelVenue('a', [BTC_A]);
    const b = new ScriptedVenue('b', [BTC_B]);
    const metrics = new MetricsRegistry({ processMetrics: false });
    const engine = new Engine({
      clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, onShutdown: 'cancel',
      venues: [{ name: 'a', symbols: ['BTCUSDT'], marketData: a, execution: a }, { name: 'b', symbols: ['BTCUSDT'], marketData: b, execution: b }],
    });
    await engine.start();
    a.sink!.onMarketEvent(snap('a'));
    b.sink!.onMarketEvent(snap('b'));
    for (const v of ['a', 'b']) expect(engine.submit({ ...intent(), exchange: v, price: 4_990_000, qty: 1 }).accepted).toBe(true);
    a.report(a.submitted[0]!, { kind: 'ack', venueOrderId: 'A1' });
    b.report(b.submitted[0]!, { kind: 'ack', venueOrderId: 'B1' });
    return { engine, a, b, metrics };
  }

  it('HALT still cancels the other venues\' orders, counts the throw as the venue\'s error, and leaves no unhandled rejection', async () => {
    const { engine, a, b, metrics } = await twoVenues();
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      engine.halt('drawdown');
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect({ unhandled: unhandled.map(String), cancelledAtB: b.cancelled.map((o) => o.clientOrderId) }).toEqual({ unhandled: [], cancelledAtB: [b.submitted[0]!.clientOrderId] });
    // the order at a is still working there: it is shown as such, not as being cancelled
    expect(engine.orders.get(a.submitted[0]!.clientOrderId)!.status).toBe('open');
    expect(await metrics.text()).toMatch(/cwts_errors_total\{component="a:execution"\} 1/);
    await engine.stop('test');
  });

  it('stop() cancels the other venues\' orders and finishes (execution clients stopped) instead of rejecting half-way', async () => {
    const { engine, b } = await twoVenues();
    await expect(engine.stop('test')).resolves.toBeUndefined();
    expect(b.cancelled.length).toBe(1);
    expect(b.stopped.execution).toBe(true);
  });

  it('a submit() that throws answers not accepted (VENUE_ERROR) and closes the order as rejected, in the journal too', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-submit-throws-')), 'j.db');
    const venue = new ThrowingSubmitVenue('v', [BTC]);
    const run = await journaled(path, venue, ['BTCUSDT']);
    await run.engine.start();
    run.clock.advance(1000);
    venue.sink!.onMarketEvent(snapshot('BTCUSDT', 10));
    let r: unknown;
    expect(() => (r = run.engine.submit(intent()))).not.toThrow();
    expect(r).toMatchObject({ accepted: false, reason: 'VENUE_ERROR' });
    expect(run.engine.orders.openCount()).toBe(0);
    expect([...run.engine.orders.all()].map((o) => [o.status, o.rejectReason])).toEqual([['rejected', 'VENUE_ERROR']]);
    expect(await run.metrics.text()).toMatch(/cwts_errors_total\{component="v:execution"\} 1/);
    await run.engine.stop('SIGTERM');
    const again = await journaled(path, new ScriptedVenue('v', [BTC]), ['BTCUSDT']);
    expect([...again.engine.orders.all()].map((o) => o.status)).toEqual(['rejected']);
    expect(again.engine.orders.openCount()).toBe(0);
    await again.engine.stop('test');
  });
});

describe('a router with only route() (split, no parents)', () => {
  it('a split order passes the per-order checks whole first (max_order_notional); the direct router adds no second pass', async () => {
    const venue = new ScriptedVenue('v', [BTC]);
    const metrics = new MetricsRegistry({ processMetrics: false });
    const risk = new RiskManager({ risk: { ...RISK, max_order_notional: 600 }, metrics, initialEquity: 1_000_000, timers: false });
    // 10 lots at 50 000 = 500 USDT; 20 lots = 1000, split by the router into two of 500
    const halves = { name: 'halves', route: (i: OrderIntent) => (i.qty > 10 ? [{ ...i, qty: i.qty / 2 }, { ...i, qty: i.qty / 2 }] : [i]) };
    const engine = new Engine({ clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, router: halves, venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
    await engine.start();
    venue.sink!.onMarketEvent(snapshot('BTCUSDT', 1));
    expect(engine.submit(intent('BTCUSDT', 20))).toMatchObject({ accepted: false, reason: 'RISK_MAX_ORDER_NOTIONAL', message: expect.stringContaining('(the whole order, before routing)') });
    expect(venue.submitted).toEqual([]);
    const r = engine.submit(intent('BTCUSDT', 10));
    expect(r.accepted).toBe(true);
    await engine.stop('test');
  });

  /** A third-party router through the plain contract: route() splits an intent half and half over venues a and b. */
  const halfHalf = { name: 'half-half', route: (i: Readonly<OrderIntent>): OrderIntent[] => [{ ...i, exchange: 'a', qty: i.qty / 2 }, { ...i, exchange: 'b', qty: i.qty / 2 }] };
  const onVenue = (exchange: string) => defineInstrument({ exchange, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
  async function twoVenues(riskChecks: RiskCheck[] = [], bSynced = true) {
    const a = new ScriptedVenue('a', [onVenue('a')]);
    const b = new ScriptedVenue('b', [onVenue('b')]);
    const engine = new Engine({
      clock: new ManualClock(1_000_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, router: halfHalf, riskChecks,
      venues: [a, b].map((v) => ({ name: v.exchange, symbols: ['BTCUSDT'], marketData: v, execution: v })),
    });
    await engine.start();
    a.sink!.onMarketEvent({ ...snapshot('BTCUSDT', 1), exchange: 'a' });
    if (bSynced) b.sink!.onMarketEvent({ ...snapshot('BTCUSDT', 1), exchange: 'b' });
    return { a, b, engine };
  }

  it('a split order one part of which the engine would refuse before the risk checks (a book not synced) sends nothing', async () => {
    const { a, b, engine } = await twoVenues([], false);
    const res = engine.submit(intent('BTCUSDT', 200));
    // Once a's half went out and the strategy was told the last half's "refused, BOOK_NOT_SYNCED",
    // with no id for the order working at a: it retried, and could not cancel the first.
    expect(res).toMatchObject({ accepted: false, reason: 'BOOK_NOT_SYNCED', message: expect.stringContaining('none sent') });
    expect([a.submitted, b.submitted, engine.orders.openCount()]).toEqual([[], [], 0]);
    await engine.stop('test');
  });

  it('a split order one part of which a risk check refuses after another went out: accepted, with the id of every order that works', async () => {
    const noB: RiskCheck = { name: 'no-b', check: (i) => (i.exchange === 'b' ? { ok: false, reason: 'RISK_CUSTOM', message: 'not on b' } : { ok: true }) };
    const { a, b, engine } = await twoVenues([noB]);
    const res = engine.submit(intent('BTCUSDT', 200));
    expect(a.submitted).toHaveLength(1);
    expect(b.submitted).toHaveLength(0);
    const id = a.submitted[0]!.clientOrderId;
    expect(res).toEqual({ accepted: true, clientOrderId: id, clientOrderIds: [id], message: expect.stringContaining('1 of 2 orders sent; refused: b BTCUSDT 100 lots: RISK_CUSTOM not on b') });
    // the strategy can cancel what works
    expect(engine.cancel(res.clientOrderId!)).toBe(true);
    expect(a.cancelled.map((o) => o.clientOrderId)).toEqual([id]);
    await engine.stop('test');
  });

  it('a split order whose parts all go out: accepted, every id in clientOrderIds (the first as clientOrderId)', async () => {
    const { a, b, engine } = await twoVenues();
    const res = engine.submit(intent('BTCUSDT', 200));
    const ids = [a.submitted[0]!.clientOrderId, b.submitted[0]!.clientOrderId];
    expect(res).toEqual({ accepted: true, clientOrderId: ids[0], clientOrderIds: ids });
    await engine.stop('test');
  });
});

describe('what plugins hand the engine', () => {
  async function withJournal(path: string) {
    const venue = new ScriptedVenue('v', [BTC]);
    const errors: string[] = [];
    const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, onError: (e) => errors.push(e.message) });
    const metrics = new MetricsRegistry({ processMetrics: false });
    const engine = new Engine({ clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, journal: store, onShutdown: 'keep', venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
    attachJournal(engine, store, silentLogger());
    await engine.start();
    return { engine, store, errors };
  }
  const cycle = () => {
    const o: Record<string, unknown> = { a: 1 };
    o.self = o;
    return o;
  };

  it('persisted state: a value JSON cannot carry is refused to the caller; the journal commits everything else', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-state-')), 'j.db');
    const run = await withJournal(path);
    run.engine.persisted.set('strategy:x', 'before', { at: 5n });
    for (const [what, bad] of [['a cycle', cycle()], ['undefined', undefined], ['a function', () => 1], ['too large', 'x'.repeat(70_000)]] as const) {
      expect(() => run.engine.persisted.set('strategy:x', 'bad', bad), what).toThrow(/persisted\.set\("strategy:x", "bad"\)/);
    }
    const kept = { n: 1, nested: { f: () => 2, ok: true } };
    run.engine.persisted.set('strategy:x', 'after', kept);
    kept.n = 99; // kept as its JSON form: a later change to the object is not the stored value
    expect(run.engine.persisted.get('strategy:x', 'after')).toEqual({ n: 1, nested: { ok: true } });
    expect(() => run.store.flush()).not.toThrow();
    await run.engine.stop('SIGTERM');
    expect(run.errors).toEqual([]);
    const again = await withJournal(path);
    expect(again.engine.persisted.get('strategy:x', 'before')).toEqual({ at: 5n });
    expect(again.engine.persisted.get('strategy:x', 'after')).toEqual({ n: 1, nested: { ok: true } });
    expect(again.engine.persisted.get('strategy:x', 'bad')).toBeUndefined();
    await again.engine.stop('test');
  });

  it('a signal whose evidence JSON cannot carry is journaled with the reason in its place; the journal commits', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-signal-')), 'j.db');
    const run = await withJournal(path);
    const signal = (n: number, evidence: Record<string, unknown>) => ({ id: `d:v:BTCUSDT:${n}`, detector: 'd', kind: 'k', exchange: 'v', symbol: 'BTCUSDT', ts: n, direction: 1 as const, strength: 1, evidence });
    run.engine.emit(signal(1, { loop: cycle() }));
    run.engine.emit(signal(2, { f: () => 1, fine: 3 }));
    run.engine.persisted.set('s', 'k', 7);
    expect(() => run.store.flush()).not.toThrow();
    const rows = run.store.database.prepare('SELECT json FROM signals ORDER BY seq').pluck().all() as string[];
    expect(rows.map((r) => JSON.parse(r).evidence)).toEqual([{ unserializable: expect.stringMatching(/circular/i) }, { fine: 3 }]);
    await run.engine.stop('SIGTERM');
    expect(run.errors).toEqual([]);
  });

  it('an intent whose side, type or time in force is not one of the contract\'s words (a JS plugin writing "SELL", "LIMIT", "gtc") is refused as INVALID_ORDER, never sent', async () => {
    const venue = new ScriptedVenue('v', [BTC]);
    const engine = plainEngine(venue, 'keep');
    await engine.start();
    venue.sink!.onMarketEvent(snapshot('BTCUSDT', 1));
    const bad = [
      { ...intent(), side: 'SELL' },
      { ...intent(), side: 'SELL', type: 'market', price: undefined, tif: 'IOC' },
      { ...intent(), type: 'LIMIT', price: undefined },
      { ...intent(), tif: 'gtc' },
      { ...intent(), side: undefined },
    ] as unknown as OrderIntent[];
    for (const i of bad) expect(engine.submit(i), JSON.stringify(i)).toMatchObject({ accepted: false, reason: 'INVALID_ORDER' });
    expect(venue.submitted).toEqual([]);
    expect(engine.submit(intent()).accepted).toBe(true);
    await engine.stop('test');
  });

  it('a signal the journal cannot store (ts NaN, no id, direction 2, strength Infinity) is dropped and counted; the orders and fills queued beside it commit', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-bad-signal-')), 'j.db');
    const venue = new ScriptedVenue('v', [BTC]);
    const run = await journaled(path, venue, ['BTCUSDT']);
    await run.engine.start();
    run.clock.advance(1000);
    venue.sink!.onMarketEvent(snapshot('BTCUSDT', 10));
    expect(run.engine.submit({ ...intent(), price: 5_000_100 }).accepted).toBe(true);
    const o = venue.submitted.at(-1)!;
    const good: Signal = { id: 'd:v:BTCUSDT:1', detector: 'd', kind: 'k', exchange: 'v', symbol: 'BTCUSDT', ts: 5, direction: 1, strength: 1, evidence: {} };
    for (const bad of [{ ts: Number.NaN }, { ts: undefined }, { id: undefined }, { symbol: 7 }, { direction: 2 }, { strength: Number.POSITIVE_INFINITY }]) {
      run.engine.emit({ ...good, ...bad } as unknown as Signal);
    }
    run.engine.emit(good);
    venue.report(o, { kind: 'fill', lastPrice: 5_000_100, lastQty: 10, cumQty: 10, leavesQty: 0, feeAtoms: 5n, liquidity: 'taker', tradeId: 't1', ts: run.clock.now() });
    expect(() => run.store.flush()).not.toThrow();
    const count = (table: string) => run.store.database.prepare(`SELECT count(*) FROM ${table}`).pluck().get();
    expect({ orders: count('orders'), fills: count('fills'), signals: count('signals') }).toEqual({ orders: 1, fills: 1, signals: 1 });
    expect(run.engine.summary().signals).toBe(1);
    // "d" is no configured detector's name, and the test emitted outside any detector's dispatch
    expect(await run.metrics.text()).toMatch(/cwts_errors_total\{component="detector:\?"\} 6/);
    await run.engine.stop('SIGTERM');
  });

  it('a risk check that throws or answers nonsense refuses the order (fails closed), counted as its error; submit never throws', async () => {
    for (const check of [
      { name: 'throws', check: () => { throw new Error('table for venue b missing'); } },
      { name: 'nothing', check: () => undefined },
      { name: 'half', check: () => ({ ok: false }) },
    ]) {
      const venue = new ScriptedVenue('v', [BTC]);
      const metrics = new MetricsRegistry({ processMetrics: false });
      const engine = new Engine({ clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, riskChecks: [check as never], venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
      await engine.start();
      venue.sink!.onMarketEvent(snapshot('BTCUSDT', 1));
      let r: unknown;
      expect(() => (r = engine.submit(intent())), check.name).not.toThrow();
      expect(r, check.name).toMatchObject({ accepted: false, reason: 'RISK_CUSTOM', message: expect.stringContaining(`risk check ${check.name}`) });
      expect(venue.submitted).toEqual([]);
      expect(await metrics.text()).toMatch(new RegExp(`cwts_errors_total\\{component="risk:${check.name}"\\} 1`));
      await engine.stop('test');
    }
  });
});

/**
 * A self-trade is one venue trade id on two orders (a buy and a sell). What reconciliation knows
 * as booked for orders it no longer holds (the restore's journaled fills, the fills booked while
 * a venue is not reconciled) is keyed by order and trade id (reconcile.ts, bookedTradeKeys):
 * keyed by the trade id alone, once one side was booked the other side was skipped, never
 * booked, adopted or reported as unknown_trade.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { HandTimers, ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot: BookSnapshotEvent = { type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] };

const settle = async () => {
  for (let k = 0; k < 20; k++) await new Promise<void>((r) => setImmediate(r));
};

const trade = (clientOrderId: string, side: 'buy' | 'sell', qty: number, tradeId: string, ts: number): ExecutionReport =>
  ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId, side, lastPrice: 5_000_050, lastQty: qty, cumQty: qty, leavesQty: 0, feeAtoms: 0n, liquidity: 'maker', tradeId, ts });

describe('self-trade at reconciliation', () => {
  it('retry: the other side of a self-trade whose one side was booked live is still booked', async () => {
    const v = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    // c-1: our buy the journal holds open. c-2: our sell whose order record a crash lost
    // (fsync = batch), which crossed c-1 while we were down: one trade T-1 on both.
    const working: Order = { exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_100, qty: 2, tif: 'GTC', source: 'test', reason: 'test', clientOrderId: 'c-1', venueOrderId: 'V1', status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 1, updatedTs: 1 };
    v.venueOpen = [working];
    const tradesSince = v.tradesSince.bind(v);
    let reachable = false;
    v.tradesSince = async (symbols, since) => {
      if (!reachable) throw new Error('HTTP 503');
      return tradesSince(symbols, since);
    };
    const timers = new HandTimers();
    const engine = new Engine({
      clock: new ManualClock(1_000_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, timers,
      restore: (e) => e.orders.restore({ ...working }),
      venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: v, execution: v }],
    });
    await engine.start();
    expect(engine.reconciled).toBe(false);
    // the stream delivers c-1's side of the self-trade live (booked); c-2's side is an unknown order live
    const buySide = trade('c-1', 'buy', 2, 'T-1', 1_000_500);
    const sellSide = trade('c-2', 'sell', 2, 'T-1', 1_000_500);
    v.onReport!(buySide);
    v.onReport!(sellSide);
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(2);
    // back: the venue's trade list has both sides of T-1
    reachable = true;
    v.venueOpen = [];
    v.trades = [buySide, sellSide];
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
    // the venue's position is 0 (bought 2 and sold 2 under one trade id): the sell side must be booked (adopted)
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(0);
    await engine.stop('test');
  });

  it('restart: a hand-placed counterparty of a self-trade at the last journaled fill time is adopted like any other hand trade', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-selftrade-')), 'j.db');
    const open = (venue: ScriptedVenue) => {
      const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
      const e = new Engine({
        clock: new ManualClock(1_000_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, journal: store, onShutdown: 'keep', onReconcileMismatch: 'adopt-venue',
        venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
      });
      attachJournal(e, store, silentLogger());
      return e;
    };
    // first run: our buy fills with trade T-9 at venue time 2000 (the last journaled fill)
    const v1 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const a = open(v1);
    await a.start();
    v1.sink!.onMarketEvent(snapshot);
    expect(a.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 10, tif: 'GTC', source: 'test' }).accepted).toBe(true);
    const ours = v1.submitted[0]!;
    v1.report(ours, { kind: 'ack', venueOrderId: 'V0' });
    v1.report(ours, { kind: 'fill', side: 'buy', lastPrice: 5_000_000, lastQty: 10, cumQty: 10, feeAtoms: 0n, tradeId: 'T-9', ts: 2_000 });
    expect(a.portfolio.qty('v', 'BTCUSDT')).toBe(10);
    await a.stop('SIGTERM');

    // The sell it matched was placed by hand on the same account (same trade id on the other
    // side), and another hand sell traded at the same millisecond under its own trade id.
    const v2 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    v2.trades = [
      trade(ours.clientOrderId, 'buy', 10, 'T-9', 2_000),
      trade('web-1', 'sell', 10, 'T-9', 2_000),
      trade('web-2', 'sell', 3, 'T-10', 2_000),
    ];
    const b = open(v2);
    await b.start();
    const adopted = b.reconcileResult!.mismatches.filter((m) => m.kind === 'unknown_trade').map((m) => m.clientOrderId);
    // web-1 carries the trade id of our journaled buy, on the other side: adopted like web-2
    expect(adopted).toEqual(['web-1', 'web-2']);
    expect(b.portfolio.qty('v', 'BTCUSDT')).toBe(10 - 10 - 3);
    await b.stop('test');
  });

  it('a trade without a client id, adopted at one start, is known at the next by symbol, side and trade id', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-selftrade-')), 'j.db');
    const open = (venue: ScriptedVenue) => {
      const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
      const e = new Engine({
        clock: new ManualClock(1_000_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, journal: store, onShutdown: 'keep', onReconcileMismatch: 'adopt-venue',
        venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
      });
      attachJournal(e, store, silentLogger());
      return e;
    };
    // both sides of a self-trade of two orders the venue names no client id for (exchange-ccxt)
    // (at the venue's time now: no journaled fill yet, so trades are read from when the journal began)
    const at = Date.now();
    const sides = [trade(undefined as unknown as string, 'buy', 4, 'T-5', at), trade(undefined as unknown as string, 'sell', 4, 'T-5', at), trade(undefined as unknown as string, 'buy', 1, 'T-6', at + 1)];
    const v1 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    v1.trades = sides;
    const a = open(v1);
    await a.start();
    expect(a.reconcileResult!.mismatches.filter((m) => m.kind === 'unknown_trade')).toHaveLength(3);
    expect(a.portfolio.qty('v', 'BTCUSDT')).toBe(1);
    await a.stop('SIGTERM');

    const v2 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    v2.trades = sides;
    const b = open(v2);
    await b.start();
    expect(b.reconcileResult!.mismatches).toEqual([]);
    expect(b.portfolio.qty('v', 'BTCUSDT')).toBe(1);
    await b.stop('test');
  });
});

/**
 * A venue trade the engine must not book at a restart under a journaled order's id: a fill the
 * live run refused as fill_qty (past its order's quantity) was booked at the next start once
 * closed-order retention had forgotten its order (reconciliation adopted it as a trade of "an
 * order the journal never saw" under the journaled order's own id, and every later start replayed
 * it onto the journaled order: a permanent overfill), and refused again with nothing reported
 * while the order was still held. Now it is a `status` mismatch, never adopted; a trade of a
 * forgotten journaled order that fits its quantity is booked onto that order, as the journal
 * holds it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport } from '../domain/orders.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { HandTimers, ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot = (seq: number): BookSnapshotEvent => ({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] });

function engineOn(path: string, venue: ScriptedVenue, clock = new ManualClock(1_000_000), timers?: HandTimers) {
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, watchdog: false, journal: store, onShutdown: 'keep', onReconcileMismatch: 'adopt-venue', ...(timers ? { timers } : {}),
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  attachJournal(engine, store, silentLogger());
  return { engine, metrics };
}

const fill = (clientOrderId: string, qty: number, tradeId: string, ts: number): ExecutionReport =>
  ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId, side: 'buy', lastPrice: 5_000_100, lastQty: qty, cumQty: 0, leavesQty: 0, feeAtoms: 0n, liquidity: 'taker', tradeId, ts });

const T = 1_000_000;
const limit = (qty: number) => ({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy' as const, type: 'limit' as const, price: 5_000_100, qty, tif: 'GTC' as const, source: 'test' });

/** The strategy goes on quoting: 1,001 orders acked and cancelled over 11 minutes, no fill (closed-order retention forgets what came before). */
function quoteOn(a: Engine, v: ScriptedVenue, clock: ManualClock): void {
  for (let k = 0; k < 1001; k++) {
    clock.advance(660);
    const q = a.submit({ ...limit(1), price: 4_990_000 });
    expect(q.accepted, q.message).toBe(true);
    const o = v.submitted.at(-1)!;
    v.report(o, { kind: 'ack', ts: T + 2 + k * 660 });
    v.report(o, { kind: 'cancelled', ts: T + 3 + k * 660 });
  }
}

describe('a venue trade of a journaled order at the next start', () => {
  it('refused live as fill_qty, is not booked at restart when its (journaled, filled) order has left memory', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-overfill-')), 'j.db');
    const v1 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const clock = new ManualClock(T);
    const { engine: a, metrics } = engineOn(path, v1, clock);
    await a.start();
    v1.sink!.onMarketEvent(snapshot(1));
    const r = a.submit(limit(5));
    expect(r.accepted, r.message).toBe(true);
    const id = r.clientOrderId!;
    const x1 = fill(id, 5, 'x1', T);
    const x2 = fill(id, 5, 'x2', T + 1); // the same fill again under another trade id: refused live
    a.onExecutionReport(x1);
    a.onExecutionReport(x2);
    expect(a.portfolio.qty('v', 'BTCUSDT')).toBe(5);
    expect(await metrics.text()).toMatch(/cwts_execution_reports_invalid_total\{exchange="v",reason="fill_qty"\} 1/);
    quoteOn(a, v1, clock);
    expect(a.orders.get(id)).toBeUndefined();
    await a.stop('SIGTERM');

    // Next start: the venue's trade list (read from the watermark, x1's time) answers x1 and x2 again.
    for (const run of [1, 2]) {
      const v2 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
      v2.trades = [x1, x2];
      const { engine: b } = engineOn(path, v2, new ManualClock(T + run * 1_000_000));
      await b.start();
      const mismatches = b.reconcileResult!.mismatches;
      expect({ position: b.portfolio.qty('v', 'BTCUSDT'), adopted: mismatches.filter((m) => m.kind === 'unknown_trade') }).toEqual({ position: 5, adopted: [] });
      expect(mismatches.filter((m) => m.kind === 'status').map((m) => [m.clientOrderId, m.detail])).toEqual([[id, expect.stringMatching(/trade x2 .*past its quantity.*not booked/)]]);
      await b.stop('test');
    }
  });

  it('refused live as fill_qty, is reported (status) when its order is still held at restart', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-overfill-held-')), 'j.db');
    const v1 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const { engine: a } = engineOn(path, v1, new ManualClock(T));
    await a.start();
    v1.sink!.onMarketEvent(snapshot(1));
    const id = a.submit(limit(5)).clientOrderId!;
    const x1 = fill(id, 5, 'x1', T);
    const x2 = fill(id, 5, 'x2', T + 1);
    a.onExecutionReport(x1);
    a.onExecutionReport(x2);
    await a.stop('SIGTERM');

    const v2 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    v2.trades = [x1, x2];
    const { engine: b } = engineOn(path, v2, new ManualClock(T + 60_000));
    await b.start();
    expect(b.orders.get(id)).toBeDefined();
    expect(b.portfolio.qty('v', 'BTCUSDT')).toBe(5);
    expect(b.reconcileResult!.mismatches.map((m) => [m.kind, m.clientOrderId])).toEqual([['status', id]]);
    await b.stop('test');
  });

  it('that fits its quantity is booked onto the journaled order once it has left memory, never onto a new one, and replays once', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-forgotten-fill-')), 'j.db');
    const v1 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const clock = new ManualClock(T);
    const { engine: a } = engineOn(path, v1, clock);
    await a.start();
    v1.sink!.onMarketEvent(snapshot(1));
    const id = a.submit(limit(10)).clientOrderId!;
    const x1 = fill(id, 4, 'x1', T);
    a.onExecutionReport(x1);
    v1.report(v1.submitted.at(-1)!, { kind: 'cancelled', ts: T + 1 });
    quoteOn(a, v1, clock);
    await a.stop('SIGTERM');

    // a fill that crossed the cancel, which the live run never received
    const x2 = fill(id, 3, 'x2', T + 2);
    for (const run of [1, 2]) {
      const v2 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
      v2.trades = [x1, x2];
      const { engine: b } = engineOn(path, v2, new ManualClock(T + run * 1_000_000));
      await b.start();
      const mismatches = b.reconcileResult!.mismatches;
      expect(b.portfolio.qty('v', 'BTCUSDT')).toBe(7);
      expect(mismatches.filter((m) => m.kind === 'unknown_trade')).toEqual([]);
      // reported once, when it is booked
      expect(mismatches.map((m) => [m.kind, m.clientOrderId])).toEqual(run === 1 ? [['status', id]] : []);
      await b.stop('test');
    }
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM orders WHERE client_id = ?').pluck().get(id)).toBe(1);
    db.close();
  });
});

describe('what the restore keeps of every journaled order', () => {
  it('is kept while a venue is not reconciled, and freed once every venue is (it grows with the journal)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-journaled-free-')), 'j.db');
    const v1 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const clock = new ManualClock(T);
    const { engine: a } = engineOn(path, v1, clock);
    await a.start();
    v1.sink!.onMarketEvent(snapshot(1));
    const r = a.submit(limit(5));
    expect(r.accepted, r.message).toBe(true);
    await a.stop('SIGTERM');
    // restart with a venue whose trades cannot be read: reconciliation fails, is retried later
    const v2 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    let failing = true;
    const read = v2.tradesSince.bind(v2);
    v2.tradesSince = (symbols, since) => (failing ? Promise.reject(new Error('venue down')) : read(symbols, since));
    const timers = new HandTimers();
    const { engine: b } = engineOn(path, v2, clock, timers);
    await b.start();
    expect(b.reconciled).toBe(false);
    expect(b.orders.journaledOrder(r.clientOrderId)).toBeDefined();
    failing = false;
    timers.fire(); // the retry
    await vi.waitFor(() => expect(b.reconciled).toBe(true));
    expect(b.orders.journaledOrder(r.clientOrderId)).toBeUndefined();
    await b.stop('SIGTERM');
  });
});

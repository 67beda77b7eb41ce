/**
 * Open orders restored for a venue the config no longer names (rebuild.ts, setAsideUnconfigured):
 * reported, not counted as working, never marked pending_cancel by a cancel that cannot be sent,
 * and reconciled again once the venue is configured again.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import type { OrderIntent } from '../domain/orders.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager } from '../risk/manager.js';
import { RISK } from './risk-test-engine.js';
import { Engine, type VenueRuntime } from './engine.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC_V = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const BTC_W = defineInstrument({ exchange: 'w', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot = (exchange: string, seq: number): BookSnapshotEvent =>
  ({ type: 'book_snapshot', exchange, symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] });
const intent = (exchange: string, qty = 10): OrderIntent => ({ exchange, symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 4_990_000, qty, tif: 'GTC', source: 'test' });

function journaledEngine(path: string, venues: ScriptedVenue[]) {
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 1_000_000, timers: false });
  const runtimes: VenueRuntime[] = venues.map((v) => ({ name: v.exchange, symbols: ['BTCUSDT'], marketData: v, execution: v }));
  const engine = new Engine({ clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, journal: store, onShutdown: 'keep', venues: runtimes });
  attachJournal(engine, store, silentLogger());
  return engine;
}

/** A first run on v and w: one order working at each (on_shutdown = keep). Returns their ids. */
async function firstRun(path: string): Promise<{ onV: string; onW: string }> {
  const v = new ScriptedVenue('v', [BTC_V]);
  const w = new ScriptedVenue('w', [BTC_W]);
  const a = journaledEngine(path, [v, w]);
  await a.start();
  v.sink!.onMarketEvent(snapshot('v', 1));
  w.sink!.onMarketEvent(snapshot('w', 1));
  const rv = a.submit(intent('v', 5));
  const rw = a.submit(intent('w', 10));
  expect(rv.accepted && rw.accepted, `${rv.message} ${rw.message}`).toBe(true);
  v.report(v.submitted[0]!, { kind: 'ack', venueOrderId: 'V1' });
  w.report(w.submitted[0]!, { kind: 'ack', venueOrderId: 'W1' });
  await a.stop('SIGTERM');
  return { onV: rv.clientOrderId!, onW: rw.clientOrderId! };
}

describe('orders restored for a venue no longer configured', () => {
  it('are held as the journal left them, reported, not counted as working, and a cancel of one says it was not sent', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-unconfigured-')), 'j.db');
    const { onV, onW } = await firstRun(path);

    // The operator drops w from [exchanges] enabled and restarts (v is not simulated: its order is still there).
    const v = new ScriptedVenue('v', [BTC_V]);
    v.venueOpen = [];
    v.orderStatus.set(onV, { clientOrderId: onV, status: 'open', filledQty: 0, fills: [] });
    const b = journaledEngine(path, [v]);
    await b.start();
    expect(b.restoredFrom!.ordersOnUnconfiguredVenues).toEqual([{ exchange: 'w', orders: 1, clientOrderIds: [onW] }]);
    expect(b.restoredFrom!.openOrders).toBe(1);
    expect(b.orders.get(onW)!.status).toBe('open');
    expect(b.orders.openCount()).toBe(1);
    expect(b.orders.allOpen().map((o) => o.clientOrderId)).toEqual([onV]);

    expect(b.cancel(onW)).toBe(false);
    expect(b.orders.get(onW)!.status).toBe('open');

    // a HALT cancels what it can reach and does not wait on w's order
    b.halt('test');
    expect(v.cancelled.map((o) => o.clientOrderId)).toEqual([onV]);
    expect(b.orders.openCount()).toBe(0);
    expect(await b.cancelAllOpen('again', 60_000)).toBe(0);
    await b.stop('test');

    // w enabled again: its order is reconciled as any journaled open order, and the HALT
    // latched in the journal cancels it at start
    const v3 = new ScriptedVenue('v', [BTC_V]);
    const w3 = new ScriptedVenue('w', [BTC_W]);
    w3.orderStatus.set(onW, { clientOrderId: onW, status: 'open', filledQty: 0, fills: [] });
    const c = journaledEngine(path, [v3, w3]);
    await c.start();
    expect(c.restoredFrom!.ordersOnUnconfiguredVenues).toEqual([]);
    expect(c.restoredFrom!.openOrders).toBe(1);
    expect(c.riskState.state).toBe('HALTED');
    expect(w3.cancelled.map((o) => o.clientOrderId)).toEqual([onW]);
    expect(c.orders.get(onW)!.status).toBe('cancelled');
    await c.stop('test');
  });
});

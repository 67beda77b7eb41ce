/**
 * tradesSince reports a trade whose order the venue no longer answers for (Bybit: order/history
 * reaches 7 days back without a createdTs, and knownOrders is empty after a restart) under
 * clientOrderId = the venue order id. Reconciliation once checked "already booked" by the
 * client-id key only (reconcile.ts isBookedTrade), so a trade the journal booked under our real
 * client id was booked a second time as an adopted unknown trade: the position doubled. Any of the
 * trade's keys (client id + trade id, symbol + side + trade id) now recognises it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { attachJournal } from '../engine/rebuild.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { MemoryVenue, polledClient } from './polled-execution.fixture.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot: BookSnapshotEvent = { type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] };

describe('tradesSince of an unreadable order after a restart', () => {
  it('a trade the journal already booked under our client id is not booked again when its order no longer answers', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-review-unread-')), 'j.db');
    const clock = new ManualClock(1_000_000);
    // first run: our buy (venue order V0) fills with trade T-9 at venue time 2000, journaled
    const v1 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const store1 = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
    const a = new Engine({
      clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, journal: store1, onShutdown: 'keep', onReconcileMismatch: 'adopt-venue',
      venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: v1, execution: v1 }],
    });
    attachJournal(a, store1, silentLogger());
    await a.start();
    v1.sink!.onMarketEvent(snapshot);
    expect(a.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 10, tif: 'GTC', source: 'test' }).accepted).toBe(true);
    const ours = v1.submitted[0]!;
    v1.report(ours, { kind: 'ack', venueOrderId: 'V0' });
    v1.report(ours, { kind: 'fill', side: 'buy', lastPrice: 5_000_000, lastQty: 10, cumQty: 10, feeAtoms: 0n, tradeId: 'T-9', ts: 2_000 });
    expect(a.portfolio.qty('v', 'BTCUSDT')).toBe(10);
    await a.stop('SIGTERM');

    // second run: the same trade is in the venue's trade list (at the watermark), with its side;
    // its order is closed and older than the venue's history window: fetchOrder answers nothing (no view)
    const md = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const driver = new MemoryVenue({ fills: [{ tradeId: 'T-9', venueOrderId: 'V0', symbol: 'BTCUSDT', price: '50000.00', qty: '0.010', fee: '0', feeAsset: 'USDT', ts: 2_000, side: 'buy', liquidity: 'maker' }] });
    const exec = polledClient(driver, { clock, pollIntervalMs: 1000, instrument: (s) => (s === 'BTCUSDT' ? BTC : undefined), symbols: () => ['BTCUSDT'] });
    const store2 = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
    const b = new Engine({
      clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, journal: store2, onShutdown: 'keep', onReconcileMismatch: 'adopt-venue',
      venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: md, execution: exec }],
    });
    attachJournal(b, store2, silentLogger());
    await b.start();
    expect(b.reconciled).toBe(true);
    // T-9 was booked once already: the position is still 10 lots, no trade adopted
    expect(b.portfolio.qty('v', 'BTCUSDT')).toBe(10);
    expect(b.reconcileResult!.mismatches.filter((m) => m.kind === 'unknown_trade')).toEqual([]);
    await b.stop('test');
  });
});

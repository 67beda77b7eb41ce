/**
 * One fill whose venue time is far in the future (a venue clock glitch, or an adapter that passes
 * microseconds for milliseconds) became the trades watermark for good (journal/store.ts
 * tradesWatermarks: max(venue_ts)), and every later start asked the venue for trades only from
 * that time on: a trade made while the process was down, on an order whose record a crash lost,
 * was never read and never adopted. A watermark more than WATERMARK_AHEAD_MS ahead of the host
 * clock is not trusted (reconcile.ts, tradesFrom).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport } from '../domain/orders.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot = (seq: number): BookSnapshotEvent => ({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] });

function engineOn(path: string, venue: ScriptedVenue, clock: ManualClock) {
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, watchdog: false, journal: store, onShutdown: 'keep', onReconcileMismatch: 'adopt-venue',
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  attachJournal(engine, store, silentLogger());
  return engine;
}

const fill = (clientOrderId: string, qty: number, tradeId: string, ts: number): ExecutionReport =>
  ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId, side: 'buy', lastPrice: 5_000_100, lastQty: qty, cumQty: qty, leavesQty: 0, feeAtoms: 0n, liquidity: 'taker', tradeId, ts });

describe('trades watermark and a venue time far ahead of the host clock', () => {
  it('a trade made while down is still adopted at the next start after one fill stamped in the future', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-review-wm-')), 'j.db');
    const T = 1_765_000_000_000; // host and venue wall time, ms
    const v1 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const a = engineOn(path, v1, new ManualClock(T));
    await a.start();
    v1.sink!.onMarketEvent(snapshot(1));
    const r = a.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_100, qty: 5, tif: 'GTC', source: 'test' });
    expect(r.accepted, r.message).toBe(true);
    // the venue's fill carries microseconds (or a clock glitch): accepted, it is a finite number
    a.onExecutionReport(fill(r.clientOrderId!, 5, 'x1', T * 1000));
    expect(a.portfolio.qty('v', 'BTCUSDT')).toBe(5);
    await a.stop('SIGTERM');

    // Later, another run sent cw-… and crashed before its record was committed; it filled at the
    // venue at T + 60 s (venue time, in ms as the venue's trade list answers).
    const lost = fill('cw-1500', 3, 'y1', T + 60_000);
    const v2 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    v2.trades = [fill(r.clientOrderId!, 5, 'x1', T), lost];
    let asked: number | undefined;
    const plain = v2.tradesSince.bind(v2);
    v2.tradesSince = async (symbols, since) => {
      asked = since;
      return plain(symbols, since);
    };
    const b = engineOn(path, v2, new ManualClock(T + 120_000));
    await b.start();
    // the read starts no later than the host's present (less any skew margin)
    expect(asked).toBeLessThanOrEqual(T + 120_000);
    expect(b.portfolio.qty('v', 'BTCUSDT')).toBe(8);
    await b.stop('test');
  });
});

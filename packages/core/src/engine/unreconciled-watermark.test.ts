/**
 * Fills booked while a venue is not reconciled (reconciliation's own step-1 fills booked before a
 * later read failed, fills its stream delivers during the retries) do not move the venue's trade
 * watermark (journal/store.ts, tradesWatermarks). Taken as the last fill time as they were, a
 * restart before that venue was reconciled pulled trades only from that later time on: trades
 * the venue made while we were down, before it, on orders the journal does not hold (an order
 * record a crash lost, a hand trade), were never read, never adopted.
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
import { Engine, type EngineTimers } from './engine.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot: BookSnapshotEvent = { type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] };

class HandTimers implements EngineTimers {
  readonly pending: unknown[] = [];
  setTimeout(fn: () => void, ms: number): unknown {
    const t = { fn, ms };
    this.pending.push(t);
    return t;
  }
  clearTimeout(): void {}
}

const fillOf = (clientOrderId: string, side: 'buy' | 'sell', price: number, qty: number, tradeId: string, ts: number): ExecutionReport =>
  ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId, side, lastPrice: price, lastQty: qty, cumQty: qty, leavesQty: 0, feeAtoms: 0n, liquidity: 'maker', tradeId, ts });

describe('trade watermark across a restart before a venue was reconciled', () => {
  it('a trade made while down, before a fill booked during a failed reconciliation, is still adopted at the next start', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-watermark-')), 'j.db');
    const open = (venue: ScriptedVenue) => {
      const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
      const e = new Engine({
        clock: new ManualClock(1_000_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, journal: store, onShutdown: 'keep', onReconcileMismatch: 'adopt-venue', timers: new HandTimers(),
        venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
      });
      attachJournal(e, store, silentLogger());
      return e;
    };
    // run 1: a buy of 10 working at the venue (kept at shutdown)
    const v1 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const r1 = open(v1);
    await r1.start();
    v1.sink!.onMarketEvent(snapshot);
    expect(r1.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 10, tif: 'GTC', source: 'test' }).accepted).toBe(true);
    const ours = v1.submitted[0]!;
    v1.report(ours, { kind: 'ack', venueOrderId: 'V0' });
    await r1.stop('SIGTERM');

    // While down: a sell of 3 on the account at t=1_000_100 (an order whose record a crash lost, or one
    // placed by hand), then our buy filled at t=1_000_200.
    const lost = fillOf('cw-77', 'sell', 5_000_000, 3, 'T-100', 1_000_100);
    const ourFill = fillOf(ours.clientOrderId, 'buy', 5_000_000, 10, 'T-200', 1_000_200);
    const since: number[] = [];
    const venueAfter = () => {
      const v = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
      const tradesSince = v.tradesSince.bind(v);
      v.tradesSince = (symbols, from) => {
        since.push(from);
        return tradesSince(symbols, from);
      };
      v.orderStatus.set(ours.clientOrderId, { clientOrderId: ours.clientOrderId, status: 'filled', filledQty: 10, fills: [ourFill] });
      v.trades = [lost, ourFill];
      return v;
    };

    // run 2: the order query answers (our fill is booked), the trade list read fails (HTTP 429);
    // the operator restarts before the retry succeeds
    const v2 = venueAfter();
    v2.tradesSince = async (_symbols, from) => {
      since.push(from);
      throw new Error('HTTP 429 Too Many Requests');
    };
    const r2 = open(v2);
    await r2.start();
    expect(r2.reconciled).toBe(false);
    expect(r2.portfolio.qty('v', 'BTCUSDT')).toBe(10);
    await r2.stop('SIGTERM');

    // run 3: the venue answers everything; its account holds +10 - 3 = 7
    const v3 = venueAfter();
    const r3 = open(v3);
    await r3.start();
    expect(r3.reconciled).toBe(true);
    expect(r3.reconcileResult!.mismatches.map((m) => `${m.kind} ${m.clientOrderId}`)).toContain('unknown_trade cw-77');
    expect(r3.portfolio.qty('v', 'BTCUSDT')).toBe(7);
    // reconciled: a fill from now on moves the watermark (a sell of 2, on an order placed now)
    v3.sink!.onMarketEvent(snapshot);
    expect(r3.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'sell', type: 'limit', price: 5_000_100, qty: 2, tif: 'GTC', source: 'test' }).accepted).toBe(true);
    const sell = v3.submitted[0]!;
    v3.report(sell, { kind: 'ack', venueOrderId: 'V1' });
    v3.report(sell, { kind: 'fill', side: 'sell', lastPrice: 5_000_100, lastQty: 2, cumQty: 2, feeAtoms: 0n, tradeId: 'T-300', ts: 1_000_300 });
    await r3.stop('SIGTERM');

    // run 4: trades are read from that fill on, and nothing is booked again
    const v4 = venueAfter();
    v4.trades = [lost, ourFill, fillOf(sell.clientOrderId, 'sell', 5_000_100, 2, 'T-300', 1_000_300)];
    const r4 = open(v4);
    await r4.start();
    expect(r4.reconcileResult!.mismatches).toEqual([]);
    expect(r4.portfolio.qty('v', 'BTCUSDT')).toBe(5);
    await r4.stop('test');
    // run 2 and 3 from when the journal began (its first order, less 10 minutes), run 4 from the fill
    expect(since).toEqual([400_000, 400_000, 1_000_300]);
  });
});

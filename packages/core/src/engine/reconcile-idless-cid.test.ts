/**
 * A journaled fill without a trade id, booked under a real client id (our order, or a hand-placed
 * one whose client id the venue gave at adoption), answered again at a later start with neither
 * trade id nor client id (exchange-ccxt tradesSince leaves the client id out once fetchOrder no
 * longer finds the order: archived, past the venue's history window). The trade is keyed by
 * adoptedFillKey; the journaled fill was keyed only by unidentifiedFillKey: never matched, adopted
 * again. Every journaled id-less fill is now counted under both keys.
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
const snapshot: BookSnapshotEvent = { type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] };
const AT = 1_700_000_000_000;
const trade = (clientOrderId: string | undefined, side: 'buy' | 'sell', qty: number, ts: number, venueOrderId: string, price = 5_000_000): ExecutionReport =>
  ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId, side, lastPrice: price, lastQty: qty, cumQty: qty, leavesQty: 0, feeAtoms: 0n, liquidity: 'maker', tradeId: undefined, ts, venueOrderId }) as unknown as ExecutionReport;

function opener(path: string) {
  return (venue: ScriptedVenue, at = 1_000_000) => {
    const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, now: () => AT });
    const e = new Engine({
      clock: new ManualClock(at), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, journal: store, onShutdown: 'keep', onReconcileMismatch: 'adopt-venue',
      venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
    });
    attachJournal(e, store, silentLogger());
    return e;
  };
}

describe('an id-less journaled fill answered later without its client id', () => {
  it('our own fill without a trade id is not booked a second time when the venue later reports it without a client id', async () => {
    const open = opener(join(mkdtempSync(join(tmpdir(), 'cwts-rv-idless-')), 'j.db'));
    const v1 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const a = open(v1);
    await a.start();
    v1.sink!.onMarketEvent(snapshot);
    expect(a.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 10, tif: 'GTC', source: 'test' }).accepted).toBe(true);
    const ours = v1.submitted[0]!;
    v1.report(ours, { kind: 'ack', venueOrderId: 'V0' });
    // a venue without trade ids (exchange-ccxt: venueTradeId undefined)
    v1.report(ours, { kind: 'fill', side: 'buy', venueOrderId: 'V0', lastPrice: 5_000_000, lastQty: 10, cumQty: 10, feeAtoms: 0n, ts: AT });
    expect(a.portfolio.qty('v', 'BTCUSDT')).toBe(10);
    await a.stop('SIGTERM');

    // restart: the order is archived at the venue, fetchOrder answers UNKNOWN_ORDER, so the trade
    // comes without a client id (exchange-ccxt clientIdOf -> undefined)
    const v2 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    v2.trades = [trade(undefined, 'buy', 10, AT, 'V0')];
    const b = open(v2, 1_000_001);
    await b.start();
    expect(b.reconcileResult!.mismatches.filter((m) => m.kind === 'unknown_trade')).toEqual([]);
    expect(b.portfolio.qty('v', 'BTCUSDT')).toBe(10);
    await b.stop('test');
  });

  it('a hand-placed id-less trade adopted under the client id the venue gave is not adopted again once the venue no longer names it', async () => {
    const open = opener(join(mkdtempSync(join(tmpdir(), 'cwts-rv-idless-')), 'j.db'));
    const v1 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    v1.trades = [trade('web-7', 'sell', 3, AT, 'V7')];
    const a = open(v1);
    await a.start();
    expect(a.portfolio.qty('v', 'BTCUSDT')).toBe(-3);
    await a.stop('SIGTERM');
    const v2 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    v2.trades = [trade(undefined, 'sell', 3, AT, 'V7')];
    const b = open(v2, 1_000_001);
    await b.start();
    expect(b.portfolio.qty('v', 'BTCUSDT')).toBe(-3);
    await b.stop('test');
  });
});

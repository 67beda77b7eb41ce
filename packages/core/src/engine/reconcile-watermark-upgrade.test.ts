/**
 * Journaled fills recognised at the next start whatever the venue now says of their order: a
 * client id it gives now (amended elsewhere, or read after adoption), or none at all (a trade
 * without trade id or client id, adopted under a made-up id).
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

const trade = (clientOrderId: string | undefined, side: 'buy' | 'sell', qty: number, tradeId: string | undefined, ts: number, venueOrderId?: string): ExecutionReport =>
  ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId, side, lastPrice: 5_000_050, lastQty: qty, cumQty: qty, leavesQty: 0, feeAtoms: 0n, liquidity: 'maker', tradeId, ts, venueOrderId }) as unknown as ExecutionReport;

/** Venue time of the trades: after the journal begins (its clock, `now`), so tradesSince answers them. */
const AT = 1_700_000_000_000;

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

describe('reconciliation: a journaled fill re-read after a restart', () => {
  it('a journaled fill re-read under the client id the venue now gives the order (amended elsewhere) is not booked again', async () => {
    const open = opener(join(mkdtempSync(join(tmpdir(), 'cwts-rv-')), 'j.db'));
    const v1 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const a = open(v1);
    await a.start();
    v1.sink!.onMarketEvent(snapshot);
    expect(a.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 10, tif: 'GTC', source: 'test' }).accepted).toBe(true);
    const ours = v1.submitted[0]!;
    v1.report(ours, { kind: 'ack', venueOrderId: 'V0' });
    // the live fill, reported under our client id (Binance: followed by venue order id after an
    // amend made outside this process changed the venue's client id to "amendX")
    v1.report(ours, { kind: 'fill', side: 'buy', lastPrice: 5_000_000, lastQty: 10, cumQty: 10, feeAtoms: 0n, tradeId: 'T-9', ts: 2_000 });
    expect(a.portfolio.qty('v', 'BTCUSDT')).toBe(10);
    await a.stop('SIGTERM');

    // restart: the order is closed and no longer followed, so the venue's trade list names it by
    // the venue's current client id (Binance tradesSince: tradeOwner -> oj.clientOrderId)
    const v2 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    v2.trades = [trade('amendX', 'buy', 10, 'T-9', 2_000, 'V0')];
    const b = open(v2);
    await b.start();
    // same trade (same symbol, side, venue order and trade id): already booked
    expect(b.reconcileResult!.mismatches.filter((m) => m.kind === 'unknown_trade')).toEqual([]);
    expect(b.portfolio.qty('v', 'BTCUSDT')).toBe(10);
    await b.stop('test');
  });

  it('a trade adopted without a client id is not adopted again when the venue later names its client id', async () => {
    const open = opener(join(mkdtempSync(join(tmpdir(), 'cwts-rv-')), 'j.db'));
    const at = AT;
    // first start: exchange-ccxt could not read the order's client id (fetchOrder: not found yet)
    const v1 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    v1.trades = [trade(undefined, 'buy', 4, 'T-5', at, 'V7')];
    const a = open(v1);
    await a.start();
    expect(a.portfolio.qty('v', 'BTCUSDT')).toBe(4);
    await a.stop('SIGTERM');
    // next start: the same trade, now with the client id the hand-placed order carries
    const v2 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    v2.trades = [trade('web-7', 'buy', 4, 'T-5', at, 'V7')];
    const b = open(v2);
    await b.start();
    expect(b.portfolio.qty('v', 'BTCUSDT')).toBe(4);
    await b.stop('test');
  });

  it('a trade without trade id or client id, adopted at one start, is not adopted again at every later start', async () => {
    const open = opener(join(mkdtempSync(join(tmpdir(), 'cwts-rv-')), 'j.db'));
    const at = AT;
    const hand = trade(undefined, 'buy', 3, undefined, at, 'V8');
    const qtys: number[] = [];
    for (let run = 0; run < 3; run++) {
      const v = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
      v.trades = [hand];
      const e = open(v, 1_000_000 + run);
      await e.start();
      qtys.push(e.portfolio.qty('v', 'BTCUSDT'));
      await e.stop('test');
    }
    // one trade of 3 lots at the venue, whatever the number of restarts
    expect(qtys).toEqual([3, 3, 3]);
  });
  it('alike trades without any id are as many as the venue reports: each journaled one matches once, a new one is adopted', async () => {
    const open = opener(join(mkdtempSync(join(tmpdir(), 'cwts-rv-')), 'j.db'));
    // two trades of one hand-placed order, alike in everything the venue says
    const hand = trade(undefined, 'sell', 2, undefined, AT, 'V9');
    const runs: { qty: number; adopted: number }[] = [];
    for (const trades of [[hand, hand], [hand, hand], [hand, hand, hand]]) {
      const v = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
      v.trades = trades;
      const e = open(v, 1_000_000 + runs.length);
      await e.start();
      runs.push({ qty: e.portfolio.qty('v', 'BTCUSDT'), adopted: e.reconcileResult!.mismatches.filter((m) => m.kind === 'unknown_trade').length });
      await e.stop('test');
    }
    // the third start's answer holds a third such trade: it alone is adopted
    expect(runs).toEqual([{ qty: -4, adopted: 2 }, { qty: -4, adopted: 0 }, { qty: -6, adopted: 1 }]);
  });
});

/*
 * A journaled fill without a trade id, booked under a real client id (our order, or a hand-placed
 * one whose client id the venue gave at adoption), answered again at a later start with neither
 * trade id nor client id (exchange-ccxt tradesSince leaves the client id out once fetchOrder no
 * longer finds the order: archived, past the venue's history window). The trade is keyed by
 * adoptedFillKey; the journaled fill was keyed only by unidentifiedFillKey: never matched, adopted
 * again. Every journaled id-less fill is now counted under both keys.
 */
const idlessTrade = (clientOrderId: string | undefined, side: 'buy' | 'sell', qty: number, ts: number, venueOrderId: string, price = 5_000_000): ExecutionReport =>
  ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId, side, lastPrice: price, lastQty: qty, cumQty: qty, leavesQty: 0, feeAtoms: 0n, liquidity: 'maker', tradeId: undefined, ts, venueOrderId }) as unknown as ExecutionReport;

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
    v2.trades = [idlessTrade(undefined, 'buy', 10, AT, 'V0')];
    const b = open(v2, 1_000_001);
    await b.start();
    expect(b.reconcileResult!.mismatches.filter((m) => m.kind === 'unknown_trade')).toEqual([]);
    expect(b.portfolio.qty('v', 'BTCUSDT')).toBe(10);
    await b.stop('test');
  });

  it('a hand-placed id-less trade adopted under the client id the venue gave is not adopted again once the venue no longer names it', async () => {
    const open = opener(join(mkdtempSync(join(tmpdir(), 'cwts-rv-idless-')), 'j.db'));
    const v1 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    v1.trades = [idlessTrade('web-7', 'sell', 3, AT, 'V7')];
    const a = open(v1);
    await a.start();
    expect(a.portfolio.qty('v', 'BTCUSDT')).toBe(-3);
    await a.stop('SIGTERM');
    const v2 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    v2.trades = [idlessTrade(undefined, 'sell', 3, AT, 'V7')];
    const b = open(v2, 1_000_001);
    await b.start();
    expect(b.portfolio.qty('v', 'BTCUSDT')).toBe(-3);
    await b.stop('test');
  });
});

/**
 * An order of our id form working at the venue, listed without a creation time (an adapter that
 * leaves createdTs out, or gives 0 as exchange-ccxt does for none), was adopted and journaled as
 * listed: the orders table could not store it (created_ts NOT NULL), the writer set it aside, and
 * the next start adopted the order again and booked its fills a second time; with a time of 0 the
 * journal's start was 1970 and a venue without a journaled fill had its whole history adopted.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const T = 1_765_000_000_000;

function venueWithListedOrder(): ScriptedVenue {
  const v = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
  const listed = {
    exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 10, tif: 'GTC', source: '',
    clientOrderId: 'cw-5', venueOrderId: 'V5', status: 'partially_filled', filledQty: 4, filledNotionalTicksLots: 0n, feeAtoms: 0n,
    createdTs: undefined, updatedTs: undefined,
  } as unknown as Order;
  v.venueOpen = [listed];
  const f: ExecutionReport = { kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: 'cw-5', side: 'buy', lastPrice: 5_000_000, lastQty: 4, cumQty: 4, leavesQty: 6, feeAtoms: 0n, liquidity: 'maker', tradeId: 't1', ts: T - 1000 };
  v.orderStatus.set('cw-5', { clientOrderId: 'cw-5', status: 'partially_filled', filledQty: 4, fills: [f] });
  v.trades = [f];
  return v;
}

function engineOn(path: string, venue: ScriptedVenue, errors: string[]) {
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, onError: (e) => errors.push(e.message) });
  const engine = new Engine({
    clock: new ManualClock(T), logger: silentLogger(), metrics, watchdog: false, journal: store, onShutdown: 'keep', onReconcileMismatch: 'adopt-venue',
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  attachJournal(engine, store, silentLogger());
  return engine;
}

describe('an open order adopted from a venue listing without creation time', () => {
  it('is journaled so that the next start holds it, and its fill is booked once across restarts', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-review-adopt-')), 'j.db');
    const errors: string[] = [];
    const a = engineOn(path, venueWithListedOrder(), errors);
    await a.start();
    expect(a.portfolio.qty('v', 'BTCUSDT')).toBe(4);
    await a.stop('SIGTERM');

    const b = engineOn(path, venueWithListedOrder(), errors);
    await b.start();
    expect({ position: b.portfolio.qty('v', 'BTCUSDT'), journalErrors: errors }).toEqual({ position: 4, journalErrors: [] });
    await b.stop('test');
  });

  it('a listing without a creation time (exchange-ccxt gives createdTs 0 when ccxt has no timestamp) does not make the next start pull the account history from 1970', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-review-adopt0-')), 'j.db');
    const errors: string[] = [];
    const listed = {
      exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 4_000_000, qty: 10, tif: 'GTC', source: 'venue',
      clientOrderId: 'cw-5', venueOrderId: 'V5', status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n,
      createdTs: 0, updatedTs: 0,
    } as Order;
    const v1 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    v1.venueOpen = [listed];
    v1.orderStatus.set('cw-5', { clientOrderId: 'cw-5', status: 'open', filledQty: 0, fills: [] });
    // a trade placed by hand on the account a year before this deployment existed
    const manual: ExecutionReport = { kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: 'web-1', side: 'buy', lastPrice: 3_000_000, lastQty: 7, cumQty: 7, leavesQty: 0, feeAtoms: 0n, tradeId: 'h1', ts: T - 365 * 86_400_000 };
    v1.trades = [manual];
    const a = engineOn(path, v1, errors);
    await a.start();
    expect(a.portfolio.qty('v', 'BTCUSDT')).toBe(0); // first start: read from the journal's start, less 10 minutes
    await a.stop('SIGTERM');

    const v2 = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    v2.venueOpen = [listed];
    v2.orderStatus.set('cw-5', { clientOrderId: 'cw-5', status: 'open', filledQty: 0, fills: [] });
    v2.trades = [manual];
    const b = engineOn(path, v2, errors);
    await b.start();
    expect({ position: b.portfolio.qty('v', 'BTCUSDT'), startsBeforeTheManualTrade: (b.journalStartedTs ?? 0) <= manual.ts }).toEqual({ position: 0, startsBeforeTheManualTrade: false });
    await b.stop('test');
  });
});

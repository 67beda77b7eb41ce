/**
 * An order adopted from a venue listing without a creation time is journaled with a time of the
 * host's (adoptOrder), and was asked about after a restart as if placed then: a venue that reads
 * an order's trades from its creation time (exchange-ccxt) left out its fills from before, and
 * reconciliation reported the fills the journal holds as a `status` mismatch at every start. The
 * listing's lack of a time is journaled with the order (LISTED_WITHOUT_TIME), and the order is
 * asked about as one without a time (createdTs 0) at every start, as when it was adopted; its
 * journaled time stays what it was.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import type { OrderStatusReport } from '../contracts/exchange.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { LISTED_WITHOUT_TIME } from '../contracts/listed-time.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const T = 1_765_000_000_000;
/** When the venue took the order: its listing does not say. */
const PLACED = T - 7_200_000;
const MARGIN = 60_000;
const t1: ExecutionReport = { kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: 'cw-5', venueOrderId: 'V5', side: 'buy', lastPrice: 5_000_000, lastQty: 4, cumQty: 4, leavesQty: 6, feeAtoms: 0n, liquidity: 'maker', tradeId: 't1', ts: PLACED + 1000 };

/**
 * Lists cw-5 (4 of 10 lots filled) as `listing` gives it, and answers about it as exchange-ccxt
 * does: its trades from its creation time less a margin (from the account's first without one),
 * an order whose trades fall short of the venue's count as lagging, filled as far as they go.
 */
function venue(listing: Partial<Order>, asked: number[]): ScriptedVenue {
  const v = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
  v.venueOpen = [{ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 10, tif: 'GTC', source: 'venue', clientOrderId: 'cw-5', venueOrderId: 'V5', status: 'partially_filled', filledQty: 4, filledNotionalTicksLots: 0n, feeAtoms: 0n, ...listing } as Order];
  v.queryOrder = async (o): Promise<OrderStatusReport | undefined> => {
    asked.push(o.createdTs);
    const from = Number.isFinite(o.createdTs) && o.createdTs > 0 ? o.createdTs - MARGIN : -MARGIN;
    const fills = [t1].filter((f) => f.ts >= from);
    return { clientOrderId: o.clientOrderId, venueOrderId: 'V5', status: 'partially_filled', filledQty: fills.reduce((n, f) => n + f.lastQty, 0), fills };
  };
  return v;
}

function engineOn(path: string, v: ScriptedVenue, now: number): Engine {
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const engine = new Engine({
    clock: new ManualClock(now), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, journal: store, onShutdown: 'keep', onReconcileMismatch: 'adopt-venue',
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: v, execution: v }],
  });
  attachJournal(engine, store, silentLogger());
  return engine;
}

describe('an order adopted from a venue listing without a creation time, at the next starts', () => {
  const cases: [string, Partial<Order>][] = [
    // exchange-ccxt: the time of its read, marked as no time of the venue's
    ['the adapter gives the time of its read, marked', { createdTs: T, updatedTs: T, reason: LISTED_WITHOUT_TIME }],
    ['the listing gives none', { createdTs: undefined, updatedTs: undefined } as unknown as Partial<Order>],
  ];
  for (const [name, listing] of cases) {
    it(`${name}: asked about without a time, as when adopted; no mismatch; its journaled time unchanged`, async () => {
      const path = join(mkdtempSync(join(tmpdir(), 'cwts-untimed-listing-')), 'j.db');
      const asked: number[] = [];
      const a = engineOn(path, venue(listing, asked), T);
      await a.start();
      expect(a.reconcileResult!.mismatches.map((m) => m.kind)).toEqual(['unknown_order']);
      expect(a.portfolio.qty('v', 'BTCUSDT')).toBe(4);
      expect(a.orders.get('cw-5')).toMatchObject({ createdTs: T, reason: LISTED_WITHOUT_TIME });
      await a.stop('SIGTERM');
      for (const run of [1, 2]) {
        const b = engineOn(path, venue(listing, asked), T + run * 3_600_000);
        await b.start();
        expect({ mismatches: b.reconcileResult!.mismatches, position: b.portfolio.qty('v', 'BTCUSDT') }).toEqual({ mismatches: [], position: 4 });
        expect(b.orders.get('cw-5')).toMatchObject({ createdTs: T, reason: LISTED_WITHOUT_TIME, filledQty: 4 });
        await b.stop('SIGTERM');
      }
      // asked without a time when adopted, and at every start since
      expect(asked.map((ts) => ts || 0)).toEqual([0, 0, 0]);
    });
  }
});

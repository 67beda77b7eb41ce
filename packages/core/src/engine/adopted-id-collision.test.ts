/**
 * A trade of an order the journal never saw is booked onto an order adopted for it
 * (reconcile.ts, adoptTrade). Without a client id from the venue (exchange-ccxt leaves it out for
 * a venue order without one) that order is named by venue, symbol, side and trade id: named by
 * venue and trade id alone, both sides of a self-trade got one order, the second side was refused
 * as a fill on the wrong side and never booked, yet counted and journaled as adopted.
 */
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport } from '../domain/orders.js';
import type { JournalRecord } from '../journal/records.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const ETH = defineInstrument({ exchange: 'v', symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

const tradeOf = (side: 'buy' | 'sell', qty: number, tradeId: string | undefined, more: Partial<ExecutionReport> = {}): ExecutionReport =>
  ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: undefined as unknown as string, side, lastPrice: 5_000_000, lastQty: qty, cumQty: qty, leavesQty: 0, feeAtoms: 0n, tradeId, ts: 1_000_000, ...more });

async function reconcileWith(trades: ExecutionReport[]) {
  const v = new ScriptedVenue('v', [BTC, ETH], { canTrade: true }, false);
  v.trades = trades;
  const metrics = new MetricsRegistry({ processMetrics: false });
  const engine = new Engine({
    clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false,
    venues: [{ name: 'v', symbols: ['BTCUSDT', 'ETHUSDT'], marketData: v, execution: v }],
  });
  const journaled: JournalRecord[] = [];
  const journal = engine.journal.bind(engine);
  vi.spyOn(engine, 'journal').mockImplementation((rec) => {
    journaled.push(rec);
    journal(rec);
  });
  await engine.start();
  const unknown = engine.reconcileResult!.mismatches.filter((m) => m.kind === 'unknown_trade');
  const adopted = journaled.filter((r) => r.t === 'reconcile' && r.kind === 'adopted');
  const adoptedOrders = journaled.flatMap((r) => (r.t === 'order' && r.order.source === 'reconcile:adopted' ? [r.order.clientOrderId] : []));
  const counted = (await metrics.reconcileMismatches.get()).values.find((c) => c.labels.exchange === 'v' && c.labels.kind === 'unknown_trade')!.value;
  await engine.stop('test');
  return { engine, unknown, adopted, adoptedOrders, counted };
}

describe('adopted trades without a client id', () => {
  it('both sides of a self-trade without client ids are adopted as two orders', async () => {
    const { engine, unknown, adopted, adoptedOrders } = await reconcileWith([tradeOf('buy', 5, '42'), tradeOf('sell', 5, '42')]);
    // the venue bought 5 and sold 5: flat, and both trades adopted
    expect(unknown).toHaveLength(2);
    expect(adopted).toHaveLength(2);
    expect(adoptedOrders).toEqual(['adopted-v-BTCUSDT-buy-42', 'adopted-v-BTCUSDT-sell-42']);
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(0);
  });

  it('equal trade ids on two symbols, and trades without a trade id, each get an order of their own', async () => {
    const { engine, unknown, adoptedOrders } = await reconcileWith([
      tradeOf('buy', 2, '7'),
      tradeOf('buy', 3, '7', { symbol: 'ETHUSDT' }),
      tradeOf('buy', 1, undefined),
      tradeOf('buy', 4, undefined),
      tradeOf('sell', 1, undefined, { venueOrderId: 'V9' }),
    ]);
    expect(unknown).toHaveLength(5);
    expect(new Set(adoptedOrders).size).toBe(5);
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(2 + 1 + 4 - 1);
    expect(engine.portfolio.qty('v', 'ETHUSDT')).toBe(3);
  });

  it('a trade the venue answers twice (pages that overlap) is adopted, counted and journaled once', async () => {
    const { engine, unknown, adopted, adoptedOrders, counted } = await reconcileWith([tradeOf('buy', 5, '42'), tradeOf('buy', 5, '42')]);
    expect(unknown).toHaveLength(1);
    expect(counted).toBe(1);
    expect(adopted.map((r) => (r as { detail: string }).detail)).toEqual(['trade 42 booked from the venue as adopted-v-BTCUSDT-buy-42']);
    expect(adoptedOrders).toEqual(['adopted-v-BTCUSDT-buy-42']);
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(5);
  });
});

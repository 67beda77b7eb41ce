/**
 * A fill without a trade id (a third-party adapter may send none) booked by a reconciliation
 * attempt whose later read failed is answered again by the retry's trade list. Only the journal's
 * fills of earlier runs were known as booked (ReconcileOptions.journaledUnidentifiedFills), so the
 * retry booked it a second time: onto its order when that had room (a partial fill of an order
 * the venue had since cancelled), or as a new adopted order under another made-up id.
 */
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { HandTimers, ScriptedVenue } from './test-venue.js';

const T = 1_000_000;
const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
/** A fill without a trade id. */
const fill = (clientOrderId: string | undefined, qty: number, ts: number): ExecutionReport =>
  ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: clientOrderId as string, side: 'buy', lastPrice: 5_000_000, lastQty: qty, leavesQty: 0, cumQty: 0, feeAtoms: 0n, ts });

async function settle(): Promise<void> {
  for (let k = 0; k < 20; k++) await new Promise<void>((r) => setImmediate(r));
}

/** Makes one read of the venue fail until the function returned is called. */
function failing<K extends 'tradesSince' | 'positions'>(v: ScriptedVenue, read: K): () => void {
  const real = (v[read] as (...a: unknown[]) => Promise<unknown>).bind(v);
  let reachable = false;
  (v as unknown as Record<K, unknown>)[read] = async (...a: unknown[]) => {
    if (!reachable) throw new Error('HTTP 503');
    return real(...a);
  };
  return () => (reachable = true);
}

function engineOn(v: ScriptedVenue, timers: HandTimers): Engine {
  return new Engine({
    clock: new ManualClock(T), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, timers,
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: v, execution: v }],
  });
}

describe('a fill without a trade id booked by a failed reconciliation attempt', () => {
  it('adopted from the trade list (no client id either), then the position read failed: the retry does not adopt it again', async () => {
    const v = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    v.trades = [fill(undefined, 3, T - 1000)];
    const up = failing(v, 'positions');
    const timers = new HandTimers();
    const engine = engineOn(v, timers);
    await engine.start();
    expect(engine.reconciled).toBe(false);
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(3);
    up();
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(3);
    expect(engine.reconcileResult!.mismatches.filter((m) => m.kind === 'unknown_trade')).toHaveLength(1);
    await engine.stop('test');
  });

  it("booked from an order's answer (the venue had cancelled it), then the trade list failed: the retry's trade list does not book it again", async () => {
    const v = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const listed: Order = { exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 3, tif: 'GTC', source: 'venue', clientOrderId: 'cw-5', venueOrderId: 'V5', status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: T - 5000, updatedTs: T - 5000 };
    const f = fill('cw-5', 1, T - 1000);
    v.venueOpen = [listed];
    v.orderStatus.set('cw-5', { clientOrderId: 'cw-5', status: 'cancelled', filledQty: 1, fills: [f] });
    const up = failing(v, 'tradesSince');
    const timers = new HandTimers();
    const engine = engineOn(v, timers);
    await engine.start();
    expect(engine.reconciled).toBe(false);
    expect(engine.orders.get('cw-5')).toMatchObject({ status: 'cancelled', filledQty: 1 });
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(1);
    // the venue no longer lists it; its trade list answers the fill
    v.venueOpen = [];
    v.trades = [f];
    up();
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(1);
    expect(engine.orders.get('cw-5')).toMatchObject({ filledQty: 1 });
    await engine.stop('test');
  });

  it('a second alike fill the retry reads that the attempt did not book is booked', async () => {
    const v = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    v.trades = [fill(undefined, 3, T - 1000)];
    const up = failing(v, 'positions');
    const timers = new HandTimers();
    const engine = engineOn(v, timers);
    await engine.start();
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(3);
    // another trade alike in every field the venue gives (two alike trades are two)
    v.trades = [fill(undefined, 3, T - 1000), fill(undefined, 3, T - 1000)];
    up();
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(6);
    await engine.stop('test');
  });
});

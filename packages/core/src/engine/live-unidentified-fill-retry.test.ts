/**
 * A fill without a trade id that the live execution stream books while its venue is not
 * reconciled (a failed attempt waits for its retry) is answered again by the retry's trade list.
 * Only the fills reconciliation itself booked were known to the retry by their keys, so once the
 * fill's order had closed (no status answer covers it) the retry booked it a second time: onto
 * the order while held, or onto it brought back from the journal's count once forgotten.
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
const fill = (clientOrderId: string, qty: number, ts: number): ExecutionReport =>
  ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId, side: 'buy', lastPrice: 5_000_000, lastQty: qty, leavesQty: 0, cumQty: 0, feeAtoms: 0n, ts });
const listed = (clientOrderId: string): Order =>
  ({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 3, tif: 'GTC', source: 'venue', clientOrderId, venueOrderId: `V${clientOrderId}`, status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: T - 5000, updatedTs: T - 5000 });

async function settle(): Promise<void> {
  for (let k = 0; k < 20; k++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * Venue `v` lists cw-5 and cw-6 (3 lots each, nothing filled); the first attempt adopts both and
 * fails reading trades. Closed orders are forgotten once closed for a second, at the next close.
 */
async function failedAttempt() {
  const v = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
  v.venueOpen = [listed('cw-5'), listed('cw-6')];
  const read = v.tradesSince.bind(v);
  let reachable = false;
  v.tradesSince = async (symbols, since) => {
    if (!reachable) throw new Error('HTTP 503');
    return read(symbols, since);
  };
  const timers = new HandTimers();
  const clock = new ManualClock(T);
  const engine = new Engine({
    clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, timers,
    closedOrders: { minClosed: 0, closedMs: 1000, maxClosed: 1000 },
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: v, execution: v }],
  });
  await engine.start();
  expect(engine.reconciled).toBe(false);
  expect(engine.orders.allOpen().map((o) => o.clientOrderId)).toEqual(['cw-5', 'cw-6']);
  const retry = async (trades: ExecutionReport[]) => {
    v.venueOpen = [];
    v.trades = trades;
    reachable = true;
    timers.fire();
    await settle();
    expect(engine.reconciled).toBe(true);
  };
  return { engine, v, clock, retry };
}

describe('a fill without a trade id booked live while its venue waits for a reconciliation retry', () => {
  it('its order cancelled since (still held): the retry does not book it again', async () => {
    const { engine, v, retry } = await failedAttempt();
    const f = fill('cw-5', 1, T + 100);
    v.onReport!(f);
    v.report(engine.orders.get('cw-5')!, { kind: 'cancelled', ts: T + 200 });
    expect(engine.orders.get('cw-5')).toMatchObject({ status: 'cancelled', filledQty: 1 });
    await retry([f]);
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(1);
    expect(engine.orders.get('cw-5')).toMatchObject({ filledQty: 1 });
    await engine.stop('test');
  });

  it('its order cancelled and forgotten since: the retry does not book it again onto the journal\'s order', async () => {
    const { engine, v, clock, retry } = await failedAttempt();
    const f = fill('cw-5', 1, T + 100);
    v.onReport!(f);
    v.report(engine.orders.get('cw-5')!, { kind: 'cancelled', ts: T + 200 });
    clock.advance(2000);
    v.report(engine.orders.get('cw-6')!, { kind: 'cancelled', ts: clock.now() });
    expect(engine.orders.get('cw-5')).toBeUndefined();
    await retry([f]);
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(1);
    // not a trade "of journaled order cw-5 ... booked onto it"
    expect(engine.reconcileResult!.mismatches.filter((m) => m.kind === 'status')).toEqual([]);
    await engine.stop('test');
  });

  it('noted once: a second alike fill the trade list answers that the stream did not deliver is booked', async () => {
    const { engine, v, retry } = await failedAttempt();
    const f = fill('cw-5', 1, T + 100);
    v.onReport!(f);
    v.report(engine.orders.get('cw-5')!, { kind: 'cancelled', ts: T + 200 });
    // two alike trades are two: the one the stream booked matches once
    await retry([f, fill('cw-5', 1, T + 100)]);
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(2);
    expect(engine.orders.get('cw-5')).toMatchObject({ filledQty: 2 });
    await engine.stop('test');
  });
});

import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { Strategy, StrategyContext } from '../contracts/trading.js';
import type { BookSnapshotEvent, MarketEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport } from '../domain/orders.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot = (seq: number): BookSnapshotEvent => ({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: 5_000_000, qty: 1000 }], asks: [{ price: 5_000_100, qty: 1000 }] });

/** Buys once on the first book; hedges (sells) when that buy fills: a common pattern. */
class HedgeOnFill implements Strategy {
  readonly name = 'hedge';
  bought = false;
  onSignal(): void {}
  onMarketEvent(_ev: MarketEvent, ctx: StrategyContext): void {
    if (this.bought) return;
    this.bought = true;
    ctx.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_100, qty: 10, tif: 'GTC', source: 'hedge' });
  }
  onExecution(r: ExecutionReport, ctx: StrategyContext): void {
    if (r.kind === 'fill' && r.side === 'buy') ctx.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'sell', type: 'limit', price: 5_000_000, qty: 10, tif: 'GTC', source: 'hedge' });
  }
}

afterEach(() => vi.restoreAllMocks());

describe('tick-to-order metrics', () => {
  it('an order sent from an execution report 5 s after the last market event is not a 5 s tick-to-order', async () => {
    let perfNow = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => perfNow);
    const venue = new ScriptedVenue('v', [BTC]);
    const metrics = new MetricsRegistry({ processMetrics: false });
    const engine = new Engine({ clock: new ManualClock(1_000), logger: silentLogger(), metrics, strategy: new HedgeOnFill(), watchdog: false, venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
    await engine.start();
    venue.sink!.onMarketEvent(snapshot(10)); // the buy goes out inside this dispatch: 0 ms tick-to-order
    expect(venue.submitted).toHaveLength(1);
    // A quiet market: 5 s later the buy fills, and the strategy hedges at once (0 ms after its trigger).
    perfNow += 5_000;
    const o = venue.submitted[0]!;
    venue.onReport!({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: o.clientOrderId, side: 'buy', lastPrice: o.price!, lastQty: 10, cumQty: 10, leavesQty: 0, feeAtoms: 0n, ts: 2_000, tradeId: 't1' });
    expect(venue.submitted).toHaveLength(2);
    const text = await metrics.text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)![1]);
    await engine.stop();
    // Neither order waited for anything: the p99 the LatencyBudgetExceeded alert reads (> 10 ms) must not read 5000 ms.
    // Only the order sent inside the market event's dispatch is a tick-to-order; both are orders sent.
    expect({
      p99Ms: value('cwts_latency_p99'),
      sumSeconds: value('cwts_tick_to_order_seconds_sum'),
      tickToOrders: value('cwts_tick_to_order_seconds_count'),
      submitted: value('cwts_orders_total{exchange="v",status="submitted"}'),
    }).toEqual({ p99Ms: 0, sumSeconds: 0, tickToOrders: 1, submitted: 2 });
  });
});

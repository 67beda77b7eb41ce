/**
 * Test fixture for the VaR suites (risk/var-coverage.test.ts, risk/var-gauge.test.ts): an Engine
 * and the RiskManager it runs, driven by hand. It sits in engine/ because it builds an Engine,
 * which risk/ may not import (scripts/import-graph.mjs), as risk-test-engine.ts does. No index
 * exports it and it does not import vitest, so its copy in dist/ is inert.
 */
import { ManualClock } from '../contracts/clock.js';
import type { ComputeBackend } from '../contracts/compute.js';
import type { RiskConfig } from '../config/types.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager, type VaRScheduleOptions } from '../risk/manager.js';
import { Engine } from './engine.js';
import { ScriptedVenue } from './test-venue.js';

export const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
export const ETH = defineInstrument({ exchange: 'v', symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
/** `[risk]` with the limits out of the way: only the VaR decides. */
export const RISK = { max_position: 1_000_000, max_drawdown: 0.5, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 } as RiskConfig;

/**
 * Two books (BTCUSDT, ETHUSDT) on a scripted venue 'v', an Engine started on a ManualClock, and a
 * RiskManager (100 000 000 of capital, no timers) sampling marks every second and recomputing
 * the VaR only when asked: `var` is merged over { method: 'historical', sampleEveryMs: 1000,
 * recomputeEveryMs: 1e12 }. The caller stops the engine.
 */
export async function varRig(v: VaRScheduleOptions, backend?: Pick<ComputeBackend, 'monteCarloVaR'>) {
  const venue = new ScriptedVenue('v', [BTC, ETH]);
  const clock = new ManualClock(1_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({
    risk: RISK, metrics, initialEquity: 100_000_000, timers: false, logger: silentLogger(), ...(backend ? { backend } : {}),
    var: { method: 'historical', sampleEveryMs: 1000, recomputeEveryMs: 1e12, ...v },
  });
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks,
    venues: [{ name: 'v', symbols: ['BTCUSDT', 'ETHUSDT'], marketData: venue, execution: venue }],
  });
  await engine.start();
  let seq = 10;
  const live = new Set<string>();
  /** A one-level book of `symbol`; from then on the market moves every sample period. */
  const snap = (symbol: string, bid: number, ask: number) => {
    live.add(symbol);
    const ev: BookSnapshotEvent = { type: 'book_snapshot', exchange: 'v', symbol, ts: 1, recvTs: 1, seq: seq++, reason: 'initial', bids: [{ price: bid, qty: 10_000_000 }], asks: [{ price: ask, qty: 10_000_000 }] };
    venue.sink!.onMarketEvent(ev);
  };
  /** Fills `qty` lots at the touch (a buy at the ask, a sell at the bid); throws when the engine refuses the order. */
  const trade = (symbol: string, qty: number, side: 'buy' | 'sell' = 'buy') => {
    const book = engine.books.get('v', symbol)!.book;
    const price = side === 'buy' ? book.bestAsk()! : book.bestBid()!;
    const r = engine.submit({ exchange: 'v', symbol, side, type: 'limit', price, qty, tif: 'GTC', source: 'test' });
    if (!r.accepted) throw new Error(`the engine refused ${side} ${qty} ${symbol}: ${r.message}`);
    const o = venue.submitted.at(-1)!;
    venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: qty, cumQty: qty, leavesQty: 0, tradeId: `t${o.clientOrderId}` });
  };
  let k = 0;
  /** `n` sample periods: each live market moves several percent a period. */
  const periods = (n: number) => {
    for (let j = 0; j < n; j++, k++) {
      clock.advance(1000);
      const up = ((k * 7919) % 13) - 6;
      if (live.has('BTCUSDT')) snap('BTCUSDT', 5_000_000 + up * 10_000, 5_000_100 + up * 10_000);
      if (live.has('ETHUSDT')) snap('ETHUSDT', 300_000 + up * 6_000, 300_010 + up * 6_000);
      risk.tick();
    }
  };
  const varStatus = () => risk.status().var as { var?: number; exposures?: Record<string, number>; note?: string; uncovered?: string[]; stale?: boolean };
  return { engine, risk, metrics, snap, trade, periods, varStatus };
}

/**
 * The ring of sampled returns once marked an empty slot -1, and sampleMarks() retires the slot of
 * period p - W by `at[slot] === p - W`. At period p = W - 1 that was -1 === -1: every instrument
 * sampled since the start lost one return it never had, and its count stayed one below the
 * returns it held for the rest of the run (a VaR horizon of 500, the window, was never computed).
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument } from '../domain/instrument.js';
import { jsBackendProvider } from '../compute/index.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { RiskManager, type VaRScheduleOptions } from './manager.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 1_000_000_000, max_drawdown: 0.5, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 5000, orders_per_second: 1000 } as RiskConfig;

async function rig(v: VaRScheduleOptions) {
  const js = await jsBackendProvider.create({});
  const venue = new ScriptedVenue('v', [BTC]);
  const clock = new ManualClock(1_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 100_000_000, timers: false, logger: silentLogger(), backend: js, var: { sampleEveryMs: 1000, recomputeEveryMs: 1e12, budget: 1e12, paths: 2000, seed: 7, ...v } });
  const engine = new Engine({ clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
  await engine.start();
  let seq = 10;
  const snap = (mid: number) =>
    venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: seq++, reason: 'initial', bids: [{ price: mid - 5, qty: 10_000_000 }], asks: [{ price: mid + 5, qty: 10_000_000 }] });
  snap(5_000_000);
  const book = engine.books.get('v', 'BTCUSDT')!.book;
  const r = engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: book.bestAsk()!, qty: 100, tif: 'GTC', source: 'test' });
  expect(r.accepted, r.message).toBe(true);
  const o = venue.submitted.at(-1)!;
  venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: 100, cumQty: 100, leavesQty: 0, tradeId: 't1' });
  risk.tick(); // period 1: the first mark
  const periods = (n: number) => {
    for (let k = 0; k < n; k++) {
      clock.advance(100);
      snap(k % 3 === 0 ? 5_000_000 : k % 3 === 1 ? 5_100_000 : 4_950_000);
      clock.advance(900);
      risk.tick();
    }
  };
  const close = async () => {
    await engine.stop('test');
    await js.dispose();
  };
  return { engine, risk, periods, close };
}

describe('VaR return ring across the first window wrap', () => {
  it('var_horizon at its config maximum (= the 500-period window) still gets a VaR once 500 returns are held', async () => {
    // [risk] var_horizon accepts up to VAR_RETURN_WINDOW (500); an H-period VaR needs H returns
    const t = await rig({ method: 'historical', horizon: 500 });
    try {
      t.periods(560); // no gap at all: periods 2..561 each have a return; the window holds 500
      const v = await t.risk.recomputeVar();
      expect(v, JSON.stringify(t.risk.status().var)).toBeDefined();
    } finally {
      await t.close();
    }
  });

  it('window = minObservations: the count of returns held reaches the window', async () => {
    const t = await rig({ method: 'parametric', window: 40, minObservations: 40 });
    try {
      t.periods(100);
      const v = await t.risk.recomputeVar();
      expect(v, JSON.stringify(t.risk.status().var)).toBeDefined();
      expect(v!.observations).toBe(40);
    } finally {
      await t.close();
    }
  });
});

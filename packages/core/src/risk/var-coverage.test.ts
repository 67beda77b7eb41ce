/**
 * VaR of the current positions, every one of them. Marks were sampled only for instruments with
 * a position, and a position with fewer than minObservations returns was left out of the VaR,
 * which was published as the VaR (stale: false): a large position opened after a small one
 * escaped the VaR limit for its first 30 sample periods, the state ACTIVE.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument } from '../domain/instrument.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { RiskManager, type VaRScheduleOptions } from './manager.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const ETH = defineInstrument({ exchange: 'v', symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 1_000_000, max_drawdown: 0.5, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 } as RiskConfig;

/** Two books on venue 'v', a RiskManager sampling every second and recomputing only when asked. */
async function rig(v: VaRScheduleOptions) {
  const venue = new ScriptedVenue('v', [BTC, ETH]);
  const clock = new ManualClock(1_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 100_000_000, timers: false, logger: silentLogger(), var: { method: 'historical', sampleEveryMs: 1000, recomputeEveryMs: 1e12, ...v } });
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks,
    venues: [{ name: 'v', symbols: ['BTCUSDT', 'ETHUSDT'], marketData: venue, execution: venue }],
  });
  await engine.start();
  let seq = 10;
  const live = new Set<string>();
  const snap = (symbol: string, bid: number, ask: number) => {
    live.add(symbol);
    const ev: BookSnapshotEvent = { type: 'book_snapshot', exchange: 'v', symbol, ts: 1, recvTs: 1, seq: seq++, reason: 'initial', bids: [{ price: bid, qty: 10_000_000 }], asks: [{ price: ask, qty: 10_000_000 }] };
    venue.sink!.onMarketEvent(ev);
  };
  /** Fills `qty` lots at the touch (a buy at the ask, a sell at the bid). */
  const trade = (symbol: string, qty: number, side: 'buy' | 'sell' = 'buy') => {
    const book = engine.books.get('v', symbol)!.book;
    const price = side === 'buy' ? book.bestAsk()! : book.bestBid()!;
    const r = engine.submit({ exchange: 'v', symbol, side, type: 'limit', price, qty, tif: 'GTC', source: 'test' });
    expect(r.accepted, r.message).toBe(true);
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
  return { engine, risk, snap, trade, periods, varStatus };
}

describe('VaR of every current position', () => {
  it('a position opened later is covered at once: its market was sampled from the start, without a position', async () => {
    const t = await rig({ budget: 2000 });
    try {
      t.snap('BTCUSDT', 5_000_000, 5_000_100);
      t.snap('ETHUSDT', 300_000, 300_010);
      t.trade('BTCUSDT', 10); // 0.01 BTC, ~500 USDT
      t.periods(40);
      expect(await t.risk.recomputeVar()).toBeDefined();
      expect(Object.keys(t.varStatus().exposures!)).toEqual(['v:BTCUSDT']);
      expect(t.engine.riskState.state).toBe('ACTIVE');
      // 200 ETH, ~600 000 USDT, in a market that moved ~2 % a period all along
      t.snap('ETHUSDT', 300_000, 300_010);
      t.trade('ETHUSDT', 200_000);
      t.periods(1);
      const v = await t.risk.recomputeVar();
      expect(Object.keys(t.varStatus().exposures!).sort()).toEqual(['v:BTCUSDT', 'v:ETHUSDT']);
      expect(v!.var).toBeGreaterThan(2000);
      expect(t.engine.riskState.state).toBe('REDUCING');
      expect(t.engine.riskState.reason).toMatch(/^VaR [\d.]+ above its budget 2000$/);
    } finally {
      await t.engine.stop('test');
    }
  });

  it('a position whose market has too few returns once the VaR is in force: no partial figure, REDUCING naming it and N of M, until it is covered', async () => {
    const t = await rig({ budget: 1e9, minObservations: 30 });
    try {
      t.snap('BTCUSDT', 5_000_000, 5_000_100);
      t.trade('BTCUSDT', 10);
      t.periods(35); // BTC past its 30 returns; ETH has no book yet
      expect(await t.risk.recomputeVar()).toBeDefined();
      expect(t.engine.riskState.state).toBe('ACTIVE');
      // the ETH feed comes up late; a large position is opened 5 periods later
      t.snap('ETHUSDT', 300_000, 300_010);
      t.periods(5);
      t.trade('ETHUSDT', 200_000);
      // at once, on the fill: the VaR in force no longer covers every position
      expect(t.engine.riskState.state).toBe('REDUCING');
      expect(t.engine.riskState.reason).toBe('VaR does not cover every position: too few sampled returns for v:ETHUSDT (4 of 30 returns)');
      // the BTC-only figure is not shown as the VaR
      expect(await t.risk.recomputeVar()).toBeUndefined();
      expect(t.risk.lastVar).toBeUndefined();
      expect(t.varStatus()).toMatchObject({
        uncovered: ['v:ETHUSDT (4 of 30 returns)'],
        note: 'not computed yet (needs positions and 30 sampled returns): too few for v:ETHUSDT (4 of 30 returns); REDUCING until every position is covered',
      });
      expect(t.varStatus().var).toBeUndefined();
      // covered: the VaR of both, and the REDUCING clears by itself
      t.periods(26);
      const v = await t.risk.recomputeVar();
      expect(v).toBeDefined();
      expect(Object.keys(t.varStatus().exposures!).sort()).toEqual(['v:BTCUSDT', 'v:ETHUSDT']);
      expect(t.varStatus().uncovered).toBeUndefined();
      expect(t.engine.riskState.state).toBe('ACTIVE');
    } finally {
      await t.engine.stop('test');
    }
  });

  it('closing the uncovered position clears the REDUCING', async () => {
    const t = await rig({ budget: 1e9, minObservations: 30 });
    try {
      t.snap('BTCUSDT', 5_000_000, 5_000_100);
      t.periods(35);
      t.snap('ETHUSDT', 300_000, 300_010);
      t.trade('ETHUSDT', 1000);
      expect(t.engine.riskState.state).toBe('REDUCING');
      // REDUCING lets the exit through; flat, nothing is uncovered
      t.trade('ETHUSDT', 1000, 'sell');
      expect(t.engine.portfolio.qty('v', 'ETHUSDT')).toBe(0);
      expect(t.engine.riskState.state).toBe('ACTIVE');
    } finally {
      await t.engine.stop('test');
    }
  });

  it('during the warm-up (no instrument has the returns yet) no VaR is no trigger, as documented; the note names what is short', async () => {
    const t = await rig({ budget: 1, minObservations: 30 });
    try {
      t.snap('BTCUSDT', 5_000_000, 5_000_100);
      t.snap('ETHUSDT', 300_000, 300_010);
      t.trade('ETHUSDT', 200_000);
      t.periods(10);
      expect(await t.risk.recomputeVar()).toBeUndefined();
      expect(t.engine.riskState.state).toBe('ACTIVE');
      expect(t.varStatus().note).toBe('not computed yet (needs positions and 30 sampled returns): too few for v:ETHUSDT (9 of 30 returns)');
    } finally {
      await t.engine.stop('test');
    }
  });
});

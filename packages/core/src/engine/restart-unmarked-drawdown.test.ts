/**
 * After a restart, a position whose market has given no mark in this run, and of which the
 * journal's last snapshot has none either (an older journal, a damaged last row, a tick change),
 * is valued at its last fill: a price of an earlier run, possibly weeks old. The drawdown
 * triggers once acted on that valuation: the first evaluation (a feed status sent while the
 * adapter connects) measured it against the journaled peak and latched a max_drawdown HALT,
 * cancelling everything, on a drawdown no market price showed. The triggers now wait for a mark
 * of the position's market, and then act on it: HALT (or REDUCING) iff the marked equity crosses.
 *
 * The wait is bounded. Unbounded, a position whose market never gives a mark (its book never
 * syncs, its symbol no longer configured) kept the drawdown triggers off for the whole account
 * while it was held, a real loss on another, marked instrument included. Meanwhile the triggers
 * measure the drawdown from the equity when the wait began (the fill-priced valuation is fixed
 * during it, so what moves it is a real gain or loss), and after DRAWDOWN_MARK_GRACE_MS they act
 * on the fill valuation as before.
 */
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { Logger } from '../observability/logger.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument } from '../domain/instrument.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { DRAWDOWN_MARK_GRACE_MS, RiskManager } from '../risk/manager.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const ETH = defineInstrument({ exchange: 'v', symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', lotSize: '0.01' });
// max_drawdown 10 %: REDUCING from 8 %
const RISK: RiskConfig = { max_position: 1_000_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };

async function boot(path: string, venue: ScriptedVenue) {
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const warns: string[] = [];
  const logger = { warn: (a: unknown, b?: string) => warns.push(String(b ?? a)), info: () => {}, error: () => {}, debug: () => {}, child: () => logger } as unknown as Logger;
  const risk = new RiskManager({ risk: RISK, metrics, logger, initialEquity: 100_000, timers: false });
  const clock = new ManualClock(1_000_000);
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, journal: store, onShutdown: 'keep',
    venues: [{ name: 'v', symbols: ['BTCUSDT', 'ETHUSDT'], marketData: venue, execution: venue }],
  });
  attachJournal(engine, store, silentLogger());
  await engine.start();
  let seq = 1;
  const book = (bid: number, ask: number, symbol = 'BTCUSDT') => {
    clock.advance(1000);
    venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol, ts: 1, recvTs: 1, seq: seq++, reason: 'initial', bids: [{ price: bid, qty: 10_000 }], asks: [{ price: ask, qty: 10_000 }] });
  };
  return { engine, risk, clock, book, warns };
}

/**
 * A first run that bought 2 BTC at 50 001 (its last fill) and saw the market rally to 60 000
 * (equity peak about 120 000 on 100 000 of capital), then a restart whose journal holds no
 * snapshot mark. Valued at the last fill, the restarted equity is about 100 000: a 16.7 %
 * "drawdown" from the journaled peak, past the 10 % max_drawdown.
 */
async function restartValuedAtOldFill(opts: { eth?: boolean; connecting?: boolean } = {}) {
  const path = join(mkdtempSync(join(tmpdir(), 'cwts-unmarked-')), 'j.db');
  const venue = new ScriptedVenue('v', [BTC, ETH]);
  const first = await boot(path, venue);
  if (opts.eth === true) {
    // 10 ETH at 3 000.01, the market still there at the peak: no part of the peak's gain
    first.book(300_000, 300_001, 'ETHUSDT');
    const r = first.engine.submit({ exchange: 'v', symbol: 'ETHUSDT', side: 'buy', type: 'limit', price: 300_001, qty: 1000, tif: 'GTC', source: 't' });
    expect(r.accepted, r.message).toBe(true);
    const o = venue.submitted.at(-1)!;
    venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: 1000, cumQty: 1000, leavesQty: 0, tradeId: 'E0' });
  }
  first.book(5_000_000, 5_000_100);
  for (const id of ['T1', 'T2']) {
    const r = first.engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_100, qty: 1000, tif: 'GTC', source: 't' });
    expect(r.accepted, r.message).toBe(true);
    const o = venue.submitted.at(-1)!;
    venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: 1000, cumQty: 1000, leavesQty: 0, tradeId: id });
  }
  first.book(6_000_000, 6_000_100);
  first.risk.tick();
  expect(first.engine.riskState.state).toBe('ACTIVE');
  const peak = Number((first.risk.status() as { peakEquity: string }).peakEquity);
  expect(peak).toBeGreaterThan(119_000);
  await first.engine.stop('SIGTERM');
  // a journal whose snapshots carry no mark (written before they did, or its last row damaged)
  const db = new Database(path);
  db.prepare('DELETE FROM snapshots').run();
  db.close();

  const second = await boot(path, venue);
  if (opts.connecting !== false) {
    // the adapter says it is connecting before the first snapshot: an evaluation with no mark
    venue.sink!.onFeedStatus({ type: 'feed_status', exchange: 'v', symbol: 'BTCUSDT', state: 'connecting', reason: 'subscribing', ts: 0 });
    second.risk.tick();
  }
  return { ...second, venue, peak };
}

type Status = { state: string; reason: string; drawdownRatio: number; peakEquity: string; drawdownUnmarked: string | null };

describe('drawdown triggers after a restart, for a position with no market mark', () => {
  it('do not act on a valuation at an earlier run\'s fill (no HALT until a mark arrives)', async () => {
    const s = await restartValuedAtOldFill();
    const st = s.risk.status() as Status;
    expect(st.state, st.reason).toBe('ACTIVE');
    expect(s.engine.riskState.state).toBe('ACTIVE');
    // the valuation is still shown, with why the triggers do not act on it
    expect(st.drawdownRatio).toBeGreaterThan(0.1);
    expect(st.drawdownUnmarked).toMatch(/v:BTCUSDT/);
    // the market is where the peak was measured: no drawdown, no trigger
    s.book(6_000_000, 6_000_100);
    s.risk.tick();
    const after = s.risk.status() as Status;
    expect(after.state, after.reason).toBe('ACTIVE');
    expect(after.drawdownRatio).toBeLessThan(0.01);
    expect(after.drawdownUnmarked).toBeNull();
    await s.engine.stop('test');
  });

  it('HALT once the mark arrives and the marked equity crosses max_drawdown', async () => {
    const s = await restartValuedAtOldFill();
    expect(s.engine.riskState.state).toBe('ACTIVE');
    // 53 000.5: equity about 106 000, 11.7 % under the peak
    s.book(5_300_000, 5_300_100);
    s.risk.tick();
    const st = s.risk.status() as Status;
    expect(st.state).toBe('HALTED');
    expect(st.reason).toMatch(/max_drawdown/);
    await s.engine.stop('test');
  });

  it('REDUCING once the mark arrives and the marked equity crosses the reducing threshold only', async () => {
    const s = await restartValuedAtOldFill();
    expect(s.engine.riskState.state).toBe('ACTIVE');
    // 55 000.5: equity about 110 000, 8.3 % under the peak (REDUCING from 8 %, HALT at 10 %)
    s.book(5_500_000, 5_500_100);
    s.risk.tick();
    const st = s.risk.status() as Status;
    expect(st.state, st.reason).toBe('REDUCING');
    expect(st.reason).toMatch(/reducing threshold/);
    await s.engine.stop('test');
  });

  it('HALT without waiting when a marked instrument loses past max_drawdown meanwhile', async () => {
    const s = await restartValuedAtOldFill();
    expect(s.engine.riskState.state).toBe('ACTIVE');
    // BTCUSDT's market never gives a mark; ETH, bought in this run, is marked by its book
    s.book(300_000, 300_001, 'ETHUSDT');
    const r = s.engine.submit({ exchange: 'v', symbol: 'ETHUSDT', side: 'buy', type: 'limit', price: 300_001, qty: 1000, tif: 'GTC', source: 't' });
    expect(r.accepted, r.message).toBe(true);
    const o = s.venue.submitted.at(-1)!;
    s.venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: 1000, cumQty: 1000, leavesQty: 0, tradeId: 'E1' });
    // 10 ETH down 4 000: 4 % of the equity when the wait began (about 100 000). The fill-priced
    // drawdown from the journaled peak (about 20 %) is still not acted on.
    s.book(260_000, 260_001, 'ETHUSDT');
    s.risk.tick();
    let st = s.risk.status() as Status;
    expect(st.state, st.reason).toBe('ACTIVE');
    expect(st.drawdownRatio).toBeGreaterThan(0.1);
    expect(st.drawdownUnmarked).toMatch(/v:BTCUSDT/);
    expect(st.drawdownUnmarked).not.toMatch(/ETHUSDT/);
    // down 11 000: 11 % of it, a loss no fill valuation explains: HALT, BTC's mark or not
    s.book(190_000, 190_001, 'ETHUSDT');
    s.risk.tick();
    st = s.risk.status() as Status;
    expect(st.state, st.reason).toBe('HALTED');
    expect(st.reason).toMatch(/max_drawdown/);
    expect(st.reason).toMatch(/v:BTCUSDT/);
    await s.engine.stop('test');
  });

  it('REDUCING without waiting when a marked instrument loses past the reducing threshold only', async () => {
    const s = await restartValuedAtOldFill();
    s.book(300_000, 300_001, 'ETHUSDT');
    const r = s.engine.submit({ exchange: 'v', symbol: 'ETHUSDT', side: 'buy', type: 'limit', price: 300_001, qty: 1000, tif: 'GTC', source: 't' });
    expect(r.accepted, r.message).toBe(true);
    const o = s.venue.submitted.at(-1)!;
    s.venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: 1000, cumQty: 1000, leavesQty: 0, tradeId: 'E1' });
    // down 8 500: 8.5 % (REDUCING from 8 %, HALT at 10 %)
    s.book(215_000, 215_001, 'ETHUSDT');
    s.risk.tick();
    const st = s.risk.status() as Status;
    expect(st.state, st.reason).toBe('REDUCING');
    expect(st.reason).toMatch(/reducing threshold/);
    await s.engine.stop('test');
  });

  it('HALT when the first book after the restart shows a loss past max_drawdown on another position of the earlier run', async () => {
    // ETH and BTC both valued at their fills (no snapshot mark); the first evaluation comes with
    // ETH's first book, at 1 900: 11 000 under its fill, 11 % of the equity the journal left
    const s = await restartValuedAtOldFill({ eth: true, connecting: false });
    s.book(190_000, 190_001, 'ETHUSDT');
    s.risk.tick();
    const st = s.risk.status() as Status;
    expect(st.state, st.reason).toBe('HALTED');
    expect(st.reason).toMatch(/max_drawdown/);
    await s.engine.stop('test');
  });

  it('act on the fill valuation once a market has given no mark for DRAWDOWN_MARK_GRACE_MS', async () => {
    const s = await restartValuedAtOldFill();
    expect(s.warns.filter((w) => /valued only at a fill/.test(w))).toHaveLength(1);
    // evaluations meanwhile do not restart the wait
    for (let t = 0; t < DRAWDOWN_MARK_GRACE_MS - 10_000; t += 10_000) {
      s.clock.advance(10_000);
      s.risk.tick();
      const st = s.risk.status() as Status;
      expect(st.state, st.reason).toBe('ACTIVE');
      expect(st.drawdownUnmarked).toMatch(/v:BTCUSDT/);
    }
    s.clock.advance(9_999);
    s.risk.tick();
    expect(s.engine.riskState.state).toBe('ACTIVE');
    s.clock.advance(1);
    s.risk.tick();
    const st = s.risk.status() as Status;
    expect(st.state).toBe('HALTED');
    expect(st.reason).toMatch(/max_drawdown/);
    expect(st.drawdownUnmarked).toBeNull();
    expect(s.warns.some((w) => /no market mark .*v:BTCUSDT.*fill valuation/.test(w))).toBe(true);
    await s.engine.stop('test');
  });
});

/**
 * The equity peak is journaled, and equity is starting capital + PnL. A restart with another
 * starting capital ([risk] initial_equity, or max_total_position / max_position when it is not
 * set) measured equity in the new capital against the peak of the old one: a lowered capital
 * HALTed at start, a raised one erased the drawdown so far. The capital is journaled with the
 * peak, and a restart moves the peak by the difference.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument } from '../domain/instrument.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager } from '../risk/manager.js';
import { RISK_CAPITAL_SCOPE } from '../risk/risk-state.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const base: RiskConfig = { max_position: 100_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };

async function boot(path: string, venue: ScriptedVenue, risk: RiskConfig, bid: number, ask: number) {
  const initialEquity = risk.initial_equity;
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const rm = new RiskManager({ risk, metrics, timers: false, ...(initialEquity !== undefined ? { initialEquity } : {}) });
  const clock = new ManualClock(1_000_000);
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, watchdog: false, risk: rm, riskChecks: rm.checks, journal: store, onShutdown: 'keep',
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  attachJournal(engine, store, silentLogger());
  await engine.start();
  venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: bid, qty: 1000 }], asks: [{ price: ask, qty: 1000 }] });
  return { engine, risk: rm, clock };
}

describe('starting capital vs journaled peak across a restart', () => {
  it('lowering max_total_position (no initial_equity) between runs does not trip the max_drawdown HALT at start', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-capital-')), 'j.db');
    const venue = new ScriptedVenue('v', [BTC]);
    // run 1: capital = max_total_position = 10 000; buy 0.1 BTC at 50 001, the market falls to ~47 000 (a ~3 % loss)
    const first = await boot(path, venue, { ...base, max_total_position: 10_000 }, 5_000_000, 5_000_100);
    const r = first.engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_100, qty: 100, tif: 'GTC', source: 't' });
    expect(r.accepted, r.message).toBe(true);
    const o = venue.submitted.at(-1)!;
    venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: 100, cumQty: 100, leavesQty: 0, tradeId: 'T1' });
    first.clock.advance(1000);
    venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 2, recvTs: 2, seq: 2, reason: 'initial', bids: [{ price: 4_700_000, qty: 1000 }], asks: [{ price: 4_700_100, qty: 1000 }] });
    first.risk.tick();
    const dd1 = (first.risk.status() as { drawdownRatio: number }).drawdownRatio;
    expect(dd1).toBeGreaterThan(0.02);
    expect(dd1).toBeLessThan(0.04);
    expect(first.engine.riskState.state).toBe('ACTIVE');
    await first.engine.stop('SIGTERM');

    // run 2: the operator halves the total position limit (a more conservative deployment); nothing else changed
    const second = await boot(path, venue, { ...base, max_total_position: 5_000 }, 4_700_000, 4_700_100);
    second.risk.tick();
    const s = second.risk.status() as { drawdownRatio: number; state: string; reason: string };
    // the account lost ~300 USDT; it did not lose half its equity
    expect(s.state, s.reason).toBe('ACTIVE');
    expect(s.drawdownRatio).toBeLessThan(0.1);
    await second.engine.stop('test');
  });

  it('raising initial_equity between runs does not erase the drawdown so far', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-capital-')), 'j.db');
    const venue = new ScriptedVenue('v', [BTC]);
    const first = await boot(path, venue, { ...base, initial_equity: 10_000 }, 5_000_000, 5_000_100);
    const r = first.engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_100, qty: 100, tif: 'GTC', source: 't' });
    expect(r.accepted, r.message).toBe(true);
    const o = venue.submitted.at(-1)!;
    venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: 100, cumQty: 100, leavesQty: 0, tradeId: 'T1' });
    first.clock.advance(1000);
    venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 2, recvTs: 2, seq: 2, reason: 'initial', bids: [{ price: 4_600_000, qty: 1000 }], asks: [{ price: 4_600_100, qty: 1000 }] });
    first.risk.tick();
    const lossBefore = 10_000 - Number((first.risk.status() as { equity: string }).equity);
    expect(lossBefore).toBeGreaterThan(350);
    await first.engine.stop('SIGTERM');

    const second = await boot(path, venue, { ...base, initial_equity: 20_000 }, 4_600_000, 4_600_100);
    second.risk.tick();
    const s = second.risk.status() as { equity: string; peakEquity: string; drawdownRatio: number };
    // the ~400 USDT lost since the peak is still a loss from the peak
    expect(Number(s.peakEquity) - Number(s.equity)).toBeGreaterThan(350);
    await second.engine.stop('test');
  });

  it('a journal without the capital (an earlier version) restores its peak as it is', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-capital-')), 'j.db');
    const venue = new ScriptedVenue('v', [BTC]);
    const first = await boot(path, venue, { ...base, initial_equity: 10_000 }, 5_000_000, 5_000_100);
    first.risk.tick();
    const peak = (first.risk.status() as { peakEquity: string }).peakEquity;
    await first.engine.stop('SIGTERM');
    const db = new Database(path);
    expect(db.prepare('DELETE FROM component_state WHERE scope = ?').run(RISK_CAPITAL_SCOPE).changes).toBeGreaterThan(0);
    db.close();

    const second = await boot(path, venue, { ...base, initial_equity: 20_000 }, 5_000_000, 5_000_100);
    expect((second.risk.status() as { peakEquity: string }).peakEquity).not.toBe(peak);
    // the old peak (10 000) is below this run's equity (20 000): the peak is that equity now
    expect((second.risk.status() as { peakEquity: string; equity: string }).peakEquity).toBe((second.risk.status() as { equity: string }).equity);
    await second.engine.stop('test');
  });
});

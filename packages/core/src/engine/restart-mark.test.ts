/**
 * After a restart, before a position's book has its first snapshot, the risk layer valued the
 * position at its last fill (possibly weeks old), while the drawdown peak is the journaled one
 * (valued at the market of then). The first evaluation (a feed status the adapter sends while it
 * connects, a fill reconciliation books, a second venue's book still loading) then saw a
 * "drawdown" that never happened, and a max_drawdown HALT latched. The position is now valued at
 * the last journaled snapshot's mark until its book gives one; where the journal has none, a
 * valuation at an earlier run's fill raises no peak.
 */
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument } from '../domain/instrument.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager } from '../risk/manager.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 100_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };

async function boot(path: string, venue: ScriptedVenue) {
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 100_000, timers: false });
  const clock = new ManualClock(1_000_000);
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, journal: store, onShutdown: 'keep',
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  attachJournal(engine, store, silentLogger());
  await engine.start();
  let seq = 1;
  const book = (bid: number, ask: number) => {
    clock.advance(1000);
    venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: seq++, reason: 'initial', bids: [{ price: bid, qty: 10_000 }], asks: [{ price: ask, qty: 10_000 }] });
  };
  return { engine, risk, clock, book };
}

describe('the first evaluation after a restart', () => {
  it('a profitable long is not valued at its old fill against the journaled peak (no spurious max_drawdown HALT)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-mark-')), 'j.db');
    const venue = new ScriptedVenue('v', [BTC]);
    const first = await boot(path, venue);
    first.book(4_000_000, 4_000_100);
    // buy 1 BTC at 40 001
    const r = first.engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 4_000_100, qty: 1000, tif: 'GTC', source: 't' });
    expect(r.accepted, r.message).toBe(true);
    const o = venue.submitted.at(-1)!;
    venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: 1000, cumQty: 1000, leavesQty: 0, tradeId: 'T1' });
    // the market rallies to 60 000 over the session: +20 000 USDT, a new equity peak
    first.book(6_000_000, 6_000_100);
    first.risk.tick();
    expect(first.engine.riskState.state).toBe('ACTIVE');
    await first.engine.stop('SIGTERM');

    // the deploy restarts the engine; the market is still at 60 000
    const second = await boot(path, venue);
    expect(second.engine.riskState.state).toBe('ACTIVE');
    // the adapter says it is connecting (ccxt's market data does, per symbol) before the first snapshot
    venue.sink!.onFeedStatus({ type: 'feed_status', exchange: 'v', symbol: 'BTCUSDT', state: 'connecting', reason: 'subscribing', ts: 0 });
    second.book(6_000_000, 6_000_100);
    second.risk.tick();
    const s = second.risk.status() as { state: string; reason: string; drawdownRatio: number };
    expect(s.state, s.reason).toBe('ACTIVE');
    expect(s.drawdownRatio).toBeLessThan(0.01);
    await second.engine.stop('test');
  });

  it('a valuation at an earlier run\'s fill (the journal has no mark of it) raises no peak', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-mark-')), 'j.db');
    const venue = new ScriptedVenue('v', [BTC]);
    const first = await boot(path, venue);
    first.book(5_000_000, 5_000_100);
    const fill = (side: 'buy' | 'sell', price: number, qty: number, id: string) => {
      const r = first.engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side, type: 'limit', price, qty, tif: 'GTC', source: 't' });
      expect(r.accepted, r.message).toBe(true);
      const o = venue.submitted.at(-1)!;
      venue.report(o, { kind: 'fill', lastPrice: price, lastQty: qty, cumQty: qty, leavesQty: 0, tradeId: id });
    };
    // 1 BTC bought at 50 001; half sold at 61 000 with the market at 60 000; the market falls to 52 000
    fill('buy', 5_000_100, 1000, 'T1');
    first.book(6_000_000, 6_000_100);
    fill('sell', 6_100_000, 500, 'T2');
    first.book(5_200_000, 5_200_100);
    first.risk.tick();
    const peak = (first.risk.status() as { peakEquity: string }).peakEquity;
    await first.engine.stop('SIGTERM');
    // a journal whose snapshots carry no mark (written before they did, or its last row damaged)
    const db = new Database(path);
    db.prepare('DELETE FROM snapshots').run();
    db.close();

    const second = await boot(path, venue);
    // valued at the last fill, 61 000, before any book: above every mark the peak was measured at
    venue.sink!.onFeedStatus({ type: 'feed_status', exchange: 'v', symbol: 'BTCUSDT', state: 'connecting', reason: 'subscribing', ts: 0 });
    expect((second.risk.status() as { peakEquity: string }).peakEquity).toBe(peak);
    second.book(5_200_000, 5_200_100);
    second.risk.tick();
    expect((second.risk.status() as { peakEquity: string }).peakEquity).toBe(peak);
    await second.engine.stop('test');
  });
});

/**
 * max_total_position after a restart: the order's own position is counted once. The restored
 * Position once held the journal's Instrument object (journalParse builds a new one) while
 * PositionLimitCheck told the order's own position from the others by object identity, so after
 * every restart that position was counted twice (once in the order's worst case, once as an
 * "other" position) and orders well inside the limit were refused. Now the restore binds restored
 * positions to the engine's definitions and the check compares venue and symbol.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport } from '../domain/orders.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager } from './manager.js';
import { Engine } from '../engine/engine.js';
import { attachJournal } from '../engine/rebuild.js';
import { ScriptedVenue } from '../engine/test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
// 0.1 BTC at 50000 = 5000 USDT held; the limit on the total is 6000 USDT.
const RISK: RiskConfig = { max_position: 100_000, max_total_position: 6000, max_drawdown: 0.5, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };

async function boot(path: string) {
  const venue = new ScriptedVenue('v', [BTC]);
  const clock = new ManualClock(1_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 10_000, timers: false });
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, journal: store, onShutdown: 'keep',
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  attachJournal(engine, store, silentLogger());
  await engine.start();
  clock.advance(1000);
  venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: clock.now(), recvTs: clock.now(), seq: 10, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] });
  const buy = (qty: number) => engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty, tif: 'GTC', source: 'test' });
  return { engine, venue, clock, buy };
}

describe('max_total_position after a restart', () => {
  it('holding 5000 USDT of BTC, a 500 USDT buy passes a 6000 USDT total limit before and after a restart', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-total-restart-')), 'j.db');
    const a = await boot(path);
    const r = a.buy(100);
    expect(r.accepted, r.message).toBe(true);
    const o = a.venue.submitted.at(-1)!;
    const f: ExecutionReport = { kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: o.clientOrderId, side: 'buy', lastPrice: 5_000_000, lastQty: 100, cumQty: 100, leavesQty: 0, feeAtoms: 0n, tradeId: 'T1', ts: a.clock.now() };
    a.venue.trades.push(f);
    a.venue.onReport!(f);
    // same process: 5000 + 500 <= 6000
    const before = a.buy(10);
    expect(before.accepted, before.message).toBe(true);
    a.engine.cancel(before.clientOrderId!);
    await a.engine.stop('SIGTERM');

    const b = await boot(path);
    try {
      expect(b.engine.portfolio.qty('v', 'BTCUSDT')).toBe(100);
      expect(b.engine.portfolio.find('v', 'BTCUSDT')!.instrument).toBe(b.engine.instrument('v', 'BTCUSDT'));
      const after = b.buy(10);
      expect(after.accepted, after.message).toBe(true);
    } finally {
      await b.engine.stop('test');
    }
  });
});

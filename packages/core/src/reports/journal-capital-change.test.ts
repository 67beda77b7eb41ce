/**
 * `report --journal` over a restart that changed the starting capital (`[risk] initial_equity`):
 * the report once took the capital of the first snapshot for the whole journal and rebuilt each
 * equity point as that capital + the snapshot's PnL. Run 2's snapshots are in run 2's capital
 * (risk/manager.ts restore moves the journaled peak by the difference), so the report showed
 * final equity 9950 and a 0.5 % drawdown where the engine, its /status and the journal said 950
 * and 5 %. The change is a withdrawal, not a loss: the equity steps, the peak moves with it, and
 * the return leaves it out.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport } from '../domain/orders.js';
import { Engine } from '../engine/engine.js';
import { attachJournal } from '../engine/rebuild.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager } from '../risk/manager.js';
import { sessionFromJournal, type ReadOnlyDb } from './journal-session.js';
import { sessionStatistics } from './statistics.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 100_000, max_drawdown: 0.5, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };

async function boot(path: string, capital: number, t0: number) {
  const venue = new ScriptedVenue('v', [BTC]);
  const clock = new ManualClock(t0);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: capital, timers: false });
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, journal: store, onShutdown: 'keep',
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
    restore: (e: Engine) => attachJournal(e, store, silentLogger()),
  });
  await engine.start();
  let seq = 10;
  const book = (bid: number, ask: number) => {
    clock.advance(1000);
    venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: clock.now(), recvTs: clock.now(), seq: seq++, reason: 'initial', bids: [{ price: bid, qty: 100_000 }], asks: [{ price: ask, qty: 100_000 }] });
  };
  const trade = (side: 'buy' | 'sell', price: number, qty: number, tradeId: string) => {
    const r = engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side, type: 'limit', price, qty, tif: 'GTC', source: 'test' });
    expect(r.accepted, r.message).toBe(true);
    const ord = venue.submitted.at(-1)!;
    clock.advance(10);
    const f: ExecutionReport = { kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: ord.clientOrderId, side, lastPrice: price, lastQty: qty, cumQty: qty, leavesQty: 0, feeAtoms: 0n, tradeId, ts: clock.now() };
    venue.trades.push(f);
    venue.onReport!(f);
  };
  return { engine, risk, book, trade, stop: () => engine.stop('SIGTERM') };
}

describe('report --journal over a restart that changed the starting capital', () => {
  it("values run 2 at run 2's capital, as its snapshots, the risk engine and /status do", async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-report-capital-')), 'j.db');
    // run 1: capital 10000, buys 1 BTC at 100.00
    const first = await boot(path, 10_000, 1_000_000);
    first.book(9_999, 10_001);
    first.trade('buy', 10_000, 1_000, 'T1');
    await first.stop();
    // run 2: the operator lowered [risk] initial_equity to 1000; sells the BTC at 50.00
    const second = await boot(path, 1_000, 2_000_000);
    second.book(4_999, 5_001);
    second.trade('sell', 5_000, 1_000, 'T2');
    const engineEquity = second.risk.status().equity as string;
    await second.stop();
    expect(engineEquity).toBe('950');

    const db = JournalStore.openReadOnly(path);
    let record;
    try {
      record = sessionFromJournal(db as unknown as ReadOnlyDb);
    } finally {
      db.close();
    }
    const stats = sessionStatistics(record);
    expect(stats.net).toBe('-50');
    // the journal's (and the engine's) equity at the end of the session
    expect(stats.finalEquity).toBe(engineEquity);
    // 1000 -> 950 is the 5 % the risk engine's drawdown (max_drawdown HALT) measured in run 2
    expect(stats.maxDrawdownRatio).toBeCloseTo(0.05, 6);
    expect(stats.maxDrawdown).toBe('50');
    // the 9000 taken out is a withdrawal: run 1 made 0 % on 10000, run 2 lost 50 on 1000
    expect(stats.capitalChanges?.map((c) => c.amount)).toEqual(['-9000']);
    expect(stats.return).toBeCloseTo(-0.05, 9);
    expect(record.notes?.join(' ')).toMatch(/starting capital changed .*10000 -> 1000 at/);
  });
});

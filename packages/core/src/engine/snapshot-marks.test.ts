/**
 * With a risk layer, every journal snapshot row is one valuation at the risk layer's mark
 * (`[risk] mark`): the report derives the starting capital as `equity - (realized + unrealized -
 * fees)` of the first snapshot in its window. The row once took its equity from the risk
 * layer's rule (mid of a synced book, else the last fill; or the last trade) and its PnL from the
 * engine's own (mid, else the last market trade), and the report's initial equity, final equity
 * and return were wrong whenever the two disagreed.
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
import { RiskManager } from '../risk/manager.js';
import { sessionFromJournal, type ReadOnlyDb } from '../reports/journal-session.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 100_000, max_drawdown: 0.5, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };
const E18 = 10n ** 18n;

/** Every snapshot row of the journal at `path`: equity - PnL, which must be the starting capital in each. */
function capitalPerRow(path: string): bigint[] {
  const db = JournalStore.openReadOnly(path);
  try {
    const rows = db.prepare('SELECT equity, realized, unrealized, fees FROM snapshots ORDER BY seq').all() as { equity: string; realized: string; unrealized: string; fees: string }[];
    return rows.map((r) => BigInt(r.equity) - (BigInt(r.realized) + BigInt(r.unrealized) - BigInt(r.fees)));
  } finally {
    db.close();
  }
}

async function session(mark: 'mid' | 'last', afterFill: (venue: ScriptedVenue, clock: ManualClock) => void, fromAfterFill = false) {
  const path = join(mkdtempSync(join(tmpdir(), 'cwts-review-marks-')), 'j.db');
  const venue = new ScriptedVenue('v', [BTC]);
  const clock = new ManualClock(1_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 1000, timers: false, mark });
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, journal: store, onShutdown: 'keep',
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  attachJournal(engine, store, silentLogger());
  await engine.start();
  clock.advance(1000);
  venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: clock.now(), recvTs: clock.now(), seq: 10, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] });
  const r = engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_100, qty: 100, tif: 'GTC', source: 'test' });
  expect(r.accepted, r.message).toBe(true);
  const o = venue.submitted.at(-1)!;
  clock.advance(10);
  const f: ExecutionReport = { kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: o.clientOrderId, side: 'buy', lastPrice: 5_000_100, lastQty: 100, cumQty: 100, leavesQty: 0, feeAtoms: 0n, tradeId: 'T1', ts: clock.now() };
  venue.onReport!(f);
  afterFill(venue, clock);
  const from = clock.now();
  await engine.stop('test');
  const db = JournalStore.openReadOnly(path);
  try {
    return { session: sessionFromJournal(db as unknown as ReadOnlyDb, fromAfterFill ? { from } : {}), capitals: capitalPerRow(path) };
  } finally {
    db.close();
  }
}

describe('journal snapshots: equity and PnL from one valuation at the risk layer\'s mark', () => {
  it("mark = 'last': the report's starting capital is the configured 1000", async () => {
    const { session: s, capitals } = await session('last', (venue, clock) => {
      // The last market trade is 5 USDT above the mid; the book stays synced.
      clock.advance(10);
      venue.sink!.onMarketEvent({ type: 'trade', exchange: 'v', symbol: 'BTCUSDT', ts: clock.now(), recvTs: clock.now(), tradeId: 'm1', price: 5_000_600, qty: 1, side: 'buy' });
    });
    expect(s.initialEquity).toBe(1000n * E18);
    expect(capitals.length).toBeGreaterThan(1);
    expect(new Set(capitals)).toEqual(new Set([1000n * E18]));
  });

  it("mark = 'mid' (default): a report window that starts while a book is out of sync (trades printing) still has starting capital 1000", async () => {
    const { session: s, capitals } = await session('mid', (venue, clock) => {
      clock.advance(10);
      venue.sink!.onFeedStatus({ type: 'feed_status', exchange: 'v', symbol: 'BTCUSDT', state: 'resyncing', reason: 'gap', ts: clock.now() });
      clock.advance(10);
      venue.sink!.onMarketEvent({ type: 'trade', exchange: 'v', symbol: 'BTCUSDT', ts: clock.now(), recvTs: clock.now(), tradeId: 'm1', price: 4_900_000, qty: 1, side: 'sell' });
    }, true);
    expect(s.initialEquity).toBe(1000n * E18);
    expect(new Set(capitals)).toEqual(new Set([1000n * E18]));
  });
});

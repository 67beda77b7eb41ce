/**
 * A venue changes an instrument's tick or lot size between two runs (Binance and others do it
 * routinely). The journal's fills are counted in the old increments, the venue's fills from now
 * on in the new ones: the restored position and orders are converted onto the new grid, the
 * journal keeps the old definition in its grid history so the next restart converts the same
 * way, and a restored quantity that has no place on the new lot grid refuses the start, naming
 * the instrument and both definitions (docs/journal.md, "Tick or lot size changed between runs").
 * Before, the old fills were valued at the new tick: equity -3499.9995 and HALTED after a
 * harmless restart, or a phantom +45000 realized on a round trip at one price.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument, type Instrument } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager } from '../risk/manager.js';
import { commonToDecimal } from '../risk/portfolio.js';
import { sessionFromJournal, type ReadOnlyDb } from '../reports/journal-session.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const def = (tickSize: string, lotSize = '0.001'): Instrument => defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize, lotSize });
const CENT = def('0.01');
const DIME = def('0.1');
const RISK: RiskConfig = { max_position: 100_000, max_drawdown: 0.5, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };

const newJournal = () => join(mkdtempSync(join(tmpdir(), 'cwts-instrument-change-')), 'j.db');

/**
 * One process lifetime on the journal at `path`, the venue defining BTCUSDT as `i`. `inside`:
 * the restore runs inside start() once the instruments are loaded (as composeDeployment wires
 * it); else attachJournal before start() (the instruments are not known yet).
 */
async function boot(path: string, i: Instrument, o: { inside?: boolean; venueOpen?: Order[]; venueTrades?: ExecutionReport[] } = {}) {
  const venue = new ScriptedVenue('v', [i]);
  venue.venueOpen = o.venueOpen ?? [];
  // what the venue answers reconciliation's "trades since the last journaled fill"
  if (o.venueTrades) venue.trades = o.venueTrades;
  const clock = new ManualClock(1_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 1000, timers: false });
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, journal: store, onShutdown: 'keep',
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
    ...(o.inside ? { restore: (e: Engine) => attachJournal(e, store, silentLogger()) } : {}),
  });
  if (!o.inside) attachJournal(engine, store, silentLogger());
  try {
    await engine.start();
  } catch (err) {
    await engine.stop('start failed');
    throw err;
  }
  let seq = 10;
  const book = (bid: number, ask: number) => {
    clock.advance(1000);
    venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: clock.now(), recvTs: clock.now(), seq: seq++, reason: 'initial', bids: [{ price: bid, qty: 100_000 }], asks: [{ price: ask, qty: 100_000 }] });
  };
  /** An order at `price` ticks for `qty` lots; filled at once unless `rest`. */
  const trade = (side: 'buy' | 'sell', price: number, qty: number, tradeId: string, rest = false): Order => {
    const r = engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side, type: 'limit', price, qty, tif: 'GTC', source: 'test' });
    expect(r.accepted, r.message).toBe(true);
    const ord = venue.submitted.at(-1)!;
    clock.advance(10);
    if (rest) {
      venue.report(ord, { kind: 'ack', leavesQty: qty });
      return ord;
    }
    const f: ExecutionReport = { kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: ord.clientOrderId, side, lastPrice: price, lastQty: qty, cumQty: qty, leavesQty: 0, feeAtoms: 0n, tradeId, ts: clock.now() };
    venue.trades.push(f);
    venue.onReport!(f);
    return ord;
  };
  const realized = () => commonToDecimal(engine.totals().realized);
  const equity = () => risk.status().equity as string;
  return { engine, venue, risk, clock, book, trade, realized, equity, stop: () => engine.stop('SIGTERM') };
}

describe('a tick size that changed between runs', () => {
  it('bought 0.1 BTC at 50000 (tick 0.01), sold at 50000 after a restart at tick 0.1: flat, realized 0, ACTIVE, and the same at the next restart', async () => {
    const path = newJournal();
    const first = await boot(path, CENT);
    first.book(5_000_000, 5_000_100);
    first.trade('buy', 5_000_000, 100, 'T1'); // 50000.00 x 0.1
    await first.stop();

    const second = await boot(path, DIME);
    // restored 0.1 BTC long at 50000.00, valued in the new ticks
    expect(second.engine.portfolio.find('v', 'BTCUSDT')!.instrument).toBe(second.engine.instrument('v', 'BTCUSDT'));
    second.book(500_000, 500_001); // 50000.0 / 50000.1
    expect({ state: second.risk.status().state, equity: second.equity() }).toEqual({ state: 'ACTIVE', equity: '1000.005' });
    second.trade('sell', 500_000, 100, 'T2');
    expect(second.engine.portfolio.qty('v', 'BTCUSDT')).toBe(0);
    expect(second.realized()).toBe('0');
    expect(second.risk.status().state).toBe('ACTIVE');
    await second.stop();

    // the journal holds fills in both grids: each is counted in its own
    const third = await boot(path, DIME);
    try {
      expect(third.engine.portfolio.qty('v', 'BTCUSDT')).toBe(0);
      expect(third.realized()).toBe('0');
      expect(third.equity()).toBe('1000');
      expect(third.risk.status().state).toBe('ACTIVE');
    } finally {
      await third.stop();
    }
    // the journal report cannot value the fills of two grids by one definition: it says so
    const db = JournalStore.openReadOnly(path);
    try {
      expect(sessionFromJournal(db as unknown as ReadOnlyDb).warnings).toEqual([expect.stringMatching(/changed the tick or lot size of v:BTCUSDT/)]);
    } finally {
      db.close();
    }
  });

  it('tick made finer (0.1 -> 0.01), restored inside start(): the same round trip books no phantom profit, now or at the next restart', async () => {
    const path = newJournal();
    const first = await boot(path, DIME, { inside: true });
    first.book(500_000, 500_001);
    first.trade('buy', 500_000, 100, 'T1'); // 50000.0
    await first.stop();

    const second = await boot(path, CENT, { inside: true });
    second.book(5_000_000, 5_000_100);
    second.trade('sell', 5_000_000, 100, 'T2'); // 50000.00
    expect(second.engine.portfolio.qty('v', 'BTCUSDT')).toBe(0);
    expect(second.realized()).toBe('0');
    await second.stop();

    const third = await boot(path, CENT, { inside: true });
    try {
      expect(third.realized()).toBe('0');
      expect(third.engine.portfolio.qty('v', 'BTCUSDT')).toBe(0);
    } finally {
      await third.stop();
    }
  });

  it('an entry price off the new grid (50000.05 at tick 0.1) is rounded against the position with the difference carried: equity unchanged, the round trip realizes what it made', async () => {
    const path = newJournal();
    const first = await boot(path, CENT);
    first.book(5_000_000, 5_000_010); // mid 50000.05
    first.trade('buy', 5_000_005, 100, 'T1'); // 0.1 BTC at 50000.05
    expect(first.equity()).toBe('1000');
    await first.stop();

    const second = await boot(path, DIME);
    second.book(500_000, 500_001); // the same mid, 50000.05, in the new ticks
    // entry counted at 50000.1 (unrealized -0.005), 0.005 carried into realized: equity as before
    expect(second.equity()).toBe('1000');
    expect(second.realized()).toBe('0.005');
    expect(second.engine.portfolio.snapshot(second.engine.markHalfTicks)[0]).toMatchObject({ qty: 100, avgEntryPrice: '50000.1', realizedPnl: '0.005' });
    second.trade('sell', 500_001, 100, 'T2'); // sold at 50000.1: made 0.005
    expect(second.realized()).toBe('0.005');
    await second.stop();

    const third = await boot(path, DIME);
    try {
      expect(third.realized()).toBe('0.005');
      expect(third.engine.portfolio.qty('v', 'BTCUSDT')).toBe(0);
    } finally {
      await third.stop();
    }
  });

  it('two changes (0.01 -> 0.1 -> 0.01) with a position held through both: every restart books the same, exact in total', async () => {
    const path = newJournal();
    const first = await boot(path, CENT);
    first.book(5_000_000, 5_000_010);
    first.trade('buy', 5_000_005, 100, 'T1'); // 0.1 at 50000.05
    await first.stop();

    const second = await boot(path, DIME, { inside: true });
    second.book(500_000, 500_001);
    second.trade('buy', 500_000, 100, 'T2'); // 0.1 at 50000.0
    await second.stop();

    const third = await boot(path, CENT);
    third.book(5_000_000, 5_000_010);
    expect(third.engine.portfolio.qty('v', 'BTCUSDT')).toBe(200);
    third.trade('sell', 5_000_000, 200, 'T3'); // 0.2 at 50000.00
    // bought 0.1 at 50000.05 and 0.1 at 50000.0, sold 0.2 at 50000.00
    expect(third.realized()).toBe('-0.005');
    await third.stop();

    const fourth = await boot(path, CENT);
    try {
      expect(fourth.engine.portfolio.qty('v', 'BTCUSDT')).toBe(0);
      expect(fourth.realized()).toBe('-0.005');
      expect(fourth.equity()).toBe('999.995');
    } finally {
      await fourth.stop();
    }
  });

  it('the last fill as the mark (no synced book yet, as at every restart): equity unchanged across the change, then the book mid values it', async () => {
    const path = newJournal();
    const first = await boot(path, CENT);
    first.book(5_000_000, 5_000_010); // mid 50000.05
    first.trade('buy', 5_000_005, 100, 'T1'); // 0.1 BTC at 50000.05: mid and last fill alike
    expect(first.equity()).toBe('1000');
    await first.stop();

    const second = await boot(path, DIME);
    // entry 50000.1 (0.005 carried), valued at the exact last fill 50000.05: no false drawdown
    expect(second.equity()).toBe('1000');
    expect(second.engine.portfolio.snapshot(second.engine.markHalfTicks)[0]).toMatchObject({ realizedPnl: '0.005', unrealizedPnl: '-0.005' });
    // a book whose mid, 50000.0, is the last fill rounded down: the mid it is
    second.book(499_999, 500_001);
    expect(second.equity()).toBe('999.995');
    await second.stop();

    // back to tick 0.01 with no book: the last fill is on the grid again, exactly
    const third = await boot(path, CENT);
    try {
      expect(third.engine.portfolio.find('v', 'BTCUSDT')!.lastPrice).toBe(5_000_005);
      expect(third.equity()).toBe('1000');
    } finally {
      await third.stop();
    }
  });

  it('a fill without a trade id at the last journaled fill time, answered again by the venue in the new ticks and lots, is not booked twice', async () => {
    const path = newJournal();
    const first = await boot(path, CENT);
    first.book(5_000_000, 5_000_100);
    const ord = first.trade('buy', 5_000_000, 100, '', true);
    const f: ExecutionReport = { kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: ord.clientOrderId, side: 'buy', lastPrice: 5_000_000, lastQty: 100, cumQty: 100, leavesQty: 0, feeAtoms: 0n, ts: first.clock.now() };
    first.venue.onReport!(f); // no trade id: the venue gives none
    expect(first.engine.portfolio.qty('v', 'BTCUSDT')).toBe(100);
    await first.stop();

    // 50000.00 x 0.1 is 500000 ticks of 0.1 and 10 lots of 0.01: the venue reports it so now
    const second = await boot(path, def('0.1', '0.01'), { venueTrades: [{ ...f, lastPrice: 500_000, lastQty: 10, cumQty: 10 }] });
    try {
      expect(second.engine.portfolio.qty('v', 'BTCUSDT')).toBe(10);
      expect(second.equity()).toBe('1000');
    } finally {
      await second.stop();
    }
  });

  it("a restored resting order is converted too, and the venue's fill of it in the new ticks is booked at its price", async () => {
    const path = newJournal();
    const first = await boot(path, CENT);
    first.book(5_000_000, 5_000_100);
    const resting = first.trade('buy', 4_990_000, 100, '', true); // 49900.00 x 0.1, working
    await first.stop();

    const second = await boot(path, DIME, { venueOpen: [{ ...resting }] });
    try {
      expect(second.engine.orders.get(resting.clientOrderId)).toMatchObject({ status: 'open', price: 499_000, qty: 100 });
      const f: ExecutionReport = { kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: resting.clientOrderId, side: 'buy', lastPrice: 499_000, lastQty: 100, cumQty: 100, leavesQty: 0, feeAtoms: 0n, tradeId: 'T9', ts: second.clock.now() };
      second.venue.onReport!(f);
      second.book(499_000, 499_001);
      expect(second.engine.portfolio.snapshot(second.engine.markHalfTicks)[0]).toMatchObject({ qty: 100, avgEntryPrice: '49900', realizedPnl: '0' });
      expect(second.equity()).toBe('1000.005');
    } finally {
      await second.stop();
    }
  });
});

describe('a lot size that changed between runs', () => {
  it('a holding that is not a whole number of the new lots refuses the start, naming the instrument and both definitions, and changes nothing', async () => {
    const path = newJournal();
    const first = await boot(path, CENT);
    first.book(5_000_000, 5_000_100);
    first.trade('buy', 5_000_000, 15, 'T1'); // 0.015 BTC
    await first.stop();

    await expect(boot(path, def('0.01', '0.01'))).rejects.toThrow(/v:BTCUSDT.*0\.015 BTC.*tick 0\.01, lot 0\.001 -> tick 0\.01, lot 0\.01/);

    // nothing was journaled by the refused start: the old definition still restores the position
    const again = await boot(path, CENT);
    try {
      expect(again.engine.portfolio.qty('v', 'BTCUSDT')).toBe(15);
    } finally {
      await again.stop();
    }
  });

  it('a holding that is a whole number of the new lots though built from lots that are not (0.015 + 0.005) restarts, FIFO re-split, total PnL exact', async () => {
    const path = newJournal();
    const first = await boot(path, CENT);
    first.book(5_000_000, 5_000_100); // mid 50000.50
    first.trade('buy', 5_000_000, 15, 'T1'); // 0.015 at 50000.00
    first.trade('buy', 5_000_001, 5, 'T2'); // 0.005 at 50000.01
    const before = first.equity();
    expect(before).toBe('1000.00995');
    await first.stop();

    // once refused: each FIFO lot had to be a whole number of the new lots
    const second = await boot(path, def('0.01', '0.01'));
    second.book(5_000_000, 5_000_100);
    // 0.01 at 50000.00, and 0.01 mixed from 0.005 at 50000.00 and 0.005 at 50000.01 (50000.005,
    // rounded up to 50000.01, 0.00005 carried): equity as before
    expect(second.engine.portfolio.snapshot(second.engine.markHalfTicks)[0]).toMatchObject({ qty: 2, avgEntryPrice: '50000.005', realizedPnl: '0.00005' });
    expect(second.equity()).toBe(before);
    second.trade('sell', 5_000_100, 2, 'T3'); // all of it at 50001.00
    // 0.015 x 1.00 + 0.005 x 0.99, as if nothing had changed
    expect(second.realized()).toBe('0.01995');
    await second.stop();

    const third = await boot(path, def('0.01', '0.01'));
    try {
      expect(third.engine.portfolio.qty('v', 'BTCUSDT')).toBe(0);
      expect(third.realized()).toBe('0.01995');
    } finally {
      await third.stop();
    }
  });

  it('after a FIFO partial close (buy 0.015, buy 0.015, sell 0.01: 0.02 held in lots of 0.005 and 0.015) restarts at lot 0.01', async () => {
    const path = newJournal();
    const first = await boot(path, CENT);
    first.book(5_000_000, 5_000_100);
    first.trade('buy', 5_000_000, 15, 'T1');
    first.trade('buy', 5_000_000, 15, 'T2');
    first.trade('sell', 5_000_000, 10, 'T3');
    await first.stop();

    const second = await boot(path, def('0.01', '0.01'));
    try {
      expect(second.engine.portfolio.qty('v', 'BTCUSDT')).toBe(2);
      expect(second.realized()).toBe('0');
    } finally {
      await second.stop();
    }
  });

  it('a holding on the new lot grid converts exactly (0.02 BTC at lot 0.001 -> lot 0.01)', async () => {
    const path = newJournal();
    const first = await boot(path, CENT);
    first.book(5_000_000, 5_000_100);
    first.trade('buy', 5_000_000, 20, 'T1');
    await first.stop();

    const second = await boot(path, def('0.01', '0.01'));
    try {
      expect(second.engine.portfolio.qty('v', 'BTCUSDT')).toBe(2);
      second.book(5_000_000, 5_000_100); // mid 50000.50: 0.02 x 0.50
      expect(second.equity()).toBe('1000.01');
    } finally {
      await second.stop();
    }
  });
});

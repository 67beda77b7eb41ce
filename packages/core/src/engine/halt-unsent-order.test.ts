/**
 * An order the venue was never handed is never cancelled at the venue. Under fsync "always" an
 * order is committed before it leaves; when that commit fails the journal reports it (the HALT,
 * "journal write failed") from inside the append, while the order was still open and unsent. The
 * HALT's mass cancel then sent the venue a cancel for an order it never got: an "unknown order"
 * answer, a request out of the order budget in the middle of an incident, an error logged. The
 * order is closed here instead; an order handed to its venue and not yet answered is still
 * cancelled by a HALT (the last tests, and halt-stalled-journal.test.ts's first order).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument } from '../domain/instrument.js';
import type { Order } from '../domain/orders.js';
import type { Journal } from '../journal/journal.js';
import type { JournalRecord } from '../journal/records.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager } from '../risk/manager.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 100_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };
const BUY = { exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 4_999_000, qty: 10, tif: 'GTC', source: 't' } as const;

/**
 * A journal under fsync "always" that the test makes fail: `failOrder` fails the next order
 * record's commit (reported first, as JournalStore does, then false); `haltOnOrder` reports a
 * failure of another write (the risk layer's HALT) during the next order record's commit, which
 * itself goes through.
 */
class ScriptedJournal implements Journal {
  readonly path = 'mem';
  readonly policy = 'always' as const;
  readonly records: JournalRecord[] = [];
  failing = false;
  failOrder = false;
  haltOnOrder = false;
  onError: (message: string) => void = () => {};
  append(rec: JournalRecord): boolean {
    if (rec.t === 'order' && this.failOrder) {
      this.failing = true;
      this.onError('commit timed out after 10000 ms');
      return false;
    }
    if (rec.t === 'order' && this.haltOnOrder) {
      this.haltOnOrder = false;
      this.onError('another write failed');
    }
    if (this.failing) return false;
    this.records.push(rec);
    return true;
  }
  flush(): void {}
  close(): void {}
}

/** An engine with one order working (acked) at the venue. */
async function boot(journal: Journal) {
  const venue = new ScriptedVenue('v', [BTC]);
  venue.autoCancel = false;
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 1000, timers: false });
  const engine = new Engine({
    clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, journal, onShutdown: 'keep',
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  // as compose.ts wires it: a journal write failure halts the engine
  if (journal instanceof ScriptedJournal) journal.onError = (m) => engine.halt(`journal write failed: ${m}`);
  if (journal instanceof JournalStore) attachJournal(engine, journal, silentLogger());
  await engine.start();
  venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_000_000, qty: 1000 }], asks: [{ price: 5_000_100, qty: 1000 }] });
  const first = engine.submit(BUY);
  expect(first.accepted, first.message).toBe(true);
  venue.report(venue.submitted.at(-1)!, { kind: 'ack' });
  return { engine, venue, risk, first: first.clientOrderId! };
}

/** The order this engine created last (refused orders are answered without an id). */
function lastCreated(engine: Engine): Order {
  return [...engine.orders.all()].at(-1)!;
}

const ids = (orders: readonly Order[]) => orders.map((o) => o.clientOrderId);

describe('a HALT cancels at the venue only what the venue was handed', () => {
  it('an order whose own commit fails (fsync "always"): the HALT it causes sends no cancel for it, and it ends closed here', async () => {
    const journal = new ScriptedJournal();
    const { engine, venue, first } = await boot(journal);
    journal.failOrder = true;
    const second = engine.submit(BUY);
    expect(second.accepted).toBe(false);
    expect(second.message).toMatch(/commit failed/);
    const unsent = lastCreated(engine);
    expect(unsent.clientOrderId).not.toBe(first);
    expect(engine.riskState.state).toBe('HALTED');
    expect(engine.riskState.reason).toMatch(/journal write failed/);
    // the venue got neither the order nor a cancel for it; the order working there is cancelled
    expect(ids(venue.submitted)).toEqual([first]);
    expect(ids(venue.cancelled)).toEqual([first]);
    expect(unsent.status).toBe('cancelled');
    expect(engine.orders.allOpen().map((o) => o.clientOrderId)).toEqual([first]);
    // the HALT's follow-up rounds do not reach it either
    await new Promise((r) => setTimeout(r, 50));
    expect(ids(venue.cancelled)).not.toContain(unsent.clientOrderId);
    await engine.stop('test');
  });

  it('the same on a JournalStore stuck in a commit (another connection holds the write lock)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-halt-unsent-')), 'j.db');
    let engine: Engine | undefined;
    const store = JournalStore.open(path, { fsync: 'always', batchMs: 50, commitTimeoutMs: 200, onError: (e) => engine?.halt(`journal write failed: ${e.message}`) });
    const booted = await boot(store);
    engine = booted.engine;
    const blocker = new Database(path);
    blocker.pragma('busy_timeout = 0');
    blocker.exec('BEGIN EXCLUSIVE');
    try {
      const second = engine.submit(BUY);
      expect(second.accepted).toBe(false);
      expect(engine.riskState.state).toBe('HALTED');
      const unsent = lastCreated(engine);
      expect(unsent.clientOrderId).not.toBe(booted.first);
      expect(unsent.status).toBe('cancelled');
      expect(ids(booted.venue.submitted)).toEqual([booted.first]);
      expect(ids(booted.venue.cancelled)).toEqual([booted.first]);
    } finally {
      blocker.exec('ROLLBACK');
      blocker.close();
      await engine.stop('test');
    }
  }, 30_000);

  it('a HALT during an order commit that went through: the order is not sent after it, and is closed in the journal', async () => {
    const journal = new ScriptedJournal();
    // the HALT comes from elsewhere (another write's failure) while this order's record commits
    const { engine, venue, first } = await boot(journal);
    journal.haltOnOrder = true;
    const second = engine.submit(BUY);
    expect(engine.riskState.state).toBe('HALTED');
    expect(second.accepted).toBe(false);
    expect(second.reason).toBe('KILL_SWITCH');
    const unsent = lastCreated(engine);
    expect(ids(venue.submitted)).toEqual([first]);
    expect(ids(venue.cancelled)).toEqual([first]);
    expect(unsent.status).toBe('rejected');
    // committed as open, so its end is committed too: a restart must not find it working
    const closing = journal.records.find((r) => r.t === 'report' && r.report.clientOrderId === unsent.clientOrderId);
    expect(closing).toMatchObject({ t: 'report', order: { status: 'rejected' } });
    await engine.stop('test');
  });

  it('guard: an order handed to its venue and not yet answered is cancelled by a HALT', async () => {
    const journal = new ScriptedJournal();
    const { engine, venue, first } = await boot(journal);
    const second = engine.submit(BUY);
    expect(second.accepted).toBe(true);
    engine.halt('desk');
    expect(ids(venue.cancelled)).toEqual([first, second.clientOrderId]);
    await engine.stop('test');
  });

  it('guard: a HALT raised inside the venue client\'s submit() cancels the order it was handed', async () => {
    const journal = new ScriptedJournal();
    const { engine, venue, first } = await boot(journal);
    const submit = venue.submit.bind(venue);
    venue.submit = (o) => {
      submit(o);
      engine.halt('venue: account flagged');
    };
    const second = engine.submit(BUY);
    expect(second.accepted).toBe(true);
    expect(engine.riskState.state).toBe('HALTED');
    expect(ids(venue.cancelled)).toEqual([first, second.clientOrderId]);
    await engine.stop('test');
  });
});

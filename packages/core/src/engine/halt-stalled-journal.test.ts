/**
 * A HALT the journal caused (a commit that timed out: a stalled disk, an I/O hang, here another
 * connection holding SQLite's write lock) must not wait on the stuck writer before its cancels:
 * under fsync "always" the transition once committed three times, blocking, inside the state
 * change (the risk record, the peak, the durable commit), each waiting the whole commit timeout
 * (10 s by default) while every order kept working. On a healthy journal a HALT is still one
 * fsynced commit made before its cancels (the operator's "applied" means a restart finds it).
 * Asserted on the order of events and on counts of commits, not on wall time.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { FsyncPolicy, RiskConfig } from '../config/types.js';
import { defineInstrument } from '../domain/instrument.js';
import { JournalStore, loadContents } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager } from '../risk/manager.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 100_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };
const BUY = { exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 4_999_000, qty: 10, tif: 'GTC', source: 't' } as const;

/** An engine on a journal at `path`, with one order working at the venue, and a log of what reached the journal and the venue. */
async function boot(path: string, fsync: FsyncPolicy, commitTimeoutMs?: number) {
  const venue = new ScriptedVenue('v', [BTC]);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const events: string[] = [];
  let engine: Engine | undefined;
  // as compose.ts wires it: a journal write failure halts the engine
  const store = JournalStore.open(path, {
    fsync, batchMs: 50, commitTimeoutMs,
    onError: (e) => {
      events.push('journal error');
      engine?.halt(`journal write failed: ${e.message}`);
    },
  });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 1000, timers: false });
  engine = new Engine({
    clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, journal: store, onShutdown: 'keep',
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  attachJournal(engine, store, silentLogger());
  await engine.start();
  venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_000_000, qty: 1000 }], asks: [{ price: 5_000_100, qty: 1000 }] });
  const first = engine.submit(BUY);
  expect(first.accepted, first.message).toBe(true);
  venue.report(venue.submitted.at(-1)!, { kind: 'ack' });
  // every flush is a commit the engine thread blocks on (under "always" each append is one)
  const flush = store.flush.bind(store);
  vi.spyOn(store, 'flush').mockImplementation((durable?: boolean) => {
    events.push('commit');
    return flush(durable);
  });
  const cancel = venue.cancel.bind(venue);
  venue.cancel = (o) => {
    events.push('cancel');
    cancel(o);
  };
  return { engine, store, venue, risk, events };
}

describe('a HALT and the journal it is written to', () => {
  it('a journal stuck in a commit: the HALT it causes sends its cancels before any commit on the stuck writer', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-halt-stall-')), 'j.db');
    // short: the failing commits wait this long each (a stalled writer never commits, so it is not a race)
    const { engine, venue, events } = await boot(path, 'always', 200);
    // a venue answers a cancel later, from its socket (its report's commit is not the HALT's)
    venue.autoCancel = false;
    // the disk stalls: another connection holds SQLite's write lock for as long as the test says
    const blocker = new Database(path);
    blocker.pragma('busy_timeout = 0');
    blocker.exec('BEGIN EXCLUSIVE');
    try {
      // the next order's commit times out: the journal reports it, and the engine HALTs
      const second = engine.submit(BUY);
      expect(second.accepted).toBe(false);
      expect(engine.riskState.state).toBe('HALTED');
      const halted = events.indexOf('journal error');
      expect(halted).toBeGreaterThan(0);
      const after = events.slice(halted + 1);
      // the cancels are the first thing the HALT does; the transition's write waits behind
      // them, on the writer known stuck, once
      expect(after[0]).toBe('cancel');
      expect(after.lastIndexOf('cancel')).toBeLessThan(after.indexOf('commit') === -1 ? Infinity : after.indexOf('commit'));
      expect(after.filter((e) => e === 'commit').length).toBeLessThanOrEqual(1);
    } finally {
      blocker.exec('ROLLBACK');
      blocker.close();
      await engine.stop('test');
    }
    // the writer got the HALT once the disk came back (or close() latched one): the restart is HALTED
    const db = JournalStore.openReadOnly(path);
    try {
      expect(loadContents(db).lastRisk?.to).toBe('HALTED');
    } finally {
      db.close();
    }
  }, 30_000);

  it.each(['always', 'batch'] as const)('a healthy journal (fsync = %s): the HALT is one fsynced commit, made before its cancels', async (fsync) => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-halt-healthy-')), 'j.db');
    const { engine, store, risk, venue, events } = await boot(path, fsync);
    const before = store.writerStats.fullSyncCommits;
    let fsyncedAtCancel: number | undefined;
    const cancel = venue.cancel;
    venue.cancel = (o) => {
      fsyncedAtCancel ??= store.writerStats.fullSyncCommits - before;
      cancel(o);
    };
    risk.halt('desk: runaway strategy');
    expect(engine.riskState.state).toBe('HALTED');
    expect(events).toContain('cancel');
    // the risk record and the peak in one commit, not one each (each a blocking fsync under "always")
    expect(fsyncedAtCancel).toBe(1);
    const db = JournalStore.openReadOnly(path);
    try {
      expect(loadContents(db).lastRisk).toMatchObject({ to: 'HALTED', reason: expect.stringMatching(/desk: runaway strategy/) });
    } finally {
      db.close();
    }
    await engine.stop('test');
  });
});

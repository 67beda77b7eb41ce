/**
 * The journal restore latches the journal's last non-ACTIVE state (rebuild.ts). It ran after a
 * HALT the operator set while the venues loaded their instruments and moved it to the journal's
 * REDUCING, journaled so, until the risk layer's next evaluation HALTed again: a restart in
 * between came back REDUCING, and meanwhile orders that reduce a position were let through. A
 * latched state now only replaces a weaker one.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument, type Instrument } from '../domain/instrument.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager } from '../risk/manager.js';
import { Engine } from './engine.js';
import { attachJournal, restoreFromJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 100_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };

/** As composeDeployment builds it: the journal restore runs inside start(), once the venues loaded. */
function build(path: string, venue: ScriptedVenue, store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 })) {
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 1000, timers: false });
  const engine = new Engine({
    clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, journal: store, onShutdown: 'keep', risk, riskChecks: risk.checks,
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
    restore: (e) => attachJournal(e, store, silentLogger()),
  });
  return { engine, risk, store };
}

/** A journal whose last risk transition is an operator's REDUCING. */
async function reducingJournal(): Promise<string> {
  const path = join(mkdtempSync(join(tmpdir(), 'cwts-latched-rank-')), 'j.db');
  const first = build(path, new ScriptedVenue('v', [BTC]));
  await first.engine.start();
  first.risk.reduce('desk: thin market');
  await first.engine.stop('SIGTERM');
  return path;
}

function transitions(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT to_state FROM risk_transitions ORDER BY seq').all() as { to_state: string }[]).map((m) => m.to_state);
  } finally {
    db.close();
  }
}

const tick = () => new Promise((res) => setImmediate(res));

describe('the restore of a latched risk state', () => {
  it('does not move a HALT set before it (from contents read before the HALT) to the journal\'s REDUCING', async () => {
    const path = await reducingJournal();
    const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
    const e = build(path, new ScriptedVenue('v', [BTC]), store);
    const contents = store.load();
    expect(contents.lastRisk?.to).toBe('REDUCING');
    e.risk.halt('desk: venue incident');
    restoreFromJournal(e.engine, contents, path, silentLogger());
    expect(e.engine.riskState.state).toBe('HALTED');
    expect(e.engine.riskState.reason).toMatch(/desk: venue incident/);
    store.close();
    expect(transitions(path)).toEqual(['REDUCING', 'HALTED']);
  });

  it('does not move an operator HALT set while the venues loaded to the journal\'s REDUCING', async () => {
    const path = await reducingJournal();

    const venue = new ScriptedVenue('v', [BTC]);
    let answer!: (list: Instrument[]) => void;
    venue.loadInstruments = () => new Promise<Instrument[]>((resolve) => (answer = resolve));
    const second = build(path, venue);
    const starting = second.engine.start();
    await tick();
    second.risk.halt('desk: venue incident');
    answer([BTC]);
    await starting;
    // no evaluation has run since the restore (the HALT was committed at once: the journal latches it too)
    expect(second.engine.riskState.state).toBe('HALTED');
    expect(second.engine.riskState.reason).toMatch(/desk: venue incident/);
    await second.engine.stop('test');

    // nor did the journal record a move to REDUCING after the HALT
    expect(transitions(path)).toEqual(['REDUCING', 'HALTED']);
  });
});

/**
 * `run` serves /metrics and /status before engine.start(), and the journal restore (positions,
 * the equity peak, a latched HALT) runs inside start() only once every venue's
 * loadInstruments() has answered (a REST call: seconds while a venue is down, again at every
 * restart of a crash loop). Meanwhile the endpoints reported the defaults as facts: a journaled
 * HALT as cwts_risk_state 0 (ACTIVE), no positions, equity = starting capital. Until the restore
 * has run, /status says RESTORING and cwts_risk_state, cwts_equity, cwts_drawdown_ratio and
 * cwts_var read NaN; a HALTED set meanwhile is shown as HALTED.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument, type Instrument } from '../domain/instrument.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager } from '../risk/manager.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { engineStatus } from './status.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 100_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };

/** As composeDeployment builds it: the journal restore is the engine's `restore` option, run inside start(). */
function build(path: string, venue: ScriptedVenue, withRisk = true) {
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const risk = withRisk ? new RiskManager({ risk: RISK, metrics, initialEquity: 1000, timers: false }) : undefined;
  const engine = new Engine({
    clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, journal: store, onShutdown: 'keep',
    ...(risk ? { risk, riskChecks: risk.checks } : {}),
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
    restore: (e) => attachJournal(e, store, silentLogger()),
  });
  return { engine, risk, metrics };
}

const gauge = async (m: MetricsRegistry, name: string) => (await m.registry.getSingleMetric(name)!.get()).values.map((v) => v.value);

/** A journal holding a 0.01 BTC position and a manual HALT. */
async function haltedJournal(): Promise<string> {
  const path = join(mkdtempSync(join(tmpdir(), 'cwts-startup-risk-')), 'j.db');
  const venue = new ScriptedVenue('v', [BTC]);
  const first = build(path, venue);
  await first.engine.start();
  venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_000_000, qty: 1000 }], asks: [{ price: 5_000_100, qty: 1000 }] });
  const r = first.engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_100, qty: 10, tif: 'GTC', source: 't' });
  expect(r.accepted, r.message).toBe(true);
  const o = venue.submitted.at(-1)!;
  venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: 10, cumQty: 10, leavesQty: 0, tradeId: 't1' });
  first.risk!.halt('desk: venue incident');
  expect(first.engine.riskState.state).toBe('HALTED');
  await first.engine.stop('SIGTERM');
  return path;
}

/** A venue whose instrument list answers only when the test says (a slow or failing REST call). */
function slowVenue() {
  const venue = new ScriptedVenue('v', [BTC]);
  let answer!: (list: Instrument[]) => void;
  venue.loadInstruments = () => new Promise<Instrument[]>((resolve) => (answer = resolve));
  return { venue, answer: (list: Instrument[]) => answer(list) };
}

const tick = () => new Promise((res) => setImmediate(res));

describe('the endpoints while start() waits for the venues, before the journal restore', () => {
  it('say RESTORING with NaN figures, not a journaled HALT as ACTIVE and flat; the restored state once the restore ran', async () => {
    const path = await haltedJournal();
    const slow = slowVenue();
    const second = build(path, slow.venue);
    const starting = second.engine.start();
    await tick();
    for (const name of ['cwts_risk_state', 'cwts_equity', 'cwts_drawdown_ratio', 'cwts_var']) expect(await gauge(second.metrics, name), name).toEqual([Number.NaN]);
    const during = engineStatus(second.engine);
    expect(during.risk).toMatchObject({ state: 'RESTORING', equity: null, drawdownRatio: null, peakEquity: null });
    expect((during.risk as { reason: string }).reason).toMatch(/journal restore has not run yet/);
    expect(during.pnl).toMatchObject({ realized: null, fees: null, equity: null, net: null });
    // GET /risk answers from the risk layer: the same
    expect(second.risk!.status()).toMatchObject({ state: 'RESTORING', equity: null });

    slow.answer([BTC]);
    await starting;
    expect(second.engine.restorePending).toBe(false);
    expect(second.engine.riskState.state).toBe('HALTED');
    expect(await gauge(second.metrics, 'cwts_risk_state')).toEqual([2]);
    expect(Number.isFinite((await gauge(second.metrics, 'cwts_equity'))[0])).toBe(true);
    const after = engineStatus(second.engine);
    expect(after.risk).toMatchObject({ state: 'HALTED', reason: 'manual: desk: venue incident' });
    expect(after.positions).toHaveLength(1);
    await second.engine.stop('test');
  });

  it('show an ACTIVE restore as ACTIVE (0) once it ran, a HALT set meanwhile as HALTED, and without a risk layer RESTORING too', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-startup-risk-')), 'j.db');
    const slow = slowVenue();
    const e = build(path, slow.venue);
    const starting = e.engine.start();
    await tick();
    expect(await gauge(e.metrics, 'cwts_risk_state')).toEqual([Number.NaN]);
    // an operator's HALT while the venues load is true whatever the journal holds
    e.risk!.halt('desk');
    expect(await gauge(e.metrics, 'cwts_risk_state')).toEqual([2]);
    expect(engineStatus(e.engine).risk).toMatchObject({ state: 'HALTED', reason: 'manual: desk' });
    slow.answer([BTC]);
    await starting;
    expect(await gauge(e.metrics, 'cwts_risk_state')).toEqual([2]);
    await e.engine.stop('test');

    // a new journal, no HALT: ACTIVE (0) only once the restore said so
    const fresh = join(mkdtempSync(join(tmpdir(), 'cwts-startup-risk-')), 'j.db');
    const slow2 = slowVenue();
    const f = build(fresh, slow2.venue, false);
    const starting2 = f.engine.start();
    await tick();
    expect(engineStatus(f.engine).risk).toMatchObject({ state: 'RESTORING' });
    expect(await gauge(f.metrics, 'cwts_risk_state')).toEqual([Number.NaN]);
    expect(await gauge(f.metrics, 'cwts_equity')).toEqual([Number.NaN]);
    slow2.answer([BTC]);
    await starting2;
    expect(engineStatus(f.engine).risk).toMatchObject({ state: 'ACTIVE' });
    expect(await gauge(f.metrics, 'cwts_risk_state')).toEqual([0]);
    expect(await gauge(f.metrics, 'cwts_equity')).toEqual([0]);
    await f.engine.stop('test');
  });

  it('an operator HALT during the wait is not weakened by a REDUCING the journal latches', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-startup-risk-')), 'j.db');
    const first = build(path, new ScriptedVenue('v', [BTC]));
    await first.engine.start();
    first.risk!.reduce('desk: thin market');
    expect(first.engine.riskState.state).toBe('REDUCING');
    await first.engine.stop('SIGTERM');

    const slow = slowVenue();
    const e = build(path, slow.venue);
    const starting = e.engine.start();
    await tick();
    e.risk!.halt('desk: venue incident');
    slow.answer([BTC]);
    await starting;
    // the restore keeps the operator's HALT (it outranks the journal's REDUCING; rebuild.ts)
    e.risk!.tick();
    expect(e.engine.riskState.state).toBe('HALTED');
    expect(e.risk!.status()).toMatchObject({ state: 'HALTED', manual: 'HALTED' });
    await e.engine.stop('test');
  });

  it('stay RESTORING when stop() comes before the restore (nothing is known of what is held)', async () => {
    const path = await haltedJournal();
    const slow = slowVenue();
    const e = build(path, slow.venue);
    const starting = e.engine.start();
    await tick();
    const stopping = e.engine.stop('SIGTERM');
    slow.answer([BTC]);
    await starting;
    await stopping;
    expect(e.engine.restored).toBe(false);
    expect(engineStatus(e.engine).risk).toMatchObject({ state: 'RESTORING' });
    expect(await gauge(e.metrics, 'cwts_risk_state')).toEqual([Number.NaN]);
  });
});

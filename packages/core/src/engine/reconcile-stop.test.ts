/**
 * A stop that lands while reconciliation waits on a venue read (Kraken's REST queries wait up to
 * 45 s each for the REST counter, so a restart's reconciliation of many orders takes minutes).
 * The stop closes the venue's client: the read then fails ("rate limiter closed", our limiter's
 * refusal) or answers as a stopped client does (no open orders, no balances). Reconciliation must
 * take that as the stop it is, not as the venue's view: no `venue_unreachable` mismatch, no HALT
 * latched (the next start came up HALTED and cancelled every open order), no journaled order
 * closed as gone, no balance baseline of zeros.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import type { RiskConfig } from '../config/types.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import type { OrderIntent } from '../domain/orders.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager } from '../risk/manager.js';
import { RateLimitExceededError } from '../adapter-kit/rate-limiter.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 100_000, max_drawdown: 0.5, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };
const BALANCES = { BTC: '0', USDT: '1000' };
const snapshot = (seq: number): BookSnapshotEvent => ({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] });
const intent = (): OrderIntent => ({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 10, tif: 'GTC', source: 'test' });

/** A venue whose reads can be made to wait until stop(), which ends them as a stopped client would. */
class StoppableVenue extends ScriptedVenue {
  private readonly atStop: (() => void)[] = [];
  waiting = 0;
  constructor() {
    super('v', [BTC], { canTrade: true }, false);
  }
  /** A read that waits until the stop, then answers `answer` (a stopped client's empty answer). */
  answerAtStop<T>(answer: T): Promise<T> {
    this.waiting++;
    return new Promise((resolve) => this.atStop.push(() => resolve(answer)));
  }
  /** A read that waits until the stop, then fails as our closed limiter refuses it. */
  refusedAtStop<T>(): Promise<T> {
    this.waiting++;
    return new Promise((_resolve, reject) => this.atStop.push(() => reject(new RateLimitExceededError('rate limiter closed', 'closed'))));
  }
  override async stop(): Promise<void> {
    await super.stop();
    for (const end of this.atStop.splice(0)) end();
  }
}

const engineOn = (path: string, venue: ScriptedVenue) => {
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 1_000_000, timers: false });
  const engine = new Engine({ clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, journal: store, onShutdown: 'keep', onReconcileMismatch: 'halt', venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
  attachJournal(engine, store, silentLogger());
  return engine;
};

/** A first run that leaves one order working (on_shutdown = keep) and records the balance baseline. */
async function firstRun(): Promise<{ path: string; working: ScriptedVenue['venueOpen'] }> {
  const path = join(mkdtempSync(join(tmpdir(), 'cwts-reconcile-stop-')), 'j.db');
  const v = new ScriptedVenue('v', [BTC], { canTrade: true }, false).setBalances(BALANCES);
  const a = engineOn(path, v);
  await a.start();
  v.sink!.onMarketEvent(snapshot(1));
  expect(a.submit(intent()).accepted).toBe(true);
  v.report(v.submitted[0]!, { kind: 'ack', venueOrderId: 'V1' });
  await a.stop('SIGTERM');
  return { path, working: [{ ...v.submitted[0]!, venueOrderId: 'V1', status: 'open' }] };
}

/** Starts on `venue`, stops once it waits on a read, and returns what reconciliation concluded. */
async function stopDuringRead(path: string, venue: StoppableVenue) {
  const b = engineOn(path, venue);
  const starting = b.start();
  for (let k = 0; k < 200 && venue.waiting === 0; k++) await new Promise((r) => setTimeout(r, 5));
  expect(venue.waiting).toBe(1);
  await b.stop('SIGTERM');
  await starting.catch(() => undefined);
  return { mismatches: (b.reconcileResult?.mismatches ?? []).map((m) => `${m.kind}: ${m.detail}`), state: b.riskState.state };
}

/** The next start, on a venue that answers as the first run left it: what it finds. */
async function nextStart(path: string, working: ScriptedVenue['venueOpen']) {
  const v = new ScriptedVenue('v', [BTC], { canTrade: true }, false).setBalances(BALANCES);
  v.venueOpen = working;
  const c = engineOn(path, v);
  await c.start();
  const found = { mismatches: (c.reconcileResult?.mismatches ?? []).map((m) => `${m.kind}: ${m.detail}`), state: c.riskState.state, open: c.orders.allOpen().map((o) => o.clientOrderId), cancelled: v.cancelled.length };
  await c.stop('test');
  return found;
}

describe('a stop during reconciliation is not a finding', () => {
  it('a query ended by the stop (limiter closed) is no venue_unreachable mismatch and latches no HALT, now or at the next start', async () => {
    const { path, working } = await firstRun();
    const v = new StoppableVenue();
    v.queryOrder = () => v.refusedAtStop();
    expect(await stopDuringRead(path, v)).toEqual({ mismatches: [], state: 'ACTIVE' });
    expect(await nextStart(path, working)).toEqual({ mismatches: [], state: 'ACTIVE', open: [working[0]!.clientOrderId], cancelled: 0 });
  });

  it('a venue without queryOrder whose open-order list the stop answers empty: the journaled order is not closed as gone', async () => {
    const { path, working } = await firstRun();
    const v = new StoppableVenue();
    (v as { queryOrder?: unknown }).queryOrder = undefined;
    v.openOrders = () => v.answerAtStop([]);
    expect(await stopDuringRead(path, v)).toEqual({ mismatches: [], state: 'ACTIVE' });
    expect(await nextStart(path, working)).toEqual({ mismatches: [], state: 'ACTIVE', open: [working[0]!.clientOrderId], cancelled: 0 });
  });

  it('balances the stop answers empty: no balance mismatch, and the baseline is not moved to zero', async () => {
    const { path, working } = await firstRun();
    const v = new StoppableVenue();
    v.venueOpen = working;
    v.balances = () => v.answerAtStop([]);
    expect(await stopDuringRead(path, v)).toEqual({ mismatches: [], state: 'ACTIVE' });
    expect(await nextStart(path, working)).toEqual({ mismatches: [], state: 'ACTIVE', open: [working[0]!.clientOrderId], cancelled: 0 });
  });

  it('a mismatch found before the stop is still a finding: under on_mismatch = "halt" it latches', async () => {
    const { path, working } = await firstRun();
    const v = new StoppableVenue();
    // the journal's order has filled 3 lots at the venue, which lists no trade for it: a status mismatch
    v.orderStatus.set(working[0]!.clientOrderId, { clientOrderId: working[0]!.clientOrderId, status: 'partially_filled', filledQty: 3, fills: [] });
    v.tradesSince = () => v.refusedAtStop();
    const got = await stopDuringRead(path, v);
    expect(got.mismatches.map((m) => m.split(':')[0])).toEqual(['status']);
    expect(got.state).toBe('HALTED');
  });
});

/**
 * The engine's restart reconciliation over the polled client, against orders working at the venue
 * that the journal never saw. openOrders lists every working order of the account: one of an id
 * the engine issues is adopted (and asked about: its trades so far are booked once each, by trade
 * id), one placed outside this process is left alone. The client follows both, the second from
 * the venue's filled quantity: its trades from before the journal began are not ours, and once
 * reconciliation has booked a later trade of it as an adopted trade under the same client id, a
 * poll reporting those old trades had the engine book them too (the position jumped by the
 * account's history). The driver is in memory; time is a ManualClock and vitest's fake timers
 * drive the polls.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import type { VenueOrderView } from './polled-execution.js';
import { I, MemoryVenue, fill as venueFill, polledClient, view as venueView } from './polled-execution.fixture.js';

const NOW = 100_000_000;
const POLL_MS = 1000;

/** The one order (VF, 10 lots) working at the venue, and the account's trades (all of that order). */
const view = (clientOrderId: string, filledQty: string, state: VenueOrderView['state'] = 'open') => venueView({ venueOrderId: 'VF', clientOrderId, filledQty, state });
const fill = (tradeId: string, qty: string, ts: number) => venueFill(tradeId, qty, { venueOrderId: 'VF', fee: '0', ts, liquidity: undefined });

describe('reconciliation over the polled client: orders working at the venue that the journal never saw', () => {
  let engine: Engine | undefined;
  let clock: ManualClock;

  beforeEach(() => {
    vi.useFakeTimers();
    clock = new ManualClock(NOW);
  });
  afterEach(async () => {
    await engine?.stop('test');
    engine = undefined;
    vi.useRealTimers();
  });

  const start = async (driver: MemoryVenue) => {
    const execution = polledClient(driver, { clock, pollIntervalMs: POLL_MS });
    const md = new ScriptedVenue('v', [I], { canTrade: true }, false);
    engine = new Engine({ clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, onShutdown: 'keep', venues: [{ name: 'v', symbols: ['BTC/USD'], marketData: md, execution }] });
    await engine.start();
    return engine;
  };
  /** The mismatches about orders and trades (the spot position, read from balances, is not this test's concern). */
  const found = (e: Engine) =>
    e.reconcileResult!.mismatches.filter((m) => m.kind !== 'position').map((m) => `${m.kind}: ${m.kind === 'unknown_trade' ? /trade (\S+)/.exec(m.detail)?.[1] : /(adopted|left alone)$/.exec(m.detail)?.[1]}`);
  const poll = async (n = 3) => {
    clock.advance(n * POLL_MS);
    await vi.advanceTimersByTimeAsync(n * POLL_MS);
  };

  it("one placed outside this process: its trade from before the journal began is never booked, after reconciliation, after polls, after it trades again", async () => {
    // placed by hand: 10 lots, 4 filled (T-OLD a day before we started, T-NEW while we were down)
    const driver = new MemoryVenue({ view: view('manual-1', '0.004'), fills: [fill('T-OLD', '0.002', NOW - 86_400_000), fill('T-NEW', '0.002', NOW - 1000)] });
    const e = await start(driver);
    // reconciliation leaves the order alone and books its trade since the journal began (T-NEW) as an adopted trade
    expect(found(e)).toEqual(['unknown_order: left alone', 'unknown_trade: T-NEW']);
    expect(e.portfolio.qty('v', 'BTC/USD')).toBe(2);
    await poll();
    expect(e.portfolio.qty('v', 'BTC/USD')).toBe(2);
    // it trades again: the poll reads all its trades, and reports only the new one
    driver.view = view('manual-1', '0.007');
    driver.fills.push(fill('T3', '0.003', NOW + 10_000));
    const fetches = driver.calls.fetchFills;
    await poll();
    expect(driver.calls.fetchFills).toBeGreaterThan(fetches);
    // T-NEW and T3 (the engine books the foreign order's live trades onto the order it adopted from T-NEW); T-OLD would make 7
    expect(e.portfolio.qty('v', 'BTC/USD')).toBe(5);
  });

  it('one of our ids: adopted and asked about, its trade from before the trade window is booked once, at once, and the polls book it no second time', async () => {
    // no journaled fill: tradesSince reads from 10 minutes before now; T1 is an hour old
    const driver = new MemoryVenue({ view: view('cw-1', '0.005'), fills: [fill('T1', '0.005', NOW - 3_600_000)] });
    const e = await start(driver);
    expect(found(e)).toEqual(['unknown_order: adopted']);
    expect(e.orders.get('cw-1')).toMatchObject({ status: 'partially_filled', filledQty: 5 });
    expect(e.portfolio.qty('v', 'BTC/USD')).toBe(5);
    await poll();
    expect(e.portfolio.qty('v', 'BTC/USD')).toBe(5);
    driver.view = view('cw-1', '0.010', 'filled');
    driver.fills.push(fill('T2', '0.005', NOW + 10_000));
    await poll();
    expect(e.orders.get('cw-1')).toMatchObject({ status: 'filled', filledQty: 10 });
    expect(e.portfolio.qty('v', 'BTC/USD')).toBe(10);
  });
});

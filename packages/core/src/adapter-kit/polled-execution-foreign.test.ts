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
import { defineInstrument } from '../domain/instrument.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { VenueErrorMap } from './errors.js';
import { PolledExecutionClient, type PolledOrderDriver, type VenueFill, type VenueOrderView } from './polled-execution.js';

const I = defineInstrument({ exchange: 'v', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', tickSize: '0.1', lotSize: '0.001' });
const errors = new VenueErrorMap('v', []);
const NOW = 100_000_000;
const POLL_MS = 1000;

/** One working order of 10 lots at the venue, and the account's trades (all of that order). */
class OneOrderDriver implements PolledOrderDriver {
  fetchFillsCalls = 0;
  constructor(
    public view: VenueOrderView,
    public fills: VenueFill[],
  ) {}
  async connect(): Promise<void> {}
  close(): void {}
  async place(): Promise<string> {
    return 'X';
  }
  async cancel(): Promise<void> {}
  async fetchOrder(): Promise<VenueOrderView | undefined> {
    return { ...this.view };
  }
  async fetchFills(): Promise<VenueFill[]> {
    this.fetchFillsCalls++;
    return this.fills.map((f) => ({ ...f }));
  }
  async fetchOpenOrders(): Promise<VenueOrderView[]> {
    return this.view.state === 'open' ? [{ ...this.view }] : [];
  }
  async fetchFillsSince(_s: readonly string[], since: number): Promise<VenueFill[]> {
    return this.fills.filter((f) => f.ts >= since).map((f) => ({ ...f }));
  }
  async fetchBalances() {
    return [];
  }
  mapError(err: unknown) {
    return errors.map(undefined, String((err as Error)?.message ?? err));
  }
}

const view = (clientOrderId: string, filledQty: string, state: VenueOrderView['state'] = 'open'): VenueOrderView => ({
  venueOrderId: 'VF', clientOrderId, symbol: 'BTC/USD', side: 'buy', type: 'limit', price: '100.0', qty: '0.010', filledQty, state,
});
const fill = (tradeId: string, qty: string, ts: number): VenueFill => ({ tradeId, venueOrderId: 'VF', symbol: 'BTC/USD', price: '100.0', qty, fee: '0', feeAsset: 'USD', ts });

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

  const start = async (driver: OneOrderDriver) => {
    const execution = new PolledExecutionClient({
      exchange: 'v', clock, hasCredentials: true, driver, orderLimit: { limit: 100, intervalMs: 1000 }, pollIntervalMs: POLL_MS,
      unknownOrderGraceMs: 10_000, instrument: (s) => (s === 'BTC/USD' ? I : undefined), symbols: () => ['BTC/USD'],
    });
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
    const driver = new OneOrderDriver(view('manual-1', '0.004'), [fill('T-OLD', '0.002', NOW - 86_400_000), fill('T-NEW', '0.002', NOW - 1000)]);
    const e = await start(driver);
    // reconciliation leaves the order alone and books its trade since the journal began (T-NEW) as an adopted trade
    expect(found(e)).toEqual(['unknown_order: left alone', 'unknown_trade: T-NEW']);
    expect(e.portfolio.qty('v', 'BTC/USD')).toBe(2);
    await poll();
    expect(e.portfolio.qty('v', 'BTC/USD')).toBe(2);
    // it trades again: the poll reads all its trades, and reports only the new one
    driver.view = view('manual-1', '0.007');
    driver.fills.push(fill('T3', '0.003', NOW + 10_000));
    const fetches = driver.fetchFillsCalls;
    await poll();
    expect(driver.fetchFillsCalls).toBeGreaterThan(fetches);
    // T-NEW and T3 (the engine books the foreign order's live trades onto the order it adopted from T-NEW); T-OLD would make 7
    expect(e.portfolio.qty('v', 'BTC/USD')).toBe(5);
  });

  it('one of our ids: adopted and asked about, its trade from before the trade window is booked once, at once, and the polls book it no second time', async () => {
    // no journaled fill: tradesSince reads from 10 minutes before now; T1 is an hour old
    const driver = new OneOrderDriver(view('cw-1', '0.005'), [fill('T1', '0.005', NOW - 3_600_000)]);
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

/**
 * Kraken's REST counter at its defaults (15 per 45 s, a sliding window): a query past the budget
 * waits for it (up to a window), never refused locally. A refusal would fail a restart's
 * reconciliation midway: the engine asks queryOrder for each journaled open order in a row and
 * drops the rest of the venue's reconciliation at the first error. Our own limiter's refusal
 * (only at a stop now) is not the venue's rate limit: it must not pause the order limiter.
 * Scripted ccxt; a ManualClock and vitest's fake timers move together, one second a step.
 */
import { ManualClock, defineInstrument, priceToTicks, qtyToLots, type ExecutionReport, type Instrument, type Order } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { PolledExecutionClient, RateLimitExceededError } from '@cwts/core/adapter-kit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KrakenOrderDriver, type KrakenOrderInfo, type KrakenTradeInfo } from '../src/execution.js';
import { DEFAULT_KRAKEN_OPTIONS, type KrakenOptions } from '../src/options.js';

const venue = await vi.hoisted(async () => (await import('@cwts/core/testing')).scriptedCcxt<Record<string, unknown> | undefined>());
vi.mock('ccxt', () => venue.module('kraken', { urls: { api: { public: 'https://api.kraken.com', private: 'https://api.kraken.com' } }, fields: { nonce: () => 0 } }));

const BTC: Instrument = defineInstrument({ exchange: 'kraken', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', tickSize: '0.1', lotSize: '0.00000001', minNotional: '0.5' });
const PAIRS = { XXBTZUSD: { altname: 'XBTUSD', wsname: 'XBT/USD', base: 'XXBT', quote: 'ZUSD' } };
const ok = <T>(result: T) => ({ error: [], result });
const info = (cid: string, extra: Partial<KrakenOrderInfo> = {}): KrakenOrderInfo => ({
  cl_ord_id: cid, status: 'open', opentm: 1764928800.123, descr: { pair: 'XBTUSD', type: 'buy', ordertype: 'limit', price: '64000.0' }, vol: '0.01000000', vol_exec: '0.00000000', ...extra,
});
const trade = (extra: Partial<KrakenTradeInfo> = {}): KrakenTradeInfo => ({ ordertxid: 'O1', pair: 'XXBTZUSD', time: 1764928801.5, type: 'buy', price: '64000.0', vol: '0.004', fee: '1.0240', maker: true, ...extra });
const order = (k: number): Order =>
  ({
    exchange: 'kraken', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: priceToTicks(BTC, '64000.0'), qty: qtyToLots(BTC, '0.01'), tif: 'GTC', source: 't',
    clientOrderId: `c${k}`, venueOrderId: `O${k}`, status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0,
  }) as Order;

function driverOf(clock: ManualClock, options: Partial<KrakenOptions> = {}): KrakenOrderDriver {
  return new KrakenOrderDriver({
    exchange: 'kraken', restRoot: 'http://127.0.0.1:1', options: { ...DEFAULT_KRAKEN_OPTIONS, ...options }, clock,
    apiKey: new Secret('key'), apiSecret: new Secret('c2VjcmV0'), instrument: (s) => (s === 'BTC/USD' ? BTC : undefined), symbols: () => ['BTC/USD'],
  });
}

/** Moves the clock and the timers one second at a time until `p` settles (at most `maxS` seconds). */
async function settle<T>(clock: ManualClock, p: Promise<T>, maxS = 120): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let out: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  p.then(
    (value) => (out = { ok: true, value }),
    (error: unknown) => (out = { ok: false, error }),
  );
  await vi.advanceTimersByTimeAsync(0);
  for (let s = 0; s < maxS && out === undefined; s++) {
    clock.advance(1000);
    await vi.advanceTimersByTimeAsync(1000);
  }
  if (out === undefined) throw new Error(`still waiting after ${maxS} s`);
  return out;
}

describe('Kraken REST counter at its defaults (15 per 45 s)', () => {
  beforeEach(() => {
    venue.reset();
    vi.useFakeTimers();
    venue.handlers.publicGetAssetPairs = () => ok(PAIRS);
    venue.handlers.privatePostOpenOrders = () => ok({ open: {} });
  });
  afterEach(() => vi.useRealTimers());

  it('reconciliation of 15 journaled open orders in a row: each queryOrder waits for the counter, none is refused', async () => {
    const clock = new ManualClock(Date.parse('2026-12-05T10:00:00Z'));
    const driver = driverOf(clock);
    venue.handlers.privatePostQueryOrders = (p) => ok({ [String(p!.txid)]: info(`c${String(p!.txid).slice(1)}`) });
    const client = new PolledExecutionClient({
      exchange: 'kraken', clock, hasCredentials: true, driver, orderLimit: { limit: 30, intervalMs: 30_000 }, pollIntervalMs: 600_000,
      unknownOrderGraceMs: 15_000, instrument: (s) => (s === 'BTC/USD' ? BTC : undefined), symbols: () => ['BTC/USD'],
    });
    const reports: ExecutionReport[] = [];
    await client.start((r) => reports.push(r)); // connect's OpenOrders: 1 of the 15
    const started = clock.now();
    const outcomes: string[] = [];
    // as the engine's reconcile asks: one order after the other
    for (let k = 1; k <= 15; k++) {
      const r = await settle(clock, client.queryOrder(order(k)));
      outcomes.push(r.ok ? `ok ${r.value?.status}` : `refused: ${(r.error as Error).message}`);
    }
    await client.stop();
    expect(outcomes).toEqual(Array.from({ length: 15 }, () => 'ok open'));
    expect(venue.calls.filter((c) => c.fn === 'privatePostQueryOrders')).toHaveLength(15);
    // the last one waited for the first call to leave the 45 s window: more than the 30 s a bounded wait allowed
    expect(clock.now() - started).toBeGreaterThan(30_000);
    expect(reports).toEqual([]);
  });

  it('a query waiting for the counter is released by stop: nothing sent, and mapped as a shutdown, not a venue rate limit', async () => {
    const clock = new ManualClock(Date.parse('2026-12-05T10:00:00Z'));
    const driver = driverOf(clock);
    await driver.connect(); // 1 of 15
    venue.handlers.privatePostQueryOrders = () => ok({ O1: info('c1') });
    for (let k = 0; k < 14; k++) await driver.fetchOrder({ symbol: 'BTC/USD', clientOrderId: 'c1', venueOrderId: 'O1' });
    venue.calls.length = 0;
    const waiting = driver.fetchOrder({ symbol: 'BTC/USD', clientOrderId: 'c1', venueOrderId: 'O1' }).catch((e: unknown) => e);
    clock.advance(40_000);
    await vi.advanceTimersByTimeAsync(40_000); // still inside the window: it waits on, not refused
    expect(driver.pendingTimers()).toBe(1);
    driver.close();
    const err = await waiting;
    expect(err).toBeInstanceOf(RateLimitExceededError);
    expect(driver.mapError(err)).toMatchObject({ reason: 'SHUTTING_DOWN' });
    expect(driver.pendingTimers()).toBe(0);
    expect(venue.calls).toEqual([]);
  });

  it("our limiter's refusal is never RATE_LIMITED (which pauses the order limiter); Kraken's own rate-limit answer still is", () => {
    const driver = driverOf(new ManualClock(0));
    const local = driver.mapError(new RateLimitExceededError('rate limit: would wait 45001 ms (limit 30000 ms)', 'wait'));
    expect(local.reason).not.toBe('RATE_LIMITED');
    expect(local).toMatchObject({ reason: 'VENUE_ERROR', retryable: true });
    expect(local.text).toMatch(/nothing sent/);
    expect(driver.mapError(new Error('kraken {"error":["EAPI:Rate limit exceeded"]}')).reason).toBe('RATE_LIMITED');
  });

  it('a query that weighs more than the whole budget (QueryTrades: 2, budget: 1) spends the budget, never refused as "would wait forever"', async () => {
    const clock = new ManualClock(Date.parse('2026-12-05T10:00:00Z'));
    const driver = driverOf(clock, { private_requests_per_interval: 1, private_interval_ms: 10_000 });
    await driver.connect();
    venue.handlers.privatePostQueryTrades = () => ok({ T1: trade() });
    const r = await settle(clock, driver.fetchFills({ venueOrderId: 'O1', symbol: 'BTC/USD', side: 'buy', type: 'limit', qty: '0.01', filledQty: '0.004', state: 'open', tradeIds: ['T1'] }));
    driver.close();
    expect(r.ok && r.value.map((f) => f.tradeId)).toEqual(['T1']);
  });
});

/**
 * KrakenOrderDriver inside the adapter kit's PolledExecutionClient, as plugin.ts builds it, with a
 * scripted ccxt (no network): how a submit whose answer is not an answer ends. The same paths
 * through real ccxt signing are covered by execution.integration.test.ts.
 */
import { ManualClock, defineInstrument, priceToTicks, qtyToLots, type ExecutionReport, type Instrument, type Order } from '@cwts/core';
import { PolledExecutionClient } from '@cwts/core/adapter-kit';
import { Secret } from '@cwts/core/config';
import { waitUntil } from '@cwts/core/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KrakenOrderDriver, type KrakenOrderInfo, type KrakenTradeInfo } from '../src/execution.js';
import { DEFAULT_KRAKEN_OPTIONS, type KrakenOptions } from '../src/options.js';

/** The scripted venue (@cwts/core/testing scriptedCcxt): each test sets the endpoints it needs; calls are recorded. */
const venue = await vi.hoisted(async () => (await import('@cwts/core/testing')).scriptedCcxt<Record<string, unknown> | undefined>());
vi.mock('ccxt', () => venue.module('kraken', { urls: { api: { public: 'https://api.kraken.com', private: 'https://api.kraken.com' } }, fields: { nonce: () => 0 } }));

const BTC: Instrument = defineInstrument({ exchange: 'kraken', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', tickSize: '0.1', lotSize: '0.00000001', minNotional: '0.5' });
const PAIRS = { XXBTZUSD: { altname: 'XBTUSD', wsname: 'XBT/USD', base: 'XXBT', quote: 'ZUSD' } };
const ok = <T>(result: T) => ({ error: [], result });
const T0 = Date.parse('2026-12-05T10:00:00Z');

function order(): Order {
  return {
    exchange: 'kraken', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: priceToTicks(BTC, '64000.0'), qty: qtyToLots(BTC, '0.01'), tif: 'GTC', source: 't',
    clientOrderId: 'c1', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0,
  } as Order;
}

function info(extra: Partial<KrakenOrderInfo> = {}): KrakenOrderInfo {
  return { cl_ord_id: 'c1', status: 'open', opentm: 1764928800.123, descr: { pair: 'XBTUSD', type: 'buy', ordertype: 'limit', price: '64000.0' }, vol: '0.01000000', vol_exec: '0.00000000', ...extra };
}

/** The driver in the kit's client, with the unknown-outcome grace plugin.ts gives it (the AddOrder deadline + 5 s). */
function client(clock: ManualClock, pollIntervalMs: number) {
  const options: KrakenOptions = { ...DEFAULT_KRAKEN_OPTIONS, private_requests_per_interval: 10_000, order_deadline_ms: 10_000 };
  const driver = new KrakenOrderDriver({
    exchange: 'kraken', restRoot: 'http://127.0.0.1:1', options, clock, apiKey: new Secret('key'), apiSecret: new Secret('c2VjcmV0'),
    instrument: (s) => (s === 'BTC/USD' ? BTC : undefined), symbols: () => ['BTC/USD'],
  });
  return new PolledExecutionClient({
    exchange: 'kraken', clock, hasCredentials: true, driver, orderLimit: { limit: 100, intervalMs: 1000 }, pollIntervalMs,
    unknownOrderGraceMs: options.order_deadline_ms + 5000, instrument: (s) => (s === 'BTC/USD' ? BTC : undefined), symbols: () => ['BTC/USD'],
  });
}

describe('Kraken submits whose outcome is unknown (PolledExecutionClient, scripted venue)', () => {
  beforeEach(() => venue.reset());

  it('an AddOrder answered with EGeneral:Internal error (ccxt: ExchangeNotAvailable) is looked up by cl_ord_id, found working and followed, not reported rejected', async () => {
    const clock = new ManualClock(T0);
    const c = client(clock, 3_600_000);
    let booked = false;
    venue.handlers.publicGetAssetPairs = () => ok(PAIRS);
    venue.handlers.privatePostOpenOrders = (p) => ok({ open: booked && p?.cl_ord_id === 'c1' ? { O1: info() } : {} });
    venue.handlers.privatePostClosedOrders = () => ok({ closed: {} });
    venue.handlers.privatePostQueryOrders = () => ok({ O1: info() });
    venue.handlers.privatePostAddOrder = () => {
      // the matching engine took the order; the answer is Kraken's internal error, as ccxt throws it
      booked = true;
      throw Object.assign(new Error('kraken {"error":["EGeneral:Internal error"]}'), { name: 'ExchangeNotAvailable' });
    };
    const reports: ExecutionReport[] = [];
    await c.start((r) => reports.push(r));
    try {
      c.submit(order());
      await waitUntil(() => reports.length > 0, 'a report');
      expect(booked).toBe(true);
      expect(reports[0]).toMatchObject({ kind: 'ack', clientOrderId: 'c1', venueOrderId: 'O1' });
      expect(reports.some((r) => r.kind === 'rejected')).toBe(false);
    } finally {
      await c.stop();
    }
  });

  it('a lost AddOrder answer after a slow AssetPairs reload is not declared "never reached the venue" before its AddOrder deadline has passed', async () => {
    const clock = new ManualClock(T0);
    const c = client(clock, 50);
    // AssetPairs could not be read at start (venue unreachable)
    venue.handlers.publicGetAssetPairs = () => {
      throw Object.assign(new Error('kraken GET AssetPairs fetch failed'), { name: 'NetworkError' });
    };
    venue.handlers.privatePostOpenOrders = () => ok({ open: {} });
    venue.handlers.privatePostClosedOrders = () => ok({ closed: {} });
    const reports: ExecutionReport[] = [];
    await c.start((r) => reports.push(r));
    try {
      // the first order reloads AssetPairs; the venue is slow: the answer takes 8 s
      venue.handlers.publicGetAssetPairs = () => {
        clock.advance(8000);
        return ok(PAIRS);
      };
      let deadline = 0;
      venue.handlers.privatePostAddOrder = (p) => {
        deadline = Date.parse(String(p!.deadline));
        throw Object.assign(new Error('kraken POST AddOrder request timed out (10000 ms)'), { name: 'RequestTimeout' });
      };
      c.submit(order());
      await waitUntil(() => deadline !== 0, 'the AddOrder');
      expect(deadline).toBe(T0 + 8000 + 10_000);
      // 16 s after the submit, 2 s before the deadline: Kraken's matching engine may still take the request
      clock.set(T0 + 16_000);
      const asked = () => venue.calls.filter((k) => k.fn === 'privatePostClosedOrders').length;
      const before = asked();
      // two more lookups by client id: at least one whole round (lookup, then the grace check) at the new time
      await waitUntil(() => asked() >= before + 2, 'two lookups by client id');
      expect(reports.filter((r) => r.kind === 'rejected')).toEqual([]);
    } finally {
      await c.stop();
    }
  });
});

describe('Kraken reconciliation after a restart when AssetPairs could not be read at start', () => {
  const TRADE = { ordertxid: 'O1', pair: 'XXBTZUSD', time: T0 / 1000 + 1, type: 'buy', price: '64000.0', vol: '0.00400000', fee: '0.64', maker: true };
  /** A journaled order working at Kraken (0.004 of 0.01 filled, trade T1). */
  const journaled = (): Order => ({ ...order(), venueOrderId: 'O1', status: 'open' }) as Order;
  const working = () => info({ vol_exec: '0.00400000', trades: ['T1'] });

  beforeEach(() => {
    venue.reset();
    venue.handlers.privatePostOpenOrders = () => ok({ open: { O1: working() } });
    venue.handlers.privatePostClosedOrders = () => ok({ closed: {} });
    venue.handlers.privatePostQueryOrders = () => ok({ O1: working() });
    venue.handlers.privatePostQueryTrades = () => ok({ T1: TRADE });
    venue.handlers.privatePostTradesHistory = () => ok({ trades: { T1: TRADE }, count: 1 });
  });

  /** AssetPairs fails at start (502) and answers from then on, or keeps failing. */
  function pairsFailing(times: number) {
    let calls = 0;
    venue.handlers.publicGetAssetPairs = () => {
      if (calls++ < times) throw Object.assign(new Error('kraken GET https://api.kraken.com/0/public/AssetPairs 502 Bad Gateway'), { name: 'ExchangeNotAvailable' });
      return ok(PAIRS);
    };
  }

  it('reads ask AssetPairs again: the working order is found with its fill, and tradesSince and openOrders name it (the pair is not "another account\'s")', async () => {
    pairsFailing(1);
    const c = client(new ManualClock(T0), 3_600_000);
    await c.start(() => {});
    try {
      // undefined ("unknown to the venue") would make the engine close a working order and lose its fill
      const st = await c.queryOrder(journaled());
      expect(st).toMatchObject({ venueOrderId: 'O1', filledQty: qtyToLots(BTC, '0.004') });
      expect(st!.fills.map((f) => f.tradeId)).toEqual(['T1']);
      expect((await c.tradesSince(['BTC/USD'], T0)).map((t) => t.tradeId)).toEqual(['T1']);
      expect((await c.openOrders()).map((o) => o.venueOrderId)).toEqual(['O1']);
      // asked once more, then known
      expect(venue.calls.filter((k) => k.fn === 'publicGetAssetPairs')).toHaveLength(2);
    } finally {
      await c.stop();
    }
  });

  it('while AssetPairs still cannot be read, every read fails (a venue that could not be reconciled), never "unknown order" or "no trades"', async () => {
    pairsFailing(Number.POSITIVE_INFINITY);
    const c = client(new ManualClock(T0), 3_600_000);
    await c.start(() => {});
    try {
      await expect(c.queryOrder(journaled())).rejects.toThrow(/AssetPairs failed/);
      await expect(c.tradesSince(['BTC/USD'], T0)).rejects.toThrow(/AssetPairs failed/);
      await expect(c.openOrders()).rejects.toThrow(/AssetPairs failed/);
    } finally {
      await c.stop();
    }
  });
});

describe('Kraken: an unknown AddOrder outcome looked up under the default REST counter (15 per 45 s)', () => {
  beforeEach(() => {
    venue.reset();
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('an order the matching engine took (before its deadline) between the OpenOrders and ClosedOrders lookups is followed, not reported "never reached the venue"', async () => {
    const clock = new ManualClock(T0);
    const options = { ...DEFAULT_KRAKEN_OPTIONS }; // 15 per 45 s, deadline 10 s
    const driver = new KrakenOrderDriver({
      exchange: 'kraken', restRoot: 'http://127.0.0.1:1', options, clock, apiKey: new Secret('key'), apiSecret: new Secret('c2VjcmV0'),
      instrument: (s) => (s === 'BTC/USD' ? BTC : undefined), symbols: () => ['BTC/USD'],
    });
    const c = new PolledExecutionClient({
      exchange: 'kraken', clock, hasCredentials: true, driver, orderLimit: { limit: 30, intervalMs: 30_000 }, pollIntervalMs: options.poll_interval_ms,
      unknownOrderGraceMs: options.order_deadline_ms + 5000, instrument: (s) => (s === 'BTC/USD' ? BTC : undefined), symbols: () => ['BTC/USD'],
    });
    let onBook = false;
    let lookupsByClientId = 0;
    venue.handlers.publicGetAssetPairs = () => ok(PAIRS);
    venue.handlers.privatePostQueryOrders = () => ok({ O1: info({ opentm: T0 / 1000 + 1.5 }) });
    venue.handlers.privatePostOpenOrders = (p) => {
      const answer = ok({ open: onBook && (p?.cl_ord_id === undefined || p.cl_ord_id === 'c1') ? { O1: info({ opentm: T0 / 1000 + 1.5 }) } : {} });
      // the matching engine takes the request just after the 2nd lookup by client id asked OpenOrders
      if (p?.cl_ord_id === 'c1' && ++lookupsByClientId === 2) onBook = true;
      return answer;
    };
    // working, never closed: ClosedOrders never has it
    venue.handlers.privatePostClosedOrders = () => ok({ closed: {} });
    venue.handlers.privatePostAddOrder = () => {
      throw Object.assign(new Error('kraken {"error":["EGeneral:Internal error"]}'), { name: 'ExchangeNotAvailable' });
    };
    venue.handlers.privatePostBalance = () => ok({ ZUSD: '1000' });
    const reports: ExecutionReport[] = [];
    await c.start((r) => reports.push(r)); // connect's OpenOrders: 1 of 15
    // other queries (polls of other orders, a balance read) used 11 more: the 2nd lookup's ClosedOrders waits ~45 s
    for (let k = 0; k < 11; k++) await driver.fetchBalances();

    c.submit(order());
    await vi.advanceTimersByTimeAsync(0);
    for (let s = 0; s < 120 && reports.length === 0; s++) {
      clock.advance(1000);
      await vi.advanceTimersByTimeAsync(1000);
    }
    await c.stop();
    expect(onBook).toBe(true);
    // that lookup answered "unknown" past the grace, but it began inside it: the next one finds the order working
    expect(reports.map((r) => `${r.kind}${r.text ? `: ${r.text}` : ''}`)).toEqual(['ack']);
  });
});

describe('Kraken queryOrder by client id (a restart whose journal has no txid for the order)', () => {
  beforeEach(() => venue.reset());

  it("an order found open is read again by its txid: the answer's filled quantity and its fills come from that one read and add up, also when it filled in between", async () => {
    const clock = new ManualClock(T0);
    const c = client(clock, 3_600_000);
    const working = (extra: Partial<KrakenOrderInfo>) => info({ vol: '0.03000000', opentm: T0 / 1000, ...extra });
    const trade = (): KrakenTradeInfo => ({ ordertxid: 'O1', pair: 'XXBTZUSD', time: T0 / 1000 + 1, type: 'buy', price: '64000.0', vol: '0.01000000', fee: '0.1', maker: true });
    venue.handlers.publicGetAssetPairs = () => ok(PAIRS);
    let started = false;
    // when OpenOrders is asked: 0.01 filled (T1)
    venue.handlers.privatePostOpenOrders = (p) => ok({ open: started && p?.cl_ord_id === 'c1' ? { O1: working({ vol_exec: '0.01000000' }) } : {} });
    // a moment later (the REST counter can hold a read up to 45 s), by txid: a second fill (T2)
    venue.handlers.privatePostQueryOrders = () => ok({ O1: working({ vol_exec: '0.02000000', trades: ['T1', 'T2'] }) });
    venue.handlers.privatePostQueryTrades = (p) => ok(Object.fromEntries(String(p!.txid).split(',').map((id) => [id, trade()])));
    await c.start(() => {});
    started = true;
    try {
      const st = await c.queryOrder({ ...order(), qty: qtyToLots(BTC, '0.03'), status: 'open' });
      // paired with OpenOrders' 0.01, the two fills were a `status` mismatch at reconciliation (HALT under on_mismatch = "halt")
      expect({ filledQty: st!.filledQty, fills: st!.fills.map((f) => [f.tradeId, f.lastQty]) }).toEqual({
        filledQty: qtyToLots(BTC, '0.02'),
        fills: [['T1', qtyToLots(BTC, '0.01')], ['T2', qtyToLots(BTC, '0.01')]],
      });
      expect(venue.calls.filter((k) => k.fn === 'privatePostQueryOrders').map((k) => k.params)).toEqual([{ txid: 'O1', trades: true, consolidate_taker: false }]);
    } finally {
      await c.stop();
    }
  });
});

describe('Kraken spot positions from the Balance (PolledExecutionClient, scripted venue)', () => {
  beforeEach(() => venue.reset());

  it.each([
    ['ZETA', 'ZETAUSD', '12.50000000', 1_250_000_000],
    ['XAUT', 'XAUTUSD', '0.25000000', 25_000_000],
  ])('a position on %s/USD is read from its own balance: a newer asset beginning with X or Z is no legacy prefixed code', async (asset, key, balance, lots) => {
    const clock = new ManualClock(T0);
    const symbol = `${asset}/USD`;
    const i = defineInstrument({ exchange: 'kraken', symbol, base: asset, quote: 'USD', tickSize: '0.0001', lotSize: '0.00000001', minNotional: '0.5' });
    const inst = (s: string) => (s === symbol ? i : undefined);
    const driver = new KrakenOrderDriver({
      exchange: 'kraken', restRoot: 'http://127.0.0.1:1', options: { ...DEFAULT_KRAKEN_OPTIONS, private_requests_per_interval: 10_000 }, clock,
      apiKey: new Secret('key'), apiSecret: new Secret('c2VjcmV0'), instrument: inst, symbols: () => [symbol],
    });
    const c = new PolledExecutionClient({
      exchange: 'kraken', clock, hasCredentials: true, driver, orderLimit: { limit: 100, intervalMs: 1000 }, pollIntervalMs: 3_600_000,
      unknownOrderGraceMs: 15_000, instrument: inst, symbols: () => [symbol],
    });
    // a pair listed without wsname: its v2 symbol comes from the REST asset names
    venue.handlers.publicGetAssetPairs = () => ok({ [key]: { altname: key, base: asset, quote: 'ZUSD' } });
    venue.handlers.privatePostOpenOrders = () => ok({ open: {} });
    venue.handlers.privatePostBalance = () => ok({ ZUSD: '100.0000', [asset]: balance, [asset.slice(1)]: '99.0' });
    await c.start(() => {});
    try {
      expect(await c.positions([symbol])).toEqual([{ symbol, qty: lots }]);
    } finally {
      await c.stop();
    }
  });
});

describe('Kraken openOrders with one order off the grid (PolledExecutionClient, scripted venue)', () => {
  beforeEach(() => venue.reset());

  it('lists the other working orders; the one off the tick grid (placed before Kraken changed it) at qty 0, not followed, for reconciliation to report', async () => {
    const clock = new ManualClock(T0);
    const c = client(clock, 3_600_000);
    let listing = false;
    venue.handlers.publicGetAssetPairs = () => ok(PAIRS);
    venue.handlers.privatePostOpenOrders = () =>
      ok({ open: listing ? { O1: info(), O2: info({ cl_ord_id: 'c2', descr: { pair: 'XBTUSD', type: 'sell', ordertype: 'limit', price: '64000.05' } }) } : {} });
    await c.start(() => {});
    try {
      listing = true;
      const listed = await c.openOrders();
      expect(listed.map((o) => [o.clientOrderId, o.qty, o.price])).toEqual([
        ['c1', 1_000_000, 640_000],
        ['c2', 0, undefined],
      ]);
      expect(c.workingOrders).toBe(1);
    } finally {
      await c.stop();
    }
  });
});

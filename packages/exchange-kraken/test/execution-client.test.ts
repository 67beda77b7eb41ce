/**
 * KrakenOrderDriver inside the adapter kit's PolledExecutionClient, as plugin.ts builds it, with a
 * scripted ccxt (no network): how a submit whose answer is not an answer ends. The same paths
 * through real ccxt signing are covered by execution.integration.test.ts.
 */
import { ManualClock, defineInstrument, priceToTicks, qtyToLots, type ExecutionReport, type Instrument, type Order } from '@cwts/core';
import { PolledExecutionClient } from '@cwts/core/adapter-kit';
import { Secret } from '@cwts/core/config';
import { waitUntil } from '@cwts/core/testing';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { KrakenOrderDriver, type KrakenOrderInfo } from '../src/execution.js';
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

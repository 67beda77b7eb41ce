/**
 * A cancel of an order whose AddOrder still waits inside KrakenOrderDriver.place(): on the pair's
 * trading counter (which serves cancels first) or in the nonce queue behind a query. The kit's
 * order budget had let the create go, so the cancel took the venue's path: CancelOrder by
 * cl_ord_id went out first, Kraken refused it as unknown, and the AddOrder followed (the order
 * worked after a HALT's mass cancel until the engine cancelled it again at the ack). The driver
 * now answers the kit's cancelUnsent: the AddOrder leaves the counter's line and is never sent,
 * no request names the order, and the order is reported cancelled once. A cancel after the
 * AddOrder left goes to Kraken as before. Scripted ccxt (no network); a ManualClock and vitest's
 * fake timers move together.
 */
import { ManualClock, defineInstrument, priceToTicks, qtyToLots, type ExecutionReport, type Instrument, type Order } from '@cwts/core';
import { PolledExecutionClient } from '@cwts/core/adapter-kit';
import { Secret } from '@cwts/core/config';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KrakenOrderDriver, type KrakenOrderInfo } from '../src/execution.js';
import { DEFAULT_KRAKEN_OPTIONS, type KrakenOptions } from '../src/options.js';

const venue = await vi.hoisted(async () => (await import('@cwts/core/testing')).scriptedCcxt<Record<string, unknown> | undefined>());
vi.mock('ccxt', () => venue.module('kraken', { urls: { api: { public: 'https://api.kraken.com', private: 'https://api.kraken.com' } }, fields: { nonce: () => 0 } }));

const BTC: Instrument = defineInstrument({ exchange: 'kraken', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', tickSize: '0.1', lotSize: '0.00000001', minNotional: '0.5' });
const PAIRS = { XXBTZUSD: { altname: 'XBTUSD', wsname: 'XBT/USD', base: 'XXBT', quote: 'ZUSD' } };
const ok = <T>(result: T) => ({ error: [], result });
const T0 = Date.parse('2026-12-05T10:00:00Z');

function order(clientOrderId: string): Order {
  return {
    exchange: 'kraken', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: priceToTicks(BTC, '64000.0'), qty: qtyToLots(BTC, '0.01'), tif: 'GTC', source: 't',
    clientOrderId, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: T0, updatedTs: T0,
  } as Order;
}

const info = (cid: string, status: KrakenOrderInfo['status']): KrakenOrderInfo => ({
  cl_ord_id: cid, status, opentm: T0 / 1000, descr: { pair: 'XBTUSD', type: 'buy', ordertype: 'limit', price: '64000.0' }, vol: '0.01000000', vol_exec: '0.00000000',
});

describe('Kraken: a cancel while the AddOrder waits inside the driver', () => {
  let stop: (() => Promise<void>) | undefined;
  beforeEach(() => {
    venue.reset();
    vi.useFakeTimers();
  });
  afterEach(async () => {
    await stop?.();
    stop = undefined;
    vi.useRealTimers();
  });

  /** The driver in the kit's client as plugin.ts builds it, Kraken scripted: it knows the orders whose AddOrder came. */
  async function setup() {
    const clock = new ManualClock(T0);
    const options: KrakenOptions = { ...DEFAULT_KRAKEN_OPTIONS, private_requests_per_interval: 10_000, poll_interval_ms: 500 };
    const driver = new KrakenOrderDriver({
      exchange: 'kraken', restRoot: 'http://127.0.0.1:1', options, clock, apiKey: new Secret('key'), apiSecret: new Secret('c2VjcmV0'),
      instrument: (s) => (s === 'BTC/USD' ? BTC : undefined), symbols: () => ['BTC/USD'],
    });
    const c = new PolledExecutionClient({
      exchange: 'kraken', clock, hasCredentials: true, driver, orderLimit: { limit: 100, intervalMs: 1000 }, pollIntervalMs: options.poll_interval_ms,
      unknownOrderGraceMs: options.order_deadline_ms + 5000, instrument: (s) => (s === 'BTC/USD' ? BTC : undefined), symbols: () => ['BTC/USD'],
    });
    const book = new Map<string, KrakenOrderInfo>();
    venue.handlers.publicGetAssetPairs = () => ok(PAIRS);
    venue.handlers.privatePostAddOrder = (p) => {
      const cid = String(p!.cl_ord_id);
      book.set(cid, info(cid, 'open'));
      return ok({ txid: [`O-${cid}`] });
    };
    venue.handlers.privatePostCancelOrder = (p) => {
      const cid = p!.txid !== undefined ? String(p!.txid).slice(2) : String(p!.cl_ord_id);
      const j = book.get(cid);
      if (j === undefined) throw new Error('kraken {"error":["EOrder:Unknown order"]}');
      j.status = 'canceled';
      return ok({ count: 1 });
    };
    venue.handlers.privatePostQueryOrders = (p) => {
      const cid = String(p!.txid).slice(2);
      return ok(book.has(cid) ? { [`O-${cid}`]: book.get(cid)! } : {});
    };
    venue.handlers.privatePostOpenOrders = (p) =>
      ok({ open: Object.fromEntries([...book].filter(([cid, j]) => j.status === 'open' && (p?.cl_ord_id === undefined || p.cl_ord_id === cid)).map(([cid, j]) => [`O-${cid}`, j])) });
    venue.handlers.privatePostClosedOrders = (p) =>
      ok({ closed: Object.fromEntries([...book].filter(([cid, j]) => j.status !== 'open' && p?.cl_ord_id === cid).map(([cid, j]) => [`O-${cid}`, j])) });
    const reports: ExecutionReport[] = [];
    await c.start((r) => reports.push(r));
    stop = () => c.stop();
    const step = async (ms: number) => {
      clock.advance(ms);
      await vi.advanceTimersByTimeAsync(ms);
    };
    /** Every request that names the order (its cl_ord_id, or its txid). */
    const about = (cid: string) => venue.calls.filter((k) => k.params?.cl_ord_id === cid || k.params?.txid === `O-${cid}`).map((k) => k.fn);
    const reportsOf = (cid: string) => reports.filter((r) => r.clientOrderId === cid).map((r) => `${r.kind}${r.text ? `: ${r.text}` : ''}`);
    return { clock, driver, c, reports, reportsOf, step, about, book };
  }

  it('a cancel while the AddOrder waits on the trading counter: the AddOrder is never sent, nothing names the order, one cancelled report', async () => {
    const s = await setup();
    // orders placed by hand on the key: Kraken refused one for its rate, the pair's counter is full
    s.driver.tradingCounter.full('BTC/USD');
    s.c.submit(order('c1'));
    s.c.submit(order('c2'));
    await s.step(0);
    expect(s.driver.tradingCounter.waiting('BTC/USD')).toBe(2);
    // the kill switch: c1's cancel, first on the counter, would have gone out before its AddOrder
    s.c.cancel({ ...order('c1'), status: 'pending_cancel' });
    await s.step(0);
    expect(s.reportsOf('c1')).toEqual(['cancelled: kraken: cancelled before it was sent (it was waiting for the venue\'s rate counter in the driver)']);
    expect(s.reports.find((r) => r.clientOrderId === 'c1')).toMatchObject({ leavesQty: 0, cumQty: 0 });
    expect(s.reports.find((r) => r.clientOrderId === 'c1')!.venueOrderId).toBeUndefined();
    // it left the counter's line (adding nothing): c2 no longer waits behind it
    expect(s.driver.tradingCounter.waiting('BTC/USD')).toBe(1);
    for (let k = 0; k < 120; k++) await s.step(1000);
    expect(s.about('c1')).toEqual([]);
    expect(s.reportsOf('c1')).toHaveLength(1);
    // the other order went out when the counter had room, and works
    expect(s.about('c2')).toContain('privatePostAddOrder');
    expect(s.reportsOf('c2')).toEqual(['ack']);
    expect(venue.calls.filter((k) => k.fn === 'privatePostAddOrder').map((k) => k.params?.cl_ord_id)).toEqual(['c2']);
  });

  it('a cancel while the AddOrder waits in the nonce queue behind a query: never sent either', async () => {
    const s = await setup();
    let answerBalance!: () => void;
    venue.handlers.privatePostBalance = () => new Promise((r) => (answerBalance = () => r(ok({ ZUSD: '100' }))));
    const balances = s.driver.fetchBalances();
    await s.step(0);
    s.c.submit(order('c1'));
    await s.step(0);
    // the counter had room: the AddOrder waits only for the Balance call ahead of it
    expect(s.driver.tradingCounter.waiting('BTC/USD')).toBe(0);
    s.c.cancel({ ...order('c1'), status: 'pending_cancel' });
    await s.step(0);
    answerBalance();
    await balances;
    for (let k = 0; k < 20; k++) await s.step(1000);
    expect(s.about('c1')).toEqual([]);
    expect(s.reportsOf('c1').map((r) => r.split(':')[0])).toEqual(['cancelled']);
  });

  it('a repeated cancel of the waiting AddOrder sends nothing and answers nothing more', async () => {
    const s = await setup();
    s.driver.tradingCounter.full('BTC/USD');
    s.c.submit(order('c1'));
    await s.step(0);
    s.c.cancel({ ...order('c1'), status: 'pending_cancel' });
    s.c.cancel({ ...order('c1'), status: 'pending_cancel' });
    for (let k = 0; k < 90; k++) await s.step(1000);
    expect(s.about('c1')).toEqual([]);
    expect(s.reportsOf('c1').map((r) => r.split(':')[0])).toEqual(['cancelled']);
  });

  it('a cancel after the AddOrder left goes to Kraken, which cancels the order', async () => {
    const s = await setup();
    s.c.submit(order('c1'));
    await s.step(0);
    expect(s.reportsOf('c1')).toEqual(['ack']);
    s.c.cancel({ ...order('c1'), venueOrderId: 'O-c1', status: 'pending_cancel' });
    for (let k = 0; k < 10; k++) await s.step(1000);
    expect(s.about('c1').slice(0, 2)).toEqual(['privatePostAddOrder', 'privatePostCancelOrder']);
    expect(s.book.get('c1')?.status).toBe('canceled');
    expect(s.reportsOf('c1')).toEqual(['ack', 'cancelled']);
  });

  it('a stop while AddOrders wait on the counter, one of them cancelled: neither is sent, nothing more is reported, no timer is left', async () => {
    const s = await setup();
    s.driver.tradingCounter.full('BTC/USD');
    s.c.submit(order('c1'));
    s.c.submit(order('c2'));
    await s.step(0);
    s.c.cancel({ ...order('c1'), status: 'pending_cancel' });
    await s.step(0);
    await s.c.stop();
    stop = undefined;
    for (let k = 0; k < 90; k++) await s.step(1000);
    expect(s.about('c1')).toEqual([]);
    expect(s.about('c2')).toEqual([]);
    expect(s.reportsOf('c1').map((r) => r.split(':')[0])).toEqual(['cancelled']);
    expect(s.reportsOf('c2')).toEqual([]);
    expect(s.c.pendingTimers()).toBe(0);
  });
});

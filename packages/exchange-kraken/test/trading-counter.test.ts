/**
 * Kraken's per-pair trading counter (docs: "Spot Trading Limits"), as the driver keeps it: no
 * AddOrder or CancelOrder is sent that Kraken's counter would refuse. The venue is a scripted
 * ccxt; time is a ManualClock moved together with fake timers. The counter Kraken would hold is
 * recomputed here from the calls as sent, by the docs' rule, independently of the driver's model.
 */
import { ManualClock, defineInstrument, priceToTicks, qtyToLots, type Instrument, type Order } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KrakenOrderDriver, type KrakenOrderInfo } from '../src/execution.js';
import { DEFAULT_KRAKEN_OPTIONS, resolveKrakenOptions, type KrakenOptions } from '../src/options.js';
import { KrakenTradingCounter, krakenCancelCost } from '../src/trading-counter.js';
import { TimerSet } from '@cwts/core/adapter-kit';

const venue = await vi.hoisted(async () => (await import('@cwts/core/testing')).scriptedCcxt<Record<string, unknown> | undefined>());
vi.mock('ccxt', () => venue.module('kraken', { urls: { api: { public: 'https://api.kraken.com', private: 'https://api.kraken.com' } }, fields: { nonce: () => 0 } }));

const BTC: Instrument = defineInstrument({ exchange: 'kraken', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', tickSize: '0.1', lotSize: '0.00000001', minNotional: '0.5' });
const PAIRS = { XXBTZUSD: { altname: 'XBTUSD', wsname: 'XBT/USD', base: 'XXBT', quote: 'ZUSD' } };
const ok = <T>(result: T) => ({ error: [], result });
const T0 = Date.parse('2026-12-05T10:00:00Z');

const order = (n: number, extra: Partial<Order> = {}): Order =>
  ({
    exchange: 'kraken', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: priceToTicks(BTC, '64000.0'), qty: qtyToLots(BTC, '0.01'), tif: 'GTC', source: 't',
    clientOrderId: `c${n}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0, ...extra,
  }) as Order;

/** Kraken's counter after each call, by the docs: AddOrder +1; CancelOrder by the order's age at Kraken; decay per second. */
function krakenCounterPeaks(calls: { at: number; kind: 'add' | 'cancel'; id: string }[], decayPerS: number): number[] {
  const booked = new Map<string, number>();
  let value = 0;
  let at = calls[0]?.at ?? 0;
  return calls.map((c) => {
    value = Math.max(0, value - ((c.at - at) / 1000) * decayPerS);
    at = c.at;
    if (c.kind === 'add') {
      booked.set(c.id, c.at);
      value += 1;
    } else value += krakenCancelCost(c.at - booked.get(c.id)!);
    return value;
  });
}

describe("Kraken's per-pair trading counter", () => {
  let clock: ManualClock;
  let calls: { at: number; kind: 'add' | 'cancel'; id: string }[];

  beforeEach(() => {
    venue.reset();
    vi.useFakeTimers();
    clock = new ManualClock(T0);
    calls = [];
    venue.handlers.publicGetAssetPairs = () => ok(PAIRS);
    venue.handlers.privatePostOpenOrders = () => ok({ open: {} });
    venue.handlers.privatePostAddOrder = (p) => {
      calls.push({ at: clock.now(), kind: 'add', id: String(p!.cl_ord_id) });
      return ok({ txid: [`O-${String(p!.cl_ord_id)}`] });
    };
    venue.handlers.privatePostCancelOrder = (p) => {
      calls.push({ at: clock.now(), kind: 'cancel', id: String(p!.txid).slice(2) });
      return ok({ count: 1 });
    };
  });
  afterEach(() => vi.useRealTimers());

  async function driver(options: Partial<KrakenOptions> = {}) {
    const d = new KrakenOrderDriver({
      exchange: 'kraken', restRoot: 'http://127.0.0.1:1', options: { ...DEFAULT_KRAKEN_OPTIONS, private_requests_per_interval: 10_000, ...options }, clock,
      apiKey: new Secret('key'), apiSecret: new Secret('c2VjcmV0'), instrument: (s) => (s === 'BTC/USD' ? BTC : undefined), symbols: () => ['BTC/USD'],
    });
    await d.connect();
    return d;
  }

  /** Moves the clock and the timers together, 100 ms at a time, until `done` or `maxMs`. */
  async function run(done: () => boolean, maxMs: number): Promise<void> {
    await vi.advanceTimersByTimeAsync(0);
    for (let t = 0; t < maxMs && !done(); t += 100) {
      clock.advance(100);
      await vi.advanceTimersByTimeAsync(100);
    }
  }

  it("options: Starter's threshold and decay by default; a tier's are set as numbers; a threshold below one cancel's cost is refused", () => {
    expect(resolveKrakenOptions({})).toMatchObject({ trading_counter_max: 60, trading_counter_decay_per_s: 1 });
    expect(resolveKrakenOptions({ trading_counter_max: 125, trading_counter_decay_per_s: 2.34 })).toMatchObject({ trading_counter_max: 125, trading_counter_decay_per_s: 2.34 });
    expect(() => resolveKrakenOptions({ trading_counter_max: 5 })).toThrow(/kraken\.options\.trading_counter_max/);
    expect(() => resolveKrakenOptions({ trading_counter_decay_per_s: 0 })).toThrow(/kraken\.options\.trading_counter_decay_per_s/);
  });

  it('a cancel costs by the age of its order, as the docs list (8 under 5 s ... 1 under 300 s, then nothing)', () => {
    expect([0, 4_999, 5_000, 9_999, 10_000, 14_999, 15_000, 44_999, 45_000, 89_999, 90_000, 299_999, 300_000].map(krakenCancelCost)).toEqual([8, 8, 6, 6, 5, 5, 4, 4, 2, 2, 1, 1, 0]);
    expect(krakenCancelCost(undefined)).toBe(8);
  });

  it('15 orders each cancelled at once on one pair (30 trading calls, inside the default 30 per 30 s): Kraken\'s Starter counter (60, 1/s) is never reached', async () => {
    const d = await driver(); // Starter: 60, decaying 1 per second
    let sent = 0;
    const work = (async () => {
      for (let n = 0; n < 15; n++) {
        const o = order(n);
        const txid = await d.place(o, BTC);
        await d.cancel({ ...o, venueOrderId: txid });
        sent++;
      }
    })();
    await run(() => sent === 15, 300_000);
    await work;
    expect(calls).toHaveLength(30);
    const peaks = krakenCounterPeaks(calls, 1);
    // sent as fast as the kit's limit allows, this was 15 + 15 x 8 = 135 by the last cancel
    expect(Math.max(...peaks)).toBeLessThan(60);
    // the first cancels went out at once, later ones waited for the counter to decay
    expect(calls[1]!.at - calls[0]!.at).toBe(0);
    expect(calls[29]!.at - calls[0]!.at).toBeGreaterThan(60_000);
    d.close();
  });

  it('an order resting past 300 s is cancelled at no cost; one read from Kraken (placed before this process) is aged from its opentm', async () => {
    const d = await driver();
    const o = order(1);
    const txid = await d.place(o, BTC);
    clock.advance(300_000);
    expect(d.tradingCounter.cancelCost(o.clientOrderId)).toBe(0);
    // placed by an earlier run: unknown here until a read shows Kraken's booking time
    expect(d.tradingCounter.cancelCost('from-before')).toBe(8);
    const info: KrakenOrderInfo = { cl_ord_id: 'from-before', status: 'open', opentm: (clock.now() - 60_000) / 1000, descr: { pair: 'XBTUSD', type: 'buy', ordertype: 'limit', price: '64000.0' }, vol: '0.01', vol_exec: '0' };
    venue.handlers.privatePostQueryOrders = () => ok({ O9: info });
    await d.fetchOrder({ symbol: 'BTC/USD', clientOrderId: 'from-before', venueOrderId: 'O9' });
    // 60 s at Kraken, taken as 58 s (a clock up to 2 s ahead of Kraken's): 45-90 s costs 2
    expect(d.tradingCounter.cancelCost('from-before')).toBe(2);
    await d.cancel({ ...o, venueOrderId: txid });
    expect(d.tradingCounter.value('BTC/USD')).toBeCloseTo(0, 6);
    d.close();
  });

  it("Kraken's own rate refusal marks the pair full: the next order on that pair waits for the counter to decay", async () => {
    const d = await driver();
    venue.handlers.privatePostAddOrder = () => {
      throw Object.assign(new Error('kraken {"error":["EOrder:Rate limit exceeded"]}'), { name: 'RateLimitExceeded' });
    };
    await expect(d.place(order(1), BTC)).rejects.toThrow(/Rate limit exceeded/);
    expect(d.tradingCounter.value('BTC/USD')).toBe(60);
    venue.handlers.privatePostAddOrder = (p) => {
      calls.push({ at: clock.now(), kind: 'add', id: String(p!.cl_ord_id) });
      return ok({ txid: ['O2'] });
    };
    let placed = false;
    const p = d.place(order(2), BTC).then(() => (placed = true));
    await run(() => placed, 900);
    expect(placed).toBe(false); // 60 decays 1 per second: an order (+1) fits once it is under 59
    expect(d.tradingCounter.value('ETH/USD')).toBe(0); // per pair
    await run(() => placed, 10_000);
    await p;
    expect(calls[0]!.at - T0).toBeGreaterThanOrEqual(1_000);
    expect(calls[0]!.at - T0).toBeLessThanOrEqual(1_200);
    d.close();
  });

  it('a cancel waiting for the counter is not overtaken by orders asked for after it on the pair (one a second, inside the default 30 per 30 s): it goes out within about 8 s', async () => {
    const d = await driver();
    // a working order (young), then Kraken refuses an order for its rate: the pair's counter is full
    const a = order(0);
    const txidA = await d.place(a, BTC);
    d.tradingCounter.full('BTC/USD');
    // the strategy cancels A (a stale quote), then keeps quoting: one new order a second
    const cancelAskedAt = clock.now();
    let cancelled = false;
    const c = d.cancel({ ...a, venueOrderId: txidA }).then(() => (cancelled = true));
    const places: Promise<unknown>[] = [];
    for (let t = 0; t < 60_000 && !cancelled; t += 100) {
      if (t % 1000 === 0) places.push(d.place(order(1 + t / 1000), BTC).catch(() => undefined));
      clock.advance(100);
      await vi.advanceTimersByTimeAsync(100);
    }
    const cancelCall = calls.find((x) => x.kind === 'cancel');
    // before: every order (cost 1, fits below 59) went out ahead of it and the cancel (needs below 52-54) never did
    const ordersAhead = (cancelCall ? calls.slice(0, calls.indexOf(cancelCall)) : calls).filter((x) => x.kind === 'add' && x.id !== 'c0').length;
    expect({ cancelSentAfterMs: cancelCall ? cancelCall.at - cancelAskedAt : 'never (60 s)', ordersAhead }).toEqual({ cancelSentAfterMs: expect.any(Number), ordersAhead: 0 });
    expect(cancelCall!.at - cancelAskedAt).toBeLessThanOrEqual(9_000);
    // the orders held back go out after it, in the order they were asked for, none past the counter
    await run(() => d.tradingCounter.waiting('BTC/USD') === 0, 60_000);
    await Promise.all(places);
    const after = calls.slice(calls.indexOf(cancelCall!) + 1).map((x) => x.id);
    expect(after).toEqual([...after].sort((x, y) => Number(x.slice(1)) - Number(y.slice(1))));
    expect(Math.max(...krakenCounterPeaks(calls.slice(calls.indexOf(cancelCall!)), 1))).toBeLessThan(60);
    d.close();
    await c;
  });

  it('waiting cancels go out first, in the order asked for (a HALT cancelling every order while orders wait); a cancel that adds nothing goes out as soon as the counter is below the threshold', async () => {
    const d = await driver();
    // c9 rests past 300 s (its cancel costs nothing); c1-c3 are young
    const old = order(9);
    const oldTxid = await d.place(old, BTC);
    clock.advance(301_000);
    const young = [order(1), order(2), order(3)];
    const txids: string[] = [];
    for (const o of young) txids.push(await d.place(o, BTC));
    d.tradingCounter.full('BTC/USD');
    calls.length = 0;
    const pending = [
      d.place(order(4), BTC),
      d.cancel({ ...young[0]!, venueOrderId: txids[0] }),
      d.place(order(5), BTC),
      d.cancel({ ...young[1]!, venueOrderId: txids[1] }),
      d.cancel({ ...young[2]!, venueOrderId: txids[2] }),
      d.cancel({ ...old, venueOrderId: oldTxid }),
    ];
    await vi.advanceTimersByTimeAsync(0);
    expect(d.tradingCounter.waiting('BTC/USD')).toBe(6);
    await run(() => calls.length === 1, 1_000);
    // the counter decayed below the threshold: the free cancel is out, the others still wait (an 8 needs below 52)
    expect(calls.map((x) => `${x.kind} ${x.id}`)).toEqual(['cancel c9']);
    await run(() => calls.length === 6, 120_000);
    await Promise.all(pending);
    expect(calls.map((x) => `${x.kind} ${x.id}`)).toEqual(['cancel c9', 'cancel c1', 'cancel c2', 'cancel c3', 'add c4', 'add c5']);
    // the first young cancel waited for the counter only (about 8 s at Starter's decay, its cost falling to 6 as its order aged)
    expect(calls[1]!.at - calls[0]!.at).toBeLessThanOrEqual(9_000);
    d.close();
  });

  it('a wait for the counter ends when the driver closes (nothing sent); the remembered placing times stay bounded', async () => {
    const timers = new TimerSet();
    const c = new KrakenTradingCounter(60, 1, () => clock.now(), timers);
    c.full('BTC/USD');
    const waiting = c.spend('BTC/USD', 8);
    await vi.advanceTimersByTimeAsync(0);
    const behind = [c.spend('BTC/USD', 1), c.spend('BTC/USD', 8, 'cancel')];
    await vi.advanceTimersByTimeAsync(0);
    timers.close();
    await expect(waiting).rejects.toMatchObject({ name: 'RateLimitExceededError', refusal: 'closed' });
    for (const w of behind) await expect(w).rejects.toMatchObject({ name: 'RateLimitExceededError', refusal: 'closed' });
    expect(c.waiting('BTC/USD')).toBe(0);
    timers.reopen();
    for (let n = 0; n < 10_050; n++) c.placed(`c${n}`);
    expect(c.remembered).toBe(10_000);
    expect(c.cancelCost('c0')).toBe(8); // forgotten: costed as the youngest
  });
});

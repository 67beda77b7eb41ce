/**
 * The ccxt execution client where the venue or ccxt misbehaves (no network: a scripted ccxt
 * stand-in, polled by hand with fake timers, the venue's clock a ManualClock): errors ccxt cannot
 * class, lookups that fail or answer after the grace, answers about another order, rate limits
 * on creates, cancels and reads, trades without a side or without an id, more trades or orders
 * than one page, trades past the order's size, listed twice or refused, open orders listed only
 * per symbol.
 */
import { defineInstrument, ManualClock, type ExecutionReport, type Order } from '@cwts/core';
import { conformanceOrder } from '@cwts/core/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CcxtExchange, CcxtMyTrade, CcxtOrder } from '../src/ccxt-exchange.js';
import { CcxtExecution } from '../src/execution.js';
import { resolveCcxtOptions } from '../src/options.js';

const I = defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const POLL = 1000;
const T0 = Date.parse('2026-12-05T10:00:00Z');

// ccxt's error classes, as ccxt names them (ccxt/js/src/base/errors.js sets `name` the same way)
class ExchangeError extends Error {
  constructor(m: string) {
    super(m);
    this.name = 'ExchangeError';
  }
}
class NetworkError extends Error {
  constructor(m: string) {
    super(m);
    this.name = 'NetworkError';
  }
}
class RequestTimeout extends NetworkError {
  constructor(m: string) {
    super(m);
    this.name = 'RequestTimeout';
  }
}
class RateLimitExceeded extends NetworkError {
  constructor(m: string) {
    super(m);
    this.name = 'RateLimitExceeded';
  }
}
class InvalidOrder extends ExchangeError {
  constructor(m: string) {
    super(m);
    this.name = 'InvalidOrder';
  }
}

class FakeCcxt {
  readonly orders = new Map<string, CcxtOrder>();
  trades: CcxtMyTrade[] = [];
  readonly calls: string[] = [];
  readonly has: Record<string, boolean> = { fetchClosedOrders: true };
  // ETHUSDT: a market of the venue with no instrument here
  readonly markets_by_id = { BTCUSDT: [{ id: 'BTCUSDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', precision: {} }], ETHUSDT: [{ id: 'ETHUSDT', symbol: 'ETH/USDT', base: 'ETH', quote: 'USDT', precision: {} }] };
  /** Places the order, then throws this instead of answering. */
  failAfterPlacing: Error | undefined;
  /** Throws this without placing. */
  failCreate: Error | undefined;
  /** Lookups (fetchOpenOrders / fetchClosedOrders) throw this. */
  failLookups: Error | undefined;
  /** fetchOrder throws this. */
  failFetchOrder: Error | undefined;
  /** fetchOrder answers with this instead of the order asked for. */
  answerInstead: ((id: string) => CcxtOrder | undefined) | undefined;
  /** At most this many trades per fetchMyTrades answer, oldest first from `since` (Binance: 500). */
  tradesPageLimit = Infinity;
  /** Trades carry no id (ccxt hollaex, coinspot: parseTrade leaves `id` undefined). */
  tradesWithoutId = false;
  /** A market order fills at once, at 100, when placed. */
  fillMarketAtOnce = false;
  /** Order-history answers (fetchOrders, fetchClosedOrders): at most this many orders, oldest first from `since`, before any filter by status (Binance allOrders: 500). */
  ordersPageLimit = Infinity;
  /** fetchOpenOrders without a symbol throws (ccxt phemex, bitrue, lbank: ArgumentsRequired; binance by default: an ExchangeError warning). */
  openOrdersNeedSymbol = false;
  /** The symbol each fetchOpenOrders was asked for. */
  readonly openOrdersAsked: (string | undefined)[] = [];
  /** fetchOrder with an empty id finds the order by `params.clientOrderId` (ccxt binance, okx). */
  fetchOrderByClientId = false;
  /** Called with each order placed, before createOrder answers (or fails). */
  onPlaced: ((o: CcxtOrder) => void) | undefined;
  /** Called as each order-history read (fetchOrders, fetchClosedOrders) begins. */
  onHistoryRead: (() => void) | undefined;
  /** cancelOrder throws this without cancelling. */
  failCancel: Error | undefined;
  private seq = 0;
  private tradeSeq = 0;
  constructor(private readonly clock: ManualClock) {}
  async createOrder(symbol: string, type: string, side: string, amount: string | number, price?: string | number, params?: { clientOrderId?: string }): Promise<CcxtOrder> {
    this.calls.push('createOrder');
    if (this.failCreate) throw this.failCreate;
    const id = String(++this.seq);
    const o: CcxtOrder = { id, clientOrderId: params?.clientOrderId, symbol, status: 'open', side, amount: Number(amount), price: price === undefined ? undefined : Number(price), filled: 0, timestamp: this.clock.now() };
    this.orders.set(id, o);
    if (type === 'market' && this.fillMarketAtOnce) this.fill(id, Number(amount), 100);
    this.onPlaced?.(o);
    if (this.failAfterPlacing) throw this.failAfterPlacing;
    return { ...o };
  }
  async cancelOrder(id: string): Promise<CcxtOrder> {
    this.calls.push(`cancelOrder ${id}`);
    if (this.failCancel) throw this.failCancel;
    const o = this.orders.get(id)!;
    o.status = 'canceled';
    return { ...o };
  }
  async fetchOrder(id: string, _symbol?: string, params?: { clientOrderId?: string }): Promise<CcxtOrder> {
    this.calls.push(`fetchOrder ${id}`);
    if (this.failFetchOrder) throw this.failFetchOrder;
    const other = this.answerInstead?.(id);
    if (other) return { ...other };
    const o = id === '' && this.fetchOrderByClientId ? [...this.orders.values()].find((v) => v.clientOrderId === params?.clientOrderId) : this.orders.get(id);
    if (!o) throw Object.assign(new Error('unknown order'), { name: 'OrderNotFound' });
    return { ...o };
  }
  async fetchOpenOrders(symbol?: string): Promise<CcxtOrder[]> {
    this.calls.push('fetchOpenOrders');
    this.openOrdersAsked.push(symbol);
    if (this.failLookups) throw this.failLookups;
    if (this.openOrdersNeedSymbol && symbol === undefined) throw Object.assign(new Error('phemex fetchOpenOrders() requires a symbol argument'), { name: 'ArgumentsRequired' });
    return [...this.orders.values()].filter((o) => o.status === 'open' && (symbol === undefined || o.symbol === symbol)).map((o) => ({ ...o }));
  }
  /** One page of the order history from `since`, oldest first, every status. */
  private history(since: number | undefined): CcxtOrder[] {
    return [...this.orders.values()]
      .filter((o) => since === undefined || (o.timestamp ?? 0) >= since)
      .sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0))
      .slice(0, this.ordersPageLimit)
      .map((o) => ({ ...o }));
  }
  async fetchClosedOrders(_symbol?: string, since?: number): Promise<CcxtOrder[]> {
    this.calls.push('fetchClosedOrders');
    this.onHistoryRead?.();
    if (this.failLookups) throw this.failLookups;
    return this.history(since).filter((o) => o.status !== 'open');
  }
  /** Called only where `has.fetchOrders` is set. */
  async fetchOrders(_symbol?: string, since?: number): Promise<CcxtOrder[]> {
    this.calls.push('fetchOrders');
    this.onHistoryRead?.();
    if (this.failLookups) throw this.failLookups;
    return this.history(since);
  }
  async fetchMyTrades(symbol: string, since?: number): Promise<CcxtMyTrade[]> {
    this.calls.push('fetchMyTrades');
    return this.trades
      .filter((t) => t.symbol === symbol && (since === undefined || (t.timestamp ?? 0) >= since))
      .slice(0, this.tradesPageLimit)
      .map((t) => ({ ...t }));
  }
  async fetchBalance() {
    return { total: {} };
  }
  numberToString(n: number | string): string {
    return String(n);
  }
  fill(id: string, qty: number, price?: number): CcxtMyTrade {
    const o = this.orders.get(id)!;
    o.filled = Math.round(((o.filled ?? 0) + qty) * 1000) / 1000;
    if (o.filled >= (o.amount ?? 0)) o.status = 'closed';
    const t: CcxtMyTrade = { order: id, symbol: o.symbol, side: o.side, price: price ?? o.price!, amount: qty, timestamp: this.clock.now(), takerOrMaker: 'maker', fee: { cost: 0.01, currency: 'USDT' } };
    if (!this.tradesWithoutId) t.id = `T${++this.tradeSeq}`;
    this.trades.push(t);
    return t;
  }
}

const settle = () => new Promise<void>((r) => setImmediate(r));

describe('ccxt execution when the venue or ccxt misbehaves', () => {
  let x: CcxtExecution | undefined;
  afterEach(async () => {
    await x?.stop();
    x = undefined;
    vi.useRealTimers();
  });

  async function boot(opts: Record<string, unknown> = {}) {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const clock = new ManualClock(T0);
    const fake = new FakeCcxt(clock);
    x = new CcxtExecution({
      exchange: 'x', ccxt: async () => fake as unknown as CcxtExchange, options: resolveCcxtOptions({ poll_interval_ms: POLL, ...opts }), clock, hasCredentials: true,
      instrument: (s) => (s === I.symbol ? I : undefined), ccxtSymbol: (s) => (s === I.symbol ? 'BTC/USDT' : undefined),
    });
    const reports: ExecutionReport[] = [];
    await x.start((r) => reports.push(r));
    /** Moves the venue clock and the timers together by `ms`, in poll-sized steps. */
    const advance = async (ms: number) => {
      for (let left = ms; left > 0; left -= POLL) {
        const step = Math.min(POLL, left);
        clock.advance(step);
        await vi.advanceTimersByTimeAsync(step);
        await settle();
      }
    };
    return { fake, reports, x, clock, advance };
  }

  const ours = (extra: Partial<Order> = {}): Order => ({ ...conformanceOrder(I, { side: 'buy', price: '100.00', qty: '0.010' }), createdTs: T0, updatedTs: T0, ...extra });

  it('a generic ccxt ExchangeError (Bybit 10016 "System error", Coinbase internal_server_error) leaves the outcome unknown: the placed order is found by client id, not reported rejected', async () => {
    const { fake, reports, x: xx, advance } = await boot();
    // the venue took the order, then answered with an internal error ccxt maps to its generic ExchangeError
    fake.failAfterPlacing = new ExchangeError('bybit {"retCode":10016,"retMsg":"System error. Please try again later.","result":{}}');
    const o = ours();
    xx.submit(o);
    await settle();
    await advance(POLL);
    // the order IS working at the venue
    expect([...fake.orders.values()].map((v) => [v.clientOrderId, v.status])).toEqual([[o.clientOrderId, 'open']]);
    expect(reports.map((r) => r.kind)).toEqual(['ack']);
    expect(fake.calls).toContain('fetchOpenOrders');
  });

  it('a generic ExchangeError for an order that never arrived is rejected after the grace; a subclass (InvalidOrder) at once, without a lookup', async () => {
    const { fake, reports, x: xx, advance } = await boot({ unknown_order_grace_ms: 3_000 });
    fake.failCreate = new ExchangeError('x {"code":99999,"msg":"something new"}');
    xx.submit(ours());
    await settle();
    await advance(2 * POLL);
    expect(reports).toEqual([]);
    await advance(2 * POLL);
    expect(reports.map((r) => [r.kind, r.rejectReason])).toEqual([['rejected', 'VENUE_ERROR']]);
    expect(reports[0]!.text).toMatch(/ExchangeError.*never reached the venue/);
    reports.length = 0;
    fake.calls.length = 0;
    fake.failCreate = new InvalidOrder('x {"code":-1013,"msg":"Filter failure: LOT_SIZE"}');
    xx.submit(ours());
    await settle();
    expect(reports.map((r) => [r.kind, r.rejectReason])).toEqual([['rejected', 'INVALID_ORDER']]);
    expect(fake.calls).toEqual(['createOrder']);
  });

  it('lookups by client id that all fail (the outage that lost the answer) never prove the order absent: no "never reached the venue" rejection', async () => {
    const { fake, reports, x: xx, advance } = await boot({ unknown_order_grace_ms: 5_000 });
    fake.failAfterPlacing = new RequestTimeout('x POST https://api/order request timed out (10000 ms)');
    fake.failLookups = new NetworkError('x GET https://api/openOrders ECONNRESET');
    const o = ours();
    xx.submit(o);
    await settle();
    await advance(8_000);
    // every lookup failed: nothing is known, yet the order was placed
    expect(fake.orders.size).toBe(1);
    expect(reports.filter((r) => r.kind === 'rejected')).toEqual([]);
    // the venue answers again: the order is found and followed
    fake.failLookups = undefined;
    await advance(POLL);
    expect(reports.map((r) => r.kind)).toEqual(['ack']);
  });

  it('after lookups that failed past the grace, the first lookup the venue answers without the order rejects it', async () => {
    const { fake, reports, x: xx, advance } = await boot({ unknown_order_grace_ms: 5_000 });
    // the request never reached the venue, and the venue is unreachable for a while
    fake.failCreate = new RequestTimeout('x POST https://api/order request timed out (10000 ms)');
    fake.failLookups = new NetworkError('x GET https://api/openOrders ECONNRESET');
    xx.submit(ours());
    await settle();
    await advance(8_000);
    expect(reports).toEqual([]);
    fake.failLookups = undefined;
    await advance(POLL);
    expect(reports.map((r) => [r.kind, r.rejectReason])).toEqual([['rejected', 'VENUE_ERROR']]);
  });

  it('a fetchOrder answer about another order is not taken for ours: ours is not reported cancelled while it works at the venue; the answer is counted', async () => {
    const { fake, reports, x: xx, advance } = await boot();
    const o = ours();
    xx.submit(o);
    await settle();
    const id = reports[0]!.venueOrderId!;
    // a broken venue / ccxt answer: fetchOrder(id) hands back a different order, cancelled
    fake.answerInstead = (asked) => (asked === id ? { id: '999', clientOrderId: 'someone-else', symbol: 'BTC/USDT', status: 'canceled', side: 'buy', amount: 0.01, filled: 0, price: 100 } : undefined);
    await advance(POLL);
    expect(fake.orders.get(id)!.status).toBe('open');
    expect(reports.map((r) => r.kind)).toEqual(['ack']);
    expect(Object.fromEntries(xx.inputRejections())).toEqual({ order_read: 1 });
    // our id, but another client id: not ours either
    fake.answerInstead = (asked) => (asked === id ? { ...fake.orders.get(id)!, clientOrderId: 'someone-else', status: 'canceled' } : undefined);
    await advance(POLL);
    expect(reports.map((r) => r.kind)).toEqual(['ack']);
    // the venue answers right again: the order is read as it is
    fake.answerInstead = undefined;
    fake.fill(id, 0.01);
    await advance(POLL);
    expect(reports.map((r) => r.kind)).toEqual(['ack', 'fill']);
  });

  it("queryOrder does not hand over another order's trades as ours when fetchOrder answers about another order; tradesSince does not take its client id", async () => {
    const { fake, x: xx } = await boot();
    // ours (id 1) is working, unfilled; another order of the same side (id 2) has filled
    const o = ours();
    xx.submit(o);
    await settle();
    const other = await fake.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 100, { clientOrderId: 'other' });
    fake.fill(other.id, 0.01);
    fake.answerInstead = (asked) => (asked === '1' ? fake.orders.get(other.id) : undefined);
    await expect(xx.queryOrder({ ...o, venueOrderId: '1' })).rejects.toThrow(/fetchOrder for 1 answered about order 2/);
    // a trade of order 3, whose read answers about order 2: its client id is not order 2's
    const third = await fake.createOrder('BTC/USDT', 'limit', 'sell', 0.01, 100, { clientOrderId: 'third' });
    fake.fill(third.id, 0.005);
    fake.answerInstead = (asked) => (asked === third.id ? fake.orders.get(other.id) : undefined);
    await expect(xx.tradesSince([I.symbol], T0 - 1)).rejects.toThrow(/answered about order 2/);
  });

  it('after the venue answers RateLimitExceeded (HTTP 429) the next order is held back, not sent at once into the limit (Binance bans the IP after repeated 429s); it goes after the pause', async () => {
    const { fake, reports, x: xx, advance } = await boot({ rate_limit_pause_ms: 2_000 });
    fake.failCreate = new RateLimitExceeded('x 429 Too Many Requests {"code":-1003,"msg":"Too many requests; please use the websocket for live updates to avoid polling the API."}');
    xx.submit(ours());
    await settle();
    expect(reports.map((r) => r.rejectReason)).toEqual(['RATE_LIMITED']);
    fake.failCreate = undefined;
    // the very next order, the same millisecond
    xx.submit(ours());
    await settle();
    expect(fake.calls.filter((c) => c === 'createOrder')).toHaveLength(1);
    await advance(POLL);
    expect(fake.calls.filter((c) => c === 'createOrder')).toHaveLength(1);
    await advance(POLL);
    expect(fake.calls.filter((c) => c === 'createOrder')).toHaveLength(2);
    expect(reports.map((r) => r.kind)).toEqual(['rejected', 'ack']);
  });

  it('a cancel answered RateLimitExceeded (HTTP 429) holds back the cancels after it (a HALT\'s mass cancel) for rate_limit_pause_ms, not sent at once into the limit; they go after the pause', async () => {
    const { fake, reports, x: xx, advance } = await boot({ rate_limit_pause_ms: 2_000 });
    const orders: Order[] = [];
    for (let k = 0; k < 10; k++) {
      const o = ours();
      xx.submit(o);
      orders.push(o);
    }
    await settle();
    const acks = reports.filter((r) => r.kind === 'ack');
    expect(acks).toHaveLength(10);
    const working = (k: number): Order => ({ ...orders[k]!, venueOrderId: acks[k]!.venueOrderId, status: 'open' });
    fake.failCancel = new RateLimitExceeded('x 429 Too Many Requests {"code":-1003,"msg":"Too many requests"}');
    xx.cancel(working(0));
    await settle();
    expect(reports.filter((r) => r.kind === 'rejected').map((r) => [r.rejects, r.rejectReason])).toEqual([['request', 'RATE_LIMITED']]);
    // the engine cancels the other nine in the same millisecond
    for (let k = 1; k < 10; k++) xx.cancel(working(k));
    await settle();
    const cancelsSent = () => fake.calls.filter((c) => c.startsWith('cancelOrder'));
    expect(cancelsSent()).toEqual(['cancelOrder 1']);
    await advance(POLL);
    expect(cancelsSent()).toEqual(['cancelOrder 1']);
    fake.failCancel = undefined;
    await advance(POLL);
    expect(cancelsSent()).toHaveLength(10);
    expect(reports.filter((r) => r.kind === 'cancelled').map((r) => r.clientOrderId).sort()).toEqual(orders.slice(1).map((o) => o.clientOrderId).sort());
  });

  it('a cancel held by a venue pause longer than a create would wait (30 s) is reported refused (RATE_LIMITED) at once, not held for ever', async () => {
    const { fake, reports, x: xx } = await boot({ rate_limit_pause_ms: 60_000 });
    const a = ours();
    const b = ours();
    xx.submit(a);
    xx.submit(b);
    await settle();
    const acks = reports.filter((r) => r.kind === 'ack');
    fake.failCancel = new RateLimitExceeded('x 429 Too Many Requests');
    xx.cancel({ ...a, venueOrderId: acks[0]!.venueOrderId, status: 'open' });
    await settle();
    xx.cancel({ ...b, venueOrderId: acks[1]!.venueOrderId, status: 'open' });
    await settle();
    expect(fake.calls.filter((c) => c.startsWith('cancelOrder'))).toEqual(['cancelOrder 1']);
    const refused = reports.filter((r) => r.kind === 'rejected');
    expect(refused.map((r) => [r.clientOrderId, r.rejects, r.rejectReason])).toEqual([
      [a.clientOrderId, 'request', 'RATE_LIMITED'],
      [b.clientOrderId, 'request', 'RATE_LIMITED'],
    ]);
    expect(refused[1]!.text).toMatch(/would wait 60000 ms/);
  });

  it('a stop ends the waits of a cancel held by a venue pause and of a create held behind it: neither is sent, no timer is left', async () => {
    const { fake, reports, x: xx } = await boot({ rate_limit_pause_ms: 5_000 });
    const a = ours();
    const b = ours();
    xx.submit(a);
    xx.submit(b);
    await settle();
    const acks = reports.filter((r) => r.kind === 'ack');
    fake.failCancel = new RateLimitExceeded('x 429 Too Many Requests');
    xx.cancel({ ...a, venueOrderId: acks[0]!.venueOrderId, status: 'open' });
    await settle();
    fake.failCancel = undefined;
    xx.cancel({ ...b, venueOrderId: acks[1]!.venueOrderId, status: 'open' });
    xx.submit(ours());
    await settle();
    await xx.stop();
    await settle();
    expect(fake.calls.filter((c) => c === 'createOrder' || c.startsWith('cancelOrder'))).toEqual(['createOrder', 'createOrder', 'cancelOrder 1']);
    expect(xx.pendingTimers()).toBe(0);
  });

  it('a cancel waiting for the order budget goes before the creates queued ahead of it (a HALT is not delayed behind orders it would cancel)', async () => {
    const { fake, reports, x: xx, advance } = await boot({ orders_per_interval: 2, order_limit_interval_ms: 10_000 });
    const first = ours();
    xx.submit(first);
    xx.submit(ours());
    await settle();
    expect(reports.map((r) => r.kind)).toEqual(['ack', 'ack']);
    // the budget is spent: three more creates wait for the window, then the cancel
    for (let k = 0; k < 3; k++) xx.submit(ours());
    await settle();
    xx.cancel({ ...first, venueOrderId: reports[0]!.venueOrderId, status: 'open' });
    await settle();
    const sent = () => fake.calls.filter((c) => c === 'createOrder' || c.startsWith('cancelOrder'));
    expect(sent()).toEqual(['createOrder', 'createOrder']);
    await advance(11_000);
    // the window's two slots: the cancel first, then the oldest waiting create
    expect(sent()).toEqual(['createOrder', 'createOrder', 'cancelOrder 1', 'createOrder']);
    await advance(10_000);
    expect(sent()).toEqual(['createOrder', 'createOrder', 'cancelOrder 1', 'createOrder', 'createOrder', 'createOrder']);
    expect(reports.filter((r) => r.kind === 'rejected')).toEqual([]);
  });

  it('an unknown submit is judged by when its lookup began: a lookup begun inside the grace whose answer comes after it does not report an order working at the venue "never reached the venue"', async () => {
    const { fake, reports, x: xx, clock, advance } = await boot({ unknown_order_grace_ms: 5_000 });
    // our side times out; the request is still queued at the venue's gateway
    fake.failCreate = new RequestTimeout('x POST https://api/order request timed out (10000 ms)');
    const o = ours();
    xx.submit(o);
    await settle();
    // the lookup that begins at 4 s: its open-order read does not hold the order yet; the create
    // lands before the history read, which is slow (2 s) and, the order being open, does not
    // list it either. The lookup answers "not found" at 6 s, past the grace.
    let landedAt: number | undefined;
    fake.onHistoryRead = () => {
      if (landedAt !== undefined || clock.now() - T0 < 4_000) return;
      landedAt = clock.now() - T0;
      fake.orders.set('77', { id: '77', clientOrderId: o.clientOrderId, symbol: 'BTC/USDT', status: 'open', side: 'buy', amount: 0.01, price: 100, filled: 0, timestamp: clock.now() });
      clock.advance(2_000);
    };
    await advance(10 * POLL);
    expect(landedAt).toBe(4_000);
    expect([...fake.orders.values()].map((v) => [v.clientOrderId, v.status])).toEqual([[o.clientOrderId, 'open']]);
    // the next lookup (begun past the grace) finds it: acked and followed, never rejected
    expect(reports.map((r) => [r.kind, r.venueOrderId])).toEqual([['ack', '77']]);
  });

  it('after a RateLimitExceeded answer to a poll read the rest of the poll round does not go on reading; the next round starts where this one stopped', async () => {
    const { fake, reports, x: xx, advance } = await boot();
    for (let k = 0; k < 5; k++) xx.submit(ours());
    await settle();
    expect(reports.filter((r) => r.kind === 'ack')).toHaveLength(5);
    fake.failFetchOrder = new RateLimitExceeded('x 429 Too Many Requests');
    fake.calls.length = 0;
    await advance(POLL);
    // not five reads straight into a 429, then five more at every poll
    expect(fake.calls.filter((c) => c.startsWith('fetchOrder'))).toEqual(['fetchOrder 1']);
    fake.failFetchOrder = undefined;
    fake.calls.length = 0;
    await advance(POLL);
    expect(fake.calls.filter((c) => c.startsWith('fetchOrder'))).toEqual(['fetchOrder 2', 'fetchOrder 3', 'fetchOrder 4', 'fetchOrder 5', 'fetchOrder 1']);
  });

  it('a trade of an order the journal never saw that carries no side is not reported as a buy (the engine refuses it for its side)', async () => {
    const { fake, x: xx } = await boot();
    fake.trades = [{ id: 'T9', order: '77', symbol: 'BTC/USDT', price: 100, amount: 0.005, timestamp: T0 } as CcxtMyTrade];
    fake.answerInstead = (asked) => (asked === '77' ? { id: '77', symbol: 'BTC/USDT', status: 'closed', amount: 0.005, filled: 0.005, price: 100 } : undefined);
    const out = await xx.tradesSince([I.symbol], T0 - 1);
    // the venue did not say which side: the engine's own check (fillProblem: "side is neither
    // buy nor sell") must see that, instead of a made-up buy
    expect(out.map((r) => [r.tradeId, r.side])).toEqual([['T9', undefined]]);
  });

  it('a working order listed without a side is not listed as a buy, nor followed', async () => {
    const { fake, x: xx, advance } = await boot();
    fake.orders.set('55', { id: '55', clientOrderId: 'cwts-55', symbol: 'BTC/USDT', status: 'open', amount: 0.01, filled: 0, price: 100, timestamp: T0 });
    const listed = await xx.openOrders();
    expect(listed.map((o) => [o.venueOrderId, o.side])).toEqual([['55', undefined]]);
    fake.calls.length = 0;
    await advance(POLL);
    expect(fake.calls).toEqual([]);
  });

  it("an order's fill is found even when the account made more trades on the symbol since the order was placed than one fetchMyTrades page holds", async () => {
    const { fake, reports, x: xx, advance, clock } = await boot();
    fake.tradesPageLimit = 500; // Binance myTrades: startTime + default limit 500, oldest first
    const o = ours();
    xx.submit(o);
    await settle();
    const id = reports[0]!.venueOrderId!;
    // 600 trades of other orders on the same symbol while ours rests (a busy market maker)
    for (let k = 0; k < 600; k++) {
      clock.advance(1);
      fake.trades.push({ id: `X${k}`, order: `other-${k}`, symbol: 'BTC/USDT', side: 'sell', price: 101, amount: 0.001, timestamp: clock.now() });
    }
    clock.advance(1);
    fake.fill(id, 0.01);
    await advance(3 * POLL);
    expect(reports.filter((r) => r.kind === 'fill').map((r) => r.lastQty)).toEqual([10]);
    // reconciliation reads every page too (the other orders are none of ours: no client id)
    fake.answerInstead = (asked) => (asked.startsWith('other-') ? { id: asked, symbol: 'BTC/USDT', status: 'closed', side: 'sell', amount: 0.001, filled: 0.001, price: 101 } : undefined);
    const all = await xx.tradesSince([I.symbol], T0 - 1);
    expect(new Set(all.map((r) => r.tradeId)).size).toBe(601);
  });

  it('trades sharing a timestamp across a page boundary are each read once', async () => {
    const { fake, reports, x: xx, advance, clock } = await boot();
    fake.tradesPageLimit = 3;
    const o = ours();
    xx.submit(o);
    await settle();
    const id = reports[0]!.venueOrderId!;
    // fills of one lot, two and two sharing a millisecond, in pages of three: each next page
    // starts at the last one's latest trade, so the trades at that time come again
    for (const n of [1, 2, 2, 1]) {
      clock.advance(1);
      for (let k = 0; k < n; k++) fake.fill(id, 0.001);
    }
    fake.calls.length = 0;
    await advance(POLL);
    expect(fake.calls.filter((c) => c === 'fetchMyTrades')).toHaveLength(4);
    expect(reports.filter((r) => r.kind === 'fill').map((r) => [r.tradeId, r.cumQty])).toEqual([['T1', 1], ['T2', 2], ['T3', 3], ['T4', 4], ['T5', 5], ['T6', 6]]);
  });

  it('a listed trade that takes the order past its size is not booked (overfill: 1 BTC booked on a 0.010 BTC order), and is counted once', async () => {
    const { fake, reports, x: xx, advance } = await boot();
    const o = ours();
    xx.submit(o);
    await settle();
    const id = reports[0]!.venueOrderId!;
    // the venue's order says 0.010 filled; its trade list names our order on a 1.0 trade
    const t = fake.fill(id, 0.01);
    t.amount = 1;
    await advance(3 * POLL);
    expect(reports.filter((r) => r.kind === 'fill')).toEqual([]);
    expect(Object.fromEntries(xx.inputRejections())).toEqual({ fill: 1 });
    // queryOrder hands over no such fill either
    const st = await xx.queryOrder({ ...o, venueOrderId: id });
    expect(st!.fills).toEqual([]);
  });

  it('a refused (off-grid) trade is counted once, not again at every poll; listed corrected later, it is booked', async () => {
    const { fake, reports, x: xx, advance } = await boot();
    const o = ours();
    xx.submit(o);
    await settle();
    const id = reports[0]!.venueOrderId!;
    const t = fake.fill(id, 0.005);
    t.amount = 0.0051; // off the 0.001 lot grid
    await advance(5 * POLL);
    expect(reports.filter((r) => r.kind === 'fill')).toEqual([]);
    expect(Object.fromEntries(xx.inputRejections())).toEqual({ fill: 1 });
    t.amount = 0.005;
    await advance(POLL);
    expect(reports.filter((r) => r.kind === 'fill').map((r) => [r.tradeId, r.lastQty])).toEqual([[t.id, 5]]);
  });

  it("queryOrder counts a trade the venue lists twice once: the order's later fill is reported while it works", async () => {
    const { fake, reports, x: xx, advance } = await boot();
    // an order of ours (qty 10 lots) working at the venue, found at a restart
    const o = ours();
    const v = await fake.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 100, { clientOrderId: o.clientOrderId });
    const a = fake.fill(v.id, 0.003);
    fake.trades.push({ ...a }); // the same trade twice in the venue's answer
    const st = await xx.queryOrder({ ...o, venueOrderId: v.id });
    expect(st!.fills.map((f) => [f.tradeId, f.cumQty])).toEqual([[a.id, 3]]);
    // a later trade while the order still works
    fake.fill(v.id, 0.003);
    await advance(2 * POLL);
    expect(reports.filter((r) => r.kind === 'fill').map((r) => [r.lastQty, r.cumQty])).toEqual([[3, 6]]);
  });

  it('a venue whose trades carry no id (ccxt hollaex, coinspot): each fill is reported once, two alike in one millisecond as two, with no made-up trade id, and the order ends', async () => {
    const { fake, reports, x: xx, advance, clock } = await boot();
    fake.tradesWithoutId = true;
    fake.tradesPageLimit = 2; // the alike pair straddles a page boundary
    const o = ours();
    xx.submit(o);
    await settle();
    const id = reports[0]!.venueOrderId!;
    fake.fill(id, 0.004);
    await advance(POLL);
    clock.advance(1);
    fake.fill(id, 0.003);
    fake.fill(id, 0.003); // alike: same order, millisecond, price and quantity
    await advance(3 * POLL);
    const fills = reports.filter((r) => r.kind === 'fill');
    // none named "undefined": the engine drops a fill whose trade id it booked before, so every
    // later id-less fill was dropped; without an id it goes by quantity
    expect(fills.map((r) => [r.lastQty, r.cumQty, r.tradeId])).toEqual([[4, 4, undefined], [3, 7, undefined], [3, 10, undefined]]);
    // filled: no longer polled
    fake.calls.length = 0;
    await advance(3 * POLL);
    expect(fake.calls).toEqual([]);
  });

  it('tradesSince on a venue whose trades carry no id: every trade once, two alike as two, none with a made-up trade id', async () => {
    const { fake, reports, x: xx, advance, clock } = await boot();
    fake.tradesWithoutId = true;
    fake.tradesPageLimit = 2;
    const a = ours();
    const b = ours();
    xx.submit(a);
    xx.submit(b);
    await settle();
    const [ida, idb] = reports.map((r) => r.venueOrderId!);
    fake.fill(ida!, 0.01);
    clock.advance(1);
    fake.fill(idb!, 0.005);
    fake.fill(idb!, 0.005);
    const got = await xx.tradesSince([I.symbol], T0 - 1);
    expect(got.map((r) => [r.clientOrderId, r.lastQty, r.tradeId])).toEqual([[a.clientOrderId, 10, undefined], [b.clientOrderId, 5, undefined], [b.clientOrderId, 5, undefined]]);
  });

  /** Orders of the last minute, each cancelled at once: `n` of them, one every `stepMs` (0: all in one millisecond), ending 30 s before now. */
  async function olderOrders(fake: FakeCcxt, clock: ManualClock, n: number, stepMs: number): Promise<void> {
    clock.advance(-30_000 - n * stepMs);
    for (let k = 0; k < n; k++) {
      clock.advance(stepMs);
      const v = await fake.createOrder('BTC/USDT', 'limit', 'buy', 0.001, 100, { clientOrderId: `older-${k}` });
      await fake.cancelOrder(v.id);
    }
    clock.advance(30_000);
  }

  it.each([
    ['spread over the minute', 12, 1000],
    ['in one millisecond, a whole page of them', 5, 0],
  ])('a market order that filled at once, whose answer timed out, is found in the closed orders past their first page (orders %s): acked and its fill booked, not "never reached the venue"', async (_what, n, stepMs) => {
    const { fake, reports, x: xx, clock, advance } = await boot({ unknown_order_grace_ms: 5_000 });
    fake.ordersPageLimit = 5; // oldest first from `since` (Binance allOrders 500, KuCoin 50, OKX 100)
    await olderOrders(fake, clock, n, stepMs);
    fake.fillMarketAtOnce = true;
    fake.failAfterPlacing = new RequestTimeout('x POST https://api/order request timed out (10000 ms)');
    const o = ours({ type: 'market', price: undefined, createdTs: clock.now() });
    xx.submit(o);
    await settle();
    await advance(8_000);
    expect(reports.filter((r) => r.clientOrderId === o.clientOrderId).map((r) => [r.kind, r.lastQty])).toEqual([['ack', 0], ['fill', 10]]);
  });

  it('where ccxt lists every status (has.fetchOrders: Binance allOrders), an IOC that filled in part and expired, whose answer timed out, is found (fetchClosedOrders drops it)', async () => {
    const { fake, reports, x: xx, advance } = await boot({ unknown_order_grace_ms: 5_000 });
    fake.has.fetchOrders = true;
    fake.failAfterPlacing = new RequestTimeout('x POST https://api/order request timed out (10000 ms)');
    fake.onPlaced = (v) => {
      fake.fill(v.id, 0.004);
      v.status = 'expired';
    };
    const o = ours({ tif: 'IOC' });
    xx.submit(o);
    await settle();
    await advance(3 * POLL);
    expect(fake.calls).toContain('fetchOrders');
    expect(fake.calls).not.toContain('fetchClosedOrders');
    expect(reports.map((r) => [r.kind, r.cumQty])).toEqual([['ack', 0], ['fill', 4], ['expired', 4]]);
  });

  it('an order history whose full page sits at one millisecond is not read to its end: the order is not reported absent, and is asked about again', async () => {
    const { fake, reports, x: xx, advance, clock } = await boot({ unknown_order_grace_ms: 3_000 });
    fake.ordersPageLimit = 10;
    // 20 orders in one millisecond: paged by time, the 10 past the first page cannot be read
    await olderOrders(fake, clock, 20, 0);
    fake.failCreate = new RequestTimeout('x POST https://api/order request timed out (10000 ms)');
    xx.submit(ours({ createdTs: clock.now() }));
    await settle();
    await advance(6_000);
    expect(reports).toEqual([]);
    expect(fake.calls.filter((c) => c === 'fetchOpenOrders').length).toBeGreaterThanOrEqual(6);
  });

  it('an order that never arrived, after a batch of orders in one millisecond shorter than a page, is rejected after the grace (that page is the last)', async () => {
    const { fake, reports, x: xx, advance, clock } = await boot({ unknown_order_grace_ms: 3_000 });
    fake.ordersPageLimit = 20;
    await olderOrders(fake, clock, 15, 1000);
    await olderOrders(fake, clock, 12, 0);
    fake.failCreate = new RequestTimeout('x POST https://api/order request timed out (10000 ms)');
    xx.submit(ours({ createdTs: clock.now() }));
    await settle();
    await advance(4_000);
    expect(reports.map((r) => [r.kind, r.rejectReason])).toEqual([['rejected', 'VENUE_ERROR']]);
  });

  it('an order that never arrived, on an account with one other order in the minute, is rejected after the grace (a short history is read to its end)', async () => {
    const { fake, reports, x: xx, advance, clock } = await boot({ unknown_order_grace_ms: 3_000 });
    fake.ordersPageLimit = 500;
    await olderOrders(fake, clock, 1, 0);
    fake.failCreate = new RequestTimeout('x POST https://api/order request timed out (10000 ms)');
    xx.submit(ours({ createdTs: clock.now() }));
    await settle();
    await advance(4_000);
    expect(reports.map((r) => [r.kind, r.rejectReason])).toEqual([['rejected', 'VENUE_ERROR']]);
  });

  it('where ccxt finds an order by client id (ccxt_id binance: origClientOrderId), an order whose answer timed out is asked for directly, without reading the order history', async () => {
    const { fake, reports, x: xx, advance, clock } = await boot({ ccxt_id: 'binance', unknown_order_grace_ms: 5_000 });
    fake.fetchOrderByClientId = true;
    fake.ordersPageLimit = 5;
    await olderOrders(fake, clock, 12, 1000);
    fake.fillMarketAtOnce = true;
    fake.failAfterPlacing = new RequestTimeout('x POST https://api/order request timed out (10000 ms)');
    const o = ours({ type: 'market', price: undefined, createdTs: clock.now() });
    fake.calls.length = 0;
    xx.submit(o);
    await settle();
    await advance(2 * POLL);
    expect(fake.calls).toContain('fetchOrder ');
    expect(fake.calls).not.toContain('fetchOpenOrders');
    expect(fake.calls).not.toContain('fetchClosedOrders');
    expect(reports.filter((r) => r.clientOrderId === o.clientOrderId).map((r) => [r.kind, r.lastQty])).toEqual([['ack', 0], ['fill', 10]]);
  });

  it('openOrders (reconciliation step 1b) on a venue whose fetchOpenOrders needs a symbol (ccxt phemex, bitrue, lbank; binance by default) lists the working orders, asking per loaded instrument', async () => {
    const { fake, x: xx } = await boot();
    fake.openOrdersNeedSymbol = true;
    const o = ours();
    xx.submit(o);
    await settle();
    const listed = await xx.openOrders();
    expect(listed.map((v) => [v.clientOrderId, v.symbol])).toEqual([[o.clientOrderId, I.symbol]]);
    // ETH/USDT is a venue market with no instrument here: not asked about
    expect(fake.openOrdersAsked).toEqual(['BTC/USDT']);
  });
});

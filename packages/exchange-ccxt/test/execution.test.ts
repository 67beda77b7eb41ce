/**
 * The ccxt execution client against a scripted ccxt stand-in (no network), polled by hand (fake
 * interval timers, the venue's clock a ManualClock): what the venue did must reach the engine
 * once, in order, whatever ccxt hands back; orders found at a restart are followed, and their
 * trades are booked once across reconciliation.
 */
import { defineInstrument, ManualClock, type ExecutionReport, type Instrument, type MarketDataClient, type Order } from '@cwts/core';
import { Engine } from '@cwts/core/engine';
import { MetricsRegistry, silentLogger } from '@cwts/core/observability';
import { conformanceOrder } from '@cwts/core/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CcxtExchange, CcxtMyTrade, CcxtOrder } from '../src/ccxt-exchange.js';
import { CcxtExecution } from '../src/execution.js';
import { resolveCcxtOptions } from '../src/options.js';

const I = defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const POLL = 1000;
const T0 = Date.parse('2026-12-05T10:00:00Z');

/** ccxt's class for an order the venue does not know (the client maps errors by class). */
class OrderNotFound extends Error {}

/** A ccxt exchange as this client uses it: orders and trades in memory, answers copied. */
class FakeCcxt {
  readonly orders = new Map<string, CcxtOrder>();
  readonly trades: CcxtMyTrade[] = [];
  readonly calls: string[] = [];
  readonly has: Record<string, boolean> = {};
  readonly markets_by_id = { BTCUSDT: [{ id: 'BTCUSDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', precision: {} }] };
  /** Edits every order answer (fetchOrder) before it is returned. */
  editOrder: ((o: CcxtOrder) => void) | undefined;
  /**
   * A venue that drops a cancelled order (fetchOrder: OrderNotFound), as many do with an order
   * cancelled without fills, or that look up open orders only.
   */
  forgetsCancelled = false;
  /** Thrown by fetchOpenOrders (a read that fails) while set. */
  openOrdersFail: Error | undefined;
  private seq = 0;
  private tradeSeq = 0;
  constructor(private readonly clock: ManualClock) {}
  async createOrder(symbol: string, _type: string, side: string, amount: string | number, price?: string | number, params?: { clientOrderId?: string }): Promise<CcxtOrder> {
    const id = String(++this.seq);
    const o: CcxtOrder = { id, clientOrderId: params?.clientOrderId, symbol, status: 'open', side, amount: Number(amount), price: price === undefined ? undefined : Number(price), filled: 0, timestamp: this.clock.now() };
    this.orders.set(id, o);
    return { ...o };
  }
  async cancelOrder(id: string): Promise<CcxtOrder> {
    const o = this.orders.get(id);
    if (!o || o.status !== 'open') throw new OrderNotFound('unknown order');
    o.status = 'canceled';
    if (this.forgetsCancelled) this.orders.delete(id);
    return { ...o };
  }
  async fetchOrder(id: string): Promise<CcxtOrder> {
    this.calls.push(`fetchOrder ${id}`);
    const o = this.orders.get(id);
    if (!o) throw new OrderNotFound('unknown order');
    const c = { ...o };
    this.editOrder?.(c);
    return c;
  }
  async fetchOpenOrders(): Promise<CcxtOrder[]> {
    this.calls.push('fetchOpenOrders');
    if (this.openOrdersFail) throw this.openOrdersFail;
    return [...this.orders.values()].filter((o) => o.status === 'open').map((o) => ({ ...o }));
  }
  /** Every order of every status from `since` (used only where `has.fetchOrders` is set). */
  async fetchOrders(symbol: string, since?: number): Promise<CcxtOrder[]> {
    this.calls.push('fetchOrders');
    return [...this.orders.values()].filter((o) => o.symbol === symbol && (since === undefined || (o.timestamp ?? 0) >= since)).map((o) => ({ ...o }));
  }
  async fetchMyTrades(symbol: string, since?: number): Promise<CcxtMyTrade[]> {
    this.calls.push('fetchMyTrades');
    return this.trades.filter((t) => t.symbol === symbol && (since === undefined || (t.timestamp ?? 0) >= since)).map((t) => ({ ...t }));
  }
  async fetchBalance() {
    return { total: {} };
  }
  numberToString(n: number | string): string {
    return String(n);
  }
  /**
   * The venue fills `qty` of order `id` at its price (maker, fee 0.01 USDT); `listed: false` keeps
   * the trade out of the trade list for now; `at` names the trade and dates it (else T<n>, now).
   */
  fill(id: string, qty: number, listed = true, at?: { tradeId: string; ts: number }): CcxtMyTrade {
    const o = this.orders.get(id)!;
    o.filled = Math.round(((o.filled ?? 0) + qty) * 1000) / 1000;
    if (o.filled >= (o.amount ?? 0)) o.status = 'closed';
    const t: CcxtMyTrade = {
      id: at?.tradeId ?? `T${++this.tradeSeq}`, order: id, symbol: o.symbol, side: o.side, price: o.price!, amount: qty, timestamp: at?.ts ?? this.clock.now(), takerOrMaker: 'maker', fee: { cost: 0.01, currency: 'USDT' },
    };
    if (listed) this.trades.push(t);
    this.trades.sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
    return t;
  }
}

/** Lets every pending answer of the stand-in (promises only, no I/O) run to its end. */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('ccxt execution against a scripted ccxt', () => {
  let x: CcxtExecution | undefined;
  afterEach(async () => {
    await x?.stop();
    x = undefined;
    vi.useRealTimers();
  });

  async function boot(): Promise<{ fake: FakeCcxt; reports: ExecutionReport[]; x: CcxtExecution; poll: () => Promise<void> }> {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clock = new ManualClock(T0);
    const fake = new FakeCcxt(clock);
    x = new CcxtExecution({
      exchange: 'x', ccxt: async () => fake as unknown as CcxtExchange, options: resolveCcxtOptions({ poll_interval_ms: POLL }), clock, hasCredentials: true,
      instrument: (s) => (s === I.symbol ? I : undefined), ccxtSymbol: (s) => (s === I.symbol ? 'BTC/USDT' : undefined),
    });
    const reports: ExecutionReport[] = [];
    await x.start((r) => reports.push(r));
    const poll = async () => {
      clock.advance(POLL);
      await vi.advanceTimersByTimeAsync(POLL);
      await settle();
    };
    return { fake, reports, x, poll };
  }

  /** An order of ours, made on the venue's clock. */
  const ours = (extra: Partial<Order> = {}): Order => ({ ...conformanceOrder(I, { side: 'buy', price: '100.00', qty: '0.010' }), createdTs: T0, updatedTs: T0, ...extra });

  async function placed(xx: CcxtExecution, reports: ExecutionReport[]): Promise<{ o: Order; id: string }> {
    const o = ours();
    xx.submit(o);
    await settle();
    const id = reports.find((r) => r.kind === 'ack' && r.clientOrderId === o.clientOrderId)!.venueOrderId!;
    return { o: { ...o, venueOrderId: id, status: 'open' }, id };
  }

  const kinds = (reports: ExecutionReport[]) => reports.map((r) => (r.kind === 'fill' ? `fill ${r.tradeId} ${r.lastQty}/${r.cumQty}` : r.kind));

  it('a fill the venue made before our cancel (not polled yet) is reported before the cancel, which waits for the trade list', async () => {
    const { fake, reports, x: xx, poll } = await boot();
    const { o, id } = await placed(xx, reports);
    // the venue fills half, then takes our cancel before a poll has seen the fill; its trade list lags
    const lagging = fake.fill(id, 0.005, false);
    xx.cancel(o);
    await settle();
    expect(kinds(reports)).toEqual(['ack']);
    fake.trades.push(lagging);
    await poll();
    await poll();
    expect(kinds(reports)).toEqual(['ack', 'fill T1 5/5', 'cancelled']);
    expect(reports.at(-1)).toMatchObject({ kind: 'cancelled', cumQty: 5, leavesQty: 0 });
  });

  it('an order the venue rejects after its ack (status "rejected") is ended as rejected and no longer polled', async () => {
    const { fake, reports, x: xx, poll } = await boot();
    const { id } = await placed(xx, reports);
    fake.orders.get(id)!.status = 'rejected';
    await poll();
    expect(reports.slice(1)).toMatchObject([{ kind: 'rejected', rejects: 'order', rejectReason: 'VENUE_ERROR', leavesQty: 0, cumQty: 0 }]);
    fake.calls.length = 0;
    await poll();
    expect(fake.calls).toEqual([]);
  });

  it.each([
    ['left out', (c: CcxtOrder) => delete c.filled],
    ['null', (c: CcxtOrder) => (c.filled = null as unknown as number)],
    ['off the lot grid', (c: CcxtOrder) => (c.filled = 0.0095)],
  ])('an order whose `filled` ccxt hands %s: its trades are read anyway, and a closed one ends once they add up', async (_what, edit) => {
    const { fake, reports, x: xx, poll } = await boot();
    const { id } = await placed(xx, reports);
    fake.editOrder = edit;
    fake.fill(id, 0.004);
    await poll();
    expect(kinds(reports)).toEqual(['ack', 'fill T1 4/4']);
    // closed; its last trade not listed yet: the order stays followed until it is
    const late = fake.fill(id, 0.006, false);
    await poll();
    expect(kinds(reports)).toEqual(['ack', 'fill T1 4/4']);
    fake.trades.push(late);
    await poll();
    expect(kinds(reports)).toEqual(['ack', 'fill T1 4/4', 'fill T2 6/10']);
    fake.calls.length = 0;
    await poll();
    expect(fake.calls).toEqual([]);
  });

  it('an order the venue closes filled in part (the rest of an IOC) ends as expired after its trades', async () => {
    const { fake, reports, x: xx, poll } = await boot();
    const { id } = await placed(xx, reports);
    fake.fill(id, 0.004);
    fake.orders.get(id)!.status = 'closed';
    await poll();
    expect(kinds(reports)).toEqual(['ack', 'fill T1 4/4', 'expired']);
    // the adapter kit's wording: one form for operators to search across venues
    expect(reports.at(-1)).toMatchObject({ cumQty: 4, leavesQty: 0, text: 'x closed the order filled at 4 of 10 lots' });
  });

  it('an order queryOrder finds working at a restart is followed: its later fills are reported, the listed ones not again', async () => {
    const { fake, reports, x: xx, poll } = await boot();
    // the previous process placed it; one trade came while it was down
    const before = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'cw-restored-1' });
    fake.fill(before.id, 0.002);
    const journaled = ours({ clientOrderId: 'cw-restored-1', venueOrderId: before.id, status: 'open' });
    const st = await xx.queryOrder(journaled);
    expect(st).toMatchObject({ status: 'partially_filled', filledQty: 2 });
    expect(st!.fills.map((f) => f.tradeId)).toEqual(['T1']);
    fake.fill(before.id, 0.004);
    await poll();
    expect(reports.map((r) => [r.kind, r.clientOrderId, r.tradeId, r.lastQty, r.cumQty])).toEqual([['fill', 'cw-restored-1', 'T2', 4, 6]]);
  });

  it('an order openOrders finds at a restart is followed from its filled quantity; queryOrder hands over the trades of one it lists; one without a client id, or without a filled quantity, is not polled', async () => {
    const { fake, reports, x: xx, poll } = await boot();
    // placed by hand (a client id the engine does not issue): its trade so far is none of this process's to report
    const foreign = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'manual-1' });
    fake.fill(foreign.id, 0.002);
    // one of ours the journal lost: its trade not in the venue's trade list yet
    const adopted = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'cw-adopted-1' });
    const lagging = fake.fill(adopted.id, 0.002, false);
    const byHand = await fake.createOrder('BTC/USDT', 'limit', 'sell', '0.010', '200.00');
    // listed without its filled quantity: which of its trades came before cannot be told
    const unsaid = await fake.createOrder('BTC/USDT', 'limit', 'sell', '0.010', '200.00', { clientOrderId: 'manual-2' });
    fake.fill(unsaid.id, 0.001);
    delete fake.orders.get(unsaid.id)!.filled;
    const listed = await xx.openOrders();
    expect(listed.map((o) => [o.clientOrderId, o.filledQty])).toEqual([['manual-1', 2], ['cw-adopted-1', 2], [`venue-${byHand.id}`, 0], ['manual-2', 0]]);
    // the engine adopts the second and asks about it: no trade listed yet, so none handed over,
    // and answered as far as the listed trades go (the polls book the rest), as the adapter kit does
    const st = await xx.queryOrder(listed[1]!);
    expect(st).toMatchObject({ status: 'open', filledQty: 0, fills: [] });
    fake.trades.push(lagging);
    fake.fill(foreign.id, 0.003);
    fake.fill(adopted.id, 0.003);
    await poll();
    // the listed order: only its new trade; the adopted one: each trade once, from what queryOrder handed over (none)
    expect(reports.map((r) => [r.kind, r.clientOrderId, r.tradeId, r.lastQty, r.cumQty])).toEqual([
      ['fill', 'manual-1', 'T4', 3, 5],
      ['fill', 'cw-adopted-1', 'T2', 2, 2],
      ['fill', 'cw-adopted-1', 'T5', 3, 5],
    ]);
    expect(fake.calls.filter((c) => c === `fetchOrder ${byHand.id}` || c === `fetchOrder ${unsaid.id}`)).toEqual([]);
  });

  it('an order the venue ended while its trades lag is answered as far as they go and followed: the late trades are reported, then its end', async () => {
    const { fake, reports, x: xx, poll } = await boot();
    // the previous process placed three; while it was down one filled in full, one (an IOC) was
    // closed at 4 of 10 lots, one was cancelled after 2 lots; some of their trades are not listed yet
    const full = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'cw-restored-1' });
    const lateFull = fake.fill(full.id, 0.01, false);
    const ioc = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'cw-restored-2' });
    fake.fill(ioc.id, 0.001);
    const lateIoc = fake.fill(ioc.id, 0.003, false);
    fake.orders.get(ioc.id)!.status = 'closed';
    const cxl = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'cw-restored-3' });
    const lateCxl = fake.fill(cxl.id, 0.002, false);
    fake.orders.get(cxl.id)!.status = 'canceled';
    const answers = [];
    for (const [cid, id] of [['cw-restored-1', full.id], ['cw-restored-2', ioc.id], ['cw-restored-3', cxl.id]] as const) {
      const st = await xx.queryOrder(ours({ clientOrderId: cid, venueOrderId: id, status: 'open' }));
      answers.push([st!.status, st!.filledQty, st!.fills.map((f) => f.tradeId)]);
    }
    // not `filled` / `cancelled` with lots no fill explains: as far as the listed trades go
    expect(answers).toEqual([['open', 0, []], ['partially_filled', 1, ['T2']], ['open', 0, []]]);
    // still not listed: nothing reported, nothing ended
    await poll();
    expect(reports).toEqual([]);
    fake.trades.push(lateFull, lateIoc, lateCxl);
    await poll();
    expect(reports.map((r) => [r.kind, r.clientOrderId, r.tradeId, r.cumQty, r.leavesQty, r.text])).toEqual([
      ['fill', 'cw-restored-1', 'T1', 10, 0, undefined],
      ['fill', 'cw-restored-2', 'T3', 4, 6, undefined],
      ['expired', 'cw-restored-2', undefined, 4, 0, 'x closed the order filled at 4 of 10 lots'],
      ['fill', 'cw-restored-3', 'T4', 2, 8, undefined],
      ['cancelled', 'cw-restored-3', undefined, 2, 0, undefined],
    ]);
    // all three ended: no longer read
    fake.calls.length = 0;
    await poll();
    expect(fake.calls).toEqual([]);
  });

  it('an order the venue ended whose trades are all listed is answered with its end at once, a short close as cancelled, and not followed', async () => {
    const { fake, x: xx, poll } = await boot();
    const full = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'cw-restored-1' });
    fake.fill(full.id, 0.01);
    const ioc = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'cw-restored-2' });
    fake.fill(ioc.id, 0.004);
    fake.orders.get(ioc.id)!.status = 'closed';
    const a = await xx.queryOrder(ours({ clientOrderId: 'cw-restored-1', venueOrderId: full.id, status: 'open' }));
    const b = await xx.queryOrder(ours({ clientOrderId: 'cw-restored-2', venueOrderId: ioc.id, status: 'open' }));
    expect([a, b].map((st) => [st!.status, st!.filledQty, st!.fills.map((f) => f.tradeId)])).toEqual([['filled', 10, ['T1']], ['cancelled', 4, ['T2']]]);
    fake.calls.length = 0;
    await poll();
    expect(fake.calls).toEqual([]);
  });

  it('an order listed without a time: its createdTs is the time of the read, not 0, and its trades from before are still found', async () => {
    const { fake, reports, x: xx, poll } = await boot();
    // one of ours, placed hours ago: the venue lists it without a time; 2 lots filled an hour ago
    const untimed = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'cw-untimed-1' });
    delete fake.orders.get(untimed.id)!.timestamp;
    fake.fill(untimed.id, 0.002, true, { tradeId: 'T-OLD', ts: T0 - 3_600_000 });
    // and one placed by hand alike: followed from its filled quantity, only its new trades reported
    const manual = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'manual-1' });
    delete fake.orders.get(manual.id)!.timestamp;
    fake.fill(manual.id, 0.002, true, { tradeId: 'T-OLD-M', ts: T0 - 3_600_000 });
    const listed = await xx.openOrders();
    expect(listed.map((o) => [o.clientOrderId, o.createdTs, o.updatedTs])).toEqual([['cw-untimed-1', T0, T0], ['manual-1', T0, T0]]);
    // adopted and asked about: its trade from before the read is handed over
    const st = await xx.queryOrder(listed[0]!);
    expect(st).toMatchObject({ status: 'partially_filled', filledQty: 2 });
    expect(st!.fills.map((f) => f.tradeId)).toEqual(['T-OLD']);
    fake.fill(untimed.id, 0.003, true, { tradeId: 'T-NEW', ts: T0 + 500 });
    fake.fill(manual.id, 0.003, true, { tradeId: 'T-NEW-M', ts: T0 + 500 });
    await poll();
    // each new trade once; neither listing's old trade again, nor a new one taken for an old one
    expect(reports.map((r) => [r.clientOrderId, r.tradeId, r.cumQty])).toEqual([['manual-1', 'T-NEW-M', 5], ['cw-untimed-1', 'T-NEW', 5]]);
  });

  it("tradesSince names each trade's client order id from its venue order; an order the venue no longer knows leaves it unset", async () => {
    const { fake, reports, x: xx } = await boot();
    const { o, id } = await placed(xx, reports);
    fake.fill(id, 0.002);
    const gone = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'cw-old-1' });
    const old = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'cw-old-2' });
    fake.fill(gone.id, 0.001);
    fake.fill(old.id, 0.001);
    fake.fill(old.id, 0.001);
    fake.orders.delete(gone.id);
    fake.calls.length = 0;
    const trades = await xx.tradesSince([I.symbol], 0);
    expect(trades.map((t) => [t.clientOrderId, t.tradeId])).toEqual([[o.clientOrderId, 'T1'], [undefined, 'T2'], ['cw-old-2', 'T3'], ['cw-old-2', 'T4']]);
    // the followed order is known without a read; each other order is read once (the trade list
    // is read a second time from its last trade: the venue's page size is not known yet, so only
    // a page that adds nothing says the list has ended)
    expect(fake.calls).toEqual(['fetchMyTrades', 'fetchMyTrades', `fetchOrder ${gone.id}`, `fetchOrder ${old.id}`]);
  });
});

describe('ccxt reconciliation after a restart', () => {
  it('a trade made while down is booked once: through queryOrder, not again as an adopted order from tradesSince', async () => {
    const clock = new ManualClock(T0);
    const t0 = clock.now() - 60_000;
    const order: CcxtOrder = { id: '77', clientOrderId: 'cw-1-abc', symbol: 'BTC/USDT', status: 'open', side: 'buy', amount: 0.01, price: 100, filled: 0.002, timestamp: t0 };
    const trade: CcxtMyTrade = { id: 'T1', order: '77', symbol: 'BTC/USDT', side: 'buy', price: 100, amount: 0.002, timestamp: t0 + 1000, takerOrMaker: 'maker', fee: { cost: 0.001, currency: 'USDT' } };
    const fake = {
      has: {},
      fetchOrder: async () => ({ ...order }),
      fetchOpenOrders: async () => [{ ...order }],
      fetchMyTrades: async () => [{ ...trade }],
      fetchBalance: async () => ({ total: { BTC: 0.002 } }),
      numberToString: (n: number | string) => String(n),
      markets_by_id: { BTCUSDT: [{ id: 'BTCUSDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', precision: {} }] },
    } as unknown as CcxtExchange;
    const execution = new CcxtExecution({
      exchange: 'x', ccxt: async () => fake, options: resolveCcxtOptions({ poll_interval_ms: 600_000 }), clock, hasCredentials: true,
      instrument: (s) => (s === I.symbol ? I : undefined), ccxtSymbol: (s) => (s === I.symbol ? 'BTC/USDT' : undefined),
    });
    const marketData: MarketDataClient = { exchange: 'x', loadInstruments: async (): Promise<Instrument[]> => [I], start: async () => {}, stop: async () => {} };
    // the journal's view: the order open, nothing filled (the fill came while we were down)
    const journaled: Order = {
      exchange: 'x', symbol: I.symbol, side: 'buy', type: 'limit', price: 10_000, qty: 10, tif: 'GTC', source: 'test', clientOrderId: 'cw-1-abc', venueOrderId: '77',
      status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: t0, updatedTs: t0,
    };
    const engine = new Engine({
      clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, onShutdown: 'keep',
      venues: [{ name: 'x', symbols: [I.symbol], marketData, execution }],
      restore: (e: Engine) => e.orders.restore({ ...journaled }),
    } as ConstructorParameters<typeof Engine>[0]);
    await engine.start();
    try {
      // the venue: 2 lots bought, once
      expect(engine.portfolio.qty('x', I.symbol)).toBe(2);
      expect(engine.orders.get('cw-1-abc')).toMatchObject({ filledQty: 2 });
    } finally {
      await engine.stop('test');
    }
  });
});

describe('ccxt reconciliation: a journaled order the venue closed while its trade list lags', () => {
  // At a restart the venue shows the order closed (filled) but does not list its trade yet. Answered
  // `filled` with no fill, the engine closed it with "unexplained" lots and nothing followed it:
  // the trade listed a moment later was never booked, the position lacked it until another restart.
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.stop('test');
    engine = undefined;
    vi.useRealTimers();
  });

  it('is kept open without a mismatch, and its trade is booked by the polls once listed; the order then ends filled', async () => {
    vi.useFakeTimers();
    const clock = new ManualClock(T0);
    const fake = new FakeCcxt(clock);
    const v = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'cw-1-lag' });
    const late = fake.fill(v.id, 0.01, false);
    const journaled: Order = { ...conformanceOrder(I, { side: 'buy', price: '100.00', qty: '0.010' }), clientOrderId: 'cw-1-lag', venueOrderId: v.id, status: 'open', createdTs: T0, updatedTs: T0 };
    const execution = new CcxtExecution({
      exchange: 'x', ccxt: async () => fake as unknown as CcxtExchange, options: resolveCcxtOptions({ poll_interval_ms: POLL }), clock, hasCredentials: true,
      instrument: (s) => (s === I.symbol ? I : undefined), ccxtSymbol: (s) => (s === I.symbol ? 'BTC/USDT' : undefined),
    });
    const marketData: MarketDataClient = { exchange: 'x', loadInstruments: async (): Promise<Instrument[]> => [I], start: async () => {}, stop: async () => {} };
    engine = new Engine({
      clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, onShutdown: 'keep',
      venues: [{ name: 'x', symbols: [I.symbol], marketData, execution }],
      restore: (e: Engine) => e.orders.restore({ ...journaled }),
    } as ConstructorParameters<typeof Engine>[0]);
    await engine.start();
    expect(engine.reconcileResult!.mismatches.filter((m) => m.kind === 'status')).toEqual([]);
    expect(engine.orders.get('cw-1-lag')).toMatchObject({ status: 'open', filledQty: 0 });
    fake.trades.push(late);
    clock.advance(3 * POLL);
    await vi.advanceTimersByTimeAsync(3 * POLL);
    expect(engine.orders.get('cw-1-lag')).toMatchObject({ status: 'filled', filledQty: 10 });
    expect(engine.portfolio.qty('x', I.symbol)).toBe(10);
  });
});

describe('ccxt queryOrder of an order journaled without a venue id (a crash between send and ack)', () => {
  // The journal writes an order before it is sent; a crash before the ack leaves it without the
  // venue's id. fetchOrder('', {clientOrderId}) finds it only on the venues whose fetchOrder takes
  // a client id alone: elsewhere "not found" was answered as unknown, and the engine closed as
  // "never arrived" an order working at the venue, unfollowed.
  let x: CcxtExecution | undefined;
  afterEach(async () => {
    await x?.stop();
    x = undefined;
    vi.useRealTimers();
  });

  async function boot(): Promise<{ fake: FakeCcxt; reports: ExecutionReport[]; x: CcxtExecution; poll: () => Promise<void> }> {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clock = new ManualClock(T0);
    const fake = new FakeCcxt(clock);
    x = new CcxtExecution({
      exchange: 'x', ccxt: async () => fake as unknown as CcxtExchange, options: resolveCcxtOptions({ poll_interval_ms: POLL }), clock, hasCredentials: true,
      instrument: (s) => (s === I.symbol ? I : undefined), ccxtSymbol: (s) => (s === I.symbol ? 'BTC/USDT' : undefined),
    });
    const reports: ExecutionReport[] = [];
    await x.start((r) => reports.push(r));
    const poll = async () => {
      clock.advance(POLL);
      await vi.advanceTimersByTimeAsync(POLL);
      await settle();
    };
    return { fake, reports, x, poll };
  }
  const journaled = (clientOrderId: string): Order => ({ ...conformanceOrder(I, { side: 'buy', price: '100.00', qty: '0.010' }), clientOrderId, status: 'pending_new', createdTs: T0, updatedTs: T0 });

  it('finds it among the open orders by its client id, answers with its venue id, and follows it', async () => {
    const { fake, reports, x: xx, poll } = await boot();
    const working = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'cw-crashed-1' });
    fake.fill(working.id, 0.002);
    const st = await xx.queryOrder(journaled('cw-crashed-1'));
    expect(st).toMatchObject({ clientOrderId: 'cw-crashed-1', venueOrderId: working.id, status: 'partially_filled', filledQty: 2 });
    expect(st!.fills.map((f) => [f.tradeId, f.venueOrderId])).toEqual([['T1', working.id]]);
    fake.fill(working.id, 0.008);
    await poll();
    expect(reports.map((r) => [r.kind, r.clientOrderId, r.venueOrderId, r.tradeId, r.cumQty])).toEqual([['fill', 'cw-crashed-1', working.id, 'T2', 10]]);
  });

  it('finds one that already ended in the order history, with its trades', async () => {
    const { fake, x: xx } = await boot();
    fake.has.fetchOrders = true;
    const done = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'cw-crashed-2' });
    fake.fill(done.id, 0.01);
    const st = await xx.queryOrder(journaled('cw-crashed-2'));
    expect(st).toMatchObject({ venueOrderId: done.id, status: 'filled', filledQty: 10 });
    expect(st!.fills.map((f) => f.tradeId)).toEqual(['T1']);
  });

  it('a lookup that failed is a failed read (it throws), not "unknown"; one read to its end without it is', async () => {
    const { fake, x: xx } = await boot();
    fake.has.fetchOrders = true;
    await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'cw-crashed-3' });
    fake.openOrdersFail = new Error('ECONNRESET');
    await expect(xx.queryOrder(journaled('cw-crashed-3'))).rejects.toThrow('ECONNRESET');
    fake.openOrdersFail = undefined;
    expect(await xx.queryOrder(journaled('cw-never-sent'))).toBeUndefined();
    expect(fake.calls).toContain('fetchOrders');
  });
});

describe('ccxt reconciliation: an order working at the venue that the journal never saw', () => {
  // openOrders lists every working order of the account. One placed outside this process (by
  // hand) the engine leaves alone, and books its trade since the journal began (tradesSince) as
  // an adopted trade under the same client id; so whatever the client reports of that order
  // later is booked too. Followed from nothing booked, the client's first poll of it reported
  // every trade it ever had, the one from a day before the journal began included: the
  // position moved by the account's history.
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.stop('test');
    engine = undefined;
    vi.useRealTimers();
  });

  async function start(fake: FakeCcxt, clock: ManualClock): Promise<Engine> {
    const execution = new CcxtExecution({
      exchange: 'x', ccxt: async () => fake as unknown as CcxtExchange, options: resolveCcxtOptions({ poll_interval_ms: POLL }), clock, hasCredentials: true,
      instrument: (s) => (s === I.symbol ? I : undefined), ccxtSymbol: (s) => (s === I.symbol ? 'BTC/USDT' : undefined),
    });
    const marketData: MarketDataClient = { exchange: 'x', loadInstruments: async (): Promise<Instrument[]> => [I], start: async () => {}, stop: async () => {} };
    engine = new Engine({ clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, onShutdown: 'keep', venues: [{ name: 'x', symbols: [I.symbol], marketData, execution }] });
    await engine.start();
    return engine;
  }
  /** The mismatches about orders and trades (the spot position, read from balances, is not this test's concern). */
  const found = (e: Engine) =>
    e.reconcileResult!.mismatches.filter((m) => m.kind !== 'position').map((m) => `${m.kind}: ${m.kind === 'unknown_trade' ? /trade (\S+)/.exec(m.detail)?.[1] : /(adopted|left alone)$/.exec(m.detail)?.[1]}`);

  it('one placed by hand: its trade from before the journal began is never booked, after reconciliation, after polls, after it trades again', async () => {
    vi.useFakeTimers();
    const clock = new ManualClock(T0);
    const fake = new FakeCcxt(clock);
    const poll = async (n = 3) => {
      clock.advance(n * POLL);
      await vi.advanceTimersByTimeAsync(n * POLL);
    };
    // placed by hand two days ago: 10 lots, 4 filled (T-OLD a day before we started, T-NEW while we were down)
    const manual = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'manual-1' });
    fake.orders.get(manual.id)!.timestamp = T0 - 2 * 86_400_000;
    fake.fill(manual.id, 0.002, true, { tradeId: 'T-OLD', ts: T0 - 86_400_000 });
    fake.fill(manual.id, 0.002, true, { tradeId: 'T-NEW', ts: T0 - 1000 });
    const e = await start(fake, clock);
    // reconciliation leaves the order alone and books its trade since the journal began (T-NEW) as an adopted trade
    expect(found(e)).toEqual(['unknown_order: left alone', 'unknown_trade: T-NEW']);
    expect(e.portfolio.qty('x', I.symbol)).toBe(2);
    await poll();
    expect(e.portfolio.qty('x', I.symbol)).toBe(2);
    // it trades again: the poll reads its trades, and reports only the new one
    fake.fill(manual.id, 0.003, true, { tradeId: 'T3', ts: clock.now() });
    fake.calls.length = 0;
    await poll();
    expect(fake.calls).toContain('fetchMyTrades');
    // T-NEW and T3 (the engine books the order's live trades onto the one it adopted from T-NEW); T-OLD would make 7
    expect(e.portfolio.qty('x', I.symbol)).toBe(5);
    expect(e.orders.get('manual-1')).toMatchObject({ filledQty: 5 });
  });

  it('one of our ids: adopted and asked about, its trade from before the trade window is booked once, at once, and the polls book it no second time', async () => {
    vi.useFakeTimers();
    const clock = new ManualClock(T0);
    const fake = new FakeCcxt(clock);
    const poll = async (n = 3) => {
      clock.advance(n * POLL);
      await vi.advanceTimersByTimeAsync(n * POLL);
    };
    // no journal: tradesSince reads from 10 minutes before now; T-1 is an hour old
    const lost = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'cw-1' });
    fake.orders.get(lost.id)!.timestamp = T0 - 2 * 3_600_000;
    fake.fill(lost.id, 0.005, true, { tradeId: 'T-1', ts: T0 - 3_600_000 });
    const e = await start(fake, clock);
    expect(found(e)).toEqual(['unknown_order: adopted']);
    expect(e.orders.get('cw-1')).toMatchObject({ status: 'partially_filled', filledQty: 5 });
    expect(e.portfolio.qty('x', I.symbol)).toBe(5);
    await poll();
    expect(e.portfolio.qty('x', I.symbol)).toBe(5);
    fake.fill(lost.id, 0.005, true, { tradeId: 'T-2', ts: clock.now() });
    await poll();
    expect(e.orders.get('cw-1')).toMatchObject({ status: 'filled', filledQty: 10 });
    expect(e.portfolio.qty('x', I.symbol)).toBe(10);
  });
});

describe('ccxt: an accepted cancel on a venue that forgets cancelled orders', () => {
  // A cancel the venue accepted is followed by a read of the order (its fills made before the
  // cancel come first). A venue that no longer returns the cancelled order never gives a read
  // that shows it closed: the order is then ended as cancelled after its trades are read once,
  // not left pending_cancel and polled for ever.
  let x: CcxtExecution | undefined;
  afterEach(async () => {
    await x?.stop();
    x = undefined;
    vi.useRealTimers();
  });

  it('is reported cancelled (and the order is no longer polled) even though the order cannot be read afterwards', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clock = new ManualClock(T0);
    const fake = new FakeCcxt(clock);
    fake.forgetsCancelled = true;
    x = new CcxtExecution({
      exchange: 'x', ccxt: async () => fake as unknown as CcxtExchange, options: resolveCcxtOptions({ poll_interval_ms: POLL }), clock, hasCredentials: true,
      instrument: (s) => (s === I.symbol ? I : undefined), ccxtSymbol: (s) => (s === I.symbol ? 'BTC/USDT' : undefined),
    });
    const reports: ExecutionReport[] = [];
    await x.start((r) => reports.push(r));
    const o: Order = { ...conformanceOrder(I, { side: 'buy', price: '100.00', qty: '0.010' }), createdTs: T0, updatedTs: T0 };
    x.submit(o);
    await settle();
    const id = reports.find((r) => r.kind === 'ack')!.venueOrderId!;
    x.cancel({ ...o, venueOrderId: id, status: 'pending_cancel' });
    await settle();
    for (let k = 0; k < 5; k++) {
      clock.advance(POLL);
      await vi.advanceTimersByTimeAsync(POLL);
      await settle();
    }
    // the venue took the cancel: the engine must learn that the order ended
    expect(reports.map((r) => r.kind)).toEqual(['ack', 'cancelled']);
    // and the order is not read again and again for ever
    const reads = fake.calls.length;
    clock.advance(POLL);
    await vi.advanceTimersByTimeAsync(POLL);
    await settle();
    expect(fake.calls.length).toBe(reads);
  });
});

describe('ccxt fees by the asset the venue charged', () => {
  // Spot venues charge a buy's commission in the base asset (OKX, KuCoin, Gate, MEXC, Binance
  // without BNB). The fill's price is at hand, so the fee is booked in quote atoms like any
  // other; only a third asset (a venue token) stays 0 atoms with its asset named.
  async function feeOf(fee: CcxtMyTrade['fee'], fees?: CcxtMyTrade['fees']): Promise<{ atoms: bigint; asset: string | undefined; text?: string }> {
    const clock = new ManualClock(T0);
    const order: CcxtOrder = { id: '77', clientOrderId: 'cw-1', symbol: 'BTC/USDT', status: 'closed', side: 'buy', amount: 0.01, price: 100, filled: 0.01, timestamp: T0 };
    const trade: CcxtMyTrade = { id: 'T1', order: '77', symbol: 'BTC/USDT', side: 'buy', price: 100, amount: 0.01, timestamp: T0 + 1000, takerOrMaker: 'taker', fee, ...(fees ? { fees } : {}) };
    const fake = {
      has: {},
      fetchOrder: async () => ({ ...order }),
      fetchOpenOrders: async () => [],
      fetchMyTrades: async () => [{ ...trade }],
      fetchBalance: async () => ({ total: {} }),
      numberToString: (n: number | string) => String(n),
      markets_by_id: { BTCUSDT: [{ id: 'BTCUSDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', precision: {} }] },
    } as unknown as CcxtExchange;
    const xx = new CcxtExecution({
      exchange: 'x', ccxt: async () => fake, options: resolveCcxtOptions({ poll_interval_ms: 600_000 }), clock, hasCredentials: true,
      instrument: (s) => (s === I.symbol ? I : undefined), ccxtSymbol: (s) => (s === I.symbol ? 'BTC/USDT' : undefined),
    });
    await xx.start(() => {});
    try {
      const o: Order = { ...conformanceOrder(I, { side: 'buy', price: '100.00', qty: '0.010' }), clientOrderId: 'cw-1', venueOrderId: '77', createdTs: T0, updatedTs: T0 };
      const st = await xx.queryOrder(o);
      expect(st!.fills).toHaveLength(1);
      const f = st!.fills[0]!;
      return f.text === undefined ? { atoms: f.feeAtoms, asset: f.feeAsset } : { atoms: f.feeAtoms, asset: f.feeAsset, text: f.text };
    } finally {
      await xx.stop();
    }
  }

  it('values a base-asset commission at the fill price: 0.00001 BTC x 100 USDT = 0.001 USDT = 100 atoms', async () => {
    // one quote atom here is 10^-5 USDT (tick 0.01 x lot 0.001)
    expect(await feeOf({ cost: 0.00001, currency: 'BTC' })).toEqual({ atoms: 100n, asset: undefined });
  });
  it('books a quote-asset commission exactly and rounds a rebate toward zero (never overstated)', async () => {
    expect(await feeOf({ cost: 0.001, currency: 'USDT' })).toEqual({ atoms: 100n, asset: undefined });
    expect(await feeOf({ cost: -0.000015, currency: 'USDT' })).toEqual({ atoms: -1n, asset: undefined });
  });
  it('leaves a third-asset commission at 0 atoms and names its asset', async () => {
    expect(await feeOf({ cost: 0.0002, currency: 'BNB' })).toEqual({ atoms: 0n, asset: 'BNB' });
  });
  // ccxt lists a trade charged in several currencies in `fees` and leaves `fee` out: read from
  // `fee` alone, it booked no fee at all
  it('sums the commissions ccxt lists in `fees` (no `fee`): quote exactly, base at the fill price', async () => {
    // 0.001 USDT = 100 atoms, 0.00001 BTC x 100 = 0.001 USDT = 100 atoms
    expect(await feeOf(undefined, [{ cost: 0.001, currency: 'USDT' }, { cost: 0.00001, currency: 'BTC' }])).toEqual({ atoms: 200n, asset: undefined });
    expect(await feeOf({ cost: 0.001, currency: 'USDT' }, [{ cost: 0.001, currency: 'USDT' }])).toEqual({ atoms: 100n, asset: undefined });
  });
  it('books the `fees` it can value and names the third asset of the rest, saying what was left out', async () => {
    expect(await feeOf(undefined, [{ cost: 0.001, currency: 'USDT' }, { cost: 0.0002, currency: 'BNB' }])).toEqual({ atoms: 100n, asset: 'BNB', text: 'fee 0.0002 BNB not in quote atoms (no price here)' });
  });
});

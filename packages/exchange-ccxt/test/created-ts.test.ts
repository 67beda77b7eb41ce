/**
 * An order of ours whose creation time is known (placed in this run, or journaled) reads its
 * trades from its own createdTs after a listing without timestamps named it: keyed by the venue id
 * alone, the untimed listing made every such order read the whole account history.
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

class Fake {
  readonly orders = new Map<string, CcxtOrder>();
  readonly trades: CcxtMyTrade[] = [];
  readonly sinces: (number | undefined)[] = [];
  readonly has: Record<string, boolean> = {};
  readonly markets_by_id = { BTCUSDT: [{ id: 'BTCUSDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', precision: {} }] };
  private seq = 0;
  constructor(private readonly clock: ManualClock) {}
  async createOrder(symbol: string, _t: string, side: string, amount: string | number, price?: string | number, params?: { clientOrderId?: string }): Promise<CcxtOrder> {
    const id = String(++this.seq);
    const o: CcxtOrder = { id, clientOrderId: params?.clientOrderId, symbol, status: 'open', side, amount: Number(amount), price: Number(price), filled: 0, timestamp: this.clock.now() };
    this.orders.set(id, o);
    return { ...o };
  }
  async cancelOrder(): Promise<CcxtOrder> { throw new Error('no'); }
  async fetchOrder(id: string): Promise<CcxtOrder> { return { ...this.orders.get(id)! }; }
  // a venue whose open-order listing carries no time
  async fetchOpenOrders(): Promise<CcxtOrder[]> {
    return [...this.orders.values()].filter((o) => o.status === 'open').map((o) => { const c = { ...o }; delete c.timestamp; return c; });
  }
  async fetchMyTrades(symbol: string, since?: number): Promise<CcxtMyTrade[]> {
    this.sinces.push(since);
    return this.trades.filter((t) => t.symbol === symbol && (since === undefined || (t.timestamp ?? 0) >= since)).map((t) => ({ ...t }));
  }
  async fetchBalance() { return { total: {} }; }
  numberToString(n: number | string): string { return String(n); }
}

const settle = () => new Promise<void>((r) => setImmediate(r));

describe('ccxt: an untimed listing vs an order of known creation time', () => {
  let x: CcxtExecution | undefined;
  afterEach(async () => { await x?.stop(); x = undefined; vi.useRealTimers(); });

  it('an order placed here (createdTs known) keeps reading its trades from its own createdTs after an untimed listing named it', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clock = new ManualClock(T0);
    const fake = new Fake(clock);
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
    // a reconciliation (venue reconnect) lists the account's open orders, without times
    await x.openOrders();
    // the venue fills it; the poll reads its trades
    const ord = fake.orders.get(id)!;
    ord.filled = 0.004;
    fake.trades.push({ id: 'T1', order: id, symbol: 'BTC/USDT', side: 'buy', price: 100, amount: 0.004, timestamp: T0 + 500, takerOrMaker: 'maker', fee: { cost: 0.01, currency: 'USDT' } });
    fake.sinces.length = 0;
    clock.advance(POLL);
    await vi.advanceTimersByTimeAsync(POLL);
    await settle();
    expect(reports.some((r) => r.kind === 'fill')).toBe(true);
    // read from its own creation time (less the clock margin), not from the account's first trade
    expect(fake.sinces[0]).toBe(T0 - 60_000);
  });

  it('queryOrder of a journaled order (createdTs known) after a listing reads from its createdTs', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clock = new ManualClock(T0 + 3_600_000);
    const fake = new Fake(clock);
    x = new CcxtExecution({
      exchange: 'x', ccxt: async () => fake as unknown as CcxtExchange, options: resolveCcxtOptions({ poll_interval_ms: POLL }), clock, hasCredentials: true,
      instrument: (s) => (s === I.symbol ? I : undefined), ccxtSymbol: (s) => (s === I.symbol ? 'BTC/USDT' : undefined),
    });
    await x.start(() => {});
    const v = await fake.createOrder('BTC/USDT', 'limit', 'buy', '0.010', '100.00', { clientOrderId: 'cw-j-1' });
    await x.openOrders();
    fake.sinces.length = 0;
    const journaled: Order = { ...conformanceOrder(I, { side: 'buy', price: '100.00', qty: '0.010' }), clientOrderId: 'cw-j-1', venueOrderId: v.id, createdTs: T0, updatedTs: T0, status: 'open' };
    await x.queryOrder(journaled);
    expect(fake.sinces[0]).toBe(T0 - 60_000);
  });
});

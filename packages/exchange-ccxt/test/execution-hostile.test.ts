/**
 * The ccxt execution client against answers a ccxt venue gets wrong, as the ccxt-exec fuzz
 * target (fuzz/targets/ccxt-exec.mjs) found them: an order answered as `null`, listings holding
 * what is no order or trade, a listed order without its id or filled past its amount, a trade
 * time that is no number, and a status that ends an order its trades have filled in full.
 * Scripted ccxt stand-in, polled by hand, the venue's clock a ManualClock.
 */
import { defineInstrument, ManualClock, type ExecutionReport, type Order } from '@cwts/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { CcxtExchange, CcxtMyTrade, CcxtOrder } from '../src/ccxt-exchange.js';
import { CcxtExecution } from '../src/execution.js';
import { resolveCcxtOptions } from '../src/options.js';

const I = defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const T0 = Date.parse('2026-12-05T10:00:00Z');

/** A ccxt exchange whose answers each test sets (`unknown`: what a venue's parser may hand back). */
class ScriptedCcxt {
  readonly has: Record<string, boolean> = {};
  readonly markets_by_id = { BTCUSDT: [{ id: 'BTCUSDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', precision: {} }] };
  order: unknown = undefined;
  open: unknown = [];
  trades: unknown = [];
  async createOrder(symbol: string, _t: string, side: string, amount: string, price?: string, params?: { clientOrderId?: string }): Promise<CcxtOrder> {
    return { id: 'O1', clientOrderId: params?.clientOrderId, symbol, status: 'open', side, amount: Number(amount), price: Number(price), filled: 0, timestamp: T0 };
  }
  async cancelOrder(): Promise<CcxtOrder> {
    return { id: 'O1', symbol: 'BTC/USDT' };
  }
  async fetchOrder(): Promise<unknown> {
    return this.order;
  }
  async fetchOpenOrders(): Promise<unknown> {
    return this.open;
  }
  async fetchMyTrades(): Promise<unknown> {
    return this.trades;
  }
  async fetchBalance() {
    return { total: {} };
  }
  numberToString(n: number | string): string {
    return String(n);
  }
}

const order = (extra: Partial<CcxtOrder> = {}): CcxtOrder => ({ id: 'O1', clientOrderId: 'c1', symbol: 'BTC/USDT', status: 'open', side: 'buy', amount: 0.01, price: 100, filled: 0, timestamp: T0, ...extra });
const trade = (extra: Partial<CcxtMyTrade> = {}): CcxtMyTrade => ({ id: 'T1', order: 'O1', symbol: 'BTC/USDT', side: 'buy', price: 100, amount: 0.01, timestamp: T0 + 500, fee: { cost: 0.01, currency: 'USDT' }, ...extra });
const ours = (): Order => ({
  exchange: 'x', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 10_000, qty: 10, tif: 'GTC', source: 't', clientOrderId: 'c1', status: 'pending_new', filledQty: 0,
  filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: T0, updatedTs: T0,
});
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('ccxt execution: answers a ccxt venue gets wrong', () => {
  let x: CcxtExecution | undefined;
  afterEach(async () => {
    await x?.stop();
    x = undefined;
  });

  async function boot() {
    const clock = new ManualClock(T0);
    const fake = new ScriptedCcxt();
    x = new CcxtExecution({
      exchange: 'x', ccxt: async () => fake as unknown as CcxtExchange, options: resolveCcxtOptions({ poll_interval_ms: 600_000 }), clock, hasCredentials: true,
      instrument: (s) => (s === I.symbol ? I : undefined), ccxtSymbol: (s) => (s === I.symbol ? 'BTC/USDT' : undefined),
    });
    const reports: ExecutionReport[] = [];
    await x.start((r) => reports.push(r));
    const poll = () => (x as unknown as { poll(): Promise<void> }).poll();
    return { fake, reports, x, clock, poll };
  }

  async function placed() {
    const b = await boot();
    b.x.submit(ours());
    await settle();
    expect(b.reports.map((r) => r.kind)).toEqual(['ack']);
    return b;
  }

  it('an order answered as null is refused and counted; the poll does not reject (its timer would end the process)', async () => {
    const { fake, poll, x: xx, reports } = await placed();
    fake.order = null;
    await expect(poll()).resolves.toBeUndefined();
    expect([...xx.inputRejections()]).toEqual([['order_read', 1]]);
    // an id that is no string is no answer about our order either
    fake.order = order({ id: [] as unknown as string });
    await expect(poll()).resolves.toBeUndefined();
    expect(reports.map((r) => r.kind)).toEqual(['ack']);
  });

  it.each([
    ['a null', [null]],
    ['a number', [1e308]],
    ['a nested list', [[order()]]],
    ['a string', 'x'],
  ])('a listing holding %s is a failed read, not "no working orders" nor "no trades"', async (_what, junk) => {
    const { fake, x: xx } = await boot();
    fake.open = junk;
    await expect(xx.openOrders()).rejects.toThrow(/not read/);
    fake.trades = junk;
    await expect(xx.tradesSince(['BTCUSDT'], T0)).rejects.toThrow(/not read/);
  });

  it('a listed order without its id, or filled past its amount, fails the listing', async () => {
    const { fake, x: xx } = await boot();
    fake.open = [order({ id: [] as unknown as string })];
    await expect(xx.openOrders()).rejects.toThrow(/not read/);
    fake.open = [order({ filled: 0.02 })];
    await expect(xx.openOrders()).rejects.toThrow(/not read/);
    fake.open = [order({ filled: 0.004 })];
    expect(await xx.openOrders()).toMatchObject([{ venueOrderId: 'O1', qty: 10, filledQty: 4 }]);
  });

  it('a trade whose time is no number is reported at the time of the read', async () => {
    const { fake, poll, reports, clock } = await placed();
    clock.advance(2000);
    fake.order = order({ filled: 0.004 });
    fake.trades = [trade({ amount: 0.004, timestamp: '1796465000000' as unknown as number })];
    await poll();
    expect(reports.map((r) => [r.kind, r.ts])).toEqual([['ack', T0], ['fill', T0 + 2000]]);
  });

  it('an order its trades have filled in full has ended: a status of canceled after that is no second end', async () => {
    const { fake, poll, reports } = await placed();
    fake.order = order({ filled: 0.01 });
    fake.trades = [trade()];
    await poll();
    fake.order = order({ filled: 0.01, status: 'canceled' });
    await poll();
    expect(reports.map((r) => `${r.kind} ${r.cumQty}/${r.leavesQty}`)).toEqual(['ack 0/10', 'fill 10/0']);
  });
});

/**
 * A cancel the venue accepted is followed by a read of the order (its fills made before the
 * cancel come first). A venue that does not return a cancelled order any more (ccxt fetchOrder ->
 * OrderNotFound: many venues drop cancelled orders without fills, or look up open orders only)
 * never gives a read that shows it closed: the order is then ended as cancelled after its trades
 * are read once, not left pending_cancel and polled for ever.
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

class OrderNotFound extends Error {
  override name = 'OrderNotFound';
}

/** A venue that forgets an order once it is cancelled (fetchOrder: OrderNotFound). */
class ForgetfulCcxt {
  readonly orders = new Map<string, CcxtOrder>();
  readonly trades: CcxtMyTrade[] = [];
  readonly calls: string[] = [];
  readonly has: Record<string, boolean> = {};
  readonly markets_by_id = { BTCUSDT: [{ id: 'BTCUSDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', precision: {} }] };
  private seq = 0;
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
    // accepted; the venue does not keep cancelled orders without fills
    this.orders.delete(id);
    return { ...o, status: 'canceled' };
  }
  async fetchOrder(id: string): Promise<CcxtOrder> {
    this.calls.push(`fetchOrder ${id}`);
    const o = this.orders.get(id);
    if (!o) throw new OrderNotFound('Order does not exist');
    return { ...o };
  }
  async fetchOpenOrders(): Promise<CcxtOrder[]> {
    return [...this.orders.values()].filter((o) => o.status === 'open').map((o) => ({ ...o }));
  }
  async fetchMyTrades(): Promise<CcxtMyTrade[]> {
    return [];
  }
  async fetchBalance() {
    return { total: {} };
  }
  numberToString(n: number | string): string {
    return String(n);
  }
}

const settle = () => new Promise<void>((r) => setImmediate(r));

describe('ccxt: an accepted cancel on a venue that forgets cancelled orders', () => {
  let x: CcxtExecution | undefined;
  afterEach(async () => {
    await x?.stop();
    x = undefined;
    vi.useRealTimers();
  });

  it('is reported cancelled (and the order is no longer polled) even though the order cannot be read afterwards', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clock = new ManualClock(T0);
    const fake = new ForgetfulCcxt(clock);
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

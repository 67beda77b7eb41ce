/**
 * Gate (a ccxt_id the README names): ccxt sends our client id as Gate's `text` with a "t-"
 * prefix and parses it back with that prefix, so every answer about our own order carries
 * clientOrderId "t-cw-1". Compared bare, it was "another order": fills and end never applied,
 * reconciliation's queryOrder failed, a lookup by client id never found the order.
 */
import ccxt from 'ccxt';
import { defineInstrument, ManualClock, type ExecutionReport, type Order } from '@cwts/core';
import { conformanceOrder } from '@cwts/core/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CcxtExchange, CcxtMyTrade, CcxtOrder } from '../src/ccxt-exchange.js';
import { CcxtExecution } from '../src/execution.js';
import { resolveCcxtOptions } from '../src/options.js';

const I = defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const POLL = 1000;
const T0 = Date.parse('2026-12-05T10:00:00Z');

/** A Gate spot account behind ccxt's real gate parser. */
class GateLike {
  private readonly gate = new ccxt.gate();
  private readonly raw = new Map<string, Record<string, string>>();
  trades: CcxtMyTrade[] = [];
  readonly has: Record<string, boolean> = { fetchClosedOrders: true };
  /** Our instrument's name for the market (ccxtSymbol below maps it the other way). */
  readonly markets_by_id = { BTCUSDT: [{ symbol: 'BTC/USDT' }] };
  private seq = 0;
  constructor(private readonly clock: ManualClock) {
    // the market, so parseOrder maps BTC_USDT to BTC/USDT
    (this.gate as unknown as { setMarkets(m: unknown[]): void }).setMarkets([
      { id: 'BTC_USDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', baseId: 'BTC', quoteId: 'USDT', type: 'spot', spot: true, active: true, precision: {}, limits: {} },
    ]);
  }
  private parsed(id: string): CcxtOrder {
    return this.gate.parseOrder(this.raw.get(id)!) as unknown as CcxtOrder;
  }
  /** The next create places the order, then answers with a timeout (outcome unknown to the caller). */
  timeOutNextCreate = false;
  async createOrder(_symbol: string, _type: string, side: string, amount: string | number, price?: string | number, params?: { clientOrderId?: string }): Promise<CcxtOrder> {
    const id = String(++this.seq);
    // what ccxt's gate.createOrder does with params.clientOrderId (gate.js: 't-' + clientOrderId)
    const cid = params!.clientOrderId!;
    const text = cid[0] !== 't' ? `t-${cid}` : cid;
    const ms = String(this.clock.now());
    this.raw.set(id, { id, text, create_time_ms: ms, update_time_ms: ms, status: 'open', currency_pair: 'BTC_USDT', type: 'limit', account: 'spot', side, amount: String(amount), price: String(price), time_in_force: 'gtc', left: String(amount), filled_total: '0', fee: '0', fee_currency: 'USDT' });
    if (this.timeOutNextCreate) {
      this.timeOutNextCreate = false;
      throw new ccxt.RequestTimeout('gate POST /spot/orders request timed out');
    }
    return this.parsed(id);
  }
  async cancelOrder(id: string): Promise<CcxtOrder> {
    this.raw.get(id)!.status = 'cancelled';
    return this.parsed(id);
  }
  async fetchOrder(id: string): Promise<CcxtOrder> {
    return this.parsed(id);
  }
  async fetchOpenOrders(): Promise<CcxtOrder[]> {
    return [...this.raw.keys()].map((id) => this.parsed(id)).filter((o) => o.status === 'open');
  }
  async fetchClosedOrders(): Promise<CcxtOrder[]> {
    return [...this.raw.keys()].map((id) => this.parsed(id)).filter((o) => o.status !== 'open');
  }
  async fetchMyTrades(symbol: string, since?: number): Promise<CcxtMyTrade[]> {
    return this.trades.filter((t) => t.symbol === symbol && (since === undefined || (t.timestamp ?? 0) >= since)).map((t) => ({ ...t }));
  }
  async fetchBalance() {
    return { total: {} };
  }
  numberToString(n: number | string): string {
    return String(n);
  }
  /** The whole order fills. */
  fillAll(id: string): void {
    const r = this.raw.get(id)!;
    r.status = 'closed';
    r.left = '0';
    r.filled_amount = r.amount!;
    r.filled_total = String(Number(r.amount) * Number(r.price));
    this.trades.push({ id: 'T1', order: id, symbol: 'BTC/USDT', side: r.side, price: Number(r.price), amount: Number(r.amount), timestamp: this.clock.now(), takerOrMaker: 'maker', fee: { cost: 0.01, currency: 'USDT' } } as CcxtMyTrade);
  }
}

const settle = () => new Promise<void>((r) => setImmediate(r));

describe('ccxt on Gate: the client id comes back as "t-<ours>"', () => {
  let x: CcxtExecution | undefined;
  afterEach(async () => {
    await x?.stop();
    x = undefined;
    vi.useRealTimers();
  });

  async function boot() {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const clock = new ManualClock(T0);
    const gate = new GateLike(clock);
    x = new CcxtExecution({
      exchange: 'x', ccxt: async () => gate as unknown as CcxtExchange, options: resolveCcxtOptions({ ccxt_id: 'gate', poll_interval_ms: POLL }), clock, hasCredentials: true,
      instrument: (s) => (s === I.symbol ? I : undefined), ccxtSymbol: (s) => (s === I.symbol ? 'BTC/USDT' : undefined),
    });
    const reports: ExecutionReport[] = [];
    await x.start((r) => reports.push(r));
    const o: Order = { ...conformanceOrder(I, { side: 'buy', price: '100.00', qty: '0.010' }), createdTs: T0, updatedTs: T0 };
    const polls = async (n: number) => {
      for (let k = 0; k < n; k++) {
        clock.advance(POLL);
        await vi.advanceTimersByTimeAsync(POLL);
        await settle();
      }
    };
    return { x, gate, reports, o, polls };
  }

  it('a fill of our own order is reported', async () => {
    const { x, gate, reports, o, polls } = await boot();
    x.submit(o);
    await settle();
    expect(reports.map((r) => r.kind)).toEqual(['ack']);
    // ccxt's own parser hands our id back prefixed
    expect((await gate.fetchOrder(reports[0]!.venueOrderId!)).clientOrderId).toBe(`t-${o.clientOrderId}`);
    gate.fillAll(reports[0]!.venueOrderId!);
    await polls(3);
    expect(reports.map((r) => r.kind)).toEqual(['ack', 'fill']);
    expect(Object.fromEntries(x.inputRejections())).toEqual({});
  });

  it('reconciliation can ask about our own order, and the listing names it by our id', async () => {
    const { x, gate, reports, o } = await boot();
    x.submit(o);
    await settle();
    const venueOrderId = reports[0]!.venueOrderId!;
    expect((await x.openOrders()).map((l) => l.clientOrderId)).toEqual([o.clientOrderId]);
    gate.fillAll(venueOrderId);
    await expect(x.queryOrder({ ...o, venueOrderId })).resolves.toMatchObject({ status: 'filled', filledQty: 10 });
  });

  it('an order whose create timed out is found by its client id and followed, never reported rejected', async () => {
    const { x, gate, reports, o, polls } = await boot();
    gate.timeOutNextCreate = true;
    x.submit(o);
    await polls(40); // past unknown_order_grace_ms
    expect(reports.map((r) => r.kind)).toEqual(['ack']);
    expect(reports[0]!.venueOrderId).toBe('1');
  });
});

import { describe, expect, it } from 'vitest';
import { defineInstrument, type ExecutionReport, type Instrument, type MarketEventSink, type Order, type Signal } from '@cwts/core';
import { Engine } from '@cwts/core/engine';
import { MetricsRegistry, silentLogger } from '@cwts/core/observability';
import { routingSchema, SmartOrderRouter } from '@cwts/core/routing';
import { parseFollowerSettings, WhaleFollower } from './whale-follower.js';

const inst = (exchange: string): Instrument => defineInstrument({ exchange, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' });

/** A venue whose market data the test pushes and whose orders the test fills. */
class Venue {
  sink: MarketEventSink | undefined;
  onReport: ((r: ExecutionReport) => void) | undefined;
  readonly submitted: Order[] = [];
  readonly simulated = true;
  constructor(readonly exchange: string) {}
  async loadInstruments(): Promise<Instrument[]> {
    return [inst(this.exchange)];
  }
  async start(a: unknown, b?: MarketEventSink): Promise<void> {
    if (typeof a === 'function') this.onReport = a as (r: ExecutionReport) => void;
    else this.sink = b;
  }
  async stop(): Promise<void> {}
  availability() {
    return { canTrade: true as const };
  }
  submit(order: Readonly<Order>): void {
    this.submitted.push({ ...order });
  }
  cancel(): void {}
  async openOrders(): Promise<Order[]> {
    return [];
  }
  fill(o: Order, price: number): void {
    this.onReport!({ exchange: this.exchange, symbol: o.symbol, clientOrderId: o.clientOrderId, side: o.side, kind: 'fill', lastPrice: price, lastQty: o.qty, cumQty: o.qty, leavesQty: 0, feeAtoms: 0n, ts: 0, tradeId: `${o.clientOrderId}-t` });
  }
}

// An entry the smart order router splits over two venues: the follower must flatten both legs.
describe('WhaleFollower with [routing] enabled (Engine + SmartOrderRouter)', () => {
  it('flattens the whole entry it made, not only the part that filled on the signal venue', async () => {
    let now = 1_000_000;
    const clock = { now: () => now, monoNs: () => BigInt(now) * 1_000_000n };
    const a = new Venue('a');
    const b = new Venue('b');
    const strategy = new WhaleFollower(parseFollowerSettings({ order_notional: 1200, cooldown_ms: 5000, hold_ms: 20_000, slippage_bps: 10 }), silentLogger());
    const router = new SmartOrderRouter({ config: routingSchema.parse({ enabled: true, venue: { a: { taker_fee_bps: 10 }, b: { taker_fee_bps: 2 } } }), venues: ['a', 'b'] });
    const engine = new Engine({
      clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, router, strategy,
      venues: [a, b].map((v) => ({ name: v.exchange, symbols: ['BTCUSDT'], marketData: v, execution: v })),
    });
    await engine.start();
    for (const v of [a, b]) {
      // b (the cheaper fee) shows 1,500 lots at the ask, a 10,000
      v.sink!.onMarketEvent({ type: 'book_snapshot', exchange: v.exchange, symbol: 'BTCUSDT', ts: now, recvTs: now, seq: 1, reason: 'initial', bids: [{ price: 5_999_900, qty: 10_000 }], asks: [{ price: 6_000_000, qty: v === a ? 10_000 : 1500 }] });
    }
    // a whale on venue a: the follower buys 1,200 USDT at its limit, 60,060 (1,998 lots), with an IOC the router splits
    const whale: Signal = { id: 'whale:a:BTCUSDT:1', detector: 'whale', kind: 'whale_trade', exchange: 'a', symbol: 'BTCUSDT', ts: now, direction: 1, strength: 6, evidence: {} };
    engine.emit(whale);
    expect(a.submitted.length + b.submitted.length).toBeGreaterThan(1);
    for (const o of a.submitted) a.fill(o, 6_000_000);
    for (const o of b.submitted) b.fill(o, 6_000_000);
    const held = () => engine.positions.qty('a', 'BTCUSDT') + engine.positions.qty('b', 'BTCUSDT');
    expect(held()).toBe(1998);
    // the hold time passes; trades print on both venues; every exit the strategy sends fills
    for (let k = 0; k < 60; k++) {
      now += 1000;
      for (const v of [a, b]) {
        const before = v.submitted.length;
        v.sink!.onMarketEvent({ type: 'trade', exchange: v.exchange, symbol: 'BTCUSDT', ts: now, recvTs: now, tradeId: `${v.exchange}${k}`, price: 6_000_000, qty: 1, side: 'sell' });
        for (const o of v.submitted.slice(before)) v.fill(o, 5_999_900);
      }
    }
    // Keyed on the signal's venue alone, the follower flattened a and left { a: 0, b: 1500 }.
    expect({ a: engine.positions.qty('a', 'BTCUSDT'), b: engine.positions.qty('b', 'BTCUSDT') }).toEqual({ a: 0, b: 0 });
    // each leg with one reduce-only sell on its own venue
    expect([a, b].map((v) => v.submitted.filter((o) => o.reduceOnly === true).map((o) => `${o.exchange} ${o.side} ${o.qty}`))).toEqual([['a sell 498'], ['b sell 1500']]);
    await engine.stop();
  });
});

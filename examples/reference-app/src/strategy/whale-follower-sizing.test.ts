import { describe, expect, it } from 'vitest';
import { defineInstrument, type BookView, type ExecutionReport, type Instrument, type Logger, type MarketEventSink, type Order, type OrderIntent, type RiskConfig, type Signal, type StrategyContext, type SubmitResult } from '@cwts/core';
import { Engine } from '@cwts/core/engine';
import { MetricsRegistry, silentLogger } from '@cwts/core/observability';
import { RiskManager } from '@cwts/core/risk';
import { parseFollowerSettings, WhaleFollower } from './whale-follower.js';

// 1 tick = 0.01 USDT, 1 lot = 0.00001 BTC: a lot at 60 000.00 is 0.60 USDT.
const inst = (exchange: string): Instrument => defineInstrument({ exchange, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' });
const BID = 5_999_900;
const ASK = 6_000_000;

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
  /** The IOCs end unfilled (else the engine's stop waits for their cancels). */
  expireAll(): void {
    for (const o of this.submitted) this.onReport!({ exchange: this.exchange, symbol: o.symbol, clientOrderId: o.clientOrderId, side: o.side, kind: 'cancelled', lastPrice: 0, lastQty: 0, cumQty: 0, leavesQty: 0, feeAtoms: 0n, ts: 0 });
  }
}

const whale = (ts: number, direction: 1 | -1): Signal => ({ id: `whale:sim:BTCUSDT:${ts}`, detector: 'whale', kind: 'whale_trade', exchange: 'sim', symbol: 'BTCUSDT', ts, direction, strength: 6, evidence: {} });

/** The follower in an Engine whose risk checks have max_order_notional = order_notional = 1000 USDT. */
async function withLimitAtOrderNotional() {
  const now = 1_000_000;
  const clock = { now: () => now, monoNs: () => BigInt(now) * 1_000_000n };
  const venue = new Venue('sim');
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({
    risk: { max_position: 100_000, max_drawdown: 0.15, kelly_fraction: 0.25, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 50, max_order_notional: 1000 } as RiskConfig,
    metrics, initialEquity: 100_000, timers: false,
  });
  const strategy = new WhaleFollower(parseFollowerSettings({ order_notional: 1000, slippage_bps: 10 }), silentLogger());
  const engine = new Engine({ clock, logger: silentLogger(), metrics, watchdog: false, strategy, risk, riskChecks: risk.checks, venues: [{ name: 'sim', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
  await engine.start();
  venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'sim', symbol: 'BTCUSDT', ts: now, recvTs: now, seq: 1, reason: 'initial', bids: [{ price: BID, qty: 100_000 }], asks: [{ price: ASK, qty: 100_000 }] });
  return { engine, venue, strategy, now };
}

describe('WhaleFollower sizes an entry at the price the risk checks value it at', () => {
  it('a buy of order_notional passes max_order_notional = order_notional: sized at its limit, not at the ask', async () => {
    const { engine, venue, strategy, now } = await withLimitAtOrderNotional();
    engine.emit(whale(now, 1));
    // Sized at the ask (60 000.00): 1666 lots, 999.60 USDT there, but the IOC goes out at
    // 60 060.00, where the checks value it at 1000.60 and refused it, every time. At its limit: 1665.
    expect(engine.stats?.().rejected ?? 0, 'entries refused').toBe(0);
    expect(strategy.entriesRefused).toBe(0);
    expect(venue.submitted).toEqual([expect.objectContaining({ side: 'buy', price: 6_006_000, qty: 1665 })]);
    venue.expireAll();
    await engine.stop();
  });

  it('a sell of order_notional passes it too: sized at the bid, which the checks value a sell under it at', async () => {
    const { engine, venue, strategy, now } = await withLimitAtOrderNotional();
    engine.emit(whale(now, -1));
    // the limit 59 939.01 is under the bid; valued at the limit, 1668 lots would be 1000.78 at the bid
    expect(strategy.entriesRefused).toBe(0);
    expect(venue.submitted).toEqual([expect.objectContaining({ side: 'sell', price: BID - 5999, qty: 1666 })]);
    venue.expireAll();
    await engine.stop();
  });
});

describe('WhaleFollower: refused entries and slippage_bps', () => {
  function refusingCtx(bid = BID, ask = ASK) {
    const sent: OrderIntent[] = [];
    const book = { synced: true, bestBid: () => bid, bestAsk: () => ask } as unknown as BookView;
    const c = {
      now: 0,
      instrument: () => inst('sim'),
      book: () => book,
      positions: { qty: () => 0 },
      openOrders: () => [],
      submit: (i: OrderIntent): SubmitResult => (sent.push(i), { accepted: false, reason: 'RISK_MAX_ORDER_NOTIONAL', message: 'order notional 1000.60 USDT is above risk.max_order_notional 1000' }),
    } as unknown as StrategyContext & { now: number };
    return { sent, at: (now: number) => ((c.now = now), c) };
  }

  it('warns about a refused entry at most once a minute of the clock, counts them, and logs the rest at info', () => {
    const warnings: string[] = [];
    const infos: string[] = [];
    const logger = { ...silentLogger(), warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)), info: (_o: unknown, msg?: string) => void infos.push(String(msg)) } as unknown as Logger;
    const s = new WhaleFollower(parseFollowerSettings({ order_notional: 1000, cooldown_ms: 5000 }), logger);
    const { sent, at } = refusingCtx();
    for (const t of [10_000, 20_000, 30_000, 71_000]) s.onSignal(whale(t, 1), at(t));
    expect(sent).toHaveLength(4);
    expect(s.entriesRefused).toBe(4);
    expect(warnings).toEqual([
      expect.stringContaining('entry on sim:BTCUSDT refused: RISK_MAX_ORDER_NOTIONAL order notional 1000.60 USDT'),
      expect.stringContaining('(and 2 more refused since the last warning)'),
    ]);
    expect(infos).toHaveLength(2);
  });

  it('refuses slippage_bps of 10000 or more (a sell limit at or under 0); a sell never goes under one tick', () => {
    expect(() => parseFollowerSettings({ slippage_bps: 10_000 })).toThrow('strategy.slippage_bps: expected basis points under 10000');
    expect(parseFollowerSettings({ slippage_bps: 9999 }).slippageBps).toBe(9999);
    const s = new WhaleFollower(parseFollowerSettings({ order_notional: 1000, slippage_bps: 9999 }), silentLogger());
    const { sent, at } = refusingCtx(1, 2);
    s.onSignal(whale(1000, -1), at(1000));
    expect(sent).toEqual([expect.objectContaining({ side: 'sell', price: 1 })]);
  });
});

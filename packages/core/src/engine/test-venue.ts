import type { ExecutionClient, MarketDataClient, MarketEventSink, OrderStatusReport, TradingAvailability, VenueBalance } from '../contracts/exchange.js';
import type { Instrument } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import type { EngineTimers } from './engine.js';

/**
 * A scripted venue for engine tests: market data is pushed by the test, orders are recorded and
 * answered by the test. Lives in src so other packages' tests can use it via the testing entry.
 */
export class ScriptedVenue implements MarketDataClient, ExecutionClient {
  sink: MarketEventSink | undefined;
  onReport: ((r: ExecutionReport) => void) | undefined;
  readonly submitted: Order[] = [];
  readonly cancelled: Order[] = [];
  venueOpen: Order[] = [];
  /** What queryOrder answers per client id; else 'open' for venueOpen orders, else unknown. */
  readonly orderStatus = new Map<string, OrderStatusReport>();
  /** What tradesSince answers (filtered by time). */
  trades: ExecutionReport[] = [];
  /** Signed lots per symbol for positions(); absent: positions() is not offered. */
  venuePositions: Record<string, number> | undefined;
  stopped = { marketData: false, execution: false };
  /** Answer cancels immediately with a 'cancelled' report (like a fast venue). */
  autoCancel = true;

  constructor(
    readonly exchange: string,
    private readonly instrumentList: Instrument[],
    private readonly tradeAvailability: TradingAvailability = { canTrade: true },
    readonly simulated = true,
  ) {}

  async loadInstruments(): Promise<Instrument[]> {
    return this.instrumentList;
  }
  async start(a: unknown, b?: MarketEventSink): Promise<void> {
    if (typeof a === 'function') this.onReport = a as (r: ExecutionReport) => void;
    else this.sink = b;
  }
  async stop(): Promise<void> {
    if (this.sink) this.stopped.marketData = true;
    this.stopped.execution = true;
  }
  availability(): TradingAvailability {
    return this.tradeAvailability;
  }
  submit(order: Readonly<Order>): void {
    this.submitted.push({ ...order });
  }
  cancel(order: Readonly<Order>): void {
    this.cancelled.push({ ...order });
    if (this.autoCancel) this.report(order, { kind: 'cancelled' });
  }
  async openOrders(): Promise<Order[]> {
    return this.venueOpen;
  }
  async queryOrder(order: Readonly<Order>): Promise<OrderStatusReport | undefined> {
    const id = order.clientOrderId;
    const known = this.orderStatus.get(id);
    if (known) return known;
    return this.venueOpen.some((o) => o.clientOrderId === id) ? { clientOrderId: id, status: 'open', filledQty: 0, fills: [] } : undefined;
  }
  async tradesSince(symbols: readonly string[], sinceTs: number): Promise<ExecutionReport[]> {
    return this.trades.filter((t) => symbols.includes(t.symbol) && t.ts >= sinceTs);
  }
  positions = async (symbols: readonly string[]) => (this.venuePositions ? symbols.map((symbol) => ({ symbol, qty: this.venuePositions![symbol] ?? 0 })) : []);
  /** Offered only once a test sets balances (setBalances). */
  balances?: () => Promise<VenueBalance[]>;
  /** The account balances balances() answers, asset -> decimal string. */
  setBalances(totals: Record<string, string>): this {
    this.balances = async () => Object.entries(totals).map(([asset, total]) => ({ asset, total }));
    return this;
  }

  report(order: Readonly<Order>, r: Partial<ExecutionReport> & Pick<ExecutionReport, 'kind'>): void {
    this.onReport!({
      exchange: this.exchange, symbol: order.symbol, clientOrderId: order.clientOrderId, side: order.side,
      lastPrice: 0, lastQty: 0, leavesQty: 0, cumQty: 0, feeAtoms: 0n, ts: 0, ...r,
    });
  }
}

/** Engine timers that fire only when a test says so (EngineOptions.timers). */
export class HandTimers implements EngineTimers {
  readonly pending: { fn: () => void; ms: number }[] = [];
  setTimeout(fn: () => void, ms: number): unknown {
    const t = { fn, ms };
    this.pending.push(t);
    return t;
  }
  clearTimeout(handle: unknown): void {
    const at = this.pending.indexOf(handle as { fn: () => void; ms: number });
    if (at >= 0) this.pending.splice(at, 1);
  }
  /** Fires the one timer pending and returns its delay; throws unless exactly one is pending. */
  fire(): number {
    if (this.pending.length !== 1) throw new Error(`expected one pending timer, found ${this.pending.length} (${this.pending.map((t) => t.ms).join(', ')} ms)`);
    const t = this.pending.shift()!;
    t.fn();
    return t.ms;
  }
}

import type { ExecutionClient, MarketDataClient, MarketEventSink, TradingAvailability } from '../contracts/exchange.js';
import type { Instrument } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';

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

  report(order: Readonly<Order>, r: Partial<ExecutionReport> & Pick<ExecutionReport, 'kind'>): void {
    this.onReport!({
      exchange: this.exchange, symbol: order.symbol, clientOrderId: order.clientOrderId, side: order.side,
      lastPrice: 0, lastQty: 0, leavesQty: 0, cumQty: 0, feeAtoms: 0n, ts: 0, ...r,
    });
  }
}

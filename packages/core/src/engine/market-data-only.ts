import type { ExecutionClient, TradingAvailability } from '../contracts/exchange.js';
import type { ExecutionReport, Order } from '../domain/orders.js';

/**
 * Stands in for a venue's execution client when the venue may not trade (no credentials, or
 * paper mode on a real venue without a paper executor). The engine refuses orders before they
 * get here; if one arrives anyway it is rejected with the same reason, never sent.
 */
export class MarketDataOnlyExecution implements ExecutionClient {
  readonly simulated = false;
  private onReport: ((r: ExecutionReport) => void) | undefined;

  constructor(
    readonly exchange: string,
    private readonly reason: string,
  ) {}

  availability(): TradingAvailability {
    return { canTrade: false, reason: this.reason };
  }
  async start(onReport: (r: ExecutionReport) => void): Promise<void> {
    this.onReport = onReport;
  }
  submit(order: Readonly<Order>): void {
    this.onReport?.({
      kind: 'rejected', exchange: this.exchange, symbol: order.symbol, clientOrderId: order.clientOrderId, side: order.side,
      lastPrice: 0, lastQty: 0, leavesQty: 0, cumQty: 0, feeAtoms: 0n, rejectReason: 'NO_CREDENTIALS', rejects: 'order', text: this.reason, ts: Date.now(),
    });
  }
  cancel(): void {}
  async openOrders(): Promise<Order[]> {
    return [];
  }
  async stop(): Promise<void> {}
}

import type { MarketContext, OrderRouter } from '../contracts/trading.js';
import type { OrderIntent } from '../domain/orders.js';

/**
 * The default router, `direct`: each intent goes to the venue and symbol it names, unchanged.
 * No allocation: the one-element array is reused (the engine reads it before the next call).
 */
export class DirectRouter implements OrderRouter {
  readonly name = 'direct';
  private readonly one: OrderIntent[] = [];

  route(intent: Readonly<OrderIntent>, _ctx: MarketContext): OrderIntent[] {
    this.one[0] = intent as OrderIntent;
    return this.one;
  }
}

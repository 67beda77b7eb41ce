import type { OrderIntent } from './orders.js';

/**
 * What a venue lets us do on one instrument right now, in one venue-neutral word. Each adapter
 * maps its venue's own status (Binance `HALT`, Kraken `post_only`, Coinbase `cancel_only`...) onto
 * it; a status the adapter does not know maps to `closed` (unknown is not tradable).
 *
 * - `open`: every order type the venue supports.
 * - `post_only`: only limit orders that must rest (TIF POST_ONLY).
 * - `limit_only`: limit orders only, no market orders.
 * - `reduce_only`: only orders flagged reduceOnly.
 * - `cancel_only`: no new orders; cancels go through.
 * - `closed`: halted, delisted, not yet listed, in maintenance: no new orders.
 */
export type InstrumentTrading = 'open' | 'post_only' | 'limit_only' | 'reduce_only' | 'cancel_only' | 'closed';

export const INSTRUMENT_TRADING_VALUES: readonly InstrumentTrading[] = Object.freeze(['open', 'post_only', 'limit_only', 'reduce_only', 'cancel_only', 'closed']);

/**
 * Why the venue would refuse this new order under `status`, or undefined when it would take it
 * (also when the status is unknown to the caller: undefined means "the venue did not say").
 * Cancels are never subject to this. Allocates only when it refuses.
 */
export function tradingRefusal(status: InstrumentTrading | undefined, intent: Readonly<Pick<OrderIntent, 'symbol' | 'type' | 'tif' | 'reduceOnly'>>): string | undefined {
  switch (status) {
    case undefined:
    case 'open':
      return undefined;
    case 'post_only':
      return intent.type === 'limit' && intent.tif === 'POST_ONLY' ? undefined : `${intent.symbol} is post-only at the venue: only limit orders with TIF POST_ONLY are accepted (got ${intent.type} ${intent.tif})`;
    case 'limit_only':
      return intent.type === 'limit' ? undefined : `${intent.symbol} is limit-only at the venue: market orders are refused`;
    case 'reduce_only':
      return intent.reduceOnly === true ? undefined : `${intent.symbol} is reduce-only at the venue: only orders flagged reduceOnly are accepted`;
    case 'cancel_only':
      return `${intent.symbol} is cancel-only at the venue: no new orders, cancels only`;
    case 'closed':
      return `${intent.symbol} is not trading at the venue (halted, delisted or not listed yet): no new orders`;
    default:
      return `${intent.symbol}: unknown trading status ${JSON.stringify(status)}: not tradable`;
  }
}

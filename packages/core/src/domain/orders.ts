import { describeValue } from './describe-value.js';
import type { Side } from './events.js';

export type OrderType = 'limit' | 'market';
export type TimeInForce = 'GTC' | 'IOC' | 'FOK' | 'POST_ONLY';

/** What a strategy wants; risk and routing turn it into an Order. */
export interface OrderIntent {
  exchange: string;
  symbol: string;
  side: Side;
  type: OrderType;
  /** Limit price in ticks; required for limit orders. */
  price?: number;
  /** Quantity in lots. */
  qty: number;
  tif: TimeInForce;
  /** Only reduce an existing position. */
  reduceOnly?: boolean;
  /** Who asked (strategy name) and why (e.g. the signal id), for the journal and logs. */
  source: string;
  reason?: string;
}

export type OrderStatus =
  | 'pending_new'
  | 'open'
  | 'partially_filled'
  | 'filled'
  | 'pending_cancel'
  | 'cancelled'
  | 'rejected';

export interface Order extends OrderIntent {
  clientOrderId: string;
  venueOrderId?: string;
  status: OrderStatus;
  filledQty: number;
  /** Sum of fill price x qty in ticks*lots, bigint because it passes 2^53. */
  filledNotionalTicksLots: bigint;
  feeAtoms: bigint;
  createdTs: number;
  updatedTs: number;
  rejectReason?: RejectReason;
  text?: string;
}

/** Our reason codes. Venue error codes are mapped onto these at the adapter edge. */
export type RejectReason =
  | 'NO_CREDENTIALS'
  | 'VENUE_NOT_TRADING'
  | 'BOOK_NOT_SYNCED'
  | 'RISK_MAX_POSITION'
  | 'RISK_MAX_ORDER_NOTIONAL'
  | 'RISK_PRICE_BAND'
  | 'RISK_RATE_LIMIT'
  | 'RISK_MAX_OPEN_ORDERS'
  | 'RISK_SELF_TRADE'
  | 'RISK_STATE'
  /** Rejected by a pre-trade check from a risk plugin (`[risk_checks.<name>]`); the message says which. */
  | 'RISK_CUSTOM'
  | 'KILL_SWITCH'
  /** The engine is behind its intake (event-loop lag or a feed ring over its bound): no new risk until it recovers. */
  | 'BACKPRESSURE'
  /** Cluster shard: this shard holds no lease on the symbol (another shard trades it). */
  | 'NOT_LEASED'
  /** Cluster shard: the order needs more of the global position budget than the shard holds. */
  | 'CLUSTER_BUDGET'
  | 'INVALID_ORDER'
  | 'OFF_GRID'
  | 'MIN_NOTIONAL'
  | 'POST_ONLY_WOULD_CROSS'
  | 'FOK_UNFILLABLE'
  | 'NO_LIQUIDITY'
  | 'INSUFFICIENT_BALANCE'
  | 'RATE_LIMITED'
  | 'AUTH_FAILED'
  | 'UNKNOWN_ORDER'
  | 'DUPLICATE_ORDER'
  | 'SHUTTING_DOWN'
  | 'VENUE_ERROR';

export type ExecutionKind = 'ack' | 'fill' | 'cancelled' | 'rejected' | 'expired';

/** Everything a venue tells us about an order. */
export interface ExecutionReport {
  kind: ExecutionKind;
  exchange: string;
  symbol: string;
  clientOrderId: string;
  venueOrderId?: string;
  side: Side;
  /** For fills: this fill's price (ticks) and quantity (lots). */
  lastPrice: number;
  lastQty: number;
  /**
   * Quantity still working after this report. The engine books nothing from it or cumQty and
   * accepts a report without them (an adapter of a venue that does not say); the journal keeps
   * them absent (docs/journal.md, "Records the writer cannot store").
   */
  leavesQty: number;
  /** Total filled so far. */
  cumQty: number;
  /** Fee of this fill in quote atoms (see notionalAtoms), rounded up. */
  feeAtoms: bigint;
  /**
   * The asset the venue charged the fee in, as the venue reported it (e.g. "BNB"); the
   * instrument's quote asset when absent. feeAtoms stays the fee's value in quote atoms.
   */
  feeAsset?: string;
  liquidity?: 'maker' | 'taker';
  tradeId?: string;
  rejectReason?: RejectReason;
  /**
   * For kind 'rejected': what the venue refused. 'order': the order itself (a new order refused;
   * it is final). 'request': a request about a working order (a cancel, a second order under the
   * same client id), and the order is as it was. Absent (adapters written before this field): the
   * engine infers it from the order's state, so a rejection while a cancel is pending answers the
   * cancel, which misreads an order the venue refused after the cancel was sent.
   */
  rejects?: 'order' | 'request';
  text?: string;
  /** Venue time, epoch ms. */
  ts: number;
}

/**
 * A copy of an order as one literal of the shape OrderManager.create gives every order (an
 * absent optional field is present as undefined). Venues keep such copies and change them as the
 * order lives. Not `{ ...order }`: on Node 20, adding a field that the source lacked to a spread
 * copy (venueOrderId, rejectReason) leaves V8's fast path, about 1.8 us a copy against 0.09 us
 * (docs/performance.md, "Object spreads on the order path").
 */
export function copyOrder(o: Readonly<Order>): Order {
  return {
    exchange: o.exchange,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    price: o.price,
    qty: o.qty,
    tif: o.tif,
    reduceOnly: o.reduceOnly,
    source: o.source,
    reason: o.reason,
    clientOrderId: o.clientOrderId,
    venueOrderId: o.venueOrderId,
    status: o.status,
    filledQty: o.filledQty,
    filledNotionalTicksLots: o.filledNotionalTicksLots,
    feeAtoms: o.feeAtoms,
    createdTs: o.createdTs,
    updatedTs: o.updatedTs,
    rejectReason: o.rejectReason,
    text: o.text,
  };
}

/**
 * Whether `v` is a string with no lone UTF-16 surrogate (String.prototype.isWellFormed, ES2024:
 * Node 20 has it, the ES2023 lib does not name it). An id that is not would be stored as U+FFFD
 * (the journal's UTF-8), and two distinct ids ("\ud800", "\udc00") would come back as one.
 */
export function isWellFormedString(v: unknown): v is string {
  return typeof v === 'string' && (v as unknown as { isWellFormed(): boolean }).isWellFormed();
}

const TIME_IN_FORCE: ReadonlySet<unknown> = new Set<TimeInForce>(['GTC', 'IOC', 'FOK', 'POST_ONLY']);

/**
 * Why an intent cannot be an order (a side, type or time in force that is not one of the
 * contract's words, not positive whole lots, a limit price that is not positive whole ticks, or
 * a field the journal cannot keep as it is), or undefined. The engine refuses such an intent;
 * the smart order router passes it through unsplit (a limit price of 0 would read as "no
 * limit"). The words are checked because a plain JavaScript plugin is not held to the types:
 * risk read a side "SELL" as a sell, paper trading executed it and the engine then refused its
 * fills, and each adapter maps an unknown word its own way. The source, reason, reduce-only flag
 * and a market order's price are checked because the order is journaled as it is sent: a reason
 * that was a number (a signal's numeric id) once failed the journal writer's batch, with every
 * fill queued beside it, at every retry (docs/journal.md, "Records the writer cannot store").
 */
export function orderValueProblem(intent: Readonly<OrderIntent>): string | undefined {
  if (intent.side !== 'buy' && intent.side !== 'sell') return `side must be "buy" or "sell", got ${describeValue(intent.side)}`;
  if (intent.type !== 'limit' && intent.type !== 'market') return `type must be "limit" or "market", got ${describeValue(intent.type)}`;
  if (!TIME_IN_FORCE.has(intent.tif)) return `time in force must be one of GTC, IOC, FOK, POST_ONLY, got ${describeValue(intent.tif)}`;
  if (!Number.isSafeInteger(intent.qty) || intent.qty <= 0) return `quantity must be a positive whole number of lots, got ${intent.qty}`;
  if (intent.type === 'limit' && (!Number.isSafeInteger(intent.price) || intent.price! <= 0)) return `limit price must be a positive whole number of ticks, got ${intent.price}`;
  // A market order's price, when given (a protection price), is stored as a number: null reads back as none.
  if (intent.price != null && !Number.isFinite(intent.price)) return `price must be a number of ticks, got ${describeValue(intent.price)}`;
  if (typeof intent.source !== 'string') return `source must be a string (the strategy's name), got ${describeValue(intent.source)}`;
  if (intent.reason !== undefined && typeof intent.reason !== 'string') return `reason must be a string when given, got ${describeValue(intent.reason)}`;
  if (intent.reduceOnly !== undefined && typeof intent.reduceOnly !== 'boolean') return `reduceOnly must be true or false when given, got ${describeValue(intent.reduceOnly)}`;
  return undefined;
}

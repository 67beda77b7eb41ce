import type { MarketEvent } from '../domain/events.js';
import type { Instrument } from '../domain/instrument.js';
import type { ExecutionReport, Order, OrderIntent, RejectReason } from '../domain/orders.js';
import type { Signal } from '../domain/signal.js';

/** Read-only view of one L2 book the engine keeps. */
export interface BookView {
  readonly exchange: string;
  readonly symbol: string;
  readonly synced: boolean;
  bestBid(): number | undefined;
  bestAsk(): number | undefined;
  /** Quantity in lots at a price level, 0 when none. */
  qtyAt(side: 'bid' | 'ask', price: number): number;
  /** Fills `out` with up to n levels best-first; returns the count. */
  topLevels(side: 'bid' | 'ask', n: number, out: { price: number; qty: number }[]): number;
}

export interface PositionView {
  /** Signed position in lots. */
  qty(exchange: string, symbol: string): number;
}

export interface MarketContext {
  readonly now: number;
  instrument(exchange: string, symbol: string): Instrument | undefined;
  book(exchange: string, symbol: string): BookView | undefined;
  /**
   * True when `instrument()` and `book()` return, once a pair has them, the same objects for the
   * context's life, the book updated in place (the engine's are). Code on the hot path may then
   * keep them instead of looking them up on every call; without it, it must look up each time.
   */
  readonly liveBooks?: boolean;
  /**
   * State that must survive a restart (a cooldown that stops re-entering, a last entry time),
   * kept in the journal. Absent when the engine runs without one (replay, tests).
   */
  readonly persisted?: PersistedState;
}

/** A small key-value store per component scope (e.g. "strategy:whale-follower"), journaled on set. */
export interface PersistedState {
  get<T = unknown>(scope: string, key: string): T | undefined;
  set(scope: string, key: string, value: unknown): void;
}

export interface DetectorContext extends MarketContext {
  emit(signal: Signal): void;
}

/** A detector turns market events into signals. Synchronous: it runs on the hot path. */
export interface Detector {
  readonly name: string;
  onMarketEvent(event: MarketEvent, ctx: DetectorContext): void;
  /** Called once at shutdown after intake stopped: finish work in flight, release resources. */
  dispose?(): Promise<void>;
}

export type RiskDecision = { ok: true } | { ok: false; reason: RejectReason; message: string };

export interface RiskContext extends MarketContext {
  readonly positions: PositionView;
  openOrders(exchange: string, symbol: string): readonly Readonly<Order>[];
  /**
   * Our open orders on every instrument (API 1.6; the engine's). max_total_position counts the
   * working orders of other instruments in its worst case; without it, only their positions.
   */
  allOpenOrders?(): readonly Readonly<Order>[];
}

/** One pre-trade check; the engine runs them all in order and stops at the first rejection. */
export interface RiskCheck {
  readonly name: string;
  check(intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision;
  /**
   * Also run on a routed parent before the router splits it (API 1.3): a per-order limit that a
   * split into several children, each under it, must not get around (max_order_notional, and the
   * order's own validity). Children go through every check as orders either way.
   */
  readonly parent?: boolean;
  /**
   * A check made of others (core's built-in chain) answers for a routed parent here, running
   * only its members that are parent checks (API 1.4). When present, it is called for the parent
   * instead of check(), whatever `parent` says; check() still runs on every child.
   */
  checkParent?(intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision;
}

export interface SubmitResult {
  accepted: boolean;
  clientOrderId?: string;
  /**
   * Set when a router split the intent into several orders through `route()` (API 1.6): the id of
   * every one that went out, `clientOrderId` being the first. Cancel each to cancel the intent.
   * `accepted` is true when any went out; `message` then says which were refused and why.
   */
  clientOrderIds?: string[];
  reason?: RejectReason;
  message?: string;
}

export interface StrategyContext extends MarketContext {
  readonly positions: PositionView;
  submit(intent: OrderIntent): SubmitResult;
  cancel(clientOrderId: string): boolean;
  openOrders(exchange: string, symbol: string): readonly Readonly<Order>[];
}

export interface Strategy {
  readonly name: string;
  onSignal(signal: Signal, ctx: StrategyContext): void;
  onMarketEvent?(event: MarketEvent, ctx: StrategyContext): void;
  onExecution?(report: ExecutionReport, ctx: StrategyContext): void;
}

/** Picks the venue (or venues) for an intent; the default sends it where the intent says. */
export interface OrderRouter {
  route(intent: Readonly<OrderIntent>, ctx: MarketContext): OrderIntent[];
  /**
   * Optional, for a router that keeps parent orders (the SmartOrderRouter): the engine hands it
   * every intent instead of calling route(); it submits children through `host` and returns the
   * parent's id as the clientOrderId.
   */
  submitParent?(intent: OrderIntent, host: RouterHost): SubmitResult;
  /** Optional: cancels a parent's live children; false when `clientOrderId` is not a parent. */
  cancelParent?(clientOrderId: string, host: RouterHost): boolean;
  /**
   * Optional: sees every execution report after the engine applied it (children's fills, acks).
   * `order` is the order as the engine holds it after this report: its status says whether the
   * report ended the order (a 'rejected' report for an order being cancelled answers the cancel,
   * and the order works on). Hosts before it was added pass only the report.
   */
  onExecution?(report: ExecutionReport, host: RouterHost, order?: Readonly<Order>): void;
}

/** What the engine lends a router that manages child orders. Synchronous, on the engine thread. */
export interface RouterHost extends MarketContext {
  /** One child through the engine's risk checks to its venue (what submit does without a router). */
  submitChild(intent: OrderIntent): SubmitResult;
  /** Cancels one order by client id; false when it is not open. */
  cancelChild(clientOrderId: string): boolean;
  /**
   * A parent the router is about to split, through the checks that apply to a whole order
   * (`RiskCheck.parent`) and the engine's own order validity: the refusal, or undefined to go on.
   * API 1.3; a host without it checks children only.
   *
   * `highestPrice` (API 1.13): the most, in ticks of the parent's own instrument (rounded up),
   * that any child of the router's plan may trade at: for a buy the deepest ask a child takes,
   * for a sell the best bid of a venue that gets a child. The host values the parent at it where
   * it is above what the parent's own venue gives (its far touch, a buy limit, a sell limit or
   * the bid), never below: a synced own venue's touch is not what children on other venues pay.
   * A host before 1.13 ignores it; a router before 1.13 does not pass it.
   */
  checkParent?(intent: OrderIntent, highestPrice?: number): SubmitResult | undefined;
  /**
   * Why the engine would refuse a new order like `intent` on its venue before any risk check:
   * `NO_CREDENTIALS` (the venue is enabled for market data only), `VENUE_NOT_TRADING` (the pair's
   * trading status refuses this kind of order: post-only, cancel-only, halted), `INVALID_ORDER`
   * (no such instrument); undefined when it would take it. Counts and logs nothing: a router
   * asks it of each venue it may split a parent over and leaves out those that would refuse
   * (API 1.6; without it, a child sent there is refused and its quantity re-routed).
   */
  venueRefusal?(intent: Readonly<OrderIntent>): RejectReason | undefined;
}

import type { Instrument } from '../domain/instrument.js';
import type { InstrumentTrading } from '../domain/trading-status.js';
import type { FeedStatusEvent, MarketEvent } from '../domain/events.js';
import type { ExecutionReport, Order, OrderStatus } from '../domain/orders.js';

/**
 * Why the adapter edge rejected input (the `reason` label of cwts_feed_errors_total). A closed
 * set, so a hostile venue cannot grow the metric's label space.
 */
export type FeedRejectReason =
  | 'malformed' // not JSON / not the venue's shape / cut short
  | 'binary_frame'
  | 'unknown_message' // an event type or stream we did not subscribe to
  | 'unknown_symbol'
  | 'venue_error' // the venue sent an error object
  | 'off_grid' // not a plain decimal on the tick/lot grid, or beyond 2^53 units
  | 'non_positive_price'
  | 'negative_qty'
  | 'zero_qty' // a zero quantity where zero does not mean "delete" (trades, snapshot levels)
  | 'seq_jump' // an update id implausibly far from the book's
  | 'trade_id_jump' // a trade id implausibly far ahead of the stream
  | 'bad_snapshot'; // a snapshot that fails validation (shape, values, crossed)

/** One rejected input, counted per exchange, symbol ('' when unknown) and reason. */
export interface FeedReject {
  exchange: string;
  symbol: string;
  reason: FeedRejectReason;
  /** Human-readable detail for the log line (never the raw frame beyond a short excerpt). */
  detail: string;
}

/** Where an adapter delivers normalized events. Called synchronously on the engine thread. */
export interface MarketEventSink {
  onMarketEvent(event: MarketEvent): void;
  onFeedStatus(status: FeedStatusEvent): void;
  /** A problem the adapter recovered from (malformed frame, gap, checksum); counted and logged. */
  onFeedError(component: string, message: string): void;
  /**
   * Optional: one input rejected at the adapter edge (see FeedErrorReporter in the adapter kit,
   * which also logs it through onFeedError at a rate-limited warn). The engine counts it in
   * cwts_feed_errors_total{exchange,symbol,reason}.
   */
  onFeedReject?(reject: FeedReject): void;
  /** A finite source (a replay) has delivered its last event. */
  onEndOfStream?(exchange: string): void;
}

/**
 * What a recorded source (a replay) found wrong with its recording; see docs/reliability.md,
 * "Replay of damaged recordings", for what each count means.
 */
export interface RecordingIntegrity {
  /** Lines that are not a valid record (not JSON, binary, failing validation): not replayed. */
  malformed: number;
  /** Valid records not applicable (an instrument the recording does not declare): not replayed. */
  skipped: number;
  /** Valid records going back in their stream (sequence or time): replayed as recorded. */
  outOfOrder: number;
  /** Files that end inside a record (the cut record is not replayed). */
  truncated: number;
}

/** Market data half of an exchange plugin. */
export interface MarketDataClient {
  readonly exchange: string;
  /** Instruments for the configured symbols (tick, lot, min notional). */
  loadInstruments(symbols: readonly string[]): Promise<Instrument[]>;
  /** Connects and subscribes; resolves once subscribed (books may still be syncing). */
  start(symbols: readonly string[], sink: MarketEventSink): Promise<void>;
  /** Stops intake; no event is delivered after the promise resolves. */
  stop(): Promise<void>;
  /** Recorded sources only: the damage found in the recording so far (final after end of stream). */
  recordingIntegrity?(): RecordingIntegrity | undefined;
  /**
   * Optional: what the venue allows on `symbol` now (refreshed while running), undefined when
   * unknown. The engine refuses a new order the venue would refuse (VENUE_NOT_TRADING) before it
   * is sent; without this method the instrument's load-time `trading` applies. O(1), no I/O.
   */
  tradingStatus?(symbol: string): InstrumentTrading | undefined;
  /**
   * Optional: keeps `tradingStatus` fresh while this client's feed runs elsewhere (its intake on
   * a worker thread, which builds a client of its own): starts the periodic re-read on this
   * instance and returns what stops it.
   */
  keepTradingStatusFresh?(symbols: readonly string[]): () => void;
  /**
   * Optional: while this client's feed runs elsewhere (an intake worker), the engine's sink for
   * what this engine-thread instance still reports (a venue's private stream borrowing it for its
   * rejected frames and refused subscribes), so those reach the engine's counters and log lines
   * as they do inline. Returns what detaches it. Added in core API 1.9.
   */
  attachEngineSink?(sink: MarketEventSink): () => void;
  /**
   * Optional: the engine's own book of `symbol` found what this adapter let through (a gap
   * between the deltas it delivered, an invalid level or snapshot, a restarted sequence) and is
   * unusable until a snapshot comes: start that symbol's book over as after a gap of your own
   * (announce `resyncing`, then deliver a fresh snapshot with reason 'resync'). Called on a timer,
   * never inside a delivery, and again with backoff while the book stays resyncing and the
   * adapter has not announced a resync. Without it the book waits for whatever snapshot the venue
   * sends next. Must not throw; no I/O on the caller's stack. Added in core API 1.10.
   */
  requestResync?(symbol: string, reason: string): void;
  /**
   * Optional: the largest update-id jump this adapter accepts between two book updates (e.g.
   * Binance's `max_sequence_jump`). The engine's own books use the same bound, so they never
   * refuse (and resync on) an update the adapter was configured to accept; without it they use
   * the adapter kit's default (10,000,000). Read once per book at start. Added in core API 1.10.
   */
  readonly maxSequenceJump?: number;
  /**
   * Optional: how to build this same client again on a worker thread (`[performance] intake =
   * "worker"`, core's intake/). Called after loadInstruments; undefined when it cannot run there.
   */
  intakeWorker?(): IntakeWorkerSpec | undefined;
  /**
   * Optional: one of this venue's intake workers was told by the venue to send no request until
   * `untilMs` (wall-clock ms; a ban, an HTTP 418/429 with a retry time), and said so through
   * IntakeWorkerEnv.venueBlocked. Called on this engine-thread instance, on the engine thread, for
   * every report (a failed worker's included; a time may be earlier than one reported before): a
   * ban covers every request from the IP, so block what this client shares with the venue's
   * execution client (a rate limiter), and hand the block to the next worker (intakeWorker()'s
   * args). Must not throw (a throw is logged and ignored); no I/O. Core API 1.12 called it by this
   * name; part of this contract since 1.13.
   */
  intakeVenueBlocked?(untilMs: number): void;
}

/**
 * A venue's intake (socket + parsing + book sync) as a worker thread builds it: the worker
 * imports `module` (a file URL of compiled JavaScript) and calls its export `factory(args, env)`
 * (core's intake/ IntakeWorkerFactory), which returns a MarketDataClient; the events it emits
 * cross to the engine thread as feed records on a SharedArrayBuffer ring.
 */
export interface IntakeWorkerSpec {
  module: string;
  factory: string;
  /** Structured-clonable (no functions): options, endpoints, the loaded instruments. */
  args: unknown;
}

export type TradingAvailability = { canTrade: true } | { canTrade: false; reason: string };

/** Execution half of an exchange plugin (live, or paper for a simulated venue). */
export interface ExecutionClient {
  readonly exchange: string;
  /** True for venues whose fills are simulated (the sim venue); they run in paper mode. */
  readonly simulated: boolean;
  availability(): TradingAvailability;
  start(onReport: (report: ExecutionReport) => void): Promise<void>;
  /** Sends an order; the outcome arrives as execution reports. Never throws for venue errors. */
  submit(order: Readonly<Order>): void;
  cancel(order: Readonly<Order>): void;
  /** Open orders the venue knows about, for reconciliation after a restart. */
  openOrders(): Promise<Order[]>;
  /**
   * Reconciliation: what the venue knows of one order, asked by its client order id, with every
   * fill it had (real fee, liquidity, trade id). Undefined when the venue does not know the order
   * (never sent, or an in-process venue that did not survive a restart). Rejects when the venue
   * cannot be asked (network): reconciliation then reports the venue as not reconciled.
   */
  queryOrder?(order: Readonly<Order>): Promise<OrderStatusReport | undefined>;
  /**
   * Reconciliation: the account's fills on these symbols at or after `sinceTs` (venue time, epoch
   * ms), oldest first, each with clientOrderId, tradeId and its real fee. Fills already journaled
   * are recognised by trade id and applied once.
   */
  tradesSince?(symbols: readonly string[], sinceTs: number): Promise<ExecutionReport[]>;
  /** Reconciliation: the venue's position per symbol in signed lots (spot: the base asset balance). */
  positions?(symbols: readonly string[]): Promise<VenuePosition[]>;
  /**
   * Reconciliation: the account's balances (total = free + locked, decimal strings as the venue
   * writes them). Compared per traded asset with the journal's view (engine/reconcile.ts).
   */
  balances?(): Promise<VenueBalance[]>;
  /**
   * Optional (core API 1.2): input from the venue this client refused since it was created, by
   * reason, as running totals: frames of its order stream, order answers, trades or order reads
   * that failed its checks and were never applied. The engine reads it at each scrape into
   * `cwts_execution_input_rejected_total{exchange,reason}`.
   */
  inputRejections?(): Iterable<readonly [reason: string, count: number]>;
  stop(): Promise<void>;
  /**
   * Optional: sees every market event of its venue after the engine's books took it, so a paper
   * executor can fill resting orders from the tape. Synchronous, on the engine thread.
   */
  onMarketEvent?(event: MarketEvent): void;
}

/** A venue's answer to queryOrder. */
export interface OrderStatusReport {
  clientOrderId: string;
  venueOrderId?: string;
  status: OrderStatus;
  /** Total filled, lots. */
  filledQty: number;
  /** Every fill of this order, as execution reports of kind 'fill' with trade ids. */
  fills: ExecutionReport[];
}

export interface VenueBalance {
  asset: string;
  /** Free + locked, a decimal string in asset units, exactly as the venue reported it. */
  total: string;
}

export interface VenuePosition {
  symbol: string;
  /** Signed lots. */
  qty: number;
}

/** The pair an exchange plugin provides for one configured venue instance. */
export interface ExchangeInstance {
  marketData: MarketDataClient;
  execution: ExecutionClient;
}

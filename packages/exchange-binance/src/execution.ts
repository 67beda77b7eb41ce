import {
  copyOrder,
  formatScaled,
  parseDecimal,
  lotsToQty,
  qtyToLots,
  priceToTicks,
  ticksToPrice,
  type Clock,
  type DecimalScale,
  type ExecutionClient,
  type ExecutionReport,
  type Instrument,
  type Logger,
  type Order,
  type OrderStatusReport,
  type VenueBalance,
  type VenuePosition,
  type TradingAvailability,
} from '@cwts/core';
import { type Secret } from '@cwts/core/config';
import { LogThrottle } from '@cwts/core/observability';
import { BoundedIdSet, RateLimiter, SerialReread, TimerSet, claimPriorTrades, gridUnits, isPlainDecimal, redactCredentials, refusedByVenue, type VenueErrorMap } from '@cwts/core/adapter-kit';
import { BinanceWsOrderEntry, type PendingWsRequest, type WsApiRateLimit, type WsApiResponse } from './ws-order-entry.js';
import { bannedUntil, binanceWsApiUrl, BinanceUserStream, type RotationScheduler } from './user-stream.js';
import { isVenueId, venueTradeProblem, type BinanceOrderUpdate, type VenueTrade } from './user-stream-parse.js';
import { feeToQuoteAtoms, lotsFloor } from './fees.js';
import { binanceErrorMap, mapBinanceError } from './errors.js';
import { capBanEnd } from './ip-ban.js';
import type { BinanceEndpoints } from './market-data.js';
import type { BinanceOptions } from './options.js';

/** The part of a ccxt exchange we use (ccxt is loaded lazily: it is large). */
interface CcxtBinance {
  urls: { api: Record<string, string> };
  options: Record<string, unknown>;
  markets_by_id?: Record<string, { symbol: string }[]>;
  setSandboxMode(on: boolean): void;
  loadMarkets(): Promise<unknown>;
  createOrder(symbol: string, type: string, side: string, amount: string, price?: string, params?: Record<string, unknown>): Promise<CcxtOrder>;
  cancelOrder(id: string | undefined, symbol: string, params?: Record<string, unknown>): Promise<CcxtOrder>;
  fetchOpenOrders(symbol?: string): Promise<CcxtOrder[]>;
  /** ccxt's implicit endpoints: signed, raw Binance JSON back. */
  privateGetOrder(params: Record<string, unknown>): Promise<BinanceOrderJson>;
  privateGetMyTrades(params: Record<string, unknown>): Promise<BinanceTradeJson[]>;
  privateGetAccount(params?: Record<string, unknown>): Promise<{ balances: { asset: string; free: string; locked: string }[] }>;
  /** Every REST answer passes here (base Exchange); wrapped to read an error answer's HTTP status and headers. */
  handleRestResponse(response: CcxtHttpResponse, ...rest: unknown[]): Promise<unknown>;
  getResponseHeaders(response: CcxtHttpResponse): Record<string, unknown>;
}
interface CcxtHttpResponse {
  status: number;
}
/** An error ccxt threw for a REST answer, with the answer's HTTP status (set in watchRestAnswers). */
interface RestAnswerError {
  httpStatus?: number;
}
interface CcxtOrder {
  id?: string;
  clientOrderId?: string;
  status?: string;
  info: Record<string, unknown>;
}
/** GET /api/v3/order and the order response (rest-api.md). */
interface BinanceOrderJson {
  symbol: string;
  orderId: number;
  clientOrderId: string;
  price: string;
  origQty: string;
  executedQty: string;
  status: string;
  type: string;
  side: 'BUY' | 'SELL';
  time?: number;
  /** Set once self-trade prevention prevented a match of the order (faqs/stp_faq.md). */
  preventedQuantity?: string;
}
/** GET /api/v3/myTrades (rest-api.md "Account trade list"). */
interface BinanceTradeJson {
  symbol: string;
  id: number;
  orderId: number;
  price: string;
  qty: string;
  commission: string;
  commissionAsset: string;
  time: number;
  isBuyer: boolean;
  isMaker: boolean;
}

export interface BinanceExecutionDeps {
  exchange: string;
  endpoints: BinanceEndpoints;
  options: BinanceOptions;
  clock: Clock;
  logger?: Logger;
  apiKey?: Secret;
  apiSecret?: Secret;
  testnet: boolean;
  /** Instruments the market-data half loaded (shared). */
  instrument: (symbol: string) => Instrument | undefined;
  /** Shared per-IP weight limiter; the order bucket is ours. */
  limiter: RateLimiter;
  /** Timers for the user stream's 24-hour rotation (tests fire it by hand). */
  rotationScheduler?: RotationScheduler;
}

interface Tracked {
  order: Order;
  acked: boolean;
  /** Lots counted as filled: the trades reported here, and what had filled before this process followed the order (priorLots). */
  cumLots: number;
  /**
   * Ids of this order's trades counted in cumLots (its prior ones too, once claimed), for as long
   * as it is followed. The account-wide set of booked ids (applied) is bounded: an order open
   * while the account books more trades than it holds loses its early ids there, and the next
   * read of its trades (the whole list, from its first trade) would report them again. Each id
   * keeps the lots it was booked at: a later read naming the same trade at another quantity is a
   * contradiction between the venue's sources (mismatched), never a second booking.
   */
  booked?: Map<number, number>;
  /**
   * Trades booked here at one quantity that a later read (REST) lists at another: trade id ->
   * the lots that read names. Nothing more is booked for them (which source is right is not
   * knowable here); the order's end compares the venue's executed quantity with what the venue
   * lists, and names the difference (endMismatched) for reconciliation.
   */
  mismatched?: Map<number, number>;
  /**
   * An order followed from what filled before this process saw it (the open-order listing, or a
   * stream event of an order not placed here): those lots, counted in cumLots from the start,
   * whose trades are not identified yet. They are never reported: the listing also names orders
   * the engine leaves alone (placed outside this process), whose trades from before the journal
   * began are not ours to book. Each read of the order's trades marks the earliest ones, adding
   * up to this many lots, as booked (claimPriorTrades); once they do, it is dropped.
   */
  priorLots?: number;
  /**
   * The order's quantity before the venue's read showed it lower (an amend made outside this
   * process: order.qty is the venue's quantity since). Its end at FILLED then reports the
   * amended-away rest as cancelled, which ends the engine's order (a fill ends it only at its
   * own quantity). See takeVenueQty.
   */
  placedQty?: number;
  /**
   * Lots self-trade prevention took off the order while it kept working (STP DECREMENT or
   * TRANSFER: the order with more left stays on the book, its preventedQuantity raised by the
   * prevented match; faqs/stp_faq.md, Scenario G). Those lots never fill, so FILLED ends the order
   * once its fills and these cover its quantity. Only a REST read sets it (its preventedQuantity):
   * a frame alone never lets an order end short.
   */
  preventedLots?: number;
  /**
   * Client ids the venue gave this order after it was placed: an amend outside this process
   * without newClientOrderId draws a new one (rest-api.md, order amend keep-priority). Its later
   * events name that id; they are matched by venue order id (byVenueId) and applied to this order.
   */
  venueClientIds?: Set<string>;
  /**
   * Submit outcome unknown (timeout, connection lost, -1006 / -1007 / 5xx): asked by client id
   * until known. The time (on the clock) the outcome became unknown here: the answer, timeout or
   * loss, not the request's signing time (see resolveUnknown).
   */
  unknownSince?: number;
  /** "Does not exist" answers counted toward concluding the order rejected (resolveUnknown). */
  unknownMisses?: UnknownMisses;
  /**
   * The venue knows more than we booked (a stream event counts fills we have not seen, a refused
   * stream frame named it, or its trade list lagged its status): read over REST until a read
   * comes back whole. The poll timer retries it while the stream is up too.
   */
  stale?: boolean;
  /** REST reads of it (readOrder): one at a time, and one more when asked meanwhile. */
  reads?: SerialReread<true>;
  /**
   * First seen on the user data stream, neither placed by us in this run nor handed to us by
   * reconciliation (which reads every order the journal holds): another program's order on the
   * account. Its events are passed on; it is not read over REST by polls and audits.
   */
  foreign?: boolean;
}

const TERMINAL = new Set(['CANCELED', 'EXPIRED', 'REJECTED', 'FILLED', 'EXPIRED_IN_MATCH']);
/** Client ids the venue gave one order kept at most (Tracked.venueClientIds). */
const MAX_VENUE_CLIENT_IDS = 16;
/** Statuses a TRADE_PREVENTION report ends the order with (any other: it still works, decremented). */
const STP_ENDED = new Set(['EXPIRED_IN_MATCH', 'EXPIRED', 'CANCELED']);
const APPLIED_WINDOW = 65_536;
/** "Does not exist" answers after the window that conclude an order whose submit outcome was unknown rejected ... */
const UNKNOWN_MISSES = 3;
/** ... each asked at least this long (on the clock) after the one counted before it. */
const UNKNOWN_MISS_SPACING_MS = 1000;
/**
 * A journaled order created this long before its window closed (recvWindow + REST timeout + 1 s)
 * is settled: the venue either took it long ago or never will, so at a restart the first "does
 * not exist" stands (asking it UNKNOWN_MISSES times would cost every such order seconds, one
 * after another, at every restart).
 */
const UNKNOWN_SETTLED_MS = 60_000;
/** Off-grid trades of one reconciliation read warned about one by one; the rest are counted in one line. */
const SKIPPED_TRADES_NAMED = 20;
/** GET /api/v3/myTrades answers at most this many trades (rest-api.md "Account trade list"). */
const TRADES_PAGE = 1000;
/** myTrades' startTime..endTime may span at most 24 h (rest-api.md "Account trade list"). */
const TRADES_WINDOW_MS = 86_400_000;
/** 24 h windows tradesSince walks at most (a year: 7,320 weight, about 1.2 min of the per-IP limit). */
const MAX_TRADE_WINDOWS = 366;

const side = (s: string): 'buy' | 'sell' => (s === 'SELL' ? 'sell' : 'buy');

/** "Does not exist" answers counted toward concluding an order absent at the venue (countMiss). */
interface UnknownMisses {
  count: number;
  lastAt: number;
}

/**
 * One "does not exist" answer to a query by client id sent at `askedAt` (taken before it went
 * out): counted only when sent after `notBefore` (the venue may still take an order sent before
 * then) and at least UNKNOWN_MISS_SPACING_MS after the one counted before it. The order is absent
 * once UNKNOWN_MISSES are counted (missesConclude). Shared by an unknown submit outcome in
 * process (resolveUnknown) and a journal's order at a restart (queryOrder): both ask the same
 * question of the same venue.
 */
function countMiss(m: UnknownMisses | undefined, askedAt: number, notBefore: number): UnknownMisses | undefined {
  if (!(askedAt > notBefore)) return m;
  if (m && askedAt - m.lastAt < UNKNOWN_MISS_SPACING_MS) return m;
  return { count: (m?.count ?? 0) + 1, lastAt: askedAt };
}

const missesConclude = (m: UnknownMisses | undefined): boolean => (m?.count ?? 0) >= UNKNOWN_MISSES;

/** Trades a reconciliation read skipped as off the current grid (readTradeUsable). */
interface SkippedTrades {
  count: number;
}

/**
 * Live Binance execution. Orders go out through ccxt (signing, precision, error mapping) with
 * every request's path measured. Fills and cancels come from the user data stream on the
 * WebSocket API (spot; user-stream.ts) with the real commission, commission asset and maker flag;
 * REST polling (order status + myTrades, so fees stay real) runs only while that stream is down,
 * plus one sweep each time it comes back. Every trade is applied once per order, whichever source
 * saw it first (key: symbol + venue order id + trade id). A submit that timed out is asked for by
 * client id until the venue's answer is known; it is never assumed rejected. Credentials stay
 * inside ccxt and the stream's signer; nothing here logs or returns them.
 */
export class BinanceExecution implements ExecutionClient {
  readonly exchange: string;
  readonly simulated = false;
  private ccxt: CcxtBinance | undefined;
  private onReport: ((r: ExecutionReport) => void) | undefined;
  private readonly timers = new TimerSet();
  private readonly errors: VenueErrorMap;
  private readonly orderLimiter: RateLimiter;
  private readonly tracked = new Map<string, Tracked>();
  /**
   * Followed orders by `symbol|venue order id`. The venue order id stays when an amend made
   * outside this process changes the client id; without this map the order's later events (under
   * the new id) opened a second, "foreign" entry that reported its fills under an id the engine
   * does not know, and the engine's order ended cancelled without them.
   */
  private readonly byVenueId = new Map<string, Tracked>();
  /**
   * `symbol|orderId|tradeId` of every trade already reported (bounded, oldest dropped first). The
   * venue order id is part of the key: a self-trade (two orders of this account matched, STP
   * NONE) is one trade id on both orders, each with its own fill (faqs/stp_faq.md, Scenario A:
   * one match fills both, the taker's `fills` name its one `tradeId`; CHANGELOG 2018-01-20:
   * myTrades returns both sides of a self-trade). Keyed by trade id alone, the side seen second
   * was counted in its order but never reported.
   */
  private readonly applied = new BoundedIdSet(APPLIED_WINDOW);
  /** Client ids (and `v:symbol|venue order id`) of orders that reached a final state here (bounded): late reports about them are dropped. */
  private readonly finished = new BoundedIdSet(APPLIED_WINDOW);
  private stream: BinanceUserStream | undefined;
  /** Order entry on the WebSocket API (order_entry = "ws"); REST through ccxt while it is down. */
  private entry: BinanceWsOrderEntry | undefined;
  private stopped = false;
  /** Ban ends past the longest Binance gives (BINANCE_MAX_BAN_MS), held to it instead (tests, /status). */
  cappedBans = 0;
  private cappedBanEnd = 0;
  /** Orders and cancels sent per path (tests, /status): the WebSocket API or REST (ccxt). */
  readonly orderPaths = { ws: 0, rest: 0, wsCancels: 0, restCancels: 0 };
  /** Request path latencies in ns (submit -> venue answer), most recent last; capped. */
  readonly requestNs: number[] = [];
  /** Fills learned from each source (tests and /status). */
  readonly fillSources = { stream: 0, poll: 0, response: 0, query: 0 };
  /** Venue input refused here (trades by source, order reads), running totals by reason: never applied. */
  private readonly refused = new Map<string, number>();
  /** Orders on the REST path waiting for their turn under the limiters: later orders queue behind them (placeWs). */
  private ordersWaitingTurn = 0;
  /**
   * Creates on the REST path waiting for their turn under the limiters, by client id; `cancelled`
   * once a cancel was answered here (cancelQueued). Such a create has not left: a cancel sent to
   * the venue was refused as unknown, and the create went out after it (a HALT's mass cancel
   * overtakes the creates queued before it), so the order worked after the kill switch.
   */
  private readonly queuedCreates = new Map<string, { cancelled: boolean }>();
  /** Stream events that showed fills we had not seen (each led to a REST read of its order). */
  streamGaps = 0;
  /** Warnings for refused input, per kind: the first at once, then at most every 10 s. */
  private readonly refusedLog: LogThrottle;

  constructor(private readonly deps: BinanceExecutionDeps) {
    this.exchange = deps.exchange;
    this.errors = binanceErrorMap(deps.exchange);
    this.refusedLog = new LogThrottle(() => deps.clock.now());
    this.orderLimiter = new RateLimiter([{ name: 'orders', limit: deps.options.orders_per_10s, intervalMs: deps.options.order_limit_interval_ms }], () => deps.clock.now(), this.timers);
  }

  availability(): TradingAvailability {
    const k = this.deps.apiKey;
    const s = this.deps.apiSecret;
    if (!k || k.isEmpty || !s || s.isEmpty) return { canTrade: false, reason: 'no api_key/api_secret configured; market data only' };
    // Orders, queries and reconciliation below speak the spot REST API; a USD-M futures host
    // has none of it, so no order is attempted there (docs/binance-execution.md "USD-M futures").
    if (this.deps.endpoints.market === 'usdm') return { canTrade: false, reason: 'USD-M futures execution is not implemented (market data only)' };
    if (this.stopped) return { canTrade: false, reason: 'stopped' };
    return { canTrade: true };
  }

  /** The user data stream, when this venue uses one (spot with fills = "stream"). */
  get userStream(): BinanceUserStream | undefined {
    return this.stream;
  }

  async start(onReport: (r: ExecutionReport) => void): Promise<void> {
    this.onReport = onReport;
    this.stopped = false;
    this.timers.reopen();
    if (!this.availability().canTrade) return;
    const mod = (await import('ccxt')) as unknown as { default?: { binance: new (c: object) => CcxtBinance }; binance?: new (c: object) => CcxtBinance };
    const Ctor = mod.binance ?? mod.default!.binance;
    const ex = new Ctor({
      apiKey: this.deps.apiKey!.reveal(),
      secret: this.deps.apiSecret!.reveal(),
      enableRateLimit: false, // our limiter decides; ccxt's would double-throttle
      timeout: this.deps.options.rest_timeout_ms,
      options: { fetchMarkets: { types: ['spot'] }, fetchMargins: false, fetchCurrencies: false, defaultType: 'spot', fetchOpenOrders: { warnWithoutSymbol: false }, recvWindow: this.deps.options.recv_window_ms, adjustForTimeDifference: false },
    });
    if (this.deps.testnet) ex.setSandboxMode(true);
    // rest_url (or the testnet default) replaces ccxt's endpoints: a test server works the same way
    // Every ccxt endpoint is re-rooted, so nothing can reach a host other than the configured one.
    const root = this.deps.endpoints.restRoot;
    for (const [k, u] of Object.entries(ex.urls.api)) {
      if (typeof u === 'string') ex.urls.api[k] = root + new URL(u).pathname;
    }
    this.watchRestAnswers(ex);
    this.ccxt = ex;
    await this.deps.limiter.acquire({ ip: 20 });
    await ex.loadMarkets();
    let audited = this.deps.clock.now();
    this.timers.interval(() => {
      const now = this.deps.clock.now();
      const audit = this.deps.options.audit_interval_ms;
      if (!this.stream?.up) void this.pollTracked(false);
      else if (audit > 0 && now - audited >= audit) {
        // the stream is the source, but not the only one: an event lost on a live connection
        // (a venue fault) shows in this slow read of every working order
        audited = now;
        void this.pollTracked(false);
      } else for (const tr of this.tracked.values()) if (tr.stale && !tr.reads?.inFlight) this.readOrder(tr);
    }, this.deps.options.poll_interval_ms);
    // Spot only: USD-M futures execution is not implemented (availability() refuses it).
    if (this.deps.options.fills === 'stream' && this.deps.endpoints.market === 'spot') {
      this.stream = new BinanceUserStream({
        url: binanceWsApiUrl(this.deps.endpoints, this.deps.testnet, this.deps.options.ws_api_url),
        apiKey: this.deps.apiKey!, apiSecret: this.deps.apiSecret!, recvWindowMs: this.deps.options.recv_window_ms, rotationMs: this.deps.options.user_stream_rotation_ms,
        now: () => this.deps.clock.now(), timers: this.timers, backoff: { initialMs: this.deps.options.reconnect_initial_ms, maxMs: this.deps.options.reconnect_max_ms }, rotationScheduler: this.deps.rotationScheduler, logger: this.deps.logger,
        instrument: this.deps.instrument,
        onReport: (u) => this.onStreamReport(u),
        onRejected: (r) => this.onStreamRejected(r),
        // the WebSocket API's answer timeout (the same API as order entry's)
        subscribeAnswerTimeoutMs: this.deps.options.order_entry_timeout_ms,
        // a ban answered to the subscription covers orders, cancels and reads from this IP too
        onRateLimited: (until) => this.holdBack(until),
        // and a ban market data met (the per-IP limiter is shared): no reconnect into it either
        blockedUntil: () => this.ipBlockedUntil(),
        onState: (up, reason) => {
          this.deps.logger?.info({ exchange: this.exchange, up }, `user data stream ${up ? 'subscribed' : `down (${reason}); fills by REST polling until it is back`}`);
          // events sent while we were not subscribed are not replayed: sweep once, also when a
          // poll is running (it may have read an order before what the stream missed)
          if (up) void this.pollTracked(true);
        },
      });
      // not awaited to the subscription: polling covers the time until it is up
      void this.stream.start().catch((err: Error) => this.deps.logger?.warn({ exchange: this.exchange }, redactCredentials(`user data stream: ${err.message}`)));
    }
    if (this.deps.options.order_entry === 'ws' && this.deps.endpoints.market === 'spot') await this.startOrderEntry();
  }

  /**
   * With order entry on the WebSocket API up, the signed request is on the socket when this
   * returns; otherwise (connecting, down, rate limit needing a wait) the order goes through REST.
   */
  submit(order: Readonly<Order>): void {
    if (this.entry?.ready && this.placeWs(order)) return;
    void this.place(copyOrder(order));
  }

  cancel(order: Readonly<Order>): void {
    if (this.cancelQueued(order)) return;
    if (this.entry?.ready && this.cancelWs(order)) return;
    void this.cancelOne(copyOrder(order));
  }

  /** The WebSocket API order entry, when configured (tests, /status). */
  get orderEntry(): BinanceWsOrderEntry | undefined {
    return this.entry;
  }

  async openOrders(): Promise<Order[]> {
    if (!this.ccxt) return [];
    // weight 80 without a symbol (rest-api.md "Current open orders")
    await this.readTurn(80);
    const list = await this.ccxt.fetchOpenOrders();
    const out: Order[] = [];
    for (const o of list) {
      let order: Order | undefined;
      try {
        order = this.orderFromJson(o.info as unknown as BinanceOrderJson);
      } catch (err) {
        // one order whose values are not readable here is left out (counted, warned): it must
        // not hide every other working order of the account from reconciliation
        this.countRefused('order_read');
        this.warnRefused('order-listing', `${this.exchange}: a listed open order left out: ${(err as Error).message}`);
        continue;
      }
      if (!order) continue;
      // an order we follow whose client id the venue changed (amended outside this process) is
      // listed under ours: it is the engine's order, not one to adopt a second time
      const owner = this.followedByVenueId(order.symbol, order.venueOrderId);
      if (owner && owner.order.clientOrderId !== order.clientOrderId) {
        this.noteVenueClientId(owner, order.clientOrderId);
        order.clientOrderId = owner.order.clientOrderId;
      }
      out.push(order);
      // Followed from now on (stream, or polling while it is down), from the venue's filled
      // quantity: only trades made from now on are reported (priorLots). This listing names every
      // working order of the account, also one the engine leaves alone (an id it does not issue);
      // without its earlier trades marked as booked, the first read of its trades (every trade
      // it ever had) reported those from before the journal began, booked onto the order the
      // engine adopted from one of its later trades: the position moved by the account's
      // history. An order the engine adopts it asks about next (queryOrder), which follows it
      // from the trades it hands over instead: its earlier trades are booked once each, by id.
      const tr = this.tracked.get(order.clientOrderId);
      if (!tr) {
        const listed: Tracked = { order: copyOrder(order), acked: true, cumLots: order.filledQty };
        if (order.filledQty > 0) listed.priorLots = order.filledQty;
        this.follow(listed);
      } else tr.foreign = false; // seen on the stream first (its earlier trades are prior too); reconciliation reads it now

    }
    return out;
  }

  /**
   * Reconciliation: the venue's view of one order, asked by client id (origClientOrderId), with
   * every trade it had (real fee, liquidity, trade id). Undefined when Binance does not know it.
   * An order still working is followed from now on.
   */
  async queryOrder(order: Readonly<Order>): Promise<OrderStatusReport | undefined> {
    const i = this.deps.instrument(order.symbol);
    if (!this.ccxt || !i) throw new Error(`${this.exchange}: execution not started or unknown symbol ${order.symbol}`);
    const json = await this.lookUpJournaled(order);
    if (!json) return undefined;
    const filledQty = qtyToLots(i, json.executedQty);
    // FILLED: its trades are read whatever its count says, as a poll reads them (syncOrder)
    const filled = json.status === 'FILLED';
    const trades = filledQty > 0 || filled ? await this.fetchOrderTrades(order.symbol, json.orderId, filled ? Math.max(filledQty, order.qty) : filledQty) : [];
    const o = copyOrder(order);
    o.venueOrderId = String(json.orderId);
    const fills: ExecutionReport[] = [];
    let cum = 0;
    const booked = new Map<number, number>();
    const skipped: SkippedTrades = { count: 0 };
    for (const t of trades) {
      if (!this.readTradeUsable(i, t, json.orderId, order.clientOrderId, skipped)) continue;
      const lots = qtyToLots(i, t.qty);
      const r = this.fillReport(o, i, t, (cum += lots));
      this.markApplied(order.symbol, json.orderId, t.tradeId);
      booked.set(t.tradeId, lots);
      fills.push(r);
    }
    this.warnSkippedTrades(order.symbol, skipped);
    // The trade list can lag the order's status: the order is then reported, and followed, as far
    // as the trades listed book it; it stays stale, so the rest is read and its end waits for them
    // (as syncOrder's). Followed from the venue's count, the missing trades would never be asked for.
    // So is an order with a trade off the current grid (skipped above): see readTradeUsable.
    // FILLED short of the order is its end only when its trades agree with its count and none
    // was skipped, as a poll ends it (syncOrder); otherwise it is followed and read again.
    const short = filled && cum < order.qty;
    const lagging = cum < filledQty || (short && (cum !== filledQty || skipped.count > 0));
    if (lagging || !TERMINAL.has(json.status)) {
      o.filledQty = cum;
      const followed: Tracked = { order: o, acked: true, cumLots: cum, booked, ...(lagging ? { stale: true } : {}) };
      this.takeVenueQty(followed, gridUnits(json.origQty, i.qtyScale));
      this.takePrevented(followed, json, i);
      if (typeof json.clientOrderId === 'string' && json.clientOrderId !== o.clientOrderId) this.noteVenueClientId(followed, json.clientOrderId);
      this.follow(followed);
    } else this.forget(o.clientOrderId);
    if (lagging) return { clientOrderId: order.clientOrderId, venueOrderId: o.venueOrderId, status: cum > 0 ? 'partially_filled' : 'open', filledQty: cum, fills };
    // FILLED short of the order is the venue ending it short (status cancelled, as an expiry): the
    // engine ends an order as filled only at its own quantity. Its count may lag the trades: they say.
    if (filled) return { clientOrderId: order.clientOrderId, venueOrderId: o.venueOrderId, status: short ? 'cancelled' : 'filled', filledQty: cum, fills };
    return { clientOrderId: order.clientOrderId, venueOrderId: o.venueOrderId, status: this.statusOf(json.status, filledQty), filledQty, fills };
  }

  /**
   * The venue's order JSON of an order the journal holds (queryOrder); undefined once the venue
   * says it does not exist. A crash just after a send leaves an order the venue may take seconds
   * later (a request in flight up to recvWindow past its signing, an answer waited for up to the
   * REST timeout, a matching engine behind): at a restart within seconds, the first "does not
   * exist" proves nothing, and an order concluded absent on it worked at the venue while the
   * engine closed it (not counted by risk, not cancelled by a HALT). So the in-process rule
   * (resolveUnknown) applies: only misses asked more than recvWindow + REST timeout + 1 s after
   * its creation count, and UNKNOWN_MISSES of them, spaced (countMiss). Without a creation time
   * (createdTs 0), or for an order settled long ago (UNKNOWN_SETTLED_MS), the first answer stands. A creation time ahead of this host's clock is taken
   * as now: a journal's clock skew must not hold reconciliation up indefinitely.
   */
  private async lookUpJournaled(order: Readonly<Order>): Promise<BinanceOrderJson | undefined> {
    const created = Number.isFinite(order.createdTs) && order.createdTs > 0 ? Math.min(order.createdTs, this.deps.clock.now()) : undefined;
    const notBefore = created === undefined ? undefined : created + this.deps.options.recv_window_ms + this.deps.options.rest_timeout_ms + 1000;
    let misses: UnknownMisses | undefined;
    for (;;) {
      const askedAt = this.deps.clock.now();
      const json = await this.fetchOrderJson(order.symbol, { origClientOrderId: order.clientOrderId });
      if (json) return json;
      // Not known by our client id, but acked under a venue order id: an amend outside this process
      // may have given it another client id (the venue's default); the venue order id stays.
      if (isVenueIdText(order.venueOrderId)) {
        const byId = await this.fetchOrderJson(order.symbol, { orderId: Number(order.venueOrderId) });
        if (byId && byId.symbol === order.symbol) return byId;
      }
      if (notBefore === undefined || askedAt > notBefore + UNKNOWN_SETTLED_MS) return undefined;
      misses = countMiss(misses, askedAt, notBefore);
      if (missesConclude(misses)) return undefined;
      await this.timers.sleep(Math.min(1000, Math.max(50, this.deps.options.poll_interval_ms)));
      if (this.stopped) throw new Error(`${this.exchange}: execution stopped`);
    }
  }

  /** Reconciliation: the account's trades on these symbols since `sinceTs` (epoch ms), oldest first. */
  async tradesSince(symbols: readonly string[], sinceTs: number): Promise<ExecutionReport[]> {
    const out: ExecutionReport[] = [];
    for (const symbol of symbols) {
      const i = this.deps.instrument(symbol);
      if (!i || !this.ccxt) continue;
      const trades = await this.fetchTradesSince(symbol, sinceTs);
      const byOrder = new Map<number, BinanceOrderJson | undefined>();
      /** Followed orders whose earlier trades this read has identified (claimPriorTrades). */
      const claimed = new Set<Tracked>();
      const skipped: SkippedTrades = { count: 0 };
      /** Orders the venue did not answer for, warned about once per read (orderlessTradeOwner). */
      const unanswered = new Set<number>();
      for (const t of trades) {
        if (!byOrder.has(t.orderId)) byOrder.set(t.orderId, await this.fetchOrderJson(symbol, { orderId: t.orderId }));
        const oj = byOrder.get(t.orderId);
        // What a fill report needs of its order, no more: its quantity and price are not read, so
        // an order left off the current grids by a tick- or lot-size change (its trades on them)
        // has its trades reported as any other's (orderFromJson threw for it, failing the read).
        // An order the venue does not answer for: its trade is reported from the trade itself.
        const owner = oj ? this.tradeOwner(i, oj) : this.orderlessTradeOwner(i, t, unanswered);
        const tr = this.readTradeOrder(symbol, t.orderId, owner.clientOrderId);
        // a followed order's trade is reported under its client id, also when the venue names
        // the order by another one (amended outside this process)
        const o = { ...owner, ...(tr ? { clientOrderId: tr.order.clientOrderId } : {}) };
        const trade = this.tradeOf(t);
        if (!this.readTradeUsable(i, trade, t.orderId, o.clientOrderId, skipped)) continue;
        // An order followed from a listing (or a stream event) with lots filled before: which of
        // its trades those were is known only from its own trade list (this one may be one of
        // them, or one made since), so they are claimed before this trade is counted.
        if (tr?.priorLots !== undefined && !claimed.has(tr)) {
          // its executed quantity bounds that list: without the order's read it is not known, and
          // counted unclaimed the trade may be one of its prior lots, counted twice
          if (!oj) throw new Error(`${this.exchange} ${symbol}: order ${t.orderId}, followed here, is unknown to the venue's order read while its trade list names trade ${t.id}; not read`);
          claimed.add(tr);
          const executed = gridUnits(oj.executedQty, i.qtyScale);
          if (executed !== undefined && executed > 0) this.claimPriorTrades(tr, i, t.orderId, await this.fetchOrderTrades(symbol, t.orderId, executed));
        }
        // A trade first seen here of an order we follow (queryOrder put the journal's open orders
        // under follow just before) counts in that order's total, as a polled one would: later
        // reads skip it as booked, and the order's end waits for its total to reach the venue's
        // executed quantity. Marked but not counted, that end never came (a cancel never reported).
        // Counted also when another entry of that order reported it already (see applyTrade).
        this.markApplied(symbol, t.orderId, t.id);
        if (tr && this.book(tr, t.id, qtyToLots(i, t.qty)) === 'new') {
          tr.cumLots += qtyToLots(i, t.qty);
          tr.order.filledQty = tr.cumLots;
        }
        out.push({ ...this.fillReport(o, i, trade, 0), cumQty: 0, leavesQty: 0 });
      }
      this.warnSkippedTrades(symbol, skipped);
    }
    return out.sort((a, b) => a.ts - b.ts);
  }

  /**
   * The order we follow that a trade read by tradesSince belongs to: same client id, symbol and
   * venue order id; or the same venue order id under another client id (amended outside this
   * process).
   */
  private readTradeOrder(symbol: string, venueOrderId: number, clientOrderId: string): Tracked | undefined {
    const tr = this.tracked.get(clientOrderId);
    // a client id seen again on another venue order, or another symbol: not the order we follow
    if (tr && tr.order.symbol === symbol && (tr.order.venueOrderId === undefined || tr.order.venueOrderId === String(venueOrderId))) return tr;
    return this.followedByVenueId(symbol, String(venueOrderId));
  }

  /**
   * Every trade of one symbol since `sinceTs`, however many. The most recent page comes first:
   * when it is short, or reaches back before `sinceTs`, it holds them all (one request after a
   * short downtime). Otherwise: myTrades takes a window of at most 24 h (startTime + endTime) or a
   * first trade id (fromId), not both, so 24 h windows are asked in turn until one holds a trade,
   * and from there (later windows included) pages follow by trade id until one is short. More
   * windows than MAX_TRADE_WINDOWS fail the read: better reported than cut short.
   */
  private async fetchTradesSince(symbol: string, sinceTs: number): Promise<BinanceTradeJson[]> {
    const before = (t: BinanceTradeJson) => typeof t?.time === 'number' && t.time < sinceTs;
    const recent = await this.fetchTradesRaw({ symbol, limit: TRADES_PAGE });
    if (recent.length < TRADES_PAGE || recent.some(before)) return recent.filter((t) => !before(t));
    const windows = Math.ceil((this.deps.clock.now() - sinceTs) / TRADES_WINDOW_MS) + 1;
    if (!(windows <= MAX_TRADE_WINDOWS)) {
      throw new Error(`${this.exchange} ${symbol}: over ${TRADES_PAGE} trades since ${sinceTs} (epoch ms), whose reading would take ${windows} day windows (at most ${MAX_TRADE_WINDOWS}); not read`);
    }
    const out: BinanceTradeJson[] = [];
    let start = sinceTs;
    let fromId: number | undefined;
    for (;;) {
      if (fromId === undefined && start > this.deps.clock.now()) return out;
      const page = fromId === undefined
        ? await this.fetchTradesRaw({ symbol, startTime: start, endTime: start + TRADES_WINDOW_MS - 1, limit: TRADES_PAGE })
        : await this.fetchTradesRaw({ symbol, fromId, limit: TRADES_PAGE });
      out.push(...page);
      if (fromId === undefined && page.length === 0) {
        start += TRADES_WINDOW_MS;
        continue;
      }
      const next = nextTradeId(page);
      // a short page by id is the last; an id that does not move on (a broken answer) would repeat it
      if (next === undefined || (fromId !== undefined && (page.length < TRADES_PAGE || next <= fromId))) return out;
      fromId = next;
    }
  }

  /**
   * A trade reconciliation read, checked before use. One that is not a trade (no id, a value that
   * is not a positive decimal, a bad commission or time): a broken answer, the read fails and
   * nothing of it is booked (reconciliation tries again). One that is well formed but off the
   * instrument's current grid (a fill of an order left at its old-grid price by a tick-size
   * change, or an old-lot quantity): a real trade that no count of ticks and lots books exactly,
   * nor will any later read. Failing the read for it failed every start's reconciliation of the
   * whole account (venue_unreachable, the venue never ready). It is skipped instead: counted
   * (`trade_list_off_grid`), warned about with its trade id and order (warnSkippedTrades) for an
   * operator to book by hand; false. Not booked rounded either: the journal's cash would differ
   * from the venue's.
   */
  private readTradeUsable(i: Instrument, t: VenueTrade, venueOrderId: number, clientOrderId: string, skipped: SkippedTrades): boolean {
    const problem = venueTradeProblem(i, t);
    if (problem === undefined) return true;
    if (!offCurrentGrid(i, t)) {
      this.countRefused('trade_list');
      throw new Error(`${this.exchange} ${i.symbol}: the venue's trade list holds a trade that is not one (${problem})`);
    }
    this.countRefused('trade_list_off_grid');
    skipped.count++;
    if (skipped.count <= SKIPPED_TRADES_NAMED) {
      this.deps.logger?.warn(
        { exchange: this.exchange, symbol: i.symbol, tradeId: t.tradeId, venueOrderId, clientOrderId },
        `${this.exchange} ${i.symbol}: trade ${t.tradeId} of order ${venueOrderId} (client id ${clientOrderId.slice(0, 40)}), ${t.qty.slice(0, 40)} at ${t.price.slice(0, 40)}, is off the current grid (${problem}): not booked; book it by hand`,
      );
    }
    return false;
  }

  /** One line for the off-grid trades of a read beyond those named one by one (readTradeUsable). */
  private warnSkippedTrades(symbol: string, skipped: SkippedTrades): void {
    if (skipped.count <= SKIPPED_TRADES_NAMED) return;
    this.deps.logger?.warn({ exchange: this.exchange, symbol }, `${this.exchange} ${symbol}: ${skipped.count} trades off the current grid not booked (the first ${SKIPPED_TRADES_NAMED} named above); book them by hand`);
  }

  /** The order a trade read by tradesSince belongs to, as far as its fill report needs it. */
  private tradeOwner(i: Instrument, oj: BinanceOrderJson): Pick<Order, 'symbol' | 'clientOrderId' | 'venueOrderId' | 'side' | 'qty'> {
    return { symbol: i.symbol, clientOrderId: String(oj.clientOrderId), venueOrderId: String(oj.orderId), side: side(oj.side), qty: 0 };
  }

  /**
   * The owner of a trade whose order the venue answers "does not exist" for (its order history no
   * longer reaches it, or lags the trade list): a fill of the account all the same. Skipped, a
   * fill of ours vanished from reconciliation without a word. It is reported with no client id
   * (the reconcile contract: matched to the journal by symbol, side and trade id; one the journal
   * lacks is a mismatch, adopted), unless an order followed here has its venue order id
   * (readTradeOrder). A trade that does not name its order or its side is no trade: the read fails.
   */
  private orderlessTradeOwner(i: Instrument, t: BinanceTradeJson, warned: Set<number>): Pick<Order, 'symbol' | 'clientOrderId' | 'venueOrderId' | 'side' | 'qty'> {
    if (!isVenueId(t.orderId) || typeof t.isBuyer !== 'boolean') {
      this.countRefused('trade_list');
      throw new Error(`${this.exchange} ${i.symbol}: the venue's trade list holds a trade that is not one (no order id or side)`);
    }
    if (!warned.has(t.orderId)) {
      warned.add(t.orderId);
      this.deps.logger?.warn(
        { exchange: this.exchange, symbol: i.symbol, venueOrderId: t.orderId },
        `${this.exchange} ${i.symbol}: the venue does not answer for order ${t.orderId}, which its trade list names: its trades are reported without the order's client id`,
      );
    }
    return { symbol: i.symbol, clientOrderId: '', venueOrderId: String(t.orderId), side: t.isBuyer ? 'buy' : 'sell', qty: 0 };
  }

  /**
   * Reconciliation: spot positions are the base asset balances (free + locked), in lots, for a
   * base asset that no other of these symbols uses (as its base or its quote). A balance shared
   * by symbols (BTCUSDT and BTCUSDC, or BTCUSDT and ETHBTC) is no one symbol's position: given
   * whole to each, every start found a position mismatch (a HALT under on_mismatch = "halt").
   * Those symbols get no position here; the balance check (which compares changes of each
   * traded asset) covers them.
   */
  async positions(symbols: readonly string[]): Promise<VenuePosition[]> {
    if (!this.ccxt) return [];
    const uses = new Map<string, number>();
    const instruments = new Map<string, Instrument>();
    for (const symbol of new Set(symbols)) {
      const i = this.deps.instrument(symbol);
      if (!i) continue;
      instruments.set(symbol, i);
      for (const asset of new Set([i.base, i.quote])) uses.set(asset, (uses.get(asset) ?? 0) + 1);
    }
    await this.readTurn(20);
    const acct = await this.ccxt.privateGetAccount();
    const out: VenuePosition[] = [];
    for (const [symbol, i] of instruments) {
      if (uses.get(i.base) !== 1) continue;
      const b = acct.balances.find((x) => x.asset === i.base);
      out.push({ symbol, qty: b ? lotsFloor(i, b.free) + lotsFloor(i, b.locked) : 0 });
    }
    return out;
  }

  /** Reconciliation: every balance of the account (free + locked, added exactly). */
  async balances(): Promise<VenueBalance[]> {
    if (!this.ccxt) return [];
    await this.readTurn(20);
    const acct = await this.ccxt.privateGetAccount();
    return acct.balances.map((b) => ({ asset: b.asset, total: addDecimals(b.free, b.locked) }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const s = this.stream;
    this.stream = undefined;
    const e = this.entry;
    this.entry = undefined;
    await Promise.all([s?.close(), e?.close()]);
    this.timers.close();
  }

  pendingTimers(): number {
    return this.timers.size;
  }

  /** Median request path (submit -> answer) in ns over the recorded requests. */
  medianRequestNs(): number | undefined {
    if (this.requestNs.length === 0) return undefined;
    const s = [...this.requestNs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
  }

  // ---- reports --------------------------------------------------------------------------

  private ccxtSymbol(symbol: string): string {
    const m = this.ccxt?.markets_by_id?.[symbol]?.[0];
    if (!m) throw new Error(`${symbol} is not a market of ${this.exchange}`);
    return m.symbol;
  }

  private report(o: Order, r: Partial<ExecutionReport> & Pick<ExecutionReport, 'kind'>): void {
    if (this.stopped && r.kind !== 'cancelled') return;
    this.onReport?.({
      exchange: this.exchange, symbol: o.symbol, clientOrderId: o.clientOrderId, side: o.side, lastPrice: 0, lastQty: 0,
      leavesQty: o.qty - o.filledQty, cumQty: o.filledQty, feeAtoms: 0n, ts: this.deps.clock.now(), ...r,
    });
  }

  private reject(o: Order, err: unknown): void {
    this.rejectMapped(o, mapBinanceError(this.errors, err));
  }

  /** A venue answer of RATE_LIMITED holds both our limiters back for a second (a ban's end, when it named one). */
  private pauseOnRateLimit(m: ReturnType<typeof mapBinanceError>): void {
    if (m.reason !== 'RATE_LIMITED') return;
    this.holdBack(bannedUntil(m.text));
  }

  /**
   * Nothing more is sent, on either path, nor a WebSocket connection opened, until `until` (epoch
   * ms), and for a second at least; never past the longest ban Binance gives (BINANCE_MAX_BAN_MS).
   */
  private holdBack(until: number): void {
    const now = this.deps.clock.now();
    const c = capBanEnd(until, now);
    // one answer reaches here from two handlers (its request's, the rejection's): counted once
    if (c.capped && c.untilMs > this.cappedBanEnd + 1000) {
      this.cappedBanEnd = c.untilMs;
      this.cappedBans++;
      this.deps.logger?.warn({ exchange: this.exchange }, `${this.exchange}: answered with a ban ending at ${until} ms, past the longest Binance gives (3 days): held back for 3 days instead`);
    }
    // NaN (no readable end) holds back for the second
    const at = Math.max(now + 1000, c.untilMs > 0 ? c.untilMs : 0);
    this.deps.limiter.blockUntil(at);
    this.orderLimiter.blockUntil(at);
    // a ban covers connection attempts too: neither WebSocket API connection opens one before its end
    this.stream?.holdUntil(at, 'rate limited or banned');
    this.entry?.holdUntil(at, 'rate limited or banned');
  }

  /** When the per-IP limiter (shared with market data) lets a request through again: epoch ms, 0 when now. */
  private ipBlockedUntil(): number {
    const w = this.deps.limiter.waitTime({ ip: 0 });
    return w > 0 && Number.isFinite(w) ? this.deps.clock.now() + w : 0;
  }

  /**
   * Every REST answer ccxt turns into an error passes here first. The error gets the answer's
   * HTTP status: Binance's 5xx leaves the execution status unknown whatever its body says
   * (venueRefused). A 418 (IP banned) or 429 holds every request back until the ban's end, from
   * its "banned until" or its Retry-After, as the WebSocket API's answers do: retrying into a ban
   * makes Binance extend it.
   */
  private watchRestAnswers(ex: CcxtBinance): void {
    const handle = ex.handleRestResponse.bind(ex);
    ex.handleRestResponse = (response, ...rest) =>
      Promise.resolve(handle(response, ...rest)).catch((err: unknown) => {
        const status = Number(response?.status);
        if (err !== null && typeof err === 'object') (err as RestAnswerError).httpStatus = status;
        if (status === 418 || status === 429) {
          const headers = ex.getResponseHeaders(response);
          const retryAfterS = Number(Object.entries(headers).find(([k]) => k.toLowerCase() === 'retry-after')?.[1]);
          this.holdBack(Math.max(bannedUntil(String((err as Error)?.message ?? err)), Number.isFinite(retryAfterS) ? this.deps.clock.now() + retryAfterS * 1000 : 0));
        }
        throw err;
      });
  }

  private rejectMapped(o: Order, m: ReturnType<typeof mapBinanceError>): void {
    this.pauseOnRateLimit(m);
    this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId, reason: m.reason }, redactCredentials(m.text));
    this.forget(o.clientOrderId);
    this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: m.reason, text: m.text, leavesQty: 0 });
  }

  private ack(tr: Tracked, venueOrderId: string): void {
    tr.order.venueOrderId = venueOrderId;
    if (this.tracked.get(tr.order.clientOrderId) === tr) this.byVenueId.set(`${tr.order.symbol}|${venueOrderId}`, tr);
    tr.unknownSince = undefined;
    if (tr.acked) return;
    tr.acked = true;
    this.report(tr.order, { kind: 'ack', venueOrderId, leavesQty: tr.order.qty - tr.cumLots });
  }

  /** Follows an order from now on (by client id, and by venue order id once it has one). */
  private follow(tr: Tracked): void {
    this.tracked.set(tr.order.clientOrderId, tr);
    if (tr.order.venueOrderId !== undefined) this.byVenueId.set(`${tr.order.symbol}|${tr.order.venueOrderId}`, tr);
  }

  /** Stops following an order (both keys); the entry it removed, if any. */
  private forget(cid: string): Tracked | undefined {
    const tr = this.tracked.get(cid);
    if (!tr) return undefined;
    this.tracked.delete(cid);
    const key = tr.order.venueOrderId !== undefined ? `${tr.order.symbol}|${tr.order.venueOrderId}` : undefined;
    if (key !== undefined && this.byVenueId.get(key) === tr) this.byVenueId.delete(key);
    return tr;
  }

  private untrack(cid: string): void {
    const tr = this.forget(cid);
    if (!tr) return;
    this.finished.add(cid);
    // its events under a client id the venue gave it are late reports about it too
    for (const alias of tr.venueClientIds ?? []) this.finished.add(alias);
    if (tr.order.venueOrderId !== undefined) this.finished.add(`v:${tr.order.symbol}|${tr.order.venueOrderId}`);
  }

  /** The order followed under this venue order id (whatever client id the venue names it by now). */
  private followedByVenueId(symbol: string, venueOrderId: string | undefined): Tracked | undefined {
    if (venueOrderId === undefined) return undefined;
    const tr = this.byVenueId.get(`${symbol}|${venueOrderId}`);
    if (!tr || this.tracked.get(tr.order.clientOrderId) !== tr || tr.order.venueOrderId !== venueOrderId) return undefined;
    return tr;
  }

  /** A client id the venue names a followed order by (amended outside this process): remembered, said once. */
  private noteVenueClientId(tr: Tracked, cid: string): void {
    if (cid === tr.order.clientOrderId) return;
    tr.venueClientIds ??= new Set();
    // a few at most (each amend draws one); a venue naming it anew at every read is not followed further
    if (tr.venueClientIds.has(cid) || tr.venueClientIds.size >= MAX_VENUE_CLIENT_IDS) return;
    tr.venueClientIds.add(cid);
    this.deps.logger?.warn(
      { exchange: this.exchange, clientOrderId: tr.order.clientOrderId, venueOrderId: tr.order.venueOrderId },
      `${this.exchange} ${tr.order.symbol}: order ${tr.order.clientOrderId} (venue order ${tr.order.venueOrderId}) is named ${cid.slice(0, 40)} at the venue now (amended outside this process): its events under that id are its own`,
    );
  }

  /**
   * The prevented quantity of a followed order (a REST read's preventedQuantity: STP DECREMENT or
   * TRANSFER took that much off it while it kept working). Taken only when it and the executed
   * quantity fit within the order's quantity, and never lowered (a prevented match is not undone).
   */
  private takePrevented(tr: Tracked, json: BinanceOrderJson, i: Instrument): void {
    if (json.preventedQuantity === undefined || json.preventedQuantity === null) return;
    const prevented = gridUnits(json.preventedQuantity, i.qtyScale);
    const executed = gridUnits(json.executedQty, i.qtyScale);
    const venueQty = gridUnits(json.origQty, i.qtyScale) ?? tr.order.qty;
    if (prevented === undefined || executed === undefined || executed + prevented > venueQty) {
      this.countRefused('order_read');
      this.warnRefused('order-prevented', `${this.exchange} ${tr.order.symbol}: order ${tr.order.clientOrderId} read with preventedQuantity ${JSON.stringify(json.preventedQuantity)?.slice(0, 40)}: not a quantity of the order; not taken`);
      return;
    }
    if (prevented > (tr.preventedLots ?? 0)) tr.preventedLots = prevented;
  }

  /** Marks one order's side of a trade as reported; false when it already was (see `applied`). */
  private markApplied(symbol: string, venueOrderId: number | string, tradeId: number): boolean {
    return this.applied.add(`${symbol}|${String(venueOrderId)}|${tradeId}`);
  }

  /**
   * Records a trade as counted in this order's total at `lots`: 'new'; 'same' when it was at these
   * lots already; 'mismatch' when it was booked at other lots (see Tracked.booked). Never books it twice.
   */
  private book(tr: Tracked, tradeId: number, lots: number): 'new' | 'same' | 'mismatch' {
    tr.booked ??= new Map();
    const had = tr.booked.get(tradeId);
    if (had === undefined) {
      tr.booked.set(tradeId, lots);
      return 'new';
    }
    return had === lots ? 'same' : 'mismatch';
  }

  /** Lots the venue's reads list beyond (or, negative, short of) what this order booked for the same trade ids. */
  private mismatchedLots(tr: Tracked): number {
    let d = 0;
    for (const [id, lots] of tr.mismatched ?? []) d += lots - (tr.booked?.get(id) ?? lots);
    return d;
  }

  /**
   * The venue's quantity of a followed order (a REST read's origQty), taken when it is below
   * ours: the order was amended outside this process (order amend keep-priority, whose newQty
   * must be less than the order's quantity: rest-api.md; we never amend). FILLED then ends it
   * once its fills cover the venue's quantity, and its reports' leavesQty count from it. Never
   * raised (no amend can), nor below the lots booked here (the venue's executed quantity is at
   * least those): such a read is not an amend, and the order is left as it was. Only a REST read
   * sets it: a stream event's smaller `q` asks for that read (onStreamReport), so one frame alone
   * never shrinks an order, whose early end would drop its later fills.
   */
  private takeVenueQty(tr: Tracked, venueLots: number | undefined): void {
    const o = tr.order;
    if (venueLots === undefined || venueLots <= 0 || venueLots >= o.qty || venueLots < tr.cumLots) return;
    tr.placedQty ??= o.qty;
    this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId, venueOrderId: o.venueOrderId }, `${this.exchange} ${o.symbol}: order ${o.clientOrderId} was amended at the venue (outside this process) from ${o.qty} to ${venueLots} lots: followed at ${venueLots}`);
    o.qty = venueLots;
  }

  private fillReport(o: Pick<Order, 'symbol' | 'clientOrderId' | 'venueOrderId' | 'side' | 'qty'>, i: Instrument, t: VenueTrade, cumQty: number): ExecutionReport {
    const lastPrice = priceToTicks(i, t.price);
    const fee = feeToQuoteAtoms(i, t.commission, t.commissionAsset, lastPrice);
    const r: ExecutionReport = {
      kind: 'fill', exchange: this.exchange, symbol: o.symbol, clientOrderId: o.clientOrderId, venueOrderId: o.venueOrderId, side: o.side,
      lastPrice, lastQty: qtyToLots(i, t.qty), cumQty, leavesQty: Math.max(0, o.qty - cumQty), feeAtoms: fee ?? 0n,
      tradeId: String(t.tradeId), ts: t.ts, feeAsset: t.commissionAsset ?? i.quote,
    };
    if (t.maker !== undefined) r.liquidity = t.maker ? 'maker' : 'taker';
    // a fee in a third asset (BNB) has no quote value here: carried by asset and amount
    if (fee === undefined) r.text = `commission ${t.commission} ${t.commissionAsset}`;
    return r;
  }

  /**
   * Reports one trade of a tracked order unless some source already did. False when the trade is
   * left unbooked (refused, or its order has no id yet): it may be the rest of the order, so a
   * FILLED short of the order is not ended on that read (syncOrder).
   */
  private applyTrade(tr: Tracked, t: VenueTrade, source: keyof BinanceExecution['fillSources']): boolean {
    const o = tr.order;
    const i = this.deps.instrument(o.symbol);
    if (!i) return false;
    const problem = venueTradeProblem(i, t);
    if (problem !== undefined) {
      // never booked; the order is read again, and stays followed until its trades add up
      this.countRefused(`trade_${source}`);
      tr.stale = true;
      this.warnRefused(`trade:${source}`, `${this.exchange} ${o.symbol}: a trade of order ${o.clientOrderId} (from ${source}) refused: ${problem}`);
      return false;
    }
    if (o.venueOrderId === undefined) {
      // an order answer without the order's id (its caller reads the order over REST, which
      // names it): the trade's account-wide key is its order's side of it
      tr.stale = true;
      return false;
    }
    // counted once in this order's total whatever the account-wide window has forgotten (booked)
    const lots = qtyToLots(i, t.qty);
    const booked = this.book(tr, t.tradeId, lots);
    if (booked === 'mismatch') {
      // One trade id, two quantities (a stream event and the trade list, say). Skipped as booked,
      // the order stayed short of the venue's executed quantity for good, read every poll, with
      // nothing said. Counted and warned; the order's end names it (syncOrder, endMismatched).
      if (tr.mismatched?.get(t.tradeId) !== lots) {
        (tr.mismatched ??= new Map()).set(t.tradeId, lots);
        this.countRefused('trade_qty_mismatch');
        this.deps.logger?.error(
          { exchange: this.exchange, clientOrderId: o.clientOrderId, venueOrderId: o.venueOrderId, tradeId: t.tradeId },
          `${this.exchange} ${o.symbol}: trade ${t.tradeId} of order ${o.clientOrderId} booked at ${tr.booked!.get(t.tradeId)} lots is listed at ${lots} lots (from ${source}): not booked again; reconcile the position`,
        );
      }
      return true;
    }
    if (booked === 'same') return true;
    tr.cumLots += lots;
    o.filledQty = tr.cumLots;
    // reported once per account (this order's side of the trade: a self-trade's other side is
    // another order's fill), whichever path saw it first. A trade of this order already
    // reported by another entry of it still counts here: queryOrder replaces the entry the
    // stream opened while its read was on the wire, so the trade that entry reported is one this
    // entry reads later. Skipped without being counted, it left the order's total short of the
    // venue's executed quantity for good: stale, read every poll, its cancel never reported.
    if (!this.markApplied(o.symbol, o.venueOrderId, t.tradeId)) return true;
    this.fillSources[source]++;
    this.report(o, this.fillReport(o, i, t, tr.cumLots));
    return true;
  }

  /**
   * Terminal status from any source: cancelled / expired / rejected reports, or forget a filled
   * order. FILLED ends the order only once the fills booked here cover its quantity: an answer or
   * event that says FILLED without the fills (an executed quantity short of the order's) would
   * otherwise end it with a fill never reported, and drop its real fill when that came. Such an
   * order stays followed and stale; false tells the caller to read it over REST, whose read can
   * end it short (syncOrder, endFilledShort).
   */
  private applyStatus(tr: Tracked, status: string, text?: string): boolean {
    if (!TERMINAL.has(status)) return true;
    if (this.tracked.get(tr.order.clientOrderId) !== tr) return true; // already final
    // lots self-trade prevention took off (DECREMENT) never fill: FILLED covers them too
    const prevented = tr.preventedLots ?? 0;
    if (status === 'FILLED' && tr.cumLots + prevented < tr.order.qty) {
      tr.stale = true;
      this.warnRefused('filled-short', `${this.exchange} ${tr.order.symbol}: order ${tr.order.clientOrderId} said FILLED with ${tr.cumLots} of its ${tr.order.qty} lots booked: not ended; read again`);
      return false;
    }
    this.untrack(tr.order.clientOrderId);
    const o = tr.order;
    if (status === 'FILLED') {
      // filled at the venue's (amended) quantity, or short of it by what self-trade prevention
      // took off: those lots will never fill, and the engine ends an order only at its own quantity
      const notes: string[] = [];
      if (tr.placedQty !== undefined) notes.push(`quantity amended at the venue from ${tr.placedQty} to ${o.qty} lots (outside this process)`);
      if (tr.cumLots < o.qty) notes.push(`${o.qty - tr.cumLots} lots taken off by self-trade prevention (STP DECREMENT)`);
      if (notes.length > 0) {
        this.report(o, { kind: tr.placedQty !== undefined ? 'cancelled' : 'expired', leavesQty: 0, cumQty: tr.cumLots, venueOrderId: o.venueOrderId, text: `${this.exchange}: ${notes.join('; ')}, and filled` });
      }
      return true;
    }
    if (status === 'REJECTED') this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: 'VENUE_ERROR', text: text ?? `${this.exchange}: rejected by the venue`, leavesQty: 0, cumQty: tr.cumLots, venueOrderId: o.venueOrderId });
    else this.report(o, { kind: status === 'CANCELED' ? 'cancelled' : 'expired', leavesQty: 0, cumQty: tr.cumLots, venueOrderId: o.venueOrderId });
    return true;
  }

  private onStreamReport(u: BinanceOrderUpdate): void {
    const cid = u.clientOrderId;
    let tr = this.tracked.get(cid);
    if (!tr) {
      // an id we do not follow on a venue order we do: the venue renamed our order (an amend
      // outside this process draws a new client id unless newClientOrderId is sent)
      tr = this.followedByVenueId(u.symbol, String(u.orderId));
      if (tr) this.noteVenueClientId(tr, cid);
    }
    if (!tr) {
      if (this.finished.has(cid) || this.finished.has(`v:${u.symbol}|${u.orderId}`)) return; // already final here; its trades were all applied by id
      // not placed in this run, and not (yet) handed over by reconciliation: another program's
      // order, or one of ours whose event came before reconciliation read it (queryOrder then
      // replaces this entry). Followed from now on; what filled before this event is
      // reconciliation's, not ours to report again (priorLots: a read of its trades marks them)
      const o = this.orderFromUpdate(u);
      if (!o) return;
      tr = { order: o, acked: true, cumLots: o.filledQty, foreign: true };
      if (o.filledQty > 0) tr.priorLots = o.filledQty;
      this.follow(tr);
    }
    this.ack(tr, String(u.orderId));
    if (u.trade) this.applyTrade(tr, u.trade, 'stream');
    if (u.cumLots > tr.cumLots) {
      // the venue counts fills we have not booked (sent while the stream was down, or in a frame
      // refused as bad): its trades and its status are read over REST, never assumed
      this.streamGaps++;
      this.readOrder(tr);
      return;
    }
    if (u.qtyLots > 0 && u.qtyLots < tr.order.qty) {
      // the venue's order is smaller than ours: amended outside this process (REPLACED; an amend
      // can only reduce it). The REST read takes its quantity (takeVenueQty), then its status.
      this.readOrder(tr);
      return;
    }
    if (u.execType === 'TRADE') {
      // X = FILLED with z short of q: the order is read over REST, never ended on the event's word
      if (u.status === 'FILLED' && !this.applyStatus(tr, 'FILLED')) this.readOrder(tr);
    } else if (u.execType === 'CANCELED' || u.execType === 'EXPIRED' || u.execType === 'REJECTED') {
      this.applyStatus(tr, u.execType, u.reason);
    } else if (u.execType === 'TRADE_PREVENTION') {
      // A prevented match ends the order only when its status says so (EXPIRED_IN_MATCH). With
      // STP DECREMENT or TRANSFER the order with more left stays on the book (X = NEW or
      // PARTIALLY_FILLED; faqs/stp_faq.md, Scenario G): still followed, and read over REST for
      // its prevented quantity, which its end at FILLED needs (applyStatus).
      if (STP_ENDED.has(u.status)) this.applyStatus(tr, u.status, u.reason);
      else this.readOrder(tr);
    } else if (u.execType === 'REPLACED') {
      // an amendment made elsewhere (we never amend): the venue's order is the truth
      this.readOrder(tr);
    }
  }

  /** A stream frame refused by the reader: the order it named is read over REST; a frame that named none, every order. */
  private onStreamRejected(r: { reason: string; message: string; symbol: string | undefined; clientOrderId: string | undefined }): void {
    this.warnRefused(`stream:${r.reason}`, `${this.exchange}: user data stream frame refused (${r.reason}): ${r.message}`);
    const tr = r.clientOrderId !== undefined ? this.tracked.get(r.clientOrderId) : undefined;
    if (tr) this.readOrder(tr);
    else if (r.clientOrderId === undefined || r.symbol === undefined) void this.pollTracked(true);
  }

  private countRefused(reason: string): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
  }

  /** Refused venue input, running totals (ExecutionClient.inputRejections): the user stream's frames by the reader's reason, then trades and order reads. */
  *inputRejections(): Generator<readonly [string, number]> {
    const p = this.stream?.parser;
    if (p) for (const [reason, n] of p.rejects) yield [`stream_${reason}`, n] as const;
    yield* this.refused;
  }

  /** Warns at once for the first refusal of a kind, then at most every 10 s with the count held back. */
  private warnRefused(kind: string, message: string): void {
    const more = this.refusedLog.take(kind);
    if (more !== undefined) this.deps.logger?.warn({ exchange: this.exchange }, redactCredentials(message).slice(0, 500) + more);
  }

  /**
   * Reads one order over REST (its trades, then its status) until a read comes back whole: one
   * read at a time per order, and one more after it when asked meanwhile (that read may have
   * started before what asked for it). A failed read leaves the order stale: the poll timer
   * asks again.
   */
  private readOrder(tr: Tracked): void {
    tr.stale = true;
    tr.reads ??= new SerialReread<true>(async () => {
      if (this.stopped || this.tracked.get(tr.order.clientOrderId) !== tr) return false;
      try {
        await this.syncOrder(tr, 'query');
        return true;
      } catch (err) {
        this.deps.logger?.debug({ exchange: this.exchange }, redactCredentials(`order read failed: ${(err as Error).message}; the poll timer retries`));
        return false;
      }
    });
    tr.reads.request(true);
  }

  // ---- orders ---------------------------------------------------------------------------

  /**
   * Did the venue refuse the request (Binance's error body, or ccxt's reading of its answer as a
   * refusal)? Anything else leaves the outcome unknown: the request may have been executed.
   */
  private venueRefused(err: unknown): boolean {
    // rest-api.md "HTTP Return Codes": a 5xx is an error on Binance's side, the execution status is unknown
    if (((err as RestAnswerError | undefined)?.httpStatus ?? 0) >= 500) return false;
    const text = `${String((err as Error)?.name ?? '')} ${String((err as Error)?.message ?? err)}`;
    const code = /"code"\s*:\s*(-\d+)/.exec(text)?.[1];
    // -1006 / -1007 say it in words: "execution status unknown"
    const m = mapBinanceError(this.errors, err);
    return refusedByVenue(err, m.outcomeUnknown ? m : code);
  }

  private async place(o: Order): Promise<void> {
    const i = this.deps.instrument(o.symbol);
    if (!this.ccxt || !i) {
      this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: this.ccxt ? 'INVALID_ORDER' : 'NO_CREDENTIALS', text: this.ccxt ? `unknown instrument ${o.symbol}` : 'execution not started', leavesQty: 0 });
      return;
    }
    this.orderPaths.rest++;
    this.ordersWaitingTurn++;
    const queued = { cancelled: false };
    this.queuedCreates.set(o.clientOrderId, queued);
    try {
      await this.orderLimiter.acquire({ orders: 1 });
      await this.deps.limiter.acquire({ ip: 1 });
    } catch (err) {
      // answered cancelled already: a second, final report would contradict it
      if (!queued.cancelled) this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: 'RATE_LIMITED', text: `${this.exchange}: ${(err as Error).message}`, leavesQty: 0 });
      return;
    } finally {
      this.ordersWaitingTurn--;
      // from here on the create leaves (createOrder is called in this same turn): a cancel takes the venue's path
      if (this.queuedCreates.get(o.clientOrderId) === queued) this.queuedCreates.delete(o.clientOrderId);
    }
    if (queued.cancelled) return;
    // stop() may have come while it waited (the shared per-IP limiter outlives it): nothing goes out after stop()
    if (this.stopped) {
      this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: 'SHUTTING_DOWN', text: `${this.exchange}: execution stopped`, leavesQty: 0 });
      return;
    }
    // tracked before the request: the stream may report the order before the REST answer comes
    const tr: Tracked = { order: o, acked: false, cumLots: 0 };
    this.follow(tr);
    // the request, built before anything is sent: a failure here is ours, and nothing reached the venue
    let request: Parameters<CcxtBinance['createOrder']>;
    try {
      const params: Record<string, unknown> = { newClientOrderId: o.clientOrderId, newOrderRespType: 'FULL' };
      if (o.type === 'limit') params.timeInForce = o.tif === 'POST_ONLY' ? undefined : o.tif;
      const type = o.type === 'limit' && o.tif === 'POST_ONLY' ? 'LIMIT_MAKER' : o.type;
      if (type === 'LIMIT_MAKER') delete params.timeInForce;
      request = [this.ccxtSymbol(o.symbol), type, o.side, lotsToQty(i, o.qty), o.type === 'limit' ? ticksToPrice(i, o.price!) : undefined, params];
    } catch (err) {
      this.forget(o.clientOrderId);
      this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: 'INVALID_ORDER', text: `${this.exchange}: ${(err as Error)?.message ?? String(err)}`, leavesQty: 0 });
      return;
    }
    const t0 = process.hrtime.bigint();
    let res: CcxtOrder;
    try {
      res = await this.ccxt.createOrder(...request);
    } catch (err) {
      this.recordLatency(t0);
      const text = `${(err as Error)?.name ?? ''} ${(err as Error)?.message ?? String(err)}`;
      if (!this.venueRefused(err)) {
        // the order may be working at the venue: find out, never assume it was rejected. Dated
        // from the failure, not the send: the request may have passed recvWindow at the venue and be
        // with the matching engine (a timeout longer than recvWindow, -1006 / -1007, a 5xx)
        tr.unknownSince = this.deps.clock.now();
        this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId }, redactCredentials(`order submit outcome unknown (${text.trim()}); asking the venue by client id`));
        void this.resolveUnknown(tr);
      } else this.reject(o, err);
      return;
    }
    this.recordLatency(t0);
    this.onOrderAnswer(tr, res?.info, 'place');
  }

  /**
   * The venue's answer to our order or cancel request (REST or WebSocket API): the fills it
   * carries, then the order's state. What it does not make plain (no order id, fills that do not
   * add up to its executed quantity, values that are not what they should be) is read over REST
   * instead. Never throws: the request itself succeeded, whatever its answer holds.
   */
  private onOrderAnswer(tr: Tracked, info: unknown, answered: 'place' | 'cancel'): void {
    if (this.tracked.get(tr.order.clientOrderId) !== tr) return; // already final here (the stream reported it to the end)
    const i = this.deps.instrument(tr.order.symbol);
    if (!i) return;
    const a = (info !== null && typeof info === 'object' ? info : {}) as Record<string, unknown>;
    if (answered === 'place') {
      if (isVenueId(a.orderId)) this.ack(tr, String(a.orderId));
      // fills in the immediate answer matched on arrival: taker by definition, at the venue's
      // transactTime. Stamped with the host's arrival time, a fill moved the journal's trades
      // watermark (max venue ts) past venue trades made meanwhile, which tradesSince then skipped.
      const ts = isVenueTime(a.transactTime) ? a.transactTime : this.deps.clock.now();
      const fills = Array.isArray(a.fills) ? (a.fills as unknown[]) : [];
      for (const f of fills) {
        const x = (f !== null && typeof f === 'object' ? f : {}) as Record<string, unknown>;
        this.applyTrade(tr, { tradeId: x.tradeId as number, price: x.price as string, qty: x.qty as string, commission: x.commission as string, commissionAsset: (x.commissionAsset ?? null) as string | null, maker: false, ts }, 'response');
      }
    }
    const executed = gridUnits(a.executedQty, i.qtyScale);
    if (!tr.acked || executed === undefined || executed > tr.cumLots || (answered === 'place' && typeof a.status !== 'string')) {
      this.readOrder(tr);
      return;
    }
    if (!this.applyStatus(tr, answered === 'cancel' ? 'CANCELED' : (a.status as string))) this.readOrder(tr);
  }

  /**
   * Asks by origClientOrderId until the venue's answer is known. "Does not exist" is final only
   * for queries asked more than recvWindow + 1 s after the outcome became unknown here (the
   * answer, timeout or loss: unknownSince), and only once UNKNOWN_MISSES of them, spread
   * UNKNOWN_MISS_SPACING_MS apart, all say so. Dated from the request's signing time, a -1007
   * (sent after the API waited 10 s for the matching engine: the request passed the recvWindow
   * check and is with the engine) or a REST timeout longer than recvWindow was rejected on its
   * first "does not exist", while the engine, behind, could still take the order: working at the
   * venue, rejected in the engine (not counted by risk, not cancelled by HALT or stop).
   */
  private async resolveUnknown(tr: Tracked): Promise<void> {
    const o = tr.order;
    while (!this.stopped && tr.unknownSince !== undefined && this.tracked.get(o.clientOrderId) === tr) {
      // The query's own time, taken before it is sent: the venue read the order at some point
      // after this, so its "does not exist" covers the time up to here, not up to its answer's
      // arrival (a slow answer to a query sent inside recvWindow proves nothing about later).
      const askedAt = this.deps.clock.now();
      try {
        const json = await this.fetchOrderJson(o.symbol, { origClientOrderId: o.clientOrderId });
        if (tr.unknownSince === undefined) return; // the stream answered meanwhile
        if (json) {
          if (isVenueId(json.orderId)) this.ack(tr, String(json.orderId));
          try {
            await this.syncOrder(tr, 'query', json);
          } catch (err) {
            if (tr.unknownSince !== undefined) throw err;
            // known now, its trades not read yet: read like any followed order, until a read comes back whole
            this.readOrder(tr);
          }
          return;
        }
        tr.unknownMisses = countMiss(tr.unknownMisses, askedAt, tr.unknownSince + this.deps.options.recv_window_ms + 1000);
        if (missesConclude(tr.unknownMisses)) {
          this.forget(o.clientOrderId);
          this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId }, `${o.symbol}: order ${o.clientOrderId} unknown at the venue by client id ${UNKNOWN_MISSES} times past its window: reported rejected; should it appear at the venue later, its events and reconciliation name it`);
          this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: 'VENUE_ERROR', text: `${this.exchange}: the order never reached the venue (submit outcome unknown; unknown by client id ${UNKNOWN_MISSES} times over more than the ${this.deps.options.recv_window_ms} ms recvWindow + 1 s after that)`, leavesQty: 0 });
          return;
        }
      } catch (err) {
        this.deps.logger?.debug({ exchange: this.exchange }, redactCredentials(`order query by client id failed: ${(err as Error).message}`));
      }
      await this.timers.sleep(Math.min(1000, Math.max(50, this.deps.options.poll_interval_ms)));
    }
  }

  /**
   * A cancel of an order whose create still waits for its turn (place): answered here, with no
   * request to the venue (which does not know the order), and the create is never sent. Marked
   * now, so the create cannot leave; reported a turn later, as a venue's answer comes, not inside
   * the engine's cancel(). The create keeps its place in the limiters' line (a waiter cannot
   * leave it) and spends its slot when its turn comes. False when no such create waits.
   */
  private cancelQueued(order: Readonly<Order>): boolean {
    const queued = this.queuedCreates.get(order.clientOrderId);
    if (queued === undefined) return false;
    if (queued.cancelled) return true;
    queued.cancelled = true;
    const o = copyOrder(order);
    void Promise.resolve().then(() =>
      this.report(o, { kind: 'cancelled', leavesQty: 0, cumQty: 0, text: `${this.exchange}: cancelled before it was sent (it was waiting for the rate limit)` }),
    );
    return true;
  }

  private async cancelOne(o: Order): Promise<void> {
    if (!this.ccxt) {
      this.report(o, { kind: 'rejected', rejects: 'request', rejectReason: 'NO_CREDENTIALS', text: 'execution not started', leavesQty: 0 });
      return;
    }
    this.orderPaths.restCancels++;
    let res: CcxtOrder;
    try {
      await this.deps.limiter.acquire({ ip: 1 });
      if (this.stopped) {
        this.report(o, { kind: 'rejected', rejects: 'request', rejectReason: 'SHUTTING_DOWN', text: `${this.exchange}: execution stopped`, venueOrderId: o.venueOrderId });
        return;
      }
      res = await this.ccxt.cancelOrder(o.venueOrderId, this.ccxtSymbol(o.symbol), o.venueOrderId ? {} : { origClientOrderId: o.clientOrderId });
    } catch (err) {
      // an answer that could not be read may hide a cancel that was done: the order is read too
      this.cancelRefused(this.tracked.get(o.clientOrderId), o, mapBinanceError(this.errors, err), this.venueRefused(err));
      return;
    }
    const tr = this.tracked.get(o.clientOrderId);
    if (tr) this.onOrderAnswer(tr, res?.info, 'cancel'); // else the stream already reported the cancel
  }

  /**
   * A refused cancel (REST or WebSocket API) leaves the order as it was, and it is still followed
   * here (the order manager reads the report so); "unknown order" for one still followed means it
   * ended meanwhile, and an answer that could not be read (`refused` false) may hide a cancel that
   * was done: either way the order is read over REST.
   */
  private cancelRefused(tr: Tracked | undefined, o: Order, m: ReturnType<typeof mapBinanceError>, refused = true): void {
    this.pauseOnRateLimit(m);
    this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId, reason: m.reason }, redactCredentials(`cancel refused: ${m.text}`));
    this.report(o, { kind: 'rejected', rejects: 'request', rejectReason: m.reason, text: m.text, venueOrderId: o.venueOrderId });
    if (tr && (m.reason === 'UNKNOWN_ORDER' || !refused)) this.readOrder(tr);
  }

  // ---- order entry on the WebSocket API ----------------------------------------------------

  private async startOrderEntry(): Promise<void> {
    const o = this.deps.options;
    let entry: BinanceWsOrderEntry;
    try {
      entry = new BinanceWsOrderEntry({
        url: binanceWsApiUrl(this.deps.endpoints, this.deps.testnet, o.ws_api_url),
        apiKey: this.deps.apiKey!, apiSecret: this.deps.apiSecret!, recvWindowMs: o.recv_window_ms, now: () => this.deps.clock.now(), timers: this.timers,
        responseTimeoutMs: o.order_entry_timeout_ms, pingIntervalMs: o.ping_interval_ms, maxLifetimeMs: o.max_connection_lifetime_ms,
        backoff: { initialMs: o.reconnect_initial_ms, maxMs: o.reconnect_max_ms }, logger: this.deps.logger,
        onResponse: (req, res) => this.onEntryResponse(req, res),
        onLost: (req, reason) => this.onEntryLost(req, reason),
        onRateLimits: (l) => this.onVenueRateLimits(l),
        onState: (up, reason) => this.deps.logger?.info({ exchange: this.exchange, up }, up ? 'order entry on the WebSocket API connected' : `order entry on the WebSocket API down (${reason}); orders go through REST until it is back`),
        // a ban market data met (the per-IP limiter is shared): no connect into it
        blockedUntil: () => this.ipBlockedUntil(),
      });
    } catch (err) {
      this.deps.logger?.warn({ exchange: this.exchange }, redactCredentials(`order entry on the WebSocket API not started: ${(err as Error).message}; orders go through REST`));
      return;
    }
    this.entry = entry;
    const first = entry.start().then(() => true, () => false);
    // a venue whose WebSocket API is down does not hold start() up: REST carries orders meanwhile
    await Promise.race([first, this.timers.sleep(Math.min(o.start_timeout_ms, 2000))]);
  }

  /** Writes the order on the WebSocket API now; false when it must go through REST instead. */
  private placeWs(order: Readonly<Order>): boolean {
    const i = this.deps.instrument(order.symbol);
    if (!this.ccxt || !i) return false; // the REST path reports why
    // No waiting on this path: an order that would have to wait for the limits goes the REST way,
    // which waits its turn. So does one submitted while an earlier order waits there: the slot
    // that frees up is that order's (FIFO), and taken here it would be sent first.
    if (this.ordersWaitingTurn > 0 || this.orderLimiter.waitTime({ orders: 1 }) !== 0 || this.deps.limiter.waitTime({ ip: 1 }) !== 0) return false;
    const o: Order = copyOrder(order);
    const maker = o.type === 'limit' && o.tif === 'POST_ONLY';
    // tracked before the write: the user data stream may report the order before its answer comes
    const tr: Tracked = { order: o, acked: false, cumLots: 0 };
    this.follow(tr);
    const r = this.entry!.place({
      symbol: o.symbol, side: o.side === 'sell' ? 'SELL' : 'BUY', type: o.type === 'market' ? 'MARKET' : maker ? 'LIMIT_MAKER' : 'LIMIT',
      ...(o.type === 'limit' && !maker ? { timeInForce: o.tif } : {}),
      quantity: lotsToQty(i, o.qty), ...(o.type === 'limit' ? { price: ticksToPrice(i, o.price!) } : {}), newClientOrderId: o.clientOrderId,
    });
    if (typeof r === 'string') {
      this.forget(o.clientOrderId);
      if (!this.entry!.ready) return false;
      this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: 'INVALID_ORDER', text: `${this.exchange}: ${r}`, leavesQty: 0 });
      return true;
    }
    this.orderLimiter.tryAcquire({ orders: 1 });
    this.deps.limiter.tryAcquire({ ip: 1 });
    this.orderPaths.ws++;
    return true;
  }

  private cancelWs(order: Readonly<Order>): boolean {
    if (!this.ccxt || this.deps.limiter.waitTime({ ip: 1 }) !== 0) return false;
    const r = this.entry!.cancel({ symbol: order.symbol, origClientOrderId: order.clientOrderId, ...(order.venueOrderId ? { orderId: order.venueOrderId } : {}) }, copyOrder(order));
    if (typeof r === 'string') return false;
    this.deps.limiter.tryAcquire({ ip: 1 });
    this.orderPaths.wsCancels++;
    return true;
  }

  private onEntryResponse(req: PendingWsRequest, res: WsApiResponse): void {
    this.requestNs.push(Number(process.hrtime.bigint() - req.sentNs));
    if (this.requestNs.length > 4096) this.requestNs.splice(0, 2048);
    const tr = this.tracked.get(req.clientOrderId);
    if (res.status === 200 && (res.result === null || typeof res.result !== 'object')) {
      // Status 200: the venue executed the request (placed the order, did the cancel), and an
      // answer without its result cannot say how it stands. Reported rejected, a working order
      // was forgotten here while it traded; it is asked for like a request whose answer never came.
      this.onEntryLost(req, 'answer with status 200 but no result');
      return;
    }
    if (res.status !== 200 || !res.result) {
      // a hostile or broken venue may send anything in place of its error object
      const error = res.error !== null && typeof res.error === 'object' ? res.error : undefined;
      const code = typeof error?.code === 'number' || typeof error?.code === 'string' ? error.code : undefined;
      const msg = error?.msg === undefined ? `HTTP status ${res.status}` : typeof error.msg === 'string' ? error.msg : JSON.stringify(error.msg);
      const m = this.errors.map(code, msg);
      if (res.status === 429 || res.status === 418 || m.reason === 'RATE_LIMITED') {
        // 418: the IP is banned until retryAfter; 429: back off (web-socket-api.md "Rate limits")
        // a retryAfter that is not a time (absent, not a number) still backs off for a second
        const retryAfter = Number(error?.data?.retryAfter);
        this.holdBack(Math.max(Number.isFinite(retryAfter) ? retryAfter : 0, bannedUntil(m.text)));
      }
      if (m.outcomeUnknown || res.status >= 500) {
        // "execution status unknown" (-1006 / -1007, any 5xx): the order may be working, the
        // cancel may be done; asked for like a request whose answer never came, never rejected
        this.onEntryLost(req, m.text);
        return;
      }
      if (req.method === 'order.place') {
        if (tr && !tr.acked) this.rejectMapped(tr.order, m);
        return;
      }
      this.cancelRefused(tr, tr?.order ?? (req.ref as Order), m);
      return;
    }
    if (!tr) return; // already final here (the stream reported it to the end)
    this.onOrderAnswer(tr, res.result, req.method === 'order.place' ? 'place' : 'cancel');
  }

  /** The request may or may not have reached the venue: ask (by client id), never re-send blindly. */
  private onEntryLost(req: PendingWsRequest, reason: string): void {
    const tr = this.tracked.get(req.clientOrderId);
    if (!tr || this.stopped) return;
    this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: req.clientOrderId }, `${req.method} outcome unknown (${reason}); asking the venue by client id`);
    if (req.method === 'order.place') {
      if (tr.acked) return; // the user data stream already knows it
      // from the answer's (or timeout's) arrival: see resolveUnknown
      tr.unknownSince = this.deps.clock.now();
      void this.resolveUnknown(tr);
      return;
    }
    void (async () => {
      try {
        await this.syncOrder(tr, 'query');
      } catch {
        // the REST cancel below asks again
      }
      if (this.tracked.get(req.clientOrderId) === tr && !this.stopped) await this.cancelOne(tr.order);
    })();
  }

  /** The venue's own counters from each WebSocket API answer tighten our buckets (other sessions share them). */
  private onVenueRateLimits(limits: readonly WsApiRateLimit[]): void {
    const now = this.deps.clock.now();
    for (const l of limits) {
      if (l === null || typeof l !== 'object') continue;
      const unit = l.interval === 'SECOND' ? 1000 : l.interval === 'MINUTE' ? 60_000 : l.interval === 'HOUR' ? 3_600_000 : l.interval === 'DAY' ? 86_400_000 : 0;
      const windowMs = unit * l.intervalNum;
      if (!(windowMs > 0) || typeof l.count !== 'number' || typeof l.limit !== 'number') continue;
      if (l.rateLimitType === 'REQUEST_WEIGHT' && windowMs === 60_000) this.deps.limiter.noteUsed('ip', l.count);
      if (l.rateLimitType === 'ORDERS') {
        if (windowMs === this.deps.options.order_limit_interval_ms) this.orderLimiter.noteUsed('orders', l.count);
        // the venue's window is full: nothing more until it has certainly rolled over
        if (l.count >= l.limit) this.orderLimiter.blockUntil(now + windowMs);
      }
    }
  }

  private recordLatency(t0: bigint): void {
    this.requestNs.push(Number(process.hrtime.bigint() - t0));
    if (this.requestNs.length > 4096) this.requestNs.splice(0, 2048);
  }

  // ---- REST ------------------------------------------------------------------------------

  private async fetchOrderJson(symbol: string, by: { orderId: number } | { origClientOrderId: string }): Promise<BinanceOrderJson | undefined> {
    await this.readTurn(4);
    try {
      return await this.ccxt!.privateGetOrder({ symbol, ...by });
    } catch (err) {
      if (mapBinanceError(this.errors, err).reason === 'UNKNOWN_ORDER') return undefined;
      throw err;
    }
  }

  private async fetchTradesRaw(params: Record<string, unknown>): Promise<BinanceTradeJson[]> {
    await this.readTurn(20);
    return this.ccxt!.privateGetMyTrades(params);
  }

  /**
   * A REST read's turn under the shared per-IP limiter. stop() may come while it waits (the
   * limiter outlives it, and may be held back by a ban): then the read is not sent, as no order
   * or cancel is; its caller's catch ends whatever followed it.
   */
  private async readTurn(weight: number): Promise<void> {
    await this.deps.limiter.acquire({ ip: weight });
    if (this.stopped) throw new Error(`${this.exchange}: execution stopped`);
  }

  /**
   * Every trade of one order: pages by trade id, oldest first (without fromId myTrades answers the
   * most recent ones), until they add up to its executed quantity, or one is short. Each trade is
   * at least one lot, so no order needs more pages than its lots fill: a broken answer cannot keep
   * it reading.
   */
  private async fetchOrderTrades(symbol: string, orderId: number, executedLots: number): Promise<VenueTrade[]> {
    const i = this.deps.instrument(symbol);
    const out: VenueTrade[] = [];
    let lots = 0;
    let fromId = 0;
    for (let pages = Math.ceil(executedLots / TRADES_PAGE) + 1; pages > 0; pages--) {
      const page = await this.fetchTradesRaw({ symbol, orderId, fromId, limit: TRADES_PAGE });
      for (const t of page) {
        out.push(this.tradeOf(t));
        lots += (i && gridUnits(t.qty, i.qtyScale)) || 0;
      }
      const next = nextTradeId(page);
      if (page.length < TRADES_PAGE || lots >= executedLots || next === undefined || next <= fromId) break;
      fromId = next;
    }
    return out.sort((a, b) => a.tradeId - b.tradeId);
  }

  private tradeOf(t: BinanceTradeJson): VenueTrade {
    return { tradeId: t.id, price: t.price, qty: t.qty, commission: t.commission, commissionAsset: t.commissionAsset, maker: t.isMaker, ts: t.time };
  }

  /** An order followed from what filled before this process saw it: its earliest trades, up to priorLots, are in cumLots already (claimPriorTrades of the kit). */
  private claimPriorTrades(tr: Tracked, i: Instrument, venueOrderId: number, trades: readonly VenueTrade[]): void {
    if (tr.priorLots === undefined) return;
    const lotsOf = (t: VenueTrade): number | undefined => (venueTradeProblem(i, t) === undefined ? qtyToLots(i, t.qty) : undefined);
    const claim = (t: VenueTrade) => {
      this.markApplied(tr.order.symbol, venueOrderId, t.tradeId);
      this.book(tr, t.tradeId, lotsOf(t) ?? 0);
    };
    if (claimPriorTrades(trades, tr.priorLots, lotsOf, claim)) delete tr.priorLots;
  }

  /** Brings one tracked order up to the venue's state: its trades (with fees) and its status. */
  private async syncOrder(tr: Tracked, source: 'poll' | 'query', known?: BinanceOrderJson): Promise<void> {
    const o = tr.order;
    const i = this.deps.instrument(o.symbol);
    if (!i) return;
    const json = known ?? (o.venueOrderId ? await this.fetchOrderJson(o.symbol, { orderId: Number(o.venueOrderId) }) : await this.fetchOrderJson(o.symbol, { origClientOrderId: o.clientOrderId }));
    if (!json) return;
    if (!tr.acked && isVenueId(json.orderId)) this.ack(tr, String(json.orderId));
    // read by venue order id, the order may answer to a client id the venue gave it (amended outside this process)
    if (typeof json.clientOrderId === 'string' && json.clientOrderId.length > 0) this.noteVenueClientId(tr, json.clientOrderId);
    this.takeVenueQty(tr, gridUnits(json.origQty, i.qtyScale));
    this.takePrevented(tr, json, i);
    const executed = gridUnits(json.executedQty, i.qtyScale);
    if (executed === undefined || (o.qty > 0 && executed > o.qty)) {
      this.countRefused('order_read');
      tr.stale = true;
      this.warnRefused('order-read', `${this.exchange} ${o.symbol}: order ${o.clientOrderId} read with executedQty ${JSON.stringify(json.executedQty)?.slice(0, 40)}: not a quantity of the order; read again later`);
      return;
    }
    // FILLED short of the order (not covered by self-trade prevention's lots either): its trades
    // are read even when its executedQty adds nothing new, as they are what may end it short
    const filledShort = (): boolean => json.status === 'FILLED' && tr.cumLots + (tr.preventedLots ?? 0) < o.qty;
    // what the venue's own reads list for the trades counted here (differs only for a trade id
    // booked at another quantity than a later read lists: Tracked.mismatched)
    const listed = (): number => tr.cumLots + this.mismatchedLots(tr);
    let unbooked = false;
    if (executed > listed() || filledShort()) {
      // paged up to the order's size when FILLED short: an executedQty behind the list must not cut the read
      const trades = await this.fetchOrderTrades(o.symbol, json.orderId, filledShort() ? Math.max(executed, o.qty) : executed);
      this.claimPriorTrades(tr, i, json.orderId, trades);
      for (const t of trades) if (!this.applyTrade(tr, t, source)) unbooked = true;
    }
    if (executed > listed()) {
      // the trade list lags the order (or held a trade refused as bad): its end waits for the trades
      tr.stale = true;
      return;
    }
    if (tr.mismatched !== undefined && TERMINAL.has(json.status)) {
      tr.stale = false;
      this.endMismatched(tr, json.status, executed);
      return;
    }
    if (filledShort()) {
      // Kept followed, as before, the order never ended: partially filled in the engine for good,
      // its rest counted as open by risk, HALT and stop waiting on it. Ended short only on this
      // REST read (an event's FILLED asks for it), when the trades listed agree with executedQty
      // and none was left unbooked: a refused trade may be the rest of the order.
      if (unbooked || tr.cumLots !== executed) {
        tr.stale = true;
        this.warnRefused('filled-short-read', `${this.exchange} ${o.symbol}: order ${o.clientOrderId} read FILLED at ${executed} of ${o.qty} lots with ${tr.cumLots} booked${unbooked ? ' and a listed trade not booked' : ''}: not ended; read again`);
        return;
      }
      tr.stale = false;
      this.endFilledShort(tr);
      return;
    }
    tr.stale = false;
    this.applyStatus(tr, json.status);
  }

  /**
   * A REST read says FILLED short of the order and its trades agree: the venue will trade no
   * more of it (a close by the venue, or self-trade prevention's decrement without a
   * preventedQuantity that covers it). Worded as the adapter kit's venues word it, so one search
   * finds every venue's short close.
   */
  private endFilledShort(tr: Tracked): void {
    // the read awaited the venue: the stream may have ended it, or queryOrder replaced its entry, meanwhile
    if (this.tracked.get(tr.order.clientOrderId) !== tr) return;
    this.untrack(tr.order.clientOrderId);
    const o = tr.order;
    const notes: string[] = [];
    if (tr.placedQty !== undefined) notes.push(`quantity amended at the venue from ${tr.placedQty} to ${o.qty} lots (outside this process)`);
    if (tr.preventedLots) notes.push(`${tr.preventedLots} lots taken off by self-trade prevention (STP DECREMENT)`);
    const text = `${this.exchange} closed the order filled at ${tr.cumLots} of ${o.qty} lots${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`;
    this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId, venueOrderId: o.venueOrderId }, `${o.symbol}: ${text}; reported expired`);
    this.report(o, { kind: 'expired', leavesQty: 0, cumQty: tr.cumLots, venueOrderId: o.venueOrderId, text });
  }

  /**
   * An order at its end whose trades the venue's sources name at different quantities (see
   * applyTrade): nothing more will be booked for them, and waiting left it partially filled for
   * good (stale, read every poll). Ended at the lots booked here, with a text naming every
   * disagreement; the position's difference is reconciliation's (or an operator's), never booked
   * twice here. FILLED whose booked lots cover the order ends as a fill does.
   */
  private endMismatched(tr: Tracked, status: string, executed: number): void {
    if (this.tracked.get(tr.order.clientOrderId) !== tr) return;
    const o = tr.order;
    const which = [...tr.mismatched!].slice(0, 8).map(([id, lots]) => `trade ${id} booked at ${tr.booked?.get(id)} lots, listed at ${lots}`).join('; ');
    const text = `${this.exchange}: trade quantities disagree between the venue's reports (${which}); ended at ${tr.cumLots} lots booked, the venue's executed quantity ${executed} of ${o.qty} lots: reconcile the position`;
    this.deps.logger?.error({ exchange: this.exchange, clientOrderId: o.clientOrderId, venueOrderId: o.venueOrderId }, `${o.symbol}: ${text}`);
    if (status === 'FILLED' && tr.cumLots + (tr.preventedLots ?? 0) >= o.qty) {
      this.applyStatus(tr, status);
      return;
    }
    this.untrack(o.clientOrderId);
    this.report(o, { kind: status === 'CANCELED' ? 'cancelled' : 'expired', leavesQty: 0, cumQty: tr.cumLots, venueOrderId: o.venueOrderId, text });
  }

  private polling = false;
  private pollAgain = false;
  /**
   * Reads every followed order once. The timer's polls (`again` false) skip a turn while one
   * runs; a sweep asked for a reason (the stream is back, a refused frame) runs once more after
   * the running one, which may have read an order before what it is asked for.
   */
  private async pollTracked(again: boolean): Promise<void> {
    if (!this.ccxt || this.tracked.size === 0) return;
    if (this.polling) {
      if (again) this.pollAgain = true;
      return;
    }
    this.polling = true;
    try {
      do {
        this.pollAgain = false;
        for (const tr of [...this.tracked.values()]) {
          if (this.stopped) return;
          // Not acked: its submit is still in flight, or resolveUnknown asks for it by client id;
          // skipped. But one whose answer named no order id and whose read failed (stale, no
          // resolution running) has nothing else to read it: skipped too, its fills were never
          // booked while the stream was down or with fills = "polling". Read by client id.
          if ((!tr.acked && (!tr.stale || tr.unknownSince !== undefined)) || tr.foreign) continue;
          try {
            await this.syncOrder(tr, 'poll');
          } catch (err) {
            this.deps.logger?.debug({ exchange: this.exchange }, redactCredentials(`order poll failed: ${(err as Error).message}`));
          }
        }
      } while (this.pollAgain && !this.stopped);
    } finally {
      this.polling = false;
      this.pollAgain = false;
    }
  }

  private statusOf(st: string, filled: number): Order['status'] {
    if (st === 'FILLED') return 'filled';
    if (st === 'CANCELED' || st === 'EXPIRED' || st === 'EXPIRED_IN_MATCH') return 'cancelled';
    if (st === 'REJECTED') return 'rejected';
    return filled > 0 ? 'partially_filled' : 'open';
  }

  /** An order of the account we did not place in this run, as its stream event describes it (filled: before this event's trade). */
  private orderFromUpdate(u: BinanceOrderUpdate): Order | undefined {
    const i = this.deps.instrument(u.symbol);
    if (!i) return undefined;
    const now = this.deps.clock.now();
    const filledQty = u.trade ? u.cumLots - u.trade.lots : u.cumLots;
    return {
      exchange: this.exchange, symbol: i.symbol, side: side(u.side), type: u.orderType === 'MARKET' ? 'market' : 'limit', price: u.priceTicks > 0 ? u.priceTicks : undefined,
      qty: u.qtyLots, tif: 'GTC', source: 'venue', clientOrderId: u.clientOrderId, venueOrderId: String(u.orderId), status: this.statusOf(u.status, filledQty), filledQty,
      filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: now, updatedTs: now,
    };
  }

  /**
   * An order as the venue lists it (open orders). Undefined for a symbol we do not trade; throws
   * when its quantities are not on the instrument's grid (no rounding of a quantity is safe). A
   * limit price off the current grid is no error: a tick-size change leaves working orders at
   * their prices (listedPriceTicks).
   */
  private orderFromJson(info: BinanceOrderJson): Order | undefined {
    const i = this.deps.instrument(String(info.symbol));
    if (!i) return undefined;
    const now = this.deps.clock.now();
    const qty = gridUnits(info.origQty, i.qtyScale);
    const filledQty = gridUnits(info.executedQty ?? '0', i.qtyScale);
    if (qty === undefined || filledQty === undefined) {
      throw new Error(`order ${String(info.clientOrderId).slice(0, 40)}: quantity ${JSON.stringify(info.origQty)?.slice(0, 40)} (executed ${JSON.stringify(info.executedQty)?.slice(0, 40)}) is not on the ${i.lotSize} lot grid`);
    }
    const s = side(info.side);
    const order: Order = {
      exchange: this.exchange, symbol: i.symbol, side: s, type: info.type === 'MARKET' ? 'market' : 'limit',
      price: undefined, qty, tif: 'GTC', source: 'venue',
      clientOrderId: String(info.clientOrderId), venueOrderId: String(info.orderId), status: this.statusOf(info.status, filledQty), filledQty,
      filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: info.time ?? now, updatedTs: now,
    };
    const price = this.listedPriceTicks(i, info, s);
    order.price = price?.ticks;
    if (price?.text !== undefined) order.text = price.text;
    return order;
  }

  /**
   * A listed order's limit price in ticks (undefined: none, as Binance's "0" of a market order).
   * A price off the current tick grid (the venue coarsened the tick; orders placed before keep
   * their prices) is rounded toward crossing, a buy's up and a sell's down, as the journal's
   * rebuild regrids a restored order's price (engine/rebuild.ts): the self-trade check then errs
   * on refusing an order that would meet it. Without a price, an adopted limit order would never
   * stop one. Listed rather than left out or failing the whole listing: reconciliation adopts
   * and follows it (cancels included), and one such order threw for every order of the account.
   * `text` says so on the order.
   */
  private listedPriceTicks(i: Instrument, info: BinanceOrderJson, s: 'buy' | 'sell'): { ticks: number; text?: string } | undefined {
    const text = info.price;
    if (text === undefined || text === null || text === '') return undefined;
    if (!isPlainDecimal(text)) throw new Error(`order ${String(info.clientOrderId).slice(0, 40)}: price ${JSON.stringify(text)?.slice(0, 40)} is not a decimal`);
    const exact = gridUnits(text, i.priceScale);
    if (exact !== undefined) return exact > 0 ? { ticks: exact } : undefined;
    const ticks = ticksTowardCrossing(text, i, s);
    if (ticks === undefined) throw new Error(`order ${String(info.clientOrderId).slice(0, 40)}: price ${text.slice(0, 40)} is out of range`);
    const note = `venue price ${text} is off the ${i.tickSize} tick grid (a tick-size change): held at ${ticksToPrice(i, ticks)}, rounded toward crossing`;
    this.warnRefused('listed-off-grid', `${this.exchange} ${i.symbol}: order ${String(info.clientOrderId).slice(0, 40)}: ${note}`);
    return { ticks, text: note };
  }
}

/**
 * Ticks of a positive plain decimal price that is off the grid of `i`, rounded toward crossing
 * (a buy's up, a sell's down); undefined when that is not a positive count within 2^53.
 */
function ticksTowardCrossing(price: string, i: Instrument, s: 'buy' | 'sell'): number | undefined {
  const d = parseDecimal(price);
  // price / tick = d.mantissa x 10^-d.exponent / (tick.mantissa x 10^-tick.exponent)
  let num = d.mantissa;
  let den = i.priceScale.mantissa;
  const shift = i.priceScale.exponent - d.exponent;
  if (shift >= 0) num *= 10n ** BigInt(shift);
  else den *= 10n ** BigInt(-shift);
  let ticks = num / den;
  if (s === 'buy' && num % den !== 0n) ticks += 1n;
  return ticks > 0n && ticks <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(ticks) : undefined;
}

/**
 * A trade that is well formed, with its price or quantity off the current grid of `i` only: it
 * passes every check on the grids of its own decimals (a tick- or lot-size change since it was
 * made). Not one that is no trade at all.
 */
function offCurrentGrid(i: Instrument, t: VenueTrade): boolean {
  if (!isPlainDecimal(t.price) || !isPlainDecimal(t.qty)) return false;
  const own: Instrument = { ...i, priceScale: decimalsOf(t.price), qtyScale: decimalsOf(t.qty) };
  return venueTradeProblem(own, t) === undefined;
}

/** The grid of a plain decimal's last digit ("64000.05" -> 0.01). */
function decimalsOf(text: string): DecimalScale {
  return { mantissa: 1n, exponent: parseDecimal(text).exponent };
}

/** A venue order id as this client keeps it (decimal digits of a safe integer). */
function isVenueIdText(id: string | undefined): id is string {
  return id !== undefined && /^\d{1,16}$/.test(id) && Number.isSafeInteger(Number(id));
}

/** A venue time (epoch ms) as Binance sends one (transactTime): a positive safe integer. */
function isVenueTime(t: unknown): t is number {
  return typeof t === 'number' && Number.isSafeInteger(t) && t > 0;
}

/** The id after the highest trade id of a myTrades page (where the next page starts), if it holds one. */
function nextTradeId(page: readonly BinanceTradeJson[]): number | undefined {
  let max: number | undefined;
  for (const t of page) if (isVenueId(t?.id) && (max === undefined || t.id > max)) max = t.id;
  return max === undefined ? undefined : max + 1;
}

/** a + b for decimal strings, exactly, keeping the longer of their decimals ("1.5" + "0.25" = "1.75"). */
function addDecimals(a: string, b: string): string {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  const e = Math.max(x.exponent, y.exponent);
  const sum = x.mantissa * 10n ** BigInt(e - x.exponent) + y.mantissa * 10n ** BigInt(e - y.exponent);
  const out = formatScaled(sum, e);
  // formatScaled drops trailing zeros; the venue's precision (the comparison's unit) is kept.
  const [int, frac = ''] = out.split('.');
  return e > 0 ? `${int}.${frac.padEnd(e, '0')}` : out;
}

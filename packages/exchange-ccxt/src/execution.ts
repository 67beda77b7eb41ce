/**
 * Orders through ccxt's unified methods (createOrder, cancelOrder, fetchOrder, fetchOpenOrders,
 * fetchMyTrades, fetchBalance) for any ccxt venue. Fills are learned by polling the orders we
 * placed (fetchOrder, then fetchMyTrades for the fills with their trade ids and fees): ccxt's
 * private WebSocket streams differ too much per venue to be used generically. Quantities and
 * prices leave as decimal strings made from our integer ticks/lots, and come back through the
 * same exact conversion; an off-grid value from the venue is reported, never rounded.
 */
import {
  copyOrder,
  decimalToUnits,
  lotsToQty,
  parseDecimal,
  qtyToLots,
  ticksToPrice,
  type Clock,
  type ExecutionClient,
  type ExecutionReport,
  type Instrument,
  type Logger,
  type Order,
  type OrderStatus,
  type OrderStatusReport,
  type RejectReason,
  type Side,
  type TradingAvailability,
  type VenuePosition,
  LISTED_WITHOUT_TIME,
} from '@cwts/core';
import { BoundedIdSet, RateLimiter, TimerSet, claimPriorTrades, feeToQuoteAtoms, refusedByVenue, venueTable } from '@cwts/core/adapter-kit';
import type { CcxtExchange, CcxtFee, CcxtMyTrade, CcxtOrder } from './ccxt-exchange.js';
import { mapCcxtError, redactCcxtError } from './errors.js';
import { OrderGate } from './order-gate.js';
import type { CcxtOptions } from './options.js';

export interface CcxtExecutionDeps {
  exchange: string;
  ccxt: () => Promise<CcxtExchange>;
  options: CcxtOptions;
  clock: Clock;
  logger?: Logger;
  hasCredentials: boolean;
  instrument(symbol: string): Instrument | undefined;
  ccxtSymbol(symbol: string): string | undefined;
}

interface Tracked {
  order: Order;
  venueOrderId: string;
  /** Lots counted as filled: the trades reported here, and what had filled when followed from a listing (priorLots). */
  filled: number;
  /** The trades booked (and those claimed by priorLots), by tradeKeys: the venue's trade id, or what an id-less trade is and which of the alike. */
  tradeIds: Set<string>;
  /** Followed from the venue's open-order list (openOrders), not from an order placed or asked about here. */
  listed?: boolean;
  /**
   * An order followed from a listing: of the venue's filled quantity then, counted in `filled`
   * from the start, the lots whose trades are not identified yet. Those trades were made before
   * this process followed the order and are never reported: the listing also names orders the
   * engine leaves alone (placed outside this process), whose trades from before the journal
   * began are not ours to book. Each read of the order's trades marks the earliest ones, adding
   * up to this many lots, as booked (claimPriorTrades); once they do, it is dropped.
   */
  priorLots?: number;
  /** The venue accepted our cancel: an order it no longer lists has ended (cancelled). */
  cancelAccepted?: boolean;
  /** Trades of this order refused (fillReport), by tradeKeys: each is counted and warned about once, not at every poll. */
  refusedTradeIds?: BoundedIdSet;
}

/**
 * The venue's and our clocks may differ: an order's trades are read from this long before the
 * order was made.
 */
const CLOCK_MARGIN_MS = 60_000;
/** Refused trade ids remembered per order (a venue listing endless refused trades costs no more). */
const REFUSED_TRADE_IDS = 1024;
/** Venue ids of orders listed without a time remembered (tradesFrom); the oldest forgotten first. */
const UNTIMED_ORDER_IDS = 4096;
/** At most this many fetchMyTrades pages per read (500,000 trades on Binance): a venue answering new trades for ever cannot hold the poll. */
const MAX_TRADE_PAGES = 1000;

/**
 * What a venue puts before the client id it echoes back (ccxt passes ours on and parses the
 * venue's field back as it is): Gate keeps it as `text`, "t-" + ours. Compared bare, our own
 * order read as another's: its fills were never booked, its lookup by client id never found it.
 */
const ECHOED_CLIENT_ID_PREFIX = venueTable<string>({ gate: 't-', gateio: 't-' });

/**
 * ccxt exchanges whose fetchOrder finds an order by the `clientOrderId` param alone (the id left
 * empty): Binance's origClientOrderId, OKX's clOrdId, Bitget's clientOid, MEXC spot's
 * origClientOrderId. Elsewhere ccxt would send the empty id.
 */
const FETCH_ORDER_BY_CLIENT_ID = venueTable<true>({ binance: true, binanceus: true, binanceusdm: true, binancecoinm: true, okx: true, bitget: true, mexc: true });
/** At most this many order-history pages per lookup by client id (50,000 orders on Binance); past it the lookup is not answered. */
const MAX_ORDER_PAGES = 100;
/**
 * An order-history page at one timestamp this long or longer may have been cut by the venue's
 * page size, and the orders past it at that time were not read; a shorter one is taken as all
 * of its millisecond (venues page order history by tens to hundreds: KuCoin 50, OKX 100, Binance
 * 500). Taken as cut, a lookup that does not find the order is not answered, and is asked again.
 */
const MIN_FULL_ORDER_PAGE = 10;

/**
 * An order as ccxt returned it, with the venue's id (ccxt's safeOrder writes it as a string). An
 * answer that is no object (a venue's `null`) has none: read as one, its TypeError escaped the
 * poll's timer as an unhandled rejection, which ends the process. An id that is an object or a
 * list ("[object Object]") is none either.
 */
const hasId = (x: CcxtOrder | null | undefined): boolean =>
  x !== null && typeof x === 'object' && ((typeof x.id === 'string' && x.id !== '') || (typeof x.id === 'number' && Number.isSafeInteger(x.id)));

const TIF: Record<string, string | undefined> = { GTC: 'GTC', IOC: 'IOC', FOK: 'FOK', POST_ONLY: undefined };

export class CcxtExecution implements ExecutionClient {
  readonly exchange: string;
  readonly simulated = false;
  private readonly timers = new TimerSet();
  private readonly limiter: RateLimiter;
  /** Creates and cancels draw from the limiter through it, cancels first. */
  private readonly gate: OrderGate;
  private ex: CcxtExchange | undefined;
  private onReport: ((r: ExecutionReport) => void) | undefined;
  private readonly tracked = new Map<string, Tracked>();
  private polling = false;
  private stopped = false;
  /** Listed trades refused (off the grid, not a positive price and quantity, past the order's size): never applied. */
  private refusedFills = 0;
  /** Order answers refused (fetchOrder answered about another order): read again. */
  private refusedOrderReads = 0;
  /** Until then (clock ms) the venue limited our reads: polls wait (pauseReadsOnRateLimit). */
  private readsPausedUntil = 0;
  /** The followed order a poll cut short by the venue's rate limit stopped at: the next poll starts there. */
  private resumePollAt: string | undefined;
  /** Per ccxt symbol, the longest fetchMyTrades page the venue has answered (myTrades: a shorter page is the last). */
  private readonly tradesPageSize = new Map<string, number>();
  /** Per ccxt symbol, the longest order-history page the venue has answered (orderInHistory: a shorter page is the last). */
  private readonly historyPageSize = new Map<string, number>();
  /**
   * Venue ids of orders the venue listed without a time (openOrders): their createdTs is the time
   * of the read, not when they were placed, so their trades are read from the account's first
   * (tradesFrom), not from then.
   */
  private readonly untimedOrders = new BoundedIdSet(UNTIMED_ORDER_IDS);

  /** Refused venue input, running totals (ExecutionClient.inputRejections). */
  *inputRejections(): Generator<readonly [string, number]> {
    if (this.refusedFills > 0) yield ['fill', this.refusedFills] as const;
    if (this.refusedOrderReads > 0) yield ['order_read', this.refusedOrderReads] as const;
  }

  /**
   * A list ccxt answered (orders, trades), or the read fails. ccxt hands a venue's answer on as
   * its parser made it: entries that are no object (null, a number, a string, a nested list) were
   * skipped as "not ours", so a garbled listing read as "no such order" (an unknown submit
   * reported never received while it worked), "no working orders" or "no trades" (a
   * reconciliation's fills lost).
   */
  private listOf<T>(x: unknown, what: string): T[] {
    if (Array.isArray(x)) {
      const bad = x.find((e) => e === null || typeof e !== 'object' || Array.isArray(e));
      if (bad === undefined && x.every((e) => e !== undefined)) return x as T[];
      throw new Error(`${this.exchange}: ${what} answered a list holding ${bad === null ? 'null' : Array.isArray(bad) ? 'a list' : typeof bad}; not read`);
    }
    throw new Error(`${this.exchange}: ${what} answered ${x === null ? 'null' : typeof x}, not a list; not read`);
  }

  /** The venue's prefix before an echoed client id (ECHOED_CLIENT_ID_PREFIX), if any. */
  private readonly echoPrefix: string | undefined;
  /** fetchOrder finds an order by client id alone (FETCH_ORDER_BY_CLIENT_ID). */
  private readonly fetchesByClientId: boolean;

  constructor(private readonly deps: CcxtExecutionDeps) {
    this.exchange = deps.exchange;
    this.echoPrefix = ECHOED_CLIENT_ID_PREFIX[deps.options.ccxt_id ?? deps.exchange];
    this.fetchesByClientId = FETCH_ORDER_BY_CLIENT_ID[deps.options.ccxt_id ?? deps.exchange] === true;
    this.limiter = new RateLimiter([{ name: 'orders', limit: deps.options.orders_per_interval, intervalMs: deps.options.order_limit_interval_ms }], () => deps.clock.now(), this.timers);
    this.gate = new OrderGate(this.limiter, this.timers);
  }

  pendingTimers(): number {
    return this.timers.size;
  }

  availability(): TradingAvailability {
    if (!this.deps.hasCredentials) return { canTrade: false, reason: `${this.exchange}: no api_key/api_secret` };
    if (!this.ex || this.stopped) return { canTrade: false, reason: `${this.exchange}: execution not started` };
    return { canTrade: true };
  }

  async start(onReport: (report: ExecutionReport) => void): Promise<void> {
    this.onReport = onReport;
    this.stopped = false;
    this.timers.reopen();
    if (!this.deps.hasCredentials) return;
    this.ex = await this.deps.ccxt();
    this.timers.interval(() => void this.poll(), this.deps.options.poll_interval_ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timers.close();
    this.onReport = undefined;
  }

  submit(order: Readonly<Order>): void {
    void this.place(copyOrder(order));
  }

  cancel(order: Readonly<Order>): void {
    void this.cancelNow(copyOrder(order));
  }

  private report(o: Order, r: Partial<ExecutionReport> & Pick<ExecutionReport, 'kind'>): void {
    // the venue id first, then r (which may carry its own), without a spread mid-literal (V8's slow path)
    const report: ExecutionReport = {
      exchange: this.exchange, symbol: o.symbol, clientOrderId: o.clientOrderId, side: o.side, lastPrice: 0, lastQty: 0, leavesQty: o.qty - o.filledQty, cumQty: o.filledQty, feeAtoms: 0n, ts: this.deps.clock.now(),
      kind: r.kind,
    };
    if (o.venueOrderId) report.venueOrderId = o.venueOrderId;
    this.onReport?.(Object.assign(report, r));
  }

  private async place(o: Order): Promise<void> {
    const i = this.deps.instrument(o.symbol);
    const sym = this.deps.ccxtSymbol(o.symbol);
    if (!this.ex || !i || !sym) {
      this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: this.ex ? 'INVALID_ORDER' : 'NO_CREDENTIALS', text: this.ex ? `unknown instrument ${o.symbol}` : 'execution not started', leavesQty: 0 });
      return;
    }
    try {
      await this.gate.create();
    } catch (err) {
      this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: 'RATE_LIMITED', text: (err as Error).message, leavesQty: 0 });
      return;
    }
    const params: Record<string, unknown> = { clientOrderId: o.clientOrderId };
    if (o.type === 'limit') {
      if (o.tif === 'POST_ONLY') params.postOnly = true;
      else params.timeInForce = TIF[o.tif];
    }
    if (o.reduceOnly) params.reduceOnly = true;
    let res: CcxtOrder | undefined;
    let failure: unknown;
    try {
      res = await this.ex.createOrder(sym, o.type, o.side, lotsToQty(i, o.qty), o.type === 'limit' ? ticksToPrice(i, o.price!) : undefined, params);
    } catch (err) {
      failure = err;
    }
    if (res && hasId(res)) {
      this.follow(o, String(res.id));
      return;
    }
    const m = failure === undefined ? { reason: 'VENUE_ERROR' as const, text: `${this.exchange}: the order's answer carried no order id`, retryable: false } : mapCcxtError(this.exchange, failure);
    this.pauseOrdersOnRateLimit(m.reason);
    // Anything but the venue's refusal (a network failure, an answer ccxt failed to read, one
    // without an order id, ccxt's bare ExchangeError: what it throws for a code it cannot class
    // and for a venue's internal error, Bybit 10016 "System error") leaves the order's fate
    // unknown: it is looked up by client id, never assumed rejected. The bare class is checked
    // here too, not only by the kit's rule, since a core older than that rule may be installed.
    if (failure !== undefined && !isBareExchangeError(failure) && refusedByVenue(failure, undefined)) {
      this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: m.reason, text: m.text, leavesQty: 0 });
      return;
    }
    this.deps.logger?.warn({ clientOrderId: o.clientOrderId }, `order submit outcome unknown (${m.text}); looking it up by client id`);
    await this.resolveUnknown(o, sym, m.reason, m.text);
  }

  /** Acked, and followed from now on (polled for fills and venue-side ends). */
  private follow(o: Order, venueOrderId: string): void {
    o.venueOrderId = venueOrderId;
    o.status = 'open';
    this.report(o, { kind: 'ack', venueOrderId, leavesQty: o.qty });
    this.tracked.set(o.clientOrderId, { order: o, venueOrderId, filled: 0, tradeIds: new Set() });
  }

  /**
   * Asks by client id every `poll_interval_ms` until the order is found (then acked and followed)
   * or a lookup the venue answered, begun `unknown_order_grace_ms` or later, does not find it
   * (then reported rejected: it never reached the venue). A lookup that failed says nothing about
   * the order: through an outage that outlasts the grace the order is asked about until the venue
   * answers, never declared absent while it may be working. The verdict is judged by when the
   * lookup began, as the adapter kit's is: a lookup is several reads (the open orders, then the
   * order history page by page, each maybe waiting out a rate-limit pause), and its "not found"
   * holds only for when it began. Judged at the answer, a create the venue took after the lookup
   * began (inside the grace) was reported never received while it worked there.
   */
  private async resolveUnknown(o: Order, sym: string, reason: RejectReason, text: string): Promise<void> {
    const since = this.deps.clock.now();
    for (;;) {
      if (this.stopped) return;
      let known: CcxtOrder | undefined;
      let answered = false;
      const askedAt = this.deps.clock.now();
      try {
        known = await this.orderByClientId(sym, o.clientOrderId, o.createdTs);
        answered = true;
      } catch (err) {
        this.deps.logger?.debug({ exchange: this.exchange, clientOrderId: o.clientOrderId }, `order lookup by client id failed (${mapCcxtError(this.exchange, err).text}); asking again`);
      }
      if (this.stopped) return;
      if (known && hasId(known)) {
        this.follow(o, String(known.id));
        return;
      }
      if (answered && askedAt - since >= this.deps.options.unknown_order_grace_ms) break;
      await this.timers.sleep(Math.max(this.deps.options.poll_interval_ms, this.readsPausedUntil - this.deps.clock.now()));
    }
    this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: reason, text: `${text}; not found by client id within ${this.deps.options.unknown_order_grace_ms} ms: never reached the venue`, leavesQty: 0 });
  }

  /** A client id as the venue echoed it, without the venue's prefix (ECHOED_CLIENT_ID_PREFIX); undefined when it gave none. */
  private echoedClientId(raw: unknown): string | undefined {
    if (typeof raw !== 'string' || raw === '') return undefined;
    const p = this.echoPrefix;
    return p !== undefined && raw.startsWith(p) && raw.length > p.length ? raw.slice(p.length) : raw;
  }

  /**
   * Our order by client id: asked for directly where ccxt can (FETCH_ORDER_BY_CLIENT_ID), else
   * or when that does not find it, among the venue's open orders, then (where ccxt can list
   * them) its order history from before the order on, every page (orderInHistory): a market
   * order may have filled at once. Undefined only when every list was read to its end; a list cut
   * short throws (not answered): reported absent, a filled order was rejected and its fill never
   * booked.
   */
  private async orderByClientId(sym: string, clientOrderId: string, createdTs: number): Promise<CcxtOrder | undefined> {
    const ex = this.ex!;
    const ours = (x: CcxtOrder): boolean => this.echoedClientId(x.clientOrderId) === clientOrderId;
    if (this.fetchesByClientId) {
      try {
        const v = await this.read(ex.fetchOrder('', sym, { clientOrderId }));
        // only an answer that names our client id is ours; anything else (not found, a venue
        // slow to list a new order, another order) is left to the lists
        if (v && hasId(v) && ours(v)) return v;
      } catch {
        // the lists below answer instead
      }
    }
    const open = this.listOf<CcxtOrder>(await this.read(ex.fetchOpenOrders(sym)), 'fetchOpenOrders').find(ours);
    if (open) return open;
    // every status where ccxt has it: Binance's fetchClosedOrders is allOrders filtered to
    // `closed`, which drops an IOC that filled in part and expired, and pages shorter than the
    // venue's page size
    if (ex.has.fetchOrders === true && ex.fetchOrders) return this.orderInHistory((from) => ex.fetchOrders!(sym, from), sym, createdTs - CLOCK_MARGIN_MS, ours);
    if (ex.has.fetchClosedOrders && ex.fetchClosedOrders) return this.orderInHistory((from) => ex.fetchClosedOrders!(sym, from), sym, createdTs - CLOCK_MARGIN_MS, ours);
    return undefined;
  }

  /**
   * The first order `ours` takes in the venue's order history from `since` on, page after page
   * (ccxt answers one: Binance allOrders 500 oldest first, KuCoin 50, OKX, Gate, Bitget 100), each
   * next page from the latest timestamp of the one before, as myTrades pages trades. Read to its
   * end (an empty page, or one adding nothing later that is shorter than the longest the venue
   * has answered for the symbol) without it: undefined. A page of one timestamp as long as the
   * longest (the venue may hold more orders at that time than a page) is passed by a
   * millisecond; when that page may have been cut (MIN_FULL_ORDER_PAGE), or after
   * MAX_ORDER_PAGES, the history was not read to its end and this throws: our order may be among
   * the orders not read.
   */
  private async orderInHistory(list: (since: number) => Promise<CcxtOrder[]>, sym: string, since: number, ours: (x: CcxtOrder) => boolean): Promise<CcxtOrder | undefined> {
    const seen = new Set<string>();
    let from = since;
    let passed = false;
    for (let page = 1; page <= MAX_ORDER_PAGES; page++) {
      const got = this.listOf<CcxtOrder>(await this.read(list(from)), 'the order history');
      const found = got.find(ours);
      if (found) return found;
      if (got.length === 0) return this.historyEnd(passed, sym, from);
      const longest = Math.max(this.historyPageSize.get(sym) ?? 0, got.length);
      this.historyPageSize.set(sym, longest);
      const pageFrom = from;
      for (const v of got) {
        const key = orderKey(v);
        if (seen.has(key)) continue;
        seen.add(key);
        if (typeof v.timestamp === 'number' && Number.isFinite(v.timestamp) && v.timestamp > from) from = v.timestamp;
      }
      if (from > pageFrom) continue;
      // nothing later than `from` on this page: asked again from `from`, the venue answers it again
      if (got.length < longest) return this.historyEnd(passed, sym, from);
      if (got.length >= MIN_FULL_ORDER_PAGE) passed = true;
      from = pageFrom + 1;
    }
    throw new Error(`${this.exchange}: order history of ${sym} still going after ${MAX_ORDER_PAGES} pages; not read to its end`);
  }

  /** The order history read to its end: absent, unless orders at one time were passed (orderInHistory). */
  private historyEnd(passed: boolean, sym: string, at: number): undefined {
    if (passed) throw new Error(`${this.exchange}: order history of ${sym} holds a full page at one time before ${at}; the orders past it cannot be read by time`);
    return undefined;
  }

  private async cancelNow(o: Order): Promise<void> {
    const sym = this.deps.ccxtSymbol(o.symbol);
    if (!this.ex || !sym || !o.venueOrderId) {
      this.report(o, { kind: 'rejected', rejects: 'request', rejectReason: !this.ex ? 'NO_CREDENTIALS' : 'UNKNOWN_ORDER', text: !this.ex ? 'execution not started' : `no venue order id for ${o.clientOrderId}` });
      return;
    }
    try {
      // held through the venue's 429 pause like a create: after a 429 to a cancel, a HALT's
      // mass cancel does not go on into the limit
      await this.gate.cancel();
    } catch (err) {
      this.report(o, { kind: 'rejected', rejects: 'request', rejectReason: 'RATE_LIMITED', text: (err as Error).message });
      return;
    }
    const t = this.tracked.get(o.clientOrderId);
    try {
      await this.ex.cancelOrder(o.venueOrderId, sym);
    } catch (err) {
      const m = mapCcxtError(this.exchange, err);
      this.pauseOrdersOnRateLimit(m.reason);
      this.report(o, { kind: 'rejected', rejects: 'request', rejectReason: m.reason, text: m.text });
      return;
    }
    if (!t) {
      this.report(o, { kind: 'cancelled', leavesQty: 0 });
      return;
    }
    // accepted: the fills made before it (not polled yet) and the end come from the order itself;
    // a read that fails or shows it still open is left to the next poll
    t.cancelAccepted = true;
    await this.readAndSync(t, sym);
  }

  /**
   * Reads one followed order and brings it up to the venue's view (sync). A failed read is read
   * again at the next poll, except an order whose cancel the venue accepted and which it no
   * longer knows (many venues drop a cancelled order without fills): that one has ended, so its
   * trades are read once more and it is reported cancelled with what they booked. Otherwise it
   * would stay pending_cancel, and be read at every poll, for ever.
   */
  private async readAndSync(t: Tracked, sym: string): Promise<void> {
    let v: CcxtOrder;
    try {
      v = await this.read(this.ex!.fetchOrder(t.venueOrderId, sym));
    } catch (err) {
      if (t.cancelAccepted && mapCcxtError(this.exchange, err).reason === 'UNKNOWN_ORDER') await this.endUnlisted(t, sym).catch(() => {});
      return;
    }
    // an answer about another order (a venue or ccxt mix-up) says nothing about ours: applied, its
    // end or fills would end ours while it works; read again at the next poll
    if (!this.isAnswerFor(v, t.venueOrderId, t.order.clientOrderId)) return;
    await this.sync(t, v).catch(() => {});
  }

  /**
   * Is `v` the venue's answer about the order asked for: its id the one asked for (where one was),
   * and the client id it echoes (echoedClientId), if any, ours? One that is not is counted and
   * warned about.
   */
  private isAnswerFor(v: CcxtOrder, venueOrderId: string | undefined, clientOrderId: string | undefined): boolean {
    const idOk = hasId(v) && (venueOrderId === undefined || String(v.id) === venueOrderId);
    const echoed = idOk ? this.echoedClientId(v.clientOrderId) : undefined;
    const clientOk = clientOrderId === undefined || echoed === undefined || echoed === clientOrderId;
    if (idOk && clientOk) return true;
    this.refusedOrderReads++;
    this.deps.logger?.warn({ exchange: this.exchange, venueOrderId, clientOrderId, answeredId: (v as CcxtOrder | null)?.id, answeredClientId: (v as CcxtOrder | null)?.clientOrderId }, 'fetchOrder answered about another order; not applied, read again');
    return false;
  }

  /**
   * A read of the venue: where it answers that we are over its rate limit, reads wait
   * (pauseReadsOnRateLimit) before the next. Rethrows, with credentials masked in the error's
   * text (redactCcxtError): a failed read of reconciliation is shown on /status and /health/ready.
   */
  private async read<T>(answer: Promise<T>): Promise<T> {
    try {
      return await answer;
    } catch (err) {
      this.pauseReadsOnRateLimit(mapCcxtError(this.exchange, err).reason);
      throw redactCcxtError(err);
    }
  }

  /**
   * The venue refused a create or cancel as over its rate limit (HTTP 429, RateLimitExceeded):
   * creates and cancels wait `rate_limit_pause_ms` (OrderGate; ccxt's own limiter is off, so
   * nothing else holds them; Binance bans an IP that goes on sending into the limit).
   */
  private pauseOrdersOnRateLimit(reason: RejectReason): void {
    if (reason === 'RATE_LIMITED') this.limiter.blockUntil(this.deps.clock.now() + this.deps.options.rate_limit_pause_ms);
  }

  /**
   * The venue refused a read as over its rate limit: polls and lookups wait `rate_limit_pause_ms`
   * (the rest of a poll round too). Orders do not: a pause renewed by every poll while reads stay
   * limited would hold back every order and cancel.
   */
  private pauseReadsOnRateLimit(reason: RejectReason): void {
    if (reason === 'RATE_LIMITED') this.readsPausedUntil = Math.max(this.readsPausedUntil, this.deps.clock.now() + this.deps.options.rate_limit_pause_ms);
  }

  private async endUnlisted(t: Tracked, sym: string): Promise<void> {
    const i = this.deps.instrument(t.order.symbol);
    if (!i || this.tracked.get(t.order.clientOrderId) !== t) return;
    await this.emitFills(t, i, sym);
    if (this.tracked.get(t.order.clientOrderId) !== t) return;
    this.tracked.delete(t.order.clientOrderId);
    this.report(t.order, { kind: 'cancelled', leavesQty: 0, cumQty: t.filled, text: `${this.exchange}: cancel accepted; the venue no longer lists the order` });
  }

  /**
   * Polls each order we placed for fills and venue-side ends (cancel, expiry). Once the venue
   * answers a read with its rate limit, the rest of the round waits (readsPausedUntil), and the
   * next round starts at the order this one stopped at: from the first order each time, the
   * orders behind the limit would never be read.
   */
  private async poll(): Promise<void> {
    if (this.polling || this.stopped || !this.ex || this.tracked.size === 0) return;
    this.polling = true;
    try {
      const all = [...this.tracked.values()];
      const at = this.resumePollAt === undefined ? -1 : all.findIndex((t) => t.order.clientOrderId === this.resumePollAt);
      const round = at > 0 ? [...all.slice(at), ...all.slice(0, at)] : all;
      for (const t of round) {
        if (this.stopped) return;
        if (this.deps.clock.now() < this.readsPausedUntil) {
          this.resumePollAt = t.order.clientOrderId;
          return;
        }
        const sym = this.deps.ccxtSymbol(t.order.symbol);
        if (!sym) continue;
        // a failed read (the order's or its trades') is read again at the next poll
        await this.readAndSync(t, sym);
      }
      this.resumePollAt = undefined;
    } finally {
      this.polling = false;
    }
  }

  /**
   * Brings one followed order up to the venue's view of it: its trades first, then its end
   * (filled, cancelled, expired, rejected), which waits until the trades add up to what the
   * venue counts as filled (its trade list can lag its order state). Throws when the trades
   * cannot be read: nothing is ended on a read that failed.
   */
  private async sync(t: Tracked, v: CcxtOrder): Promise<void> {
    const sym = this.deps.ccxtSymbol(t.order.symbol);
    const i = this.deps.instrument(t.order.symbol);
    if (!sym || !i || this.tracked.get(t.order.clientOrderId) !== t) return;
    const status = statusOf(v.status);
    const final = status === 'filled' || status === 'cancelled' || status === 'rejected';
    const filled = this.venueFilled(i, t.order, v.filled);
    // without a usable `filled` only the trades say what was filled; a final order's are read
    // once more so that nothing counted before its end is missed
    if (filled === undefined || filled > t.filled || final) await this.emitFills(t, i, sym);
    if (this.tracked.get(t.order.clientOrderId) !== t) return;
    // Its trades fill it in full: it has ended, its last fill said so (leavesQty 0), whatever the
    // venue's status says. Followed on, a status of canceled, expired or rejected (a venue or ccxt
    // mix-up, a cancel that lost the race) reported a second end of an order the engine has
    // filled.
    if (t.filled >= t.order.qty) {
      this.tracked.delete(t.order.clientOrderId);
      return;
    }
    if (!final) return;
    if (t.filled < (filled ?? (status === 'filled' ? t.order.qty : 0))) return;
    this.tracked.delete(t.order.clientOrderId);
    if (status === 'filled') {
      // a venue may close an order it filled in part (the rest of an IOC): the rest is not working.
      // Worded as the adapter kit's venues word it, so one search finds every venue's short close.
      if (t.filled < t.order.qty) this.report(t.order, { kind: 'expired', leavesQty: 0, cumQty: t.filled, text: `${this.exchange} closed the order filled at ${t.filled} of ${t.order.qty} lots` });
      return;
    }
    if (status === 'rejected') {
      this.report(t.order, { kind: 'rejected', rejects: 'order', rejectReason: 'VENUE_ERROR', text: `${this.exchange}: rejected by the venue after its ack`, leavesQty: 0, cumQty: t.filled });
      return;
    }
    this.report(t.order, { kind: v.status === 'expired' ? 'expired' : 'cancelled', leavesQty: 0, cumQty: t.filled });
  }

  /**
   * The venue's filled quantity in lots; undefined when it does not say (ccxt leaves `filled`
   * undefined or null where the venue's answer lacks it) or says something that is no quantity
   * of this order (off the grid, negative, more than the order).
   */
  private venueFilled(i: Instrument, o: Order, filled: number | null | undefined): number | undefined {
    const lots = this.lots(i, filled ?? undefined);
    return lots === undefined || lots < 0 || lots > o.qty ? undefined : lots;
  }

  private async emitFills(t: Tracked, i: Instrument, sym: string): Promise<void> {
    const trades = byTime(await this.myTrades(sym, this.tradesFrom(t.order)));
    this.claimPriorTrades(t, i, trades);
    this.bookTrades(t, i, trades, (r) => this.onReport?.(r));
  }

  /**
   * From when an order's trades are read: CLOCK_MARGIN_MS before it was made; from the account's
   * first trade for one whose creation time is not known (listed without one: untimedOrders).
   * Read from the time of that read, its earlier trades were never found: a followed listing
   * claimed later trades as its earlier ones (priorLots) and never reported them.
   */
  private tradesFrom(o: Readonly<Order>): number {
    // the listing's own order (its venue id with the time the listing gave it), not any order of
    // that id: ours, placed or journaled with a real creation time, keeps reading from it (keyed by
    // the id alone, every order an untimed listing named read the account's whole history)
    const known = Number.isFinite(o.createdTs) && o.createdTs > 0 && !(o.venueOrderId !== undefined && this.untimedOrders.has(untimedKey(o.venueOrderId, o.createdTs)));
    return (known ? o.createdTs : 0) - CLOCK_MARGIN_MS;
  }

  /**
   * The order's trades in `trades` (oldest first: every trade of the symbol from before the order
   * on) not booked yet, each as a fill handed to `out` and booked once by its key (tradeKeys: the
   * venue's trade id, or for a venue that gives none, what the trade is and which of the alike).
   * A trade that is no fill of this order (off the grid, not a positive price and quantity, or
   * one that takes the order past its size) is refused, never applied, and counted and warned
   * about once: it is listed again at every read. It is still looked at each time, since the
   * venue may list it corrected later.
   */
  private bookTrades(t: Tracked, i: Instrument, trades: readonly CcxtMyTrade[], out: (r: ExecutionReport) => void): void {
    const keys = tradeKeys(trades);
    for (let k = 0; k < trades.length; k++) {
      const tr = trades[k]!;
      const id = keys[k]!;
      if (String(tr.order) !== t.venueOrderId || t.tradeIds.has(id)) continue;
      const r = this.fillReport(t.order, i, tr, t.filled, t.order.qty);
      if (typeof r === 'string') {
        if ((t.refusedTradeIds ??= new BoundedIdSet(REFUSED_TRADE_IDS)).add(id)) this.refuseFill(tr, r);
        continue;
      }
      t.tradeIds.add(id);
      t.filled = r.cumQty;
      t.order.filledQty = r.cumQty;
      out(r);
    }
  }

  private refuseFill(tr: CcxtMyTrade, why: string): void {
    this.refusedFills++;
    this.deps.logger?.warn({ exchange: this.exchange, tradeId: tr.id, venueOrderId: tr.order }, `fill ${why}; not applied`);
  }

  /**
   * The account's trades on `sym` from `since`, every page of them. ccxt answers one page (Binance:
   * 500 trades, oldest first from `since`): with more trades on the symbol than that since
   * `since`, the later ones, an order's fill among them, were never read. Each next page starts
   * at the latest timestamp of the one before (trades sharing it come again and are dropped by
   * id). The read ends at a page that adds no trade, or one shorter than the longest page the
   * venue has answered for the symbol: shorter than a page it filled, it is the last, without
   * assuming the venue's page size (ccxt does not say it, and a `limit` we sent the venue may cap).
   */
  private async myTrades(sym: string, since: number): Promise<CcxtMyTrade[]> {
    const ex = this.ex!;
    const byKey = new Map<string, CcxtMyTrade[]>();
    let from = since;
    for (let page = 1; ; page++) {
      const list = this.listOf<CcxtMyTrade>(await this.read(ex.fetchMyTrades(sym, from)), 'fetchMyTrades');
      const longest = this.tradesPageSize.get(sym) ?? 0;
      if (list.length > longest) this.tradesPageSize.set(sym, list.length);
      const pageFrom = from;
      let added = 0;
      const onPage = new Map<string, number>();
      for (const tr of list) {
        const key = tradeKey(tr);
        const n = (onPage.get(key) ?? 0) + 1;
        onPage.set(key, n);
        // one trade per id; without ids, as many alike as one page lists (two fills of an order
        // alike in one millisecond are two, and the page that lists them both is read again)
        const had = byKey.get(key);
        if (had && (venueTradeId(tr) !== undefined || had.length >= n)) continue;
        if (had) had.push(tr);
        else byKey.set(key, [tr]);
        added++;
        if (typeof tr.timestamp === 'number' && Number.isFinite(tr.timestamp) && tr.timestamp > from) from = tr.timestamp;
      }
      // shorter than a page the venue filled: the last
      if (list.length < longest) break;
      if (added === 0 || from === pageFrom) {
        // nothing new, or nothing later: asked again from `from`, the venue answers this page
        // again. Where a whole page of trades shares that timestamp, trades after them cannot
        // be reached by time (docs/venues.md, ccxt)
        this.deps.logger?.debug({ exchange: this.exchange, symbol: sym, ts: from, trades: list.length }, 'trade list read to its end, or to a page at one timestamp');
        break;
      }
      if (page >= MAX_TRADE_PAGES) {
        this.deps.logger?.warn({ exchange: this.exchange, symbol: sym, pages: page }, 'trade list still going after the page limit; the trades past it are not read');
        break;
      }
    }
    return [...byKey.values()].flat();
  }

  /** An order followed from a listing: its earliest trades, up to priorLots, are in its count already (claimPriorTrades of the kit). */
  private claimPriorTrades(t: Tracked, i: Instrument, trades: readonly CcxtMyTrade[]): void {
    if (t.priorLots === undefined) return;
    const keys = tradeKeys(trades);
    const keyOf = new Map<CcxtMyTrade, string>();
    for (let k = 0; k < trades.length; k++) keyOf.set(trades[k]!, keys[k]!);
    const own = trades.filter((tr) => String(tr.order) === t.venueOrderId);
    const lotsOf = (tr: CcxtMyTrade): number | undefined => {
      const price = this.ticks(i, tr.price);
      return price === undefined || price <= 0 ? undefined : this.lots(i, tr.amount);
    };
    if (claimPriorTrades(own, t.priorLots, lotsOf, (tr) => t.tradeIds.add(keyOf.get(tr)!))) delete t.priorLots;
  }

  /**
   * One venue fill as our report, or why it is none: off the instrument's grid, not a positive
   * price and quantity, or past `maxQty` lots with what was filled before (an overfill: a trade
   * the venue lists on our order for more than the order can have filled).
   */
  private fillReport(o: Order, i: Instrument, tr: CcxtMyTrade, cumBefore: number, maxQty?: number): ExecutionReport | string {
    const price = this.ticks(i, tr.price);
    const qty = this.lots(i, tr.amount);
    if (price === undefined || qty === undefined || price <= 0 || qty <= 0) return 'off the instrument grid, or not a positive price and quantity';
    const cum = cumBefore + qty;
    if (maxQty !== undefined && cum > maxQty) return `of ${qty} lots after ${cumBefore} takes the order past its ${maxQty} lots`;
    const fee = this.tradeFee(i, tr, price);
    const r: ExecutionReport = {
      kind: 'fill', exchange: this.exchange, symbol: o.symbol, clientOrderId: o.clientOrderId, venueOrderId: String(tr.order), side: o.side,
      lastPrice: price, lastQty: qty, leavesQty: Math.max(0, o.qty - cum), cumQty: cum, feeAtoms: fee.atoms,
      // a time that is no number ("", true, a numeric string) would reach the engine as the fill's time
      ts: typeof tr.timestamp === 'number' && Number.isFinite(tr.timestamp) ? tr.timestamp : this.deps.clock.now(),
    };
    // only the venue's own id: a made-up one ("undefined" for every id-less trade) made the
    // engine and the journal drop each later id-less fill as a duplicate of the first; without
    // one they go by quantity
    const tradeId = venueTradeId(tr);
    if (tradeId !== undefined) r.tradeId = tradeId;
    // set after the literal, not spread into it (V8's slow path: docs/writing-an-exchange-plugin.md)
    if (fee.asset) r.feeAsset = fee.asset;
    if (fee.text) r.text = fee.text;
    if (tr.takerOrMaker === 'maker' || tr.takerOrMaker === 'taker') r.liquidity = tr.takerOrMaker;
    return r;
  }

  /**
   * The trade's commission (feeAtoms): its `fee`, or where ccxt lists several (`fees`, one per
   * currency, `fee` then often left out) their sum. Read from `fee` alone, such a trade booked no
   * fee at all. An entry in a third asset is not booked: the fill names that asset (as feeAtoms
   * does for a lone one), and says which entries were left out.
   */
  private tradeFee(i: Instrument, tr: CcxtMyTrade, priceTicks: number): { atoms: bigint; asset?: string; text?: string } {
    const usable = (f: CcxtFee | undefined): f is CcxtFee & { cost: number } => !!f && typeof f.cost === 'number' && Number.isFinite(f.cost);
    const fees = Array.isArray(tr.fees) ? tr.fees.filter(usable) : [];
    // one listed entry is `fee` itself (ccxt fills both)
    if (fees.length === 0 || (usable(tr.fee) && fees.length === 1)) return this.feeAtoms(i, tr.fee, priceTicks);
    let atoms = 0n;
    let asset: string | undefined;
    const left: string[] = [];
    for (const f of fees) {
      const cost = this.ex!.numberToString(f.cost);
      const a = feeToQuoteAtoms(i, cost, f.currency, priceTicks);
      if (a !== undefined) {
        atoms += a;
        continue;
      }
      asset ??= f.currency;
      left.push(`${cost} ${String(f.currency)}`);
    }
    if (left.length === 0) return { atoms };
    const text = `fee ${left.join(', ')} not in quote atoms (no price here)`;
    this.deps.logger?.warn({ exchange: this.exchange, tradeId: tr.id, venueOrderId: tr.order }, text);
    return asset === undefined ? { atoms, text } : { atoms, asset, text };
  }

  /**
   * The trade's commission as quote atoms through the adapter kit's rule (rounded toward
   * +infinity): a quote-asset fee converts exactly, a base-asset fee is valued at this fill's
   * price. A third asset (BNB, a venue token) has no price here: 0 atoms plus its asset name,
   * so the engine reports the fee by asset instead of booking a guess.
   */
  private feeAtoms(i: Instrument, fee: CcxtMyTrade['fee'], priceTicks: number): { atoms: bigint; asset?: string } {
    if (!fee || fee.cost === undefined || !Number.isFinite(fee.cost)) return { atoms: 0n };
    const atoms = feeToQuoteAtoms(i, this.ex!.numberToString(fee.cost), fee.currency, priceTicks);
    if (atoms === undefined) return { atoms: 0n, asset: fee.currency };
    return { atoms };
  }

  private ticks(i: Instrument, v: number | undefined): number | undefined {
    if (v === undefined || !Number.isFinite(v)) return undefined;
    try {
      return decimalToUnits(this.ex!.numberToString(v), i.priceScale);
    } catch {
      return undefined;
    }
  }

  private lots(i: Instrument, v: number | undefined): number | undefined {
    if (v === undefined || !Number.isFinite(v)) return undefined;
    try {
      return qtyToLots(i, this.ex!.numberToString(v));
    } catch {
      return undefined;
    }
  }

  /**
   * The working orders of every instrument loaded here, asked per symbol: without one, ccxt's
   * phemex, bitrue, lbank and others throw ArgumentsRequired and its binance (by default) an
   * ExchangeError warning of the rate-limit weight, so every reconciliation failed. A symbol's
   * failed read fails the listing.
   */
  async openOrders(): Promise<Order[]> {
    if (!this.ex) return [];
    const list: CcxtOrder[] = [];
    for (const sym of this.loadedCcxtSymbols()) for (const v of this.listOf<CcxtOrder>(await this.read(this.ex.fetchOpenOrders(sym)), 'fetchOpenOrders')) list.push(v);
    const out: Order[] = [];
    for (const v of list) {
      const symbol = this.ourSymbol(v.symbol);
      const i = symbol ? this.deps.instrument(symbol) : undefined;
      if (!i || !symbol) continue;
      const amount = this.lots(i, v.amount);
      const qty = amount ?? 0;
      // an amount missing or off today's lot grid (the lot size changed since, a hand-placed
      // order) is left to the engine's check of a listed order (qty 0: reported, not adopted);
      // its filled quantity says nothing then, and one such order must not fail the listing of
      // every other working order of the venue
      const venueFilled = amount === undefined ? undefined : this.lots(i, v.filled);
      // filled past its amount (or below nothing) is no order the engine can hold, nor one whose
      // earlier trades can be told from new ones: the listing is not read
      // an order without its id cannot be cancelled or read again: nor is it one
      if (!hasId(v) || (venueFilled !== undefined && (venueFilled < 0 || venueFilled > qty))) {
        this.refusedOrderReads++;
        throw new Error(`${this.exchange}: fetchOpenOrders listed order ${String(v.id).slice(0, 40)} filled ${String(v.filled).slice(0, 30)} of ${String(v.amount).slice(0, 30)}; not read`);
      }
      const filled = venueFilled ?? 0;
      const price = this.ticks(i, v.price);
      // An order listed without a time: Order's createdTs is a number, and 0 (what this sent
      // before) is no time (the journal took it as its start): the time of this read instead, and
      // its trades are read from the account's first (untimedOrders, tradesFrom).
      const timed = typeof v.timestamp === 'number' && Number.isFinite(v.timestamp) && v.timestamp > 0;
      const createdTs = timed ? v.timestamp! : this.deps.clock.now();
      // one we follow (placed here) has its own creation time: not the listing's
      const followed = this.tracked.has(this.echoedClientId(v.clientOrderId) ?? '');
      if (!timed && hasId(v) && !followed) this.untimedOrders.add(untimedKey(String(v.id), createdTs));
      const o: Order = {
        // the side as the venue gave it: one it did not give is no buy, and the engine's check
        // of a listed order (venueOrderProblem) must see that
        exchange: this.exchange, symbol, side: v.side as Side, type: price === undefined ? 'market' : 'limit', ...(price !== undefined ? { price } : {}), qty, tif: 'GTC', source: 'venue',
        clientOrderId: this.echoedClientId(v.clientOrderId) ?? `venue-${v.id}`, venueOrderId: String(v.id), status: filled > 0 ? 'partially_filled' : 'open', filledQty: filled, filledNotionalTicksLots: 0n, feeAtoms: 0n,
        createdTs, updatedTs: createdTs,
        // journaled with the order if the engine adopts it: every later start asks about it as
        // one of unknown creation time, as now, not from the time of this read
        ...(timed ? {} : { reason: LISTED_WITHOUT_TIME }),
      };
      out.push(o);
      // Followed from now on, from the venue's filled quantity: only trades made from now on are
      // reported (priorLots). This listing names every working order of the account, also one
      // the engine leaves alone (an id it does not issue); followed from nothing booked, such an
      // order's trades from before the journal began were reported and booked onto the order
      // the engine adopted from one of its later trades: the position moved by the account's
      // history. An order the engine adopts it asks about next (queryOrder), which follows it
      // from the trades it hands over instead: its earlier trades are booked once each, by id.
      // An order without a client id is none of ours and is not polled; nor is one whose filled
      // quantity the venue does not say (its earlier trades could not be told from new ones):
      // adopted, queryOrder follows it; nor one without a side (its fills could be no one's).
      if (v.clientOrderId && hasId(v) && (v.side === 'buy' || v.side === 'sell') && venueFilled !== undefined && venueFilled >= 0 && venueFilled <= qty && !this.tracked.has(o.clientOrderId)) {
        const tracked: Tracked = { order: copyOrder(o), venueOrderId: String(v.id), filled, tradeIds: new Set(), listed: true };
        if (filled > 0) tracked.priorLots = filled;
        this.tracked.set(o.clientOrderId, tracked);
      }
    }
    return out;
  }

  async queryOrder(order: Readonly<Order>): Promise<OrderStatusReport | undefined> {
    const sym = this.deps.ccxtSymbol(order.symbol);
    const i = this.deps.instrument(order.symbol);
    if (!this.ex || !sym || !i) return undefined;
    let v: CcxtOrder;
    if (order.venueOrderId) {
      try {
        v = await this.read(this.ex.fetchOrder(order.venueOrderId, sym));
      } catch (err) {
        if (mapCcxtError(this.exchange, err).reason === 'UNKNOWN_ORDER') return undefined;
        throw err;
      }
    } else {
      // Journaled without the venue's id (a crash between send and ack): looked up by client id
      // as an unknown submit outcome is (orderByClientId: fetchOrder by client id where ccxt can,
      // the open orders, then the order history). fetchOrder('', {clientOrderId}) alone finds it
      // on FETCH_ORDER_BY_CLIENT_ID venues only; elsewhere "not found" closed an order working at
      // the venue as never arrived. A lookup not read to its end throws (a failed read).
      const known = await this.orderByClientId(sym, order.clientOrderId, order.createdTs);
      if (!known || !hasId(known)) return undefined;
      v = known;
    }
    // an answer about another order is a failed read, not ours: its trades would be handed over as
    // ours, and ours would be followed under its id
    if (!this.isAnswerFor(v, order.venueOrderId || undefined, order.clientOrderId)) throw new Error(`${this.exchange}: fetchOrder for ${order.venueOrderId || order.clientOrderId} answered about order ${v.id}`);
    const withId = copyOrder(order);
    withId.venueOrderId = String(v.id);
    withId.filledQty = 0;
    // its trades as fills, each once by trade id (a venue may list one twice), none past the order's size
    const found: Tracked = { order: withId, venueOrderId: String(v.id), filled: 0, tradeIds: new Set() };
    const fills: ExecutionReport[] = [];
    this.bookTrades(found, i, byTime(await this.myTrades(sym, this.tradesFrom(withId))), (r) => fills.push(r));
    const cum = found.filled;
    const venueStatus = statusOf(v.status);
    const venueFilled = this.venueFilled(i, order, v.filled);
    // The venue's trade list can lag its order state (docs/venues.md, ccxt): trades short of what
    // the venue counts as filled (of the order's size for a closed order that does not say) are
    // reported, and the order followed, as far as they go; the polls book the rest and end it
    // (sync: filled, or expired "closed the order filled at X of Y lots"), as the adapter kit's
    // queryOrder does. Answered with the venue's end and count, the order was never followed and
    // the missing trades never reported (the engine closed it with "unexplained" lots).
    const lagging = cum < (venueFilled ?? (venueStatus === 'filled' ? order.qty : 0));
    const working = venueStatus === undefined || venueStatus === 'open' || venueStatus === 'partially_filled';
    // An order still working (or whose trades lag) is followed from now on, from the fills handed
    // over here (their trade ids are used up; the engine books each once): also one followed from
    // the venue's listing, whose earlier trades that following would never report (priorLots).
    // One this client placed or asked about already keeps its own count.
    const followed = this.tracked.get(order.clientOrderId);
    if (followed?.listed && followed.venueOrderId === String(v.id)) this.tracked.delete(order.clientOrderId);
    if ((working || lagging) && !this.tracked.has(order.clientOrderId)) this.tracked.set(order.clientOrderId, found);
    if (lagging) return { clientOrderId: order.clientOrderId, venueOrderId: String(v.id), status: cum > 0 ? 'partially_filled' : 'open', filledQty: cum, fills };
    if (working) {
      const filledQty = venueFilled ?? cum;
      return { clientOrderId: order.clientOrderId, venueOrderId: String(v.id), status: filledQty > 0 ? 'partially_filled' : 'open', filledQty, fills };
    }
    // Ended, its trades adding up to the venue's count. Closed short of its size (the rest of an
    // IOC) the rest is not working: cancelled, as the adapter kit answers it. Its trades say what
    // filled: the venue's count is not above them here, and may lag them.
    const status: OrderStatus = venueStatus === 'filled' && cum < order.qty ? 'cancelled' : venueStatus;
    return { clientOrderId: order.clientOrderId, venueOrderId: String(v.id), status, filledQty: cum, fills };
  }

  async tradesSince(symbols: readonly string[], sinceTs: number): Promise<ExecutionReport[]> {
    if (!this.ex) return [];
    const out: ExecutionReport[] = [];
    for (const s of symbols) {
      const sym = this.deps.ccxtSymbol(s);
      const i = this.deps.instrument(s);
      if (!sym || !i) continue;
      // a trade names its venue order only; the client id (what the journal keys on) comes from
      // the order, read once per order. Unknown (a venue order without one, or one the venue no
      // longer knows), it is left out rather than made up: the trade is then one of an order
      // the journal never saw.
      const clientIds = new Map<string, string | undefined>();
      for (const t of await this.myTrades(sym, sinceTs)) {
        const venueOrderId = t.order === undefined || t.order === null ? '' : String(t.order);
        if (venueOrderId !== '' && !clientIds.has(venueOrderId)) clientIds.set(venueOrderId, await this.clientIdOf(venueOrderId, sym));
        // the side as the venue gave it: one it did not give is no buy, and the engine's check of
        // a fill (fillProblem) must see that
        const o = { exchange: this.exchange, symbol: s, side: t.side, clientOrderId: clientIds.get(venueOrderId), qty: 0, filledQty: 0 } as unknown as Order;
        const r = this.fillReport(o, i, t, 0);
        if (typeof r === 'string') this.refuseFill(t, r);
        else out.push({ ...r, leavesQty: 0 });
      }
    }
    return out.sort((a, b) => a.ts - b.ts);
  }

  /** The client id of a venue order: the one we follow under it, else the venue's (fetchOrder); undefined when neither says. */
  private async clientIdOf(venueOrderId: string, sym: string): Promise<string | undefined> {
    for (const t of this.tracked.values()) if (t.venueOrderId === venueOrderId) return t.order.clientOrderId;
    let v: CcxtOrder;
    try {
      v = await this.read(this.ex!.fetchOrder(venueOrderId, sym));
    } catch (err) {
      if (mapCcxtError(this.exchange, err).reason === 'UNKNOWN_ORDER') return undefined;
      // a failed read fails the reconciliation: a trade of our own must not be booked as a stranger's
      throw err;
    }
    // another order's client id would book this trade onto the wrong order: a failed read
    if (!this.isAnswerFor(v, venueOrderId, undefined)) throw new Error(`${this.exchange}: fetchOrder for ${venueOrderId} answered about order ${v.id}`);
    return this.echoedClientId(v.clientOrderId);
  }

  /** Spot: the base asset's total balance, in lots (fetchBalance). */
  async positions(symbols: readonly string[]): Promise<VenuePosition[]> {
    if (!this.ex) return [];
    const bal = await this.read(this.ex.fetchBalance());
    const out: VenuePosition[] = [];
    for (const s of symbols) {
      const i = this.deps.instrument(s);
      if (!i) continue;
      const total = bal.total?.[i.base];
      const qty = total === undefined ? 0 : this.lotsFloor(i, total);
      out.push({ symbol: s, qty });
    }
    return out;
  }

  /** A balance need not sit on the lot grid (dust); it is floored to whole lots, exactly. */
  private lotsFloor(i: Instrument, v: number): number {
    const { mantissa, exponent } = parseDecimal(this.ex!.numberToString(v));
    const unit = i.qtyScale;
    // lots = floor(v / (unit.mantissa * 10^-unit.exponent)) with v = mantissa * 10^-exponent
    const num = mantissa * 10n ** BigInt(Math.max(0, unit.exponent - exponent));
    const den = unit.mantissa * 10n ** BigInt(Math.max(0, exponent - unit.exponent));
    return Number(num / den);
  }

  /** The ccxt symbols of the venue's markets we have an instrument for (each once). */
  private loadedCcxtSymbols(): string[] {
    const out = new Set<string>();
    for (const id of Object.keys(this.ex?.markets_by_id ?? {})) {
      if (!this.deps.instrument(id)) continue;
      const sym = this.deps.ccxtSymbol(id);
      if (sym !== undefined) out.add(sym);
    }
    return [...out];
  }

  private ourSymbol(ccxtSymbol: string): string | undefined {
    const m = this.ex?.markets_by_id;
    if (!m) return undefined;
    for (const [id, list] of Object.entries(m)) if (list.some((x) => x.symbol === ccxtSymbol) && this.deps.instrument(id)) return id;
    return undefined;
  }
}

/** ccxt's ExchangeError itself, not one of its subclasses (by name, as the kit's rule reads ccxt's classes). */
function isBareExchangeError(err: unknown): boolean {
  const e = err as { name?: unknown; constructor?: { name?: unknown } } | null | undefined;
  return e?.name === 'ExchangeError' || e?.constructor?.name === 'ExchangeError';
}

/** An order's identity across history pages: its id, or where it has none, what it is. */
function orderKey(v: CcxtOrder): string {
  if (hasId(v)) return `id:${String(v.id)}`;
  return `at:${String(v.clientOrderId)}|${String(v.timestamp)}|${String(v.side)}|${String(v.amount)}|${String(v.price)}`;
}

/** Oldest first (a stable sort: trades at one time keep the venue's order). */
function byTime(trades: CcxtMyTrade[]): CcxtMyTrade[] {
  return trades.sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
}

/** The venue's trade id; undefined where it gives none (ccxt hollaex, coinspot: `id` undefined). */
function venueTradeId(tr: CcxtMyTrade): string | undefined {
  return tr.id !== undefined && tr.id !== null && String(tr.id) !== '' ? String(tr.id) : undefined;
}

/** A trade's identity across pages: its id, or where the venue gives none, what it is (alike trades share it). */
function tradeKey(tr: CcxtMyTrade): string {
  const id = venueTradeId(tr);
  if (id !== undefined) return `id:${id}`;
  return `at:${String(tr.order)}|${String(tr.timestamp)}|${String(tr.price)}|${String(tr.amount)}|${String(tr.side)}`;
}

/**
 * Each trade's key in a listing of the symbol's trades from before the order on (as myTrades
 * reads it): its id, or for an id-less trade its tradeKey and which of the alike it is, so that
 * two fills alike in one millisecond are booked as two, and each once across reads.
 */
function tradeKeys(trades: readonly CcxtMyTrade[]): string[] {
  const alike = new Map<string, number>();
  return trades.map((tr) => {
    const key = tradeKey(tr);
    if (venueTradeId(tr) !== undefined) return key;
    const n = (alike.get(key) ?? 0) + 1;
    alike.set(key, n);
    return `${key}#${n}`;
  });
}

function statusOf(s: string | undefined): OrderStatus | undefined {
  switch (s) {
    case 'open':
      return 'open';
    case 'closed':
      return 'filled';
    case 'canceled':
    case 'cancelled':
    case 'expired':
      return 'cancelled';
    case 'rejected':
      return 'rejected';
    default:
      return undefined;
  }
}

/** An order a listing gave no time: its venue id with the time given it in its place (tradesFrom). */
function untimedKey(venueOrderId: string, createdTs: number): string {
  return `${venueOrderId}@${createdTs}`;
}

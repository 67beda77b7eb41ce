/**
 * Order execution over a venue's REST API where fills are learned by polling, optionally sped
 * up by the venue's private order stream (`stream`), with the polling kept as the safety net.
 * The venue-specific half is a small driver (request shapes, status names, error codes); this
 * half owns what every such venue shares and must get right once: the order-rate limit,
 * ack/fill/cancel/reject reports, each venue trade applied exactly once, submits whose outcome
 * is unknown (asked by client id until known, never assumed rejected), refused cancels (the
 * order is re-read, not assumed gone), and the reconciliation queries the engine runs after a
 * restart (queryOrder, tradesSince, positions, balances).
 *
 * The push path serves two kinds of venue stream through one sink (OrderUpdateSink):
 * - running totals without trade ids (Coinbase's `user` channel): `sink.order(view)`. The push
 *   says when, REST says what: a pushed state with nothing new filled is applied at once; a
 *   pushed filled quantity above what is booked reads that order's trades over REST right away
 *   (the pushed view stands in for the order read).
 * - one event per trade with its trade id and the order's cumulative quantity (Kraken's
 *   `executions` channel): `sink.execution(event)`. A trade is applied straight from the push
 *   when it is new (trade id) and continues the cumulative quantity exactly; one that does not
 *   add up (a trade missed, or counted under another id) is not applied: the order is read over
 *   REST instead, whose trade list is complete.
 * Either way a REST read a push asks for runs one at a time per order (pushes meanwhile ask for
 * one more read after it, not one each); a trade seen by push, poll and REST is booked once
 * (key: symbol + trade id); an order is not closed until every trade the venue counted is
 * booked; a push showing the order working before the create answer is its ack, and a failed
 * answer after that is no reject. `sink.reconcile(reason)` (after a reconnect, a sequence gap,
 * rejected input) polls every working order once, now; asked during a poll, it polls again
 * after it.
 */
import { BoundedIdSet } from '../domain/bounded-ids.js';
import { parseDecimal, priceToTicks, qtyToLots, type Instrument } from '../domain/instrument.js';
import { copyOrder, type ExecutionKind, type ExecutionReport, type Order, type TimeInForce } from '../domain/orders.js';
import type { Clock } from '../contracts/clock.js';
import type { ExecutionClient, OrderStatusReport, TradingAvailability, VenueBalance, VenuePosition } from '../contracts/exchange.js';
import type { Logger } from '../observability/logger.js';
import { LogThrottle } from '../observability/log-throttle.js';
import { redactCredentials, refusedByVenue, type MappedVenueError } from './errors.js';
import { feeToQuoteAtoms } from './fees.js';
import { RateLimiter } from './rate-limiter.js';
import { SerialReread } from './serial-reread.js';
import { TimerSet } from './timers.js';
import { gridUnits, isPlainDecimal, tradeValuesProblem } from './trade-check.js';
import { claimPriorTrades } from './prior-trades.js';

/** A venue order as the driver read it (decimal strings as the venue wrote them). */
export interface VenueOrderView {
  venueOrderId: string;
  clientOrderId?: string;
  symbol: string;
  side: 'buy' | 'sell';
  type: 'limit' | 'market';
  price?: string;
  qty: string;
  filledQty: string;
  state: 'pending' | 'open' | 'filled' | 'cancelled' | 'expired' | 'rejected';
  tif?: TimeInForce;
  createdTs?: number;
  /** The venue's reason for a reject/cancel/expiry, when it gives one. */
  text?: string;
  /** The order's trade ids, for venues that list them with the order (Kraken). */
  tradeIds?: string[];
}

/** One trade of one of our orders, with its real fee. */
export interface VenueFill {
  tradeId: string;
  venueOrderId: string;
  symbol: string;
  price: string;
  qty: string;
  /** Commission amount as a decimal string (a negative value is a rebate). */
  fee: string;
  /** The asset the fee was charged in; the instrument's quote when undefined. */
  feeAsset?: string;
  liquidity?: 'maker' | 'taker';
  /** Venue time, epoch ms. */
  ts: number;
  /** The order's side, for venues whose trade list names it (reports a trade whose order cannot be read). */
  side?: 'buy' | 'sell';
}

/**
 * What is wrong with a venue fill of an order on `i`, or undefined when nothing is: a trade id, a
 * positive price and quantity on the grid, a decimal fee (negative: a rebate), a time. Checked
 * before anything is booked from it, whether it was pushed or read over REST.
 */
export function venueFillProblem(i: Instrument, f: VenueFill): string | undefined {
  if (typeof f.tradeId !== 'string' || f.tradeId.length === 0) return 'a fill without a trade id';
  const values = tradeValuesProblem(i, f.price, f.qty);
  if (values !== undefined) return values;
  if (!isPlainDecimal(f.fee, true)) return `fee ${JSON.stringify(f.fee)?.slice(0, 40)} is not a decimal`;
  if (!Number.isFinite(f.ts)) return `fill time ${String(f.ts)} is not a number`;
  return undefined;
}

/** A derivatives position as the venue reports it: signed base quantity (short < 0), a decimal string. */
export interface VenuePositionView {
  symbol: string;
  qty: string;
}

export interface OrderRef {
  symbol: string;
  clientOrderId: string;
  venueOrderId?: string;
  /**
   * When the order was created (epoch ms, our clock's or the venue's), when known: a venue whose
   * closed-order history answers a recent span unless asked for another (Bybit) searches back to it.
   */
  createdTs?: number;
}

/**
 * What a driver's place() rejects with when a cancel stopped its create before the request left
 * (PolledOrderDriver.cancelUnsent): nothing was sent, so there is no outcome to look up. Known
 * by its name (isCancelledBeforeSend), so that a plugin that must also load on a core before API
 * 1.14 can throw its own Error named so instead of importing this class.
 */
export class CancelledBeforeSendError extends Error {
  override readonly name = 'CancelledBeforeSendError';
  constructor(clientOrderId: string) {
    super(`order ${clientOrderId} was cancelled before it was sent`);
  }
}

/** Whether `err` says a create was cancelled before it was sent (see CancelledBeforeSendError). */
export function isCancelledBeforeSend(err: unknown): boolean {
  return err instanceof CancelledBeforeSendError || (err instanceof Error && err.name === 'CancelledBeforeSendError');
}

/** The venue-specific half. Every method throws the venue's error (mapped by mapError) on refusal. */
export interface PolledOrderDriver {
  /** Creates the signed client; may send one signed request so a refused key shows at start. */
  connect(): Promise<void>;
  close(): void;
  /** Timers the driver holds (its own limiters); counted in the client's pendingTimers. */
  pendingTimers?(): number;
  /** Refuses what the venue cannot express (e.g. FOK) before anything is sent; undefined: fine. */
  unsupported?(o: Readonly<Order>): string | undefined;
  /**
   * Places the order; resolves with the venue's order id once the venue accepted it. Rejects with
   * CancelledBeforeSendError for a create that cancelUnsent stopped before its request left.
   */
  place(o: Readonly<Order>, i: Instrument): Promise<string>;
  /**
   * For a driver whose place() waits before its request leaves (its own rate counter, a reload):
   * whether o's create is still waiting inside place(), unsent. When it is, it is marked so that
   * it never leaves, and true is returned (again for a repeated call); place() then rejects with
   * CancelledBeforeSendError, as soon as it can. False: the request has left (or this driver
   * never saw the order), and the cancel goes to the venue. The client asks before anything else
   * of a cancel, and answers a true itself: the order reported cancelled, nothing sent about it.
   * Without it, a cancel overtaking such a create (a HALT's mass cancel goes first in line) is
   * refused by the venue as unknown, and the create goes out after it. Added in core API 1.14.
   */
  cancelUnsent?(o: Readonly<Order>): boolean;
  /** Asks the venue to cancel; resolves when the venue accepted the request. */
  cancel(o: Readonly<Order>): Promise<void>;
  /**
   * By venue id when known, else by client id; undefined when the venue does not know it. An
   * undefined answer must hold for the moment the lookup began (an order the venue held then is
   * found, even when the lookup takes several calls); the client judges it by that moment.
   */
  fetchOrder(ref: OrderRef): Promise<VenueOrderView | undefined>;
  /** Every trade of one order. */
  fetchFills(view: VenueOrderView): Promise<VenueFill[]>;
  fetchOpenOrders(symbols: readonly string[]): Promise<VenueOrderView[]>;
  /** The account's trades on these symbols at or after sinceTs (epoch ms). */
  fetchFillsSince(symbols: readonly string[], sinceTs: number): Promise<VenueFill[]>;
  fetchBalances(): Promise<VenueBalance[]>;
  /**
   * Derivatives venues: the account's positions on these symbols (several entries for one
   * symbol, e.g. hedge mode's long and short legs, are netted). Without it a position is the
   * base asset's spot balance.
   */
  fetchPositions?(symbols: readonly string[]): Promise<VenuePositionView[]>;
  mapError(err: unknown): MappedVenueError;
}

/**
 * One event about one of our orders from a venue's private stream whose events name trades
 * (Kraken's executions: trade id, and the order's cumulative quantity after it), in decimal
 * strings as the venue wrote them.
 */
export interface PushedExecution {
  venueOrderId: string;
  clientOrderId?: string;
  /** The order's symbol, when the event names it (checked against the order followed). */
  symbol?: string;
  /** The order's state after this event, when the event says. */
  state?: VenueOrderView['state'];
  /** The order's cumulative filled quantity after this event, when the event says. */
  filledQty?: string;
  /** The trade this event reports, with its fee. */
  fill?: VenueFill;
  /** The venue's reason for a cancel or expiry. */
  text?: string;
}

/**
 * What a push did: applied (or nothing to apply); a duplicate (its trade was already booked, by
 * any path); untracked (not an order we follow: someone else's, or already final); reconciling
 * (trades missing or not adding up: the order is being read over REST instead); invalid (a value
 * off the instrument's grid or past the order's size: nothing applied).
 */
export type PushOutcome = 'applied' | 'duplicate' | 'untracked' | 'reconciling' | 'invalid';

/** Where a venue's private order stream delivers what it learns (see PolledExecutionDeps.stream). */
export interface OrderUpdateSink {
  /**
   * A stream of running totals without trade ids (Coinbase): the whole order as pushed. Its
   * state is applied at once; a filled quantity above what is booked reads the order's trades.
   */
  order(v: VenueOrderView): PushOutcome;
  /** A stream whose events name trades (Kraken): applied directly where they add up, else the order is read. */
  execution(e: PushedExecution): PushOutcome;
  /**
   * The stream may have missed updates (a reconnect, a sequence gap, rejected input): poll every
   * working order once, now. Resolves when that poll has ended; never rejects.
   */
  reconcile(reason: string): Promise<void>;
}

/** A venue's private order stream beside the polling (started after the driver connects, stopped first). */
export interface OrderUpdateStream {
  start(sink: OrderUpdateSink): void | Promise<void>;
  stop(): void | Promise<void>;
  pendingTimers?(): number;
}

export interface PolledExecutionDeps {
  exchange: string;
  clock: Clock;
  logger?: Logger;
  /** False when no key is configured: market data only. */
  hasCredentials: boolean;
  driver: PolledOrderDriver;
  /** The budget creates and cancels share; cancels go first in line (ahead of queued creates). */
  orderLimit: { limit: number; intervalMs: number };
  pollIntervalMs: number;
  /**
   * After a submit with an unknown outcome, how long the venue must keep not knowing the client
   * id before the order counts as never received (the venue's request-expiry window plus margin).
   */
  unknownOrderGraceMs: number;
  /**
   * How long a venue rate-limit answer pauses what it was about: an answer to a create or cancel
   * pauses our order limiter; an answer to a read (a poll of an order, a read a push asked for)
   * pauses the polls. Default 1000.
   */
  rateLimitPauseMs?: number;
  /**
   * The venue counts reads and order requests against one budget (Coinbase: 30 private requests
   * a second per user): a rate-limit answer to a read pauses the order limiter too, since an
   * order sent then would be refused as well. Default false: the venue limits orders apart from
   * reads (Bybit: per UID per endpoint; Kraken: a trading counter apart from the REST counter),
   * and a limited read must not hold back a cancel the venue would take.
   */
  readsShareOrderRateLimit?: boolean;
  instrument(symbol: string): Instrument | undefined;
  symbols(): string[];
  /** The venue's private order stream, when it has one: updates in push, polling as the safety net. */
  stream?: OrderUpdateStream;
}

interface Tracked {
  order: Order;
  acked: boolean;
  /**
   * The lots of this order's trades booked here: each trade id marked applied (by a poll, a push,
   * queryOrder or tradesSince) counted once, never a venue total without its trades. An order's
   * end waits until this reaches the venue's filled quantity (syncOrder), so a trade marked
   * applied but not counted would hold the order open forever.
   */
  cumLots: number;
  /**
   * An order followed from a listing (openOrders): of the venue's filled quantity then, counted
   * in cumLots from the start, until its trades adding up to it are identified. Those trades were
   * made before this process followed the order and are never reported: the listing also names
   * orders the engine leaves alone (placed outside this process), whose earlier trades, made
   * before the journal began, are not ours to book. Each read of the order's trades marks the
   * earliest ones, up to this many lots, as booked (claimPriorTrades) until they add up.
   */
  priorLots?: number;
  /**
   * The keys (symbol|trade id) of the trades counted in cumLots or claimed as prior. The
   * account-wide set (applied) is bounded: an order open while 65,536 later trades are booked
   * would have its early trades reported again by a full read of its trades without this.
   * One key per trade of a working order, dropped with the order.
   */
  booked?: Set<string>;
  unknownSince?: number;
  /**
   * REST reads of this order that pushes asked for, one at a time: a pushed view (its trades are
   * read) or 'order' (the order itself is read; a queued 'order' wins over a later view).
   */
  pushReads?: SerialReread<VenueOrderView | 'order'>;
}


// BoundedIdSet moved to domain/bounded-ids.ts (O(1) eviction); still exported here for existing importers.
export { BoundedIdSet };

/** a + b of two decimal strings, exact (balances: free + locked). */
export function addDecimalStrings(a: string, b: string): string {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  const e = Math.max(x.exponent, y.exponent);
  const m = x.mantissa * 10n ** BigInt(e - x.exponent) + y.mantissa * 10n ** BigInt(e - y.exponent);
  if (e === 0) return m.toString();
  const neg = m < 0n;
  const s = (neg ? -m : m).toString().padStart(e + 1, '0');
  return `${neg ? '-' : ''}${s.slice(0, s.length - e)}.${s.slice(s.length - e)}`;
}

/** A balance as whole lots, rounded toward zero (dust below one lot is not a position). */
export function balanceToLots(i: Instrument, amount: string): number {
  const d = parseDecimal(amount);
  const shift = i.qtyScale.exponent - d.exponent;
  const num = shift >= 0 ? d.mantissa * 10n ** BigInt(shift) : d.mantissa;
  const den = (shift >= 0 ? 1n : 10n ** BigInt(-shift)) * i.qtyScale.mantissa;
  return Number(num / den);
}

/** How many orders knownOrders keeps (a restart's reconciliation reads its trades' orders right after queryOrder). */
const KNOWN_ORDERS = 4096;

const FINAL: ReadonlySet<VenueOrderView['state']> = new Set(['filled', 'cancelled', 'expired', 'rejected']);
const ORDER_STATES: ReadonlySet<unknown> = new Set<VenueOrderView['state']>(['pending', 'open', 'filled', 'cancelled', 'expired', 'rejected']);

/**
 * ExecutionClient over a PolledOrderDriver. Working orders are polled every pollIntervalMs (one
 * poll at a time); an order's trades are read only when its filled quantity grew, and each is
 * reported once (key: symbol + trade id, whichever path saw it first). Nothing here logs or
 * returns credentials: they live in the driver's signed client.
 */
export class PolledExecutionClient implements ExecutionClient {
  readonly exchange: string;
  readonly simulated = false;
  private onReport: ((r: ExecutionReport) => void) | undefined;
  private readonly timers = new TimerSet();
  private readonly orderLimiter: RateLimiter;
  private readonly tracked = new Map<string, Tracked>();
  private readonly applied = new BoundedIdSet();
  /** The order a poll cut short by the venue's read budget could not read: the next poll starts there. */
  private resumePollAt: string | undefined;
  private readonly finished = new BoundedIdSet();
  /**
   * Orders this client has read or followed, by venue order id (bounded, oldest dropped first):
   * a trade tradesSince reads names only its venue order, and when that order cannot be read
   * again the trade is still reported under the client id the engine journaled it by.
   */
  private readonly knownOrders = new Map<string, { clientOrderId: string; side: Order['side']; createdTs: number }>();
  /**
   * Creates waiting for the order budget, by client id; `cancelled` once a cancel was answered
   * here. Such a create has not left: its cancel sent to the venue is refused as unknown, and the
   * create goes out after it (a HALT's mass cancel, now first in line, overtakes the creates
   * queued before it), so the order worked at the venue after the kill switch. It is never sent.
   */
  private readonly queuedCreates = new Map<string, { cancelled: boolean }>();
  /**
   * Creates the driver stopped inside place() before they were sent (cancelUnsent), answered
   * cancelled here, by client id, until their place() settles: what it settles with is no news,
   * and a repeated cancel is answered by the first.
   */
  private readonly unsentCancels = new Set<string>();
  private connected = false;
  private stopped = false;
  /** The poll under way (one at a time): what a reconcile asked for during it waits on. */
  private pollRun: Promise<void> | undefined;
  /** A reconcile asked for while a poll was running: that poll may have read before what was missed. */
  private pollAgain = false;
  /** After a venue rate-limit answer to a read, polls wait until this clock time (ms). */
  private readsPausedUntil = 0;
  /**
   * Counters of the push path (tests, diagnostics): pushes about orders we follow, REST reads
   * of an order's trades a push asked for, reconcile polls asked for.
   */
  readonly pushStats = { updates: 0, fillFetches: 0, reconciles: 0 };
  /** Fills refused by venueFillProblem (pushed or read): never booked. */
  invalidFills = 0;
  /**
   * Order views read over REST that are not one of the order (filled quantity off the grid or past
   * the order, unknown state): not applied; and working orders listed off the grid (openOrders).
   */
  invalidViews = 0;
  private readonly refusedLog: LogThrottle;

  /** Refused venue input, running totals (ExecutionClient.inputRejections). */
  *inputRejections(): Generator<readonly [string, number]> {
    if (this.invalidFills > 0) yield ['fill', this.invalidFills] as const;
    if (this.invalidViews > 0) yield ['order_read', this.invalidViews] as const;
  }

  constructor(private readonly deps: PolledExecutionDeps) {
    this.refusedLog = new LogThrottle(() => deps.clock.now());
    this.exchange = deps.exchange;
    this.orderLimiter = new RateLimiter([{ name: 'orders', limit: deps.orderLimit.limit, intervalMs: deps.orderLimit.intervalMs }], () => deps.clock.now(), this.timers);
  }

  availability(): TradingAvailability {
    if (!this.deps.hasCredentials) return { canTrade: false, reason: 'no api_key/api_secret configured; market data only' };
    if (this.stopped) return { canTrade: false, reason: 'stopped' };
    return { canTrade: true };
  }

  async start(onReport: (r: ExecutionReport) => void): Promise<void> {
    this.onReport = onReport;
    this.stopped = false;
    this.timers.reopen();
    if (!this.availability().canTrade) return;
    try {
      await this.deps.driver.connect();
    } catch (err) {
      const m = this.deps.driver.mapError(err);
      // a refused key shows at start; orders are still attempted (the venue answers each one)
      this.deps.logger?.warn({ exchange: this.exchange, reason: m.reason }, redactCredentials(`signed request check failed at start: ${m.text}`));
    }
    this.connected = true;
    this.timers.interval(() => void this.pollTracked(), this.deps.pollIntervalMs);
    if (this.deps.stream) {
      try {
        await this.deps.stream.start({ order: (v) => this.pushed(v, v), execution: (e) => this.pushed(e), reconcile: (why) => this.reconcile(why) });
      } catch (err) {
        // the stream retries on its own; polling carries on meanwhile
        this.deps.logger?.warn({ exchange: this.exchange }, redactCredentials(`order stream did not start: ${(err as Error)?.message ?? String(err)}; polling continues`));
      }
    }
  }

  submit(order: Readonly<Order>): void {
    void this.place(copyOrder(order));
  }

  cancel(order: Readonly<Order>): void {
    void this.cancelOne(copyOrder(order));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.connected = false;
    await this.deps.stream?.stop();
    this.timers.close();
    this.deps.driver.close();
  }

  pendingTimers(): number {
    return this.timers.size + (this.deps.driver.pendingTimers?.() ?? 0) + (this.deps.stream?.pendingTimers?.() ?? 0);
  }

  /** Orders followed right now (tests, /status). */
  get workingOrders(): number {
    return this.tracked.size;
  }

  async openOrders(): Promise<Order[]> {
    if (!this.connected) return [];
    const out: Order[] = [];
    for (const v of await this.deps.driver.fetchOpenOrders(this.deps.symbols())) {
      let order: Order | undefined;
      try {
        order = this.orderFromView(v);
      } catch (err) {
        // One order off today's tick or lot grid (placed before the venue changed the pair's
        // grid, or by hand) must not fail the listing of every other working order: thrown, each
        // restart's reconciliation of the venue failed until someone cancelled it by hand.
        out.push(this.offGridListing(v, err));
        continue;
      }
      if (!order) continue;
      out.push(order);
      // Followed from now on, from the venue's filled quantity: only trades made from now on are
      // reported (priorLots). This listing names every working order of the account, also one
      // the engine leaves alone (an id it does not issue); followed from nothing booked, such an
      // order's trades from before the journal began were reported and booked onto the order
      // the engine adopted from one of its later trades: the position moved by the account's
      // history. An order the engine adopts it asks about next (queryOrder), which follows it
      // from the trades it hands over instead: its earlier trades are booked once each, by id.
      if (!this.tracked.has(order.clientOrderId)) {
        const tr: Tracked = { order: copyOrder(order), acked: true, cumLots: order.filledQty };
        if (order.filledQty > 0) tr.priorLots = order.filledQty;
        this.tracked.set(order.clientOrderId, tr);
      }
    }
    return out;
  }

  /** A fill in a reconciliation read that is not one: the read fails (a mismatch the operator sees), nothing of it is booked. */
  private checkReadFill(i: Instrument, f: VenueFill): void {
    const problem = venueFillProblem(i, f);
    if (problem === undefined) return;
    this.invalidFills++;
    throw new Error(`${this.exchange} ${i.symbol}: the venue's trade list holds a fill that is not one (${problem})`);
  }

  async queryOrder(order: Readonly<Order>): Promise<OrderStatusReport | undefined> {
    const i = this.deps.instrument(order.symbol);
    if (!this.connected || !i) throw new Error(`${this.exchange}: execution not started or unknown symbol ${order.symbol}`);
    const v = await this.deps.driver.fetchOrder({ symbol: order.symbol, clientOrderId: order.clientOrderId, venueOrderId: order.venueOrderId, createdTs: order.createdTs });
    if (!v) return undefined;
    const o = copyOrder(order);
    o.venueOrderId = v.venueOrderId;
    this.rememberOrder(o);
    const filledQty = qtyToLots(i, v.filledQty);
    const fills: ExecutionReport[] = [];
    const booked = new Set<string>();
    let cum = 0;
    // FILLED: its trades are read whatever its count says (see syncOrder)
    if (filledQty > 0 || v.state === 'filled') {
      for (const f of this.sortFills(await this.deps.driver.fetchFills(v))) {
        this.checkReadFill(i, f);
        const key = `${order.symbol}|${f.tradeId}`;
        // a trade listed twice (a driver joining several reads of the list) counts once, as applyFill's
        if (booked.has(key)) continue;
        cum += qtyToLots(i, f.qty);
        this.applied.add(key);
        booked.add(key);
        fills.push(this.fillReport(o, i, f, cum));
      }
    }
    // The venue's trade list can lag its order state. The order is then reported, and followed,
    // as far as the trades listed book it: the polls book the rest, and its end waits for them
    // (as syncOrder's). Following it from the venue's count would never ask for the missing trades.
    const lagging = cum < filledQty;
    if (lagging || !FINAL.has(v.state)) {
      o.filledQty = cum;
      this.tracked.set(o.clientOrderId, { order: o, acked: true, cumLots: cum, booked });
    } else this.untrack(o.clientOrderId);
    if (lagging) return { clientOrderId: order.clientOrderId, venueOrderId: v.venueOrderId, status: cum > 0 ? 'partially_filled' : 'open', filledQty: cum, fills };
    // FILLED's count may lag the trades read above (never the other way here): the trades say
    return { clientOrderId: order.clientOrderId, venueOrderId: v.venueOrderId, status: this.statusOf(v.state, cum, order.qty), filledQty: v.state === 'filled' ? cum : filledQty, fills };
  }

  async tradesSince(symbols: readonly string[], sinceTs: number): Promise<ExecutionReport[]> {
    if (!this.connected) return [];
    const out: ExecutionReport[] = [];
    const views = new Map<string, VenueOrderView | undefined>();
    /** Followed orders whose earlier trades this read has identified (claimPriorTrades). */
    const claimed = new Set<Tracked>();
    for (const f of this.sortFills(await this.deps.driver.fetchFillsSince(symbols, sinceTs))) {
      const i = this.deps.instrument(f.symbol);
      if (!i) continue;
      // a trade names its venue order; the client id (what the journal keys on) comes from the order
      const known = this.trackedFor(f.venueOrderId, undefined)?.order ?? this.knownOrders.get(f.venueOrderId);
      if (!views.has(f.venueOrderId)) views.set(f.venueOrderId, await this.deps.driver.fetchOrder({ symbol: f.symbol, clientOrderId: known?.clientOrderId ?? '', venueOrderId: f.venueOrderId, createdTs: known?.createdTs }));
      const v = views.get(f.venueOrderId);
      this.checkReadFill(i, f);
      const o = v ? this.orderFromView(v) : this.unreadOrder(f, i, known);
      if (!o) continue;
      // An order followed from a listing: which of its trades it had then is known only from its
      // own trade list (a trade here may be one of them, or one made since).
      const tr = this.readTradeOrder(f, o.clientOrderId);
      if (v && tr?.priorLots !== undefined && !claimed.has(tr)) {
        claimed.add(tr);
        this.claimPriorTrades(tr, i, this.sortFills(await this.deps.driver.fetchFills(v)));
      }
      // A trade first seen here of an order we follow (queryOrder put the journal's open orders
      // under follow just before) counts in that order's total, as a polled one would: the polls
      // skip it from now on, and its end waits for the total to reach the venue's filled quantity.
      // One the order had when it was listed is in its total already (claimed just above).
      if (this.markBooked(`${f.symbol}|${f.tradeId}`, tr) && tr) {
        tr.cumLots += qtyToLots(i, f.qty);
        tr.order.filledQty = tr.cumLots;
      }
      out.push({ ...this.fillReport(o, i, f, 0), cumQty: 0, leavesQty: 0 });
    }
    return out;
  }

  /**
   * A trade whose order the venue did not answer for (its history no longer reaches it, or it
   * lags): reported from what is known of the order (followed or read before here), else as the
   * venue order's own trade (the engine holds no such client id: a mismatch it books and shows).
   * Skipping it lost a fill of ours; with not even its side known the read fails instead.
   */
  private unreadOrder(f: VenueFill, i: Instrument, known: { clientOrderId: string; side: Order['side'] } | undefined): Order {
    const side = known?.side ?? f.side;
    if (side !== 'buy' && side !== 'sell') throw new Error(`${this.exchange} ${f.symbol}: trade ${f.tradeId} names order ${f.venueOrderId}, which the venue did not answer for, and not its side`);
    this.deps.logger?.warn({ exchange: this.exchange, venueOrderId: f.venueOrderId, tradeId: f.tradeId }, `${this.exchange} ${f.symbol}: the venue did not answer for order ${f.venueOrderId} of trade ${f.tradeId}; reported as ${known ? `a trade of ${known.clientOrderId}` : 'a trade of an order not known here'}`);
    const now = this.deps.clock.now();
    return {
      exchange: this.exchange, symbol: i.symbol, side, type: 'limit', qty: 0, tif: 'GTC', source: 'venue', clientOrderId: known?.clientOrderId || f.venueOrderId, venueOrderId: f.venueOrderId,
      status: 'filled', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: now, updatedTs: now,
    };
  }

  /** Keeps an order's venue id -> client id, side and creation time (see knownOrders). */
  private rememberOrder(o: Readonly<Order>): void {
    if (o.venueOrderId === undefined) return;
    this.knownOrders.delete(o.venueOrderId);
    this.knownOrders.set(o.venueOrderId, { clientOrderId: o.clientOrderId, side: o.side, createdTs: o.createdTs });
    if (this.knownOrders.size > KNOWN_ORDERS) this.knownOrders.delete(this.knownOrders.keys().next().value!);
  }

  /** The order we follow that a trade read by a reconciliation query belongs to, if any. */
  private readTradeOrder(f: VenueFill, clientOrderId: string): Tracked | undefined {
    const tr = this.trackedFor(f.venueOrderId, clientOrderId);
    // a client id seen again on another venue order, or another symbol: not the order we follow
    if (!tr || tr.order.symbol !== f.symbol || (tr.order.venueOrderId !== undefined && tr.order.venueOrderId !== f.venueOrderId)) return undefined;
    return tr;
  }

  /** An order followed from a listing: its earliest trades, up to what it had filled then, are booked already (prior-trades.ts). */
  private claimPriorTrades(tr: Tracked, i: Instrument, fills: readonly VenueFill[]): void {
    if (tr.priorLots === undefined) return;
    const lotsOf = (f: VenueFill): number | undefined => (f.symbol === tr.order.symbol && venueFillProblem(i, f) === undefined ? qtyToLots(i, f.qty) : undefined);
    if (claimPriorTrades(fills, tr.priorLots, lotsOf, (f) => this.markBooked(`${f.symbol}|${f.tradeId}`, tr))) delete tr.priorLots;
  }

  /** The venue's positions when the driver reads them (derivatives), else (spot) the base asset's balance, in whole lots. */
  async positions(symbols: readonly string[]): Promise<VenuePosition[]> {
    if (!this.connected) return [];
    if (this.deps.driver.fetchPositions) {
      const views = await this.deps.driver.fetchPositions(symbols);
      const out: VenuePosition[] = [];
      for (const symbol of symbols) {
        const i = this.deps.instrument(symbol);
        if (!i) continue;
        let qty = 0;
        for (const v of views) if (v.symbol === symbol) qty += balanceToLots(i, v.qty);
        out.push({ symbol, qty });
      }
      return out;
    }
    const balances = await this.deps.driver.fetchBalances();
    const out: VenuePosition[] = [];
    for (const symbol of symbols) {
      const i = this.deps.instrument(symbol);
      if (!i) continue;
      const b = balances.find((x) => x.asset === i.base);
      out.push({ symbol, qty: b ? balanceToLots(i, b.total) : 0 });
    }
    return out;
  }

  async balances(): Promise<VenueBalance[]> {
    if (!this.connected) return [];
    return this.deps.driver.fetchBalances();
  }

  // ---- reports ----------------------------------------------------------------------------

  private report(o: Order, r: Partial<ExecutionReport> & Pick<ExecutionReport, 'kind'>): void {
    if (this.stopped && r.kind !== 'cancelled') return;
    this.onReport?.({
      exchange: this.exchange, symbol: o.symbol, clientOrderId: o.clientOrderId, side: o.side, lastPrice: 0, lastQty: 0,
      leavesQty: o.qty - o.filledQty, cumQty: o.filledQty, feeAtoms: 0n, ts: this.deps.clock.now(), ...r,
    });
  }

  /** A venue rate-limit answer to a create or cancel: orders wait. */
  private pauseOrdersOnRateLimit(m: MappedVenueError): void {
    if (m.reason === 'RATE_LIMITED') this.orderLimiter.blockUntil(this.deps.clock.now() + (this.deps.rateLimitPauseMs ?? 1000));
  }

  /**
   * A venue rate-limit answer to a read: the polls wait (the reads' own budget). Orders wait too
   * only where the venue counts both against one budget (readsShareOrderRateLimit): elsewhere a
   * pause here, renewed by every poll while reads stay limited, would hold back every cancel.
   */
  private pauseReadsOnRateLimit(m: MappedVenueError): void {
    if (m.reason !== 'RATE_LIMITED') return;
    this.readsPausedUntil = Math.max(this.readsPausedUntil, this.deps.clock.now() + (this.deps.rateLimitPauseMs ?? 1000));
    if (this.deps.readsShareOrderRateLimit) this.pauseOrdersOnRateLimit(m);
  }

  private reject(o: Order, err: unknown): void {
    const m = this.deps.driver.mapError(err);
    this.pauseOrdersOnRateLimit(m);
    this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId, reason: m.reason }, redactCredentials(m.text));
    this.tracked.delete(o.clientOrderId);
    this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: m.reason, text: m.text, leavesQty: 0 });
  }

  private ack(tr: Tracked, venueOrderId: string): void {
    tr.order.venueOrderId = venueOrderId;
    tr.unknownSince = undefined;
    if (tr.acked) return;
    tr.acked = true;
    this.report(tr.order, { kind: 'ack', venueOrderId, leavesQty: tr.order.qty - tr.cumLots });
  }

  private untrack(cid: string): void {
    const tr = this.tracked.get(cid);
    if (tr) this.rememberOrder(tr.order);
    if (!this.tracked.delete(cid)) return;
    this.finished.add(cid);
  }

  private sortFills(list: VenueFill[]): VenueFill[] {
    return [...list].sort((a, b) => a.ts - b.ts);
  }

  private fillReport(o: Order, i: Instrument, f: VenueFill, cumQty: number): ExecutionReport {
    const lastPrice = priceToTicks(i, f.price);
    const lastQty = qtyToLots(i, f.qty);
    const feeAsset = f.feeAsset || i.quote;
    const fee = feeToQuoteAtoms(i, f.fee, feeAsset, lastPrice);
    const r: ExecutionReport = {
      kind: 'fill', exchange: this.exchange, symbol: o.symbol, clientOrderId: o.clientOrderId, venueOrderId: o.venueOrderId ?? f.venueOrderId, side: o.side,
      lastPrice, lastQty, cumQty, leavesQty: Math.max(0, o.qty - cumQty), feeAtoms: fee ?? 0n, feeAsset, tradeId: f.tradeId, ts: f.ts,
    };
    if (f.liquidity) r.liquidity = f.liquidity;
    // a fee in a third asset has no price here: reported by asset and amount instead
    if (fee === undefined) r.text = `fee ${f.fee} ${feeAsset}`;
    return r;
  }

  /**
   * Marks a trade booked, account-wide and (when it belongs to an order we follow) in that
   * order's own set; false when it already was in either (the bounded account-wide window may
   * have forgotten an old trade of a long-lived order: its own set has not).
   */
  private markBooked(key: string, tr: Tracked | undefined): boolean {
    const fresh = this.applied.add(key);
    if (!tr) return fresh;
    tr.booked ??= new Set();
    if (tr.booked.has(key)) return false;
    tr.booked.add(key);
    return fresh;
  }

  private applyFill(tr: Tracked, f: VenueFill): void {
    const o = tr.order;
    const i = this.deps.instrument(o.symbol);
    if (!i) return;
    const problem = venueFillProblem(i, f);
    if (problem !== undefined) {
      // never booked, its trade id not used up: the order is not ended before its trades add up (syncOrder)
      this.invalidFills++;
      const more = this.refusedLog.take('fill');
      if (more !== undefined) this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId }, redactCredentials(`${this.exchange} ${o.symbol}: a fill of order ${o.clientOrderId} refused: ${problem}`).slice(0, 500) + more);
      return;
    }
    const key = `${o.symbol}|${f.tradeId}`;
    if (this.applied.has(key) || tr.booked?.has(key)) {
      this.markBooked(key, tr); // booked before: kept in the order's own set as well
      return;
    }
    const lots = qtyToLots(i, f.qty);
    if (tr.cumLots + lots > o.qty) {
      // A trade that takes the order past its size is no fill of it (a list naming one trade too
      // many, or a larger one): booked, the position would hold lots the order never asked for.
      // Refused as a fill that is not one; its id is not used up, so the true trade under it (a
      // later, honest read) still books, and a FILLED order is not ended short while it stands.
      this.invalidFills++;
      const more = this.refusedLog.take('fill');
      if (more !== undefined) this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId }, redactCredentials(`${this.exchange} ${o.symbol}: a fill of order ${o.clientOrderId} refused: trade ${String(f.tradeId).slice(0, 80)} of ${lots} lots would fill ${tr.cumLots + lots} of ${o.qty}`).slice(0, 500) + more);
      return;
    }
    this.markBooked(key, tr);
    tr.cumLots += lots;
    o.filledQty = tr.cumLots;
    this.report(o, this.fillReport(o, i, f, tr.cumLots));
  }

  private applyState(tr: Tracked, v: Pick<VenueOrderView, 'state' | 'text'>): void {
    if (!FINAL.has(v.state)) return;
    if (this.tracked.get(tr.order.clientOrderId) !== tr) return; // already final
    this.untrack(tr.order.clientOrderId);
    const o = tr.order;
    // filled in full: its last fill report already said leavesQty 0
    if (v.state === 'filled' && tr.cumLots >= o.qty) return;
    // FILLED short of the order's size (syncOrder reached it only after the order's trades were
    // read and still fell short): the venue will trade no more of it. Ended quietly, the engine's
    // order stayed partially filled for good, its remainder counted as open exposure.
    const kind: ExecutionKind = v.state === 'rejected' ? 'rejected' : v.state === 'expired' || v.state === 'filled' ? 'expired' : 'cancelled';
    const r: Partial<ExecutionReport> & Pick<ExecutionReport, 'kind'> = { kind, leavesQty: 0, cumQty: tr.cumLots, venueOrderId: o.venueOrderId };
    if (v.state === 'filled') {
      r.text = `${this.exchange} closed the order filled at ${tr.cumLots} of ${o.qty} lots`;
      this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId }, `${o.symbol}: ${r.text}; reported expired`);
    } else if (kind === 'rejected') {
      r.rejects = 'order';
      r.rejectReason = 'VENUE_ERROR';
      r.text = v.text ?? `${this.exchange}: rejected by the venue`;
    } else if (v.text) r.text = v.text;
    this.report(o, r);
  }

  // ---- orders -----------------------------------------------------------------------------

  private async place(o: Order): Promise<void> {
    const i = this.deps.instrument(o.symbol);
    if (!this.connected || !i) {
      this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: this.connected ? 'INVALID_ORDER' : 'NO_CREDENTIALS', text: this.connected ? `unknown instrument ${o.symbol}` : 'execution not started', leavesQty: 0 });
      return;
    }
    const refusal = this.deps.driver.unsupported?.(o);
    if (refusal) {
      this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: 'INVALID_ORDER', text: `${this.exchange}: ${refusal}`, leavesQty: 0 });
      return;
    }
    const queued = { cancelled: false };
    this.queuedCreates.set(o.clientOrderId, queued);
    try {
      await this.orderLimiter.acquire({ orders: 1 });
    } catch (err) {
      // answered cancelled already: a second, final report would contradict it
      if (!queued.cancelled) this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: 'RATE_LIMITED', text: `${this.exchange}: ${(err as Error).message}`, leavesQty: 0 });
      return;
    } finally {
      // from here on the create has left (driver.place is called in this same turn): a cancel
      // takes the venue's path
      if (this.queuedCreates.get(o.clientOrderId) === queued) this.queuedCreates.delete(o.clientOrderId);
    }
    if (queued.cancelled) return;
    if (!this.connected) return; // stopped while waiting
    const tr: Tracked = { order: o, acked: false, cumLots: 0 };
    this.tracked.set(o.clientOrderId, tr);
    try {
      const venueOrderId = await this.deps.driver.place(o, i);
      if (this.unsentCancels.delete(o.clientOrderId)) {
        // The driver said this create would never leave, and its cancel was answered: yet the
        // venue took it. Working there and no longer followed here, it is cancelled at once.
        o.venueOrderId = venueOrderId;
        this.deps.logger?.error({ exchange: this.exchange, clientOrderId: o.clientOrderId }, `order ${o.clientOrderId} placed after its driver answered it unsent (a driver fault); cancelling ${venueOrderId} at the venue`);
        void this.orderLimiter
          .acquire({ orders: 1 }, { priority: true })
          .then(() => this.deps.driver.cancel(o))
          .catch((err: unknown) => this.deps.logger?.error({ exchange: this.exchange, clientOrderId: o.clientOrderId }, redactCredentials(`cancel of ${venueOrderId} failed: ${this.deps.driver.mapError(err).text}`)));
        return;
      }
      this.ack(tr, venueOrderId);
    } catch (err) {
      // answered cancelled when its cancel came: nothing was sent, whatever place() ended with
      if (this.unsentCancels.delete(o.clientOrderId)) return;
      if (isCancelledBeforeSend(err)) {
        // the driver stopped it by itself: one cancelled report, no lookup (nothing was sent)
        if (this.tracked.get(o.clientOrderId) === tr && !tr.acked) {
          this.untrack(o.clientOrderId);
          this.report(o, this.unsentCancelReport());
        }
        return;
      }
      const m = this.deps.driver.mapError(err);
      const text = `${(err as Error)?.name ?? ''} ${(err as Error)?.message ?? String(err)}`;
      if (tr.acked) {
        // the venue's own stream already showed the order working: the failed answer is not a reject
        this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId }, redactCredentials(`order submit answered with an error (${m.text}) after the venue pushed it as working; following the venue`));
        return;
      }
      // only the venue's own refusal ends the order here: after anything else it may be working
      if (!refusedByVenue(err, m)) {
        // counted from now, not from the send: a driver may spend a while before its request goes out
        // (a Kraken AssetPairs reload), and the venue honours the request until its own deadline
        tr.unknownSince = this.deps.clock.now();
        this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId }, redactCredentials(`order submit outcome unknown (${text.trim()}); asking the venue by client id`));
        void this.resolveUnknown(tr);
      } else this.reject(o, err);
    }
  }

  /**
   * Asks by client id until known; "unknown" is final only after unknownOrderGraceMs. The verdict
   * is judged by when the lookup began, not when its answer came: a lookup can take long (a
   * driver's several calls, each waiting for the venue's request budget), and its answer says
   * only that the order was not there when the venue was asked. Judged at the answer, an order
   * the venue took after the lookup began (before its own deadline) was declared never received
   * while it worked there.
   */
  private async resolveUnknown(tr: Tracked): Promise<void> {
    const o = tr.order;
    while (!this.stopped && tr.unknownSince !== undefined && this.tracked.get(o.clientOrderId) === tr) {
      try {
        const askedAt = this.deps.clock.now();
        const v = await this.deps.driver.fetchOrder({ symbol: o.symbol, clientOrderId: o.clientOrderId, createdTs: o.createdTs });
        if (v) {
          this.ack(tr, v.venueOrderId);
          await this.syncOrder(tr, v);
          return;
        }
        if (askedAt > tr.unknownSince + this.deps.unknownOrderGraceMs) {
          this.tracked.delete(o.clientOrderId);
          this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: 'VENUE_ERROR', text: `${this.exchange}: the order never reached the venue (submit failed; unknown by client id ${this.deps.unknownOrderGraceMs} ms later)`, leavesQty: 0 });
          return;
        }
      } catch (err) {
        this.deps.logger?.debug({ exchange: this.exchange }, redactCredentials(`order query by client id failed: ${(err as Error).message}`));
      }
      await this.timers.sleep(Math.min(1000, Math.max(50, this.deps.pollIntervalMs)));
    }
  }

  private async cancelOne(o: Order): Promise<void> {
    const queued = this.queuedCreates.get(o.clientOrderId);
    if (queued !== undefined) {
      // its create is still waiting for the budget: cancelled here, with no request to the venue
      // (which does not know it). Marked now, so the create cannot leave; reported a turn later,
      // as a venue's answer comes, not inside the engine's cancel(). The create's place in line
      // still spends its slot when its turn comes (a waiter cannot leave the limiter's line).
      if (queued.cancelled) return;
      queued.cancelled = true;
      await Promise.resolve();
      this.report(o, { kind: 'cancelled', leavesQty: 0, cumQty: 0, text: `${this.exchange}: cancelled before it was sent (it was waiting for the order rate limit)` });
      return;
    }
    // answered when its first cancel came: its create is never sent
    if (this.unsentCancels.has(o.clientOrderId)) return;
    if (!this.connected) {
      this.report(o, { kind: 'rejected', rejects: 'request', rejectReason: 'NO_CREDENTIALS', text: 'execution not started', leavesQty: 0 });
      return;
    }
    const waiting = this.tracked.get(o.clientOrderId);
    // Its create has left the kit but may still wait inside the driver (a venue counter of its
    // own): asked before the budget is waited for, which the create could leave during. Answered
    // here as one still in the kit's line is; place() ends it silently.
    if (waiting !== undefined && !waiting.acked && waiting.unknownSince === undefined && this.deps.driver.cancelUnsent?.(o) === true) {
      this.unsentCancels.add(o.clientOrderId);
      this.untrack(o.clientOrderId);
      await Promise.resolve();
      this.report(o, this.unsentCancelReport());
      return;
    }
    try {
      // first in line: a cancel (each of a HALT's mass cancel) must not wait behind the creates
      // queued before it, which would only add exposure to cancel in turn. The budget and a
      // venue pause still bind it.
      await this.orderLimiter.acquire({ orders: 1 }, { priority: true });
      await this.deps.driver.cancel(o);
    } catch (err) {
      const m = this.deps.driver.mapError(err);
      this.pauseOrdersOnRateLimit(m);
      this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId, reason: m.reason }, redactCredentials(`cancel refused: ${m.text}`));
      // a refused cancel leaves the order as it was (it may have filled meanwhile): keep
      // following it and learn its real state from the venue
      this.report(o, { kind: 'rejected', rejects: 'request', rejectReason: m.reason, text: m.text });
      const tr = this.tracked.get(o.clientOrderId);
      if (tr) await this.syncOrder(tr).catch(() => {});
      return;
    }
    // accepted; the fills before it and the final state come from the order itself. A read
    // failing here is a read's failure (the polls retry it), not a refused cancel.
    const tr = this.tracked.get(o.clientOrderId);
    if (!tr) return;
    try {
      await this.syncOrder(tr);
    } catch (err) {
      const m = this.deps.driver.mapError(err);
      this.pauseReadsOnRateLimit(m);
      this.deps.logger?.debug({ exchange: this.exchange }, redactCredentials(`order read after an accepted cancel failed: ${m.text}; the next poll retries`));
    }
  }

  /** A create stopped inside the driver before it was sent, cancelled. */
  private unsentCancelReport(): Partial<ExecutionReport> & Pick<ExecutionReport, 'kind'> {
    return { kind: 'cancelled', leavesQty: 0, cumQty: 0, text: `${this.exchange}: cancelled before it was sent (it was waiting for the venue's rate counter in the driver)` };
  }

  /** Brings one tracked order up to the venue's state: its trades (with fees), then its status. */
  private async syncOrder(tr: Tracked, known?: VenueOrderView): Promise<void> {
    const o = tr.order;
    const i = this.deps.instrument(o.symbol);
    if (!i) return;
    // with its creation time, as queryOrder asks: a venue whose history answers only a recent span
    // unless told where to look (Bybit: 7 days) no longer found an order resting longer, and its
    // fills were never booked, nor its end
    const v = known ?? (await this.deps.driver.fetchOrder({ symbol: o.symbol, clientOrderId: o.clientOrderId, venueOrderId: o.venueOrderId, createdTs: o.createdTs }));
    if (!v) return;
    const venueLots = gridUnits(v.filledQty, i.qtyScale);
    if (venueLots === undefined || venueLots > o.qty || !ORDER_STATES.has(v.state)) {
      // a view that is not one of this order: nothing of it applied; the next poll reads again
      this.invalidViews++;
      const more = this.refusedLog.take('view');
      if (more !== undefined) this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId }, redactCredentials(`${this.exchange} ${o.symbol}: order ${o.clientOrderId} read as filled ${JSON.stringify(v.filledQty)?.slice(0, 40)} of ${o.qty} lots, state ${JSON.stringify(v.state)?.slice(0, 20)}: not applied`).slice(0, 500) + more);
      return;
    }
    // FILLED says the whole order traded, whatever count comes with it: its trade list may hold
    // trades that count lags, so it is read before the order is judged filled short
    const filledShort = (): boolean => v.state === 'filled' && tr.cumLots < o.qty;
    const refusedBefore = this.invalidFills;
    if (venueLots > tr.cumLots || filledShort()) {
      const fills = this.sortFills(await this.deps.driver.fetchFills(v));
      this.claimPriorTrades(tr, i, fills);
      for (const f of fills) this.applyFill(tr, f);
    }
    // a final state closes the order: not before every trade the venue counted is booked (its
    // trade list can lag its order state); the next poll looks again
    if (FINAL.has(v.state) && tr.cumLots < venueLots) return;
    if (filledShort()) {
      // Ending short is final and reported: not while a listed trade was refused (it may be the
      // rest), and only on the venue's REST word, not a pushed view (the push says when, REST what)
      if (this.invalidFills > refusedBefore) return;
      if (known) return this.syncOrder(tr);
    }
    this.applyState(tr, v);
  }

  // ---- push (the venue's private order stream) ----------------------------------------------

  /** Finds the followed order an event is about (client id first, then venue id). */
  private trackedFor(venueOrderId: string, clientOrderId: string | undefined): Tracked | undefined {
    if (clientOrderId) {
      const tr = this.tracked.get(clientOrderId);
      if (tr) return tr;
    }
    for (const tr of this.tracked.values()) if (tr.order.venueOrderId === venueOrderId) return tr;
    return undefined;
  }

  /**
   * One pushed event (`view`: the whole order, from a stream of running totals). Values are
   * checked before anything is applied; never throws.
   */
  private pushed(e: PushedExecution, view?: VenueOrderView): PushOutcome {
    if (this.stopped || !this.connected) return 'untracked';
    const tr = this.trackedFor(e.venueOrderId, e.clientOrderId);
    // a client id seen again on another venue order, or another symbol: not the order we follow
    if (!tr || (tr.order.venueOrderId !== undefined && tr.order.venueOrderId !== e.venueOrderId)) return 'untracked';
    if (e.symbol !== undefined && e.symbol !== tr.order.symbol) return 'untracked';
    const i = this.deps.instrument(tr.order.symbol);
    if (!i) return 'untracked';
    this.pushStats.updates++;
    let cum: number | undefined;
    let lots = 0;
    try {
      if (e.filledQty !== undefined) cum = qtyToLots(i, e.filledQty);
      if (e.fill) {
        if (e.fill.symbol !== tr.order.symbol || e.fill.venueOrderId !== e.venueOrderId || venueFillProblem(i, e.fill) !== undefined) return 'invalid';
        lots = qtyToLots(i, e.fill.qty);
      }
    } catch {
      return 'invalid';
    }
    if (cum !== undefined && !(cum >= 0 && cum <= tr.order.qty)) return 'invalid';
    if (!tr.acked) {
      // before the answer to our create request: the order working (or trading) is the ack; a
      // reject or a pending state is left to that answer (or to the by-client-id resolution)
      if (e.state === 'pending' || e.state === 'rejected') return 'applied';
      this.ack(tr, e.venueOrderId);
    }
    let outcome: PushOutcome = 'applied';
    if (e.fill) {
      const key = `${tr.order.symbol}|${e.fill.tradeId}`;
      if (this.applied.has(key) || tr.booked?.has(key)) outcome = 'duplicate';
      // with a cumulative quantity the trade must continue it exactly; without one only an overfill shows
      else if (cum === undefined ? tr.cumLots + lots <= tr.order.qty : tr.cumLots + lots === cum) this.applyFill(tr, e.fill);
      else return this.readPushed(tr, i, 'order');
    }
    // what the venue counts as filled: the pushed total, all of it for a filled order
    const venueLots = Math.max(cum ?? 0, e.state === 'filled' ? tr.order.qty : 0);
    // trades not booked yet: REST has them (a state waits for them; see syncOrder)
    if (venueLots > tr.cumLots) return this.readPushed(tr, i, view ?? 'order');
    // an end that does not say how much filled (Kraken's cum_qty is optional) may have overtaken
    // a trade still on its way: REST says what was filled, and syncOrder ends the order only once
    // its trades add up. Closed from the push, a trade behind it would find the order untracked.
    if (e.state !== undefined && e.state !== 'filled' && FINAL.has(e.state) && cum === undefined) return this.readPushed(tr, i, view ?? 'order');
    if (e.state) {
      const v: Pick<VenueOrderView, 'state' | 'text'> = { state: e.state };
      if (e.text !== undefined) v.text = e.text;
      this.applyState(tr, v);
    }
    return outcome;
  }

  /**
   * A REST read a push asked for: the order's trades, then its state (syncOrder). One at a time
   * per order: a burst of pushes costs one more read after the one in flight, not one each.
   */
  private readPushed(tr: Tracked, i: Instrument, want: VenueOrderView | 'order'): PushOutcome {
    tr.pushReads ??= new SerialReread<VenueOrderView | 'order'>(
      async (next) => {
        if (this.stopped || this.tracked.get(tr.order.clientOrderId) !== tr) return false;
        try {
          // a view queued behind a read may need nothing fetched by then (syncOrder applies its state)
          if (next === 'order' || qtyToLots(i, next.filledQty) > tr.cumLots) this.pushStats.fillFetches++;
          await this.syncOrder(tr, next === 'order' ? undefined : next);
        } catch (err) {
          const m = this.deps.driver.mapError(err);
          this.pauseReadsOnRateLimit(m);
          this.deps.logger?.debug({ exchange: this.exchange }, redactCredentials(`order read after a pushed update failed: ${m.text}; the next poll retries`));
        }
        return true;
      },
      (queued, w) => (queued === 'order' ? 'order' : w),
    );
    tr.pushReads.request(want);
    return 'reconciling';
  }

  /**
   * Polls every working order once, now, whatever the interval (after a stream reconnect or
   * gap). Asked during a poll, it polls again after it (that poll may have read an order before
   * what the stream missed). Resolves when the poll it asked for has ended; never rejects.
   */
  reconcile(reason: string): Promise<void> {
    if (this.stopped || !this.connected) return Promise.resolve();
    this.pushStats.reconciles++;
    this.deps.logger?.debug({ exchange: this.exchange }, `reconciling working orders by one poll: ${reason}`);
    if (this.pollRun) {
      this.pollAgain = true;
      return this.pollRun;
    }
    return this.pollTracked();
  }

  /** One poll of every working order; while one runs, the running one is returned. */
  private pollTracked(): Promise<void> {
    if (this.pollRun) return this.pollRun;
    if (!this.connected || this.tracked.size === 0) return Promise.resolve();
    this.pollAgain = false;
    // `finally` runs after pollRun is set (always a later microtask) and waits for the poll again
    const run = this.pollOnce().finally((): Promise<void> | undefined => {
      this.pollRun = undefined;
      return this.pollAgain && !this.stopped ? this.pollTracked() : undefined;
    });
    this.pollRun = run;
    return run;
  }

  private async pollOnce(): Promise<void> {
    // A poll the venue's read budget cut short resumes at the order it could not read: starting
    // from the first followed order each time, the orders behind the budget were never read
    // (their fills and cancel confirmations never learned).
    const all = [...this.tracked.values()];
    const at = this.resumePollAt === undefined ? -1 : all.findIndex((t) => t.order.clientOrderId === this.resumePollAt);
    const round = at > 0 ? [...all.slice(at), ...all.slice(0, at)] : all;
    for (const tr of round) {
      if (this.stopped) return;
      // the venue limited our reads: the rest of this poll, and polls until the pause ends, wait
      if (this.deps.clock.now() < this.readsPausedUntil) {
        this.resumePollAt = tr.order.clientOrderId;
        return;
      }
      if (!tr.acked) continue; // its submit is in flight, or being resolved by client id
      try {
        await this.syncOrder(tr);
      } catch (err) {
        const m = this.deps.driver.mapError(err);
        this.pauseReadsOnRateLimit(m);
        this.deps.logger?.debug({ exchange: this.exchange }, redactCredentials(`order poll failed: ${m.text}`));
        if (this.deps.clock.now() < this.readsPausedUntil) {
          this.resumePollAt = tr.order.clientOrderId;
          return;
        }
      }
    }
    this.resumePollAt = undefined;
  }

  /** `filled` and `qty` in lots: FILLED short of the order's size is the venue ending it short, as an expiry does. */
  private statusOf(state: VenueOrderView['state'], filled: number, qty: number): Order['status'] {
    if (state === 'filled') return filled >= qty ? 'filled' : 'cancelled';
    if (state === 'cancelled' || state === 'expired') return 'cancelled';
    if (state === 'rejected') return 'rejected';
    return filled > 0 ? 'partially_filled' : 'open';
  }

  /**
   * A listed order whose values are off its instrument's grid (openOrders), as the ccxt adapter
   * lists one: at qty 0, nothing filled, for the engine's check of a listed order to report
   * (venueOrderProblem: a mismatch, left alone, never adopted); its price only where it is on the
   * grid. Not followed: no poll can read it in lots either. Counted as a refused order read.
   */
  private offGridListing(v: VenueOrderView, err: unknown): Order {
    const i = this.deps.instrument(v.symbol);
    if (!i) throw err;
    this.invalidViews++;
    const more = this.refusedLog.take('listing');
    if (more !== undefined) this.deps.logger?.warn({ exchange: this.exchange, venueOrderId: v.venueOrderId }, redactCredentials(`${this.exchange} ${i.symbol}: working order ${String(v.clientOrderId || v.venueOrderId).slice(0, 80)} (${String(v.qty).slice(0, 40)} at ${String(v.price).slice(0, 40)}) is off the instrument's grid (${(err as Error)?.message ?? String(err)}): listed at quantity 0, for reconciliation to report; not followed`).slice(0, 500) + more);
    let price: number | undefined;
    try {
      price = v.price !== undefined && parseDecimal(v.price).mantissa > 0n ? priceToTicks(i, v.price) : undefined;
    } catch {
      price = undefined;
    }
    const now = this.deps.clock.now();
    return {
      exchange: this.exchange, symbol: i.symbol, side: v.side, type: v.type, ...(price !== undefined ? { price } : {}), qty: 0, tif: v.tif ?? 'GTC', source: 'venue',
      clientOrderId: v.clientOrderId || v.venueOrderId, venueOrderId: v.venueOrderId, status: 'open', filledQty: 0,
      filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: v.createdTs ?? now, updatedTs: now,
    };
  }

  private orderFromView(v: VenueOrderView): Order | undefined {
    const i = this.deps.instrument(v.symbol);
    if (!i) return undefined;
    const now = this.deps.clock.now();
    const filledQty = qtyToLots(i, v.filledQty || '0');
    const qty = qtyToLots(i, v.qty);
    return {
      exchange: this.exchange, symbol: i.symbol, side: v.side, type: v.type,
      price: v.price !== undefined && parseDecimal(v.price).mantissa > 0n ? priceToTicks(i, v.price) : undefined, qty, tif: v.tif ?? 'GTC', source: 'venue',
      clientOrderId: v.clientOrderId || v.venueOrderId, venueOrderId: v.venueOrderId, status: this.statusOf(v.state, filledQty, qty), filledQty,
      filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: v.createdTs ?? now, updatedTs: now,
    };
  }
}

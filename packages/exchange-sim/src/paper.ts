/**
 * Paper execution against the venue's own book (synthetic or replayed). Orders and cancels
 * arrive `latencyMs` after they are sent (virtual time); everything that happens to them comes
 * back as ExecutionReports. Money is integer: fills in ticks x lots, fees in bigint quote atoms
 * rounded up. No wall clock, no randomness: deterministic for a given market and order flow.
 */
import {
  copyOrder,
  feeAtoms,
  minNotionalAtoms,
  notionalAtoms,
  parseDecimal,
  type BookLevel,
  type ExecutionReport,
  type Instrument,
  type Order,
  type OrderStatusReport,
  type RejectReason,
  type TradeEvent,
} from '@cwts/core';
import {
  CancelCause,
  L2Book,
  MATCH_REJECT_REASONS,
  MatchingEngine,
  MatchEventKind,
  MatchReject,
  MatchSide,
  MatchStatus,
  OrderKind,
  StpMode,
  type MatchSideCode,
  type OrderKindCode,
} from '@cwts/core/microstructure';

import { OrderHistory } from './order-history.js';

export interface PaperVenue {
  readonly exchange: string;
  instrument(symbol: string): Instrument | undefined;
  /** The venue's L2 book (core's L2Book): the liquidity marketable paper orders take. */
  book(symbol: string): L2Book | undefined;
  /** Liquidity taken by a paper order (already applied to the book): publish it if the source wants to. */
  onLiquidityTaken(symbol: string, ts: number, bids: BookLevel[], asks: BookLevel[]): void;
}

export interface PaperSettings {
  latencyMs: number;
  /** Basis points as decimal strings ("2", "0.75", "-0.5" for a rebate). */
  makerFeeBps: string;
  takerFeeBps: string;
}

interface Working {
  order: Order;
  venueOrderId: string;
  /** Numeric id in the matching engines (clientOrderIds are mapped to it at the edge). */
  id: number;
  leaves: number;
  cum: number;
  seq: number;
  /** Venue time the order reached the venue: a trade printed before it cannot have filled it. */
  arrivedTs: number;
}

interface Pending {
  arriveTs: number;
  kind: 'new' | 'cancel' | 'duplicate';
  order: Order;
  /** Its place among every request this venue was sent (requestsSent when it was queued). */
  n: number;
}

// Fees are core's feeAtoms, re-exported for existing importers of this module.
export { feeAtoms };

/** Owner of every paper order in the resting engines (self-trade prevention applies among them). */
const OWN = 1;
/** Id of the synthetic market taker that fills resting paper orders (never rests). */
const MARKET_TAKER_ID = -1;
/** Ids of venue levels loaded into the scratch engine: -(depth + 2), never a paper order's id. */
const levelId = (depth: number): number => -(depth + 2);

/**
 * Paper orders of a venue. Resting paper orders live in one core MatchingEngine per symbol
 * (price-time priority, cancel, post-only validation, self-trade prevention among our own
 * orders); the venue's L2Book provides the liquidity a marketable order takes: its crossing
 * levels are loaded into a scratch MatchingEngine (one resting order per level) and the order is
 * matched there with its own kind (MARKET / IOC / FOK / POST_ONLY), so fills, FOK all-or-nothing,
 * post-only rejects and market remainders follow the engine's rules. Only levels priced better
 * than our own best opposite order are loaded: a taker that reaches that order stops there
 * (self-trade prevention, cancel newest), as it would in the venue's one book.
 */
export class PaperExchange {
  private readonly queue: Pending[] = [];
  private qHead = 0;
  private sent = 0;
  /** Resting orders by clientOrderId. */
  private readonly live = new Map<string, Working>();
  /** Resting orders by engine id. */
  private readonly byId = new Map<number, Working>();
  private readonly engines = new Map<string, MatchingEngine>();
  /** Venue liquidity for one marketable order at a time; empty between orders. */
  private readonly scratch = new MatchingEngine('scratch', { initialOrders: 64, initialLevels: 64 });
  /** Depths of the venue book loadLiquidity went through for the order in the scratch engine. */
  private scratchDepths = 0;
  /** Times clearScratch needed its fallback sweep (tests hold it at 0). */
  private scratchSweeps = 0;
  private readonly inFlight = new Set<string>();
  /** The latest arrival of an order that rested (arrivals only grow): a trade printed after it can fill any resting order. */
  private lastRestingArrivalTs = -Infinity;
  private orderSeq = 0;
  private fillSeq = 0;
  private onReport: ((r: ExecutionReport) => void) | undefined;
  private readonly backlog: ExecutionReport[] = [];
  private readonly history = new OrderHistory();

  constructor(
    private readonly venue: PaperVenue,
    readonly settings: PaperSettings,
  ) {}

  /** Where reports go; reports produced before this is set are delivered now, in order. */
  setReportHandler(handler: ((r: ExecutionReport) => void) | undefined): void {
    this.onReport = handler;
    if (handler) for (const r of this.backlog.splice(0)) handler(r);
  }

  submit(order: Readonly<Order>, now: number): void {
    const copy = copyOrder(order);
    if (this.inFlight.has(order.clientOrderId) || this.live.has(order.clientOrderId)) {
      // reported asynchronously like every other outcome (never re-entrantly inside submit)
      this.queue.push({ arriveTs: now + this.settings.latencyMs, kind: 'duplicate', order: copy, n: this.sent++ });
      return;
    }
    this.inFlight.add(order.clientOrderId);
    this.queue.push({ arriveTs: now + this.settings.latencyMs, kind: 'new', order: copy, n: this.sent++ });
  }

  cancel(order: Readonly<Order>, now: number): void {
    this.queue.push({ arriveTs: now + this.settings.latencyMs, kind: 'cancel', order: copyOrder(order), n: this.sent++ });
  }

  /** How many orders and cancels were sent so far: a mark for nextSentBefore. */
  get requestsSent(): number {
    return this.sent;
  }

  /** Arrival time of the next queued order or cancel; Infinity when none. */
  nextDue(): number {
    return this.qHead < this.queue.length ? this.queue[this.qHead]!.arriveTs : Infinity;
  }

  /** Whether the next queued request was sent before the mark `sent` (requestsSent then). */
  nextSentBefore(sent: number): boolean {
    return this.qHead < this.queue.length && this.queue[this.qHead]!.n < sent;
  }

  /**
   * Processes the queued orders and cancels that have arrived by `until` and were sent before
   * this call. One sent from a report of this call (a strategy's onExecution) waits for a later
   * call: at latency_ms = 0 it arrives at the time being processed, and taken in the same loop a
   * strategy that answers every report with an order never let the loop end. Requests are still
   * processed in the order they were sent.
   */
  processDue(until: number): number {
    const mark = this.sent;
    let n = 0;
    while (this.qHead < this.queue.length && this.queue[this.qHead]!.arriveTs <= until && this.queue[this.qHead]!.n < mark) {
      const p = this.queue[this.qHead++]!;
      n++;
      if (p.kind === 'new') {
        this.inFlight.delete(p.order.clientOrderId);
        // the id may have named an order that ended: from here on it names this one
        this.history.startOrder(p.order.clientOrderId);
        this.arriveNew(p.order, p.arriveTs);
      } else if (p.kind === 'cancel') this.arriveCancel(p.order, p.arriveTs);
      else this.reject(p.order, p.arriveTs, 'DUPLICATE_ORDER', `clientOrderId ${p.order.clientOrderId} is already working`, 'request');
    }
    if (this.qHead > 1024 && this.qHead * 2 > this.queue.length) {
      this.queue.splice(0, this.qHead);
      this.qHead = 0;
    }
    return n;
  }

  hasResting(symbol: string): boolean {
    const e = this.engines.get(symbol);
    return e !== undefined && e.orderCount > 0;
  }

  /** What the venue knows of an order (reconciliation after an engine restart). */
  queryOrder(clientOrderId: string): OrderStatusReport | undefined {
    return this.history.query(clientOrderId);
  }

  /** Fills on these symbols at or after `sinceTs` (venue time), oldest first. */
  fillsSince(symbols: readonly string[], sinceTs: number): ExecutionReport[] {
    return this.history.fillsSince(symbols, sinceTs);
  }

  /** Resting (open or partially filled) orders, as the venue knows them. */
  openOrders(): Order[] {
    return [...this.live.values()].sort((a, b) => a.seq - b.seq).map((w) => copyOrder(w.order));
  }

  /**
   * A market trade: resting orders the trade went through fill as makers (up to the trade's
   * size), those that had reached the venue when it printed (its venue time) only. A trade is
   * often delivered after the venue's clock passed its time: venues stamp trades a few ms before
   * the depth update delivered ahead of them, and backfill the trades missed in a disconnect
   * with their own (old) times; such a trade filled an order that did not exist when it printed.
   */
  onTrade(ev: TradeEvent): void {
    const e = this.engines.get(ev.symbol);
    if (!e || e.orderCount === 0 || !(ev.qty > 0)) return;
    // An aggressive sell prints below resting buys it went through (buys priced > the print),
    // and vice versa: the print is a taker limited one tick inside it, up to its size.
    if (ev.side === 'sell') this.takeResting(e, ev.symbol, MatchSide.SELL, ev.price + 1, ev.qty, ev.ts, ev.ts);
    else this.takeResting(e, ev.symbol, MatchSide.BUY, ev.price - 1, ev.qty, ev.ts, ev.ts);
  }

  /**
   * After a book change: resting orders the venue book's opposite side reaches (an ask at or
   * below our bid, a bid at or above our ask) fill at their price against those levels, as far
   * as the levels' quantity goes, and what they took leaves the venue book (as the taker path
   * takes it), so no later order takes it again. The book did not know our orders: a seller
   * offering 1 lot at our bid's price would have traded that lot with it, not 1000. Only a
   * synced book fills them: a crossed or resyncing one's levels may be gone; the orders stay and
   * fill on the first change after which it is synced again. A change stamped before an order
   * reached the venue does not fill it (as a trade printed before it does not): that book was
   * never one the order rested in, and the fill would come before the order's own ack.
   */
  onBookChange(symbol: string, ts: number): void {
    const e = this.engines.get(symbol);
    const book = this.venue.book(symbol);
    if (!e || e.orderCount === 0 || !book || !book.synced) return;
    const withheld = ts < this.lastRestingArrivalTs ? this.withhold(e, symbol, ts) : undefined;
    const fills: number[] = [];
    const asks = this.crossResting(e, book, MatchSide.SELL, fills);
    const bids = this.crossResting(e, book, MatchSide.BUY, fills);
    if (withheld !== undefined) this.putBack(e, withheld, ts);
    if (fills.length === 0) return;
    for (const l of asks) book.applyLevel(1, l.price, l.qty);
    for (const l of bids) book.applyLevel(0, l.price, l.qty);
    book.endUpdate(0, ts);
    for (let k = 0; k < fills.length; k += 3) {
      const w = this.byId.get(fills[k]!);
      if (w && w.order.symbol === symbol) this.fill(w, fills[k + 1]!, fills[k + 2]!, 'maker', ts);
    }
    this.venue.onLiquidityTaken(symbol, ts, bids, asks);
  }

  // ---------------------------------------------------------------------------------------------

  private engine(symbol: string): MatchingEngine {
    let e = this.engines.get(symbol);
    if (!e) this.engines.set(symbol, (e = new MatchingEngine(symbol, { initialOrders: 64, initialLevels: 64, stp: StpMode.CANCEL_NEWEST })));
    return e;
  }

  /**
   * Market flow (a synthetic IOC taker) fills our resting orders it crosses, as makers. Orders
   * that reached the venue after `printedTs` (the venue time of the trade that is this flow) are
   * kept out of its way: taken out of the engine for the taker and put back after it, in their
   * order. They are the newest orders (arrivals only grow), last in time priority at any price,
   * so putting them back keeps every order's priority.
   */
  private takeResting(e: MatchingEngine, symbol: string, side: MatchSideCode, price: number, qty: number, ts: number, printedTs = Infinity): void {
    if (!Number.isSafeInteger(price) || !Number.isSafeInteger(qty) || qty <= 0) return;
    const withheld = printedTs < this.lastRestingArrivalTs ? this.withhold(e, symbol, printedTs) : undefined;
    // copy the events out before reporting (a report handler may submit or cancel)
    const fills: { id: number; price: number; qty: number }[] = [];
    if (e.orderCount > 0 && e.submit(MARKET_TAKER_ID, side, OrderKind.IOC, price, qty) === MatchStatus.OK) {
      const n = e.result.eventCount;
      for (let i = 0; i < n; i++) if (e.evKind[i] === MatchEventKind.FILL) fills.push({ id: e.evMaker[i]!, price: e.evPrice[i]!, qty: e.evQty[i]! });
    }
    if (withheld !== undefined) this.putBack(e, withheld, ts);
    for (const f of fills) {
      const w = this.byId.get(f.id);
      if (w && w.order.symbol === symbol) this.fill(w, f.price, f.qty, 'maker', ts);
    }
  }

  /** Takes this symbol's resting orders that arrived after `ts` out of the engine; returns them, oldest first. */
  private withhold(e: MatchingEngine, symbol: string, ts: number): Working[] | undefined {
    let out: Working[] | undefined;
    for (const w of this.live.values()) {
      if (w.arrivedTs > ts && w.order.symbol === symbol && e.cancel(w.id) === MatchStatus.OK) (out ??= []).push(w);
    }
    return out?.sort((a, b) => a.seq - b.seq);
  }

  /** Puts withheld orders back (what is left of each, at its price). */
  private putBack(e: MatchingEngine, withheld: readonly Working[], ts: number): void {
    for (const w of withheld) {
      const side: MatchSideCode = w.order.side === 'buy' ? MatchSide.BUY : MatchSide.SELL;
      if (e.submit(w.id, side, OrderKind.LIMIT, w.order.price!, w.leaves, OWN) === MatchStatus.OK && e.result.restingQty === w.leaves) continue;
      // Cannot happen (they rested beside the same orders before), but an order the engine
      // no longer holds must not stay reported as working.
      if (e.result.restingQty > 0) e.cancel(w.id);
      this.untrack(w);
      w.order.status = 'cancelled';
      w.order.updatedTs = ts;
      this.report(w.order, 'cancelled', ts, { leavesQty: 0, cumQty: w.cum, text: 'cancelled by the simulator: the order could not be put back in its book' });
      w.leaves = 0;
    }
  }

  /**
   * Fills our resting orders on the side a `takerSide` taker would hit against the venue book's
   * opposite levels that reach them, level by level from the best, each up to its quantity.
   * Appends the fills to `fills` (maker id, price, quantity) and returns the levels taken from,
   * with the quantity each has left; the caller changes the book.
   */
  private crossResting(e: MatchingEngine, book: L2Book, takerSide: MatchSideCode, fills: number[]): BookLevel[] {
    const sell = takerSide === MatchSide.SELL;
    const bookSide = sell ? 1 : 0;
    const taken: BookLevel[] = [];
    for (let d = 0; ; d++) {
      const ours = sell ? e.bestBid() : e.bestAsk();
      const p = book.priceAtDepth(bookSide, d);
      if (ours === undefined || p !== p || (sell ? p > ours : p < ours)) break;
      const q = book.qtyAtDepth(bookSide, d);
      if (!(q > 0)) continue;
      if (e.submit(MARKET_TAKER_ID, takerSide, OrderKind.IOC, p, q) !== MatchStatus.OK) break;
      let got = 0;
      for (let i = 0; i < e.result.eventCount; i++) {
        if (e.evKind[i] !== MatchEventKind.FILL) continue;
        fills.push(e.evMaker[i]!, e.evPrice[i]!, e.evQty[i]!);
        got += e.evQty[i]!;
      }
      if (got > 0) taken.push({ price: p, qty: q - got });
    }
    return taken;
  }

  private emit(r: ExecutionReport): void {
    this.history.record(r);
    if (this.onReport) this.onReport(r);
    else this.backlog.push(r);
  }

  /**
   * A report's fixed fields as one literal; the caller sets optional ones (text, rejectReason)
   * after it, then `send` adds the venue id last. The ack, fill and IOC-cancel paths (every
   * order) build their reports this way: no `extra` object, no spread (docs/performance.md,
   * "The paper venue's order history").
   */
  private reportOf(order: Order, kind: ExecutionReport['kind'], ts: number, leavesQty: number, cumQty: number): ExecutionReport {
    return {
      kind,
      exchange: this.venue.exchange,
      symbol: order.symbol,
      clientOrderId: order.clientOrderId,
      side: order.side,
      lastPrice: 0,
      lastQty: 0,
      leavesQty,
      cumQty,
      feeAtoms: 0n,
      ts,
    };
  }

  private send(r: ExecutionReport, order: Order): void {
    if (order.venueOrderId !== undefined) r.venueOrderId = order.venueOrderId;
    this.emit(r);
  }

  /** The rarer reports (rejects, requested cancels, self-trade prevention): the fixed fields, then `extra`'s. */
  private report(order: Order, kind: ExecutionReport['kind'], ts: number, extra?: Partial<ExecutionReport>): void {
    const r = this.reportOf(order, kind, ts, 0, order.filledQty);
    if (extra !== undefined) Object.assign(r, extra);
    this.send(r, order);
  }

  /** `rejects`: 'request' for a second order under a working id, which leaves that order as it is. */
  private reject(order: Order, ts: number, reason: RejectReason, text: string, rejects: 'order' | 'request' = 'order'): void {
    order.status = 'rejected';
    order.rejectReason = reason;
    this.report(order, 'rejected', ts, { rejectReason: reason, rejects, text, cumQty: order.filledQty ?? 0 });
  }

  /**
   * Loads the venue's levels that `side` would take up to `limit` (best first, until `qty` is
   * covered) into the scratch engine as resting orders. Returns the quantity loaded.
   */
  private loadLiquidity(book: L2Book, side: MatchSideCode, limit: number, qty: number): number {
    const oppCode = side === MatchSide.BUY ? 1 : 0;
    const restSide: MatchSideCode = side === MatchSide.BUY ? MatchSide.SELL : MatchSide.BUY;
    let loaded = 0;
    let d = 0;
    for (; loaded < qty; d++) {
      const p = book.priceAtDepth(oppCode, d);
      if (p !== p || (side === MatchSide.BUY ? p > limit : p < limit)) break;
      const q = book.qtyAtDepth(oppCode, d);
      // The generator and the replay readers keep venue levels above 0 ticks; one that got in
      // anyway must not fill: its notional and fee would be zero or negative.
      if (!(q > 0) || p <= 0) continue;
      this.scratch.submit(levelId(d), restSide, OrderKind.LIMIT, p, q);
      loaded += q;
    }
    this.scratchDepths = d;
    return loaded;
  }

  /**
   * Empties the scratch engine: the level orders loadLiquidity loaded (filled or not) and the
   * taker (a POST_ONLY that did not cross rests there), by id. The sweep over the whole depth
   * is the fallback and should never run; it built two arrays per level on every order.
   */
  private clearScratch(takerId: number): void {
    const scratch = this.scratch;
    for (let d = 0; d < this.scratchDepths && scratch.orderCount > 0; d++) scratch.cancel(levelId(d));
    if (scratch.orderCount > 0) scratch.cancel(takerId);
    this.scratchDepths = 0;
    if (scratch.orderCount === 0) return;
    this.scratchSweeps++;
    for (const side of ['bid', 'ask'] as const) {
      for (const l of scratch.depth(side)) for (const o of l.orders) scratch.cancel(o.id);
    }
  }

  private arriveNew(order: Order, ts: number): void {
    order.filledQty = 0;
    order.filledNotionalTicksLots = 0n;
    order.feeAtoms = 0n;
    const instrument = this.venue.instrument(order.symbol);
    if (!instrument) return this.reject(order, ts, 'INVALID_ORDER', `unknown symbol ${order.symbol} on ${this.venue.exchange}`);
    if (!Number.isSafeInteger(order.qty) || order.qty <= 0) return this.reject(order, ts, 'INVALID_ORDER', `quantity must be a positive integer of lots, got ${order.qty}`);
    if (order.side !== 'buy' && order.side !== 'sell') return this.reject(order, ts, 'INVALID_ORDER', `bad side ${String(order.side)}`);
    const isLimit = order.type === 'limit';
    if (isLimit && (!Number.isSafeInteger(order.price) || order.price! <= 0)) return this.reject(order, ts, 'INVALID_ORDER', `limit price must be a positive integer of ticks, got ${order.price}`);
    if (!isLimit && order.tif === 'POST_ONLY') return this.reject(order, ts, 'INVALID_ORDER', 'a market order cannot be POST_ONLY');
    const book = this.venue.book(order.symbol);
    if (!book) return this.reject(order, ts, 'BOOK_NOT_SYNCED', `no book for ${order.symbol} yet`);
    // A crossed or resyncing book offers liquidity that is not there (a stale level a dropped
    // delete left behind): no order trades against it, as core's PaperExecution refuses too.
    if (!book.synced) return this.reject(order, ts, 'BOOK_NOT_SYNCED', `the ${order.symbol} book is ${book.state} (${book.stateReason})`);
    const buy = order.side === 'buy';
    const refPrice = isLimit ? order.price! : buy ? book.bestAsk() : book.bestBid();
    const minNotional = cachedMinNotionalAtoms(instrument);
    if (minNotional > 0n && refPrice !== undefined && notionalAtoms(instrument, refPrice, order.qty) < minNotional) {
      return this.reject(order, ts, 'MIN_NOTIONAL', `notional below the minimum ${instrument.minNotional} ${instrument.quote}`);
    }

    const side: MatchSideCode = buy ? MatchSide.BUY : MatchSide.SELL;
    // the engine's kind for the taking part (a GTC limit takes as IOC, then rests in our engine)
    const kind: OrderKindCode = order.tif === 'FOK' ? OrderKind.FOK : !isLimit ? OrderKind.MARKET : order.tif === 'POST_ONLY' ? OrderKind.POST_ONLY : OrderKind.IOC;
    const rests = isLimit && (order.tif === 'GTC' || order.tif === 'POST_ONLY');
    // a market FOK has no limit: the extreme safe integer on its side
    const price = isLimit ? order.price! : buy ? Number.MAX_SAFE_INTEGER : -Number.MAX_SAFE_INTEGER;
    const id = this.orderSeq + 1;

    // Our own resting orders are in the venue's book too: walking the opposite side a venue meets
    // our best opposite order before any level at its price or behind it (at an equal price ours
    // is taken to be first, the side that invents no fill), and there self-trade prevention
    // (cancel newest) stops this order. So it takes venue liquidity only up to one tick short of
    // that order. A post-only order takes nothing: our own orders are its own check below.
    const e = this.engine(order.symbol);
    const own = order.tif === 'POST_ONLY' ? undefined : buy ? e.bestAsk() : e.bestBid();
    const ownReached = own !== undefined && (!isLimit || (buy ? price >= own : price <= own));
    const venueLimit = ownReached ? (buy ? own - 1 : own + 1) : isLimit ? price : buy ? Infinity : -Infinity;

    const loaded = this.loadLiquidity(book, side, venueLimit, order.qty);
    const status = this.scratch.submit(id, side, kind, price, order.qty, OWN);
    const r = this.scratch.result;
    if (status !== MatchStatus.OK) {
      const why = r.reject; // read before clearScratch reuses the result
      this.clearScratch(id);
      if (why === MatchReject.POST_ONLY_WOULD_CROSS) {
        const best = buy ? book.bestAsk() : book.bestBid();
        return this.reject(order, ts, 'POST_ONLY_WOULD_CROSS', `post-only ${order.side} at ${price} would cross ${buy ? 'ask' : 'bid'} ${best}`);
      }
      if (why === MatchReject.FOK_UNFILLABLE) {
        const before = ownReached ? ` before our own ${buy ? 'sell' : 'buy'} at ${own} (self-trade prevention)` : '';
        return this.reject(order, ts, 'FOK_UNFILLABLE', `only ${loaded} of ${order.qty} lots available${before}`);
      }
      return this.reject(order, ts, 'INVALID_ORDER', `rejected by the matching engine (${MATCH_REJECT_REASONS[why]})`);
    }
    // copy the taker's fills out of the scratch engine (price, quantity, what the level has
    // left: three numbers a fill, one array), then empty it
    const fills: number[] = [];
    for (let i = 0; i < r.eventCount; i++) {
      if (this.scratch.evKind[i] === MatchEventKind.FILL) fills.push(this.scratch.evPrice[i]!, this.scratch.evQty[i]!, this.scratch.evMakerLeft[i]!);
    }
    const cancelCause = r.cancelCause;
    this.clearScratch(id);

    // post-only also must not cross our own resting orders (the engine's validation)
    if (order.tif === 'POST_ONLY') {
      if (e.submit(id, side, OrderKind.POST_ONLY, price, order.qty, OWN) !== MatchStatus.OK) {
        const why = e.result.reject;
        if (why === MatchReject.POST_ONLY_WOULD_CROSS) return this.reject(order, ts, 'POST_ONLY_WOULD_CROSS', `post-only ${order.side} at ${price} would cross our own ${buy ? 'sell' : 'buy'} ${buy ? e.bestAsk() : e.bestBid()}`);
        return this.reject(order, ts, 'INVALID_ORDER', `rejected by the matching engine (${MATCH_REJECT_REASONS[why]})`);
      }
    }

    this.orderSeq = id;
    order.venueOrderId = `${this.venue.exchange}-${id}`;
    order.status = 'open';
    const w: Working = { order, venueOrderId: order.venueOrderId, id, leaves: order.qty, cum: 0, seq: id, arrivedTs: ts };
    if (order.tif === 'POST_ONLY') this.track(w);
    this.send(this.reportOf(order, 'ack', ts, order.qty, 0), order);

    if (fills.length > 0) {
      // the venue book loses what was taken (one fill per level)
      const oppCode = buy ? 1 : 0;
      const taken: BookLevel[] = [];
      for (let k = 0; k < fills.length; k += 3) {
        book.applyLevel(oppCode, fills[k]!, fills[k + 2]!);
        taken.push({ price: fills[k]!, qty: fills[k + 2]! });
      }
      book.endUpdate(0, ts);
      for (let k = 0; k < fills.length; k += 3) this.fill(w, fills[k]!, fills[k + 1]!, 'taker', ts);
      this.venue.onLiquidityTaken(order.symbol, ts, buy ? [] : taken, buy ? taken : []);
    }
    if (w.leaves === 0 || order.tif === 'POST_ONLY') return;
    if (rests) {
      // GTC remainder rests among our orders; one that would cross our own opposite order is
      // cancelled by self-trade prevention (cancel newest)
      e.submit(id, side, OrderKind.LIMIT, price, w.leaves, OWN);
      if (e.result.restingQty > 0) {
        this.track(w);
        return;
      }
      order.status = 'cancelled';
      this.report(order, 'cancelled', ts, { leavesQty: 0, cumQty: w.cum, text: `self-trade prevention: remainder ${w.leaves} lots would cross our own order, cancelled` });
      w.leaves = 0;
      return;
    }
    // market / IOC: the rest is cancelled
    order.status = 'cancelled';
    const noLiq = w.cum === 0;
    const rest = this.reportOf(order, 'cancelled', ts, 0, w.cum);
    if (ownReached) rest.text = `self-trade prevention: remainder ${w.leaves} lots would trade against our own ${buy ? 'sell' : 'buy'} at ${own}, cancelled`;
    else rest.text = isLimit ? `IOC remainder ${w.leaves} lots cancelled` : `insufficient liquidity: ${w.leaves} lots cancelled`;
    // liquidity was there (our own order): not NO_LIQUIDITY
    if (noLiq && !isLimit && !ownReached && cancelCause === CancelCause.NO_LIQUIDITY) rest.rejectReason = 'NO_LIQUIDITY';
    this.send(rest, order);
    w.leaves = 0;
  }

  private track(w: Working): void {
    this.live.set(w.order.clientOrderId, w);
    this.byId.set(w.id, w);
    if (w.arrivedTs > this.lastRestingArrivalTs) this.lastRestingArrivalTs = w.arrivedTs;
  }

  private fill(w: Working, price: number, qty: number, liquidity: 'maker' | 'taker', ts: number): void {
    if (qty <= 0) return;
    const instrument = this.venue.instrument(w.order.symbol)!;
    const fee = feeAtoms(instrument, price, qty, liquidity === 'maker' ? this.settings.makerFeeBps : this.settings.takerFeeBps);
    w.leaves -= qty;
    w.cum += qty;
    const o = w.order;
    o.filledQty = w.cum;
    o.filledNotionalTicksLots += BigInt(price) * BigInt(qty);
    o.feeAtoms += fee;
    o.status = w.leaves === 0 ? 'filled' : 'partially_filled';
    o.updatedTs = ts;
    if (w.leaves === 0) this.untrack(w);
    const r: ExecutionReport = {
      kind: 'fill',
      exchange: this.venue.exchange,
      symbol: o.symbol,
      clientOrderId: o.clientOrderId,
      side: o.side,
      lastPrice: price,
      lastQty: qty,
      leavesQty: w.leaves,
      cumQty: w.cum,
      feeAtoms: fee,
      ts,
      liquidity,
      tradeId: `${this.venue.exchange}-fill-${++this.fillSeq}`,
    };
    this.send(r, o);
  }

  /** Forgets a finished order (the engine already removed it, or the caller cancels it there). */
  private untrack(w: Working): void {
    if (this.live.get(w.order.clientOrderId) === w) this.live.delete(w.order.clientOrderId);
    if (this.byId.get(w.id) === w) this.byId.delete(w.id);
  }

  private arriveCancel(order: Order, ts: number): void {
    const w = this.live.get(order.clientOrderId);
    const e = w ? this.engines.get(w.order.symbol) : undefined;
    if (!w || !e || e.cancel(w.id) !== MatchStatus.OK) {
      this.report(order, 'rejected', ts, {
        rejectReason: 'UNKNOWN_ORDER',
        rejects: 'request',
        text: `cancel: no working order ${order.clientOrderId}`,
        cumQty: order.filledQty ?? 0,
      });
      return;
    }
    this.untrack(w);
    w.order.status = 'cancelled';
    w.order.updatedTs = ts;
    this.report(w.order, 'cancelled', ts, { leavesQty: 0, cumQty: w.cum, text: 'cancelled by request' });
    w.leaves = 0;
  }
}

// Core's figure (the one pre-trade risk checks), in bigint: the sim's own conversion through a
// number once dropped the rule, silently, for a minimum past 2^53 quote atoms.
const minNotionalCache = new WeakMap<Instrument, bigint>();
function cachedMinNotionalAtoms(i: Instrument): bigint {
  let v = minNotionalCache.get(i);
  if (v === undefined) {
    v = minNotionalAtoms(i);
    minNotionalCache.set(i, v);
  }
  return v;
}

/**
 * Paper execution against the venue's own book (synthetic or replayed). Orders and cancels
 * arrive `latencyMs` after they are sent (virtual time); everything that happens to them comes
 * back as ExecutionReports. Money is integer: fills in ticks x lots, fees in bigint quote atoms
 * rounded up. No wall clock, no randomness: deterministic for a given market and order flow.
 */
import {
  decimalToUnits,
  notionalAtoms,
  notionalExponent,
  parseDecimal,
  type BookLevel,
  type ExecutionReport,
  type Instrument,
  type Order,
  type RejectReason,
  type Side,
  type TradeEvent,
} from '@cwts/core';
import type { BookSide, SimBook } from './book.js';

export interface PaperVenue {
  readonly exchange: string;
  instrument(symbol: string): Instrument | undefined;
  book(symbol: string): SimBook | undefined;
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
  leaves: number;
  cum: number;
  seq: number;
}

interface Pending {
  arriveTs: number;
  kind: 'new' | 'cancel' | 'duplicate';
  order: Order;
}

/** Fee of `qty` lots at `price` ticks in quote atoms, rounded up (toward +infinity). */
export function feeAtoms(instrument: Instrument, price: number, qty: number, bps: string): bigint {
  const { mantissa, exponent } = parseDecimal(bps);
  const num = notionalAtoms(instrument, price, qty) * mantissa;
  const den = 10_000n * 10n ** BigInt(exponent);
  if (num <= 0n) return num / den; // truncation is the ceiling for negatives (rebates)
  return (num + den - 1n) / den;
}

export class PaperExchange {
  private readonly queue: Pending[] = [];
  private qHead = 0;
  private readonly live = new Map<string, Working>();
  private readonly restingBySymbol = new Map<string, Working[]>();
  private readonly inFlight = new Set<string>();
  private orderSeq = 0;
  private fillSeq = 0;
  private onReport: ((r: ExecutionReport) => void) | undefined;
  private readonly backlog: ExecutionReport[] = [];

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
    const copy: Order = { ...order };
    if (this.inFlight.has(order.clientOrderId) || this.live.has(order.clientOrderId)) {
      // reported asynchronously like every other outcome (never re-entrantly inside submit)
      this.queue.push({ arriveTs: now + this.settings.latencyMs, kind: 'duplicate', order: copy });
      return;
    }
    this.inFlight.add(order.clientOrderId);
    this.queue.push({ arriveTs: now + this.settings.latencyMs, kind: 'new', order: copy });
  }

  cancel(order: Readonly<Order>, now: number): void {
    this.queue.push({ arriveTs: now + this.settings.latencyMs, kind: 'cancel', order: { ...order } });
  }

  /** Arrival time of the next queued order or cancel; Infinity when none. */
  nextDue(): number {
    return this.qHead < this.queue.length ? this.queue[this.qHead]!.arriveTs : Infinity;
  }

  /** Processes the queued orders and cancels that have arrived by `until`. */
  processDue(until: number): number {
    let n = 0;
    while (this.qHead < this.queue.length && this.queue[this.qHead]!.arriveTs <= until) {
      const p = this.queue[this.qHead++]!;
      n++;
      if (p.kind === 'new') {
        this.inFlight.delete(p.order.clientOrderId);
        this.arriveNew(p.order, p.arriveTs);
      } else if (p.kind === 'cancel') this.arriveCancel(p.order, p.arriveTs);
      else this.reject(p.order, p.arriveTs, 'DUPLICATE_ORDER', `clientOrderId ${p.order.clientOrderId} is already working`);
    }
    if (this.qHead > 1024 && this.qHead * 2 > this.queue.length) {
      this.queue.splice(0, this.qHead);
      this.qHead = 0;
    }
    return n;
  }

  hasResting(symbol: string): boolean {
    const list = this.restingBySymbol.get(symbol);
    return list !== undefined && list.length > 0;
  }

  /** Resting (open or partially filled) orders, as the venue knows them. */
  openOrders(): Order[] {
    return [...this.live.values()].sort((a, b) => a.seq - b.seq).map((w) => ({ ...w.order }));
  }

  /** A market trade: resting orders the trade went through fill as makers (up to the trade's size). */
  onTrade(ev: TradeEvent): void {
    const list = this.restingBySymbol.get(ev.symbol);
    if (!list || list.length === 0) return;
    // an aggressive sell prints below resting buys it went through, and vice versa
    const side: Side = ev.side === 'sell' ? 'buy' : 'sell';
    const candidates = list
      .filter((w) => w.order.side === side && (side === 'buy' ? ev.price < w.order.price! : ev.price > w.order.price!))
      .sort((a, b) => (side === 'buy' ? b.order.price! - a.order.price! : a.order.price! - b.order.price!) || a.seq - b.seq);
    let avail = ev.qty;
    for (const w of candidates) {
      if (avail <= 0) break;
      const q = Math.min(avail, w.leaves);
      avail -= q;
      this.fill(w, w.order.price!, q, 'maker', ev.ts);
    }
  }

  /** After a book change: resting orders the opposite side crossed fill completely at their price. */
  onBookChange(symbol: string, ts: number): void {
    const list = this.restingBySymbol.get(symbol);
    const book = this.venue.book(symbol);
    if (!list || list.length === 0 || !book) return;
    const bestBid = book.bestBid();
    const bestAsk = book.bestAsk();
    for (const w of [...list]) {
      const p = w.order.price!;
      if ((w.order.side === 'buy' && bestAsk !== undefined && bestAsk <= p) || (w.order.side === 'sell' && bestBid !== undefined && bestBid >= p)) {
        this.fill(w, p, w.leaves, 'maker', ts);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  private emit(r: ExecutionReport): void {
    if (this.onReport) this.onReport(r);
    else this.backlog.push(r);
  }

  private report(order: Order, kind: ExecutionReport['kind'], ts: number, extra: Partial<ExecutionReport> = {}): void {
    this.emit({
      kind,
      exchange: this.venue.exchange,
      symbol: order.symbol,
      clientOrderId: order.clientOrderId,
      ...(order.venueOrderId !== undefined ? { venueOrderId: order.venueOrderId } : {}),
      side: order.side,
      lastPrice: 0,
      lastQty: 0,
      leavesQty: 0,
      cumQty: order.filledQty,
      feeAtoms: 0n,
      ts,
      ...extra,
    });
  }

  private reject(order: Order, ts: number, reason: RejectReason, text: string): void {
    order.status = 'rejected';
    order.rejectReason = reason;
    this.report(order, 'rejected', ts, { rejectReason: reason, text, cumQty: order.filledQty ?? 0 });
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
    const opp: BookSide = order.side === 'buy' ? 'ask' : 'bid';
    const refPrice = isLimit ? order.price! : book.best(opp);
    const minNotional = minNotionalAtoms(instrument);
    if (minNotional > 0n && refPrice !== undefined && notionalAtoms(instrument, refPrice, order.qty) < minNotional) {
      return this.reject(order, ts, 'MIN_NOTIONAL', `notional below the minimum ${instrument.minNotional} ${instrument.quote}`);
    }
    const limit = isLimit ? order.price! : undefined;
    const within = (p: number): boolean => limit === undefined || (order.side === 'buy' ? p <= limit : p >= limit);

    if (order.tif === 'POST_ONLY') {
      const best = book.best(opp);
      if (best !== undefined && within(best)) return this.reject(order, ts, 'POST_ONLY_WOULD_CROSS', `post-only ${order.side} at ${limit} would cross ${opp} ${best}`);
    }
    if (order.tif === 'FOK') {
      let avail = 0;
      for (const l of book.levels(opp)) {
        if (!within(l.price) || avail >= order.qty) break;
        avail += l.qty;
      }
      if (avail < order.qty) return this.reject(order, ts, 'FOK_UNFILLABLE', `only ${avail} of ${order.qty} lots available`);
    }

    order.venueOrderId = `${this.venue.exchange}-${++this.orderSeq}`;
    order.status = 'open';
    const w: Working = { order, venueOrderId: order.venueOrderId, leaves: order.qty, cum: 0, seq: this.orderSeq };
    this.report(order, 'ack', ts, { leavesQty: order.qty, cumQty: 0 });

    if (order.tif !== 'POST_ONLY') this.sweep(w, book, opp, within, ts);
    if (w.leaves === 0) return;
    if (isLimit && (order.tif === 'GTC' || order.tif === 'POST_ONLY')) {
      this.live.set(order.clientOrderId, w);
      let list = this.restingBySymbol.get(order.symbol);
      if (!list) this.restingBySymbol.set(order.symbol, (list = []));
      list.push(w);
      return;
    }
    // market / IOC: the rest is cancelled
    order.status = 'cancelled';
    const noLiq = w.cum === 0;
    this.report(order, 'cancelled', ts, {
      leavesQty: 0,
      cumQty: w.cum,
      text: isLimit ? `IOC remainder ${w.leaves} lots cancelled` : `insufficient liquidity: ${w.leaves} lots cancelled`,
      ...(noLiq && !isLimit ? { rejectReason: 'NO_LIQUIDITY' as const } : {}),
    });
    w.leaves = 0;
  }

  private sweep(w: Working, book: SimBook, opp: BookSide, within: (p: number) => boolean, ts: number): void {
    const taken: BookLevel[] = [];
    for (const l of book.levels(opp)) {
      if (w.leaves <= 0 || !within(l.price)) break;
      const q = Math.min(w.leaves, l.qty);
      book.set(opp, l.price, l.qty - q);
      taken.push({ price: l.price, qty: l.qty - q });
      this.fill(w, l.price, q, 'taker', ts);
    }
    if (taken.length > 0) {
      this.venue.onLiquidityTaken(w.order.symbol, ts, opp === 'bid' ? taken : [], opp === 'ask' ? taken : []);
    }
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
    this.report(o, 'fill', ts, {
      lastPrice: price,
      lastQty: qty,
      leavesQty: w.leaves,
      cumQty: w.cum,
      feeAtoms: fee,
      liquidity,
      tradeId: `${this.venue.exchange}-fill-${++this.fillSeq}`,
    });
    if (w.leaves === 0) this.unrest(w);
  }

  private unrest(w: Working): void {
    if (this.live.get(w.order.clientOrderId) === w) this.live.delete(w.order.clientOrderId);
    const list = this.restingBySymbol.get(w.order.symbol);
    if (list) {
      const i = list.indexOf(w);
      if (i >= 0) list.splice(i, 1);
    }
  }

  private arriveCancel(order: Order, ts: number): void {
    const w = this.live.get(order.clientOrderId);
    if (!w) {
      this.report(order, 'rejected', ts, {
        rejectReason: 'UNKNOWN_ORDER',
        text: `cancel: no working order ${order.clientOrderId}`,
        cumQty: order.filledQty ?? 0,
      });
      return;
    }
    this.unrest(w);
    w.order.status = 'cancelled';
    w.order.updatedTs = ts;
    this.report(w.order, 'cancelled', ts, { leavesQty: 0, cumQty: w.cum, text: 'cancelled by request' });
    w.leaves = 0;
  }
}

const minNotionalCache = new WeakMap<Instrument, bigint>();
function minNotionalAtoms(i: Instrument): bigint {
  let v = minNotionalCache.get(i);
  if (v === undefined) {
    try {
      v = BigInt(decimalToUnits(i.minNotional, { mantissa: 1n, exponent: notionalExponent(i) }, 'min notional'));
    } catch {
      v = 0n;
    }
    minNotionalCache.set(i, v);
  }
  return v;
}

import { IdIndex } from './id-index.js';
import { SortedLevels } from './sorted-levels.js';
import { IndexAllocator } from './pool.js';

/** Numeric codes (plain objects, not TS enums, so isolatedModules and erasable syntax hold). */
export const MatchSide = { BUY: 0, SELL: 1 } as const;
export type MatchSideCode = 0 | 1;

export const OrderKind = {
  /** Limit, good till cancelled: matches what crosses, rests the remainder. */
  LIMIT: 0,
  /** Takes any price; what cannot fill is cancelled (cancelCause NO_LIQUIDITY), never rests. */
  MARKET: 1,
  /** Limit, immediate or cancel: fills what crosses, cancels the rest. */
  IOC: 2,
  /** Limit, fill or kill: fills completely across all crossing levels or is rejected untouched. */
  FOK: 3,
  /** Limit that must rest: rejected untouched if it would cross. */
  POST_ONLY: 4,
} as const;
export type OrderKindCode = (typeof OrderKind)[keyof typeof OrderKind];

/** Self-trade prevention when a taker meets a resting order of the same (non-zero) owner. */
export const StpMode = { NONE: 0, CANCEL_NEWEST: 1, CANCEL_OLDEST: 2, CANCEL_BOTH: 3 } as const;
export type StpModeCode = (typeof StpMode)[keyof typeof StpMode];

export const MatchStatus = { OK: 0, REJECTED: 1 } as const;
export type MatchStatusCode = 0 | 1;

export const MatchReject = {
  NONE: 0,
  INVALID_ORDER: 1,
  DUPLICATE_ORDER: 2,
  POST_ONLY_WOULD_CROSS: 3,
  FOK_UNFILLABLE: 4,
  UNKNOWN_ORDER: 5,
} as const;
export type MatchRejectCode = (typeof MatchReject)[keyof typeof MatchReject];
/** Reject codes as the domain's RejectReason strings. */
export const MATCH_REJECT_REASONS = ['', 'INVALID_ORDER', 'DUPLICATE_ORDER', 'POST_ONLY_WOULD_CROSS', 'FOK_UNFILLABLE', 'UNKNOWN_ORDER'] as const;

export const CancelCause = {
  NONE: 0,
  /** Market order remainder: not enough liquidity. */
  NO_LIQUIDITY: 1,
  /** IOC (or FOK under STP) remainder. */
  IOC_REMAINDER: 2,
  /** Cancelled by self-trade prevention. */
  SELF_TRADE: 3,
  /** Cancelled on request. */
  REQUESTED: 4,
} as const;
export type CancelCauseCode = (typeof CancelCause)[keyof typeof CancelCause];

/** Kinds of entries in the event buffer of the last operation. */
export const MatchEventKind = {
  FILL: 1,
  /** A resting order cancelled by self-trade prevention (makerId is the cancelled order). */
  STP_CANCEL: 2,
} as const;

/** Result of the last operation; one object reused by the engine (copy what you keep). */
export class MatchResult {
  status: MatchStatusCode = 0;
  reject: MatchRejectCode = 0;
  orderId = 0;
  filledQty = 0;
  /** Quantity left resting on the book after the operation. */
  restingQty = 0;
  /** Quantity of the incoming (or cancelled) order that was cancelled. */
  cancelledQty = 0;
  cancelCause: CancelCauseCode = 0;
  /** Number of entries in the engine's event buffer for this operation. */
  eventCount = 0;
}

export interface MatchingEngineOptions {
  /** Initial order capacity (slabs double when full). Default 65536. */
  initialOrders?: number;
  initialLevels?: number;
  stp?: StpModeCode;
}

/** A fill as a plain object (tests, simulated venue reports; not for the hot path). */
export interface MatchFill {
  makerId: number;
  takerId: number;
  price: number;
  qty: number;
  seq: number;
  makerLeft: number;
  makerOwner: number;
}

const NIL = -1;

/**
 * L3 matching engine for one symbol: price-time priority, integer ticks and lots, trades at the
 * resting order's price, equal prices cross. Orders and levels live in struct-of-arrays slabs
 * (typed arrays) with free lists; order ids are safe integers looked up in an open-addressing
 * index, so steady-state operation allocates nothing.
 *
 * Atomicity: every operation validates first (ids, quantities, prices, duplicates, a resting
 * level's total staying a safe integer, post-only cross, FOK fillability incl. self-trade
 * prevention) and only then mutates; once mutating it
 * cannot fail. A rejected operation leaves the book untouched.
 *
 * Output of each operation: the return value (MatchStatus), `result` (reused), and the event
 * buffer `ev*` arrays [0, result.eventCount): fills (maker, taker, price, qty, sequence, maker's
 * remaining qty, maker owner) and STP cancels of resting orders, in the order they happened.
 * Sequences (`tradeSeq`) are global to the engine and deterministic.
 */
export class MatchingEngine {
  readonly result = new MatchResult();
  stpMode: StpModeCode;
  /** Sequence of the last fill. */
  tradeSeq = 0;
  /** Sequence of the last order accepted onto the book (time priority). */
  prioritySeq = 0;

  // order slab
  private oId: Float64Array;
  private oPrice: Float64Array;
  private oQty: Float64Array;
  private oPrio: Float64Array;
  private oOwner: Int32Array;
  private oSide: Uint8Array;
  private oKind: Uint8Array;
  private oPrev: Int32Array;
  private oNext: Int32Array;
  private oLevel: Int32Array;
  private readonly orders: IndexAllocator;
  private readonly index: IdIndex;

  // level slab
  private lvPrice: Float64Array;
  private lvQty: Float64Array;
  private lvHead: Int32Array;
  private lvTail: Int32Array;
  private readonly levels: IndexAllocator;
  /** Per side: sorted keys (bid: price, ask: -price; best last) -> level slot (in `qtys`). */
  private readonly bidSide: SortedLevels;
  private readonly askSide: SortedLevels;

  // events of the last operation
  evKind: Uint8Array;
  evMaker: Float64Array;
  evTaker: Float64Array;
  evPrice: Float64Array;
  evQty: Float64Array;
  evSeq: Float64Array;
  evMakerLeft: Float64Array;
  evMakerOwner: Int32Array;
  private evCap: number;
  private evCount = 0;
  private takerStopped = false;

  constructor(
    readonly symbol = '',
    options: MatchingEngineOptions = {},
  ) {
    const cap = Math.max(16, options.initialOrders ?? 65536);
    this.stpMode = options.stp ?? StpMode.NONE;
    this.oId = new Float64Array(cap);
    this.oPrice = new Float64Array(cap);
    this.oQty = new Float64Array(cap);
    this.oPrio = new Float64Array(cap);
    this.oOwner = new Int32Array(cap);
    this.oSide = new Uint8Array(cap);
    this.oKind = new Uint8Array(cap);
    this.oPrev = new Int32Array(cap);
    this.oNext = new Int32Array(cap);
    this.oLevel = new Int32Array(cap);
    this.orders = new IndexAllocator(cap);
    // Sized to live orders, not capacity: a small table stays in cache (it doubles as needed).
    this.index = new IdIndex(Math.min(cap, 4096));
    const lcap = Math.max(16, options.initialLevels ?? 4096);
    this.lvPrice = new Float64Array(lcap);
    this.lvQty = new Float64Array(lcap);
    this.lvHead = new Int32Array(lcap);
    this.lvTail = new Int32Array(lcap);
    this.levels = new IndexAllocator(lcap);
    this.bidSide = new SortedLevels(lcap);
    this.askSide = new SortedLevels(lcap);
    this.evCap = 1024;
    this.evKind = new Uint8Array(this.evCap);
    this.evMaker = new Float64Array(this.evCap);
    this.evTaker = new Float64Array(this.evCap);
    this.evPrice = new Float64Array(this.evCap);
    this.evQty = new Float64Array(this.evCap);
    this.evSeq = new Float64Array(this.evCap);
    this.evMakerLeft = new Float64Array(this.evCap);
    this.evMakerOwner = new Int32Array(this.evCap);
  }

  // ---- operations -----------------------------------------------------------------------

  /**
   * Submits an order. `price` is ignored for MARKET. `owner` (int32, 0 = none) is used for
   * self-trade prevention. Returns MatchStatus.OK or REJECTED (see result.reject).
   */
  submit(id: number, side: MatchSideCode, kind: OrderKindCode, price: number, qty: number, owner = 0): MatchStatusCode {
    const r = this.begin(id);
    if (
      !Number.isSafeInteger(id) ||
      !Number.isSafeInteger(qty) ||
      qty <= 0 ||
      (side !== 0 && side !== 1) ||
      // an integer code, not merely in range: 2.5 would pass a range check and match as an IOC
      !(Number.isInteger(kind) && kind >= 0 && kind <= 4) ||
      (kind !== OrderKind.MARKET && !Number.isSafeInteger(price)) ||
      (owner | 0) !== owner
    ) {
      return this.rejectWith(MatchReject.INVALID_ORDER);
    }
    if (this.index.get(id) !== NIL) return this.rejectWith(MatchReject.DUPLICATE_ORDER);
    // A level total past 2^53 would lose lots (float64): refuse the order before anything
    // changes. Only an order that can rest is concerned, and only when its own side already has
    // a level at its price: the book is never crossed, so such an order does not cross either
    // and rests whole; a new level starts at the order's own (safe) quantity.
    if ((kind === OrderKind.LIMIT || kind === OrderKind.POST_ONLY) && qty > this.levelRoom(side, price)) return this.rejectWith(MatchReject.INVALID_ORDER);
    const limit = kind === OrderKind.MARKET ? (side === 0 ? Infinity : -Infinity) : price;
    if (kind === OrderKind.POST_ONLY) {
      if (this.wouldCross(side, limit)) return this.rejectWith(MatchReject.POST_ONLY_WOULD_CROSS);
    } else if (kind === OrderKind.FOK) {
      if (this.fillable(side, limit, qty, owner) < qty) return this.rejectWith(MatchReject.FOK_UNFILLABLE);
    }
    const left = this.wouldCross(side, limit) ? this.match(side, limit, qty, owner, id) : qty;
    r.filledQty = qty - left;
    if (left > 0) {
      if (this.takerStopped) {
        r.cancelledQty = left;
        r.cancelCause = CancelCause.SELF_TRADE;
      } else if (kind === OrderKind.LIMIT || kind === OrderKind.POST_ONLY) {
        this.rest(id, side, kind, price, left, owner);
        r.restingQty = left;
      } else {
        r.cancelledQty = left;
        r.cancelCause = kind === OrderKind.MARKET ? CancelCause.NO_LIQUIDITY : CancelCause.IOC_REMAINDER;
      }
    }
    r.eventCount = this.evCount;
    return MatchStatus.OK;
  }

  /** Cancels a resting order. Unknown (never seen, filled or cancelled) ids: REJECTED/UNKNOWN_ORDER. */
  cancel(id: number): MatchStatusCode {
    const r = this.begin(id);
    const o = this.index.get(id);
    if (o === NIL) return this.rejectWith(MatchReject.UNKNOWN_ORDER);
    r.cancelledQty = this.oQty[o]!;
    r.cancelCause = CancelCause.REQUESTED;
    this.removeOrder(o);
    return MatchStatus.OK;
  }

  /**
   * Replaces a resting order's price and open quantity (newQty is the new remaining quantity).
   * Same price and newQty <= open quantity: keeps time priority. A price change or a larger
   * quantity loses priority (goes to the back of its level) and may match like a new order of
   * the same kind; a POST_ONLY order whose new price would cross is rejected untouched.
   */
  replace(id: number, newPrice: number, newQty: number): MatchStatusCode {
    const r = this.begin(id);
    const o = this.index.get(id);
    if (o === NIL) return this.rejectWith(MatchReject.UNKNOWN_ORDER);
    if (!Number.isSafeInteger(newPrice) || !Number.isSafeInteger(newQty) || newQty <= 0) return this.rejectWith(MatchReject.INVALID_ORDER);
    const oldQty = this.oQty[o]!;
    const side = this.oSide[o]! as MatchSideCode;
    // The same level-total bound as submit, checked before the order leaves the book.
    const room = newPrice === this.oPrice[o] ? Number.MAX_SAFE_INTEGER - (this.lvQty[this.oLevel[o]!]! - oldQty) : this.levelRoom(side, newPrice);
    if (newQty > room) return this.rejectWith(MatchReject.INVALID_ORDER);
    if (newPrice === this.oPrice[o] && newQty <= oldQty) {
      this.oQty[o] = newQty;
      this.lvQty[this.oLevel[o]!]! -= oldQty - newQty;
      r.restingQty = newQty;
      return MatchStatus.OK;
    }
    const kind = this.oKind[o]! as OrderKindCode;
    const owner = this.oOwner[o]!;
    if (kind === OrderKind.POST_ONLY && this.wouldCross(side, newPrice)) return this.rejectWith(MatchReject.POST_ONLY_WOULD_CROSS);
    this.removeOrder(o);
    // Cannot be rejected now: id is free again, values validated, post-only checked.
    this.submit(id, side, kind, newPrice, newQty, owner);
    return MatchStatus.OK;
  }

  // ---- queries --------------------------------------------------------------------------

  get orderCount(): number {
    return this.index.size;
  }
  bestBid(): number | undefined {
    const s = this.bidSide;
    return s.n > 0 ? this.lvPrice[s.qtys[s.n - 1]!] : undefined;
  }
  bestAsk(): number | undefined {
    const s = this.askSide;
    return s.n > 0 ? this.lvPrice[s.qtys[s.n - 1]!] : undefined;
  }
  levelCount(side: 'bid' | 'ask'): number {
    return side === 'bid' ? this.bidSide.n : this.askSide.n;
  }
  /** Total open quantity at a price level, 0 when none. */
  qtyAt(side: 'bid' | 'ask', price: number): number {
    const s = side === 'bid' ? this.bidSide : this.askSide;
    const i = s.find(side === 'bid' ? price : -price);
    return i >= 0 ? this.lvQty[s.qtys[i]!]! : 0;
  }
  /** Fills `out` with up to n aggregated levels best-first (reusing its objects). */
  topLevels(side: 'bid' | 'ask', n: number, out: { price: number; qty: number }[]): number {
    const s = side === 'bid' ? this.bidSide : this.askSide;
    const count = n < s.n ? n : s.n;
    for (let i = 0; i < count; i++) {
      const l = s.qtys[s.n - 1 - i]!;
      const o = out[i];
      if (o !== undefined) {
        o.price = this.lvPrice[l]!;
        o.qty = this.lvQty[l]!;
      } else out[i] = { price: this.lvPrice[l]!, qty: this.lvQty[l]! };
    }
    return count;
  }
  /** Open quantity of an order, or -1 when it is not on the book. */
  openQty(id: number): number {
    const o = this.index.get(id);
    return o === NIL ? -1 : this.oQty[o]!;
  }
  /** Order details (allocates; tests and tooling). */
  order(id: number): { id: number; side: MatchSideCode; kind: OrderKindCode; price: number; qty: number; owner: number; priority: number } | undefined {
    const o = this.index.get(id);
    if (o === NIL) return undefined;
    return { id, side: this.oSide[o]! as MatchSideCode, kind: this.oKind[o]! as OrderKindCode, price: this.oPrice[o]!, qty: this.oQty[o]!, owner: this.oOwner[o]!, priority: this.oPrio[o]! };
  }
  /** Ids at one level in time priority (allocates; tests and tooling). */
  ordersAt(side: 'bid' | 'ask', price: number): number[] {
    const s = side === 'bid' ? this.bidSide : this.askSide;
    const i = s.find(side === 'bid' ? price : -price);
    const ids: number[] = [];
    if (i < 0) return ids;
    for (let o = this.lvHead[s.qtys[i]!]!; o !== NIL; o = this.oNext[o]!) ids.push(this.oId[o]!);
    return ids;
  }
  /** All levels best-first with their orders (allocates; tests and tooling). */
  depth(side: 'bid' | 'ask'): { price: number; qty: number; orders: { id: number; qty: number; owner: number }[] }[] {
    const s = side === 'bid' ? this.bidSide : this.askSide;
    const out = [];
    for (let i = s.n - 1; i >= 0; i--) {
      const l = s.qtys[i]!;
      const orders = [];
      for (let o = this.lvHead[l]!; o !== NIL; o = this.oNext[o]!) orders.push({ id: this.oId[o]!, qty: this.oQty[o]!, owner: this.oOwner[o]! });
      out.push({ price: this.lvPrice[l]!, qty: this.lvQty[l]!, orders });
    }
    return out;
  }
  /** Fills of the last operation as objects (allocates; tests and the simulated venue). */
  lastFills(): MatchFill[] {
    const fills: MatchFill[] = [];
    for (let i = 0; i < this.evCount; i++) {
      if (this.evKind[i] !== MatchEventKind.FILL) continue;
      fills.push({ makerId: this.evMaker[i]!, takerId: this.evTaker[i]!, price: this.evPrice[i]!, qty: this.evQty[i]!, seq: this.evSeq[i]!, makerLeft: this.evMakerLeft[i]!, makerOwner: this.evMakerOwner[i]! });
    }
    return fills;
  }
  /** Ids of resting orders cancelled by STP in the last operation (allocates). */
  lastStpCancels(): { id: number; qty: number }[] {
    const out: { id: number; qty: number }[] = [];
    for (let i = 0; i < this.evCount; i++) if (this.evKind[i] === MatchEventKind.STP_CANCEL) out.push({ id: this.evMaker[i]!, qty: this.evQty[i]! });
    return out;
  }

  /** Full structural check (tests): returns a description of the first violation, or null. */
  checkInvariants(): string | null {
    let count = 0;
    for (const [s, sign] of [[this.bidSide, 1], [this.askSide, -1]] as const) {
      for (let i = 0; i < s.n; i++) {
        if (i > 0 && !(s.keys[i - 1]! < s.keys[i]!)) return `levels not strictly sorted at ${i}`;
        const l = s.qtys[i]!;
        if (sign * this.lvPrice[l]! !== s.keys[i]) return `level key mismatch at ${this.lvPrice[l]}`;
        let sum = 0;
        let prev = NIL;
        let prio = -Infinity;
        for (let o = this.lvHead[l]!; o !== NIL; o = this.oNext[o]!) {
          if (this.oPrev[o] !== prev) return `broken prev link at order ${this.oId[o]}`;
          if (this.oLevel[o] !== l || this.oPrice[o] !== this.lvPrice[l]) return `order ${this.oId[o]} on wrong level`;
          if (!(this.oQty[o]! > 0)) return `order ${this.oId[o]} with qty ${this.oQty[o]}`;
          if (!(this.oPrio[o]! > prio)) return `time priority broken at order ${this.oId[o]}`;
          if (this.index.get(this.oId[o]!) !== o) return `index mismatch for ${this.oId[o]}`;
          prio = this.oPrio[o]!;
          sum += this.oQty[o]!;
          prev = o;
          count++;
        }
        if (this.lvTail[l] !== prev) return `bad tail at level ${this.lvPrice[l]}`;
        if (prev === NIL) return `empty level ${this.lvPrice[l]} kept`;
        if (sum !== this.lvQty[l]) return `level ${this.lvPrice[l]} qty ${this.lvQty[l]} != sum ${sum}`;
      }
    }
    if (count !== this.index.size) return `index size ${this.index.size} != orders ${count}`;
    const b = this.bestBid();
    const a = this.bestAsk();
    if (b !== undefined && a !== undefined && b >= a) return `book crossed: ${b} >= ${a}`;
    return null;
  }

  // ---- internals ------------------------------------------------------------------------

  private begin(id: number): MatchResult {
    const r = this.result;
    r.status = MatchStatus.OK;
    r.reject = MatchReject.NONE;
    r.orderId = id;
    r.filledQty = 0;
    r.restingQty = 0;
    r.cancelledQty = 0;
    r.cancelCause = CancelCause.NONE;
    r.eventCount = 0;
    this.evCount = 0;
    this.takerStopped = false;
    return r;
  }

  private rejectWith(code: MatchRejectCode): MatchStatusCode {
    this.result.status = MatchStatus.REJECTED;
    this.result.reject = code;
    this.result.eventCount = 0;
    return MatchStatus.REJECTED;
  }

  /**
   * Lots that may still be added to the resting level at `price` on `side` without its total
   * passing Number.MAX_SAFE_INTEGER (exact: both terms are safe integers). No level: the bound.
   */
  private levelRoom(side: MatchSideCode, price: number): number {
    const s = side === 0 ? this.bidSide : this.askSide;
    const i = s.find(side === 0 ? price : -price);
    return i >= 0 ? Number.MAX_SAFE_INTEGER - this.lvQty[s.qtys[i]!]! : Number.MAX_SAFE_INTEGER;
  }

  private wouldCross(side: MatchSideCode, limit: number): boolean {
    if (side === 0) {
      const s = this.askSide;
      return s.n > 0 && this.lvPrice[s.qtys[s.n - 1]!]! <= limit;
    }
    const s = this.bidSide;
    return s.n > 0 && this.lvPrice[s.qtys[s.n - 1]!]! >= limit;
  }

  /** Quantity a taker could fill up to `limit`, stopping once `want` is reached (FOK check). */
  private fillable(side: MatchSideCode, limit: number, want: number, owner: number): number {
    const s = side === 0 ? this.askSide : this.bidSide;
    const stp = this.stpMode !== StpMode.NONE && owner !== 0;
    let got = 0;
    for (let i = s.n - 1; i >= 0 && got < want; i--) {
      const l = s.qtys[i]!;
      const p = this.lvPrice[l]!;
      if (side === 0 ? p > limit : p < limit) break;
      if (!stp) {
        got += this.lvQty[l]!;
        continue;
      }
      for (let o = this.lvHead[l]!; o !== NIL && got < want; o = this.oNext[o]!) {
        if (this.oOwner[o] === owner) {
          if (this.stpMode === StpMode.CANCEL_OLDEST) continue; // will be cancelled, gives nothing
          return got; // taker would be cancelled here
        }
        got += this.oQty[o]!;
      }
    }
    return got;
  }

  /** Matches against the opposite side; returns the taker's remaining quantity. */
  private match(side: MatchSideCode, limit: number, qty: number, owner: number, takerId: number): number {
    const opp = side === 0 ? this.askSide : this.bidSide;
    const stp = this.stpMode !== StpMode.NONE && owner !== 0;
    const lvPrice = this.lvPrice;
    const lvQty = this.lvQty;
    const oQty = this.oQty;
    const oNext = this.oNext;
    let left = qty;
    while (left > 0 && opp.n > 0) {
      const l = opp.qtys[opp.n - 1]!;
      const p = lvPrice[l]!;
      if (side === 0 ? p > limit : p < limit) break;
      let o = this.lvHead[l]!;
      while (o !== NIL && left > 0) {
        const next = oNext[o]!;
        if (stp && this.oOwner[o] === owner) {
          if (this.stpMode === StpMode.CANCEL_NEWEST) {
            this.takerStopped = true;
            break;
          }
          this.pushEvent(MatchEventKind.STP_CANCEL, o, takerId, p, oQty[o]!, 0);
          lvQty[l]! -= oQty[o]!;
          this.freeOrder(o);
          o = next;
          if (this.stpMode === StpMode.CANCEL_BOTH) {
            this.takerStopped = true;
            break;
          }
          continue;
        }
        const mq = oQty[o]!;
        const f = mq < left ? mq : left;
        left -= f;
        lvQty[l]! -= f;
        this.tradeSeq++;
        this.pushEvent(MatchEventKind.FILL, o, takerId, p, f, mq - f);
        if (mq === f) {
          this.freeOrder(o);
          o = next;
        } else {
          oQty[o] = mq - f;
        }
      }
      // Everything before `o` was filled or cancelled and freed.
      this.lvHead[l] = o;
      if (o === NIL) {
        this.lvTail[l] = NIL;
        opp.n--; // the best level is the last element
        this.levels.free(l);
      } else this.oPrev[o] = NIL;
      if (this.takerStopped) break;
    }
    return left;
  }

  private pushEvent(kind: number, o: number, takerId: number, price: number, qty: number, makerLeft: number): void {
    let i = this.evCount;
    if (i === this.evCap) this.growEvents();
    this.evKind[i] = kind;
    this.evMaker[i] = this.oId[o]!;
    this.evTaker[i] = takerId;
    this.evPrice[i] = price;
    this.evQty[i] = qty;
    this.evSeq[i] = kind === MatchEventKind.FILL ? this.tradeSeq : 0;
    this.evMakerLeft[i] = makerLeft;
    this.evMakerOwner[i] = this.oOwner[o]!;
    this.evCount = i + 1;
  }

  private rest(id: number, side: MatchSideCode, kind: number, price: number, qty: number, owner: number): void {
    const s = side === 0 ? this.bidSide : this.askSide;
    const key = side === 0 ? price : -price;
    let pos = s.find(key);
    let l: number;
    if (pos >= 0) l = s.qtys[pos]!;
    else {
      l = this.levels.alloc();
      if (l >= this.lvPrice.length) this.growLevels();
      this.lvPrice[l] = price;
      this.lvQty[l] = 0;
      this.lvHead[l] = NIL;
      this.lvTail[l] = NIL;
      s.insertAt(-pos - 1, key, l);
    }
    let o = this.orders.alloc();
    if (o >= this.oId.length) this.growOrders();
    this.oId[o] = id;
    this.oPrice[o] = price;
    this.oQty[o] = qty;
    this.oPrio[o] = ++this.prioritySeq;
    this.oOwner[o] = owner;
    this.oSide[o] = side;
    this.oKind[o] = kind;
    this.oLevel[o] = l;
    this.oNext[o] = NIL;
    const tail = this.lvTail[l]!;
    this.oPrev[o] = tail;
    if (tail === NIL) this.lvHead[l] = o;
    else this.oNext[tail] = o;
    this.lvTail[l] = o;
    this.lvQty[l]! += qty;
    this.index.set(id, o);
  }

  /** Unlinks and frees a resting order; removes its level when it empties. */
  private removeOrder(o: number): void {
    const l = this.oLevel[o]!;
    const prev = this.oPrev[o]!;
    const next = this.oNext[o]!;
    if (prev === NIL) this.lvHead[l] = next;
    else this.oNext[prev] = next;
    if (next === NIL) this.lvTail[l] = prev;
    else this.oPrev[next] = prev;
    this.lvQty[l]! -= this.oQty[o]!;
    if (this.lvHead[l] === NIL) {
      const side = this.oSide[o] === 0 ? this.bidSide : this.askSide;
      const pos = side.find(this.oSide[o] === 0 ? this.lvPrice[l]! : -this.lvPrice[l]!);
      side.removeAt(pos);
      this.levels.free(l);
    }
    this.freeOrder(o);
  }

  private freeOrder(o: number): void {
    this.index.delete(this.oId[o]!);
    this.orders.free(o);
  }

  private growOrders(): void {
    const cap = this.oId.length * 2;
    this.oId = growF64(this.oId, cap);
    this.oPrice = growF64(this.oPrice, cap);
    this.oQty = growF64(this.oQty, cap);
    this.oPrio = growF64(this.oPrio, cap);
    this.oOwner = growI32(this.oOwner, cap);
    this.oSide = growU8(this.oSide, cap);
    this.oKind = growU8(this.oKind, cap);
    this.oPrev = growI32(this.oPrev, cap);
    this.oNext = growI32(this.oNext, cap);
    this.oLevel = growI32(this.oLevel, cap);
  }

  private growLevels(): void {
    const cap = this.lvPrice.length * 2;
    this.lvPrice = growF64(this.lvPrice, cap);
    this.lvQty = growF64(this.lvQty, cap);
    this.lvHead = growI32(this.lvHead, cap);
    this.lvTail = growI32(this.lvTail, cap);
  }

  private growEvents(): void {
    const cap = this.evCap * 2;
    this.evKind = growU8(this.evKind, cap);
    this.evMaker = growF64(this.evMaker, cap);
    this.evTaker = growF64(this.evTaker, cap);
    this.evPrice = growF64(this.evPrice, cap);
    this.evQty = growF64(this.evQty, cap);
    this.evSeq = growF64(this.evSeq, cap);
    this.evMakerLeft = growF64(this.evMakerLeft, cap);
    this.evMakerOwner = growI32(this.evMakerOwner, cap);
    this.evCap = cap;
  }
}

function growF64(a: Float64Array, cap: number): Float64Array {
  const b = new Float64Array(cap);
  b.set(a);
  return b;
}
function growI32(a: Int32Array, cap: number): Int32Array {
  const b = new Int32Array(cap);
  b.set(a);
  return b;
}
function growU8(a: Uint8Array, cap: number): Uint8Array {
  const b = new Uint8Array(cap);
  b.set(a);
  return b;
}

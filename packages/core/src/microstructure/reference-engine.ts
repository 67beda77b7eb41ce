/**
 * A deliberately simple matching engine: plain arrays of objects, re-sorted after every change.
 * Slow and obviously correct; the differential tests run random flows through it and through
 * MatchingEngine and require identical fills, results and books. Same semantics and codes.
 */
import { CancelCause, MatchReject, OrderKind, StpMode, type MatchFill, type MatchSideCode, type OrderKindCode, type StpModeCode } from './matching-engine.js';

interface RefOrder {
  id: number;
  side: MatchSideCode;
  kind: OrderKindCode;
  price: number;
  qty: number;
  owner: number;
  prio: number;
}

export interface RefResult {
  status: 0 | 1;
  reject: number;
  filledQty: number;
  restingQty: number;
  cancelledQty: number;
  cancelCause: number;
  fills: MatchFill[];
  stpCancels: { id: number; qty: number }[];
}

export class ReferenceEngine {
  bids: RefOrder[] = [];
  asks: RefOrder[] = [];
  private prio = 0;
  private seq = 0;

  constructor(readonly stp: StpModeCode = StpMode.NONE) {}

  private find(id: number): RefOrder | undefined {
    return this.bids.find((o) => o.id === id) ?? this.asks.find((o) => o.id === id);
  }

  private sort(): void {
    this.bids.sort((a, b) => b.price - a.price || a.prio - b.prio);
    this.asks.sort((a, b) => a.price - b.price || a.prio - b.prio);
  }

  private res(): RefResult {
    return { status: 0, reject: 0, filledQty: 0, restingQty: 0, cancelledQty: 0, cancelCause: 0, fills: [], stpCancels: [] };
  }

  private rejected(code: number): RefResult {
    return { ...this.res(), status: 1, reject: code };
  }

  submit(id: number, side: MatchSideCode, kind: OrderKindCode, price: number, qty: number, owner = 0): RefResult {
    if (!Number.isSafeInteger(id) || !Number.isSafeInteger(qty) || qty <= 0 || (kind !== OrderKind.MARKET && !Number.isSafeInteger(price))) return this.rejected(MatchReject.INVALID_ORDER);
    if (this.find(id)) return this.rejected(MatchReject.DUPLICATE_ORDER);
    if ((kind === OrderKind.LIMIT || kind === OrderKind.POST_ONLY) && !this.levelFits(side, price, qty)) return this.rejected(MatchReject.INVALID_ORDER);
    const limit = kind === OrderKind.MARKET ? (side === 0 ? Infinity : -Infinity) : price;
    const opp = side === 0 ? this.asks : this.bids;
    const crosses = (p: number) => (side === 0 ? p <= limit : p >= limit);
    const stpOn = this.stp !== StpMode.NONE && owner !== 0;
    if (kind === OrderKind.POST_ONLY && opp.length > 0 && crosses(opp[0]!.price)) return this.rejected(MatchReject.POST_ONLY_WOULD_CROSS);
    if (kind === OrderKind.FOK) {
      // Simulate on a copy.
      let got = 0;
      for (const o of opp) {
        if (!crosses(o.price) || got >= qty) break;
        if (stpOn && o.owner === owner) {
          if (this.stp === StpMode.CANCEL_OLDEST) continue;
          break;
        }
        got += o.qty;
      }
      if (got < qty) return this.rejected(MatchReject.FOK_UNFILLABLE);
    }
    const r = this.res();
    let left = qty;
    let stopped = false;
    while (left > 0 && opp.length > 0 && crosses(opp[0]!.price)) {
      const m = opp[0]!;
      if (stpOn && m.owner === owner) {
        if (this.stp === StpMode.CANCEL_NEWEST) {
          stopped = true;
          break;
        }
        opp.shift();
        r.stpCancels.push({ id: m.id, qty: m.qty });
        if (this.stp === StpMode.CANCEL_BOTH) {
          stopped = true;
          break;
        }
        continue;
      }
      const f = Math.min(left, m.qty);
      m.qty -= f;
      left -= f;
      r.fills.push({ makerId: m.id, takerId: id, price: m.price, qty: f, seq: ++this.seq, makerLeft: m.qty, makerOwner: m.owner });
      if (m.qty === 0) opp.shift();
    }
    r.filledQty = qty - left;
    if (left > 0) {
      if (stopped) {
        r.cancelledQty = left;
        r.cancelCause = CancelCause.SELF_TRADE;
      } else if (kind === OrderKind.LIMIT || kind === OrderKind.POST_ONLY) {
        (side === 0 ? this.bids : this.asks).push({ id, side, kind, price, qty: left, owner, prio: ++this.prio });
        this.sort();
        r.restingQty = left;
      } else {
        r.cancelledQty = left;
        r.cancelCause = kind === OrderKind.MARKET ? CancelCause.NO_LIQUIDITY : CancelCause.IOC_REMAINDER;
      }
    }
    return r;
  }

  /**
   * Whether `qty` more lots resting at (side, price) keep that level's total a safe integer
   * (summed in bigint; `except`, the order being replaced, is left out).
   */
  private levelFits(side: MatchSideCode, price: number, qty: number, except?: RefOrder): boolean {
    let total = BigInt(qty);
    for (const o of side === 0 ? this.bids : this.asks) if (o !== except && o.price === price) total += BigInt(o.qty);
    return total <= BigInt(Number.MAX_SAFE_INTEGER);
  }

  cancel(id: number): RefResult {
    const o = this.find(id);
    if (!o) return this.rejected(MatchReject.UNKNOWN_ORDER);
    const list = o.side === 0 ? this.bids : this.asks;
    list.splice(list.indexOf(o), 1);
    return { ...this.res(), cancelledQty: o.qty, cancelCause: CancelCause.REQUESTED };
  }

  replace(id: number, price: number, qty: number): RefResult {
    const o = this.find(id);
    if (!o) return this.rejected(MatchReject.UNKNOWN_ORDER);
    if (!Number.isSafeInteger(price) || !Number.isSafeInteger(qty) || qty <= 0) return this.rejected(MatchReject.INVALID_ORDER);
    if (!this.levelFits(o.side, price, qty, o)) return this.rejected(MatchReject.INVALID_ORDER);
    if (price === o.price && qty <= o.qty) {
      o.qty = qty;
      return { ...this.res(), restingQty: qty };
    }
    const opp = o.side === 0 ? this.asks : this.bids;
    if (o.kind === OrderKind.POST_ONLY && opp.length > 0 && (o.side === 0 ? opp[0]!.price <= price : opp[0]!.price >= price)) return this.rejected(MatchReject.POST_ONLY_WOULD_CROSS);
    this.cancel(id);
    return this.submit(id, o.side, o.kind, price, qty, o.owner);
  }

  depth(side: 'bid' | 'ask') {
    const list = side === 'bid' ? this.bids : this.asks;
    const out: { price: number; qty: number; orders: { id: number; qty: number; owner: number }[] }[] = [];
    for (const o of list) {
      let lv = out[out.length - 1];
      if (!lv || lv.price !== o.price) out.push((lv = { price: o.price, qty: 0, orders: [] }));
      lv.qty += o.qty;
      lv.orders.push({ id: o.id, qty: o.qty, owner: o.owner });
    }
    return out;
  }
}

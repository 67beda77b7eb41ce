import type { BookLevel, BookDeltaEvent, BookSnapshotEvent } from '@cwts/core';

export type BookSide = 'bid' | 'ask';

/**
 * The venue's own L2 book for one symbol (price ticks -> qty lots per side). Used by the
 * generator (which shapes it), by replay (which applies recorded events to it) and by paper
 * execution (which takes liquidity from it). Best prices are cached and recomputed lazily.
 */
export class SimBook {
  readonly bids = new Map<number, number>();
  readonly asks = new Map<number, number>();
  private bestBidCache: number | undefined;
  private bestAskCache: number | undefined;
  private bidDirty = false;
  private askDirty = false;

  side(side: BookSide): Map<number, number> {
    return side === 'bid' ? this.bids : this.asks;
  }

  qty(side: BookSide, price: number): number {
    return this.side(side).get(price) ?? 0;
  }

  /** Sets an absolute quantity; 0 deletes. */
  set(side: BookSide, price: number, qty: number): void {
    const m = this.side(side);
    if (qty > 0) {
      m.set(price, qty);
      if (side === 'bid') {
        if (!this.bidDirty && (this.bestBidCache === undefined || price > this.bestBidCache)) this.bestBidCache = price;
      } else if (!this.askDirty && (this.bestAskCache === undefined || price < this.bestAskCache)) this.bestAskCache = price;
    } else if (m.delete(price)) {
      if (side === 'bid') {
        if (price === this.bestBidCache) this.bidDirty = true;
      } else if (price === this.bestAskCache) this.askDirty = true;
    }
  }

  clear(): void {
    this.bids.clear();
    this.asks.clear();
    this.bestBidCache = this.bestAskCache = undefined;
    this.bidDirty = this.askDirty = false;
  }

  bestBid(): number | undefined {
    if (this.bidDirty) {
      let best: number | undefined;
      for (const p of this.bids.keys()) if (best === undefined || p > best) best = p;
      this.bestBidCache = best;
      this.bidDirty = false;
    }
    return this.bestBidCache;
  }

  bestAsk(): number | undefined {
    if (this.askDirty) {
      let best: number | undefined;
      for (const p of this.asks.keys()) if (best === undefined || p < best) best = p;
      this.bestAskCache = best;
      this.askDirty = false;
    }
    return this.bestAskCache;
  }

  best(side: BookSide): number | undefined {
    return side === 'bid' ? this.bestBid() : this.bestAsk();
  }

  /** Levels best-first (bids descending, asks ascending). */
  levels(side: BookSide, limit = Infinity): BookLevel[] {
    const entries = [...this.side(side).entries()];
    entries.sort(side === 'bid' ? (a, b) => b[0] - a[0] : (a, b) => a[0] - b[0]);
    const out: BookLevel[] = [];
    for (const [price, qty] of entries) {
      if (out.length >= limit) break;
      out.push({ price, qty });
    }
    return out;
  }

  crossed(): boolean {
    const b = this.bestBid();
    const a = this.bestAsk();
    return b !== undefined && a !== undefined && b >= a;
  }

  applySnapshot(ev: Pick<BookSnapshotEvent, 'bids' | 'asks'>): void {
    this.clear();
    for (const l of ev.bids) this.set('bid', l.price, l.qty);
    for (const l of ev.asks) this.set('ask', l.price, l.qty);
  }

  applyDelta(ev: Pick<BookDeltaEvent, 'bids' | 'asks'>): void {
    for (const l of ev.bids) this.set('bid', l.price, l.qty);
    for (const l of ev.asks) this.set('ask', l.price, l.qty);
  }
}

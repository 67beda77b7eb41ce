import type { BookLevel } from '../domain/events.js';

/**
 * One side of the adapter's mirror book: keys in a sorted Float64Array, best level last
 * (bid key = price, ask key = -price), so the best price is one read and updates near the
 * top shift few elements. Grows by doubling; no allocation per update in steady state.
 */
export class MirrorSide {
  private keys: Float64Array;
  private qtys: Float64Array;
  n = 0;

  constructor(
    readonly isBid: boolean,
    capacity = 256,
  ) {
    this.keys = new Float64Array(capacity);
    this.qtys = new Float64Array(capacity);
  }

  clear(): void {
    this.n = 0;
  }

  /** Sets the absolute quantity at a price; 0 removes the level. */
  set(price: number, qty: number): void {
    const key = this.isBid ? price : -price;
    const keys = this.keys;
    // binary search for the first index with keys[idx] >= key
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    if (lo < this.n && keys[lo] === key) {
      if (qty === 0) {
        keys.copyWithin(lo, lo + 1, this.n);
        this.qtys.copyWithin(lo, lo + 1, this.n);
        this.n--;
      } else this.qtys[lo] = qty;
      return;
    }
    if (qty === 0) return; // removing an absent level is normal
    if (this.n === keys.length) this.grow();
    const k = this.keys;
    const q = this.qtys;
    k.copyWithin(lo + 1, lo, this.n);
    q.copyWithin(lo + 1, lo, this.n);
    k[lo] = key;
    q[lo] = qty;
    this.n++;
  }

  /** Best price, or NaN when empty. */
  best(): number {
    if (this.n === 0) return NaN;
    const k = this.keys[this.n - 1]!;
    return this.isBid ? k : -k;
  }

  /** i-th level from the best (0 = best). */
  priceAt(i: number): number {
    const k = this.keys[this.n - 1 - i]!;
    return this.isBid ? k : -k;
  }
  qtyAt(i: number): number {
    return this.qtys[this.n - 1 - i]!;
  }

  get(price: number): number {
    const key = this.isBid ? price : -price;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.n && this.keys[lo] === key ? this.qtys[lo]! : 0;
  }

  /** Up to `limit` levels best first as new BookLevel objects (snapshots; not the hot path). */
  levels(limit = this.n): BookLevel[] {
    const out: BookLevel[] = [];
    const m = Math.min(limit, this.n);
    for (let i = 0; i < m; i++) out.push({ price: this.priceAt(i), qty: this.qtyAt(i) });
    return out;
  }

  private grow(): void {
    const k = new Float64Array(this.keys.length * 2);
    const q = new Float64Array(this.qtys.length * 2);
    k.set(this.keys);
    q.set(this.qtys);
    this.keys = k;
    this.qtys = q;
  }
}

/**
 * The adapter's own copy of a venue book, used to decide when to resync: crossed book
 * (best bid >= best ask) and venue checksums need the book as the adapter sees it.
 */
export class MirrorBook {
  readonly bids = new MirrorSide(true);
  readonly asks = new MirrorSide(false);
  seq = 0;

  clear(): void {
    this.bids.clear();
    this.asks.clear();
    this.seq = 0;
  }

  apply(bids: readonly BookLevel[], asks: readonly BookLevel[]): void {
    for (let i = 0; i < bids.length; i++) this.bids.set(bids[i]!.price, bids[i]!.qty);
    for (let i = 0; i < asks.length; i++) this.asks.set(asks[i]!.price, asks[i]!.qty);
  }

  isCrossed(): boolean {
    const b = this.bids.best();
    const a = this.asks.best();
    return b >= a; // NaN compares false: an empty side is never crossed
  }
}

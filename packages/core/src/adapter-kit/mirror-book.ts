import type { BookLevel } from '../domain/events.js';
import { SortedLevels } from '../microstructure/sorted-levels.js';

/**
 * One side of the adapter's mirror book, in prices: a view over the microstructure engine's
 * `SortedLevels` (bid key = price, ask key = -price, best level last), so the adapter and the
 * engine keep books with the same structure and no allocation per update.
 */
export class MirrorSide {
  private readonly sorted: SortedLevels;

  constructor(
    readonly isBid: boolean,
    capacity = 256,
  ) {
    this.sorted = new SortedLevels(capacity);
  }

  /** Number of levels. */
  get n(): number {
    return this.sorted.n;
  }

  clear(): void {
    this.sorted.clear();
  }

  /** Sets the absolute quantity at a price; 0 removes the level (removing an absent one is normal). */
  set(price: number, qty: number): void {
    this.sorted.set(this.isBid ? price : -price, qty);
  }

  /**
   * Replaces the side with a snapshot's levels: the same side as clear() then set() per level in
   * order (the last level of a price wins, a last qty 0 removes it), without per-level inserts.
   * Best-first input (how venues list a snapshot) lands at index 0 of SortedLevels, which keeps
   * the best level last, so set() per level shifts every level already loaded: O(n^2), about half
   * a second on the feed thread for 50k levels a side. Strictly monotone input (best-first or
   * worst-first) is written straight into place in one pass; anything else (shuffled, duplicates)
   * is sorted once, O(n log n), in the side's own arrays.
   * Expects validated levels (BookSync refuses non-integer prices before loading).
   */
  load(levels: readonly BookLevel[]): void {
    this.sorted.load(levels, this.isBid ? 1 : -1);
  }

  /** Best price, or NaN when empty. */
  best(): number {
    return this.sorted.n === 0 ? NaN : this.priceAt(0);
  }

  /** i-th level from the best (0 = best). */
  priceAt(i: number): number {
    const k = this.sorted.keys[this.sorted.n - 1 - i]!;
    return this.isBid ? k : -k;
  }
  qtyAt(i: number): number {
    return this.sorted.qtys[this.sorted.n - 1 - i]!;
  }

  get(price: number): number {
    return this.sorted.get(this.isBid ? price : -price);
  }

  /** Up to `limit` levels best first as new BookLevel objects (snapshots; not the hot path). */
  levels(limit = this.n): BookLevel[] {
    const out: BookLevel[] = [];
    const m = Math.min(limit, this.n);
    for (let i = 0; i < m; i++) out.push({ price: this.priceAt(i), qty: this.qtyAt(i) });
    return out;
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

  /**
   * Replaces both sides with a snapshot (see MirrorSide.load: the book apply() onto an empty
   * book would give, in linear time for venue-ordered input). `seq` is left to the caller.
   */
  load(bids: readonly BookLevel[], asks: readonly BookLevel[]): void {
    this.bids.load(bids);
    this.asks.load(asks);
  }

  /** Applies levels one by one onto the book (deltas; a snapshot goes through load()). */
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

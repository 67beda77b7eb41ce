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
    const s = this.sorted;
    const n = levels.length;
    s.clear();
    s.ensureCapacity(n);
    const sign = this.isBid ? 1 : -1;
    // one pass: is the input strictly decreasing in key (best first) or strictly increasing?
    let desc = true;
    let asc = true;
    let live = n === 0 ? 0 : levels[0]!.qty !== 0 ? 1 : 0;
    let prev = n === 0 ? 0 : sign * levels[0]!.price;
    for (let i = 1; i < n && (desc || asc); i++) {
      const l = levels[i]!;
      const key = sign * l.price;
      // written as !(a > b) so a NaN key takes the sorting path, not a fast one
      if (!(prev > key)) desc = false;
      if (!(prev < key)) asc = false;
      prev = key;
      if (l.qty !== 0) live++;
    }
    const keys = s.keys;
    const qtys = s.qtys;
    if (desc || asc) {
      // no price repeats, so a qty 0 level is a no-op delete of an absent price: skipped
      let j = desc ? live - 1 : 0;
      const step = desc ? -1 : 1;
      for (let i = 0; i < n; i++) {
        const l = levels[i]!;
        if (l.qty === 0) continue;
        keys[j] = sign * l.price;
        qtys[j] = l.qty;
        j += step;
      }
      s.n = live;
      return;
    }
    s.n = loadUnsorted(keys, qtys, levels, sign);
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
 * Snapshot levels in any order, prices possibly repeated, into `keys`/`qtys` (capacity >= the
 * number of levels); returns the number of live levels. The keys are sorted natively and made
 * unique, each level's qty is written at its key's place in input order (so the last level of a
 * price wins, as set() per level would have it), and qty 0 places are squeezed out.
 */
function loadUnsorted(keys: Float64Array, qtys: Float64Array, levels: readonly BookLevel[], sign: 1 | -1): number {
  const n = levels.length;
  for (let i = 0; i < n; i++) keys[i] = sign * levels[i]!.price;
  keys.subarray(0, n).sort();
  let u = 0;
  for (let i = 0; i < n; i++) if (u === 0 || keys[i] !== keys[u - 1]) keys[u++] = keys[i]!;
  for (let i = 0; i < n; i++) {
    const key = sign * levels[i]!.price;
    let lo = 0;
    let hi = u - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    qtys[lo] = levels[i]!.qty;
  }
  let k = 0;
  for (let j = 0; j < u; j++) {
    const q = qtys[j]!;
    if (q === 0) continue;
    keys[k] = keys[j]!;
    qtys[k] = q;
    k++;
  }
  return k;
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

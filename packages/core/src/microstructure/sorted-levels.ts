/**
 * One side of an L2 book as two parallel typed arrays sorted by a key, best level LAST.
 *
 * key = price for bids (ascending: highest bid at the end) and key = -price for asks (lowest
 * ask at the end), so one implementation serves both sides and "best" is always index n-1.
 * Updates cluster near the top of book, so lookups gallop from the end (O(log d) where d is
 * the distance from the best level) and inserts/removes shift only the levels between the
 * touched one and the top (copyWithin: a memmove, no allocation). Any tick range works: keys
 * are float64 holding integers up to 2^53. Arrays double when full (the only allocation).
 */
export class SortedLevels {
  keys: Float64Array;
  qtys: Float64Array;
  n = 0;

  constructor(initialCapacity = 256) {
    const cap = Math.max(4, initialCapacity | 0);
    this.keys = new Float64Array(cap);
    this.qtys = new Float64Array(cap);
  }

  clear(): void {
    this.n = 0;
  }

  /** Index of `key`, or -(insertionPoint + 1) when absent. */
  find(key: number): number {
    const keys = this.keys;
    let hi = this.n - 1;
    if (hi < 0) return -1;
    // Gallop down from the top: most updates touch the first few levels.
    const top = keys[hi]!;
    if (key >= top) return key === top ? hi : -(hi + 2);
    let step = 1;
    let lo = hi - 1;
    while (lo >= 0 && keys[lo]! > key) {
      hi = lo;
      step <<= 1;
      lo = hi - step;
    }
    if (lo < 0) lo = 0;
    else if (keys[lo] === key) return lo;
    // keys[hi] > key; binary search in [lo, hi)
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid]!;
      if (k < key) lo = mid + 1;
      else if (k > key) hi = mid;
      else return mid;
    }
    return -(lo + 1);
  }

  /** Sets the quantity at `key` (0 removes). */
  set(key: number, qty: number): void {
    const i = this.find(key);
    if (i >= 0) {
      if (qty === 0) this.removeAt(i);
      else this.qtys[i] = qty;
      return;
    }
    if (qty === 0) return;
    this.insertAt(-i - 1, key, qty);
  }

  get(key: number): number {
    const i = this.find(key);
    return i >= 0 ? this.qtys[i]! : 0;
  }

  insertAt(pos: number, key: number, qty: number): void {
    const n = this.n;
    if (n === this.keys.length) this.grow();
    const keys = this.keys;
    const qtys = this.qtys;
    if (n - pos > 32) {
      keys.copyWithin(pos + 1, pos, n);
      qtys.copyWithin(pos + 1, pos, n);
    } else {
      // near the top (the common case) a plain loop beats the copyWithin call
      for (let i = n; i > pos; i--) {
        keys[i] = keys[i - 1]!;
        qtys[i] = qtys[i - 1]!;
      }
    }
    keys[pos] = key;
    qtys[pos] = qty;
    this.n = n + 1;
  }

  removeAt(pos: number): void {
    const n = this.n - 1;
    const keys = this.keys;
    const qtys = this.qtys;
    if (n - pos > 32) {
      keys.copyWithin(pos, pos + 1, n + 1);
      qtys.copyWithin(pos, pos + 1, n + 1);
    } else {
      for (let i = pos; i < n; i++) {
        keys[i] = keys[i + 1]!;
        qtys[i] = qtys[i + 1]!;
      }
    }
    this.n = n;
  }

  /** Sum of quantities of levels whose key is >= minKey (levels at least as good). */
  sumFrom(minKey: number): number {
    let s = 0;
    for (let i = this.n - 1; i >= 0 && this.keys[i]! >= minKey; i--) s += this.qtys[i]!;
    return s;
  }

  /**
   * Replaces every level with a snapshot's, given as prices (key = sign * price: 1 for bids, -1
   * for asks): the same side as clear() then set() per level in order (the last level of a price
   * wins, a last qty 0 removes it), never a level-by-level insert. Venues list a snapshot best
   * first, which set() would insert at index 0 (the best level is last), shifting every level
   * already loaded: O(n^2), over a second of a thread for 50k levels. Strictly monotone input
   * (best first or worst first) is written straight into place in one pass; anything else
   * (shuffled, repeated prices) is sorted once, O(n log n), in the side's own arrays.
   * Expects validated levels (integer prices): the book's and the adapter kit's checks run first.
   */
  load(levels: readonly { readonly price: number; readonly qty: number }[], sign: 1 | -1): void {
    const n = levels.length;
    this.n = 0;
    this.ensureCapacity(n);
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
    const keys = this.keys;
    const qtys = this.qtys;
    if (desc || asc) {
      // no price repeats, so a qty 0 level is a no-op delete of an absent price: skipped
      let j = desc ? live - 1 : 0;
      const step = desc ? -1 : 1;
      for (let i = 0; i < n; i++) {
        const l = levels[i]!;
        if (l.qty === 0) continue;
        keys[j] = sign * l.price + 0; // + 0: -0 and 0 are one key
        qtys[j] = l.qty;
        j += step;
      }
      this.n = live;
      return;
    }
    // Sorted natively and made unique; each level's qty is written at its key's place in input
    // order (the last of a price wins); qty 0 places are squeezed out. In place: the unique keys
    // and the kept levels never overtake the index being read.
    for (let i = 0; i < n; i++) keys[i] = sign * levels[i]!.price + 0;
    keys.subarray(0, n).sort();
    let u = 0;
    for (let i = 0; i < n; i++) if (u === 0 || keys[i] !== keys[u - 1]) keys[u++] = keys[i]!;
    for (let i = 0; i < n; i++) {
      const key = sign * levels[i]!.price + 0;
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
    this.n = k;
  }

  ensureCapacity(cap: number): void {
    while (this.keys.length < cap) this.grow();
  }

  private grow(): void {
    const k = new Float64Array(this.keys.length * 2);
    const q = new Float64Array(this.keys.length * 2);
    k.set(this.keys);
    q.set(this.qtys);
    this.keys = k;
    this.qtys = q;
  }
}

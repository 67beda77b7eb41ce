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

  /** Bulk load of levels given in ascending key order (strictly increasing, qty > 0). */
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

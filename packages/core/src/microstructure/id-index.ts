/**
 * Open-addressing hash map from integer ids (safe integers, stored as float64) to int32 slots.
 * Linear probing with backward-shift deletion (no tombstones), power-of-two capacity, load
 * factor <= 1/2. Allocates only when it grows. Used instead of Map on the matching hot path
 * because Map rehashes (allocating) as deletions and insertions churn.
 */
export class IdIndex {
  private keys: Float64Array;
  private vals: Int32Array;
  private mask: number;
  size = 0;

  constructor(expected = 1024) {
    let cap = 16;
    while (cap < expected * 2) cap <<= 1;
    this.keys = new Float64Array(cap);
    this.vals = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
  }

  private static hash(id: number): number {
    const lo = id >>> 0;
    const hi = (id / 4294967296) | 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1);
    h ^= h >>> 15;
    return h;
  }

  get(id: number): number {
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    let i = IdIndex.hash(id) & mask;
    for (;;) {
      const v = vals[i]!;
      if (v === -1) return -1;
      if (keys[i] === id) return v;
      i = (i + 1) & mask;
    }
  }

  /** Inserts or overwrites. */
  set(id: number, slot: number): void {
    if ((this.size + 1) * 2 > this.vals.length) this.grow();
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    let i = IdIndex.hash(id) & mask;
    for (;;) {
      const v = vals[i]!;
      if (v === -1) {
        keys[i] = id;
        vals[i] = slot;
        this.size++;
        return;
      }
      if (keys[i] === id) {
        vals[i] = slot;
        return;
      }
      i = (i + 1) & mask;
    }
  }

  /** Removes `id`; returns its slot or -1. */
  delete(id: number): number {
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    let i = IdIndex.hash(id) & mask;
    for (;;) {
      const v = vals[i]!;
      if (v === -1) return -1;
      if (keys[i] === id) break;
      i = (i + 1) & mask;
    }
    const removed = vals[i]!;
    // Backward-shift: move later entries of the probe run into the hole when allowed.
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (vals[j] === -1) break;
      const home = IdIndex.hash(keys[j]!) & mask;
      // Entry at j may move to hole if its home is not in (hole, j] cyclically.
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        keys[hole] = keys[j]!;
        vals[hole] = vals[j]!;
        hole = j;
      }
    }
    vals[hole] = -1;
    this.size--;
    return removed;
  }

  clear(): void {
    this.vals.fill(-1);
    this.size = 0;
  }

  private grow(): void {
    const oldK = this.keys;
    const oldV = this.vals;
    const cap = oldV.length * 2;
    this.keys = new Float64Array(cap);
    this.vals = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    this.size = 0;
    for (let i = 0; i < oldV.length; i++) if (oldV[i] !== -1) this.set(oldK[i]!, oldV[i]!);
  }
}

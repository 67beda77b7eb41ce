/**
 * Keys in the order they were added, oldest first, optionally with a time per key: O(1) at
 * both ends, no allocation per entry once grown (capacity doubles, a power of two). The
 * insertion order of the bounded id windows (bounded-ids.ts) and the order manager's closed
 * orders with when they closed.
 */
export class KeyRing<K> {
  private keys: (K | undefined)[];
  /** When each key was added (clock ms), for a ring made with `timed`. */
  private times: Float64Array | undefined;
  private head = 0;
  size = 0;

  constructor(options: { initial?: number; timed?: boolean } = {}) {
    let n = 16;
    while (n < (options.initial ?? 16)) n *= 2;
    this.keys = new Array<K | undefined>(n);
    this.times = options.timed ? new Float64Array(n) : undefined;
  }

  push(key: K, at = 0): void {
    if (this.size === this.keys.length) this.grow();
    const i = (this.head + this.size) & (this.keys.length - 1);
    this.keys[i] = key;
    if (this.times !== undefined) this.times[i] = at;
    this.size++;
  }

  /** When the oldest key was added (a timed ring, not empty). */
  oldestAt(): number {
    return this.times![this.head]!;
  }

  /** Removes and returns the oldest key (the ring must not be empty). */
  shift(): K {
    const key = this.keys[this.head] as K;
    this.keys[this.head] = undefined; // nothing kept alive by the ring
    this.head = (this.head + 1) & (this.keys.length - 1);
    this.size--;
    return key;
  }

  private grow(): void {
    const n = this.keys.length;
    const keys = new Array<K | undefined>(n * 2);
    const times = this.times === undefined ? undefined : new Float64Array(n * 2);
    for (let k = 0; k < this.size; k++) {
      const from = (this.head + k) & (n - 1);
      keys[k] = this.keys[from];
      if (times !== undefined) times[k] = this.times![from]!;
    }
    this.keys = keys;
    this.times = times;
    this.head = 0;
  }
}

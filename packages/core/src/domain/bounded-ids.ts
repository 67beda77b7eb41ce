import { KeyRing } from './key-ring.js';

/**
 * Windows of recent ids (applied trade ids, finished orders, deduplicated reports) that forget
 * their oldest entries past a capacity, in O(1) per add.
 *
 * Why not `set.delete(set.values().next().value)`: V8's hash tables keep deleted entries as
 * holes until the next rehash, and a new iterator walks the holes at the front every time. Once
 * such a window is full, every add skips up to (table size - capacity) holes: measured on this
 * project's machine, 1.4 us per add at 4,096 ids, 19 us at 65,536 and ~49 us at 100,000
 * (docs/performance.md, "Order bookkeeping"). Here the order of insertion is kept in a ring
 * of its own, so forgetting the oldest costs the same at any capacity.
 */

function checkCapacity(capacity: number): number {
  if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  return capacity;
}

/** A set of ids that forgets the oldest added past `capacity` (ids of applied trades, finished orders). */
export class BoundedIdSet<K = string> {
  private readonly set = new Set<K>();
  private readonly order = new KeyRing<K>();
  private readonly capacity: number;

  constructor(capacity = 65_536) {
    this.capacity = checkCapacity(capacity);
  }

  has(id: K): boolean {
    return this.set.has(id);
  }

  /** Adds; false when it was already there (it keeps its place: age is from the first add). */
  add(id: K): boolean {
    if (this.set.has(id)) return false;
    this.set.add(id);
    this.order.push(id);
    if (this.set.size > this.capacity) this.set.delete(this.order.shift());
    return true;
  }

  get size(): number {
    return this.set.size;
  }
}

/**
 * A map that forgets the key added first once it holds more than `capacity` keys. Setting a key
 * it holds changes the value and keeps the key's place. Iteration is in insertion order (a Map's).
 */
export class BoundedIdMap<K, V> {
  private readonly map = new Map<K, V>();
  private readonly order = new KeyRing<K>();
  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = checkCapacity(capacity);
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): this {
    if (!this.map.has(key)) {
      this.order.push(key);
      this.map.set(key, value);
      if (this.map.size > this.capacity) this.map.delete(this.order.shift());
    } else this.map.set(key, value);
    return this;
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }

  get size(): number {
    return this.map.size;
  }
}

/**
 * Pools and slabs so the hot path allocates nothing in steady state.
 *
 * - IndexAllocator: free list of integer slots for struct-of-arrays slabs (typed arrays indexed
 *   by slot). The matching engine keeps orders and price levels this way.
 * - ObjectPool: preallocated reusable objects (events, order records, reports) with explicit
 *   acquire/release and a reset hook.
 */

export class IndexAllocator {
  private stack: Int32Array;
  private top = 0;
  /** Slots ever handed out (high-water mark); slots < next are in use or on the free list. */
  next = 0;
  inUse = 0;

  constructor(initialCapacity = 1024) {
    this.stack = new Int32Array(Math.max(16, initialCapacity));
  }

  /** Returns a free slot: a recycled one, else the next new one (caller grows its arrays when slot >= capacity). */
  alloc(): number {
    this.inUse++;
    if (this.top > 0) return this.stack[--this.top]!;
    return this.next++;
  }

  free(slot: number): void {
    if (this.top === this.stack.length) {
      const s = new Int32Array(this.stack.length * 2);
      s.set(this.stack);
      this.stack = s;
    }
    this.stack[this.top++] = slot;
    this.inUse--;
  }

  reset(): void {
    this.top = 0;
    this.next = 0;
    this.inUse = 0;
  }
}

export interface ObjectPoolOptions<T> {
  /** Creates a fresh object (called up front for `initial` objects and when the pool runs dry). */
  create: () => T;
  /** Clears an object on release (optional). */
  reset?: (obj: T) => void;
  /** Objects created up front. Default 1024. */
  initial?: number;
  /** Upper bound of objects kept on the free list; extra releases are dropped to the GC. */
  maxFree?: number;
}

/**
 * Stack-based object pool. acquire() pops a free object (creates one only when empty, counted
 * in `misses`); release() resets it and pushes it back. Releasing an object twice is a bug the
 * pool cannot see cheaply: keep ownership clear (the consumer that finishes with an event
 * releases it).
 */
export class ObjectPool<T> {
  private readonly free: T[] = [];
  private readonly create: () => T;
  private readonly resetFn: ((obj: T) => void) | undefined;
  private readonly maxFree: number;
  /** Objects created because the pool was empty (should stay flat in steady state). */
  misses = 0;
  created = 0;

  constructor(options: ObjectPoolOptions<T>) {
    this.create = options.create;
    this.resetFn = options.reset;
    this.maxFree = options.maxFree ?? Infinity;
    const n = options.initial ?? 1024;
    for (let i = 0; i < n; i++) this.free.push(this.create());
    this.created = n;
  }

  get available(): number {
    return this.free.length;
  }

  acquire(): T {
    const o = this.free.pop();
    if (o !== undefined) return o;
    this.misses++;
    this.created++;
    return this.create();
  }

  release(obj: T): void {
    this.resetFn?.(obj);
    if (this.free.length < this.maxFree) this.free.push(obj);
  }
}

/**
 * Single-producer single-consumer ring buffer of fixed-size records on a SharedArrayBuffer.
 *
 * One thread writes, one thread reads (e.g. a feed worker parsing frames -> the engine thread).
 * Create it on one side with `SpscRing.create(capacity, recordBytes)`, send `ring.buffer` (the
 * SharedArrayBuffer) to the other thread with postMessage, and attach there with
 * `new SpscRing(buffer)`.
 *
 * Layout (bytes): [0,64) write counter | [64,128) read counter | [128,192) flags and geometry |
 * [192, ...) records. Counters are free-running uint32 record counts (wrap-around safe);
 * capacity is a power of two. write()/read() cache the other side's counter and re-read it only
 * when the cached value says there is not enough room/data, so a steady stream costs about one
 * atomic load and one atomic store per batch on each side.
 *
 * Two APIs:
 * - copying: write(src, srcRecord, count) / read(dst, dstRecord, max) with Int32Array records
 *   (bit-exact for any record content);
 * - zero-copy: claim slots with writable()/slotWord(k), fill `i32`/`f64` in place, publish(n);
 *   consume with readable()/readSlotWord(k), then release(n).
 *
 * Blocking: waitReadable / waitWritable spin for `spin` iterations, then Atomics.wait (allowed in
 * workers and on Node's main thread); waitReadableAsync uses Atomics.waitAsync for an event loop
 * that must not block. The producer only calls Atomics.notify when the consumer has announced
 * it is sleeping (flag), so the non-blocking fast path has no notify cost. close() wakes both.
 */

const W = 0; // write counter (int32 index)
const R = 16; // read counter (byte 64)
const CLOSED = 32; // byte 128
const CONSUMER_SLEEPING = 33;
const PRODUCER_SLEEPING = 34;
const CAPACITY = 35;
const RECORD_BYTES = 36;
const MAGIC = 37;
const MAGIC_VALUE = 0x52494e47; // "RING"
const HEADER_BYTES = 192;

export type RingWaitResult = 'ok' | 'timed-out' | 'closed';

export class SpscRing {
  readonly buffer: SharedArrayBuffer;
  /** Header counters and flags. */
  private readonly h: Int32Array;
  /** Record storage as int32 words / float64s / bytes (same memory). */
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly u8: Uint8Array;
  readonly capacity: number;
  readonly recordBytes: number;
  /** int32 words per record. */
  readonly recordWords: number;
  private readonly mask: number;
  // local caches (each side only uses its own pair)
  private wLocal = 0;
  private rCached = 0;
  private rLocal = 0;
  private wCached = 0;
  private rPublished = 0;
  private readonly releaseBatch: number;

  /** Allocates a ring of `capacity` records (rounded up to a power of two) of `recordBytes` (multiple of 8). */
  static create(capacity: number, recordBytes: number): SpscRing {
    if (!Number.isInteger(recordBytes) || recordBytes <= 0 || recordBytes % 8 !== 0) throw new RangeError(`recordBytes must be a positive multiple of 8, got ${recordBytes}`);
    if (!Number.isInteger(capacity) || capacity < 2 || capacity > 1 << 30) throw new RangeError(`capacity must be an integer in [2, 2^30], got ${capacity}`);
    let cap = 2;
    while (cap < capacity) cap <<= 1;
    const sab = new SharedArrayBuffer(HEADER_BYTES + cap * recordBytes);
    const h = new Int32Array(sab, 0, HEADER_BYTES / 4);
    h[CAPACITY] = cap;
    h[RECORD_BYTES] = recordBytes;
    h[MAGIC] = MAGIC_VALUE;
    return new SpscRing(sab);
  }

  /** Attaches to a ring created (possibly in another thread) by SpscRing.create. */
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.h = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    if (this.h[MAGIC] !== MAGIC_VALUE) throw new TypeError('not an SpscRing buffer (create it with SpscRing.create)');
    this.capacity = this.h[CAPACITY]!;
    this.recordBytes = this.h[RECORD_BYTES]!;
    this.recordWords = this.recordBytes >> 2;
    this.mask = this.capacity - 1;
    this.i32 = new Int32Array(buffer, HEADER_BYTES, this.capacity * this.recordWords);
    this.f64 = new Float64Array(buffer, HEADER_BYTES, (this.capacity * this.recordBytes) >> 3);
    this.u8 = new Uint8Array(buffer, HEADER_BYTES, this.capacity * this.recordBytes);
    this.wLocal = Atomics.load(this.h, W);
    this.rLocal = Atomics.load(this.h, R);
    this.rCached = this.rLocal;
    this.wCached = this.wLocal;
    this.rPublished = this.rLocal;
    this.releaseBatch = Math.max(1, this.capacity >> 3);
  }

  get closed(): boolean {
    return Atomics.load(this.h, CLOSED) === 1;
  }

  /**
   * Records the producer may not overwrite yet (either side may call; a snapshot). It counts up
   * to capacity/8 records the consumer already took but has not released publicly yet (see
   * release()): the consumer's own backlog is consumerBacklog().
   */
  size(): number {
    return (Atomics.load(this.h, W) - Atomics.load(this.h, R)) >>> 0;
  }

  // ---- producer -------------------------------------------------------------------------

  /** Free record slots for the producer. */
  writable(): number {
    this.rCached = Atomics.load(this.h, R);
    return this.capacity - ((this.wLocal - this.rCached) >>> 0);
  }

  /** int32 word offset in `i32` of the k-th free slot (k < writable()). f64 index = word >> 1. */
  slotWord(k: number): number {
    return ((this.wLocal + k) & this.mask) * this.recordWords;
  }

  /** Publishes n claimed slots to the consumer. */
  publish(n: number): void {
    this.wLocal = (this.wLocal + n) | 0;
    Atomics.store(this.h, W, this.wLocal);
    // Only the sleeper clears its flag (after waking): a waker that cleared it could lose a
    // wake-up. A spurious notify is harmless: the sleeper re-checks the counter.
    if (Atomics.load(this.h, CONSUMER_SLEEPING) !== 0) Atomics.notify(this.h, W);
  }

  /**
   * Copies up to `count` records from `src` (int32 words, records starting at srcRecord) and
   * publishes them. Returns how many were written (fewer when the ring is full).
   */
  write(src: Int32Array, srcRecord: number, count: number): number {
    let free = this.capacity - ((this.wLocal - this.rCached) >>> 0);
    if (free < count) {
      this.rCached = Atomics.load(this.h, R);
      free = this.capacity - ((this.wLocal - this.rCached) >>> 0);
    }
    const n = count < free ? count : free;
    if (n === 0) return 0;
    const words = this.recordWords;
    const start = (this.wLocal & this.mask) * words;
    const first = Math.min(n, this.capacity - (this.wLocal & this.mask)) * words;
    const total = n * words;
    const dst = this.i32;
    const s = srcRecord * words;
    if (s === 0 && total === src.length && first === total) {
      dst.set(src, start); // whole array, contiguous: memcpy without a view allocation
    } else {
      copyWords(src, s, dst, start, first);
      if (total > first) copyWords(src, s + first, dst, 0, total - first);
    }
    this.publish(n);
    return n;
  }

  /**
   * write() that waits for space: spins `spin` times, then sleeps with Atomics.wait until the
   * consumer releases slots. Returns records written (short only on close or timeout).
   */
  writeBlocking(src: Int32Array, srcRecord: number, count: number, timeoutMs = Infinity, spin = 256): number {
    let done = 0;
    while (done < count) {
      done += this.write(src, srcRecord + done, count - done);
      if (done === count) break;
      if (this.waitWritable(timeoutMs, spin) !== 'ok') break;
    }
    return done;
  }

  /** Waits until at least one slot is free. */
  waitWritable(timeoutMs = Infinity, spin = 256): RingWaitResult {
    const deadline = timeoutMs === Infinity ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      if (this.closed) return 'closed';
      for (let i = 0; i < spin; i++) if (this.writable() > 0) return 'ok';
      const r = Atomics.load(this.h, R);
      Atomics.store(this.h, PRODUCER_SLEEPING, 1);
      if (this.writable() > 0) {
        Atomics.store(this.h, PRODUCER_SLEEPING, 0);
        return 'ok';
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        Atomics.store(this.h, PRODUCER_SLEEPING, 0);
        return 'timed-out';
      }
      Atomics.wait(this.h, R, r, left === Infinity ? undefined : left);
      Atomics.store(this.h, PRODUCER_SLEEPING, 0);
    }
  }

  /** Producer: no more records. The consumer drains what is queued, then sees `closed`. */
  close(): void {
    Atomics.store(this.h, CLOSED, 1);
    Atomics.notify(this.h, W);
    Atomics.notify(this.h, R);
  }

  // ---- consumer -------------------------------------------------------------------------

  /** Records available to the consumer. */
  readable(): number {
    this.wCached = Atomics.load(this.h, W);
    const avail = (this.wCached - this.rLocal) >>> 0;
    if (avail === 0 && this.rPublished !== this.rLocal) this.flushRelease();
    return avail;
  }

  /**
   * Records published and not yet consumed, from the consumer's own position (consumer side
   * only). size() reads the shared read counter, which release() publishes lazily (up to
   * capacity/8 records behind), so a gauge on the consumer's thread reads this instead: one
   * atomic load when it is sampled, nothing added per record or batch.
   */
  consumerBacklog(): number {
    return (Atomics.load(this.h, W) - this.rLocal) >>> 0;
  }

  /**
   * Consumer: releases everything readable now unread (its producer is gone and nobody will
   * read it) and publishes the read counter at once; returns how many records were discarded.
   */
  discardReadable(): number {
    const n = this.readable();
    if (n > 0) {
      this.rLocal = (this.rLocal + n) | 0;
      this.flushRelease();
    }
    return n;
  }

  /** int32 word offset in `i32` of the k-th readable record (k < readable()). */
  readSlotWord(k: number): number {
    return ((this.rLocal + k) & this.mask) * this.recordWords;
  }

  /**
   * Frees n consumed records for the producer. The read counter is published lazily: at once
   * when the consumer has caught up, when the producer sleeps, or every capacity/8 records, so a
   * consumer that is behind does not bounce the counter's cache line on every record.
   */
  release(n: number): void {
    this.rLocal = (this.rLocal + n) | 0;
    if (this.rLocal === this.wCached || ((this.rLocal - this.rPublished) >>> 0) >= this.releaseBatch || Atomics.load(this.h, PRODUCER_SLEEPING) !== 0) {
      this.flushRelease();
    }
  }

  /** Publishes the read counter now (called before the consumer waits). */
  flushRelease(): void {
    if (this.rPublished !== this.rLocal) {
      this.rPublished = this.rLocal;
      Atomics.store(this.h, R, this.rLocal);
    }
    if (Atomics.load(this.h, PRODUCER_SLEEPING) !== 0) Atomics.notify(this.h, R);
  }

  /** Copies up to `max` records into dst (int32 words at dstRecord) and releases them. */
  read(dst: Int32Array, dstRecord: number, max: number): number {
    let avail = (this.wCached - this.rLocal) >>> 0;
    if (avail < max) {
      this.wCached = Atomics.load(this.h, W);
      avail = (this.wCached - this.rLocal) >>> 0;
    }
    const n = max < avail ? max : avail;
    if (n === 0) {
      if (this.rPublished !== this.rLocal) this.flushRelease();
      return 0;
    }
    const words = this.recordWords;
    const start = (this.rLocal & this.mask) * words;
    const first = Math.min(n, this.capacity - (this.rLocal & this.mask)) * words;
    const total = n * words;
    const src = this.i32;
    const d = dstRecord * words;
    copyWords(src, start, dst, d, first);
    if (total > first) copyWords(src, 0, dst, d + first, total - first);
    this.release(n);
    return n;
  }

  /**
   * Waits until a record is readable: spins `spin` times, then Atomics.wait. Returns 'closed'
   * only when the producer closed AND everything was consumed.
   */
  waitReadable(timeoutMs = Infinity, spin = 256): RingWaitResult {
    const deadline = timeoutMs === Infinity ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      for (let i = 0; i < spin; i++) if (this.readable() > 0) return 'ok';
      if (this.closed) return this.readable() > 0 ? 'ok' : 'closed';
      this.flushRelease();
      const w = Atomics.load(this.h, W);
      Atomics.store(this.h, CONSUMER_SLEEPING, 1);
      if (this.readable() > 0 || this.closed) {
        Atomics.store(this.h, CONSUMER_SLEEPING, 0);
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        Atomics.store(this.h, CONSUMER_SLEEPING, 0);
        return 'timed-out';
      }
      Atomics.wait(this.h, W, w, left === Infinity ? undefined : left);
      Atomics.store(this.h, CONSUMER_SLEEPING, 0);
    }
  }

  /** Async variant for an event-loop thread (Atomics.waitAsync; no busy loop, no block). */
  async waitReadableAsync(timeoutMs = Infinity): Promise<RingWaitResult> {
    const deadline = timeoutMs === Infinity ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      if (this.readable() > 0) return 'ok';
      if (this.closed) return this.readable() > 0 ? 'ok' : 'closed';
      this.flushRelease();
      const w = Atomics.load(this.h, W);
      Atomics.store(this.h, CONSUMER_SLEEPING, 1);
      if (this.readable() > 0 || this.closed) {
        Atomics.store(this.h, CONSUMER_SLEEPING, 0);
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        Atomics.store(this.h, CONSUMER_SLEEPING, 0);
        return 'timed-out';
      }
      const res = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t?: number): { async: boolean; value: Promise<string> | string } }).waitAsync(this.h, W, w, left === Infinity ? undefined : left);
      if (res.async) await res.value;
      Atomics.store(this.h, CONSUMER_SLEEPING, 0);
    }
  }

  /** read() that waits for at least one record. Returns 0 only on close (drained) or timeout. */
  readBlocking(dst: Int32Array, dstRecord: number, max: number, timeoutMs = Infinity, spin = 256): number {
    const n = this.read(dst, dstRecord, max);
    if (n > 0) return n;
    if (this.waitReadable(timeoutMs, spin) !== 'ok') return 0;
    return this.read(dst, dstRecord, max);
  }
}

/** Word copy, unrolled by 8 (record sizes are multiples of 8 bytes, i.e. of 2 words). */
function copyWords(src: Int32Array, s: number, dst: Int32Array, d: number, n: number): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    dst[d + i] = src[s + i]!;
    dst[d + i + 1] = src[s + i + 1]!;
    dst[d + i + 2] = src[s + i + 2]!;
    dst[d + i + 3] = src[s + i + 3]!;
    dst[d + i + 4] = src[s + i + 4]!;
    dst[d + i + 5] = src[s + i + 5]!;
    dst[d + i + 6] = src[s + i + 6]!;
    dst[d + i + 7] = src[s + i + 7]!;
  }
  for (; i < n; i++) dst[d + i] = src[s + i]!;
}

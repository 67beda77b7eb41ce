/**
 * The pattern store: z-normalized windows of returns (length `dim`) with their forward outcome,
 * searched by Pearson correlation on the active compute backend (`patternScores`).
 *
 * Storage is dense: live patterns occupy slots [0, count) of one float32 slab, so a backend
 * scans exactly `count x dim` floats. Eviction is oldest-first (insertion order kept in a ring);
 * removing a pattern moves the last slot into the hole (O(dim)). On a backend with its own
 * memory the slab is mirrored in a DeviceBuffer and only the slots changed since the last query
 * are uploaded before the next one.
 *
 * The file format (save/load) is in pattern-file.ts.
 */
import type { ComputeBackend, DeviceBuffer, PatternScoresResult } from '../contracts/compute.js';
import { MAX_STORE_FLOATS, readPatternFile, readPatternHeader, writePatternFile } from './pattern-file.js';

export { MAX_STORE_FLOATS, PatternFileError, readPatternFile, readPatternHeader, crc32, PATTERN_FILE_MAGIC, PATTERN_FILE_VERSION, PATTERN_FILE_HEADER_BYTES, type PatternFileErrorCode, type PatternFileHeader } from './pattern-file.js';

// ---------------------------------------------------------------------------------------- store

export interface PatternStoreOptions {
  dim: number;
  capacity: number;
  /**
   * Bars between a window's end and its outcome, written to files; when > 0, `load` refuses a
   * file learnt with another horizon (HORIZON_MISMATCH). 0 (the default): not checked.
   */
  horizon?: number;
}

export class PatternStore {
  readonly dim: number;
  readonly capacity: number;
  readonly horizon: number;
  /** capacity x dim, slots [0, count) live. */
  readonly windows: Float32Array;
  readonly outcomes: Float32Array;
  readonly times: Float64Array;
  private countValue = 0;
  /** Insertion order: ring of slot ids (-1 = removed), absolute positions [head, tail). */
  private readonly order: Int32Array;
  private readonly posOf: Float64Array;
  private head = 0;
  private tail = 0;
  /** Slots changed since the device copy was last brought up to date: [dirtyLo, dirtyHi). */
  private dirtyLo = 0;
  private dirtyHi = 0;
  private device: { backend: ComputeBackend; buffer: DeviceBuffer } | undefined;
  private busy = 0;

  constructor(opts: PatternStoreOptions) {
    const { dim, capacity } = opts;
    if (!Number.isInteger(dim) || dim < 2) throw new RangeError(`PatternStore: dim must be an integer >= 2, got ${dim}`);
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`PatternStore: capacity must be a positive integer, got ${capacity}`);
    if (capacity * dim > MAX_STORE_FLOATS) throw new RangeError(`PatternStore: capacity ${capacity} x dim ${dim} exceeds ${MAX_STORE_FLOATS} floats (4 GiB)`);
    this.dim = dim;
    this.capacity = capacity;
    this.horizon = opts.horizon ?? 0;
    this.windows = new Float32Array(capacity * dim);
    this.outcomes = new Float32Array(capacity);
    this.times = new Float64Array(capacity);
    this.order = new Int32Array(capacity);
    this.posOf = new Float64Array(capacity);
  }

  get count(): number {
    return this.countValue;
  }

  /** True while a query is running on the backend; the store must not change meanwhile. */
  get queryInFlight(): boolean {
    return this.busy > 0;
  }

  private mutable(op: string): void {
    if (this.busy > 0) throw new Error(`PatternStore.${op}: the store changed while a query was in flight (queue changes until it completes)`);
  }

  private touch(slot: number): void {
    if (this.dirtyLo >= this.dirtyHi) {
      this.dirtyLo = slot;
      this.dirtyHi = slot + 1;
    } else {
      if (slot < this.dirtyLo) this.dirtyLo = slot;
      if (slot + 1 > this.dirtyHi) this.dirtyHi = slot + 1;
    }
  }

  /**
   * Adds a window (z-normalized here: mean 0, population sd 1; a constant or non-finite window
   * is stored as zeros, which scores 0 against everything) read from `src[offset .. offset+dim)`.
   * Evicts the oldest pattern when full. Returns the slot. O(dim). A non-finite outcome (also
   * one beyond float32's range, which is stored as Infinity) or timestamp is a RangeError, and
   * the store is unchanged: it would make every forecast it is a neighbour of non-finite.
   */
  add(src: ArrayLike<number>, offset: number, outcome: number, ts: number): number {
    this.mutable('add');
    checkFinite('add', outcome, ts);
    if (this.countValue === this.capacity) this.evictOldest(1);
    const slot = this.countValue++;
    zNormalizeInto(src, offset, this.dim, this.windows, slot * this.dim);
    this.outcomes[slot] = outcome;
    this.times[slot] = ts;
    this.pushOrder(slot);
    this.touch(slot);
    return slot;
  }

  /**
   * Adds a window from a ring buffer: `ring[(start + i) % ring.length]` for i in [0, dim).
   */
  addFromRing(ring: Float64Array, start: number, outcome: number, ts: number): number {
    this.mutable('add');
    checkFinite('addFromRing', outcome, ts);
    if (this.countValue === this.capacity) this.evictOldest(1);
    const slot = this.countValue++;
    zNormalizeRingInto(ring, start, this.dim, this.windows, slot * this.dim);
    this.outcomes[slot] = outcome;
    this.times[slot] = ts;
    this.pushOrder(slot);
    this.touch(slot);
    return slot;
  }

  /** Removes the `n` oldest patterns; returns how many were removed. */
  evictOldest(n = 1): number {
    this.mutable('evictOldest');
    let removed = 0;
    while (removed < n && this.head < this.tail) {
      const slot = this.order[this.head % this.capacity];
      this.head++;
      if (slot < 0) continue;
      this.removeSlot(slot, false);
      removed++;
    }
    return removed;
  }

  /** Removes every pattern whose timestamp is below `ts` (oldest first); returns the count. */
  evictBefore(ts: number): number {
    this.mutable('evictBefore');
    let removed = 0;
    while (this.head < this.tail) {
      const slot = this.order[this.head % this.capacity];
      if (slot >= 0 && this.times[slot] >= ts) break;
      this.head++;
      if (slot < 0) continue;
      this.removeSlot(slot, false);
      removed++;
    }
    return removed;
  }

  /** Removes the pattern in `slot` (the last slot moves into it). */
  remove(slot: number): void {
    this.mutable('remove');
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.countValue) throw new RangeError(`PatternStore.remove: no pattern in slot ${slot} (count ${this.countValue})`);
    this.removeSlot(slot, true);
  }

  clear(): void {
    this.mutable('clear');
    this.countValue = 0;
    this.head = this.tail = 0;
    this.dirtyLo = this.dirtyHi = 0;
  }

  /** Slots oldest first (allocates; for tests, files and tools). */
  slotsInOrder(): number[] {
    const out: number[] = [];
    for (let p = this.head; p < this.tail; p++) {
      const s = this.order[p % this.capacity];
      if (s >= 0) out.push(s);
    }
    return out;
  }

  private removeSlot(slot: number, tombstone: boolean): void {
    if (tombstone) this.order[this.posOf[slot] % this.capacity] = -1;
    const last = --this.countValue;
    if (slot !== last) {
      const d = this.dim;
      this.windows.copyWithin(slot * d, last * d, last * d + d);
      this.outcomes[slot] = this.outcomes[last];
      this.times[slot] = this.times[last];
      const p = this.posOf[last];
      this.posOf[slot] = p;
      this.order[p % this.capacity] = slot;
      this.touch(slot);
    }
    if (this.countValue === 0) this.head = this.tail;
  }

  private pushOrder(slot: number): void {
    if (this.tail - this.head === this.capacity) this.compactOrder();
    this.order[this.tail % this.capacity] = slot;
    this.posOf[slot] = this.tail;
    this.tail++;
  }

  /** Drops removed entries from the order ring (only after remove(); amortized O(1)). */
  private compactOrder(): void {
    const live = this.slotsInOrder();
    this.head = 0;
    this.tail = 0;
    for (const s of live) {
      this.order[this.tail] = s;
      this.posOf[s] = this.tail;
      this.tail++;
    }
  }

  // ------------------------------------------------------------------------------ querying

  /**
   * Top-k stored windows by Pearson correlation for each of `queryCount` query windows
   * (row-major in `queries`, normalized or not: correlation does not care). The store must not
   * change until the promise settles. On a backend with device memory the store lives in a
   * DeviceBuffer and only changed slots move.
   */
  async query(backend: ComputeBackend, queries: Float32Array, queryCount: number, topK: number, out?: { indices: Int32Array; scores: Float32Array }): Promise<PatternScoresResult> {
    if (this.countValue === 0) throw new Error('PatternStore.query: the store is empty');
    const k = Math.min(topK, this.countValue);
    this.busy++;
    try {
      const stored = await this.storedArg(backend);
      return await backend.patternScores({ stored, storedCount: this.countValue, dim: this.dim, queries, queryCount, topK: k, out });
    } finally {
      this.busy--;
    }
  }

  /** Synchronous query through `backend.sync` (host memory only). */
  querySync(backend: ComputeBackend, queries: Float32Array, queryCount: number, topK: number, out?: { indices: Int32Array; scores: Float32Array }): PatternScoresResult {
    if (!backend.sync) throw new Error(`PatternStore.querySync: backend ${backend.name} has no synchronous kernels`);
    if (this.countValue === 0) throw new Error('PatternStore.querySync: the store is empty');
    const k = Math.min(topK, this.countValue);
    return backend.sync.patternScores({ stored: this.windows, storedCount: this.countValue, dim: this.dim, queries, queryCount, topK: k, out });
  }

  private async storedArg(backend: ComputeBackend): Promise<Float32Array | DeviceBuffer> {
    const caps = backend.capabilities;
    // Resident where a host array would be moved or copied on every query: device memory, or a
    // host backend whose async calls copy their inputs (CPU SIMD: 256 MiB per query at 1M x 64).
    if (!(caps.deviceMemory || caps.copiesHostInputs === true) || this.windows.byteLength > caps.maxBufferBytes) return this.windows;
    if (this.device && this.device.backend !== backend) this.releaseDevice();
    if (!this.device) {
      this.device = { backend, buffer: backend.createBuffer(this.windows.byteLength) };
      this.dirtyLo = 0;
      this.dirtyHi = this.countValue;
    }
    if (this.dirtyHi > this.dirtyLo) {
      const d = this.dim;
      const lo = this.dirtyLo;
      const hi = Math.min(this.dirtyHi, this.countValue);
      // The range is forgotten only once the device holds it: cleared before a failed upload,
      // every later query scored against the device's stale slots (zeros, or evicted patterns)
      // without an error. The store cannot change while this query is in flight, so on failure
      // the same range is still the one to send next time.
      if (hi > lo) await backend.upload(this.device.buffer, this.windows.subarray(lo * d, hi * d), lo * d * 4);
      this.dirtyLo = this.dirtyHi = 0;
    }
    return this.device.buffer;
  }

  /** Bytes a query reads from the store (what a backend streams per batch). */
  bytesPerScan(): number {
    return this.countValue * this.dim * 4;
  }

  /** Frees the device copy (the host copy stays). */
  releaseDevice(): void {
    if (!this.device) return;
    try {
      this.device.backend.freeBuffer(this.device.buffer);
    } catch {
      // a disposed backend already released it
    }
    this.device = undefined;
  }

  // ------------------------------------------------------------------------------ files

  /** Writes the store (oldest first) to `path` atomically (a temporary file, then rename). */
  save(path: string): void {
    const slots = this.slotsInOrder();
    const d = this.dim;
    writePatternFile(path, {
      dim: d,
      horizon: this.horizon,
      count: slots.length,
      time: (i) => this.times[slots[i]],
      outcome: (i) => this.outcomes[slots[i]],
      copyWindow: (i, dst, dOff) => dst.set(this.windows.subarray(slots[i] * d, slots[i] * d + d), dOff),
    });
  }

  /**
   * Replaces the content with the patterns in `path` (kept in file order, oldest first). When the
   * file holds more patterns than the capacity, the newest `capacity` are kept. Throws a
   * PatternFileError (and leaves the store unchanged) for a missing, truncated or damaged file,
   * or one whose window length or (when this store has one) horizon is not this store's.
   */
  load(path: string): { count: number; horizon: number; skipped: number } {
    this.mutable('load');
    const file = readPatternFile(path, this.dim, this.horizon);
    const n = file.count;
    const keep = Math.min(n, this.capacity);
    const skip = n - keep;
    this.windows.set(file.windows.subarray(skip * this.dim, n * this.dim));
    this.outcomes.set(file.outcomes.subarray(skip, n));
    this.times.set(file.times.subarray(skip, n));
    this.countValue = keep;
    this.head = 0;
    this.tail = keep;
    for (let i = 0; i < keep; i++) {
      this.order[i] = i;
      this.posOf[i] = i;
    }
    this.dirtyLo = 0;
    this.dirtyHi = keep;
    return { count: keep, horizon: file.horizon, skipped: skip };
  }

  /** A new store holding the file's patterns (capacity: at least the file's count). */
  static fromFile(path: string, capacity?: number): PatternStore {
    const h = readPatternHeader(path);
    const store = new PatternStore({ dim: h.dim, capacity: Math.max(1, capacity ?? h.count), horizon: h.horizon });
    store.load(path);
    return store;
  }
}

// ---------------------------------------------------------------------------------------- helpers

const F32_MAX = 3.4028234663852886e38;

function checkFinite(op: string, outcome: number, ts: number): void {
  // |outcome| past float32's largest finite value (after rounding) would be stored as Infinity
  if (!(Math.abs(Math.fround(outcome)) <= F32_MAX) || !Number.isFinite(ts)) {
    throw new RangeError(`PatternStore.${op}: outcome ${outcome} and time ${ts} must be finite (the outcome within float32 range)`);
  }
}

/** Writes the z-normalized window src[off .. off+d) to dst[dOff ..]; zeros for a degenerate window. */
export function zNormalizeInto(src: ArrayLike<number>, off: number, d: number, dst: Float32Array, dOff: number): void {
  let sum = 0;
  for (let i = 0; i < d; i++) sum += src[off + i];
  const mean = sum / d;
  let ss = 0;
  for (let i = 0; i < d; i++) {
    const v = src[off + i] - mean;
    ss += v * v;
  }
  if (!(ss > 0) || !Number.isFinite(ss)) {
    dst.fill(0, dOff, dOff + d);
    return;
  }
  const inv = 1 / Math.sqrt(ss / d);
  for (let i = 0; i < d; i++) dst[dOff + i] = (src[off + i] - mean) * inv;
}

/** As zNormalizeInto, reading `ring[(start + i) % ring.length]`. */
export function zNormalizeRingInto(ring: Float64Array, start: number, d: number, dst: Float32Array, dOff: number): void {
  const n = ring.length;
  let sum = 0;
  for (let i = 0, j = start % n; i < d; i++, j = j + 1 === n ? 0 : j + 1) sum += ring[j];
  const mean = sum / d;
  let ss = 0;
  for (let i = 0, j = start % n; i < d; i++, j = j + 1 === n ? 0 : j + 1) {
    const v = ring[j] - mean;
    ss += v * v;
  }
  if (!(ss > 0) || !Number.isFinite(ss)) {
    dst.fill(0, dOff, dOff + d);
    return;
  }
  const inv = 1 / Math.sqrt(ss / d);
  for (let i = 0, j = start % n; i < d; i++, j = j + 1 === n ? 0 : j + 1) dst[dOff + i] = (ring[j] - mean) * inv;
}

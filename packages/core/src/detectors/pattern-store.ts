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
 * File layout (little-endian), version 1:
 *
 *   offset size  field
 *   0      8     magic "CWTSPAT\0"
 *   8      4     u32 version (1)
 *   12     4     u32 header size in bytes (64)
 *   16     4     u32 dim (window length D)
 *   20     4     u32 horizon H (bars between a window's end and its outcome; informational)
 *   24     4     u32 count N
 *   28     4     u32 flags (bit 0: windows are z-normalized)
 *   32     8     u64 payload size in bytes (= N x (8 + 4 + 4 D)), as two u32 (low, high)
 *   40     4     u32 CRC-32 (IEEE, as zlib) of the payload
 *   44     16    reserved, zero
 *   60     4     u32 CRC-32 of header bytes [0, 60)
 *   64     8N    f64 timestamps (venue ms of each window's last bar), oldest first
 *   ..     4N    f32 outcomes (log return over the H bars after the window)
 *   ..     4ND   f32 windows, row-major, oldest first
 *
 * Loading checks, in order: size >= 64, magic, header CRC, version, header size, dim, the file
 * size against N (truncated or trailing bytes), then the payload CRC; any failure is a
 * PatternFileError naming the file and what is wrong, and the store is left unchanged.
 */
import { closeSync, fstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import * as zlib from 'node:zlib';
import type { ComputeBackend, DeviceBuffer, PatternScoresResult } from '../contracts/compute.js';

export const PATTERN_FILE_MAGIC = 'CWTSPAT\0';
export const PATTERN_FILE_VERSION = 1;
export const PATTERN_FILE_HEADER_BYTES = 64;
/** Largest slab (capacity x dim float32 values) the store allocates. */
export const MAX_STORE_FLOATS = 2 ** 30 - 1;

export type PatternFileErrorCode = 'NOT_FOUND' | 'IO' | 'BAD_MAGIC' | 'BAD_HEADER' | 'UNSUPPORTED_VERSION' | 'TRUNCATED' | 'TRAILING_BYTES' | 'CHECKSUM' | 'DIM_MISMATCH' | 'TOO_LARGE';

export class PatternFileError extends Error {
  constructor(
    readonly code: PatternFileErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(`pattern file ${path}: ${message}`);
    this.name = 'PatternFileError';
  }
}

// ---------------------------------------------------------------------------------------- crc32

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

const nativeCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 (IEEE 802.3, as zlib and PNG), continuing from `prev` (0 to start). */
export function crc32(data: Uint8Array, prev = 0): number {
  if (nativeCrc32) return nativeCrc32(data, prev) >>> 0;
  let c = (prev ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const bytesOf = (a: Float32Array | Float64Array, from: number, to: number): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset + from * a.BYTES_PER_ELEMENT, (to - from) * a.BYTES_PER_ELEMENT);

// ---------------------------------------------------------------------------------------- store

export interface PatternStoreOptions {
  dim: number;
  capacity: number;
  /** Informational, written to files: bars between a window's end and its outcome. */
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
   * Evicts the oldest pattern when full. Returns the slot. O(dim).
   */
  add(src: ArrayLike<number>, offset: number, outcome: number, ts: number): number {
    this.mutable('add');
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
    if (!backend.capabilities.deviceMemory || this.windows.byteLength > backend.capabilities.maxBufferBytes) return this.windows;
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
      this.dirtyLo = this.dirtyHi = 0;
      if (hi > lo) await backend.upload(this.device.buffer, this.windows.subarray(lo * d, hi * d), lo * d * 4);
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
    if (endianness() !== 'LE') throw new Error('PatternStore.save: big-endian hosts are not supported');
    const slots = this.slotsInOrder();
    const n = slots.length;
    const d = this.dim;
    const payloadBytes = n * (8 + 4 + 4 * d);
    const tmp = `${path}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, new Uint8Array(PATTERN_FILE_HEADER_BYTES), 0, PATTERN_FILE_HEADER_BYTES, 0);
      let crc = 0;
      let offset = PATTERN_FILE_HEADER_BYTES;
      const CHUNK = 8192;
      const chunkBytes = new ArrayBuffer(CHUNK * Math.max(8, 4 * d));
      const write = (bytes: Uint8Array): void => {
        crc = crc32(bytes, crc);
        writeSync(fd, bytes, 0, bytes.length, offset);
        offset += bytes.length;
      };
      const f64 = new Float64Array(chunkBytes);
      const f32 = new Float32Array(chunkBytes);
      for (let i = 0; i < n; i += CHUNK) {
        const m = Math.min(CHUNK, n - i);
        for (let j = 0; j < m; j++) f64[j] = this.times[slots[i + j]];
        write(new Uint8Array(chunkBytes, 0, m * 8));
      }
      for (let i = 0; i < n; i += CHUNK) {
        const m = Math.min(CHUNK, n - i);
        for (let j = 0; j < m; j++) f32[j] = this.outcomes[slots[i + j]];
        write(new Uint8Array(chunkBytes, 0, m * 4));
      }
      for (let i = 0; i < n; i += CHUNK) {
        const m = Math.min(CHUNK, n - i);
        for (let j = 0; j < m; j++) {
          const s = slots[i + j];
          f32.set(this.windows.subarray(s * d, s * d + d), j * d);
        }
        write(new Uint8Array(chunkBytes, 0, m * d * 4));
      }
      const header = encodeHeader({ dim: d, horizon: this.horizon, count: n, flags: 1, payloadBytes, payloadCrc: crc });
      writeSync(fd, header, 0, header.length, 0);
    } catch (err) {
      closeSync(fd);
      try {
        unlinkSync(tmp);
      } catch {
        // nothing to clean
      }
      throw err;
    }
    closeSync(fd);
    renameSync(tmp, path);
  }

  /**
   * Replaces the content with the patterns in `path` (kept in file order, oldest first). When the
   * file holds more patterns than the capacity, the newest `capacity` are kept. Throws a
   * PatternFileError (and leaves the store unchanged) for a missing, truncated or damaged file.
   */
  load(path: string): { count: number; horizon: number; skipped: number } {
    this.mutable('load');
    const file = readPatternFile(path, this.dim);
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

interface HeaderFields {
  dim: number;
  horizon: number;
  count: number;
  flags: number;
  payloadBytes: number;
  payloadCrc: number;
}

function encodeHeader(h: HeaderFields): Uint8Array {
  const b = new Uint8Array(PATTERN_FILE_HEADER_BYTES);
  const v = new DataView(b.buffer);
  for (let i = 0; i < 8; i++) b[i] = PATTERN_FILE_MAGIC.charCodeAt(i);
  v.setUint32(8, PATTERN_FILE_VERSION, true);
  v.setUint32(12, PATTERN_FILE_HEADER_BYTES, true);
  v.setUint32(16, h.dim, true);
  v.setUint32(20, h.horizon, true);
  v.setUint32(24, h.count, true);
  v.setUint32(28, h.flags, true);
  v.setUint32(32, h.payloadBytes % 2 ** 32, true);
  v.setUint32(36, Math.floor(h.payloadBytes / 2 ** 32), true);
  v.setUint32(40, h.payloadCrc, true);
  v.setUint32(60, crc32(b.subarray(0, 60)), true);
  return b;
}

export interface PatternFileHeader extends HeaderFields {
  version: number;
  fileBytes: number;
}

function openFile(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PatternFileError(code === 'ENOENT' ? 'NOT_FOUND' : 'IO', path, code === 'ENOENT' ? 'no such file' : `cannot open: ${String((err as Error).message)}`);
  }
}

function parseHeader(path: string, fd: number): PatternFileHeader {
  const size = fstatSync(fd).size;
  if (size < PATTERN_FILE_HEADER_BYTES) {
    throw new PatternFileError('TRUNCATED', path, `truncated: ${size} bytes, shorter than the ${PATTERN_FILE_HEADER_BYTES}-byte header`);
  }
  const b = new Uint8Array(PATTERN_FILE_HEADER_BYTES);
  readSync(fd, b, 0, PATTERN_FILE_HEADER_BYTES, 0);
  for (let i = 0; i < 8; i++) {
    if (b[i] !== PATTERN_FILE_MAGIC.charCodeAt(i)) throw new PatternFileError('BAD_MAGIC', path, 'not a CWTS pattern file (bad magic number)');
  }
  const v = new DataView(b.buffer);
  const storedHeaderCrc = v.getUint32(60, true);
  const headerCrc = crc32(b.subarray(0, 60));
  if (storedHeaderCrc !== headerCrc) {
    throw new PatternFileError('CHECKSUM', path, `header checksum mismatch (stored 0x${hex(storedHeaderCrc)}, computed 0x${hex(headerCrc)}): the file is damaged`);
  }
  const version = v.getUint32(8, true);
  if (version !== PATTERN_FILE_VERSION) throw new PatternFileError('UNSUPPORTED_VERSION', path, `unsupported version ${version} (this build reads version ${PATTERN_FILE_VERSION})`);
  const headerBytes = v.getUint32(12, true);
  if (headerBytes !== PATTERN_FILE_HEADER_BYTES) throw new PatternFileError('BAD_HEADER', path, `header size ${headerBytes}, expected ${PATTERN_FILE_HEADER_BYTES}`);
  const dim = v.getUint32(16, true);
  if (dim < 2) throw new PatternFileError('BAD_HEADER', path, `window length ${dim} is invalid (must be >= 2)`);
  const count = v.getUint32(24, true);
  const payloadBytes = v.getUint32(32, true) + v.getUint32(36, true) * 2 ** 32;
  const expected = count * (8 + 4 + 4 * dim);
  if (payloadBytes !== expected) throw new PatternFileError('BAD_HEADER', path, `payload size ${payloadBytes} does not match ${count} patterns of length ${dim} (${expected} bytes)`);
  const have = size - PATTERN_FILE_HEADER_BYTES;
  if (have < expected) {
    throw new PatternFileError('TRUNCATED', path, `truncated: the header announces ${count} patterns of length ${dim} (${expected + PATTERN_FILE_HEADER_BYTES} bytes), the file has ${size} bytes`);
  }
  if (have > expected) throw new PatternFileError('TRAILING_BYTES', path, `${have - expected} unexpected bytes after the last pattern`);
  return { version, dim, horizon: v.getUint32(20, true), count, flags: v.getUint32(28, true), payloadBytes, payloadCrc: v.getUint32(40, true), fileBytes: size };
}

/** Reads and checks a pattern file's header (not the payload checksum). */
export function readPatternHeader(path: string): PatternFileHeader {
  const fd = openFile(path);
  try {
    return parseHeader(path, fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads a whole pattern file into fresh arrays, verifying both checksums. */
export function readPatternFile(path: string, expectDim?: number): PatternFileHeader & { times: Float64Array; outcomes: Float32Array; windows: Float32Array } {
  if (endianness() !== 'LE') throw new Error('pattern files: big-endian hosts are not supported');
  const fd = openFile(path);
  try {
    const h = parseHeader(path, fd);
    if (expectDim !== undefined && h.dim !== expectDim) {
      throw new PatternFileError('DIM_MISMATCH', path, `windows have length ${h.dim}, this store uses ${expectDim}`);
    }
    if (h.count * h.dim > MAX_STORE_FLOATS) throw new PatternFileError('TOO_LARGE', path, `${h.count} patterns of length ${h.dim} exceed the store limit`);
    const times = new Float64Array(h.count);
    const outcomes = new Float32Array(h.count);
    const windows = new Float32Array(h.count * h.dim);
    let pos = PATTERN_FILE_HEADER_BYTES;
    let crc = 0;
    const CHUNK = 1 << 22;
    const fill = (target: Uint8Array): void => {
      for (let o = 0; o < target.length; o += CHUNK) {
        const view = target.subarray(o, Math.min(target.length, o + CHUNK));
        let got = 0;
        while (got < view.length) {
          const r = readSync(fd, view, got, view.length - got, pos + got);
          if (r === 0) throw new PatternFileError('TRUNCATED', path, `truncated while reading at byte ${pos + got}`);
          got += r;
        }
        crc = crc32(view, crc);
        pos += view.length;
      }
    };
    fill(bytesOf(times, 0, h.count));
    fill(bytesOf(outcomes, 0, h.count));
    fill(bytesOf(windows, 0, h.count * h.dim));
    if (crc !== h.payloadCrc) {
      throw new PatternFileError('CHECKSUM', path, `payload checksum mismatch (stored 0x${hex(h.payloadCrc)}, computed 0x${hex(crc)}): the file is damaged`);
    }
    return { ...h, times, outcomes, windows };
  } finally {
    closeSync(fd);
  }
}

const hex = (x: number): string => (x >>> 0).toString(16).padStart(8, '0');

/**
 * The pattern store's file format (PatternStore.save / load).
 *
 * File layout (little-endian), version 1:
 *
 *   offset size  field
 *   0      8     magic "CWTSPAT\0"
 *   8      4     u32 version (1)
 *   12     4     u32 header size in bytes (64)
 *   16     4     u32 dim (window length D)
 *   20     4     u32 horizon H (bars between a window's end and its outcome; 0 = not recorded)
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
 * size against N (truncated or trailing bytes), then (when the reader asks) the window length
 * and the horizon against the store's, then the payload CRC, then that every
 * timestamp, outcome and window value is finite (NON_FINITE, naming the row: a file from
 * another writer may carry log(0) = -Infinity with valid checksums); any failure is a
 * PatternFileError naming the file and what is wrong, and the store is left unchanged. Writing
 * refuses non-finite values the same way (nothing is written).
 */
import { closeSync, fstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import * as zlib from 'node:zlib';

export const PATTERN_FILE_MAGIC = 'CWTSPAT\0';
export const PATTERN_FILE_VERSION = 1;
export const PATTERN_FILE_HEADER_BYTES = 64;
/** Largest slab (capacity x dim float32 values) the store allocates. */
export const MAX_STORE_FLOATS = 2 ** 30 - 1;

export type PatternFileErrorCode = 'NOT_FOUND' | 'IO' | 'BAD_MAGIC' | 'BAD_HEADER' | 'UNSUPPORTED_VERSION' | 'TRUNCATED' | 'TRAILING_BYTES' | 'CHECKSUM' | 'DIM_MISMATCH' | 'HORIZON_MISMATCH' | 'TOO_LARGE' | 'NON_FINITE';

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

/** The rows of a store to write, oldest first. */
export interface PatternRows {
  dim: number;
  horizon: number;
  count: number;
  time(i: number): number;
  outcome(i: number): number;
  /** Copies row i's window (dim floats) into dst at dOff. */
  copyWindow(i: number, dst: Float32Array, dOff: number): void;
}

/** Writes `rows` to `path` atomically (a temporary file, then rename). */
export function writePatternFile(path: string, rows: PatternRows): void {
  if (endianness() !== 'LE') throw new Error('PatternStore.save: big-endian hosts are not supported');
  const n = rows.count;
  const d = rows.dim;
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
      for (let j = 0; j < m; j++) f64[j] = rows.time(i + j);
      const bad = firstNonFinite(f64, 0, m);
      if (bad >= 0) throw nonFinite(path, i + bad, 'timestamp', f64[bad]);
      write(new Uint8Array(chunkBytes, 0, m * 8));
    }
    for (let i = 0; i < n; i += CHUNK) {
      const m = Math.min(CHUNK, n - i);
      for (let j = 0; j < m; j++) f32[j] = rows.outcome(i + j);
      // checked as stored (float32): a finite f64 beyond float32's range becomes Infinity
      const bad = firstNonFinite(f32, 0, m);
      if (bad >= 0) throw nonFinite(path, i + bad, 'outcome', rows.outcome(i + bad));
      write(new Uint8Array(chunkBytes, 0, m * 4));
    }
    for (let i = 0; i < n; i += CHUNK) {
      const m = Math.min(CHUNK, n - i);
      for (let j = 0; j < m; j++) rows.copyWindow(i + j, f32, j * d);
      const bad = firstNonFinite(f32, 0, m * d);
      if (bad >= 0) throw nonFinite(path, i + Math.floor(bad / d), `window value ${bad % d}`, f32[bad]);
      write(new Uint8Array(chunkBytes, 0, m * d * 4));
    }
    const header = encodeHeader({ dim: d, horizon: rows.horizon, count: n, flags: 1, payloadBytes, payloadCrc: crc });
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

/**
 * Reads a whole pattern file into fresh arrays, verifying both checksums. `expectHorizon`
 * (when given and > 0) must equal the file's horizon: outcomes over another number of bars are
 * another quantity (a 32-bar return reported as a 4-bar forecast is 8x too large), and a file
 * that does not record its horizon (0) cannot be shown to match.
 */
export function readPatternFile(path: string, expectDim?: number, expectHorizon?: number): PatternFileHeader & { times: Float64Array; outcomes: Float32Array; windows: Float32Array } {
  if (endianness() !== 'LE') throw new Error('pattern files: big-endian hosts are not supported');
  const fd = openFile(path);
  try {
    const h = parseHeader(path, fd);
    if (expectDim !== undefined && h.dim !== expectDim) {
      throw new PatternFileError('DIM_MISMATCH', path, `windows have length ${h.dim}, this store uses ${expectDim}`);
    }
    if (expectHorizon !== undefined && expectHorizon > 0 && h.horizon !== expectHorizon) {
      const what = h.horizon === 0 ? 'do not record their horizon (0)' : `are log returns over ${h.horizon} bars`;
      throw new PatternFileError('HORIZON_MISMATCH', path, `outcomes ${what}, this store forecasts ${expectHorizon} bars (horizon); learn the file with the same horizon`);
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
    // Checksums prove the bytes are the writer's, not that the writer's values are usable: an
    // infinite outcome makes every forecast it is a neighbour of infinite.
    let bad = firstNonFinite(times, 0, h.count);
    if (bad >= 0) throw nonFinite(path, bad, 'timestamp', times[bad]);
    bad = firstNonFinite(outcomes, 0, h.count);
    if (bad >= 0) throw nonFinite(path, bad, 'outcome', outcomes[bad]);
    bad = firstNonFinite(windows, 0, h.count * h.dim);
    if (bad >= 0) throw nonFinite(path, Math.floor(bad / h.dim), `window value ${bad % h.dim}`, windows[bad]);
    return { ...h, times, outcomes, windows };
  } finally {
    closeSync(fd);
  }
}

const hex = (x: number): string => (x >>> 0).toString(16).padStart(8, '0');

/** Index of the first non-finite value in a[from, to), or -1. */
function firstNonFinite(a: Float32Array | Float64Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const v = a[i];
    // v - v is 0 for a finite number, NaN for an infinity or NaN
    if (v - v !== 0) return i;
  }
  return -1;
}

function nonFinite(path: string, row: number, what: string, value: number): PatternFileError {
  return new PatternFileError('NON_FINITE', path, `pattern ${row} (0-based, oldest first) has a non-finite ${what} (${value}); every timestamp, outcome and window value must be a finite number`);
}

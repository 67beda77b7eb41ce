/**
 * Lines of a recorded file, read synchronously in 1 MiB chunks; a .gz file is inflated as a
 * stream in chunks too (replay-gunzip.ts), so no file is ever held whole, whatever its size.
 * Every line a writer finished ends in '\n'; a last line without one was cut (the writer died,
 * the disk filled, the file was copied while written). It is never yielded, since a cut record
 * may still parse (a CSV amount `0.125` cut to `0.12`), and the cut is reported instead.
 */
import { isUtf8 } from 'node:buffer';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { gunzipChunks, type GunzipEnd } from './replay-gunzip.js';

const CHUNK = 1 << 20;
/**
 * Longest line read, in bytes (a line has no more characters than it has UTF-8 bytes, so none
 * over this many characters is read either); beyond it a line is yielded as `null` and its rest
 * discarded, so a file with no newline cannot exhaust memory.
 */
export const MAX_LINE_CHARS = 16 << 20;

export interface LineReaderEvents {
  /** The file ends inside a line (or inside its gzip stream); `detail` says how. */
  onTruncated(detail: string): void;
  /** The file could not be read as text at all (e.g. a .gz that is not gzip), or its gzip stream breaks off damaged. */
  onUnreadable(detail: string): void;
  /**
   * A line that is not text to read: longer than MAX_LINE_CHARS, or bytes that are not UTF-8.
   * Called with why just before its `null` is yielded (readers count it as malformed).
   */
  onBadLine?(detail: string): void;
}

/** Why a line was yielded as `null` (onBadLine's detail): over MAX_LINE_CHARS bytes. */
export const LINE_TOO_LONG = 'line too long';
/** Why a line was yielded as `null` (onBadLine's detail): bytes that are not UTF-8. */
export const LINE_NOT_UTF8 = 'line is not valid UTF-8 (binary or damaged bytes)';

const stripCr = (l: string): string => (l.endsWith('\r') ? l.slice(0, -1) : l);

/**
 * Yields each complete line without its terminator; `null` stands for a line that is not text:
 * over MAX_LINE_CHARS bytes, or not valid UTF-8 (`events.onBadLine` says which).
 */
export function* readLines(file: string, events: LineReaderEvents): Generator<string | null> {
  if (file.endsWith('.gz')) {
    yield* gzLines(file, events);
    return;
  }
  const fd = openSync(file, 'r');
  try {
    const { cut } = yield* splitLines(fileChunks(fd), events);
    if (cut !== undefined) events.onTruncated(`the last line has no newline (${cut} cut)`);
  } finally {
    closeSync(fd);
  }
}

function* fileChunks(fd: number): Generator<Uint8Array, void> {
  const buf = Buffer.allocUnsafe(CHUNK);
  for (;;) {
    const n = readSync(fd, buf, 0, CHUNK, null);
    if (n === 0) return;
    // the splitter decodes a chunk before it asks for the next: the buffer can be reused
    yield buf.subarray(0, n);
  }
}

/**
 * A .gz file this small (compressed) whose text fits in SMALL_GZ_TEXT is inflated in one call:
 * the streaming path starts a worker thread (tens of ms), which dominates for a small file and
 * for the fuzzer's thousands of one-frame files. Anything else (larger, inflating past the bound,
 * damaged or cut) takes the streaming path, whose reports on damage are the reference.
 */
const SMALL_GZ = 1 << 20;
const SMALL_GZ_TEXT = 64 << 20;

function smallGzipText(file: string): Buffer | undefined {
  try {
    if (statSync(file).size > SMALL_GZ) return undefined;
    return gunzipSync(readFileSync(file), { maxOutputLength: SMALL_GZ_TEXT });
  } catch {
    return undefined;
  }
}

function* bufferChunks(buf: Buffer): Generator<Uint8Array, GunzipEnd> {
  for (let at = 0; at < buf.length; at += CHUNK) yield buf.subarray(at, Math.min(at + CHUNK, buf.length));
  return { ok: true };
}

function* gzLines(file: string, events: LineReaderEvents): Generator<string | null> {
  const text = smallGzipText(file);
  const chunks = text !== undefined ? bufferChunks(text) : gunzipChunks(file);
  try {
    const { end, bytes, cut } = yield* splitLines(chunks, events);
    if (end.ok) {
      if (cut !== undefined) events.onTruncated(`the last line has no newline (${cut} cut)`);
    } else if (end.code === 'Z_BUF_ERROR') {
      // "unexpected end of file": what was there has been read; the cut is reported
      events.onTruncated(`the gzip stream ends early${cut !== undefined ? ` inside a line (${cut} cut)` : ''}`);
    } else if (end.code?.startsWith('Z_')) {
      events.onUnreadable(bytes === 0 ? `not a readable gzip file: ${end.message}` : `the gzip stream is damaged after ${bytes} bytes (${end.message}); the lines before it were read`);
    } else {
      // the file system's error (the file went away while read): as a plain file's read throws
      throw new Error(`cannot read ${file}: ${end.message}`);
    }
  } finally {
    chunks.return(undefined as never);
  }
}

/**
 * Splits the bytes of `chunks` into lines of UTF-8 text. Returns what the chunk source returned,
 * the bytes it gave, and, when the text does not end in '\n', how much of the last line was cut.
 *
 * Lines are split on the byte '\n' (never part of a multi-byte UTF-8 character) and checked as
 * bytes: a decoder that replaces bad bytes with U+FFFD (StringDecoder, as this once used) turns a
 * damaged or binary line into a string JSON.parse accepts, and the line was replayed as clean.
 * The check costs one native pass over each chunk (`isUtf8`, which also covers the lines whole
 * inside it, decoded together as before); only a chunk that fails it is checked line by line.
 */
function* splitLines<R>(chunks: Iterator<Uint8Array, R>, events: LineReaderEvents): Generator<string | null, { end: R; bytes: number; cut: string | undefined }> {
  /** Bytes of the line not yet ended, copied (the chunk source reuses its buffer). */
  let carry: Buffer[] = [];
  let carryBytes = 0;
  /** The line being carried is over the bound: its rest is discarded up to its newline. */
  let oversized = false;
  let bytes = 0;
  const bad = (detail: string): null => {
    events.onBadLine?.(detail);
    return null;
  };
  /** One line's bytes (no '\n') as text, or null. */
  const lineOf = (b: Buffer): string | null => {
    if (b.length > MAX_LINE_CHARS) return bad(LINE_TOO_LONG);
    if (!isUtf8(b)) return bad(LINE_NOT_UTF8);
    return stripCr(b.toString('utf8'));
  };
  const keep = (b: Buffer): void => {
    if (oversized || b.length === 0) return;
    carryBytes += b.length;
    if (carryBytes > MAX_LINE_CHARS) {
      oversized = true;
      carry = [];
      carryBytes = 0;
      return;
    }
    carry.push(Buffer.from(b));
  };
  let next: IteratorResult<Uint8Array, R>;
  while (!(next = chunks.next()).done) {
    const c = next.value;
    bytes += c.length;
    const buf = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    const first = buf.indexOf(10);
    if (first < 0) {
      keep(buf);
      continue;
    }
    // the line carried from the chunks before ends here
    if (oversized) {
      oversized = false;
      yield bad(LINE_TOO_LONG);
    } else if (carry.length === 0) yield lineOf(buf.subarray(0, first));
    else {
      carry.push(buf.subarray(0, first));
      const line = Buffer.concat(carry, carryBytes + first);
      carry = [];
      carryBytes = 0;
      yield lineOf(line);
    }
    const last = buf.lastIndexOf(10);
    if (last > first) {
      // the lines whole inside this chunk, checked and decoded together when they are all text
      const body = buf.subarray(first + 1, last);
      if (isUtf8(body)) {
        const text = body.toString('utf8');
        let start = 0;
        for (;;) {
          const nl = text.indexOf('\n', start);
          const line = nl < 0 ? text.slice(start) : text.slice(start, nl);
          yield line.length > MAX_LINE_CHARS ? bad(LINE_TOO_LONG) : stripCr(line);
          if (nl < 0) break;
          start = nl + 1;
        }
      } else {
        let start = 0;
        for (;;) {
          const nl = body.indexOf(10, start);
          yield lineOf(nl < 0 ? body.subarray(start) : body.subarray(start, nl));
          if (nl < 0) break;
          start = nl + 1;
        }
      }
    }
    keep(buf.subarray(last + 1));
  }
  const rest = carry.length === 0 ? '' : Buffer.concat(carry, carryBytes).toString('utf8');
  const cut = oversized ? `over ${MAX_LINE_CHARS} bytes` : rest.length > 0 ? `${rest.length} characters` : undefined;
  return { end: next.value, bytes, cut };
}

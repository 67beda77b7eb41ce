/**
 * Lines of a recorded file, read synchronously in 1 MiB chunks; a .gz file is inflated as a
 * stream in chunks too (replay-gunzip.ts), so no file is ever held whole, whatever its size.
 * Every line a writer finished ends in '\n'; a last line without one was cut (the writer died,
 * the disk filled, the file was copied while written). It is never yielded, since a cut record
 * may still parse (a CSV amount `0.125` cut to `0.12`), and the cut is reported instead.
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { gunzipSync } from 'node:zlib';
import { gunzipChunks, type GunzipEnd } from './replay-gunzip.js';

const CHUNK = 1 << 20;
/** Longest line read (characters); beyond it a line is yielded as `null` and its rest discarded, so a file with no newline cannot exhaust memory. */
export const MAX_LINE_CHARS = 16 << 20;

export interface LineReaderEvents {
  /** The file ends inside a line (or inside its gzip stream); `detail` says how. */
  onTruncated(detail: string): void;
  /** The file could not be read as text at all (e.g. a .gz that is not gzip), or its gzip stream breaks off damaged. */
  onUnreadable(detail: string): void;
}

const stripCr = (l: string): string => (l.endsWith('\r') ? l.slice(0, -1) : l);

/** Yields each complete line without its terminator; `null` stands for a line over MAX_LINE_CHARS. */
export function* readLines(file: string, events: LineReaderEvents): Generator<string | null> {
  if (file.endsWith('.gz')) {
    yield* gzLines(file, events);
    return;
  }
  const fd = openSync(file, 'r');
  try {
    const { cut } = yield* splitLines(fileChunks(fd));
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
    const { end, bytes, cut } = yield* splitLines(chunks);
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
 * Splits the text of `chunks` (UTF-8) into lines. Returns what the chunk source returned, the
 * bytes it gave, and, when the text does not end in '\n', how much of the last line was cut.
 */
function* splitLines<R>(chunks: Iterator<Uint8Array, R>): Generator<string | null, { end: R; bytes: number; cut: string | undefined }> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let oversized = false;
  let bytes = 0;
  let next: IteratorResult<Uint8Array, R>;
  while (!(next = chunks.next()).done) {
    bytes += next.value.length;
    // the decoder keeps an incomplete multi-byte character, `carry` an incomplete line
    const text = decoder.write(next.value as Buffer);
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      if (oversized) {
        oversized = false;
        yield null;
      } else {
        const line = carry + text.slice(start, nl);
        yield line.length > MAX_LINE_CHARS ? null : stripCr(line);
      }
      carry = '';
      start = nl + 1;
    }
    if (!oversized) {
      carry += text.slice(start);
      if (carry.length > MAX_LINE_CHARS) {
        oversized = true;
        carry = '';
      }
    }
  }
  carry += decoder.end();
  const cut = oversized ? `over ${MAX_LINE_CHARS} characters` : carry.length > 0 ? `${carry.length} characters` : undefined;
  return { end: next.value, bytes, cut };
}

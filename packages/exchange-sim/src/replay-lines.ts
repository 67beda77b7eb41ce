/**
 * Lines of a recorded file, read synchronously in 1 MiB chunks (.gz files are inflated whole).
 * Every line a writer finished ends in '\n'; a last line without one was cut (the writer died,
 * the disk filled, the file was copied while written). It is never yielded, since a cut record
 * may still parse (a CSV amount `0.125` cut to `0.12`), and the cut is reported instead.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { constants, gunzipSync } from 'node:zlib';

const CHUNK = 1 << 20;
/** Longest line read (characters); beyond it a line is yielded as `null` and its rest discarded, so a file with no newline cannot exhaust memory. */
export const MAX_LINE_CHARS = 16 << 20;

export interface LineReaderEvents {
  /** The file ends inside a line (or inside its gzip stream); `detail` says how. */
  onTruncated(detail: string): void;
  /** The file could not be read as text at all (e.g. a .gz that is not gzip). */
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
    const buf = Buffer.allocUnsafe(CHUNK);
    const decoder = new StringDecoder('utf8');
    let carry = '';
    let oversized = false;
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      // the decoder keeps an incomplete multi-byte character, `carry` an incomplete line
      const text = decoder.write(buf.subarray(0, n));
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
    if (oversized || carry.length > 0) events.onTruncated(`the last line has no newline (${oversized ? `over ${MAX_LINE_CHARS}` : carry.length} characters cut)`);
  } finally {
    closeSync(fd);
  }
}

function* gzLines(file: string, events: LineReaderEvents): Generator<string | null> {
  const packed = readFileSync(file);
  let text: string;
  let cutStream = false;
  try {
    text = gunzipSync(packed).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'Z_BUF_ERROR') {
      events.onUnreadable(`not a readable gzip file: ${(err as Error).message}`);
      return;
    }
    // "unexpected end of file": inflate what is there, report the cut
    text = gunzipSync(packed, { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8');
    cutStream = true;
  }
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) break;
    yield nl - start > MAX_LINE_CHARS ? null : stripCr(text.slice(start, nl));
    start = nl + 1;
  }
  const rest = text.length - start;
  if (cutStream) events.onTruncated(`the gzip stream ends early${rest > 0 ? ` inside a line (${rest} characters cut)` : ''}`);
  else if (rest > 0) events.onTruncated(`the last line has no newline (${rest} characters cut)`);
}

/**
 * Lines of a text file, read synchronously in fixed-size chunks, so a recording of any size is
 * read in bounded memory (one string of a whole file stops at V8's ~512 Mi characters, about an
 * hour of `run --record`). The same approach as @cwts/exchange-sim's replay reader, which core
 * cannot import (the sim depends on core).
 */
import { closeSync, openSync, readSync } from 'node:fs';

export interface FileLinesOptions {
  /** Bytes per read (default 1 MiB). Tests inject small sizes to cut lines and characters across reads. */
  chunkBytes?: number;
  /** Longest line kept, in bytes (default 16 MiB); a longer one is yielded as `null` and its bytes are discarded as they are read. */
  maxLineBytes?: number;
}

export const FILE_LINES_CHUNK_BYTES = 1 << 20;
export const FILE_LINES_MAX_BYTES = 16 << 20;

const LF = 0x0a;
const CR = 0x0d;

/**
 * Yields each complete line ('\n'-terminated) decoded as UTF-8, without its terminator (a '\r'
 * before it is dropped); `null` stands for a line over `maxLineBytes`. Lines are split on the
 * byte 0x0A, which UTF-8 never uses inside a multi-byte character, so a read that cuts a
 * character cuts no line wrongly. A last line without '\n' was cut while written and is not
 * yielded: a cut record can still parse with a wrong value.
 */
export function* fileLines(path: string, opts: FileLinesOptions = {}): Generator<string | null> {
  const chunk = opts.chunkBytes ?? FILE_LINES_CHUNK_BYTES;
  const maxBytes = opts.maxLineBytes ?? FILE_LINES_MAX_BYTES;
  if (!Number.isSafeInteger(chunk) || chunk < 1) throw new Error(`chunkBytes must be a positive integer, got ${chunk}`);
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(chunk);
    // The start of a line that a read cut (copies: `buf` is reused), and its length in bytes.
    let carry: Buffer[] = [];
    let carryBytes = 0;
    let oversized = false;
    for (;;) {
      const n = readSync(fd, buf, 0, chunk, null);
      if (n === 0) break;
      const view = buf.subarray(0, n);
      let start = 0;
      for (;;) {
        const nl = view.indexOf(LF, start);
        if (nl < 0) break;
        if (oversized || carryBytes + (nl - start) > maxBytes) yield null;
        else {
          const bytes = carryBytes === 0 ? view.subarray(start, nl) : Buffer.concat([...carry, view.subarray(start, nl)]);
          const end = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
          yield bytes.toString('utf8', 0, end);
        }
        oversized = false;
        carry = [];
        carryBytes = 0;
        start = nl + 1;
      }
      if (oversized || start === n) continue;
      carryBytes += n - start;
      if (carryBytes > maxBytes) {
        oversized = true;
        carry = [];
        carryBytes = 0;
      } else carry.push(Buffer.from(view.subarray(start)));
    }
  } finally {
    closeSync(fd);
  }
}

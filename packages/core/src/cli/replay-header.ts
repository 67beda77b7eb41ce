/**
 * The header line of a `run --record` file, plain or gzip (exchange-sim's `replay_file` reads
 * both). Only the header is read: recordings can be large, and a gzip one is inflated only as
 * far as its first line, so a file that inflates to gigabytes (or a bomb) costs at most
 * MAX_HEADER_BYTES of inflated text.
 */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { InstrumentSpec } from '../domain/instrument.js';
import { RECORDING_KIND } from '../engine/recorder.js';

/** The header is one line; read no more than this looking for its end. */
export const MAX_HEADER_BYTES = 16 << 20;
/** Inflated bytes zlib hands over at a time: the most it inflates past the end of the first line. */
const GUNZIP_CHUNK_BYTES = 64 << 10;

/** Reads the header line of a `run --record` file (.jsonl or .jsonl.gz). */
export async function readRecordingHeader(path: string): Promise<{ instruments: InstrumentSpec[] }> {
  let first: string;
  try {
    const gzip = isGzip(path);
    // The sim picks the gzip reader by the name; a header read that went by the bytes alone
    // would accept a file the replay then counts as all malformed (or unreadable).
    if (gzip && !path.endsWith('.gz')) throw new Error(`${path} is gzip-compressed but its name does not end in .gz (the replay reads it by its name): rename it to ${path}.gz`);
    if (!gzip && path.endsWith('.gz')) throw new Error(`${path} is not a gzip file (its name ends in .gz): a damaged or mislabeled recording`);
    first = gzip ? await firstGzipLine(path) : firstPlainLine(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).syscall) throw new Error(`cannot read recording ${path}: ${(err as Error).message}`);
    throw err;
  }
  let header: { kind?: string; instruments?: InstrumentSpec[] };
  try {
    header = JSON.parse(first);
  } catch {
    throw new Error(`${path} is not a cwts recording: the first line is not JSON`);
  }
  if (header?.kind !== RECORDING_KIND || !Array.isArray(header.instruments)) throw new Error(`${path} is not a cwts recording: the first line must be a "${RECORDING_KIND}" header with instruments`);
  return { instruments: header.instruments };
}

/** gzip's magic bytes (RFC 1952) open the file. */
function isGzip(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

const noEnd = (path: string, n: number, wholeFile: boolean, what = 'file'): Error =>
  new Error(n === 0 ? `${path} is empty, not a cwts recording` : `${path} is not a cwts recording: its first line (the header) never ends${wholeFile ? ` (truncated ${what}?)` : ` within ${MAX_HEADER_BYTES >> 20} MiB`}`);

function firstPlainLine(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(MAX_HEADER_BYTES);
    let n = 0;
    let nl = -1;
    while (n < buf.length && nl < 0) {
      const got = readSync(fd, buf, n, Math.min(1 << 20, buf.length - n), n);
      if (got === 0) break;
      nl = buf.subarray(n, n + got).indexOf(10);
      if (nl >= 0) nl += n;
      n += got;
    }
    if (nl < 0) throw noEnd(path, n, n < buf.length);
    return buf.subarray(0, nl).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Inflates until the first newline, then stops reading: the stream's back-pressure keeps zlib
 * from inflating more than a chunk or two ahead of what is consumed here.
 */
async function firstGzipLine(path: string): Promise<string> {
  const file = createReadStream(path, { highWaterMark: GUNZIP_CHUNK_BYTES });
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
  // A read error ends the inflated stream with that error (the loop below throws it).
  file.on('error', (err) => gunzip.destroy(err));
  file.pipe(gunzip);
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      const nl = chunk.indexOf(10);
      const take = nl >= 0 ? chunk.subarray(0, nl) : chunk;
      if (n + take.length > MAX_HEADER_BYTES) throw noEnd(path, n, false);
      parts.push(take);
      n += take.length;
      if (nl >= 0) return Buffer.concat(parts, n).toString('utf8');
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.syscall) throw err;
    // zlib's own errors (a bad header, a corrupt block, a cut stream) carry a Z_* code.
    if (typeof e.code === 'string' && e.code.startsWith('Z_')) {
      throw new Error(`${path} is a damaged gzip file: ${e.message}${n > 0 ? ` (after ${n} bytes of its first line)` : ''}`);
    }
    throw err;
  } finally {
    file.destroy();
    gunzip.destroy();
  }
  throw noEnd(path, n, true, 'gzip stream');
}

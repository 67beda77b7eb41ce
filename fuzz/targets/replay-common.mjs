/**
 * What the two recorded-data targets share: each fuzz frame is a whole small file, written to a
 * scratch directory and read back through the real `ReplaySource` (its line reader, decoder,
 * validation and tardis grouping included); the events it yields go into the engine's
 * `L2BookStore` and into a reference that applies the same events by the book's documented
 * rules, plus a plausibility bound on sequence jumps.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { L2BookStore } from '@cwts/core/microstructure';
import { MultiExchangeRecordingError, ReplaySource } from '@cwts/exchange-sim';
import { ReferenceBook, bookDifference, syncedBookViolation } from '../reference-book.mjs';
import { FuzzFailure } from '../failure.mjs';
import { MAX_PLAUSIBLE_JUMP } from './binance-venue.mjs';

/** A scratch file per worker (RAM-backed where the system has /dev/shm). */
export function scratchFile(name) {
  const base = (() => {
    try {
      return mkdtempSync(join('/dev/shm', 'cwts-fuzz-'));
    } catch {
      return mkdtempSync(join(tmpdir(), 'cwts-fuzz-'));
    }
  })();
  process.on('exit', () => rmSync(base, { recursive: true, force: true }));
  return join(base, name);
}

/** Per book: trusted (a snapshot and no gap since) and its levels. */
class EventReference {
  constructor() {
    this.books = new Map();
  }
  get(key) {
    let b = this.books.get(key);
    if (!b) {
      b = { book: new ReferenceBook(), trusted: false, seq: 0, reason: 'no snapshot yet' };
      this.books.set(key, b);
    }
    return b;
  }
  onEvent(ev) {
    if (ev.type === 'feed_status') {
      if (ev.state !== 'resyncing') return;
      for (const [key, b] of this.books) if (key.startsWith(`${ev.exchange}\u0000`) && (ev.symbol === '' || key.endsWith(`\u0000${ev.symbol}`))) Object.assign(b, { trusted: false, reason: `resyncing: ${ev.reason}` });
      return;
    }
    if (ev.type !== 'book_snapshot' && ev.type !== 'book_delta') return;
    const b = this.get(`${ev.exchange}\u0000${ev.symbol}`);
    if (ev.type === 'book_snapshot') {
      b.book.load(ev.bids.filter((l) => l.qty > 0), ev.asks.filter((l) => l.qty > 0));
      Object.assign(b, { trusted: true, seq: ev.seq, reason: '' });
      return;
    }
    if (!b.trusted) return;
    if (ev.seq !== 0) {
      if (ev.seq <= b.seq) return;
      if (ev.firstSeq > b.seq + 1) return Object.assign(b, { trusted: false, reason: `gap: expected ${b.seq + 1}, got ${ev.firstSeq}..${ev.seq}` });
      if (ev.seq - b.seq > MAX_PLAUSIBLE_JUMP) return Object.assign(b, { trusted: false, reason: `delta ${ev.firstSeq}..${ev.seq} jumps implausibly far past ${b.seq}` });
      b.seq = ev.seq;
    }
    b.book.apply(ev.bids, ev.asks);
  }
}

/**
 * Reads `file` with ReplaySource and checks every event. Returns the source (for its counts).
 * Throws FuzzFailure on a wrong SYNCED book or an invalid event; anything else it throws is a crash.
 */
export function replayAndCheck(options) {
  const events = [];
  const store = new L2BookStore();
  const ref = new EventReference();
  const src = new ReplaySource({ ...options, onError: () => {} });
  try {
    src.instruments();
  } catch (err) {
    // headers declaring several exchanges (a mutated header may): the file is refused as a
    // whole, with its reason, before anything is replayed; nothing in it is lost silently
    if (!(err instanceof MultiExchangeRecordingError)) throw err;
    src.refused = err.message;
    return src;
  }
  // what was delivered, for the targets' read-back checks (src.events)
  src.events = events;
  for (const ev of src) {
    events.push(ev);
    if (ev.type === 'trade' || ev.type === 'liquidation') {
      if (!Number.isSafeInteger(ev.price) || ev.price <= 0 || !Number.isSafeInteger(ev.qty) || ev.qty <= 0) throw new FuzzFailure('invalid-event', `${ev.type} replayed with price ${ev.price} x qty ${ev.qty}`);
      continue;
    }
    if (ev.type === 'feed_status') store.applyStatus(ev);
    else store.apply(ev);
    ref.onEvent(ev);
    if (ev.type === 'feed_status') continue;
    const book = store.get(ev.exchange, ev.symbol);
    if (!book || book.state !== 'synced') continue;
    const bad = syncedBookViolation(book);
    if (bad) throw new FuzzFailure('wrong-synced-book', `SYNCED replayed book ${ev.symbol} holds an invalid level: ${bad}`);
    const r = ref.get(`${ev.exchange}\u0000${ev.symbol}`);
    if (!r.trusted) throw new FuzzFailure('wrong-synced-book', `replayed book ${ev.symbol} is SYNCED at seq ${book.seq} but the reference is not (${r.reason})`);
    const diff = bookDifference(book, r.book);
    if (diff) throw new FuzzFailure('wrong-synced-book', `SYNCED replayed book ${ev.symbol} differs from the reference: ${diff}`);
  }
  return src;
}

/**
 * A valid gzip member holding `bytes` in stored (uncompressed) deflate blocks: what the reader
 * inflates is exactly the frame, and building it costs a CRC instead of a zlib stream.
 */
export function storedGzip(bytes) {
  const data = Buffer.from(bytes);
  const blocks = Math.max(1, Math.ceil(data.length / 65535));
  const out = Buffer.alloc(10 + blocks * 5 + data.length + 8);
  out.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  let o = 10;
  for (let b = 0; b < blocks; b++) {
    const chunk = data.subarray(b * 65535, Math.min(data.length, (b + 1) * 65535));
    out[o] = b === blocks - 1 ? 1 : 0;
    out.writeUInt16LE(chunk.length, o + 1);
    out.writeUInt16LE(~chunk.length & 0xffff, o + 3);
    chunk.copy(out, o + 5);
    o += 5 + chunk.length;
  }
  out.writeUInt32LE(crc32(data) >>> 0, o);
  out.writeUInt32LE(data.length >>> 0, o + 4);
  return out;
}

/**
 * Runs a file-frame target: write, replay, check; `extra(src, bytes)` adds target checks.
 * Most frames go through the reader's .gz path: its plain-file path allocates a 1 MiB read
 * buffer per file, which at a million tiny files costs more than everything else together
 * (a real replay opens one file). Every eighth frame still takes the plain, chunked path.
 */
export function fileTarget({ file, options, extra }) {
  const gz = `${file}.gz`;
  let n = 0;
  return (bytes) => {
    const plain = n++ % 8 === 0;
    if (plain) writeFileSync(file, bytes);
    else writeFileSync(gz, storedGzip(bytes));
    const src = replayAndCheck({ ...options, files: [plain ? file : gz] });
    if (src.refused === undefined) extra?.(src, bytes);
    return src;
  };
}

/** JSON with object keys sorted: two values are equal field by field when these are equal. */
export function canonical(v) {
  return JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));
}

/** Byte-level damage a text mutation cannot express: invalid UTF-8, NULs, CR, BOM. */
export function rawBytes(rng, text) {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length === 0 || !rng.chance(0.15)) return buf;
  const out = Buffer.from(buf);
  const n = 1 + rng.int(4);
  for (let k = 0; k < n; k++) out[rng.int(out.length)] = rng.pick([0x80, 0xc0, 0xff, 0xfe, 0xed, 0xa0, 0x00, 0x0d, 0xef, 0xbb, 0xbf, 0xf4, 0x90]);
  return out;
}

import type { Side } from '../domain/events.js';
import type { ExecutionKind, ExecutionReport, Order, OrderStatus, OrderType, TimeInForce } from '../domain/orders.js';
import type { QueuedRecord } from './writer.js';

/**
 * The fixed binary layout of a journal record in one slot of the hand-over ring, or of an
 * overflow buffer when the ring is full (record-ring.ts): how orders and reports, nearly every
 * record the engine journals, cross from the engine thread to the writer thread without a
 * structured clone. Every other record kind, and an order or report that does not fit a slot,
 * crosses by structured clone in the hand-over's message; a MARKER slot holds its place.
 *
 * A slot is SLOT_BYTES; integers little-endian (the checksum word in the host's order: both
 * ends are threads of one process):
 *   [0] u32 content length L (the checksum of the int32 words [0, ceil(L/4)) follows them)
 *   [4] u8 kind: 1 ORDER, 2 REPORT, 3 MARKER
 *   [5..8] u8 enums (below)   [10] u16 presence flags   [8] / [12] u32 (MARKER only)
 *   [16..] fixed f64 and i64 fields, then strings as u16 byte length + UTF-8, in a fixed order,
 *   optional ones only when their flag is set.
 * ORDER:  enums side, type, tif, status; flags 1 price, 2 reduceOnly present, 4 reduceOnly,
 *         8 venueOrderId, 16 reason, 32 rejectReason, 64 text;
 *         f64 price qty filledQty createdTs updatedTs ts, i64 filledNotionalTicksLots feeAtoms;
 *         strings clientOrderId exchange symbol source [venueOrderId reason rejectReason text].
 * REPORT: enums kind, side, liquidity, the order's status; flags 1 venueOrderId, 2 feeAsset (the
 *         report's), 4 liquidity, 8 tradeId, 16 rejectReason, 32 text, 64 the order's venueOrderId,
 *         128 rejects present, 256 rejects is 'request' (else 'order');
 *         f64 lastPrice lastQty leavesQty cumQty report ts, ts, the order's filledQty, i64 report
 *         feeAtoms, the order's feeAtoms; strings clientOrderId exchange symbol feeAsset (the
 *         record's) the order's symbol [venueOrderId feeAsset tradeId rejectReason text, the
 *         order's venueOrderId].
 * MARKER: [8] u32 first, [12] u32 count: the records [first, first + count) of the hand-over's
 *         postMessage list go here.
 * Numbers are f64 (bit-exact for any JS number), fee and notional integers i64 (one outside
 * 64 bits takes the postMessage path). Value encodings are those of the stored record bodies
 * (record-body.ts: f64, i64, length + UTF-8); the layout is fixed rather than tagged, since a slot
 * lives for one hand-over and both ends are this build. The reader checks the length, the
 * checksum, every enum and every string bound: a slot that does not read is refused and counted,
 * never applied. The checksum is a 32-bit FNV-style hash over words, not the bodies' CRC-32: it is
 * there for a torn or overwritten slot (any one changed word always shows), and it costs the
 * engine thread ~30 ns where a zlib call costs several times that.
 */
export const SLOT_BYTES = 256;
export const SlotKind = { ORDER: 1, REPORT: 2, MARKER: 3 } as const;

const SUM_BYTES = 4;
const MAX_CONTENT = SLOT_BYTES - SUM_BYTES;
const L = 0;
const KIND = 4;
const E0 = 5;
const E1 = 6;
const E2 = 7;
const E3 = 8;
const FLAGS = 10;
const MARKER_FIRST = 8;
const MARKER_COUNT = 12;
const MARKER_BYTES = 16;
const ORDER_STRINGS = 80;
const REPORT_STRINGS = 88;

const SIDES: readonly Side[] = ['buy', 'sell'];
const TYPES: readonly OrderType[] = ['limit', 'market'];
const TIFS: readonly TimeInForce[] = ['GTC', 'IOC', 'FOK', 'POST_ONLY'];
const STATUSES: readonly OrderStatus[] = ['pending_new', 'open', 'partially_filled', 'filled', 'pending_cancel', 'cancelled', 'rejected'];
const KINDS: readonly ExecutionKind[] = ['ack', 'fill', 'cancelled', 'rejected', 'expired'];
const LIQUIDITY: readonly ('maker' | 'taker')[] = ['maker', 'taker'];
const NO_LIQUIDITY = 255;

const OF = { price: 1, reduceOnlySet: 2, reduceOnly: 4, venueOrderId: 8, reason: 16, rejectReason: 32, text: 64 } as const;
const ORDER_FLAGS = 127;
const RF = { venueOrderId: 1, feeAsset: 2, liquidity: 4, tradeId: 8, rejectReason: 16, text: 32, orderVenueOrderId: 64, rejects: 128, rejectsRequest: 256 } as const;
const REPORT_FLAGS = 511;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function fitsI64(v: unknown): v is bigint {
  return typeof v === 'bigint' && (v === 0n || (v >= INT64_MIN && v <= INT64_MAX));
}

/** True when all are numbers (seven at most; fixed parameters: no array per call on the engine thread). */
function nums(a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown = 0, g: unknown = 0): boolean {
  return typeof a === 'number' && typeof b === 'number' && typeof c === 'number' && typeof d === 'number' && typeof e === 'number' && typeof f === 'number' && typeof g === 'number';
}

/** Where the checksum of a slot whose content is `length` bytes sits (after its last content word). */
const sumAt = (length: number) => (length + 3) & ~3;

/** FNV-1a over int32 words, with a shift that carries high bits down: any one changed word changes it. */
function slotSum(i32: Int32Array, w0: number, words: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < words; i++) {
    h = Math.imul(h ^ i32[w0 + i]!, 0x01000193);
    h ^= h >>> 15;
  }
  return h;
}

/** Engine side: encodes records into slots of the ring's storage. */
export class RecordSlotEncoder {
  private readonly view: DataView;
  private readonly buf: Buffer;
  private readonly u8: Uint8Array;
  private readonly i32: Int32Array;

  /** `storage`: the ring's record memory (SpscRing.u8). */
  constructor(storage: Uint8Array) {
    this.u8 = storage;
    this.view = new DataView(storage.buffer, storage.byteOffset, storage.byteLength);
    this.buf = Buffer.from(storage.buffer, storage.byteOffset, storage.byteLength);
    this.i32 = new Int32Array(storage.buffer, storage.byteOffset, storage.byteLength >> 2);
  }

  /**
   * Encodes `rec` into the slot at byte `at`. False when it has no slot layout (a rare record
   * kind) or does not fit (a long text, a value of the wrong type, a bigint past 64 bits): it
   * then takes the postMessage path. A false may leave the slot half written; it is not published.
   */
  put(at: number, rec: QueuedRecord): boolean {
    if (rec.t === 'order') return this.order(at, rec.order, rec.ts);
    if (rec.t === 'report') return this.report(at, rec);
    return false;
  }

  /** A MARKER slot: the postMessage records [first, first + count) go here. */
  marker(at: number, first: number, count: number): void {
    const v = this.view;
    v.setUint8(at + KIND, SlotKind.MARKER);
    v.setUint32(at + MARKER_FIRST, first, true);
    v.setUint32(at + MARKER_COUNT, count, true);
    this.seal(at, MARKER_BYTES);
  }

  private order(at: number, o: Order, ts: number): boolean {
    const side = SIDES.indexOf(o.side);
    const type = TYPES.indexOf(o.type);
    const tif = TIFS.indexOf(o.tif);
    const status = STATUSES.indexOf(o.status);
    if ((side | type | tif | status) < 0) return false;
    if (!nums(o.qty, o.filledQty, o.createdTs, o.updatedTs, ts) || (o.price !== undefined && typeof o.price !== 'number')) return false;
    if (!fitsI64(o.filledNotionalTicksLots) || !fitsI64(o.feeAtoms)) return false;
    let flags = 0;
    if (o.price !== undefined) flags |= OF.price;
    if (o.reduceOnly !== undefined) flags |= o.reduceOnly ? OF.reduceOnlySet | OF.reduceOnly : OF.reduceOnlySet;
    const v = this.view;
    v.setUint8(at + KIND, SlotKind.ORDER);
    v.setUint8(at + E0, side);
    v.setUint8(at + E1, type);
    v.setUint8(at + E2, tif);
    v.setUint8(at + E3, status);
    v.setFloat64(at + 16, o.price ?? 0, true);
    v.setFloat64(at + 24, o.qty, true);
    v.setFloat64(at + 32, o.filledQty, true);
    v.setFloat64(at + 40, o.createdTs, true);
    v.setFloat64(at + 48, o.updatedTs, true);
    v.setFloat64(at + 56, ts, true);
    v.setBigInt64(at + 64, o.filledNotionalTicksLots, true);
    v.setBigInt64(at + 72, o.feeAtoms, true);
    let off = this.str(at, ORDER_STRINGS, o.clientOrderId);
    off = this.str(at, off, o.exchange);
    off = this.str(at, off, o.symbol);
    off = this.str(at, off, o.source);
    if (o.venueOrderId !== undefined) ((flags |= OF.venueOrderId), (off = this.str(at, off, o.venueOrderId)));
    if (o.reason !== undefined) ((flags |= OF.reason), (off = this.str(at, off, o.reason)));
    if (o.rejectReason !== undefined) ((flags |= OF.rejectReason), (off = this.str(at, off, o.rejectReason)));
    if (o.text !== undefined) ((flags |= OF.text), (off = this.str(at, off, o.text)));
    if (off < 0) return false;
    v.setUint16(at + FLAGS, flags, true);
    this.seal(at, off);
    return true;
  }

  private report(at: number, rec: Extract<QueuedRecord, { t: 'report' }>): boolean {
    const r = rec.report;
    const o = rec.order;
    const kind = KINDS.indexOf(r.kind);
    const side = SIDES.indexOf(r.side);
    const status = STATUSES.indexOf(o.status);
    const liq = r.liquidity === undefined ? NO_LIQUIDITY : LIQUIDITY.indexOf(r.liquidity);
    if ((kind | side | status | liq) < 0) return false;
    if (!nums(r.lastPrice, r.lastQty, r.leavesQty, r.cumQty, r.ts, rec.ts, o.filledQty)) return false;
    if (!fitsI64(r.feeAtoms) || !fitsI64(o.feeAtoms)) return false;
    let flags = liq === NO_LIQUIDITY ? 0 : RF.liquidity;
    if (r.rejects !== undefined) flags |= r.rejects === 'request' ? RF.rejects | RF.rejectsRequest : RF.rejects;
    const v = this.view;
    v.setUint8(at + KIND, SlotKind.REPORT);
    v.setUint8(at + E0, kind);
    v.setUint8(at + E1, side);
    v.setUint8(at + E2, liq);
    v.setUint8(at + E3, status);
    v.setFloat64(at + 16, r.lastPrice, true);
    v.setFloat64(at + 24, r.lastQty, true);
    v.setFloat64(at + 32, r.leavesQty, true);
    v.setFloat64(at + 40, r.cumQty, true);
    v.setFloat64(at + 48, r.ts, true);
    v.setFloat64(at + 56, rec.ts, true);
    v.setFloat64(at + 64, o.filledQty, true);
    v.setBigInt64(at + 72, r.feeAtoms, true);
    v.setBigInt64(at + 80, o.feeAtoms, true);
    let off = this.str(at, REPORT_STRINGS, r.clientOrderId);
    off = this.str(at, off, r.exchange);
    off = this.str(at, off, r.symbol);
    off = this.str(at, off, rec.feeAsset);
    off = this.str(at, off, o.symbol);
    if (r.venueOrderId !== undefined) ((flags |= RF.venueOrderId), (off = this.str(at, off, r.venueOrderId)));
    if (r.feeAsset !== undefined) ((flags |= RF.feeAsset), (off = this.str(at, off, r.feeAsset)));
    if (r.tradeId !== undefined) ((flags |= RF.tradeId), (off = this.str(at, off, r.tradeId)));
    if (r.rejectReason !== undefined) ((flags |= RF.rejectReason), (off = this.str(at, off, r.rejectReason)));
    if (r.text !== undefined) ((flags |= RF.text), (off = this.str(at, off, r.text)));
    if (o.venueOrderId !== undefined) ((flags |= RF.orderVenueOrderId), (off = this.str(at, off, o.venueOrderId)));
    if (off < 0) return false;
    v.setUint16(at + FLAGS, flags, true);
    this.seal(at, off);
    return true;
  }

  /** Writes a string at slot offset `off`; the offset after it, or -1 (kept through) when it does not fit. */
  private str(at: number, off: number, s: unknown): number {
    if (off < 0 || typeof s !== 'string') return -1;
    const room = MAX_CONTENT - off - 2;
    const len = s.length;
    if (len <= room) {
      // ASCII (ids, names, assets: nearly every string here) in JS: a Buffer.write is a native call each.
      const u8 = this.u8;
      const p = at + off + 2;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        u8[p + i] = c;
      }
      if (i === len) {
        this.view.setUint16(at + off, len, true);
        return off + 2 + len;
      }
    }
    let n: number;
    // UTF-8 needs at most 3 bytes per UTF-16 unit (a lone surrogate is written as U+FFFD, 3 bytes).
    if (len * 3 <= room) n = this.buf.write(s, at + off + 2, 'utf8');
    else {
      n = Buffer.byteLength(s, 'utf8');
      if (n > room) return -1;
      this.buf.write(s, at + off + 2, n, 'utf8');
    }
    this.view.setUint16(at + off, n, true);
    return off + 2 + n;
  }

  private seal(at: number, length: number): void {
    this.view.setUint32(at + L, length, true);
    const words = sumAt(length) >> 2;
    this.i32[(at >> 2) + words] = slotSum(this.i32, at >> 2, words);
  }
}

/** A slot that does not read (torn, overwritten, from another build): refused, never applied. */
export class SlotError extends Error {}

/** What a slot holds: a record, or the place of `count` postMessage records from `first`. */
export type DecodedSlot = { marker: false; rec: QueuedRecord } | { marker: true; first: number; count: number };

/** Writer side: decodes slots of the ring's storage, checking every byte it reads. */
export class RecordSlotDecoder {
  private readonly view: DataView;
  private readonly buf: Buffer;
  private readonly i32: Int32Array;
  private end = 0;
  /**
   * The last string read per repeating field (exchange, symbol, source, fee asset), with its
   * bytes: the same bytes again give the same string without decoding (nearly every record of a
   * run repeats them; a decode is a call into C++ and a new string, ~17% of the writer's CPU
   * was reading slots back).
   */
  private readonly recent = [new RecentString(), new RecentString(), new RecentString(), new RecentString()];

  constructor(storage: Uint8Array) {
    this.view = new DataView(storage.buffer, storage.byteOffset, storage.byteLength);
    this.buf = Buffer.from(storage.buffer, storage.byteOffset, storage.byteLength);
    this.i32 = new Int32Array(storage.buffer, storage.byteOffset, storage.byteLength >> 2);
  }

  /** Throws SlotError for a slot that does not read. */
  read(at: number): DecodedSlot {
    const v = this.view;
    const len = v.getUint32(at + L, true);
    if (len < MARKER_BYTES || len > MAX_CONTENT) throw new SlotError(`content length ${len} outside [${MARKER_BYTES}, ${MAX_CONTENT}]`);
    const words = sumAt(len) >> 2;
    if (this.i32[(at >> 2) + words] !== slotSum(this.i32, at >> 2, words)) throw new SlotError('checksum does not match (torn or overwritten)');
    this.end = at + len;
    const kind = v.getUint8(at + KIND);
    if (kind === SlotKind.MARKER) {
      if (len !== MARKER_BYTES) throw new SlotError(`marker of ${len} bytes`);
      return { marker: true, first: v.getUint32(at + MARKER_FIRST, true), count: v.getUint32(at + MARKER_COUNT, true) };
    }
    if (kind === SlotKind.ORDER) return { marker: false, rec: this.order(at) };
    if (kind === SlotKind.REPORT) return { marker: false, rec: this.report(at) };
    throw new SlotError(`unknown slot kind ${kind}`);
  }

  private order(at: number): QueuedRecord {
    const v = this.view;
    if (at + ORDER_STRINGS > this.end) throw new SlotError('order slot shorter than its fixed fields');
    const flags = v.getUint16(at + FLAGS, true);
    if ((flags & ~ORDER_FLAGS) !== 0) throw new SlotError(`unknown order flags ${flags}`);
    const s = { off: at + ORDER_STRINGS };
    const order: Order = {
      clientOrderId: this.str(s),
      exchange: this.str(s, this.recent[0]),
      symbol: this.str(s, this.recent[1]),
      source: this.str(s, this.recent[2]),
      side: pick(SIDES, v.getUint8(at + E0), 'side'),
      type: pick(TYPES, v.getUint8(at + E1), 'type'),
      tif: pick(TIFS, v.getUint8(at + E2), 'tif'),
      status: pick(STATUSES, v.getUint8(at + E3), 'status'),
      qty: v.getFloat64(at + 24, true),
      filledQty: v.getFloat64(at + 32, true),
      createdTs: v.getFloat64(at + 40, true),
      updatedTs: v.getFloat64(at + 48, true),
      filledNotionalTicksLots: v.getBigInt64(at + 64, true),
      feeAtoms: v.getBigInt64(at + 72, true),
    };
    if (flags & OF.price) order.price = v.getFloat64(at + 16, true);
    if (flags & OF.reduceOnlySet) order.reduceOnly = (flags & OF.reduceOnly) !== 0;
    if (flags & OF.venueOrderId) order.venueOrderId = this.str(s);
    if (flags & OF.reason) order.reason = this.str(s);
    if (flags & OF.rejectReason) order.rejectReason = this.str(s) as Order['rejectReason'];
    if (flags & OF.text) order.text = this.str(s);
    if (s.off !== this.end) throw new SlotError(`order slot has ${this.end - s.off} byte(s) past its fields`);
    return { t: 'order', order, ts: v.getFloat64(at + 56, true) };
  }

  private report(at: number): QueuedRecord {
    const v = this.view;
    if (at + REPORT_STRINGS > this.end) throw new SlotError('report slot shorter than its fixed fields');
    const flags = v.getUint16(at + FLAGS, true);
    if ((flags & ~REPORT_FLAGS) !== 0) throw new SlotError(`unknown report flags ${flags}`);
    const s = { off: at + REPORT_STRINGS };
    const report: ExecutionReport = {
      clientOrderId: this.str(s),
      exchange: this.str(s, this.recent[0]),
      symbol: this.str(s, this.recent[1]),
      kind: pick(KINDS, v.getUint8(at + E0), 'kind'),
      side: pick(SIDES, v.getUint8(at + E1), 'side'),
      lastPrice: v.getFloat64(at + 16, true),
      lastQty: v.getFloat64(at + 24, true),
      leavesQty: v.getFloat64(at + 32, true),
      cumQty: v.getFloat64(at + 40, true),
      feeAtoms: v.getBigInt64(at + 72, true),
      ts: v.getFloat64(at + 48, true),
    };
    const feeAsset = this.str(s, this.recent[3]);
    const order: Extract<QueuedRecord, { t: 'report' }>['order'] = {
      status: pick(STATUSES, v.getUint8(at + E3), 'order status'),
      filledQty: v.getFloat64(at + 64, true),
      feeAtoms: v.getBigInt64(at + 80, true),
      venueOrderId: undefined,
      symbol: this.str(s, this.recent[1]),
    };
    const liq = v.getUint8(at + E2);
    if (flags & RF.liquidity) report.liquidity = pick(LIQUIDITY, liq, 'liquidity');
    else if (liq !== NO_LIQUIDITY) throw new SlotError(`liquidity ${liq} without its flag`);
    if (flags & RF.venueOrderId) report.venueOrderId = this.str(s);
    if (flags & RF.feeAsset) report.feeAsset = this.str(s, this.recent[3]);
    if (flags & RF.tradeId) report.tradeId = this.str(s);
    if (flags & RF.rejectReason) report.rejectReason = this.str(s) as ExecutionReport['rejectReason'];
    if (flags & RF.text) report.text = this.str(s);
    if (flags & RF.orderVenueOrderId) order.venueOrderId = this.str(s);
    if (flags & RF.rejects) report.rejects = flags & RF.rejectsRequest ? 'request' : 'order';
    else if (flags & RF.rejectsRequest) throw new SlotError('rejects request flag without its presence flag');
    if (s.off !== this.end) throw new SlotError(`report slot has ${this.end - s.off} byte(s) past its fields`);
    return { t: 'report', report, order, feeAsset, ts: v.getFloat64(at + 56, true) };
  }

  private str(s: { off: number }, recent?: RecentString): string {
    if (s.off + 2 > this.end) throw new SlotError('string length past the slot content');
    const n = this.view.getUint16(s.off, true);
    const from = s.off + 2;
    if (from + n > this.end) throw new SlotError(`string of ${n} bytes past the slot content`);
    s.off = from + n;
    if (recent === undefined || n > RECENT_MAX_BYTES) return this.buf.toString('utf8', from, from + n);
    const buf = this.buf;
    if (recent.length === n) {
      let k = 0;
      while (k < n && recent.bytes[k] === buf[from + k]) k++;
      if (k === n) return recent.value;
    }
    const value = buf.toString('utf8', from, from + n);
    buf.copy(recent.bytes, 0, from, from + n);
    recent.length = n;
    recent.value = value;
    return value;
  }
}

/** Strings longer than this are decoded every time (a repeating field is a short name). */
const RECENT_MAX_BYTES = 32;

/** A field's last string and the bytes it was decoded from (RecordSlotDecoder). */
class RecentString {
  readonly bytes = new Uint8Array(RECENT_MAX_BYTES);
  /** -1: none yet. */
  length = -1;
  value = '';
}

function pick<T>(list: readonly T[], i: number, what: string): T {
  const x = list[i];
  if (x === undefined) throw new SlotError(`${what} ${i} is not a known value`);
  return x;
}

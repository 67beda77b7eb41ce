import * as zlib from 'node:zlib';
import { z } from 'zod';

import type { ExecutionReport, Order } from '../domain/orders.js';

/**
 * The binary `body` of an `orders` and an `execution_reports` row (schema v3): the fields of the
 * record that have no column of their own, read back only by recovery and export. It replaced
 * v2's `json` column, whose JSON.stringify (with a bigint replacer) and 300-byte row were most
 * of the writer thread's CPU per record (docs/journal.md, "record bodies").
 *
 * Layout: one byte naming the layout, then fields as `tag (u8) + value`, each tag at most once,
 * absent optional fields left out, then a trailer: tag 0 and the CRC-32 (u32 LE) of every byte
 * before it. The trailer is what makes a cut between two fields (a truncated row that would
 * otherwise read as a record without its optional fields) or a flipped byte in a price refused
 * instead of read as a different record. Value encodings, by the tag's type:
 * - str: u32 LE byte length + UTF-8 (a lone surrogate is stored as U+FFFD, as UTF-8 must)
 * - num: f64 LE (prices, quantities and times are integers well inside 2^53)
 * - big: u8 form, then form 0: i64 LE; form 1: u32 LE length + ASCII decimal (past 64 bits);
 *   form 2: zero, nothing follows
 * - bool: u8 0 or 1
 * Tags are append-only: a new field gets a new tag, an old tag never changes meaning; a layout
 * byte or tag this build does not know makes the row unreadable (refused and counted by the
 * reader), never guessed at.
 */
export const ORDER_BODY_LAYOUT = 1;
export const REPORT_BODY_LAYOUT = 2;
/**
 * A report kept in its order's row (schema v4, `orders.reports`): the report body's fields plus
 * what an `execution_reports` row has in columns (seq, kind, status after it, venue and journal
 * time). The column holds one or more of these, each preceded by its length (u32 LE), so the
 * reports of one order appended one after another are one span of the writer's arena.
 */
export const FOLDED_REPORT_LAYOUT = 3;
/** The u32 length in front of each folded report. */
const FOLDED_PREFIX_BYTES = 4;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Tag 0 then the CRC-32: the last TRAILER_BYTES of every body. */
const TRAILER_BYTES = 5;
/**
 * The longest decimal text (sign included) of a bigint field a restart reads back: past this a
 * decimal is not money, and BigInt() of a huge one is slow enough to stall a restore. The engine
 * refuses a fee past it before booking (engine/order-manager.ts), or the fill would be booked live
 * and refused as damaged at the next start.
 */
export const MAX_DECIMAL_DIGITS = 400;

type FieldType = 'str' | 'num' | 'big' | 'bool';

const ORDER_FIELDS = {
  1: ['reduceOnly', 'bool'],
  2: ['reason', 'str'],
  3: ['venueOrderId', 'str'],
  4: ['status', 'str'],
  5: ['filledQty', 'num'],
  6: ['filledNotionalTicksLots', 'big'],
  7: ['feeAtoms', 'big'],
  8: ['updatedTs', 'num'],
  9: ['rejectReason', 'str'],
  10: ['text', 'str'],
} as const satisfies Record<number, readonly [string, FieldType]>;

const REPORT_FIELDS = {
  1: ['symbol', 'str'],
  2: ['venueOrderId', 'str'],
  3: ['side', 'str'],
  4: ['lastPrice', 'num'],
  5: ['lastQty', 'num'],
  6: ['leavesQty', 'num'],
  7: ['cumQty', 'num'],
  8: ['feeAtoms', 'big'],
  /** The report's own feeAsset, as the venue sent it (absent when it sent none). */
  9: ['reportFeeAsset', 'str'],
  10: ['liquidity', 'str'],
  11: ['tradeId', 'str'],
  12: ['rejectReason', 'str'],
  13: ['text', 'str'],
  /** The fee asset the engine booked the fee in (the record's `feeAsset`). */
  14: ['feeAsset', 'str'],
  /** What a rejection refuses ('order' | 'request'); 15-19 are the folded layout's. */
  20: ['rejects', 'str'],
} as const satisfies Record<number, readonly [string, FieldType]>;

const FOLDED_REPORT_FIELDS = {
  ...REPORT_FIELDS,
  15: ['seq', 'num'],
  16: ['kind', 'str'],
  17: ['statusAfter', 'str'],
  18: ['venueTs', 'num'],
  19: ['ts', 'num'],
} as const satisfies Record<number, readonly [string, FieldType]>;

/** The columns of an `orders` row that the body does not repeat. */
export interface OrderColumns {
  client_id: string;
  exchange: string;
  symbol: string;
  side: string;
  type: string;
  price: number | null;
  qty: number;
  tif: string;
  source: string;
  created_ts: number;
}

/** The columns of an `execution_reports` row that the body does not repeat. */
export interface ReportColumns {
  client_id: string;
  exchange: string;
  kind: string;
  venue_ts: number;
}

// ---- encoding (writer thread, per record) ---------------------------------------------------

/**
 * Encodes the bodies of one commit one after another into an arena: each returned view stays
 * valid until `reset()` (the writer binds them in multi-row inserts at the end of the commit),
 * and a commit allocates nothing per record but the view. Growing moves on to a bigger buffer;
 * views already returned keep the old one alive.
 */
export class BodyEncoder {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private off = 0;
  private start = 0;

  /** Starts a new commit: views returned before are no longer valid. */
  reset(): void {
    this.off = 0;
  }

  order(o: Order): Buffer {
    this.begin(ORDER_BODY_LAYOUT);
    if (o.reduceOnly !== undefined) this.bool(1, o.reduceOnly);
    if (o.reason !== undefined) this.str(2, o.reason);
    if (o.venueOrderId !== undefined) this.str(3, o.venueOrderId);
    this.str(4, o.status);
    this.num(5, o.filledQty);
    this.big(6, o.filledNotionalTicksLots);
    this.big(7, o.feeAtoms);
    this.num(8, o.updatedTs);
    if (o.rejectReason !== undefined) this.str(9, o.rejectReason);
    if (o.text !== undefined) this.str(10, o.text);
    return this.end();
  }

  report(r: ExecutionReport, feeAsset: string): Buffer {
    this.begin(REPORT_BODY_LAYOUT);
    this.reportFields(r, feeAsset);
    return this.end();
  }

  /**
   * A report to be kept in its order's row: length-prefixed, so consecutive ones of the same
   * order form one span (`joinFolded`). `statusAfter` and `ts` are the record's.
   */
  foldedReport(seq: number, r: ExecutionReport, feeAsset: string, statusAfter: string, ts: number, orderSymbol: string, orderSide: string): Buffer {
    this.begin(FOLDED_REPORT_LAYOUT, FOLDED_PREFIX_BYTES);
    this.num(15, seq);
    this.str(16, r.kind);
    this.str(17, statusAfter);
    this.num(18, r.ts);
    this.num(19, ts);
    this.reportFields(r, feeAsset, orderSymbol, orderSide);
    return this.end(FOLDED_PREFIX_BYTES);
  }

  /** The order's symbol and side (folded reports) are left out when the report's are the same: its row has them. */
  private reportFields(r: ExecutionReport, feeAsset: string, orderSymbol?: string, orderSide?: string): void {
    if (r.symbol !== orderSymbol) this.str(1, r.symbol);
    if (r.venueOrderId !== undefined) this.str(2, r.venueOrderId);
    if (r.side !== orderSide) this.str(3, r.side);
    // Absent quantities and fee (a plain-JS adapter's cancel, a fill without cumQty: the engine
    // accepts them, order-manager.ts fieldProblem) are left out, and read back absent.
    if (r.lastPrice !== undefined) this.num(4, r.lastPrice);
    if (r.lastQty !== undefined) this.num(5, r.lastQty);
    if (r.leavesQty !== undefined) this.num(6, r.leavesQty);
    if (r.cumQty !== undefined) this.num(7, r.cumQty);
    if (r.feeAtoms !== undefined) this.big(8, r.feeAtoms);
    if (r.feeAsset !== undefined) this.str(9, r.feeAsset);
    if (r.liquidity !== undefined) this.str(10, r.liquidity);
    if (r.tradeId !== undefined) this.str(11, r.tradeId);
    if (r.rejectReason !== undefined) this.str(12, r.rejectReason);
    if (r.text !== undefined) this.str(13, r.text);
    this.str(14, feeAsset);
    if (r.rejects !== undefined) this.str(20, r.rejects);
  }

  /** Starts a body, after `prefix` bytes its end fills in (its length). */
  private begin(layout: number, prefix = 0): void {
    this.start = this.off;
    this.room(prefix + 1);
    this.off += prefix;
    this.buf[this.off++] = layout;
  }

  private end(prefix = 0): Buffer {
    this.room(TRAILER_BYTES);
    const crc = crc32(this.buf.subarray(this.start + prefix, this.off));
    this.buf[this.off] = 0;
    this.buf.writeUInt32LE(crc, this.off + 1);
    this.off += TRAILER_BYTES;
    if (prefix > 0) this.buf.writeUInt32LE(this.off - this.start - prefix, this.start);
    return this.buf.subarray(this.start, this.off);
  }

  /** Room for n more bytes of the current body (moved to a new buffer, alone, when needed). */
  private room(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const sofar = this.off - this.start;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length, 2 * (sofar + n)));
    this.buf.copy(grown, 0, this.start, this.off);
    this.buf = grown;
    this.start = 0;
    this.off = sofar;
  }

  private str(tag: number, s: string): void {
    this.room(5 + s.length * 3);
    const buf = this.buf;
    buf[this.off] = tag;
    let n = 0;
    // Short ASCII (ids, codes, statuses: nearly every string here) byte by byte: cheaper than
    // a call into Buffer.write; anything else through it.
    if (s.length <= 32) {
      const at = this.off + 5;
      for (; n < s.length; n++) {
        const c = s.charCodeAt(n);
        if (c >= 0x80) break;
        buf[at + n] = c;
      }
    }
    if (n < s.length) n = buf.write(s, this.off + 5, 'utf8');
    buf.writeUInt32LE(n, this.off + 1);
    this.off += 5 + n;
  }

  private num(tag: number, x: number): void {
    this.room(9);
    this.buf[this.off] = tag;
    this.buf.writeDoubleLE(x, this.off + 1);
    this.off += 9;
  }

  private bool(tag: number, b: boolean): void {
    this.room(2);
    this.buf[this.off] = tag;
    this.buf[this.off + 1] = b ? 1 : 0;
    this.off += 2;
  }

  private big(tag: number, v: bigint): void {
    if (v === 0n) {
      // Most fee and notional fields of acks and cancels: no 64-bit conversion.
      this.room(2);
      this.buf[this.off] = tag;
      this.buf[this.off + 1] = 2;
      this.off += 2;
      return;
    }
    if (v >= INT64_MIN && v <= INT64_MAX) {
      this.room(10);
      this.buf[this.off] = tag;
      this.buf[this.off + 1] = 0;
      this.buf.writeBigInt64LE(v, this.off + 2);
      this.off += 10;
      return;
    }
    const s = v.toString();
    this.room(6 + s.length);
    this.buf[this.off] = tag;
    this.buf[this.off + 1] = 1;
    this.buf.writeUInt32LE(s.length, this.off + 2);
    this.buf.write(s, this.off + 6, 'latin1');
    this.off += 6 + s.length;
  }
}

/**
 * The `orders.reports` value of an order that has `folded` and now also `next` (both from
 * `foldedReport`): one view over both when `next` follows `folded` in the same arena (the
 * order's reports appended back to back, the common case), else a copy of the two.
 */
export function joinFolded(folded: Buffer | null, next: Buffer): Buffer {
  if (folded === null) return next;
  if (folded.buffer === next.buffer && folded.byteOffset + folded.length === next.byteOffset) return Buffer.from(folded.buffer, folded.byteOffset, folded.length + next.length);
  return Buffer.concat([folded, next]);
}

// ---- decoding (recovery and export; every byte is checked) -----------------------------------

/** A body that cannot be read: the reader refuses the row and counts it. */
export class RecordBodyError extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function readFields(body: unknown, layout: number, spec: Record<number, readonly [string, FieldType]>): Record<string, unknown> {
  if (!(body instanceof Uint8Array)) throw new RecordBodyError(`body is ${body === null ? 'NULL' : typeof body}, not a BLOB`);
  if (body.length === 0) throw new RecordBodyError('body is empty');
  if (body[0] !== layout) throw new RecordBodyError(`body layout ${body[0]} is not ${layout}: written by another build, or damaged`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const end = body.length - TRAILER_BYTES;
  if (end < 1 || body[end] !== 0) throw new RecordBodyError(`body has no trailer (truncated or damaged; length ${body.length})`);
  if (view.getUint32(end + 1, true) !== crc32(body.subarray(0, end))) throw new RecordBodyError('body checksum does not match (damaged)');
  const out: Record<string, unknown> = {};
  let off = 1;
  const need = (n: number, what: string) => {
    if (off + n > end) throw new RecordBodyError(`body truncated in ${what} at byte ${off} (fields end at ${end})`);
  };
  // A length is checked against what is left of the body before anything is read with it.
  const u32 = (what: string, max = Number.MAX_SAFE_INTEGER) => {
    need(4, what);
    const n = view.getUint32(off, true);
    off += 4;
    if (n > max) throw new RecordBodyError(`${what}: length ${n} over the limit ${max}`);
    need(n, what);
    return n;
  };
  while (off < end) {
    const tag = body[off]!;
    const field = spec[tag];
    if (!field) throw new RecordBodyError(`unknown field tag ${tag} at byte ${off}`);
    const [name, type] = field;
    if (name in out) throw new RecordBodyError(`field ${name} twice`);
    off++;
    switch (type) {
      case 'str': {
        const n = u32(name);
        try {
          out[name] = utf8.decode(body.subarray(off, off + n));
        } catch {
          throw new RecordBodyError(`field ${name} is not valid UTF-8`);
        }
        off += n;
        break;
      }
      case 'num':
        need(8, name);
        out[name] = view.getFloat64(off, true);
        off += 8;
        break;
      case 'bool':
        need(1, name);
        if (body[off]! > 1) throw new RecordBodyError(`field ${name}: ${body[off]} is not a boolean`);
        out[name] = body[off] === 1;
        off += 1;
        break;
      case 'big': {
        need(1, name);
        const form = body[off++]!;
        if (form === 0) {
          need(8, name);
          out[name] = view.getBigInt64(off, true);
          off += 8;
        } else if (form === 2) {
          out[name] = 0n;
        } else if (form === 1) {
          const n = u32(name, MAX_DECIMAL_DIGITS);
          const digits = Buffer.from(body.buffer, body.byteOffset + off, n).toString('latin1');
          if (!/^-?\d+$/.test(digits)) throw new RecordBodyError(`field ${name}: "${digits.slice(0, 40)}" is not an integer`);
          out[name] = BigInt(digits);
          off += n;
        } else throw new RecordBodyError(`field ${name}: unknown integer form ${form}`);
        break;
      }
    }
  }
  return out;
}

const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/** CRC-32 (zlib's); zlib.crc32 where this Node has it (20.15+). */
const crc32: (bytes: Uint8Array) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function'
    ? (bytes) => zlib.crc32(bytes)
    : (bytes) => {
        let c = -1;
        for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
        return (c ^ -1) >>> 0;
      };

// Numbers are checked finite, not integral: the writer stores what the engine had, and recovery
// must not refuse a record the engine accepted (a venue time with a fraction of a millisecond).
// What a report may hold is what the engine's check accepts (engine/order-manager.ts
// reportProblem): each field here is refused exactly where that check refuses it.
const finite = z.number().refine(Number.isFinite, 'not a finite number');
/** Names, ids and reason codes: short, never empty. */
const shortText = z.string().min(1).max(200);
const side = z.enum(['buy', 'sell']);
const orderStatus = z.enum(['pending_new', 'open', 'partially_filled', 'filled', 'pending_cancel', 'cancelled', 'rejected']);

const orderRow = z.object({
  client_id: shortText,
  exchange: shortText,
  symbol: shortText,
  side,
  type: z.enum(['limit', 'market']),
  price: finite.nullable(),
  qty: finite,
  tif: z.enum(['GTC', 'IOC', 'FOK', 'POST_ONLY']),
  source: z.string(),
  created_ts: finite,
});

const orderBody = z.strictObject({
  reduceOnly: z.boolean().optional(),
  reason: z.string().optional(),
  venueOrderId: z.string().optional(),
  status: orderStatus,
  filledQty: finite,
  filledNotionalTicksLots: z.bigint(),
  feeAtoms: z.bigint(),
  updatedTs: finite,
  rejectReason: shortText.optional(),
  text: z.string().optional(),
});

const reportRow = z.object({
  client_id: shortText,
  exchange: shortText,
  kind: z.enum(['ack', 'fill', 'cancelled', 'rejected', 'expired']),
  venue_ts: finite,
});

const reportBody = z.strictObject({
  symbol: shortText,
  venueOrderId: z.string().optional(),
  side,
  // Optional: the engine accepts a report without them (a fill's lots, ticks and fee are then
  // refused by the replay's own check, as live); rows written before always have them.
  lastPrice: finite.optional(),
  lastQty: finite.optional(),
  leavesQty: finite.optional(),
  cumQty: finite.optional(),
  feeAtoms: z.bigint().optional(),
  reportFeeAsset: z.string().optional(),
  liquidity: z.enum(['maker', 'taker']).optional(),
  tradeId: z.string().optional(),
  rejectReason: shortText.optional(),
  text: z.string().optional(),
  feeAsset: z.string(),
  rejects: z.enum(['order', 'request']).optional(),
});

function parsed<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new RecordBodyError(`${what}: ${issue.path.map(String).join('.') || 'value'}: ${issue.message}`);
}

/** The order as it was appended, from its row's columns and body. Throws RecordBodyError. */
export function decodeOrder(row: OrderColumns & { body: unknown }): Order {
  const c = parsed(orderRow, row, 'order columns');
  const b = parsed(orderBody, readFields(row.body, ORDER_BODY_LAYOUT, ORDER_FIELDS), 'order body');
  const order: Order = {
    exchange: c.exchange,
    symbol: c.symbol,
    side: c.side,
    type: c.type,
    qty: c.qty,
    tif: c.tif,
    source: c.source,
    clientOrderId: c.client_id,
    status: b.status,
    filledQty: b.filledQty,
    filledNotionalTicksLots: b.filledNotionalTicksLots,
    feeAtoms: b.feeAtoms,
    createdTs: c.created_ts,
    updatedTs: b.updatedTs,
  };
  if (c.price !== null) order.price = c.price;
  if (b.reduceOnly !== undefined) order.reduceOnly = b.reduceOnly;
  if (b.reason !== undefined) order.reason = b.reason;
  if (b.venueOrderId !== undefined) order.venueOrderId = b.venueOrderId;
  if (b.rejectReason !== undefined) order.rejectReason = b.rejectReason as Order['rejectReason'];
  if (b.text !== undefined) order.text = b.text;
  return order;
}

/** The report as it was appended and the fee asset it was booked in. Throws RecordBodyError. */
export function decodeReport(row: ReportColumns & { body: unknown }): { report: ExecutionReport; feeAsset: string } {
  const c = parsed(reportRow, row, 'report columns');
  const b = parsed(reportBody, readFields(row.body, REPORT_BODY_LAYOUT, REPORT_FIELDS), 'report body');
  return { report: toReport(c, b), feeAsset: b.feeAsset };
}

/** A report kept in its order's row, with what its own row would have had in columns. */
export interface FoldedReport {
  seq: number;
  report: ExecutionReport;
  feeAsset: string;
  statusAfter: z.infer<typeof orderStatus>;
  ts: number;
}

/** Symbol and side are left out when they are the order's (its row has them). */
const foldedReportBody = reportBody.extend({ symbol: shortText.optional(), side: side.optional(), seq: z.number().int().positive(), kind: reportRow.shape.kind, statusAfter: orderStatus, venueTs: finite, ts: finite });

/**
 * The reports of an order's `reports` value (schema v4), in the order they were appended. Each
 * is checked as a report row's body is; a report that does not read throws RecordBodyError
 * after `each` has seen the ones before it (a damaged length makes the rest unreadable too).
 */
export function decodeFoldedReports(order: { client_id: string; exchange: string; symbol: string; side: string }, value: unknown, each: (r: FoldedReport) => void): void {
  if (!(value instanceof Uint8Array)) throw new RecordBodyError(`reports is ${value === null ? 'NULL' : typeof value}, not a BLOB`);
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  let off = 0;
  for (let k = 1; off < value.length; k++) {
    if (off + FOLDED_PREFIX_BYTES > value.length) throw new RecordBodyError(`folded report ${k}: length cut at byte ${off} of ${value.length}`);
    const n = view.getUint32(off, true);
    off += FOLDED_PREFIX_BYTES;
    if (n > value.length - off) throw new RecordBodyError(`folded report ${k}: length ${n} past the end (${value.length - off} bytes left)`);
    const body = value.subarray(off, off + n);
    off += n;
    let b: z.infer<typeof foldedReportBody>;
    try {
      b = parsed(foldedReportBody, readFields(body, FOLDED_REPORT_LAYOUT, FOLDED_REPORT_FIELDS), 'folded report body');
    } catch (err) {
      throw new RecordBodyError(`folded report ${k}: ${(err as Error).message}`);
    }
    const c = parsed(reportRow, { client_id: order.client_id, exchange: order.exchange, kind: b.kind, venue_ts: b.venueTs }, `folded report ${k} columns`);
    const full = parsed(reportBody.pick({ symbol: true, side: true }), { symbol: b.symbol ?? order.symbol, side: b.side ?? order.side }, `folded report ${k} symbol and side`);
    each({ seq: b.seq, report: toReport(c, { ...b, ...full }), feeAsset: b.feeAsset, statusAfter: b.statusAfter, ts: b.ts });
  }
}

function toReport(c: z.infer<typeof reportRow>, b: z.infer<typeof reportBody>): ExecutionReport {
  // A quantity or fee the report was journaled without stays absent, as the engine had it.
  const report = { kind: c.kind, exchange: c.exchange, symbol: b.symbol, clientOrderId: c.client_id, side: b.side } as ExecutionReport;
  if (b.lastPrice !== undefined) report.lastPrice = b.lastPrice;
  if (b.lastQty !== undefined) report.lastQty = b.lastQty;
  if (b.leavesQty !== undefined) report.leavesQty = b.leavesQty;
  if (b.cumQty !== undefined) report.cumQty = b.cumQty;
  if (b.feeAtoms !== undefined) report.feeAtoms = b.feeAtoms;
  report.ts = c.venue_ts;
  if (b.venueOrderId !== undefined) report.venueOrderId = b.venueOrderId;
  if (b.reportFeeAsset !== undefined) report.feeAsset = b.reportFeeAsset;
  if (b.liquidity !== undefined) report.liquidity = b.liquidity;
  if (b.tradeId !== undefined) report.tradeId = b.tradeId;
  if (b.rejectReason !== undefined) report.rejectReason = b.rejectReason as ExecutionReport['rejectReason'];
  if (b.rejects !== undefined) report.rejects = b.rejects;
  if (b.text !== undefined) report.text = b.text;
  return report;
}

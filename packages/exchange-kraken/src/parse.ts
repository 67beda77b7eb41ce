import { type FeedRejectReason, type BookDeltaEvent, type BookLevel, type TradeEvent } from '@cwts/core';
import { JSON_SCAN_FAILED, JsonCursor, RepeatedKeyFinder, isScanFailure, isoTimeMs, rfc3339Ms, rfc3339StrictMs, unitsOf, type FastScale, type InstrumentScales } from '@cwts/core/adapter-kit';
import type { KrakenPrecision } from './checksum.js';
import { quoteJsonNumbers } from './executions-parse.js';

/** Moved to the adapter kit (Coinbase reads the same timestamps); re-exported for compatibility. */
export { rfc3339Ms };

/** Per-symbol parse context: scales, checksum precision and the reused delta (no allocation per book frame). */
export interface SymbolCtx {
  readonly symbol: string;
  readonly scales: InstrumentScales;
  readonly precision: KrakenPrecision;
  readonly delta: BookDeltaEvent;
}

export function makeSymbolCtx(exchange: string, scales: InstrumentScales, precision: KrakenPrecision): SymbolCtx {
  const symbol = scales.instrument.symbol;
  return { symbol, scales, precision, delta: { type: 'book_delta', exchange, symbol, ts: 0, recvTs: 0, firstSeq: 0, seq: 0, bids: [], asks: [] } };
}

/** What a frame was. */
export const Frame = {
  /** A `book` snapshot or update; see `bookType`, `ctx`, `checksum`. */
  BOOK: 1,
  /** One or more trades in `trades`. */
  TRADE: 2,
  HEARTBEAT: 3,
  /** A successful method response (subscribe, unsubscribe, pong). */
  REPLY: 4,
  /** The `status` channel; `reply` holds the parsed frame. */
  STATUS: 5,
  MALFORMED: -1,
  UNKNOWN: -2,
  /** A value off the instrument's grid, a negative quantity, or an unknown symbol. */
  INVALID: -3,
  /** A method response with success: false. */
  ERROR: -4,
} as const;
export type FrameCode = (typeof Frame)[keyof typeof Frame];

/**
 * A JSON number's text into integer units. Kraken v2 writes prices and quantities as JSON
 * numbers, so a tiny quantity may come in exponent form (5e-08): that rare case is expanded to a
 * plain decimal first (allocates), everything else is read in place.
 */
export function numberUnits(s: string, start: number, end: number, sc: FastScale): number {
  const v = unitsOf(s, start, end, sc);
  if (!Number.isNaN(v)) return v;
  const m = /^(-?)(\d+)(?:\.(\d+))?[eE]([+-]?\d+)$/.exec(s.slice(start, end));
  if (!m) return NaN;
  const digits = m[2]! + (m[3] ?? '');
  const point = m[2]!.length + Number(m[4]);
  if (point > 40 || point < -40) return NaN;
  const plain = point <= 0 ? `0.${'0'.repeat(-point)}${digits}` : point >= digits.length ? digits + '0'.repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`;
  const text = m[1] + plain;
  return unitsOf(text, 0, text.length, sc);
}

const LV_PRICE = '{"price":';
const LV_QTY = ',"qty":';
/**
 * A whole `bids`/`asks` array in Kraken's own layout, from its first `{` through its `]`: every
 * level exactly `{"price":<number>,"qty":<number>}` with JSON numbers (no leading zeros, no
 * whitespace), levels separated by single commas. One native regex pass proves the structure of
 * all levels at once (sticky: it must match at lastIndex).
 */
const LEVELS_RE = /(?:\{"price":-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?,"qty":-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?\}(?:,(?!\])|(?=\])))+\]/y;

/**
 * The end of a JSON number starting at i, or -1 when there is none or it has a leading zero
 * (JSON forbids those; the cursor path refuses them): numberUnits then reads the text exactly.
 */
function plainNumberEnd(s: string, i: number): number {
  const start = i;
  if (s.charCodeAt(i) === 45 /* - */) i++;
  const first = s.charCodeAt(i);
  if (!(first >= 48 && first <= 57)) return -1;
  if (first === 48) {
    const next = s.charCodeAt(i + 1);
    if (next >= 48 && next <= 57) return -1;
  }
  for (;;) {
    const ch = s.charCodeAt(i);
    if ((ch >= 48 && ch <= 57) || ch === 46 || ch === 101 || ch === 69 || ch === 43 || ch === 45) i++;
    else break;
  }
  return i > start ? i : -1;
}

/**
 * Kraken WebSocket v2 frames -> normalized integer events. `book` frames are read straight from
 * the text with the allocation-free cursor (prices and quantities go from their JSON number text
 * to ticks and lots without a float); trades, control messages and anything in an unexpected
 * layout go through JSON.parse, where trades and books are read from a second parse that keeps
 * every number's text (`exactNumbers`), so no value is ever a double rounded onto the grid.
 */
export class KrakenFrameParser {
  private readonly cur = new JsonCursor();
  ctx: SymbolCtx | undefined;
  bookType: 'snapshot' | 'update' = 'update';
  checksum = -1;
  readonly trades: { ctx: SymbolCtx; trade: TradeEvent }[] = [];
  problem = '';
  /** Why an INVALID frame was rejected (the cwts_feed_errors_total reason). */
  reason: FeedRejectReason = 'malformed';
  /**
   * A refused `book` frame JSON could read whose entry names no pair (`data` not an array, an
   * entry that is not an object, a `symbol` that is not a string): it may have been an update of
   * any book, so every synced book resyncs (set with MALFORMED).
   */
  unnamedBook = false;
  /** The frame is on the `book` channel as JSON reads it (its name may be written with an escape). */
  bookFrame = false;
  reply: Record<string, unknown> | undefined;

  constructor(
    private readonly exchange: string,
    private readonly symbols: SymbolCtx[],
  ) {}

  parse(text: string, recvTs: number): FrameCode {
    // a rejection must never name the previous frame's symbol (it would resync the wrong book)
    this.ctx = undefined;
    this.unnamedBook = false;
    this.bookFrame = false;
    try {
      const code = this.fastBook(text, recvTs);
      if (code === Frame.INVALID) return this.wholeFrame(text, recvTs);
      if (code !== 0) return code;
    } catch (err) {
      if (!isScanFailure(err)) throw err;
    }
    this.ctx = undefined; // the fast path may have named a book before it gave up
    return this.slow(text, recvTs);
  }

  /**
   * {"channel":"book","type":..,"data":[{"symbol":..,"bids":[..],"asks":[..],"checksum":..,"timestamp":..}]}; 0 = not handled here.
   *
   * A key repeated in one object leaves the frame's meaning open (JSON.parse keeps the last value,
   * this reader would use the first: `"checksum":-1,"checksum":3470818162`, or a second `price` in
   * a level below the checksummed top 10). Each object's keys are tracked in a bitmask; a repeat,
   * a second key we do not know, or an unknown key holding an object or array (which may hide a
   * repeat) sends the frame to the slow path, which refuses it (RepeatedKeyFinder).
   */
  private fastBook(text: string, recvTs: number): FrameCode | 0 {
    const c = this.cur.reset(text);
    c.beginObject();
    if (!c.nextKey(true) || !c.is('channel')) return 0;
    c.readString();
    if (!c.is('book')) return 0;
    this.bookFrame = true;
    let type: 'snapshot' | 'update' | '' = '';
    let have = false;
    // keys seen: 1 channel, 2 type, 4 data, 8 one we do not know
    let seen = 1;
    while (c.nextKey(false)) {
      const bit = c.is('type') ? 2 : c.is('data') ? 4 : c.is('channel') ? 1 : 8;
      if ((seen & bit) !== 0) throw JSON_SCAN_FAILED;
      seen |= bit;
      if (bit === 2) {
        c.readString();
        type = c.is('update') ? 'update' : c.is('snapshot') ? 'snapshot' : '';
      } else if (bit === 4) {
        c.expect(91);
        const code = this.bookEntry(c, recvTs);
        if (code !== Frame.BOOK) return code;
        if (c.peek() !== 93) return 0; // more than one book entry: not the documented layout
        c.i++;
        have = true;
      } else skipScalar(c);
    }
    c.end_();
    if (!have || type === '') return 0;
    this.bookType = type;
    return Frame.BOOK;
  }

  private bookEntry(c: JsonCursor, recvTs: number): FrameCode | 0 {
    c.beginObject();
    let ctx: SymbolCtx | undefined;
    let haveB = false;
    let haveA = false;
    let checksum = -1;
    let ts = 0;
    let first = true;
    // keys seen: 1 symbol, 2 bids, 4 asks, 8 checksum, 16 timestamp, 32 one we do not know
    let seen = 0;
    while (c.nextKey(first)) {
      first = false;
      const bit = c.is('symbol') ? 1 : c.is('bids') ? 2 : c.is('asks') ? 4 : c.is('checksum') ? 8 : c.is('timestamp') ? 16 : 32;
      if ((seen & bit) !== 0) throw JSON_SCAN_FAILED;
      seen |= bit;
      if (bit === 1) {
        c.readString();
        ctx = this.find(c);
        // a pair we did not subscribe: the slow path reads the whole frame (a repeated key after
        // this one would name another book) and refuses it as unknown_symbol
        if (!ctx) return 0;
        this.ctx = ctx; // set early: an invalid level below resyncs this symbol
      } else if (bit === 2 || bit === 4) {
        if (!ctx) return 0;
        if (!this.levels(c, bit === 2 ? ctx.delta.bids : ctx.delta.asks, ctx.scales)) return Frame.INVALID;
        if (bit === 2) haveB = true;
        else haveA = true;
      } else if (bit === 8) checksum = c.readInt();
      else if (bit === 16) {
        c.readString();
        ts = rfc3339Ms(c.s, c.start, c.end);
      } else skipScalar(c);
    }
    if (!ctx || !haveB || !haveA || checksum < 0 || checksum > 0xffffffff) return 0;
    this.ctx = ctx;
    this.checksum = checksum;
    ctx.delta.ts = ts;
    ctx.delta.recvTs = recvTs;
    return Frame.BOOK;
  }

  /** [{"price":n,"qty":n},...] into the reused level array. */
  private levels(c: JsonCursor, out: BookLevel[], sc: InstrumentScales): boolean {
    c.expect(91);
    const s = c.s;
    if (s.charCodeAt(c.i) === 123 /* { */) {
      LEVELS_RE.lastIndex = c.i;
      if (LEVELS_RE.test(s)) return this.exactLevels(s, c, out, sc, LEVELS_RE.lastIndex);
    }
    let n = 0;
    let more = c.peek() !== 93;
    if (!more) c.i++;
    while (more) {
      if (s.charCodeAt(c.i) !== 123 /* { */) c.ws();
      let p = NaN;
      let q = NaN;
      // Kraken's own layout, {"price":n,"qty":n}, read in place; any other layout key by key
      const pS = c.i + LV_PRICE.length;
      const pE = s.startsWith(LV_PRICE, c.i) ? plainNumberEnd(s, pS) : -1;
      const qS = pE + LV_QTY.length;
      const qE = pE >= 0 && s.startsWith(LV_QTY, pE) ? plainNumberEnd(s, qS) : -1;
      if (qE >= 0 && s.charCodeAt(qE) === 125 /* } */) {
        p = numberUnits(s, pS, pE, sc.price);
        q = numberUnits(s, qS, qE, sc.qty);
        if (Number.isNaN(p) || Number.isNaN(q)) {
          const [a, b] = Number.isNaN(p) ? [pS, pE] : [qS, qE];
          this.reason = 'off_grid';
          this.problem = `${Number.isNaN(p) ? 'price' : 'qty'} ${s.slice(a, b)} of ${sc.instrument.symbol} is off the ${Number.isNaN(p) ? 'tick' : 'lot'} grid`;
          return false;
        }
        c.i = qE + 1;
      } else if (!this.cursorLevel(c, sc)) return false;
      else {
        p = this.lvPrice;
        q = this.lvQty;
      }
      if (q < 0) {
        this.reason = 'negative_qty';
        this.problem = `negative qty in a ${sc.instrument.symbol} book level`;
        return false;
      }
      const l = out[n];
      if (l === undefined) out.push({ price: p, qty: q });
      else {
        l.price = p;
        l.qty = q;
      }
      n++;
      // ',' another level, ']' the end (whitespace between is allowed, anything else is not)
      let ch = s.charCodeAt(c.i);
      if (ch !== 44 && ch !== 93) ch = c.peek();
      if (ch === 44) c.i++;
      else if (ch === 93) {
        c.i++;
        more = false;
      } else throw JSON_SCAN_FAILED;
    }
    out.length = n;
    return true;
  }

  /**
   * The levels of an array LEVELS_RE matched from c.i to `end` (just past its `]`): the
   * structure is proven, so each number starts at a fixed offset from its level's `{` and ends
   * at the next ',' (price) or '}' (qty). Values are read exactly as on the per-level path.
   */
  private exactLevels(s: string, c: JsonCursor, out: BookLevel[], sc: InstrumentScales, end: number): boolean {
    let n = 0;
    let i = c.i;
    for (;;) {
      const pS = i + LV_PRICE.length;
      let pE = pS;
      while (s.charCodeAt(pE) !== 44 /* , */) pE++;
      const qS = pE + LV_QTY.length;
      let qE = qS;
      while (s.charCodeAt(qE) !== 125 /* } */) qE++;
      // plain decimals in place; the exponent form (5e-08) through numberUnits
      let p = unitsOf(s, pS, pE, sc.price);
      if (p !== p) p = numberUnits(s, pS, pE, sc.price);
      let q = unitsOf(s, qS, qE, sc.qty);
      if (q !== q) q = numberUnits(s, qS, qE, sc.qty);
      if (Number.isNaN(p) || Number.isNaN(q)) {
        const [a, b] = Number.isNaN(p) ? [pS, pE] : [qS, qE];
        this.reason = 'off_grid';
        this.problem = `${Number.isNaN(p) ? 'price' : 'qty'} ${s.slice(a, b)} of ${sc.instrument.symbol} is off the ${Number.isNaN(p) ? 'tick' : 'lot'} grid`;
        return false;
      }
      if (q < 0) {
        this.reason = 'negative_qty';
        this.problem = `negative qty in a ${sc.instrument.symbol} book level`;
        return false;
      }
      const l = out[n];
      if (l === undefined) out.push({ price: p, qty: q });
      else {
        l.price = p;
        l.qty = q;
      }
      n++;
      i = qE + 1; // past '}'
      if (s.charCodeAt(i) !== 44 /* , */) break; // ']': the regex proved it
      i++;
    }
    out.length = n;
    c.i = end;
    return true;
  }

  private lvPrice = NaN;
  private lvQty = NaN;

  /** One level object in any key order, with the cursor: false (reason and problem set) when unusable. */
  private cursorLevel(c: JsonCursor, sc: InstrumentScales): boolean {
    c.beginObject();
    let p = NaN;
    let q = NaN;
    let k = true;
    // keys seen: 1 price, 2 qty, 4 one we do not know; a repeat -> slow path (refused there)
    let seen = 0;
    while (c.nextKey(k)) {
      k = false;
      const isP = c.is('price');
      const isQ = !isP && c.is('qty');
      const bit = isP ? 1 : isQ ? 2 : 4;
      if ((seen & bit) !== 0) throw JSON_SCAN_FAILED;
      seen |= bit;
      if (!isP && !isQ) {
        skipScalar(c);
        continue;
      }
      c.peek();
      const start = c.i;
      c.skipValue();
      const ch = c.s.charCodeAt(start);
      const v = ch === 45 || (ch >= 48 && ch <= 57) ? numberUnits(c.s, start, c.i, isP ? sc.price : sc.qty) : NaN;
      if (Number.isNaN(v)) {
        this.reason = 'off_grid';
        this.problem = `${isP ? 'price' : 'qty'} ${c.s.slice(start, c.i)} of ${sc.instrument.symbol} is off the ${isP ? 'tick' : 'lot'} grid`;
        return false;
      }
      if (isP) p = v;
      else q = v;
    }
    if (Number.isNaN(p) || Number.isNaN(q)) {
      this.reason = 'malformed';
      this.problem = `a ${sc.instrument.symbol} book level without price or qty`;
      return false;
    }
    this.lvPrice = p;
    this.lvQty = q;
    return true;
  }

  private find(c: JsonCursor): SymbolCtx | undefined {
    const list = this.symbols;
    for (let i = 0; i < list.length; i++) if (c.is(list[i]!.symbol)) return list[i];
    return undefined;
  }

  private invalid(msg: string, reason: FeedRejectReason): FrameCode {
    this.problem = msg;
    this.reason = reason;
    return Frame.INVALID;
  }

  /**
   * The fast path refuses a frame at its first bad value, before it has read the rest: the rest
   * may repeat a key (a second "symbol" naming another book), hold an entry that names no pair,
   * or not be JSON at all. Cold (refused frames only): the JSON.parse path reads the whole frame;
   * where it finds the frame unreadable (MALFORMED, with the books it may touch) that verdict
   * stands, otherwise the fast path's (its reason and book).
   */
  private wholeFrame(text: string, recvTs: number): FrameCode {
    const ctx = this.ctx;
    const reason = this.reason;
    const problem = this.problem;
    this.ctx = undefined;
    if (this.slow(text, recvTs) === Frame.MALFORMED) return Frame.MALFORMED;
    this.ctx = ctx;
    this.reason = reason;
    this.problem = problem;
    this.unnamedBook = false;
    return Frame.INVALID;
  }

  /** A frame with a key repeated in one object: refused as malformed, naming no book (the feed resyncs the books its text names). */
  private duplicateKey(text: string): FrameCode {
    this.ctx = undefined;
    this.reason = 'malformed';
    const key = this.keys.find(text) ?? '';
    return this.malformed(`duplicate key ${JSON.stringify(key.slice(0, 40))} (JSON leaves its meaning open)`);
  }

  /** The slow path's repeated-key check (allocation-free; reused). */
  private readonly keys = new RepeatedKeyFinder();

  /** JSON.parse path: trades, control messages, unusual layouts and malformed text. */
  private slow(text: string, recvTs: number): FrameCode {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      this.problem = `malformed JSON: ${(err as Error).message}`;
      return Frame.MALFORMED;
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      this.problem = 'frame is not a JSON object';
      return Frame.MALFORMED;
    }
    // a key repeated in one object (at any depth): JSON.parse kept the last value, but the frame
    // also named what came first (`"symbol":"ETH/USD","symbol":"DOGE/USD"`): refused
    if (this.keys.find(text) !== undefined) return this.duplicateKey(text);
    const o = obj as Record<string, unknown>;
    this.reply = o;
    if (typeof o.method === 'string') {
      if (o.success === false) {
        this.problem = `${o.method} failed: ${typeof o.error === 'string' ? o.error : 'no error text'}`;
        return Frame.ERROR;
      }
      return Frame.REPLY;
    }
    switch (o.channel) {
      case 'heartbeat':
        return Frame.HEARTBEAT;
      case 'status':
        return Frame.STATUS;
      case 'trade':
      case 'book': {
        this.bookFrame = o.channel === 'book';
        const exact = this.exactNumbers(text);
        if (exact === undefined) return this.malformed(`${o.channel} frame whose numbers cannot be read exactly (a \\u0000 escape, or nested too deep)`);
        return o.channel === 'trade' ? this.slowTrades(exact, recvTs) : this.slowBook(exact, recvTs);
      }
      default:
        this.problem = `unknown message ${text.length > 120 ? `${text.slice(0, 120)}...` : text}`;
        return Frame.UNKNOWN;
    }
  }

  private ctxFor(sym: unknown): SymbolCtx | undefined {
    const ctx = this.symbols.find((s) => s.symbol === sym);
    if (!ctx) {
      this.problem = `unknown symbol ${String(isMarkedNumber(sym) ? sym.slice(1) : sym)}`;
      this.reason = 'unknown_symbol';
    }
    return ctx;
  }

  /**
   * The frame (already proven JSON) parsed again with every number as a string holding its exact
   * text behind a NUL marker (`quoteJsonNumbers`): JSON.parse would make 65000.10000000000000001
   * the double 65000.1, on the grid, where the text is not. A frame with a \u0000 escape is
   * refused (a string could then pose as a marked number), as is one nested past the bound.
   */
  private exactNumbers(text: string): Record<string, unknown> | undefined {
    if (text.includes('\\u0000')) return undefined;
    const quoted = quoteJsonNumbers(text);
    if (quoted === undefined) return undefined;
    try {
      return JSON.parse(quoted) as Record<string, unknown>;
    } catch {
      return undefined; // cannot happen for a text JSON.parse read (numbers become strings), but never throw here
    }
  }

  /** A number of `exactNumbers` in units, read from its text; NaN for anything else (a JSON string too). */
  private units(v: unknown, sc: FastScale): number {
    return isMarkedNumber(v) ? numberUnits(v, 1, v.length, sc) : NaN;
  }

  private slowBook(o: Record<string, unknown>, recvTs: number): FrameCode {
    const data = o.data;
    // An entry that names no pair (data not an array, an entry that is not an object, a symbol
    // that is not a string) may have been an update of any of our books: every synced book
    // resyncs (unnamedBook). A string naming a pair we did not subscribe is unknown_symbol.
    if (!Array.isArray(data)) {
      this.unnamedBook = true;
      return this.malformed('book frame whose data is not an array (it names no pair)');
    }
    for (let k = 0; k < data.length; k++) {
      const e = data[k] as unknown;
      const sym = e !== null && typeof e === 'object' ? (e as { symbol?: unknown }).symbol : undefined;
      // (a JSON number is a string here, behind exactNumbers' NUL marker)
      if (e === null || typeof e !== 'object' || Array.isArray(e) || typeof sym !== 'string' || isMarkedNumber(sym)) {
        this.unnamedBook = true;
        return this.malformed('book entry that names no pair (no symbol string)');
      }
    }
    if ((o.type !== 'snapshot' && o.type !== 'update') || data.length !== 1) return this.malformed('book frame without type or a single data entry');
    const e = data[0] as Record<string, unknown>;
    const ctx = this.ctxFor(e.symbol);
    if (!ctx) return Frame.INVALID;
    this.ctx = ctx; // set early: an invalid level below resyncs this symbol
    const ck = markedNumberValue(e.checksum);
    if (!Array.isArray(e.bids) || !Array.isArray(e.asks) || !Number.isInteger(ck) || ck < 0 || ck > 0xffffffff) return this.malformed('book entry without bids, asks or checksum');
    const fill = (src: unknown[], out: BookLevel[]): boolean => {
      out.length = 0;
      for (const l of src) {
        const r = l as { price?: unknown; qty?: unknown } | null;
        const p = this.units(r?.price, ctx.scales.price);
        const q = this.units(r?.qty, ctx.scales.qty);
        if (Number.isNaN(p) || Number.isNaN(q) || q < 0) {
          this.reason = Number.isNaN(p) || Number.isNaN(q) ? 'off_grid' : 'negative_qty';
          this.problem = `book level ${JSON.stringify(l).replace(/\\u0000/g, '')} of ${ctx.symbol} is off the grid`;
          return false;
        }
        out.push({ price: p, qty: q });
      }
      return true;
    };
    if (!fill(e.bids, ctx.delta.bids) || !fill(e.asks, ctx.delta.asks)) return Frame.INVALID;
    this.bookType = o.type;
    this.checksum = ck;
    ctx.delta.ts = isoTimeMs(typeof e.timestamp === 'string' ? e.timestamp : undefined);
    ctx.delta.recvTs = recvTs;
    return Frame.BOOK;
  }

  private slowTrades(o: Record<string, unknown>, recvTs: number): FrameCode {
    if ((o.type !== 'snapshot' && o.type !== 'update') || !Array.isArray(o.data)) return this.malformed('trade frame without type or data');
    this.trades.length = 0;
    for (const raw of o.data) {
      const t = raw as Record<string, unknown> | null;
      if (t === null || typeof t !== 'object') return this.malformed('trade entry is not an object');
      const ctx = this.ctxFor(t.symbol);
      if (!ctx) return Frame.INVALID;
      const id = markedNumberValue(t.trade_id);
      if (!Number.isSafeInteger(id) || id < 0 || (t.side !== 'buy' && t.side !== 'sell')) return this.malformed('trade without trade_id or side');
      const price = this.units(t.price, ctx.scales.price);
      const qty = this.units(t.qty, ctx.scales.qty);
      if (Number.isNaN(price) || Number.isNaN(qty)) return this.invalid(`trade ${shown(t.price)} x ${shown(t.qty)} of ${ctx.symbol} is off the grid`, 'off_grid');
      // strict RFC 3339: Date.parse reads "1 " or "+1" as dates in 2001, and a wrong time on a
      // trade is what the trade-id guard judges a venue id restart by
      const ts = typeof t.timestamp === 'string' ? rfc3339StrictMs(t.timestamp) : NaN;
      if (Number.isNaN(ts)) return this.malformed('trade without an RFC 3339 timestamp');
      this.trades.push({
        ctx,
        trade: { type: 'trade', exchange: this.exchange, symbol: ctx.symbol, ts, recvTs, tradeId: String(id), price, qty, side: t.side },
      });
    }
    return Frame.TRADE;
  }

  private malformed(msg: string): FrameCode {
    this.problem = msg;
    return Frame.MALFORMED;
  }
}

/**
 * Skips the value of a key the fast path does not know: a scalar only. An object or array may
 * hide a repeated key, so it sends the frame to the slow path (which walks every object).
 */
function skipScalar(c: JsonCursor): void {
  const ch = c.peek();
  if (ch === 123 /* { */ || ch === 91 /* [ */) throw JSON_SCAN_FAILED;
  c.skipValue();
}

/** A value of `exactNumbers` that was a JSON number: its text behind the NUL marker. */
function isMarkedNumber(v: unknown): v is string {
  return typeof v === 'string' && v.length > 1 && v.charCodeAt(0) === 0;
}

/** A marked number's value as JSON.parse would read it (for integers: ids, checksums); NaN for anything else. */
function markedNumberValue(v: unknown): number {
  return isMarkedNumber(v) ? Number(v.slice(1)) : NaN;
}

/** A value of `exactNumbers` as its frame text, for a rejection's detail. */
function shown(v: unknown): string {
  return isMarkedNumber(v) ? v.slice(1) : JSON.stringify(v) ?? String(v);
}

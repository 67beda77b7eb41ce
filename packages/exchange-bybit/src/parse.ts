import { type BookDeltaEvent, type BookLevel, type FeedRejectReason, type LiquidationEvent, type TradeEvent } from '@cwts/core';
import { JSON_SCAN_FAILED, JsonCursor, RepeatedKeyFinder, isScanFailure, unitsOf, type InstrumentScales, type SnapshotInput } from '@cwts/core/adapter-kit';

/** Per-symbol parse context: topics, scales and the reused event objects (no allocation per delta). */
export interface SymbolCtx {
  readonly symbol: string;
  readonly scales: InstrumentScales;
  /** `orderbook.<depth>.<symbol>`, `publicTrade.<symbol>`, `allLiquidation.<symbol>`. */
  readonly bookTopic: string;
  readonly tradeTopic: string;
  readonly liquidationTopic: string;
  /** The last book frame: a delta (firstSeq = seq = u) ... */
  readonly delta: BookDeltaEvent;
  /** ... or a snapshot (fresh arrays each time: snapshots are kept by the engine). */
  snapshot: SnapshotInput;
  /** Bybit's cross sequence (`seq`) of the last book frame, kept for diagnostics. */
  crossSeq: number;
  /** The last trade frame's trades (reused objects; `tradeCount` of them are valid). */
  readonly trades: TradeEvent[];
  tradeCount: number;
  readonly liquidations: LiquidationEvent[];
  liquidationCount: number;
}

export function makeSymbolCtx(exchange: string, scales: InstrumentScales, depth: number): SymbolCtx {
  const symbol = scales.instrument.symbol;
  return {
    symbol,
    scales,
    bookTopic: `orderbook.${depth}.${symbol}`,
    tradeTopic: `publicTrade.${symbol}`,
    liquidationTopic: `allLiquidation.${symbol}`,
    delta: { type: 'book_delta', exchange, symbol, ts: 0, recvTs: 0, firstSeq: 0, seq: 0, bids: [], asks: [] },
    snapshot: { seq: 0, bids: [], asks: [], ts: 0 },
    crossSeq: 0,
    trades: [],
    tradeCount: 0,
    liquidations: [],
    liquidationCount: 0,
  };
}

/** What a frame was. */
export const Frame = {
  BOOK_DELTA: 1,
  BOOK_SNAPSHOT: 2,
  TRADES: 3,
  LIQUIDATIONS: 4,
  /** Answer to our {"op":"ping"}. */
  PONG: 5,
  /** A successful subscribe/unsubscribe answer. */
  REPLY: 6,
  /** Not JSON, or JSON in a shape we do not know: counted and dropped. */
  MALFORMED: -1,
  UNKNOWN: -2,
  /** A value off the instrument's grid, or a topic/symbol we did not subscribe to. */
  INVALID: -3,
  /** {"success":false,...}: the venue refused a request. */
  ERROR: -4,
} as const;
export type FrameCode = (typeof Frame)[keyof typeof Frame];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const safeInt = (v: unknown): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : NaN);
/** Bybit sends some timestamps and ids as numbers, some as numeric strings. */
const intOf = (v: unknown): number => (typeof v === 'string' && /^\d{1,16}$/.test(v) ? safeInt(Number(v)) : safeInt(v));

/**
 * Bybit v5 public frames -> normalized integer events. Book frames (the busiest topic) are read
 * straight from the text with the allocation-free cursor; trades, liquidations, control replies
 * and anything in an unexpected layout go through JSON.parse with full shape checks. Prices
 * and quantities go from decimal strings to ticks and lots without a float.
 */
export class BybitFrameParser {
  private readonly cur = new JsonCursor();
  /** The context of the last book/trade/liquidation frame (also set for INVALID where known). */
  ctx: SymbolCtx | undefined;
  /** For non-positive codes: what was wrong, and the counter reason. */
  problem = '';
  reason: FeedRejectReason = 'malformed';
  /** For REPLY/ERROR: the op it answers ("subscribe", "unsubscribe", ...). */
  replyOp = '';

  constructor(private readonly symbols: SymbolCtx[]) {}

  /**
   * The last MALFORMED frame repeated a key in one object (JSON leaves its meaning open): it
   * names no book (`ctx` undefined); the feed resyncs the books its text names.
   */
  repeatedKey = false;

  /** The slow path's repeated-key check (allocation-free; reused). */
  private readonly keys = new RepeatedKeyFinder();

  parse(text: string, recvTs: number): FrameCode {
    this.ctx = undefined;
    this.repeatedKey = false;
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
   * Fast path for `orderbook.*` frames; 0 = not handled here (use the slow path).
   *
   * A key repeated in one object leaves the frame's meaning open (JSON.parse keeps the last
   * value, this reader would use the first: `"topic":"orderbook.50.DOGEUSDT","topic":...`,
   * `"type":"snapshot","type":"delta"`, `"s":"ETHUSDT","s":"DOGEUSDT"`). Each object's keys are
   * tracked in a bitmask; a repeat, a second key we do not know, a key we do not know written
   * with an escape (it may decode to one we do), or one holding an object or array (which may
   * hide a repeat) sends the frame to the slow path, which refuses a repeat (RepeatedKeyFinder).
   */
  private fastBook(text: string, recvTs: number): FrameCode | 0 {
    const c = this.cur.reset(text);
    c.beginObject();
    if (!c.nextKey(true) || !c.is('topic')) return 0;
    c.readString();
    const ctx = this.byBookTopic(c);
    if (!ctx) return 0;
    let kind = 0; // 1 delta, 2 snapshot
    let ts = -1;
    let u = -1;
    let seq = -1;
    let haveB = false;
    let haveA = false;
    let haveS = false;
    // keys seen: 1 topic, 2 type, 4 ts, 8 data, 16 cts, 32 one we do not know
    let seen = 1;
    while (c.nextKey(false)) {
      const bit = c.is('type') ? 2 : c.is('ts') ? 4 : c.is('data') ? 8 : c.is('cts') ? 16 : c.is('topic') ? 1 : 32;
      if ((seen & bit) !== 0) throw JSON_SCAN_FAILED;
      seen |= bit;
      if (bit === 2) {
        c.readString();
        kind = c.is('delta') ? 1 : c.is('snapshot') ? 2 : 0;
        if (kind === 0) return 0;
      } else if (bit === 4) ts = c.readInt();
      else if (bit === 8) {
        c.beginObject();
        let first = true;
        // keys seen: 1 s, 2 b, 4 a, 8 u, 16 seq, 32 one we do not know
        let dseen = 0;
        while (c.nextKey(first)) {
          first = false;
          const k = c.keyCode();
          const dbit = k === 115 /* s */ ? 1 : k === 98 /* b */ ? 2 : k === 97 /* a */ ? 4 : k === 117 /* u */ ? 8 : c.is('seq') ? 16 : 32;
          if ((dseen & dbit) !== 0) throw JSON_SCAN_FAILED;
          dseen |= dbit;
          if (dbit === 1) {
            c.readString();
            if (!c.is(ctx.symbol)) return 0;
            haveS = true;
          } else if (dbit === 2 || dbit === 4) {
            if (!this.levels(c, dbit === 2 ? ctx.delta.bids : ctx.delta.asks, ctx.scales)) {
              this.ctx = ctx;
              return Frame.INVALID;
            }
            if (dbit === 2) haveB = true;
            else haveA = true;
          } else if (dbit === 8) u = c.readInt();
          else if (dbit === 16) seq = c.readInt();
          else skipUnknown(c);
        }
      } else skipUnknown(c);
    }
    c.end_();
    if (kind === 0 || (seen & 8) === 0 || !haveS || !haveB || !haveA || u < 0 || ts < 0) return 0;
    this.ctx = ctx;
    ctx.crossSeq = seq;
    return this.finishBook(ctx, kind === 2, ts, u, recvTs);
  }

  /**
   * The fast path refuses a frame at its first bad value, before it has read the rest: the rest
   * may repeat a key (a second "topic" naming another book). Cold (refused frames only): the
   * JSON.parse path reads the whole frame; a repeated key there makes it MALFORMED (naming no
   * book), otherwise the fast path's verdict (its reason and book) stands.
   */
  private wholeFrame(text: string, recvTs: number): FrameCode {
    const ctx = this.ctx;
    const reason = this.reason;
    const problem = this.problem;
    this.ctx = undefined;
    if (this.slow(text, recvTs) === Frame.MALFORMED && this.repeatedKey) return Frame.MALFORMED;
    this.ctx = ctx;
    this.reason = reason;
    this.problem = problem;
    return Frame.INVALID;
  }

  private finishBook(ctx: SymbolCtx, snapshot: boolean, ts: number, u: number, recvTs: number): FrameCode {
    const d = ctx.delta;
    if (snapshot) {
      // in a snapshot every level is a real one: a zero quantity means a broken snapshot
      if (d.bids.some((l) => l.qty === 0) || d.asks.some((l) => l.qty === 0)) return this.fail(Frame.INVALID, 'zero_qty', `${ctx.bookTopic} snapshot with a zero-quantity level`);
      // a snapshot is kept by whoever receives it: give it its own arrays
      ctx.snapshot = { seq: u, ts, bids: d.bids.map((l) => ({ price: l.price, qty: l.qty })), asks: d.asks.map((l) => ({ price: l.price, qty: l.qty })) };
      return Frame.BOOK_SNAPSHOT;
    }
    d.ts = ts;
    d.recvTs = recvTs;
    d.firstSeq = u;
    d.seq = u;
    return Frame.BOOK_DELTA;
  }

  private byBookTopic(c: JsonCursor): SymbolCtx | undefined {
    const list = this.symbols;
    for (let i = 0; i < list.length; i++) if (c.is(list[i]!.bookTopic)) return list[i];
    return undefined;
  }

  /** [["price","qty"],...] into the reused level array; false with `problem` set when off the grid. */
  private levels(c: JsonCursor, out: BookLevel[], sc: InstrumentScales): boolean {
    c.expect(91);
    let n = 0;
    let first = true;
    for (;;) {
      if (c.peek() === 93) {
        c.i++;
        break;
      }
      if (!first) c.expect(44);
      first = false;
      c.expect(91);
      const p = c.readUnits(sc.price);
      if (Number.isNaN(p)) return this.offGrid(`price ${c.text().slice(0, 32)} of ${sc.instrument.symbol} is off the tick grid`);
      if (p <= 0) return this.invalid('non_positive_price', `price ${c.text().slice(0, 32)} of ${sc.instrument.symbol} is not positive`);
      c.expect(44);
      const q = c.readUnits(sc.qty);
      if (Number.isNaN(q) || q < 0) return this.offGrid(`quantity ${c.text().slice(0, 32)} of ${sc.instrument.symbol} is off the lot grid`);
      c.expect(93);
      const l = out[n];
      if (l === undefined) out.push({ price: p, qty: q });
      else {
        l.price = p;
        l.qty = q;
      }
      n++;
    }
    out.length = n;
    return true;
  }

  private invalid(reason: FeedRejectReason, msg: string): false {
    this.problem = msg;
    this.reason = reason;
    return false;
  }

  private offGrid(msg: string): false {
    this.problem = msg;
    this.reason = 'off_grid';
    return false;
  }

  private fail(code: FrameCode, reason: FeedRejectReason, msg: string): FrameCode {
    this.reason = reason;
    this.problem = msg;
    return code;
  }

  /** JSON.parse path: control replies, trades, liquidations, unusual layouts, malformed text. */
  private slow(text: string, recvTs: number): FrameCode {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      return this.fail(Frame.MALFORMED, 'malformed', `malformed JSON: ${(err as Error).message}`);
    }
    if (!isObj(obj)) return this.fail(Frame.MALFORMED, 'malformed', 'frame is not a JSON object');
    // a key repeated in one object (at any depth): JSON.parse kept the last value, but the frame
    // also named what came first (`"s":"ETHUSDT","s":"DOGEUSDT"`): refused, naming no book
    const key = this.keys.find(text);
    if (key !== undefined) {
      this.repeatedKey = true;
      return this.fail(Frame.MALFORMED, 'malformed', `duplicate key ${JSON.stringify(key.slice(0, 40))} (JSON leaves its meaning open)`);
    }
    if (typeof obj.op === 'string') return this.control(obj);
    if (typeof obj.topic !== 'string') return this.fail(Frame.UNKNOWN, 'unknown_message', `unknown message ${excerpt(text)}`);
    const topic = obj.topic;
    for (const ctx of this.symbols) {
      if (topic === ctx.bookTopic) return this.slowBook(ctx, obj, recvTs);
      if (topic === ctx.tradeTopic) return this.slowTrades(ctx, obj, recvTs);
      if (topic === ctx.liquidationTopic) return this.slowLiquidations(ctx, obj, recvTs);
    }
    return this.fail(Frame.UNKNOWN, 'unknown_message', `message on a topic we did not subscribe to: ${excerpt(topic)}`);
  }

  private control(o: Obj): FrameCode {
    const op = o.op as string;
    this.replyOp = op;
    if (op === 'pong' || (op === 'ping' && o.ret_msg === 'pong')) return Frame.PONG;
    if (o.success === false) return this.fail(Frame.ERROR, 'venue_error', `venue refused ${op}: ${excerpt(String(o.ret_msg ?? ''))}`);
    if (o.success === true) return Frame.REPLY;
    return this.fail(Frame.UNKNOWN, 'unknown_message', `unknown control message for op ${excerpt(op)}`);
  }

  private slowBook(ctx: SymbolCtx, o: Obj, recvTs: number): FrameCode {
    this.ctx = ctx;
    const data = o.data;
    const ts = safeInt(o.ts);
    if ((o.type !== 'snapshot' && o.type !== 'delta') || !isObj(data) || Number.isNaN(ts)) return this.fail(Frame.MALFORMED, 'malformed', `${ctx.bookTopic} frame without type/ts/data`);
    const u = safeInt(data.u);
    if (data.s !== ctx.symbol || Number.isNaN(u) || !Array.isArray(data.b) || !Array.isArray(data.a)) return this.fail(Frame.MALFORMED, 'malformed', `${ctx.bookTopic} data without s/u/b/a`);
    const sc = ctx.scales;
    const fill = (src: unknown[], out: BookLevel[]): boolean => {
      out.length = 0;
      for (const l of src) {
        if (!Array.isArray(l) || l.length !== 2 || typeof l[0] !== 'string' || typeof l[1] !== 'string') {
          this.fail(Frame.MALFORMED, 'malformed', `${ctx.bookTopic} level is not ["price","qty"]`);
          return false;
        }
        const p = unitsOf(l[0], 0, l[0].length, sc.price);
        const q = unitsOf(l[1], 0, l[1].length, sc.qty);
        if (Number.isNaN(p) || Number.isNaN(q) || q < 0) {
          this.fail(Frame.INVALID, 'off_grid', `level ${excerpt(JSON.stringify(l))} of ${ctx.symbol} is off the grid`);
          return false;
        }
        if (p <= 0) {
          this.fail(Frame.INVALID, 'non_positive_price', `level ${excerpt(JSON.stringify(l))} of ${ctx.symbol} has a non-positive price`);
          return false;
        }
        out.push({ price: p, qty: q });
      }
      return true;
    };
    if (!fill(data.b, ctx.delta.bids) || !fill(data.a, ctx.delta.asks)) return this.reason === 'malformed' ? Frame.MALFORMED : Frame.INVALID;
    ctx.crossSeq = intOf(data.seq);
    return this.finishBook(ctx, o.type === 'snapshot', ts, u, recvTs);
  }

  private slowTrades(ctx: SymbolCtx, o: Obj, recvTs: number): FrameCode {
    this.ctx = ctx;
    if (!Array.isArray(o.data)) return this.fail(Frame.MALFORMED, 'malformed', `${ctx.tradeTopic} frame without a data array`);
    const sc = ctx.scales;
    let n = 0;
    for (const t of o.data) {
      if (!isObj(t) || typeof t.i !== 'string' || t.i.length === 0 || t.i.length > 64 || typeof t.p !== 'string' || typeof t.v !== 'string' || (t.S !== 'Buy' && t.S !== 'Sell')) return this.fail(Frame.MALFORMED, 'malformed', `${ctx.tradeTopic} trade without i/p/v/S`);
      // Bybit names the symbol on every entry: one without it is not the venue's shape
      if (t.s !== ctx.symbol) return this.fail(Frame.INVALID, 'unknown_symbol', `trade for ${excerpt(String(t.s))} on ${ctx.tradeTopic}`);
      const price = unitsOf(t.p, 0, t.p.length, sc.price);
      const qty = unitsOf(t.v, 0, t.v.length, sc.qty);
      if (Number.isNaN(price) || Number.isNaN(qty)) return this.fail(Frame.INVALID, 'off_grid', `trade ${excerpt(t.p)} x ${excerpt(t.v)} of ${ctx.symbol} is off the grid`);
      if (price <= 0) return this.fail(Frame.INVALID, 'non_positive_price', `trade ${excerpt(t.p)} x ${excerpt(t.v)} of ${ctx.symbol}: price not positive`);
      if (qty < 0) return this.fail(Frame.INVALID, 'negative_qty', `trade ${excerpt(t.p)} x ${excerpt(t.v)} of ${ctx.symbol}: negative quantity`);
      if (qty === 0) return this.fail(Frame.INVALID, 'zero_qty', `trade ${excerpt(t.p)} x ${excerpt(t.v)} of ${ctx.symbol}: zero quantity`);
      let ev = ctx.trades[n];
      if (ev === undefined) ctx.trades.push((ev = { type: 'trade', exchange: ctx.delta.exchange, symbol: ctx.symbol, ts: 0, recvTs: 0, tradeId: '', price: 0, qty: 0, side: 'buy' }));
      ev.ts = intOf(t.T) || intOf(o.ts) || 0;
      ev.recvTs = recvTs;
      ev.tradeId = t.i;
      ev.price = price;
      ev.qty = qty;
      // S is the taker's side
      ev.side = t.S === 'Buy' ? 'buy' : 'sell';
      n++;
    }
    ctx.tradeCount = n;
    return Frame.TRADES;
  }

  private slowLiquidations(ctx: SymbolCtx, o: Obj, recvTs: number): FrameCode {
    this.ctx = ctx;
    if (!Array.isArray(o.data)) return this.fail(Frame.MALFORMED, 'malformed', `${ctx.liquidationTopic} frame without a data array`);
    const sc = ctx.scales;
    let n = 0;
    for (const l of o.data) {
      if (!isObj(l) || typeof l.p !== 'string' || typeof l.v !== 'string' || (l.S !== 'Buy' && l.S !== 'Sell')) return this.fail(Frame.MALFORMED, 'malformed', `${ctx.liquidationTopic} entry without p/v/S`);
      if (l.s !== ctx.symbol) return this.fail(Frame.INVALID, 'unknown_symbol', `liquidation for ${excerpt(String(l.s))} on ${ctx.liquidationTopic}`);
      const price = unitsOf(l.p, 0, l.p.length, sc.price);
      const qty = unitsOf(l.v, 0, l.v.length, sc.qty);
      if (Number.isNaN(price) || Number.isNaN(qty) || price <= 0 || qty <= 0) return this.fail(Frame.INVALID, 'off_grid', `liquidation ${excerpt(l.p)} x ${excerpt(l.v)} of ${ctx.symbol} is off the grid`);
      let ev = ctx.liquidations[n];
      if (ev === undefined) ctx.liquidations.push((ev = { type: 'liquidation', exchange: ctx.delta.exchange, symbol: ctx.symbol, ts: 0, recvTs: 0, side: 'sell', price: 0, qty: 0 }));
      ev.ts = intOf(l.T) || intOf(o.ts) || 0;
      ev.recvTs = recvTs;
      // S is the side of the liquidated position: "Buy" = a long was liquidated, i.e. a forced sell
      ev.side = l.S === 'Buy' ? 'sell' : 'buy';
      ev.price = price;
      ev.qty = qty;
      n++;
    }
    ctx.liquidationCount = n;
    return Frame.LIQUIDATIONS;
  }
}

/**
 * Skips the value of a key the fast path does not know: a scalar only, under a key written
 * without an escape. An object or array may hide a repeated key, and an escaped key may decode
 * to one the fast path knows: either sends the frame to the slow path (which reads every object).
 */
function skipUnknown(c: JsonCursor): void {
  for (let j = c.start; j < c.end; j++) if (c.s.charCodeAt(j) === 92 /* \\ */) throw JSON_SCAN_FAILED;
  const ch = c.peek();
  if (ch === 123 /* { */ || ch === 91 /* [ */) throw JSON_SCAN_FAILED;
  c.skipValue();
}

function excerpt(s: string): string {
  return s.length > 120 ? `${s.slice(0, 120)}...` : s;
}

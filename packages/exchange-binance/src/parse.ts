import { type FeedRejectReason, type BookDeltaEvent, type BookLevel, type LiquidationEvent, type TradeEvent } from '@cwts/core';
import { JsonCursor, findDuplicateKey, isScanFailure, unitsOf, type InstrumentScales } from '@cwts/core/adapter-kit';

/** Per-symbol parse context: scales and the reused event objects (no allocation per frame). */
export interface SymbolCtx {
  readonly symbol: string;
  readonly scales: InstrumentScales;
  readonly delta: BookDeltaEvent;
  readonly trade: TradeEvent;
  readonly liquidation: LiquidationEvent;
}

export function makeSymbolCtx(exchange: string, scales: InstrumentScales): SymbolCtx {
  const symbol = scales.instrument.symbol;
  return {
    symbol,
    scales,
    delta: { type: 'book_delta', exchange, symbol, ts: 0, recvTs: 0, firstSeq: 0, seq: 0, bids: [], asks: [] },
    trade: { type: 'trade', exchange, symbol, ts: 0, recvTs: 0, tradeId: '', price: 0, qty: 0, side: 'buy' },
    liquidation: { type: 'liquidation', exchange, symbol, ts: 0, recvTs: 0, side: 'sell', price: 0, qty: 0 },
  };
}

/** What a frame was. */
export const Frame = {
  DEPTH: 1,
  TRADE: 2,
  LIQUIDATION: 3,
  /** Reply to SUBSCRIBE etc. ({"result":null,"id":1}). */
  REPLY: 4,
  /** serverShutdown: reconnect now. */
  SHUTDOWN: 5,
  /** Not JSON, or JSON in a shape we do not know: counted and dropped. */
  MALFORMED: -1,
  UNKNOWN: -2,
  /** A value off the instrument's grid, or an unknown symbol. */
  INVALID: -3,
  /** {"code":..,"msg":..} from the server. */
  ERROR: -4,
} as const;
export type FrameCode = (typeof Frame)[keyof typeof Frame];

/**
 * For a refused frame: the books it may have carried an update for. Such a book has missed that
 * update, so it must leave SYNCED (the feed resyncs it): the book of the frame's symbol when the
 * frame was read far enough to know it is a depth update of a symbol we carry, every book when
 * it may be a depth update but its symbol (or its kind) cannot be trusted, none when it is
 * plainly something else (a trade, a reply, a venue error, an unknown event type).
 */
export const Affects = { NONE: 0, SYMBOL: 1, ALL: 2 } as const;
export type AffectsCode = (typeof Affects)[keyof typeof Affects];

/** A frame we could not read names depth somewhere (its event type or its stream). */
const NAMES_DEPTH = /depth/i;
/** ...or names one of the other messages a market-data stream carries. */
const NAMES_OTHER_MESSAGE = /trade|forceOrder|kline|serverShutdown|"result"|"code"/i;

const E_DEPTH = 'depthUpdate';
const E_TRADE = 'trade';
const E_AGG = 'aggTrade';

/**
 * Binance market-data frames -> normalized integer events, straight from the text: depth and
 * trade frames are read with an allocation-free cursor (prices and quantities go from decimal
 * strings to ticks and lots without a float); other frames (liquidations, control messages)
 * and anything in an unexpected layout go through JSON.parse. Raw and combined
 * (`{"stream":..,"data":..}`) payloads are both accepted.
 */
export class BinanceFrameParser {
  private readonly cur = new JsonCursor();
  /** The context of the last DEPTH/TRADE/LIQUIDATION frame. */
  ctx: SymbolCtx | undefined;
  /** For INVALID/ERROR/UNKNOWN/MALFORMED: what was wrong (for the error counter's log line). */
  problem = '';
  /** For INVALID/ERROR/UNKNOWN/MALFORMED: the cwts_feed_errors_total reason. */
  reason: FeedRejectReason = 'malformed';
  /** For INVALID: the kind of event being read (DEPTH, TRADE, LIQUIDATION), or 0. */
  lastKind: FrameCode | 0 = 0;
  /** For ERROR and REPLY frames: the parsed object. */
  reply: unknown;
  /** For a refused frame (INVALID, MALFORMED, UNKNOWN): the books it may have carried an update for. */
  affects: AffectsCode = Affects.NONE;
  /**
   * For TRADE: true for an aggTrade, whose id (`a`) is a sequence of its own, apart from the
   * trade ids (`t`) of the raw trade stream.
   */
  aggregate = false;
  /** The event type (lastKind) was read from a frame whose keys are unique: it can be trusted. */
  private kindTrusted = false;

  constructor(
    private readonly symbols: SymbolCtx[],
    /** true: futures depth frames carry "pu" (previous u); firstSeq becomes pu + 1. */
    private readonly futures = false,
  ) {}

  parse(text: string, recvTs: number): FrameCode {
    this.problem = '';
    this.lastKind = 0;
    this.ctx = undefined;
    this.kindTrusted = false;
    const code = this.read(text, recvTs);
    this.affects = code === Frame.INVALID || code === Frame.MALFORMED || code === Frame.UNKNOWN ? this.refusedScope(code, text) : Affects.NONE;
    return code;
  }

  /** Which books a refused frame may have been an update for (see Affects). */
  private refusedScope(code: FrameCode, text: string): AffectsCode {
    // a frame refused before it was read to the end may still repeat its "e" or "s" further on
    if (this.kindTrusted && findDuplicateKey(text) === undefined) {
      if (this.lastKind !== Frame.DEPTH) return Affects.NONE;
      return this.ctx !== undefined && this.reason !== 'unknown_symbol' ? Affects.SYMBOL : Affects.ALL;
    }
    this.ctx = undefined;
    if (NAMES_DEPTH.test(text)) return Affects.ALL;
    // JSON whose event type we do not know, naming no depth: not a book update
    if (code === Frame.UNKNOWN) return Affects.NONE;
    // not readable: a depth update unless it plainly is another message
    return NAMES_OTHER_MESSAGE.test(text) ? Affects.NONE : Affects.ALL;
  }

  private read(text: string, recvTs: number): FrameCode {
    try {
      const c = this.cur.reset(text);
      c.beginObject();
      if (!c.nextKey(true)) return this.slow(text, recvTs);
      if (c.is('stream')) {
        c.readString();
        if (!c.nextKey(false) || !c.is('data')) return this.slow(text, recvTs);
        const code = this.event(c, recvTs);
        if (code === 0) return this.slow(text, recvTs);
        // refused mid-object: the rest is not read, nor re-read by the slow path
        if (code === Frame.INVALID || code === Frame.MALFORMED) return code;
        if (c.nextKey(false)) return this.slow(text, recvTs);
        c.end_();
        return code;
      }
      // raw payload: read it again from the start as one event
      c.reset(text);
      const code = this.event(c, recvTs);
      if (code === 0) return this.slow(text, recvTs);
      if (code === Frame.INVALID || code === Frame.MALFORMED) return code;
      c.end_();
      return code;
    } catch (err) {
      if (!isScanFailure(err)) throw err;
      return this.slow(text, recvTs);
    }
  }

  /** Fast path over one event object; 0 = not handled here (use the slow path). */
  private event(c: JsonCursor, recvTs: number): FrameCode | 0 {
    c.beginObject();
    if (!c.nextKey(true) || !c.is('e')) return 0;
    c.readString();
    let kind: 1 | 2 | 3;
    if (c.is(E_DEPTH)) kind = 1;
    else if (c.is(E_TRADE)) kind = 2;
    else if (c.is(E_AGG)) kind = 3;
    else return 0;
    this.lastKind = kind === 1 ? Frame.DEPTH : Frame.TRADE;
    this.kindTrusted = true;
    let ctx: SymbolCtx | undefined;
    let ts = 0;
    let U = -1;
    let u = -1;
    let pu = -1;
    let haveB = false;
    let haveA = false;
    let tradeId = -1;
    let price = NaN;
    let qty = NaN;
    let maker: boolean | undefined;
    let tradeTs = 0;
    // One-letter keys seen so far (a-z in `lower`, A-Z in `upper`; "e" was the first). A repeated
    // key makes the frame ambiguous: JSON.parse keeps the last value, this reader would use the
    // first, so a frame like {"e":"depthUpdate","e":1767...} is refused, never applied.
    let lower = 1 << (101 - 97);
    let upper = 0;
    let havePu = false;
    while (c.nextKey(false)) {
      const k = c.keyCode();
      if (k >= 97 && k <= 122) {
        const bit = 1 << (k - 97);
        if ((lower & bit) !== 0) return this.duplicateKey(String.fromCharCode(k));
        lower |= bit;
      } else if (k >= 65 && k <= 90) {
        const bit = 1 << (k - 65);
        if ((upper & bit) !== 0) return this.duplicateKey(String.fromCharCode(k));
        upper |= bit;
      }
      if (k === 115 /* s */) {
        c.readString();
        ctx = this.find(c);
        if (!ctx) return this.invalid(`unknown symbol ${c.text().slice(0, 40)}`, 'unknown_symbol');
        this.ctx = ctx;
      } else if (k === 69 /* E */) ts = c.readInt();
      else if (kind === 1) {
        if (k === 85 /* U */) U = c.readInt();
        else if (k === 117 /* u */) u = c.readInt();
        else if (k === 98 /* b */ || k === 97 /* a */) {
          if (!ctx) return 0;
          const ok = this.levels(c, k === 98 ? ctx.delta.bids : ctx.delta.asks, ctx.scales);
          if (!ok) return this.invalid(this.problem, 'off_grid');
          if (k === 98) haveB = true;
          else haveA = true;
        } else if (this.futures && c.is('pu')) {
          if (havePu) return this.duplicateKey('pu');
          havePu = true;
          pu = c.readInt();
        } else c.skipValue();
      } else {
        if (k === 112 /* p */) {
          if (!ctx) {
            c.readString();
            return 0;
          }
          price = c.readUnits(ctx.scales.price);
          if (Number.isNaN(price)) return this.invalid(`price ${c.text().slice(0, 40)} of ${ctx.symbol} is off the tick grid`, 'off_grid');
        } else if (k === 113 /* q */) {
          if (!ctx) {
            c.readString();
            return 0;
          }
          qty = c.readUnits(ctx.scales.qty);
          if (Number.isNaN(qty)) return this.invalid(`quantity ${c.text().slice(0, 40)} of ${ctx.symbol} is off the lot grid`, 'off_grid');
        } else if ((kind === 2 && k === 116) /* t */ || (kind === 3 && k === 97) /* a */) tradeId = c.readInt();
        else if (k === 84 /* T */) tradeTs = c.readInt();
        else if (k === 109 /* m */) maker = c.readBool();
        else c.skipValue();
      }
    }
    if (!ctx) return 0;
    if (kind === 1) {
      if (U < 0 || u < U || !haveB || !haveA) return 0;
      const d = ctx.delta;
      d.ts = ts;
      d.recvTs = recvTs;
      d.firstSeq = this.futures && pu >= 0 ? pu + 1 : U;
      d.seq = u;
      return Frame.DEPTH;
    }
    if (tradeId < 0 || Number.isNaN(price) || Number.isNaN(qty) || maker === undefined) return 0;
    const t = ctx.trade;
    this.aggregate = kind === 3;
    t.ts = tradeTs || ts;
    t.recvTs = recvTs;
    t.tradeId = String(tradeId);
    t.price = price;
    t.qty = qty;
    // "m": the buyer is the maker, so the aggressor sold
    t.side = maker ? 'sell' : 'buy';
    return Frame.TRADE;
  }

  /** The frame repeats a key: refused as malformed, and nothing read from it can be trusted. */
  private duplicateKey(key: string): FrameCode {
    this.kindTrusted = false;
    return this.malformed(`duplicate key ${JSON.stringify(key.slice(0, 40))} (JSON leaves its meaning open)`);
  }

  private invalid(msg: string, reason: FeedRejectReason): FrameCode {
    this.problem = msg;
    this.reason = reason;
    return Frame.INVALID;
  }

  private find(c: JsonCursor): SymbolCtx | undefined {
    const list = this.symbols;
    for (let i = 0; i < list.length; i++) if (c.is(list[i]!.symbol)) return list[i];
    return undefined;
  }

  /** [["price","qty"],...] into the reused level array. */
  private levels(c: JsonCursor, out: BookLevel[], sc: InstrumentScales): boolean {
    c.expect(91);
    let n = 0;
    let first = true;
    for (;;) {
      const ch = c.peek();
      if (ch === 93) {
        c.i++;
        break;
      }
      if (!first) c.expect(44);
      first = false;
      c.expect(91);
      const p = c.readUnits(sc.price);
      if (Number.isNaN(p)) {
        this.problem = `price ${c.text().slice(0, 40)} of ${sc.instrument.symbol} is off the tick grid`;
        return false;
      }
      c.expect(44);
      const q = c.readUnits(sc.qty);
      // the sign is judged with the other value rules in BookSync (negative_qty)
      if (Number.isNaN(q)) {
        this.problem = `quantity ${c.text().slice(0, 40)} of ${sc.instrument.symbol} is off the lot grid`;
        return false;
      }
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

  /** JSON.parse path: control messages, liquidations, unusual layouts, and malformed text. */
  private slow(text: string, recvTs: number): FrameCode {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      return this.malformed(`malformed JSON: ${(err as Error).message.slice(0, 120)}`);
    }
    // the whole frame is read now: what the fast path saw of it no longer counts
    this.kindTrusted = false;
    this.lastKind = 0;
    this.ctx = undefined;
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return this.malformed('frame is not a JSON object');
    const dup = findDuplicateKey(text);
    if (dup !== undefined) return this.duplicateKey(dup);
    let o = obj as Record<string, unknown>;
    if (typeof o.stream === 'string' && o.data !== null && typeof o.data === 'object') o = o.data as Record<string, unknown>;
    // an object with an event type is an event, whatever else it carries
    if ('result' in o && 'id' in o && !('e' in o)) {
      this.reply = o;
      return Frame.REPLY;
    }
    if (typeof o.code === 'number' && typeof o.msg === 'string' && !('e' in o)) {
      this.reply = o;
      this.problem = `server error ${o.code}: ${o.msg.slice(0, 200)}`;
      this.reason = 'venue_error';
      return Frame.ERROR;
    }
    switch (o.e) {
      case 'serverShutdown':
        return Frame.SHUTDOWN;
      case 'forceOrder':
        return this.slowLiquidation(o, recvTs);
      case E_DEPTH:
      case E_TRADE:
      case E_AGG:
        return this.slowMarket(o, recvTs);
      default:
        this.problem = `unknown message ${text.length > 120 ? `${text.slice(0, 120)}...` : text}`;
        this.reason = 'unknown_message';
        return Frame.UNKNOWN;
    }
  }

  private ctxFor(sym: unknown): SymbolCtx | undefined {
    const ctx = this.symbols.find((s) => s.symbol === sym);
    if (!ctx) {
      this.problem = `unknown symbol ${String(sym).slice(0, 40)}`;
      this.reason = 'unknown_symbol';
    }
    return ctx;
  }

  private slowMarket(o: Record<string, unknown>, recvTs: number): FrameCode {
    this.lastKind = o.e === E_DEPTH ? Frame.DEPTH : Frame.TRADE;
    this.kindTrusted = true;
    const ctx = this.ctxFor(o.s);
    if (!ctx) return Frame.INVALID;
    this.ctx = ctx;
    const sc = ctx.scales;
    const num = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : NaN);
    const str = (v: unknown, s: typeof sc.price) => (typeof v === 'string' ? unitsOf(v, 0, v.length, s) : NaN);
    if (o.e === E_DEPTH) {
      const U = num(o.U);
      const u = num(o.u);
      if (Number.isNaN(U) || Number.isNaN(u) || u < U || !Array.isArray(o.b) || !Array.isArray(o.a)) return this.malformed('depthUpdate without U/u/b/a');
      const fill = (src: unknown[], out: BookLevel[]): boolean => {
        out.length = 0;
        for (const l of src) {
          if (!Array.isArray(l) || l.length < 2) {
            this.problem = `level ${JSON.stringify(l)?.slice(0, 80)} of ${ctx.symbol} is not ["price","qty"]`;
            this.reason = 'malformed';
            return false;
          }
          const p = str(l[0], sc.price);
          const q = str(l[1], sc.qty);
          if (Number.isNaN(p) || Number.isNaN(q)) {
            this.problem = `level ${JSON.stringify(l).slice(0, 80)} of ${ctx.symbol} is off the grid`;
            this.reason = 'off_grid';
            return false;
          }
          out.push({ price: p, qty: q });
        }
        return true;
      };
      if (!fill(o.b, ctx.delta.bids) || !fill(o.a, ctx.delta.asks)) return Frame.INVALID;
      const d = ctx.delta;
      d.ts = num(o.E) || 0;
      d.recvTs = recvTs;
      const pu = num(o.pu);
      d.firstSeq = this.futures && !Number.isNaN(pu) ? pu + 1 : U;
      d.seq = u;
      return Frame.DEPTH;
    }
    const id = num(o.e === E_AGG ? o.a : o.t);
    const price = str(o.p, sc.price);
    const qty = str(o.q, sc.qty);
    if (Number.isNaN(id) || typeof o.m !== 'boolean') return this.malformed(`${String(o.e)} without id or m`);
    if (Number.isNaN(price) || Number.isNaN(qty)) return this.invalid(`trade ${String(o.p).slice(0, 40)} x ${String(o.q).slice(0, 40)} of ${ctx.symbol} is off the grid`, 'off_grid');
    const t = ctx.trade;
    this.aggregate = o.e === E_AGG;
    t.ts = num(o.T) || num(o.E) || 0;
    t.recvTs = recvTs;
    t.tradeId = String(id);
    t.price = price;
    t.qty = qty;
    t.side = o.m ? 'sell' : 'buy';
    return Frame.TRADE;
  }

  private slowLiquidation(o: Record<string, unknown>, recvTs: number): FrameCode {
    this.lastKind = Frame.LIQUIDATION;
    this.kindTrusted = true;
    const ord = o.o as Record<string, unknown> | undefined;
    if (!ord || typeof ord !== 'object') return this.malformed('forceOrder without o');
    const ctx = this.ctxFor(ord.s);
    if (!ctx) return Frame.INVALID;
    this.ctx = ctx;
    const sc = ctx.scales;
    const pick = (a: unknown, b: unknown) => (typeof a === 'string' && Number(a) > 0 ? a : b);
    const ps = pick(ord.ap, ord.p);
    const qs = pick(ord.z, ord.q);
    const price = typeof ps === 'string' ? unitsOf(ps, 0, ps.length, sc.price) : NaN;
    const qty = typeof qs === 'string' ? unitsOf(qs, 0, qs.length, sc.qty) : NaN;
    if (Number.isNaN(price) || Number.isNaN(qty)) return this.invalid(`liquidation ${String(ps).slice(0, 40)} x ${String(qs).slice(0, 40)} of ${ctx.symbol} is off the grid`, 'off_grid');
    const l = ctx.liquidation;
    l.ts = (typeof ord.T === 'number' ? ord.T : 0) || (typeof o.E === 'number' ? o.E : 0);
    l.recvTs = recvTs;
    l.side = ord.S === 'BUY' ? 'buy' : 'sell';
    l.price = price;
    l.qty = qty;
    return Frame.LIQUIDATION;
  }

  private malformed(msg: string): FrameCode {
    this.problem = msg;
    this.reason = 'malformed';
    return Frame.MALFORMED;
  }
}

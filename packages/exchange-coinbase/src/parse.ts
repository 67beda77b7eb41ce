import { type BookLevel, type FeedRejectReason } from '@cwts/core';
import { JSON_SCAN_FAILED, JsonCursor, RepeatedKeyFinder, isScanFailure, rfc3339Ms, rfc3339StrictMs, tradeProblem, unitsOf, type InstrumentScales } from '@cwts/core/adapter-kit';

/** What a frame was. */
export const Frame = {
  /** l2_data: one or more snapshot/update events (see `l2`). */
  L2: 1,
  /** market_trades: one or more snapshot/update events (see `trades`). */
  TRADES: 2,
  HEARTBEAT: 3,
  /** subscriptions: the venue's reply to (un)subscribe. */
  SUBSCRIPTIONS: 4,
  /** Not JSON, or JSON in a shape we do not know: counted and dropped. */
  MALFORMED: -1,
  UNKNOWN: -2,
  /** A value off the instrument's grid, or an unknown product. */
  INVALID: -3,
  /** {"type":"error","message":..} from the venue. */
  ERROR: -4,
} as const;
export type FrameCode = (typeof Frame)[keyof typeof Frame];

export interface ProductCtx {
  /** The configured product (error texts name it). */
  readonly symbol: string;
  /**
   * The product id market-data frames name (default `symbol`): Coinbase answers a `-USDC`
   * product's subscribe with the `-USD` product's frames (instruments.ts marketDataProductId).
   */
  readonly venueId?: string;
  readonly scales: InstrumentScales;
}

export interface L2Event {
  ctx: ProductCtx;
  snapshot: boolean;
  bids: BookLevel[];
  asks: BookLevel[];
  /** Latest event_time in the event (ms; 0 when absent). */
  ts: number;
}

export interface TradeRow {
  ctx: ProductCtx;
  tradeId: number;
  price: number;
  qty: number;
  side: 'buy' | 'sell';
  ts: number;
}

const LV_BID = '{"side":"bid","event_time":"';
const LV_OFFER = '{"side":"offer","event_time":"';
const LV_PRICE = '","price_level":"';
const LV_QTY = '","new_quantity":"';
/**
 * A whole `updates` array in Coinbase's own layout, from its first `{` through its `]`: every
 * level exactly `{"side":"bid"|"offer","event_time":"..","price_level":"..","new_quantity":".."}`,
 * strings without quotes, backslashes or raw control characters (U+0000..U+001F: not JSON, the
 * frame goes to JSON.parse, which refuses it), levels separated by single commas. One native regex
 * pass proves the structure of all levels at once (sticky: it must match at lastIndex).
 */
const LEVELS_RE = /(?:\{"side":"(?:bid|offer)","event_time":"[^"\\\x00-\x1f]*","price_level":"[^"\\\x00-\x1f]*","new_quantity":"[^"\\\x00-\x1f]*"\}(?:,(?!\])|(?=\])))+\]/y;

const isoMs = (v: unknown): number => {
  if (typeof v !== 'string') return 0;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : 0;
};

/**
 * Coinbase Advanced Trade market-data frames -> integer events. Every message is an envelope
 * `{channel, client_id, timestamp, sequence_num, events[]}`; prices and sizes are decimal strings
 * that go to ticks and lots without a float. `sequence_num` is per connection, across channels:
 * the parser reports it and the market-data client checks it.
 */
export class CoinbaseFrameParser {
  /** sequence_num of the last frame (-1: none). */
  seqNum = -1;
  readonly l2: L2Event[] = [];
  readonly trades: TradeRow[] = [];
  tradesSnapshot = false;
  heartbeatCounter = -1;
  /** For INVALID/ERROR/UNKNOWN/MALFORMED: what was wrong. */
  problem = '';
  /** For INVALID/MALFORMED: the rejection reason counted in cwts_feed_errors_total. */
  reason: FeedRejectReason = 'malformed';
  /** For INVALID: the product it concerned, if known. */
  ctx: ProductCtx | undefined;
  private readonly byId = new Map<string, ProductCtx>();
  private readonly products: readonly ProductCtx[];
  /** products[i]'s venue id (the hot path compares frames' product_id with these). */
  private readonly ids: readonly string[];
  private readonly cur = new JsonCursor();
  /** Reused level2 events of the fast path (levels too: consumers copy what they keep). */
  private readonly pool: L2Event[] = [];

  constructor(products: readonly ProductCtx[]) {
    this.products = products;
    this.ids = products.map((p) => p.venueId ?? p.symbol);
    for (let i = 0; i < products.length; i++) if (!this.byId.has(this.ids[i]!)) this.byId.set(this.ids[i]!, products[i]!);
  }

  /**
   * Hot path: level2 frames are read with the allocation-free cursor, straight from the text to
   * integer ticks and lots; everything else, and any level2 frame in a layout the fast path does
   * not expect or with a value it refuses, goes through JSON.parse (`slow`), which also names
   * what is wrong. A frame is never INVALID before its whole envelope (sequence_num) was read.
   */
  parse(text: string): FrameCode {
    this.ctx = undefined;
    this.seqNum = -1;
    try {
      const code = this.fastL2(text);
      if (code !== undefined) return code;
    } catch (err) {
      if (!isScanFailure(err)) throw err;
    }
    this.ctx = undefined;
    this.seqNum = -1;
    return this.slow(text);
  }

  /** undefined: not handled here. */
  private fastL2(text: string): FrameCode | undefined {
    this.plainFlag = -1;
    const c = this.cur.reset(text);
    c.beginObject();
    if (!c.nextKey(true) || !c.is('channel')) return undefined;
    c.readString();
    if (!c.is('l2_data')) return undefined;
    let seq = -1;
    let events = -1;
    // The envelope's keys seen so far (1 channel, 2 sequence_num, 4 events, 8 client_id,
    // 16 timestamp, 32 a key we do not know). A repeated key leaves the frame's meaning open
    // (JSON.parse keeps the last value, this reader would use the first): such a frame goes to the
    // slow path, which refuses it (see RepeatedKeyFinder). One key we do not know is skipped (a field
    // the venue may add); a second one goes to the slow path too, which compares them.
    let seen = 1;
    while (c.nextKey(false)) {
      let bit = 0;
      if (c.is('sequence_num')) {
        bit = 2;
        seq = c.readInt();
      } else if (c.is('events')) {
        if ((seen & 4) !== 0) return undefined;
        bit = 4;
        const r = this.fastEvents(c);
        if (r === undefined) return undefined;
        events = r;
      } else {
        bit = c.is('channel') ? 1 : c.is('client_id') ? 8 : c.is('timestamp') ? 16 : 32;
        this.skip(c);
      }
      if ((seen & bit) !== 0) return undefined;
      seen |= bit;
    }
    c.end_();
    if (seq < 0 || events < 0) return undefined;
    this.seqNum = seq;
    this.l2.length = events;
    return Frame.L2;
  }

  /**
   * The events array: the number of events, or undefined (slow path). A value off the grid goes
   * to the slow path too, never INVALID from here: the frame is dropped, but its sequence_num
   * (Coinbase writes it before the events) still counts, and only the slow path, which reads
   * the whole envelope, knows it for every layout. Leaving it unread was a false gap on the next
   * frame, which resynced every book and dropped that frame.
   */
  private fastEvents(c: JsonCursor): number | undefined {
    c.expect(91);
    let n = 0;
    for (;;) {
      if (c.peek() === 93) {
        c.i++;
        return n;
      }
      if (n > 0) c.expect(44);
      c.beginObject();
      let ev = this.pool[n];
      if (ev === undefined) this.pool[n] = ev = { ctx: this.products[0]!, snapshot: false, bids: [], asks: [], ts: 0 };
      let ctx: ProductCtx | undefined;
      let type = 0;
      let levels = false;
      let first = true;
      // keys of this event seen so far (1 type, 2 product_id, 4 updates, 8 one we do not know): a
      // repeated one (or a second unknown one) goes to the slow path, which refuses a repeat. A
      // second product_id after the updates once read the levels on one product's grid and gave
      // them to the other product's book.
      let seen = 0;
      while (c.nextKey(first)) {
        first = false;
        const bit = c.is('type') ? 1 : c.is('product_id') ? 2 : c.is('updates') ? 4 : 8;
        if ((seen & bit) !== 0) return undefined;
        seen |= bit;
        if (bit === 1) {
          c.readString();
          type = c.is('update') ? 1 : c.is('snapshot') ? 2 : 0;
          if (type === 0) return undefined;
        } else if (bit === 2) {
          c.readString();
          ctx = this.find(c);
          if (!ctx) return undefined;
        } else if (bit === 4) {
          if (!ctx) return undefined;
          const r = this.fastLevels(c, ev, ctx);
          if (r !== 0) return r;
          levels = true;
        } else c.skipValue();
      }
      if (!ctx || type === 0 || !levels) return undefined;
      ev.ctx = ctx;
      ev.snapshot = type === 2;
      this.l2[n] = ev;
      n++;
    }
  }

  /** 1: the frame has no backslash, 0: it has one, -1: not looked yet (asked only on the per-level path). */
  private plainFlag = -1;

  /**
   * Without a backslash anywhere in the frame, a string's first '"' ends it: strings can be
   * skipped by native search instead of code unit by code unit (one memchr-like scan, once).
   */
  private get plain(): boolean {
    if (this.plainFlag < 0) this.plainFlag = this.cur.s.indexOf('\\') < 0 ? 1 : 0;
    return this.plainFlag === 1;
  }

  /**
   * Skips a value. A string without any backslash ends at its first '"' (found by native
   * search); one with a backslash, which may escape a quote or be an invalid escape, or with a
   * raw control character (not JSON; the loop that looks for a backslash looks for both), is left
   * to the cursor's exact reader, which refuses the latter: such a frame is malformed.
   */
  private skip(c: JsonCursor): void {
    c.ws();
    const s = c.s;
    if (s.charCodeAt(c.i) === 34) {
      const e = s.indexOf('"', c.i + 1);
      if (e < 0) throw JSON_SCAN_FAILED;
      let k = c.i + 1;
      while (k < e) {
        const ch = s.charCodeAt(k);
        if (ch === 92 || ch < 32) break;
        k++;
      }
      if (k === e) {
        c.i = e + 1;
        return;
      }
    }
    c.skipValue();
  }

  private find(c: JsonCursor): ProductCtx | undefined {
    const ids = this.ids;
    for (let i = 0; i < ids.length; i++) if (c.is(ids[i]!)) return this.products[i];
    return undefined;
  }

  /** `[{side, event_time, price_level, new_quantity}, ...]` into the event's reused levels; 0 ok, undefined: slow path (a value off the grid too). */
  private fastLevels(c: JsonCursor, ev: L2Event, ctx: ProductCtx): 0 | undefined {
    const bids = ev.bids;
    const asks = ev.asks;
    const s = c.s;
    let nb = 0;
    let na = 0;
    let tStart = -1;
    let tEnd = -1;
    c.expect(91);
    if (s.charCodeAt(c.i) === 123 /* { */) {
      LEVELS_RE.lastIndex = c.i;
      if (LEVELS_RE.test(s)) return this.exactLevels(s, c, ev, ctx, LEVELS_RE.lastIndex);
    }
    let more = c.peek() !== 93;
    if (!more) c.i++;
    while (more) {
      if (s.charCodeAt(c.i) !== 123 /* { */) c.ws();
      // Coinbase's own layout is read with native string search (most of a level's bytes are
      // its keys and event_time); any other layout is read key by key with the cursor.
      const next = this.exactLevel(s, c.i);
      if (next >= 0) c.i = next;
      else if (!this.cursorLevel(c)) return undefined;
      const pS = this.lvPriceStart;
      const pE = this.lvPriceEnd;
      const qS = this.lvQtyStart;
      const qE = this.lvQtyEnd;
      if (this.lvTimeEnd >= 0) {
        tStart = this.lvTimeStart;
        tEnd = this.lvTimeEnd;
      }
      const price = unitsOf(s, pS, pE, ctx.scales.price);
      const qty = unitsOf(s, qS, qE, ctx.scales.qty);
      if (Number.isNaN(price) || Number.isNaN(qty)) return undefined; // rejected by the slow path (see fastEvents)
      const out = this.lvSide === 1 ? bids : asks;
      const k = this.lvSide === 1 ? nb++ : na++;
      const l = out[k];
      if (l === undefined) out.push({ price, qty });
      else {
        l.price = price;
        l.qty = qty;
      }
      // ',' another level, ']' the end (whitespace between is allowed, anything else is not)
      let ch = s.charCodeAt(c.i);
      if (ch !== 44 && ch !== 93) ch = c.peek();
      if (ch === 44) c.i++;
      else if (ch === 93) {
        c.i++;
        more = false;
      } else return undefined;
    }
    bids.length = nb;
    asks.length = na;
    ev.ts = tStart >= 0 ? rfc3339Ms(s, tStart, tEnd) : 0;
    this.ctx = ctx;
    return 0;
  }

  /**
   * The levels of an `updates` array that LEVELS_RE matched from c.i to `end` (just past its
   * `]`): the structure is proven, so each level's strings are at fixed offsets from its `{` and
   * end at their next '"'. Values go through unitsOf exactly as on the per-level path.
   */
  private exactLevels(s: string, c: JsonCursor, ev: L2Event, ctx: ProductCtx, end: number): 0 | undefined {
    const bids = ev.bids;
    const asks = ev.asks;
    const ps = ctx.scales.price;
    const qs = ctx.scales.qty;
    let nb = 0;
    let na = 0;
    let tS = 0;
    let tE = 0;
    let i = c.i;
    for (;;) {
      const bid = s.charCodeAt(i + 9) === 98; // {"side":"b
      tS = i + (bid ? LV_BID.length : LV_OFFER.length);
      tE = tS;
      while (s.charCodeAt(tE) !== 34) tE++;
      const pS = tE + LV_PRICE.length;
      let pE = pS;
      while (s.charCodeAt(pE) !== 34) pE++;
      const qS = pE + LV_QTY.length;
      let qE = qS;
      while (s.charCodeAt(qE) !== 34) qE++;
      const price = unitsOf(s, pS, pE, ps);
      const qty = unitsOf(s, qS, qE, qs);
      if (Number.isNaN(price) || Number.isNaN(qty)) return undefined; // rejected by the slow path (see fastEvents)
      const out = bid ? bids : asks;
      const k = bid ? nb++ : na++;
      const l = out[k];
      if (l === undefined) out.push({ price, qty });
      else {
        l.price = price;
        l.qty = qty;
      }
      i = qE + 2; // past '"}'
      if (s.charCodeAt(i) !== 44 /* , */) break; // ']': the regex proved it
      i++;
    }
    c.i = end;
    bids.length = nb;
    asks.length = na;
    ev.ts = rfc3339Ms(s, tS, tE);
    this.ctx = ctx;
    return 0;
  }

  // The level just read: side (1 bid, 2 offer) and the bounds of its strings in the frame.
  private lvSide = 0;
  private lvPriceStart = 0;
  private lvPriceEnd = 0;
  private lvQtyStart = 0;
  private lvQtyEnd = 0;
  private lvTimeStart = -1;
  private lvTimeEnd = -1;

  /**
   * `{"side":"bid"|"offer","event_time":"..","price_level":"..","new_quantity":".."}` exactly as
   * Coinbase writes it, in a frame without escapes: the index after it, or -1 for anything else
   * (nothing is consumed). The strings' bodies are checked by unitsOf (digits and one point
   * only), except event_time's, which only feeds the event time (unreadable: 0, as on the cursor
   * path) and is checked for raw control characters (-1: the cursor refuses them).
   */
  private exactLevel(s: string, i: number): number {
    if (!this.plain) return -1;
    let side: number;
    let tS: number;
    if (s.startsWith(LV_BID, i)) {
      side = 1;
      tS = i + LV_BID.length;
    } else if (s.startsWith(LV_OFFER, i)) {
      side = 2;
      tS = i + LV_OFFER.length;
    } else return -1;
    const tE = s.indexOf('"', tS);
    if (tE < 0 || !s.startsWith(LV_PRICE, tE)) return -1;
    // a raw control character is not JSON: the cursor's reader refuses it (prices and
    // quantities are checked by unitsOf, digits and one point only)
    for (let k = tS; k < tE; k++) if (s.charCodeAt(k) < 32) return -1;
    const pS = tE + LV_PRICE.length;
    const pE = s.indexOf('"', pS);
    if (pE < 0 || !s.startsWith(LV_QTY, pE)) return -1;
    const qS = pE + LV_QTY.length;
    const qE = s.indexOf('"', qS);
    if (qE < 0 || s.charCodeAt(qE + 1) !== 125 /* } */) return -1;
    this.lvSide = side;
    this.lvPriceStart = pS;
    this.lvPriceEnd = pE;
    this.lvQtyStart = qS;
    this.lvQtyEnd = qE;
    this.lvTimeStart = tS;
    this.lvTimeEnd = tE;
    return qE + 2;
  }

  /** One level object in any key order, with the cursor; false: not a level we can read here. */
  private cursorLevel(c: JsonCursor): boolean {
    c.beginObject();
    let side = 0;
    let pE = 0;
    let qE = 0;
    this.lvTimeEnd = -1;
    let firstKey = true;
    // keys seen (1 side, 2 price_level, 4 new_quantity, 8 event_time, 16 one we do not know): a
    // repeated one (or a second unknown one) -> slow path
    let seen = 0;
    while (c.nextKey(firstKey)) {
      firstKey = false;
      const bit = c.is('side') ? 1 : c.is('price_level') ? 2 : c.is('new_quantity') ? 4 : c.is('event_time') ? 8 : 16;
      if ((seen & bit) !== 0) return false;
      seen |= bit;
      if (bit === 1) {
        c.readString();
        side = c.is('bid') ? 1 : c.is('offer') || c.is('ask') ? 2 : 0;
        if (side === 0) return false;
      } else if (bit === 2) {
        c.readString();
        this.lvPriceStart = c.start;
        pE = this.lvPriceEnd = c.end;
      } else if (bit === 4) {
        c.readString();
        this.lvQtyStart = c.start;
        qE = this.lvQtyEnd = c.end;
      } else if (bit === 8) {
        c.readString();
        this.lvTimeStart = c.start;
        this.lvTimeEnd = c.end;
      } else c.skipValue();
    }
    if (side === 0 || pE === 0 || qE === 0) return false;
    this.lvSide = side;
    return true;
  }

  /**
   * Cold path, for a rejected frame whose sequence_num was accepted: the products its level2
   * events name (every product when an event names none we can read), none for another channel.
   */
  l2ProductsOf(text: string): readonly ProductCtx[] {
    let o: { channel?: unknown; events?: unknown };
    try {
      o = JSON.parse(text) as typeof o;
    } catch {
      return this.products;
    }
    if (o === null || typeof o !== 'object') return [];
    // A repeated key: JSON.parse kept the last of each, but the frame also named what came
    // first (`"product_id":"BTC-USD",...,"product_id":"ETH-USD"`): every product named anywhere
    // in it. A repeated envelope key may hide the channel too, so the channel is trusted only
    // when the repetition is deeper.
    if (this.keys.find(text) !== undefined) {
      if (this.keys.depth > 1 && o.channel !== 'l2_data') return [];
      return this.namedProducts(text);
    }
    if (o.channel !== 'l2_data') return [];
    if (!Array.isArray(o.events)) return this.products;
    const out = new Set<ProductCtx>();
    for (const raw of o.events as unknown[]) {
      const id = raw !== null && typeof raw === 'object' ? (raw as { product_id?: unknown }).product_id : undefined;
      if (typeof id !== 'string') return this.products;
      const ctx = this.byId.get(id);
      if (ctx) out.add(ctx);
    }
    return [...out];
  }

  /** Every product a `"product_id":"..."` in the text names (cold); every product when one is written with an escape. */
  private namedProducts(text: string): readonly ProductCtx[] {
    if (text.includes('\\')) return this.products;
    const out = new Set<ProductCtx>();
    for (const m of text.matchAll(/"product_id"\s*:\s*"([^"]*)"/g)) {
      const ctx = this.byId.get(m[1]!);
      if (ctx) out.add(ctx);
    }
    return [...out];
  }

  // Key bounds of the objects open on the repeated-key walk, and per open container the index
  // of its first key there (reused: they grow to the widest and deepest frame seen, once).
  /** The slow path's repeated-key check (allocation-free; reused). */
  private readonly keys = new RepeatedKeyFinder();

  private slow(text: string): FrameCode {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      return this.fail(Frame.MALFORMED, `malformed JSON: ${(err as Error).message}`);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return this.fail(Frame.MALFORMED, 'frame is not a JSON object');
    const o = obj as Record<string, unknown>;
    const dup = this.keys.find(text);
    if (dup !== undefined) {
      // the envelope's sequence_num still counts (no false gap on the next frame) when it is
      // written once; the feed then resyncs every book the frame names (l2ProductsOf)
      const at = text.indexOf('"sequence_num"');
      if (typeof o.sequence_num === 'number' && Number.isSafeInteger(o.sequence_num) && o.sequence_num >= 0 && at >= 0 && text.indexOf('"sequence_num"', at + 1) < 0) this.seqNum = o.sequence_num;
      return this.fail(Frame.MALFORMED, `duplicate key ${JSON.stringify(dup.slice(0, 40))} (JSON leaves its meaning open)`);
    }
    if (o.type === 'error') return this.fail(Frame.ERROR, `venue error: ${typeof o.message === 'string' ? o.message.slice(0, 200) : 'no message'}`);
    if (typeof o.sequence_num === 'number') {
      if (!Number.isSafeInteger(o.sequence_num) || o.sequence_num < 0) return this.fail(Frame.MALFORMED, `sequence_num ${o.sequence_num} is not a valid sequence number`);
      this.seqNum = o.sequence_num;
    }
    const events = o.events;
    switch (o.channel) {
      case 'l2_data':
        if (!Array.isArray(events) || this.seqNum < 0) return this.fail(Frame.MALFORMED, 'l2_data without sequence_num/events');
        return this.parseL2(events);
      case 'market_trades':
        if (!Array.isArray(events) || this.seqNum < 0) return this.fail(Frame.MALFORMED, 'market_trades without sequence_num/events');
        return this.parseTrades(events);
      case 'heartbeats': {
        const e = Array.isArray(events) ? (events[0] as Record<string, unknown> | undefined) : undefined;
        const c = e && (typeof e.heartbeat_counter === 'number' ? e.heartbeat_counter : typeof e.heartbeat_counter === 'string' ? Number(e.heartbeat_counter) : NaN);
        if (this.seqNum < 0 || typeof c !== 'number' || !Number.isSafeInteger(c)) return this.fail(Frame.MALFORMED, 'heartbeats without sequence_num/heartbeat_counter');
        this.heartbeatCounter = c;
        return Frame.HEARTBEAT;
      }
      case 'subscriptions':
        return Frame.SUBSCRIPTIONS;
      default: {
        const head = text.length > 120 ? `${text.slice(0, 120)}...` : text;
        return this.fail(Frame.UNKNOWN, `unknown message ${head}`);
      }
    }
  }

  private fail(code: FrameCode, problem: string, reason: FeedRejectReason = code === Frame.INVALID ? 'off_grid' : code === Frame.UNKNOWN ? 'unknown_message' : code === Frame.ERROR ? 'venue_error' : 'malformed'): FrameCode {
    this.problem = problem;
    this.reason = reason;
    return code;
  }

  private product(id: unknown): ProductCtx | undefined {
    const ctx = typeof id === 'string' ? this.byId.get(id) : undefined;
    if (!ctx) this.fail(Frame.INVALID, `unknown product ${String(id).slice(0, 40)}`, 'unknown_symbol');
    return ctx;
  }

  private parseL2(events: unknown[]): FrameCode {
    this.l2.length = 0;
    for (const raw of events) {
      const e = raw as Record<string, unknown> | null;
      if (e === null || typeof e !== 'object' || (e.type !== 'snapshot' && e.type !== 'update') || !Array.isArray(e.updates)) return this.fail(Frame.MALFORMED, 'l2_data event without type/updates');
      const ctx = this.product(e.product_id);
      if (!ctx) return Frame.INVALID;
      this.ctx = ctx;
      const ev: L2Event = { ctx, snapshot: e.type === 'snapshot', bids: [], asks: [], ts: 0 };
      for (const u of e.updates as unknown[]) {
        const l = u as Record<string, unknown> | null;
        if (l === null || typeof l !== 'object' || typeof l.price_level !== 'string' || typeof l.new_quantity !== 'string') return this.fail(Frame.MALFORMED, 'l2_data update without price_level/new_quantity');
        const side = l.side === 'bid' ? ev.bids : l.side === 'offer' || l.side === 'ask' ? ev.asks : undefined;
        if (!side) return this.fail(Frame.MALFORMED, `l2_data update with side ${String(l.side).slice(0, 20)}`);
        const price = unitsOf(l.price_level, 0, l.price_level.length, ctx.scales.price);
        const qty = unitsOf(l.new_quantity, 0, l.new_quantity.length, ctx.scales.qty);
        if (Number.isNaN(price) || Number.isNaN(qty)) return this.fail(Frame.INVALID, `level ${l.price_level.slice(0, 40)} x ${l.new_quantity.slice(0, 40)} of ${ctx.symbol} is off the grid`);
        side.push({ price, qty });
        const t = isoMs(l.event_time);
        if (t > ev.ts) ev.ts = t;
      }
      this.l2.push(ev);
    }
    return Frame.L2;
  }

  private parseTrades(events: unknown[]): FrameCode {
    this.trades.length = 0;
    this.tradesSnapshot = false;
    for (const raw of events) {
      const e = raw as Record<string, unknown> | null;
      if (e === null || typeof e !== 'object' || (e.type !== 'snapshot' && e.type !== 'update') || !Array.isArray(e.trades)) return this.fail(Frame.MALFORMED, 'market_trades event without type/trades');
      if (e.type === 'snapshot') this.tradesSnapshot = true;
      for (const r of e.trades as unknown[]) {
        const t = r as Record<string, unknown> | null;
        if (t === null || typeof t !== 'object' || typeof t.price !== 'string' || typeof t.size !== 'string' || typeof t.trade_id !== 'string') return this.fail(Frame.MALFORMED, 'trade without trade_id/price/size');
        const ctx = this.product(t.product_id);
        if (!ctx) return Frame.INVALID;
        this.ctx = ctx;
        const id = /^\d{1,16}$/.test(t.trade_id) ? Number(t.trade_id) : NaN;
        if (!Number.isSafeInteger(id)) return this.fail(Frame.INVALID, `trade_id ${t.trade_id.slice(0, 40)} of ${ctx.symbol} is not a whole number`, 'malformed');
        if (t.side !== 'BUY' && t.side !== 'SELL') return this.fail(Frame.MALFORMED, `trade with side ${String(t.side).slice(0, 20)}`);
        const price = unitsOf(t.price, 0, t.price.length, ctx.scales.price);
        const qty = unitsOf(t.size, 0, t.size.length, ctx.scales.qty);
        if (Number.isNaN(price) || Number.isNaN(qty)) return this.fail(Frame.INVALID, `trade ${t.price.slice(0, 40)} x ${t.size.slice(0, 40)} of ${ctx.symbol} is off the grid`);
        const bad = tradeProblem(price, qty);
        if (bad !== undefined) return this.fail(Frame.INVALID, `trade ${t.price.slice(0, 40)} x ${t.size.slice(0, 40)} of ${ctx.symbol}: ${bad.replace(/_/g, ' ')}`, bad);
        // The trade time is RFC 3339 or the trade is refused: the trade-id guard reads times to
        // tell a replay from the stream, and Date.parse reads "1 ", "+1" or "1,5" as 2001
        const ts = typeof t.time === 'string' ? rfc3339StrictMs(t.time, 0, t.time.length) : NaN;
        if (Number.isNaN(ts)) return this.fail(Frame.MALFORMED, `trade ${t.trade_id.slice(0, 40)} of ${ctx.symbol} has time ${typeof t.time === 'string' ? JSON.stringify(t.time.slice(0, 40)) : 'missing'}, not RFC 3339`);
        // Advanced Trade's market_trades `side` is the taker's (aggressor's) side
        this.trades.push({ ctx, tradeId: id, price, qty, side: t.side === 'BUY' ? 'buy' : 'sell', ts });
      }
    }
    return Frame.TRADES;
  }
}

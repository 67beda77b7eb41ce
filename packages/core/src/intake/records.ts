/**
 * Everything a venue's feed says to its MarketEventSink, as 64-byte feed records on an SpscRing:
 * the intake worker writes them (`IntakeRecordWriter` is the feed's sink there) and the engine
 * thread replays them to the engine (`IntakeRecordReader`), in the order they were said. Market
 * events, status changes (SYNCED/RESYNCING/...), rejects, errors, trade marks (IntakeTradeMarkSink)
 * and end of stream all travel on the one ring: a status sent on another channel could overtake
 * the snapshot that follows it and leave a book resyncing for ever.
 *
 * Record = 8 float64 (values are integers well inside 2^53); types 1-4 keep the layout of
 * microstructure/feed-records.ts:
 *   SNAPSHOT    [1] sym [2] reason (0 initial, 1 resync) [3] bid count [4] seq [5] ts [6] recvTs [7] level count
 *   DELTA       [1] sym [2] firstSeq [3] bid count [4] seq [5] ts [6] recvTs [7] level count
 *   LEVEL       [2] price (ticks) [3] qty (lots) [7] side (0 bid, 1 ask); bids first, best first
 *   TRADE       [1] sym [2] price [3] qty [4] trade id (NaN: in the text) [5] ts [6] recvTs [7] side + 2 * text bytes
 *   LIQUIDATION [1] sym [2] price [3] qty [5] ts [6] recvTs [7] side (0 buy, 1 sell)
 *   STATUS      [1] sym [2] state [3] text bytes [5] ts; text = reason
 *   REJECT      [1] sym [2] reason (-1: in the text) [3] text bytes; text = [reason \0] detail
 *   ERROR       [3] text bytes; text = component \0 message
 *   TRADE_MARK  [1] sym [4] trade id (NaN: in the text) [5] ts [7] 2 * text bytes; a trade the feed
 *               took as seen without emitting it (IntakeTradeMarkSink): no sink call, a resume point
 *   TEXT        bytes 8..63: the next 56 bytes of the preceding record's UTF-8 text
 *   END         end of stream
 * `sym` is the index in the symbol list both sides were given; -1 is '' (connection-level), -2
 * puts the symbol first in the text (a name outside the list). The exchange is the ring's.
 *
 * Groups (a header and its LEVEL/TEXT records) may be published in parts when the ring fills;
 * the reader keeps its place across drains and dispatches an event once its group is complete.
 */
import type { FeedReject, FeedRejectReason, MarketEventSink } from '../contracts/exchange.js';
import type { BookDeltaEvent, BookLevel, BookSnapshotEvent, FeedState, FeedStatusEvent, LiquidationEvent, MarketEvent, TradeEvent } from '../domain/events.js';
import { FEED_RECORD_BYTES, FeedRecordType } from '../microstructure/feed-records.js';
import type { SpscRing } from '../microstructure/ring-buffer.js';
import { RingSlotWriter } from '../microstructure/ring-slot-writer.js';
import { RESUME_TRADES, type IntakeResumeTrade, type IntakeTradeMarkSink } from './protocol.js';

export const IntakeRecordType = { ...FeedRecordType, LIQUIDATION: 5, STATUS: 6, REJECT: 7, ERROR: 8, TEXT: 9, END: 10, TRADE_MARK: 11 } as const;

const FEED_STATES: readonly FeedState[] = ['connecting', 'synced', 'resyncing', 'stale', 'crossed', 'disconnected', 'stopped'];
/** The closed set of FeedRejectReason; a reason added later travels as text until it is listed here. */
const REJECT_REASONS: readonly FeedRejectReason[] = [
  'malformed', 'binary_frame', 'unknown_message', 'unknown_symbol', 'venue_error', 'off_grid', 'non_positive_price', 'negative_qty', 'zero_qty', 'seq_jump', 'trade_id_jump', 'bad_snapshot',
];
const TEXT_BYTES_PER_RECORD = FEED_RECORD_BYTES - 8;
const SYM_NONE = -1;
const SYM_IN_TEXT = -2;
const SEP = '\u0000';

/**
 * Called when the ring has no free slot (the published part of the current group is already
 * visible): wait for the consumer and return true, or return false to drop the record (the
 * ring is closing). The worker waits with Atomics.wait and keeps its heartbeat going.
 */
export type RingSpaceWait = (ring: SpscRing) => boolean;

/** The feed's sink on the intake worker: every call becomes records, published when the call ends. */
export class IntakeRecordWriter implements MarketEventSink, IntakeTradeMarkSink {
  private readonly slots: RingSlotWriter;
  private readonly symIndex = new Map<string, number>();
  private readonly encoder = new TextEncoder();
  private textScratch = new Uint8Array(1024);
  /** Records not written because the ring was closing (shutdown, or the worker taken down). */
  dropped = 0;

  constructor(
    readonly ring: SpscRing,
    symbols: readonly string[],
    waitForSpace: RingSpaceWait,
  ) {
    if (ring.recordBytes !== FEED_RECORD_BYTES) throw new RangeError(`intake ring records must be ${FEED_RECORD_BYTES} bytes`);
    this.slots = new RingSlotWriter(ring, (r) => !r.closed && waitForSpace(r));
    symbols.forEach((s, i) => this.symIndex.set(s, i));
  }

  /** f64 index of the next free slot, or -1 when the record is dropped. */
  private slot(): number {
    const f = this.slots.slot();
    if (f < 0) this.dropped++;
    return f;
  }

  private put(type: number, sym: number, a: number, b: number, seq: number, ts: number, recvTs: number, x: number): void {
    if (!this.slots.put(type, sym, a, b, seq, ts, recvTs, x)) this.dropped++;
  }

  /**
   * Publishes what this call wrote. Not into a closed ring: the engine thread closed it because
   * it took this worker down (stopped, or judged hung while it was only slow) and reads it no
   * more, so the records are dropped here rather than refilling a ring nobody drains. One atomic
   * load per sink call, on the worker.
   */
  private publish(): void {
    if (this.ring.closed) this.dropped += this.slots.discard();
    else this.slots.publish();
  }

  /**
   * A sink call threw while it wrote its group (a feed bug: a null level, a getter that throws):
   * the slots it claimed are forgotten, so the next call's records are not published behind a
   * header that promises records which never come (the reader would drop that torn group and
   * whatever it swallowed). The caller gets the throw, as it would from an inline sink.
   */
  private rollback(err: unknown): never {
    this.slots.discard();
    throw err;
  }

  private sym(symbol: string): number {
    if (symbol === '') return SYM_NONE;
    return this.symIndex.get(symbol) ?? SYM_IN_TEXT;
  }

  private encode(text: string): number {
    if (this.textScratch.length < text.length * 3) this.textScratch = new Uint8Array(text.length * 3);
    return this.encoder.encodeInto(text, this.textScratch).written;
  }

  private putText(bytes: number): void {
    const u8 = this.ring.u8;
    for (let off = 0; off < bytes; off += TEXT_BYTES_PER_RECORD) {
      const f = this.slot();
      if (f < 0) return;
      this.ring.f64[f] = IntakeRecordType.TEXT;
      const n = Math.min(TEXT_BYTES_PER_RECORD, bytes - off);
      u8.set(this.textScratch.subarray(off, off + n), f * 8 + 8);
    }
  }

  private levels(list: readonly BookLevel[], side: 0 | 1): void {
    for (let i = 0; i < list.length; i++) this.put(IntakeRecordType.LEVEL, 0, list[i]!.price, list[i]!.qty, 0, 0, 0, side);
  }

  onMarketEvent(ev: MarketEvent): void {
    try {
      this.writeMarketEvent(ev);
    } catch (err) {
      this.rollback(err);
    }
    this.publish();
  }

  private writeMarketEvent(ev: MarketEvent): void {
    const sym = this.symIndex.get(ev.symbol);
    // Feeds emit market events only for the symbols they were started with.
    if (sym === undefined) return this.onFeedError('intake', `market event for ${ev.symbol}, a symbol this intake was not started with: dropped`);
    switch (ev.type) {
      case 'book_snapshot':
        this.put(IntakeRecordType.SNAPSHOT, sym, ev.reason === 'resync' ? 1 : 0, ev.bids.length, ev.seq, ev.ts, ev.recvTs, ev.bids.length + ev.asks.length);
        this.levels(ev.bids, 0);
        this.levels(ev.asks, 1);
        break;
      case 'book_delta':
        this.put(IntakeRecordType.DELTA, sym, ev.firstSeq, ev.bids.length, ev.seq, ev.ts, ev.recvTs, ev.bids.length + ev.asks.length);
        this.levels(ev.bids, 0);
        this.levels(ev.asks, 1);
        break;
      case 'trade':
        this.putTrade(IntakeRecordType.TRADE, sym, ev.price, ev.qty, ev.tradeId, ev.ts, ev.recvTs, ev.side === 'buy' ? 0 : 1);
        break;
      case 'liquidation':
        this.put(IntakeRecordType.LIQUIDATION, sym, ev.price, ev.qty, 0, ev.ts, ev.recvTs, ev.side === 'buy' ? 0 : 1);
        break;
    }
  }

  /** A trade record, or a mark's: the id as a number when it reads back as the same string, else as text. */
  private putTrade(type: number, sym: number, price: number, qty: number, id: string, ts: number, recvTs: number, side: number): void {
    const n = id.length > 0 && id.length < 16 && (id === '0' || id.charCodeAt(0) !== 48) && /^\d+$/.test(id) ? Number(id) : Number.NaN;
    if (!Number.isNaN(n)) this.put(type, sym, price, qty, n, ts, recvTs, side);
    else {
      const bytes = this.encode(id);
      this.put(type, sym, price, qty, Number.NaN, ts, recvTs, side + 2 * bytes);
      this.putText(bytes);
    }
  }

  onTradeMark(symbol: string, tradeId: string, ts: number): void {
    try {
      const sym = this.symIndex.get(symbol);
      if (sym === undefined) this.onFeedError('intake', `trade mark for ${symbol}, a symbol this intake was not started with: dropped`);
      else this.putTrade(IntakeRecordType.TRADE_MARK, sym, 0, 0, tradeId, ts, 0, 0);
    } catch (err) {
      this.rollback(err);
    }
    this.publish();
  }

  onFeedStatus(st: FeedStatusEvent): void {
    try {
      const sym = this.sym(st.symbol);
      const bytes = this.encode(sym === SYM_IN_TEXT ? st.symbol + SEP + st.reason : st.reason);
      this.put(IntakeRecordType.STATUS, sym, FEED_STATES.indexOf(st.state), bytes, 0, st.ts, 0, 0);
      this.putText(bytes);
    } catch (err) {
      this.rollback(err);
    }
    this.publish();
  }

  onFeedReject(r: FeedReject): void {
    try {
      const sym = this.sym(r.symbol);
      const code = REJECT_REASONS.indexOf(r.reason);
      let text = code < 0 ? r.reason + SEP + r.detail : r.detail;
      if (sym === SYM_IN_TEXT) text = r.symbol + SEP + text;
      const bytes = this.encode(text);
      this.put(IntakeRecordType.REJECT, sym, code, bytes, 0, 0, 0, 0);
      this.putText(bytes);
    } catch (err) {
      this.rollback(err);
    }
    this.publish();
  }

  onFeedError(component: string, message: string): void {
    try {
      const bytes = this.encode(component + SEP + message);
      this.put(IntakeRecordType.ERROR, 0, 0, bytes, 0, 0, 0, 0);
      this.putText(bytes);
    } catch (err) {
      this.rollback(err);
    }
    this.publish();
  }

  onEndOfStream(): void {
    this.put(IntakeRecordType.END, 0, 0, 0, 0, 0, 0, 0);
    this.publish();
  }
}

/** The reused objects of one symbol: the reader hands the same ones out again (copyMarketEvent to keep one). */
interface SymbolEvents {
  snapshot: BookSnapshotEvent;
  delta: BookDeltaEvent;
  trade: TradeEvent;
  tradeId: { num: number; text: string | undefined };
  /** The last RESUME_TRADES trades the sink was handed or the feed marked (a ring of slots: no allocation per trade). */
  taken: { num: Float64Array; text: (string | undefined)[]; ts: Float64Array; next: number; count: number };
  liquidation: LiquidationEvent;
  bidPool: BookLevel[];
  askPool: BookLevel[];
  /** The level arrays the snapshot and the delta own (a side with no level is given NO_LEVELS instead). */
  snapshotBids: BookLevel[];
  snapshotAsks: BookLevel[];
  deltaBids: BookLevel[];
  deltaAsks: BookLevel[];
}

/**
 * The side of a book event that has no level. Not the event's own array at length 0: V8 drops an
 * array's backing store when its length is set to 0, so the next level stored would allocate a
 * new one, per event (a one-sided delta is the common case on several venues). Frozen: it is
 * shared, and nothing may fill it.
 */
const NO_LEVELS = Object.freeze([]) as unknown as BookLevel[];

/**
 * A side's own array cut to the `count` levels just stored in it, or NO_LEVELS. Its length is set
 * only when it changed (V8 trims the backing store of a much shorter array, which the next long
 * event grows again; equal lengths in a row cost nothing).
 */
function exactLevels(list: BookLevel[], count: number): BookLevel[] {
  if (count === 0) return NO_LEVELS;
  if (list.length !== count) list.length = count;
  return list;
}

/**
 * The engine thread's side: drains records and calls the sink as the worker's feed called its
 * own, with the same values. Market events are reused objects (one per symbol and type, their
 * level arrays and level objects too; a side with no level is one shared frozen empty array),
 * so a steady stream allocates nothing per record; a trade's id becomes a string only when
 * someone reads it. Status, reject and error records allocate (they are rare).
 */
export class IntakeRecordReader {
  private readonly events: SymbolEvents[];
  // ignoreBOM: a leading U+FEFF is part of the text (a trade id, a reason), as it is inline
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  private text = new Uint8Array(1024);
  /** The group being assembled (0: none). */
  private type = 0;
  private sym = 0;
  private levelsLeft = 0;
  private bidsLeft = 0;
  /** Levels stored so far into the group's own arrays (delivered cut to these counts). */
  private bidsHeld = 0;
  private asksHeld = 0;
  private bidList: BookLevel[] = NO_LEVELS;
  private askList: BookLevel[] = NO_LEVELS;
  private textLeft = 0;
  private textLen = 0;
  private a = 0;
  private ts = 0;
  private current: MarketEvent | undefined;
  recordsRead = 0;
  /** Market events dispatched so far. */
  marketEvents = 0;
  /** End-of-stream records read so far. */
  ends = 0;
  /**
   * Records that made no sense where they stood (a writer bug, or a group torn by a writer that
   * threw after part of it was published). Each drain that found some reports them once through
   * the sink's onFeedError as component `<venue>:intake` (cwts_errors_total, a warn line).
   */
  invalid = 0;
  private invalidReported = 0;
  /** Records released unread by discardRest() (their worker was taken down). */
  discarded = 0;

  constructor(
    readonly ring: SpscRing,
    readonly exchange: string,
    readonly symbols: readonly string[],
    private readonly sink: MarketEventSink,
  ) {
    this.events = symbols.map((s) => makeSymbolEvents(exchange, s));
  }

  /** True while a group is only partly read (its remaining records are not published yet). */
  get midGroup(): boolean {
    return this.type !== 0;
  }

  /**
   * Forgets a partly read group: its writer is gone, or a record that cannot belong to it came.
   * Every count of the group goes with it: a level count left over would take the next status's
   * TEXT record for a missing LEVEL and drop that status too, and every one after it.
   */
  abandonGroup(): void {
    this.type = 0;
    this.current = undefined;
    this.levelsLeft = 0;
    this.bidsLeft = 0;
    this.textLeft = 0;
    this.textLen = 0;
  }

  /**
   * Releases everything still readable unread (its worker was taken down: the records follow an
   * event the engine only half took, or nobody will read this ring again) and forgets a partly
   * read group; returns how many records were discarded (also added to `discarded`).
   */
  discardRest(): number {
    this.abandonGroup();
    const n = this.ring.discardReadable();
    this.discarded += n;
    return n;
  }

  /**
   * Applies up to `max` available records, stopping early once `maxEvents` market events were
   * dispatched or an end of stream was read (the e2e bench takes one event per slot); returns
   * how many records were consumed. A sink call that throws ends the drain with the throw, the
   * records up to and including the one it was called for consumed: none is handed out twice.
   */
  drain(max = Infinity, maxEvents = Infinity): number {
    const ring = this.ring;
    let n = ring.readable();
    if (n > max) n = max;
    if (n === 0) return 0;
    const d = ring.f64;
    const stopAt = this.marketEvents + maxEvents;
    const endsBefore = this.ends;
    let k = 0;
    // Around the batch, not per record: a trade has no sequence number, so a record dispatched
    // again after a throw would be a second trade to detectors and paper fills.
    try {
      while (k < n) {
        const f = ring.readSlotWord(k) >> 1;
        const type = d[f]!;
        k++;
        if (this.type !== 0) this.continueGroup(type, f, d);
        else this.header(type, f, d);
        // a counted drain also stops at an end of stream (a marker between phases of a stream)
        if (this.marketEvents >= stopAt || (maxEvents !== Infinity && this.ends !== endsBefore)) break;
      }
    } finally {
      ring.release(k);
      this.recordsRead += k;
    }
    if (this.invalid !== this.invalidReported) this.reportInvalid();
    return k;
  }

  /** Once per drain that found records out of place (rare: a writer bug), however many: counted and logged by the engine. */
  private reportInvalid(): void {
    const n = this.invalid - this.invalidReported;
    this.invalidReported = this.invalid;
    this.sink.onFeedError(
      `${this.exchange}:intake`,
      `${this.exchange} intake: ${n} feed record${n === 1 ? '' : 's'} out of place dropped (a torn group or a writer bug; ${this.invalid} on this ring so far)`,
    );
  }

  private header(type: number, f: number, d: Float64Array): void {
    const sym = d[f + 1]!;
    switch (type) {
      case IntakeRecordType.SNAPSHOT:
      case IntakeRecordType.DELTA: {
        const e = this.events[sym];
        if (e === undefined) return this.bad();
        const snapshot = type === IntakeRecordType.SNAPSHOT;
        const ev = snapshot ? e.snapshot : e.delta;
        if (snapshot) e.snapshot.reason = d[f + 2] === 1 ? 'resync' : 'initial';
        else e.delta.firstSeq = d[f + 2]!;
        ev.seq = d[f + 4]!;
        ev.ts = d[f + 5]!;
        ev.recvTs = d[f + 6]!;
        // Levels overwrite the side's own array in place and it is cut to length at finish():
        // emptied here (length 0), each array would lose its backing store and allocate anew.
        this.bidList = snapshot ? e.snapshotBids : e.deltaBids;
        this.askList = snapshot ? e.snapshotAsks : e.deltaAsks;
        this.bidsHeld = 0;
        this.asksHeld = 0;
        this.bidsLeft = d[f + 3]!;
        this.levelsLeft = d[f + 7]!;
        this.sym = sym;
        this.current = ev;
        this.type = type;
        if (this.levelsLeft === 0) this.finish();
        return;
      }
      case IntakeRecordType.TRADE: {
        const e = this.events[sym];
        if (e === undefined) return this.bad();
        const t = e.trade;
        t.price = d[f + 2]!;
        t.qty = d[f + 3]!;
        t.ts = d[f + 5]!;
        t.recvTs = d[f + 6]!;
        const x = d[f + 7]!;
        t.side = x % 2 === 0 ? 'buy' : 'sell';
        const bytes = Math.floor(x / 2);
        e.tradeId.num = d[f + 4]!;
        e.tradeId.text = undefined;
        this.current = t;
        this.sym = sym;
        if (bytes === 0) {
          if (Number.isNaN(e.tradeId.num)) e.tradeId.text = '';
          return this.dispatchTrade(e);
        }
        return this.beginText(type, bytes);
      }
      case IntakeRecordType.TRADE_MARK: {
        const e = this.events[sym];
        if (e === undefined) return this.bad();
        const num = d[f + 4]!;
        const bytes = Math.floor(d[f + 7]! / 2);
        this.sym = sym;
        this.ts = d[f + 5]!;
        if (bytes === 0) return noteTaken(e.taken, num, Number.isNaN(num) ? '' : undefined, this.ts);
        return this.beginText(type, bytes);
      }
      case IntakeRecordType.LIQUIDATION: {
        const e = this.events[sym];
        if (e === undefined) return this.bad();
        const l = e.liquidation;
        l.price = d[f + 2]!;
        l.qty = d[f + 3]!;
        l.ts = d[f + 5]!;
        l.recvTs = d[f + 6]!;
        l.side = d[f + 7] === 0 ? 'buy' : 'sell';
        return this.dispatchMarket(l);
      }
      case IntakeRecordType.STATUS:
      case IntakeRecordType.REJECT:
      case IntakeRecordType.ERROR:
        this.sym = sym;
        this.a = d[f + 2]!;
        this.ts = d[f + 5]!;
        return this.beginText(type, d[f + 3]!);
      case IntakeRecordType.END:
        this.ends++;
        this.sink.onEndOfStream?.(this.exchange);
        return;
      default:
        return this.bad();
    }
  }

  private continueGroup(type: number, f: number, d: Float64Array): void {
    if (this.levelsLeft > 0) {
      if (type !== IntakeRecordType.LEVEL) {
        this.abandonGroup();
        this.bad();
        return this.header(type, f, d);
      }
      const e = this.events[this.sym]!;
      const bid = this.bidsLeft > 0;
      const list = bid ? this.bidList : this.askList;
      const pool = bid ? e.bidPool : e.askPool;
      const i = bid ? this.bidsHeld++ : this.asksHeld++;
      let lv = pool[i];
      if (lv === undefined) pool.push((lv = { price: 0, qty: 0 }));
      lv.price = d[f + 2]!;
      lv.qty = d[f + 3]!;
      list[i] = lv; // i <= list.length: an overwrite, or an append past the longest event so far
      if (bid) this.bidsLeft--;
      if (--this.levelsLeft === 0) this.finish();
      return;
    }
    if (type !== IntakeRecordType.TEXT) {
      this.abandonGroup();
      this.bad();
      return this.header(type, f, d);
    }
    const n = Math.min(TEXT_BYTES_PER_RECORD, this.textLeft);
    this.text.set(this.ring.u8.subarray(f * 8 + 8, f * 8 + 8 + n), this.textLen - this.textLeft);
    this.textLeft -= n;
    if (this.textLeft === 0) this.finish();
  }

  private beginText(type: number, bytes: number): void {
    this.levelsLeft = 0;
    if (bytes === 0) {
      this.type = type;
      return this.finish();
    }
    if (this.text.length < bytes) this.text = new Uint8Array(bytes);
    this.type = type;
    this.textLen = bytes;
    this.textLeft = bytes;
  }

  private finish(): void {
    const type = this.type;
    this.type = 0;
    if (type === IntakeRecordType.SNAPSHOT || type === IntakeRecordType.DELTA) {
      // exact lengths at delivery: no level of a longer earlier event shows after this one's
      const ev = this.current as BookSnapshotEvent | BookDeltaEvent;
      ev.bids = exactLevels(this.bidList, this.bidsHeld);
      ev.asks = exactLevels(this.askList, this.asksHeld);
      return this.dispatchMarket(ev);
    }
    const text = this.textLen > 0 ? this.decoder.decode(this.text.subarray(0, this.textLen)) : '';
    this.textLen = 0;
    const fields = text.split(SEP);
    if (type === IntakeRecordType.TRADE) {
      const e = this.events[this.sym]!;
      e.tradeId.text = text;
      return this.dispatchTrade(e);
    }
    if (type === IntakeRecordType.TRADE_MARK) return noteTaken(this.events[this.sym]!.taken, Number.NaN, text, this.ts);
    const symbol = this.sym === SYM_NONE ? '' : this.sym === SYM_IN_TEXT ? fields.shift()! : this.symbols[this.sym];
    if (symbol === undefined) return this.bad();
    if (type === IntakeRecordType.STATUS) {
      const state = FEED_STATES[this.a];
      if (state === undefined) return this.bad();
      this.sink.onFeedStatus({ type: 'feed_status', exchange: this.exchange, symbol, state, reason: fields.join(SEP), ts: this.ts });
    } else if (type === IntakeRecordType.REJECT) {
      const reason = this.a < 0 ? (fields.shift() as FeedRejectReason) : REJECT_REASONS[this.a];
      if (reason === undefined) return this.bad();
      this.sink.onFeedReject?.({ exchange: this.exchange, symbol, reason, detail: fields.join(SEP) });
    } else {
      const component = fields.shift() ?? '';
      this.sink.onFeedError(component, fields.join(SEP));
    }
  }

  private dispatchMarket(ev: MarketEvent): void {
    this.current = undefined;
    this.marketEvents++;
    this.sink.onMarketEvent(ev);
  }

  /**
   * A trade to the sink, noted as taken before the call: the engine acts on a trade before it can
   * throw on it (paper fills run before the recorder's write), so one it threw on is resumed after
   * as well. At most once: a trade lost with a throw is one trade; a trade handed out twice is
   * fills and volume counted twice.
   */
  private dispatchTrade(e: SymbolEvents): void {
    noteTaken(e.taken, e.tradeId.num, e.tradeId.text, e.trade.ts);
    this.dispatchMarket(e.trade);
  }

  /**
   * The last trades (at most RESUME_TRADES, oldest first) of the symbol at `index` in `symbols`
   * that the sink was handed (a throw included) or the feed marked as seen: what a replacement
   * worker resumes after.
   */
  takenTrades(index: number): IntakeResumeTrade[] {
    const k = this.events[index]?.taken;
    if (k === undefined) return [];
    const out: IntakeResumeTrade[] = [];
    for (let j = k.count; j > 0; j--) {
      const i = (k.next - j + RESUME_TRADES) % RESUME_TRADES;
      out.push({ tradeId: k.text[i] ?? String(k.num[i]), ts: k.ts[i]! });
    }
    return out;
  }

  private bad(): void {
    this.invalid++;
  }
}

/** Notes a trade id as the symbol's latest resume point (overwrites the oldest of RESUME_TRADES). */
function noteTaken(k: SymbolEvents['taken'], num: number, text: string | undefined, ts: number): void {
  const i = k.next;
  k.num[i] = num;
  k.text[i] = text;
  k.ts[i] = ts;
  k.next = (i + 1) % RESUME_TRADES;
  if (k.count < RESUME_TRADES) k.count++;
}

function makeSymbolEvents(exchange: string, symbol: string): SymbolEvents {
  const tradeId = { num: 0, text: undefined as string | undefined };
  const trade = { type: 'trade', exchange, symbol, ts: 0, recvTs: 0, price: 0, qty: 0, side: 'buy' } as unknown as TradeEvent;
  // Enumerable, so spreads (copyMarketEvent) and JSON lines (--record) carry it like a plain field.
  Object.defineProperty(trade, 'tradeId', { enumerable: true, get: () => (tradeId.text ??= String(tradeId.num)) });
  return {
    snapshot: { type: 'book_snapshot', exchange, symbol, ts: 0, recvTs: 0, seq: 0, bids: NO_LEVELS, asks: NO_LEVELS, reason: 'initial' },
    delta: { type: 'book_delta', exchange, symbol, ts: 0, recvTs: 0, firstSeq: 0, seq: 0, bids: NO_LEVELS, asks: NO_LEVELS },
    trade,
    tradeId,
    taken: { num: new Float64Array(RESUME_TRADES), text: new Array<string | undefined>(RESUME_TRADES).fill(undefined), ts: new Float64Array(RESUME_TRADES), next: 0, count: 0 },
    liquidation: { type: 'liquidation', exchange, symbol, ts: 0, recvTs: 0, side: 'buy', price: 0, qty: 0 },
    bidPool: [],
    askPool: [],
    snapshotBids: [],
    snapshotAsks: [],
    deltaBids: [],
    deltaAsks: [],
  };
}

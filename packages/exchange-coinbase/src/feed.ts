import { defineInstrument, type BookDeltaEvent, type BookLevel, type DecimalScale, type FeedRejectReason, type Instrument, type MarketEventSink, type TradeEvent } from '@cwts/core';
import {
  BookSync,
  CONSECUTIVE_RULES,
  ExponentialBackoff,
  FeedErrorReporter,
  TradeIdGuard,
  TradeIdVerdict,
  instrumentScales,
} from '@cwts/core/adapter-kit';
import type { IntakeTradeMarkSink } from '@cwts/core/intake';
import { marketDataProductId } from './instruments.js';
import { CoinbaseFrameParser, Frame, type L2Event, type ProductCtx } from './parse.js';

export interface FeedProduct extends ProductCtx {
  /** The product id its level2 and market_trades frames name (`BTC-USD` for a configured `BTC-USDC`). */
  readonly venueId: string;
  /**
   * Units of the frames' grid (VenueProduct) per tick and per lot of this product: 1 unless
   * products of different increments share one venue id.
   */
  priceDiv: number;
  qtyDiv: number;
  sync: BookSync;
  trades: TradeIdGuard;
  trade: TradeEvent;
  /** sequence_num of this product's last level2 message on this connection (-1: none yet). */
  lastL2Seq: number;
  /** The session's first market_trades snapshot (history from before we started) was seen. */
  tradesBaselined: boolean;
  /** The reused level2 update event (BookSync copies what it buffers; sinks copy what they keep). */
  delta: BookDeltaEvent;
  /** The level2 snapshot deadline, or the backed-off wait before asking again. */
  snapshotTimer: NodeJS.Timeout | undefined;
  /** Level2 resubscribes before the book syncs again are backed off (reset when SYNCED and on a new connection). */
  snapshotBackoff: ExponentialBackoff;
}

export interface CoinbaseFeedOptions {
  exchange: string;
  instruments: readonly Instrument[];
  sink: () => MarketEventSink | undefined;
  now: () => number;
  /** A book wants a snapshot: the venue sends one when level2 is (re)subscribed. */
  requestSnapshot: (p: FeedProduct) => void;
  /** A level2 snapshot of this product arrived (the client stops its snapshot deadline). */
  onSnapshotTaken?: (p: FeedProduct) => void;
  /** Jitter of the resubscribe backoff (default Math.random). */
  random?: () => number;
  /** A connection-wide sequence gap: the lost messages may have been trades (resubscribe market_trades). */
  onSequenceGap: () => void;
  maxTradeIdJump?: number;
  maxSeqJump?: number;
  logEveryMs?: number;
  /**
   * Per product, the last trades the engine took before this feed, or an earlier feed marked as
   * history (an intake worker replacing one that failed: core's IntakeResume.trades, oldest
   * first). Such a product is no new session: its first market_trades snapshot backfills what
   * printed since, deduplicated by id, as after a reconnect.
   */
  resumeTrades?: Readonly<Record<string, readonly { tradeId: string; ts: number }[]>>;
}

/**
 * One product id as market-data frames name it, and the configured products it feeds: Coinbase
 * answers a `-USDC` product on the public channels with the `-USD` product's frames, so a
 * configured `BTC-USD` and `BTC-USDC` share one subscription, each with its own book sync, trade
 * guard and events. Frames are read on the finest grid every member fits (a member's own grid when
 * it is alone or they agree, as they do in practice); each member takes the values on its own
 * grid, and one off it is refused for that member alone.
 */
interface VenueProduct extends ProductCtx {
  readonly venueId: string;
  readonly members: readonly FeedProduct[];
  /** The frame (CoinbaseFeed.stats.frames) whose level2 events of this product were last applied. */
  l2Frame: number;
}

/**
 * Coinbase Advanced Trade market data without I/O: ws frames in, validated integer events out,
 * book sync per product. `CoinbaseMarketData` feeds it from the socket; the conformance suite's
 * frame harness feeds it directly (`createCoinbaseFrameHarness`), so what it tests is exactly
 * the adapter's path.
 *
 * `sequence_num` is per connection and counts every message of every channel: a gap resyncs
 * every book, and the frame that revealed it is not applied (its level2 content may be a
 * snapshot, but the resubscribe brings a fresh one; its trades come back in the market_trades
 * snapshot the gap asks for, deduplicated by id; so nothing is lost by dropping it).
 * Every rejection goes through one FeedErrorReporter (cwts_feed_errors_total + rate-limited warn).
 */
export class CoinbaseFeed {
  readonly products: FeedProduct[];
  readonly reporter: FeedErrorReporter;
  readonly stats = { frames: 0, l2: 0, trades: 0, duplicateTrades: 0, errors: 0, gaps: 0, heartbeats: 0 };
  private readonly parser: CoinbaseFrameParser;
  private readonly component: string;
  private lastSeq = -1;

  constructor(private readonly opts: CoinbaseFeedOptions) {
    this.component = `${opts.exchange}:market-data`;
    this.reporter = new FeedErrorReporter({ exchange: opts.exchange, component: this.component, sink: opts.sink, now: opts.now, logEveryMs: opts.logEveryMs });
    this.products = opts.instruments.map((i) => {
      const st: FeedProduct = {
        symbol: i.symbol,
        venueId: marketDataProductId(i.symbol),
        priceDiv: 1,
        qtyDiv: 1,
        scales: instrumentScales(i),
        trades: new TradeIdGuard(opts.maxTradeIdJump),
        trade: { type: 'trade', exchange: opts.exchange, symbol: i.symbol, ts: 0, recvTs: 0, tradeId: '', price: 0, qty: 0, side: 'buy' },
        sync: undefined as unknown as BookSync,
        lastL2Seq: -1,
        tradesBaselined: false,
        delta: { type: 'book_delta', exchange: opts.exchange, symbol: i.symbol, ts: 0, recvTs: 0, firstSeq: 0, seq: 0, bids: [], asks: [] },
        snapshotTimer: undefined,
        snapshotBackoff: new ExponentialBackoff({ initialMs: 100, maxMs: 5000, random: opts.random }),
      };
      st.sync = new BookSync({
        exchange: opts.exchange,
        symbol: i.symbol,
        // Each frame's update of this product (its update events merged, see applyL2) covers the
        // connection's sequence numbers since the product's previous level2 message
        // (firstSeq = that + 1): the connection-wide check proved none of them
        // was lost, so the per-book rule is plain continuity, as for any sequenced venue.
        rules: CONSECUTIVE_RULES,
        sink: opts.sink,
        requestSnapshot: () => opts.requestSnapshot(st),
        snapshotWhen: 'venue',
        maxSeqJump: opts.maxSeqJump,
        reporter: this.reporter,
        now: opts.now,
      });
      resumeTrades(st, opts.resumeTrades?.[i.symbol]);
      return st;
    });
    const byVenue = new Map<string, FeedProduct[]>();
    for (const st of this.products) {
      const members = byVenue.get(st.venueId);
      if (members) members.push(st);
      else byVenue.set(st.venueId, [st]);
    }
    this.parser = new CoinbaseFrameParser([...byVenue].map(([id, members]) => venueProduct(id, members)));
  }

  product(symbol: string): FeedProduct | undefined {
    return this.products.find((p) => p.symbol === symbol);
  }

  /** Inputs rejected so far, all reasons. */
  get rejected(): number {
    return this.reporter.total;
  }

  /** A new connection: sequence_num starts again. */
  connectionOpened(): void {
    this.lastSeq = -1;
    for (const p of this.products) p.lastL2Seq = -1;
  }

  /** A binary frame on a text-only stream. */
  onBinaryFrame(bytes: number): void {
    this.stats.frames++;
    this.reject('', 'binary_frame', `binary frame of ${bytes} bytes dropped`);
  }

  /** Hot path: one ws text frame. Never throws for anything the venue can send. */
  onFrame(text: string): void {
    this.stats.frames++;
    const p = this.parser;
    const code = p.parse(text);
    const gap = p.seqNum >= 0 && !this.checkSequence(p.seqNum);
    const now = this.opts.now();
    switch (code) {
      case Frame.L2:
      case Frame.TRADES:
        // A frame behind a gap (or with a bogus sequence_num) is not applied: the books resync
        // and the market_trades resubscribe backfills its trades, deduplicated by id.
        if (gap) return;
        if (code === Frame.TRADES) {
          this.onTrades(p, now);
          return;
        }
        for (let i = 0; i < p.l2.length; i++) {
          const v = p.l2[i]!.ctx as VenueProduct;
          this.stats.l2++;
          // a product's later events of this frame were applied with its first one (applyL2)
          if (v.l2Frame === this.stats.frames) continue;
          v.l2Frame = this.stats.frames;
          for (const st of v.members) this.applyL2(st, v, p.l2, i, p.seqNum, now);
        }
        return;
      case Frame.HEARTBEAT:
        this.stats.heartbeats++;
        return;
      case Frame.SUBSCRIPTIONS:
        return;
      case Frame.INVALID: {
        const st = p.ctx as VenueProduct | undefined;
        this.reject(p.reason === 'unknown_symbol' ? '' : (st?.symbol ?? ''), p.reason, p.problem);
        // a book update we cannot apply means the book would be wrong: resync the books the frame
        // named (a gap already resynced them all). The parser reports INVALID only after reading
        // the whole envelope, so the frame's sequence_num was checked above and no false gap
        // follows; a frame whose sequence_num is unreadable is MALFORMED instead (below: the
        // next frame shows the gap and every book resyncs)
        if (p.seqNum >= 0 && !gap) this.lostL2(text, p.reason, p.problem);
        return;
      }
      case Frame.ERROR:
        this.reject('', 'venue_error', p.problem);
        return;
      case Frame.UNKNOWN:
        this.reject('', 'unknown_message', p.problem);
        return;
      default:
        this.reject('', p.reason, p.problem);
        // an unreadable frame's sequence_num is unknown (-1): if it was a real message, the next
        // frame's sequence_num shows the gap and every book resyncs then
        if (p.seqNum >= 0 && !gap) this.lostL2(text, p.reason, p.problem);
    }
  }

  /**
   * All level2 events of product `st` in this frame, from index `from` on. Every event of a frame
   * shares the frame's sequence_num, so they are one message to the book: the per-book sequence
   * check runs once per frame and product, never per event (a second event would otherwise look
   * like a repeat of the first and resync the book).
   *
   * One event (the usual frame) goes through as it is. Several become: one delta of every update
   * event's levels in frame order (later levels of a price win, as they would applied one by
   * one), then, if the frame has a snapshot of the product, its last snapshot with the update
   * events after it folded in. A SYNCED book applies the delta (its levels are validated and
   * counted like any update's) and is then replaced by the snapshot (takeSnapshot: the venue's
   * book, counted as a resync); a book awaiting its snapshot validates the delta but keeps none of
   * it (a pushed snapshot supersedes every update before it), and syncs on the snapshot, which
   * already holds the updates that followed it.
   */
  private applyL2(st: FeedProduct, v: VenueProduct, events: readonly L2Event[], from: number, seq: number, now: number): void {
    const firstSeq = st.lastL2Seq + 1;
    st.lastL2Seq = seq;
    let count = 0;
    let lastSnapshot = -1;
    for (let j = from; j < events.length; j++) {
      if (events[j]!.ctx !== v) continue;
      count++;
      if (events[j]!.snapshot) lastSnapshot = j;
    }
    const e = events[from]!;
    if (count === 1) {
      if (e.snapshot) this.takeSnapshot(st, seq, e.bids, e.asks, e.ts);
      else this.applyDelta(st, firstSeq, seq, e.bids, e.asks, e.ts, now);
      return;
    }
    // a multi-event frame (rare): fresh arrays of the parser's levels, valid until the next frame
    // like the single-event path's (BookSync and the sinks copy what they keep)
    const bids: BookLevel[] = [];
    const asks: BookLevel[] = [];
    let ts = 0;
    for (let j = from; j < events.length; j++) {
      const u = events[j]!;
      if (u.ctx !== v || u.snapshot) continue;
      for (const l of u.bids) bids.push(l);
      for (const l of u.asks) asks.push(l);
      if (u.ts > ts) ts = u.ts;
    }
    // a delta off this product's grid resynced it: the snapshot is not taken on top of it
    if ((lastSnapshot < 0 || bids.length + asks.length > 0) && !this.applyDelta(st, firstSeq, seq, bids, asks, ts, now)) return;
    if (lastSnapshot < 0) return;
    const snap = events[lastSnapshot]!;
    const bidBook = new Map<number, number>();
    const askBook = new Map<number, number>();
    for (const l of snap.bids) bidBook.set(l.price, l.qty);
    for (const l of snap.asks) askBook.set(l.price, l.qty);
    let snapTs = snap.ts;
    for (let j = lastSnapshot + 1; j < events.length; j++) {
      const u = events[j]!;
      if (u.ctx !== v) continue;
      for (const l of u.bids) bidBook.set(l.price, l.qty);
      for (const l of u.asks) askBook.set(l.price, l.qty);
      if (u.ts > snapTs) snapTs = u.ts;
    }
    const levels = (m: Map<number, number>): BookLevel[] => [...m].map(([price, qty]) => ({ price, qty }));
    this.takeSnapshot(st, seq, levels(bidBook), levels(askBook), snapTs);
  }

  private takeSnapshot(st: FeedProduct, seq: number, venueBids: readonly BookLevel[], venueAsks: readonly BookLevel[], ts: number): void {
    const rawBids = this.onGrid(st, venueBids);
    const rawAsks = rawBids && this.onGrid(st, venueAsks);
    if (!rawAsks) return;
    // zero-size levels carry nothing; anything else (negative sizes too) is BookSync's to judge
    // (fresh level objects: the parser reuses its own for the next frame)
    const bids = rawBids.filter((l) => l.qty !== 0).map((l) => ({ price: l.price, qty: l.qty })).sort((a, b) => b.price - a.price);
    const asks = rawAsks.filter((l) => l.qty !== 0).map((l) => ({ price: l.price, qty: l.qty })).sort((a, b) => a.price - b.price);
    this.opts.onSnapshotTaken?.(st);
    // While SYNCED, the venue sent the product's book again (a resubscribe's answer arriving after
    // the book synced on an earlier one: our own snapshot deadline sends such a resubscribe; or
    // the venue resetting its book). It is the venue's book now: it replaces ours (counted as a
    // resync), without resubscribing.
    st.sync.replace({ seq, bids, asks, ts }, 'venue sent a new level2 snapshot; book replaced');
    if (st.sync.state === 'synced') st.snapshotBackoff.reset();
  }

  /** False: a level was off the product's grid (counted, the book resyncs). */
  private applyDelta(st: FeedProduct, firstSeq: number, seq: number, venueBids: BookLevel[], venueAsks: BookLevel[], ts: number, now: number): boolean {
    const bids = this.onGrid(st, venueBids);
    const asks = bids && this.onGrid(st, venueAsks);
    if (!asks) return false;
    const d = st.delta;
    d.ts = ts;
    d.recvTs = now;
    d.firstSeq = firstSeq;
    d.seq = seq;
    d.bids = bids;
    d.asks = asks;
    st.sync.onDelta(d);
    return true;
  }

  /**
   * Levels read on the frames' grid, on this product's (the same array when the grids agree);
   * undefined when one is off it: counted as off_grid for this product, whose book resyncs, as a
   * frame off the grid of a product of its own would.
   */
  private onGrid(st: FeedProduct, levels: BookLevel[]): BookLevel[] | undefined;
  private onGrid(st: FeedProduct, levels: readonly BookLevel[]): readonly BookLevel[] | undefined;
  private onGrid(st: FeedProduct, levels: readonly BookLevel[]): readonly BookLevel[] | undefined {
    const pd = st.priceDiv;
    const qd = st.qtyDiv;
    if (pd === 1 && qd === 1) return levels;
    const out: BookLevel[] = [];
    for (const l of levels) {
      // % is exact on safe integers (a division's rounding could pass an off-grid value)
      if (l.price % pd !== 0 || l.qty % qd !== 0) {
        const why = `level2 level off the grid of ${st.symbol} (tick ${st.scales.instrument.tickSize}, lot ${st.scales.instrument.lotSize})`;
        this.reject(st.symbol, 'off_grid', why);
        st.sync.resync(`invalid update rejected (off_grid): ${why}`);
        return undefined;
      }
      out.push({ price: l.price / pd, qty: l.qty / qd });
    }
    return out;
  }

  /**
   * A rejected frame whose sequence_num was accepted (the envelope read before the bad event):
   * no gap will ever show it, so if it was level2, every book it named missed an update (the
   * other events of a multi-event frame are dropped with the bad one) and resyncs now.
   */
  private lostL2(text: string, reason: FeedRejectReason, problem: string): void {
    for (const ctx of this.parser.l2ProductsOf(text)) for (const st of (ctx as VenueProduct).members) st.sync.resync(`invalid update rejected (${reason}): ${problem}`);
  }

  /** False on a gap (counted, every book resynced, market_trades backfill asked for). */
  private checkSequence(seq: number): boolean {
    const last = this.lastSeq;
    this.lastSeq = seq;
    if (last < 0 || seq === last + 1) return true;
    this.stats.gaps++;
    const why = `sequence gap: expected sequence_num ${last + 1}, got ${seq}`;
    this.error(why);
    for (const p of this.products) p.sync.resync(why);
    this.opts.onSequenceGap();
    return false;
  }

  private onTrades(p: CoinbaseFrameParser, now: number): void {
    // a snapshot lists recent trades, newest first: emit in id order
    const rows = p.trades.length > 1 ? [...p.trades].sort((a, b) => a.tradeId - b.tradeId) : p.trades;
    // The first snapshot of a session is history from before we started: it only sets the id
    // baseline. Later snapshots (after a reconnect or a gap) backfill what we missed.
    const history = p.tradesSnapshot ? new Set(this.products.filter((x) => !x.tradesBaselined)) : undefined;
    if (history) for (const x of history) x.tradesBaselined = true;
    const sink = this.opts.sink();
    for (const r of rows) {
      for (const st of (r.ctx as VenueProduct).members) this.onTrade(st, r.tradeId, r.price, r.qty, r.side, r.ts, history, sink, now);
    }
  }

  private onTrade(st: FeedProduct, tradeId: number, venuePrice: number, venueQty: number, side: 'buy' | 'sell', ts: number, history: Set<FeedProduct> | undefined, sink: MarketEventSink | undefined, now: number): void {
    if (venuePrice % st.priceDiv !== 0 || venueQty % st.qtyDiv !== 0) {
      this.reject(st.symbol, 'off_grid', `trade ${tradeId} is off the grid of ${st.symbol} (tick ${st.scales.instrument.tickSize}, lot ${st.scales.instrument.lotSize})`);
      return;
    }
    const moved = st.trades.rebasedBack;
    const mark = st.trades.last;
    const v = st.trades.check(tradeId, Number.isFinite(ts) && ts > 0 ? ts : undefined);
    if (st.trades.rebasedBack !== moved) this.reject(st.symbol, 'trade_id_jump', `trade id mark ${mark} was ahead of the stream: later trades behind it followed from ${tradeId}`);
    if (v === TradeIdVerdict.DUPLICATE) {
      this.stats.duplicateTrades++;
      return;
    }
    if (v === TradeIdVerdict.JUMP) {
      this.reject(st.symbol, 'trade_id_jump', `trade id ${tradeId} is implausibly far ahead of ${st.trades.last}`);
      return;
    }
    if (history?.has(st)) {
      // On an intake worker the sink keeps the mark for a replacement (IntakeResume.trades): one
      // that starts before a live trade was emitted must not take its own first snapshot for
      // history too, or what printed while no worker ran is lost. An inline sink has no such method.
      (sink as Partial<IntakeTradeMarkSink> | undefined)?.onTradeMark?.(st.symbol, String(tradeId), ts);
      return;
    }
    const t = st.trade;
    t.ts = ts;
    t.recvTs = now;
    t.tradeId = String(tradeId);
    t.price = venuePrice / st.priceDiv;
    t.qty = venueQty / st.qtyDiv;
    t.side = side;
    this.stats.trades++;
    sink?.onMarketEvent(t);
  }

  private reject(symbol: string, reason: FeedRejectReason, detail: string): void {
    this.stats.errors++;
    this.reporter.reject(symbol, reason, detail);
  }

  private error(message: string): void {
    this.stats.errors++;
    this.opts.sink()?.onFeedError(this.component, `${this.opts.exchange}: ${message}`);
  }
}

/** The trades the engine took before this feed set the product's id mark, as if this feed had emitted them. */
function resumeTrades(p: FeedProduct, taken: readonly { tradeId: string; ts: number }[] | undefined): void {
  if (!Array.isArray(taken)) return;
  for (const t of taken) {
    // our own earlier worker's ids, but checked as the venue's are: one that is not a trade id is skipped
    const id = typeof t?.tradeId === 'string' && /^\d{1,16}$/.test(t.tradeId) ? Number(t.tradeId) : NaN;
    if (!Number.isSafeInteger(id)) continue;
    p.trades.check(id, typeof t.ts === 'number' && Number.isFinite(t.ts) && t.ts > 0 ? t.ts : undefined);
    p.tradesBaselined = true;
  }
}

/** The parser's product for one venue id: its members' own scales when they agree (always, alone). */
function venueProduct(venueId: string, members: FeedProduct[]): VenueProduct {
  // error texts and rejections of a frame name the product the venue named when it is configured
  const named = members.find((m) => m.symbol === venueId) ?? members[0]!;
  const price = commonGrid(members.map((m) => m.scales.instrument.priceScale));
  const qty = commonGrid(members.map((m) => m.scales.instrument.qtyScale));
  members.forEach((m, k) => {
    m.priceDiv = price.divs[k]!;
    m.qtyDiv = qty.divs[k]!;
  });
  const i = named.scales.instrument;
  const scales = price.same && qty.same ? named.scales : instrumentScales(defineInstrument({ exchange: i.exchange, symbol: venueId, base: i.base, quote: i.quote, tickSize: price.step, lotSize: qty.step }));
  return { symbol: named.symbol, venueId, scales, members, l2Frame: 0 };
}

/**
 * The coarsest grid every increment lies on (their greatest common divisor), and each
 * increment's size in steps of it: 0.01 and 0.05 -> 0.01 and [1, 5].
 */
function commonGrid(increments: readonly DecimalScale[]): { step: string; divs: number[]; same: boolean } {
  const e = Math.max(...increments.map((x) => x.exponent));
  const sizes = increments.map((x) => x.mantissa * 10n ** BigInt(e - x.exponent));
  let g = sizes[0]!;
  for (const x of sizes) {
    let a = g;
    let b = x;
    while (b !== 0n) [a, b] = [b, a % b];
    g = a;
  }
  const digits = g.toString().padStart(e + 1, '0');
  const step = e === 0 ? digits : `${digits.slice(0, digits.length - e)}.${digits.slice(digits.length - e)}`;
  return { step, divs: sizes.map((x) => Number(x / g)), same: sizes.every((x) => x === sizes[0]) };
}

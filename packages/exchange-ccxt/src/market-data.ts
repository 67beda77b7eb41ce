/**
 * Market data through ccxt pro: one `watchOrderBook` and one `watchTrades` loop per symbol.
 *
 * ccxt hands whole books (it does the venue's own snapshot + diff sync, gap checks and
 * checksums inside). The first book after a (re)subscribe becomes a book_snapshot; later books
 * are diffed against the previous one over the top `book_depth` levels and sent as a book_delta,
 * so the engine sees the usual snapshot-then-deltas stream (ccxt's nonce, where the venue has
 * one, becomes seq; a delta covers previous nonce + 1 .. nonce). Any watch error (ccxt's
 * InvalidNonce / ChecksumError, a closed socket) takes the book out of SYNCED until the next book
 * arrives, which is sent as a resync snapshot. Every price and amount is converted to integer
 * ticks/lots here, from ccxt's shortest decimal string of the number; off-grid or implausible
 * values are counted and the book waits for a clean one.
 */
import {
  DecimalConversionError,
  decimalToUnits,
  type BookLevel,
  type Clock,
  type FeedRejectReason,
  type Instrument,
  type Logger,
  type MarketDataClient,
  type MarketEventSink,
} from '@cwts/core';
import {
  BoundedIdSet,
  ExponentialBackoff,
  FEED_GUARD_DEFAULTS,
  FeedErrorReporter,
  TimerSet,
  TradeIdGuard,
  TradingStatusMarketData,
  TradeIdVerdict,
  levelsProblem,
  tradeProblem,
} from '@cwts/core/adapter-kit';
import type { CcxtBook, CcxtExchange, CcxtLevel, CcxtMarket, CcxtTrade } from './ccxt-exchange.js';
import { findMarket, instrumentFromMarket } from './instruments.js';
import type { CcxtOptions } from './options.js';
import { sendsTextOnly, venueShapeProblem } from './venue-shapes.js';

export interface CcxtMarketDataDeps {
  exchange: string;
  ccxt: () => Promise<CcxtExchange>;
  options: CcxtOptions;
  clock: Clock;
  logger?: Logger;
  random?: () => number;
}

/** Trade ids that are not small integers: exact dedupe over this many of the most recent. */
const RECENT_TRADE_IDS = 4096;

/** Keys by which venues' control replies (acks, pongs, errors) are shaped; such frames are not "unknown". */
const REPLY_KEYS = ['id', 'result', 'event', 'op', 'method', 'code', 'error', 'success'];

/** Per-symbol conversion state (exported for the frame harness). */
export interface SymbolState {
  instrument: Instrument;
  ccxtSymbol: string;
  /** The next good book is sent as a snapshot (first, or after an error). */
  fresh: boolean;
  everSynced: boolean;
  /** Out of SYNCED already announced since the last snapshot. */
  resyncAnnounced: boolean;
  seq: number;
  bids: Map<number, number>;
  asks: Map<number, number>;
  trades: TradeIdGuard;
  recentTradeIds: BoundedIdSet;
}

export class CcxtMarketData extends TradingStatusMarketData implements MarketDataClient {
  readonly exchange: string;
  readonly reporter: FeedErrorReporter;
  private readonly component: string;
  private readonly timers = new TimerSet();
  private readonly instruments = new Map<string, Instrument>();
  private readonly ccxtSymbols = new Map<string, string>();
  private readonly states = new Map<string, SymbolState>();
  private sink: MarketEventSink | undefined;
  private ex: CcxtExchange | undefined;
  private stopped = false;
  private loops: Promise<void>[] = [];
  /** Frame tap installed on the ccxt instance (once). */
  private tapped = false;

  constructor(private readonly deps: CcxtMarketDataDeps) {
    super({ exchange: deps.exchange, logger: deps.logger, now: () => deps.clock.now(), isKnownStatus: (w) => w === 'active' || w === 'inactive' });
    this.exchange = deps.exchange;
    this.component = `${deps.exchange}:market-data`;
    this.reporter = new FeedErrorReporter({ exchange: deps.exchange, component: this.component, sink: () => this.sink, now: () => deps.clock.now() });
  }

  instrument(symbol: string): Instrument | undefined {
    return this.instruments.get(symbol);
  }

  /** ccxt's unified symbol for one of our symbols (execution uses it). */
  ccxtSymbol(symbol: string): string | undefined {
    return this.ccxtSymbols.get(symbol);
  }

  pendingTimers(): number {
    return this.timers.size;
  }

  async loadInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    const ex = await this.deps.ccxt();
    const found = this.marketsOf(ex, await ex.loadMarkets(), symbols);
    const out: Instrument[] = [];
    for (const { m, i } of found) {
      this.instruments.set(i.symbol, i);
      this.ccxtSymbols.set(i.symbol, m.symbol);
      out.push(i);
    }
    this.trading.note(out);
    return out;
  }

  private marketsOf(ex: CcxtExchange, markets: Record<string, CcxtMarket>, symbols: readonly string[]): { m: CcxtMarket; i: Instrument }[] {
    return symbols.map((s) => {
      const m: CcxtMarket | undefined = findMarket(ex, markets, s);
      if (!m) throw new Error(`${this.exchange}: ccxt ${ex.id} has no market ${s}`);
      return { m, i: instrumentFromMarket(this.exchange, ex, m) };
    });
  }

  /** The markets re-read (ccxt loadMarkets(true)): the pair status is ccxt's `active` (docs/venues.md, "Pair trading status"). */
  protected async reloadInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    const ex = await this.deps.ccxt();
    return this.marketsOf(ex, await ex.loadMarkets(true), symbols).map((x) => x.i);
  }

  protected get instrumentRefreshMs(): number {
    return this.deps.options.instrument_refresh_ms;
  }

  async start(symbols: readonly string[], sink: MarketEventSink): Promise<void> {
    const ex = await this.deps.ccxt();
    this.attach(ex, sink);
    this.startTradingStatusRefresh(this.timers, symbols);
    for (const s of symbols) {
      let i = this.instruments.get(s);
      if (!i) [i] = await this.loadInstruments([s]);
      const st = this.track(i!, this.ccxtSymbols.get(i!.symbol)!);
      sink.onFeedStatus({ type: 'feed_status', exchange: this.exchange, symbol: i!.symbol, state: 'connecting', reason: `subscribing through ccxt ${ex.id}`, ts: this.deps.clock.now() });
      this.loops.push(this.bookLoop(ex, st), this.tradeLoop(ex, st));
    }
  }

  /** The I/O-free half of start(): the sink and the frame tap on `ex` (the frame harness drives it with no socket). */
  attach(ex: CcxtExchange, sink: MarketEventSink): void {
    this.sink = sink;
    this.stopped = false;
    this.timers.reopen();
    this.ex = ex;
    this.tap(ex);
  }

  /** Fresh conversion state for one instrument (ccxt's unified symbol alongside). */
  track(instrument: Instrument, ccxtSymbol: string): SymbolState {
    this.instruments.set(instrument.symbol, instrument);
    this.ccxtSymbols.set(instrument.symbol, ccxtSymbol);
    const st: SymbolState = {
      instrument, ccxtSymbol, fresh: true, everSynced: false, resyncAnnounced: false, seq: 0,
      bids: new Map(), asks: new Map(), trades: new TradeIdGuard(), recentTradeIds: new BoundedIdSet(RECENT_TRADE_IDS),
    };
    this.states.set(instrument.symbol, st);
    return st;
  }

  /** A failed watchOrderBook: out of SYNCED until the next book, sent as a resync snapshot. */
  onBookWatchError(st: SymbolState, err: unknown): void {
    const reason = watchErrorReason(err);
    // a frame ccxt refused for continuity is a rejected input, counted like our own gap checks
    if (reason.startsWith('sequence gap')) this.reporter.reject(st.instrument.symbol, 'seq_jump', reason.slice(0, 120));
    this.outOfSync(st, reason);
  }

  onTradeWatchError(st: SymbolState, err: unknown): void {
    this.sink?.onFeedError(this.component, `${this.exchange} ${st.instrument.symbol} trades: ${watchErrorReason(err)}`);
  }

  /**
   * The engine's own book of `symbol` found what this feed let through (core API 1.10): the next
   * book ccxt hands goes out as a resync snapshot.
   */
  requestResync(symbol: string, reason: string): void {
    const st = this.states.get(symbol);
    if (st !== undefined && !this.stopped) this.outOfSync(st, `engine asked for a snapshot: ${reason}`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timers.close();
    await this.ex?.close().catch(() => {});
    await Promise.allSettled(this.loops);
    this.loops = [];
    for (const st of this.states.values()) {
      this.sink?.onFeedStatus({ type: 'feed_status', exchange: this.exchange, symbol: st.instrument.symbol, state: 'stopped', reason: 'stopped', ts: this.deps.clock.now() });
    }
    this.states.clear();
    this.sink = undefined;
  }

  /**
   * Counts frames ccxt cannot use. ccxt passes a frame that is not JSON on as a string, and
   * drops frames its handler does not route without a word; here a frame is "unknown" when it
   * resolved no watch, has none of the keys venues shape replies with, and names no subscribed
   * market (a heuristic: ccxt offers no routing verdict).
   */
  private tap(ex: CcxtExchange): void {
    if (this.tapped) return;
    this.tapped = true;
    if (sendsTextOnly(ex.id)) this.countBinaryFrames(ex);
    const handle = ex.handleMessage.bind(ex);
    ex.handleMessage = (client: unknown, message: unknown): unknown => {
      if (this.stopped) return undefined;
      if (message === null || typeof message !== 'object') {
        this.reporter.reject('', 'malformed', `not JSON: ${String(message).slice(0, 60)}`);
        return undefined;
      }
      const shape = venueShapeProblem(ex.id, message);
      if (shape !== undefined) {
        this.reporter.reject('', 'malformed', `frame shape: ${shape}`.slice(0, 120));
        return undefined;
      }
      // replies (acks, status, errors) carry version strings and the like, and no market data
      const isReply = !Array.isArray(message) && REPLY_KEYS.some((k) => k in (message as object));
      const bad = isReply ? undefined : numberProblem(message);
      if (bad !== undefined) {
        this.reporter.reject('', 'malformed', `not a plain decimal: ${JSON.stringify(bad).slice(0, 40)}`);
        return undefined;
      }
      const c = client as { resolve?: (...a: unknown[]) => unknown; reject?: (...a: unknown[]) => unknown };
      // "routed": ccxt settled a watch of one of our symbols (or failed the whole connection).
      let routed = false;
      const ours = (hash: unknown): boolean => hash === undefined || (typeof hash === 'string' && this.isOurHash(hash));
      const resolve = c.resolve;
      const reject = c.reject;
      if (resolve) c.resolve = (...a: unknown[]) => ((routed ||= ours(a[1])), resolve.apply(c, a));
      if (reject) c.reject = (...a: unknown[]) => ((routed ||= ours(a[1])), reject.apply(c, a));
      try {
        return handle(client, message);
      } finally {
        if (resolve) c.resolve = resolve;
        if (reject) c.reject = reject;
        if (!routed && !(!Array.isArray(message) && REPLY_KEYS.some((k) => k in (message as object))) && !this.heldBeforeSync(ex, message)) {
          this.reporter.reject('', 'unknown_message', `not routed by ccxt: ${JSON.stringify(message).slice(0, 60)}`);
        }
      }
    };
  }

  /** Every ccxt WebSocket client of `ex` (now and later) counts and drops binary frames. */
  private countBinaryFrames(ex: CcxtExchange): void {
    type WsClient = { onMessage(ev: { data: unknown }): void; cwtsBinaryTap?: true };
    const e = ex as unknown as { client(url: string): WsClient; clients?: Record<string, WsClient> };
    const wrap = (c: WsClient): WsClient => {
      if (c.cwtsBinaryTap) return c;
      c.cwtsBinaryTap = true;
      const onMessage = c.onMessage.bind(c);
      c.onMessage = (ev) => {
        if (this.stopped) return;
        if (typeof ev?.data !== 'string') {
          const n = (ev?.data as { byteLength?: number } | undefined)?.byteLength ?? 0;
          this.reporter.reject('', 'binary_frame', `binary frame of ${n} bytes`);
          return;
        }
        onMessage(ev);
      };
      return c;
    };
    for (const c of Object.values(e.clients ?? {})) wrap(c);
    const client = e.client.bind(ex);
    e.client = (url: string) => wrap(client(url));
  }

  /** A ccxt message hash ("orderbook::BTC/USDT", "trade::BTC/USDT") for one of our symbols. */
  private isOurHash(hash: string): boolean {
    for (const st of this.states.values()) if (hash.endsWith(`::${st.ccxtSymbol}`)) return true;
    return false;
  }

  /**
   * ccxt holds a venue's diffs without resolving anything while it fetches the snapshot (and
   * drops diffs older than it): a frame naming a subscribed market is not "unknown" while that
   * market's ccxt book is not yet synced.
   */
  private heldBeforeSync(ex: CcxtExchange, message: object): boolean {
    if (!this.namesSubscribed(message)) return false;
    const books = (ex as unknown as { orderbooks?: Record<string, { nonce?: unknown } | undefined> }).orderbooks ?? {};
    for (const st of this.states.values()) if (books[st.ccxtSymbol]?.nonce === undefined) return true;
    return false;
  }

  private namesSubscribed(message: object): boolean {
    const text = JSON.stringify(message);
    for (const st of this.states.values()) {
      const id = st.instrument.symbol;
      if (text.includes(id) || text.includes(id.toLowerCase()) || text.includes(st.ccxtSymbol)) return true;
    }
    return false;
  }

  private async bookLoop(ex: CcxtExchange, st: SymbolState): Promise<void> {
    const backoff = new ExponentialBackoff({ initialMs: this.deps.options.reconnect_initial_ms, maxMs: this.deps.options.reconnect_max_ms, random: this.deps.random });
    while (!this.stopped) {
      let book: CcxtBook;
      try {
        book = await ex.watchOrderBook(st.ccxtSymbol);
      } catch (err) {
        if (this.stopped) return;
        this.onBookWatchError(st, err);
        await this.timers.sleep(backoff.next()).catch(() => {});
        continue;
      }
      if (this.stopped) return;
      backoff.reset();
      this.onBook(ex, st, book);
    }
  }

  /** One book from ccxt -> a snapshot (first after a sync loss) or the delta against the last one. */
  onBook(ex: Pick<CcxtExchange, 'numberToString'>, st: SymbolState, book: CcxtBook): void {
    const sink = this.sink;
    if (!sink) return;
    const i = st.instrument;
    const depth = this.deps.options.book_depth;
    let bids: BookLevel[];
    let asks: BookLevel[];
    try {
      bids = toLevels(ex, i, book.bids, depth);
      asks = toLevels(ex, i, book.asks, depth);
    } catch (err) {
      this.badBook(st, err instanceof DecimalConversionError ? 'off_grid' : 'malformed', (err as Error).message);
      return;
    }
    const problem = levelsProblem(bids, false) ?? levelsProblem(asks, false);
    if (problem !== undefined) {
      this.badBook(st, problem, 'a level ccxt handed is not acceptable');
      return;
    }
    if (bids.length > 0 && asks.length > 0 && bids[0]!.price >= asks[0]!.price) {
      this.badBook(st, 'bad_snapshot', `crossed: bid ${bids[0]!.price} >= ask ${asks[0]!.price} ticks`);
      return;
    }
    const nonce = typeof book.nonce === 'number' && Number.isSafeInteger(book.nonce) && book.nonce > 0 ? book.nonce : 0;
    // ccxt checks continuity (U = previous u + 1) but not size: an update id far ahead of the
    // book's would make every later frame a "gap" or, worse, be taken as the new sequence.
    if (!st.fresh && st.seq > 0 && nonce - st.seq > FEED_GUARD_DEFAULTS.maxSeqJump) {
      this.badBook(st, 'seq_jump', `update id ${nonce} after ${st.seq}`);
      return;
    }
    const now = this.deps.clock.now();
    const ts = typeof book.timestamp === 'number' && Number.isFinite(book.timestamp) ? book.timestamp : now;
    // A nonce below the last one sent: the venue restarted its update ids (ccxt took its new
    // snapshot as the book). A delta would leave the engine's book at the old run's id, above
    // every later update of the new run (each dropped as old): the book goes out again as a
    // resync snapshot at the new id.
    if (nonce > 0 && nonce < st.seq) st.fresh = true;
    if (st.fresh) {
      st.fresh = false;
      st.resyncAnnounced = false;
      st.seq = nonce;
      fill(st.bids, bids);
      fill(st.asks, asks);
      sink.onMarketEvent({ type: 'book_snapshot', exchange: this.exchange, symbol: i.symbol, ts, recvTs: now, seq: nonce, bids, asks, reason: st.everSynced ? 'resync' : 'initial' });
      st.everSynced = true;
      return;
    }
    const dBids = diff(st.bids, bids);
    const dAsks = diff(st.asks, asks);
    // A nonce that does not advance cannot be sequenced; the delta goes unsequenced (seq 0).
    const sequenced = nonce > st.seq && st.seq > 0;
    const firstSeq = sequenced ? st.seq + 1 : 0;
    const seq = sequenced ? nonce : 0;
    // Nothing changed in the top levels: nothing is sent, and seq stays at the last one sent so
    // the next delta covers these ids too (advancing it here showed the engine a gap).
    if (dBids.length === 0 && dAsks.length === 0) return;
    if (nonce > 0) st.seq = nonce;
    sink.onMarketEvent({ type: 'book_delta', exchange: this.exchange, symbol: i.symbol, ts, recvTs: now, firstSeq, seq, bids: dBids, asks: dAsks });
  }

  private badBook(st: SymbolState, reason: FeedRejectReason, detail: string): void {
    this.reporter.reject(st.instrument.symbol, reason, detail);
    this.outOfSync(st, `invalid book from ccxt (${reason}); waiting for a clean one`);
  }

  /** The book leaves SYNCED (once per loss) and the next good book is a resync snapshot. */
  private outOfSync(st: SymbolState, reason: string): void {
    st.fresh = true;
    this.sink?.onFeedError(this.component, `${this.exchange} ${st.instrument.symbol}: ${reason}`);
    if (st.resyncAnnounced) return;
    st.resyncAnnounced = true;
    this.sink?.onFeedStatus({ type: 'feed_status', exchange: this.exchange, symbol: st.instrument.symbol, state: 'resyncing', reason, ts: this.deps.clock.now() });
  }

  private async tradeLoop(ex: CcxtExchange, st: SymbolState): Promise<void> {
    const backoff = new ExponentialBackoff({ initialMs: this.deps.options.reconnect_initial_ms, maxMs: this.deps.options.reconnect_max_ms, random: this.deps.random });
    while (!this.stopped) {
      let trades: CcxtTrade[];
      try {
        trades = await ex.watchTrades(st.ccxtSymbol);
      } catch (err) {
        if (this.stopped) return;
        this.onTradeWatchError(st, err);
        await this.timers.sleep(backoff.next()).catch(() => {});
        continue;
      }
      if (this.stopped) return;
      backoff.reset();
      for (const t of trades) this.onTrade(ex, st, t);
    }
  }

  onTrade(ex: Pick<CcxtExchange, 'numberToString'>, st: SymbolState, t: CcxtTrade): void {
    const sink = this.sink;
    if (!sink) return;
    const i = st.instrument;
    const id = typeof t.id === 'string' || typeof t.id === 'number' ? String(t.id) : '';
    if (id === '') return this.reporter.reject(i.symbol, 'malformed', 'trade without an id');
    // leading zeros dropped, so that "7" and "007" are one id on either path below
    const digits = /^\d+$/.test(id) ? id.replace(/^0+(?=\d)/, '') : undefined;
    if (digits === undefined && /^-?[\d.eE+]+$/.test(id)) {
      // a negative, fractional or exponent form (-1, 1.5, 1e300) is never a real trade id, and
      // taken as a number it would poison or bypass the id guard
      return this.reporter.reject(i.symbol, 'malformed', `trade id ${id}`);
    }
    if (digits !== undefined && digits.length <= 15) {
      const moved = st.trades.rebasedBack;
      const mark = st.trades.last;
      const v = st.trades.check(Number(digits), typeof t.timestamp === 'number' && Number.isFinite(t.timestamp) ? t.timestamp : undefined);
      if (st.trades.rebasedBack !== moved) this.reporter.reject(i.symbol, 'trade_id_jump', `trade id mark ${mark} was ahead of the stream: later trades behind it followed from ${id}`);
      if (v === TradeIdVerdict.DUPLICATE) return;
      if (v === TradeIdVerdict.JUMP) return this.reporter.reject(i.symbol, 'trade_id_jump', `trade id ${id} after ${st.trades.last}`);
    } else {
      // Ids that are not small integers, exact dedupe over a bounded window of recent ids: text
      // ids, and numeric ids past 15 digits (Bybit spot's and Bitget's 19-digit snowflake ids),
      // which are real trades but beyond a double's exact integers, so the id guard cannot order them.
      if (!st.recentTradeIds.add(digits ?? id)) return;
    }
    let price: number;
    let qty: number;
    try {
      price = decimalToUnits(decimalOf(ex, t.price), i.priceScale, `price of ${i.symbol}`);
      qty = decimalToUnits(decimalOf(ex, t.amount), i.qtyScale, `quantity of ${i.symbol}`);
    } catch (err) {
      return this.reporter.reject(i.symbol, err instanceof DecimalConversionError ? 'off_grid' : 'malformed', (err as Error).message);
    }
    const problem = tradeProblem(price, qty);
    if (problem !== undefined) return this.reporter.reject(i.symbol, problem, `trade ${id}`);
    if (t.side !== 'buy' && t.side !== 'sell') return this.reporter.reject(i.symbol, 'malformed', `trade ${id} has no aggressor side`);
    const now = this.deps.clock.now();
    sink.onMarketEvent({ type: 'trade', exchange: this.exchange, symbol: i.symbol, ts: typeof t.timestamp === 'number' ? t.timestamp : now, recvTs: now, tradeId: id, price, qty, side: t.side });
  }
}

/** The status reason for a failed watch: gaps and checksum faults named as such, the rest are reconnects. */
export function watchErrorReason(err: unknown): string {
  const e = err as { name?: string; constructor?: { name?: string }; message?: string };
  const name = e?.constructor?.name ?? e?.name ?? 'Error';
  const msg = String(e?.message ?? err).slice(0, 200);
  if (/InvalidNonce/.test(name) || /nonce/i.test(msg)) return `sequence gap found by ccxt (${name}: ${msg}); resubscribing`;
  // ccxt raises ChecksumError both for a venue checksum and for its own update-id continuity
  // check (Binance has no checksum: a U/u gap surfaces as ChecksumError), so it is named as both.
  if (/Checksum/i.test(name) || /checksum/i.test(msg)) return `sequence gap or checksum mismatch found by ccxt (${name}: ${msg}); resubscribing`;
  return `reconnecting after ${name}: ${msg}`;
}

const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;
/** A string that parseFloat would take for a number (or NaN/Infinity) but that is no plain decimal. */
function looksNumericButIsNot(v: string): boolean {
  if (PLAIN_DECIMAL.test(v)) return false;
  if (/^\s*[+-]?(NaN|Infinity)\s*$/i.test(v)) return true;
  return /^[\s+\-]*\.?\d/.test(v) && /^[\s\d.eE+\-_xX]*$/.test(v) && !/^\d{4}-\d\d-\d\d/.test(v);
}

/**
 * ccxt reads venue numbers with parseFloat, which takes "1.2.3" as 1.2, " 1" as 1, "1_000" as 1
 * and "1e400" as Infinity, so a bad number would reach our conversion as a plausible float.
 * Frames are checked before ccxt sees them: every string in a book level ([price, qty, ...])
 * must be a plain decimal, and no other string may be a number in disguise. Returns the
 * offending value, or undefined.
 */
function numberProblem(v: unknown, depth = 0): string | undefined {
  if (depth > 32) return '(nested too deep)';
  if (Array.isArray(v)) {
    const level = v.length >= 2 && v.length <= 4 && typeof v[0] === 'string' && typeof v[1] === 'string';
    for (const x of v) {
      if (typeof x === 'string') {
        if (level ? !PLAIN_DECIMAL.test(x) : looksNumericButIsNot(x)) return x;
      } else if (x !== null && typeof x === 'object') {
        const p = numberProblem(x, depth + 1);
        if (p !== undefined) return p;
      }
    }
    return undefined;
  }
  if (v !== null && typeof v === 'object') {
    for (const x of Object.values(v)) {
      if (typeof x === 'string') {
        if (looksNumericButIsNot(x)) return x;
      } else if (x !== null && typeof x === 'object') {
        const p = numberProblem(x, depth + 1);
        if (p !== undefined) return p;
      }
    }
  }
  return undefined;
}

function decimalOf(ex: Pick<CcxtExchange, 'numberToString'>, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return ex.numberToString(v);
  throw new DecimalConversionError(`not a number: ${String(v)}`);
}

function toLevels(ex: Pick<CcxtExchange, 'numberToString'>, i: Instrument, side: readonly CcxtLevel[], depth: number): BookLevel[] {
  if (!Array.isArray(side)) throw new Error('book side is not an array');
  const n = Math.min(depth, side.length);
  const out: BookLevel[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const l = side[k]!;
    out[k] = { price: decimalToUnits(decimalOf(ex, l[0]), i.priceScale, `price of ${i.symbol}`), qty: decimalToUnits(decimalOf(ex, l[1]), i.qtyScale, `quantity of ${i.symbol}`) };
  }
  return out;
}

function fill(m: Map<number, number>, levels: readonly BookLevel[]): void {
  m.clear();
  for (const l of levels) m.set(l.price, l.qty);
}

/** Changes from `prev` to `next` (absolute quantities; 0 removes) and `prev` becomes `next`. */
function diff(prev: Map<number, number>, next: readonly BookLevel[]): BookLevel[] {
  const out: BookLevel[] = [];
  const seen = new Set<number>();
  for (const l of next) {
    seen.add(l.price);
    if (prev.get(l.price) !== l.qty) out.push(l);
  }
  for (const p of prev.keys()) if (!seen.has(p)) out.push({ price: p, qty: 0 });
  fill(prev, next);
  return out;
}

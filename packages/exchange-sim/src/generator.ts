/**
 * Deterministic synthetic market: per symbol a random-walk mid (ticks) with Markov-switching
 * volatility regimes, an L2 book of N levels per side around it, heavy-tailed trades, whale
 * trades and liquidation cascades. Same seed and symbols -> per symbol the same events (contents
 * and order), whatever the wall clock: what a step generates depends on its step count, never
 * on time. Timestamps come from a virtual timeline (startTs + k * 1000 / events_per_second)
 * until skipTo moves it on: the venue does that when its market is more than
 * MAX_MARKET_BACKLOG_MS behind the wall clock in timers mode, so there the timestamps (and
 * episode times) from the first drop on, and the symbols' interleaving at a drop, depend on the
 * host's timing. Manual drive (the owner's clock and calls) reproduces everything.
 */
import { ticksToPrice, type BookLevel, type FeedStatusEvent, type Instrument, type MarketEvent, type Side } from '@cwts/core';
import { L2Book } from '@cwts/core/microstructure';
import { Prng } from './prng.js';
import { REGIME_NAMES, simInstrument, simStartPrice, type RegimeName, type SimOptions } from './options.js';

export type SimEvent = MarketEvent | FeedStatusEvent;
export type BookSide = 'bid' | 'ask';

/** Side code of core's L2Book numeric APIs (BID 0, ASK 1). */
const code = (side: BookSide): 0 | 1 => (side === 'bid' ? 0 : 1);

/** Levels of one side of an L2Book best-first, as fresh BookLevel objects (at most `limit`). */
export function bookLevels(book: L2Book, side: BookSide, limit = Infinity): BookLevel[] {
  const out: BookLevel[] = [];
  book.topLevels(side, Math.min(limit, book.levelCount(side)), out);
  return out;
}

/** Best price of one side (bid: highest, ask: lowest), undefined when the side is empty. */
export function bestOf(book: L2Book, side: BookSide): number | undefined {
  return side === 'bid' ? book.bestBid() : book.bestAsk();
}

/** Ground truth of an injected episode, for measuring detector precision and recall. */
export interface Episode {
  kind: 'whale' | 'cascade';
  symbol: string;
  /** Venue timestamps (ms) of the first and last event of the episode, inclusive. */
  startTs: number;
  endTs: number;
  /** Whale: aggressor side of the trade. Cascade: side of the forced orders ('sell' = longs liquidated, price falls). */
  side: Side;
  /** Whale: size of the whale trade (lots). Cascade: total liquidated lots. */
  qty: number;
}

export interface SyntheticMarketConfig {
  exchange: string;
  symbols: readonly string[];
  /** Resolved options (see resolveSimOptions). */
  options: SimOptions;
  /** Start of the virtual timeline, epoch ms (the injected Clock's now() at start). */
  startTs: number;
  /** Told when a symbol's configured start price is raised to the mid floor (the venue logs it at warn). */
  onWarning?: (symbol: string, message: string) => void;
}

interface Cascade {
  side: Side;
  remaining: number;
  driftPerStep: number;
  episode: Episode;
}

class SymbolState {
  readonly book: L2Book;
  regime: RegimeName = 'normal';
  fairMid: number;
  seq = 0;
  k = 0;
  nextTs: number;
  tradeSeq = 0;
  readonly gap: number;
  /** Lowest mid (ticks): wide enough that every regime's bid touch stays above zero. */
  readonly midFloor: number;
  readonly typicalTrade: number;
  readonly typicalLevel: number;
  cascade: Cascade | undefined;

  constructor(
    readonly symbol: string,
    readonly index: number,
    readonly instrument: Instrument,
    readonly rng: Prng,
    startMidTicks: number,
    spreadFloor: number,
    opts: SimOptions,
    startTs: number,
  ) {
    this.book = new L2Book(instrument.exchange, symbol, { initialLevels: Math.max(16, opts.levels * 2) });
    this.fairMid = startMidTicks;
    this.nextTs = startTs;
    this.gap = Math.max(1, Math.round((startMidTicks * opts.levelSpacingBps) / 1e4));
    this.midFloor = Math.max(spreadFloor, 4 * this.gap);
    const tick = Number(instrument.tickSize);
    const lot = Number(instrument.lotSize);
    const price = startMidTicks * tick;
    // A typical trade is worth about 2,000 quote units; a typical level about 8 trades.
    this.typicalTrade = Math.max(1, Math.round(2000 / (price * lot)));
    this.typicalLevel = this.typicalTrade * 8;
  }
}

const TRADE_PROBABILITY = 0.3;
const REFILL_TOUCH = 0.7;
const REFILL_DEEP = 0.25;
const REFILL_THIN = 0.08;

export class SyntheticMarket {
  readonly exchange: string;
  readonly startTs: number;
  readonly options: SimOptions;
  /** Ground truth: every whale and cascade injected so far, in start order. */
  readonly episodes: Episode[] = [];
  private readonly states: SymbolState[];
  private readonly bySymbol = new Map<string, SymbolState>();
  private emit: (ev: SimEvent) => void = () => {};
  private begun = false;

  constructor(cfg: SyntheticMarketConfig) {
    this.exchange = cfg.exchange;
    this.startTs = cfg.startTs;
    this.options = cfg.options;
    // The bid touch is mid - spread/2 in whichever regime the market is in, so the mid floor
    // must cover the widest spread of all of them (a calm or normal regime may be configured
    // wider than the volatile one), or the book quotes bids at 0 ticks and below.
    let widest = 1;
    for (const r of REGIME_NAMES) widest = Math.max(widest, cfg.options.regimes[r].spreadTicks);
    const spreadFloor = Math.max(10, 4 * widest);
    this.states = cfg.symbols.map((symbol, index) => {
      const instrument = simInstrument(cfg.exchange, symbol, cfg.options);
      const tick = Number(instrument.tickSize);
      const configured = simStartPrice(symbol, cfg.options);
      const configuredTicks = Math.round(Number(configured) / tick);
      const startTicks = Math.max(spreadFloor, configuredTicks);
      if (startTicks !== configuredTicks) {
        cfg.onWarning?.(
          symbol,
          `sim: start price ${configured} of ${symbol} is ${configuredTicks} ticks of ${instrument.tickSize}, below the synthetic mid's floor of ${spreadFloor} ticks ` +
            `(at least 10 ticks, and 4 x the widest regime spread_ticks, ${widest}, so that no bid is quoted at or below 0): the market starts at ${ticksToPrice(instrument, startTicks)}`,
        );
      }
      const st = new SymbolState(symbol, index, instrument, new Prng(cfg.options.seed, symbol), startTicks, spreadFloor, cfg.options, cfg.startTs);
      this.bySymbol.set(symbol, st);
      return st;
    });
  }

  get symbols(): string[] {
    return this.states.map((s) => s.symbol);
  }

  instruments(): Instrument[] {
    return this.states.map((s) => s.instrument);
  }

  instrument(symbol: string): Instrument | undefined {
    return this.bySymbol.get(symbol)?.instrument;
  }

  /** The generator's live book for a symbol (paper execution takes liquidity from it). */
  book(symbol: string): L2Book | undefined {
    return this.bySymbol.get(symbol)?.book;
  }

  /** Current regime of a symbol (for tests and dashboards). */
  regime(symbol: string): RegimeName | undefined {
    return this.bySymbol.get(symbol)?.regime;
  }

  /** Where events go; events are fresh objects a consumer may keep. */
  attach(emit: (ev: SimEvent) => void): void {
    this.emit = emit;
  }

  /** Emits the initial book snapshot and a 'synced' feed status per symbol (at startTs). */
  begin(): void {
    if (this.begun) return;
    this.begun = true;
    for (const st of this.states) {
      this.reshape(st, undefined, true);
      st.seq = 1;
      st.book.endSnapshot(st.seq, this.startTs);
      this.emit({
        type: 'book_snapshot',
        exchange: this.exchange,
        symbol: st.symbol,
        ts: this.startTs,
        recvTs: this.startTs,
        seq: st.seq,
        bids: bookLevels(st.book, 'bid'),
        asks: bookLevels(st.book, 'ask'),
        reason: 'initial',
      });
      this.emit({ type: 'feed_status', exchange: this.exchange, symbol: st.symbol, state: 'synced', reason: 'initial snapshot', ts: this.startTs });
      st.k = 1;
      st.nextTs = this.tsOf(1);
    }
  }

  private tsOf(k: number): number {
    return this.startTs + Math.floor((k * 1000) / this.options.eventsPerSecond);
  }

  /** Timestamp of the next step (Infinity when there are no symbols). */
  nextTs(): number {
    if (!this.begun) return this.startTs;
    let best = Infinity;
    for (const st of this.states) if (st.nextTs < best) best = st.nextTs;
    return best;
  }

  /** Runs the next step (the symbol whose next timestamp is earliest; ties by symbol order). */
  step(): void {
    if (!this.begun) {
      this.begin();
      return;
    }
    let next: SymbolState | undefined;
    for (const st of this.states) if (next === undefined || st.nextTs < next.nextTs) next = st;
    if (!next) return;
    const ts = next.nextTs;
    this.stepSymbol(next, ts);
    next.k++;
    next.nextTs = this.tsOf(next.k);
  }

  /** Runs every step with a timestamp <= untilTs (virtual mode, no timers); returns the step count. */
  generate(untilTs: number, maxSteps = Infinity): number {
    let n = 0;
    if (!this.begun) {
      this.begin();
      n++;
    }
    while (n < maxSteps && this.nextTs() <= untilTs) {
      this.step();
      n++;
    }
    return n;
  }

  /**
   * Moves every symbol's timeline on to its first step at or after `ts`, without running the
   * steps in between (the venue dropping a backlog it cannot work off, SimVenue.advanceTo). Books,
   * regimes and seqs stay as they are: the skipped interval is a quiet one, and the next delta
   * follows the last one published without a seq gap. Returns the number of steps skipped.
   */
  skipTo(ts: number): number {
    if (!this.begun) return 0;
    const eps = this.options.eventsPerSecond;
    let skipped = 0;
    for (const st of this.states) {
      if (st.nextTs >= ts) continue;
      // the first k with tsOf(k) >= ts; the estimate is corrected for floating-point rounding
      let k = Math.max(st.k, Math.ceil(((ts - this.startTs) * eps) / 1000));
      while (this.tsOf(k) < ts) k++;
      while (k > st.k && this.tsOf(k - 1) >= ts) k--;
      skipped += k - st.k;
      st.k = k;
      st.nextTs = this.tsOf(k);
    }
    return skipped;
  }

  /**
   * Publishes a book change made outside the generator (paper execution taking liquidity):
   * the levels must already be applied to `book(symbol)`.
   */
  publishDelta(symbol: string, ts: number, bids: BookLevel[], asks: BookLevel[]): void {
    const st = this.bySymbol.get(symbol);
    if (!st || (bids.length === 0 && asks.length === 0)) return;
    st.seq++;
    st.book.endUpdate(st.seq, ts);
    this.emit({ type: 'book_delta', exchange: this.exchange, symbol, ts, recvTs: ts, firstSeq: st.seq, seq: st.seq, bids, asks });
  }

  // ---------------------------------------------------------------------------------------------

  private stepSymbol(st: SymbolState, ts: number): void {
    const { rng } = st;
    const opts = this.options;
    const eps = opts.eventsPerSecond;
    const changes: { bid: Map<number, number>; ask: Map<number, number> } = { bid: new Map(), ask: new Map() };
    const out: SimEvent[] = [];

    // 1. regime (Markov switching: calm <-> normal <-> volatile)
    const reg = opts.regimes[st.regime];
    if (rng.chance(1 / (reg.meanDurationS * eps))) {
      st.regime = st.regime === 'normal' ? (rng.chance(0.6) ? 'calm' : 'volatile') : 'normal';
    }

    // 2. episodes
    let whale: Side | undefined;
    if (!st.cascade) {
      if (rng.chance(opts.cascadeProbability)) {
        const side: Side = rng.chance(0.5) ? 'sell' : 'buy';
        const steps = Math.max(10, Math.round(eps * (1 + 3 * rng.float())));
        const moveTicks = st.fairMid * ((30 + 50 * rng.float()) / 1e4);
        const episode: Episode = { kind: 'cascade', symbol: st.symbol, startTs: ts, endTs: ts, side, qty: 0 };
        this.episodes.push(episode);
        st.cascade = { side, remaining: steps, driftPerStep: (side === 'sell' ? -moveTicks : moveTicks) / steps, episode };
        st.regime = 'volatile';
      } else if (rng.chance(opts.whaleProbability)) {
        whale = rng.chance(0.5) ? 'buy' : 'sell';
      }
    }

    // 3. mid
    const sigma = (st.fairMid * opts.regimes[st.regime].volatilityBps) / 1e4 / Math.sqrt(eps);
    st.fairMid += sigma * rng.normal() + (st.cascade ? st.cascade.driftPerStep : 0);
    if (st.fairMid < st.midFloor) st.fairMid = st.midFloor;

    // 4. flow
    const cascade = st.cascade;
    if (cascade) {
      const hit: BookSide = cascade.side === 'sell' ? 'bid' : 'ask';
      if (rng.chance(0.5)) {
        const qty = this.heavySize(st, 3);
        const price = bestOf(st.book, hit) ?? Math.round(st.fairMid);
        out.push({ type: 'liquidation', exchange: this.exchange, symbol: st.symbol, ts, recvTs: ts, side: cascade.side, price, qty });
        cascade.episode.qty += qty;
        this.take(st, ts, cascade.side, qty, changes, out);
      } else {
        this.take(st, ts, cascade.side, this.heavySize(st, 1.5), changes, out);
      }
      cascade.episode.endTs = ts;
      if (--cascade.remaining <= 0) st.cascade = undefined;
    } else if (whale) {
      const hit: BookSide = whale === 'buy' ? 'ask' : 'bid';
      const qty = Math.max(1, Math.round(st.typicalTrade * opts.whaleMultiplier * (1 + rng.float())));
      const price = bestOf(st.book, hit) ?? Math.round(st.fairMid);
      out.push(this.trade(st, ts, price, qty, whale));
      this.episodes.push({ kind: 'whale', symbol: st.symbol, startTs: ts, endTs: ts, side: whale, qty });
      // The whale ate the touch and the next levels (hidden liquidity absorbed the rest).
      for (const l of bookLevels(st.book, hit, 3)) {
        st.book.applyLevel(code(hit), l.price, 0);
        changes[hit].set(l.price, 0);
      }
      st.fairMid += (whale === 'buy' ? 2 : -2) * st.gap;
    } else if (rng.chance(TRADE_PROBABILITY)) {
      const side: Side = rng.chance(0.5) ? 'buy' : 'sell';
      this.take(st, ts, side, this.heavySize(st, 1), changes, out);
    }

    // 5. book follows the mid, refills, and random size changes
    this.reshape(st, changes, false);
    this.perturb(st, changes);

    for (const ev of out) this.emit(ev);
    if (changes.bid.size > 0 || changes.ask.size > 0) {
      st.seq++;
      st.book.endUpdate(st.seq, ts);
      this.emit({
        type: 'book_delta',
        exchange: this.exchange,
        symbol: st.symbol,
        ts,
        recvTs: ts,
        firstSeq: st.seq,
        seq: st.seq,
        bids: toLevels(changes.bid, 'bid'),
        asks: toLevels(changes.ask, 'ask'),
      });
    }
  }

  /** Heavy-tailed trade size: lognormal body with a Pareto tail, kept below whale sizes. */
  private heavySize(st: SymbolState, scale: number): number {
    const { rng } = st;
    const typ = st.typicalTrade * scale;
    const raw = rng.chance(0.85) ? rng.lognormal(Math.log(typ) - 0.32, 0.8) : rng.pareto(typ, 1.3);
    const cap = st.typicalTrade * this.options.whaleMultiplier * 0.4;
    return Math.max(1, Math.round(Math.min(raw, cap)));
  }

  private trade(st: SymbolState, ts: number, price: number, qty: number, side: Side): MarketEvent {
    return { type: 'trade', exchange: this.exchange, symbol: st.symbol, ts, recvTs: ts, tradeId: `${st.symbol}-${++st.tradeSeq}`, price, qty, side };
  }

  /** An aggressive order of `qty` walks at most half the opposite side, one trade per level. */
  private take(st: SymbolState, ts: number, side: Side, qty: number, changes: Record<BookSide, Map<number, number>>, out: SimEvent[]): void {
    const hit: BookSide = side === 'buy' ? 'ask' : 'bid';
    const levels = bookLevels(st.book, hit, Math.max(1, Math.floor(this.options.levels / 2)));
    let rem = qty;
    for (const l of levels) {
      if (rem <= 0) break;
      const q = Math.min(rem, l.qty);
      out.push(this.trade(st, ts, l.price, q, side));
      st.book.applyLevel(code(hit), l.price, l.qty - q);
      changes[hit].set(l.price, l.qty - q);
      rem -= q;
    }
  }

  /** Moves the book to the current mid: levels off the desired grid go, missing ones refill. */
  private reshape(st: SymbolState, changes: Record<BookSide, Map<number, number>> | undefined, full: boolean): void {
    const { rng, book, gap } = st;
    const n = this.options.levels;
    const mid = Math.round(st.fairMid);
    const spread = this.options.regimes[st.regime].spreadTicks;
    // never at or below 0 ticks, whatever the mid (a whale's push can take it below the floor)
    const bestBid = Math.max(1, mid - Math.floor(spread / 2));
    const bestAsk = bestBid + spread;
    const thinSide: BookSide | undefined = st.cascade ? (st.cascade.side === 'sell' ? 'bid' : 'ask') : undefined;
    for (const side of ['bid', 'ask'] as const) {
      const touch = side === 'bid' ? bestBid : bestAsk;
      const dir = side === 'bid' ? -1 : 1;
      const desired: number[] = [touch];
      let g = side === 'bid' ? Math.floor((touch - 1) / gap) * gap : Math.ceil((touch + 1) / gap) * gap;
      while (desired.length < n) {
        if (g > 0) desired.push(g);
        else break;
        g += dir * gap;
      }
      const want = new Set(desired);
      const sc = code(side);
      const gone: number[] = [];
      for (let d = 0, count = book.levelCount(side); d < count; d++) {
        const p = book.priceAtDepth(sc, d);
        if (!want.has(p)) gone.push(p);
      }
      for (const p of gone) {
        book.applyLevel(sc, p, 0);
        changes?.[side].set(p, 0);
      }
      const thin = side === thinSide;
      for (let i = 0; i < desired.length; i++) {
        const p = desired[i]!;
        if (book.qtyAt(side, p) > 0) continue;
        const pr = full ? 1 : thin ? REFILL_THIN : i === 0 ? REFILL_TOUCH : REFILL_DEEP;
        if (!full && !rng.chance(pr) && !(i === 0 && book.levelCount(side) === 0)) continue;
        const q = Math.max(1, Math.round(st.typicalLevel * (1 + 0.1 * i) * rng.lognormal(-0.18, 0.6) * (thin ? 0.3 : 1)));
        book.applyLevel(sc, p, q);
        changes?.[side].set(p, q);
      }
    }
  }

  /** One or two random size changes (adds and cancels) on existing levels. */
  private perturb(st: SymbolState, changes: Record<BookSide, Map<number, number>>): void {
    const { rng, book } = st;
    const count = rng.chance(0.5) ? 1 : 2;
    for (let c = 0; c < count; c++) {
      const side: BookSide = rng.chance(0.5) ? 'bid' : 'ask';
      const size = book.levelCount(side);
      if (size === 0) continue;
      // a uniformly random level (by depth from the touch)
      const idx = rng.int(size);
      const price = book.priceAtDepth(code(side), idx);
      const qty = book.qtyAtDepth(code(side), idx);
      const thin = st.cascade && side === (st.cascade.side === 'sell' ? 'bid' : 'ask');
      const nq = size > 1 && rng.chance(thin ? 0.3 : 0.05) ? 0 : Math.max(1, Math.round(qty * rng.lognormal(thin ? -0.3 : 0, 0.3)));
      book.applyLevel(code(side), price, nq);
      changes[side].set(price, nq);
    }
  }
}

function toLevels(m: Map<number, number>, side: BookSide): BookLevel[] {
  const out: BookLevel[] = [];
  for (const [price, qty] of m) out.push({ price, qty });
  out.sort(side === 'bid' ? (a, b) => b.price - a.price : (a, b) => a.price - b.price);
  return out;
}

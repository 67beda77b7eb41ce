/**
 * One simulated venue instance: a market source (synthetic generator or recorded replay), the
 * venue's books, and paper execution against them, on one virtual timeline. The
 * MarketDataClient and ExecutionClient of the instance are two faces of this object.
 */
import {
  type BookLevel,
  type Clock,
  type ExecutionClient,
  type ExecutionReport,
  type FeedStatusEvent,
  type Instrument,
  type InstrumentTrading,
  type Logger,
  type MarketDataClient,
  type MarketEventSink,
  type Order,
  type OrderStatusReport,
  type RecordingIntegrity,
  type TradingAvailability,
} from '@cwts/core';
import { L2Book } from '@cwts/core/microstructure';
import { SyntheticMarket, type Episode, type SimEvent } from './generator.js';
import { simInstrument, type SimOptions } from './options.js';
import { PaperExchange } from './paper.js';
import { ReplaySource } from './replay.js';
import { MAX_STATUS_TIME_LEAD_MS } from './replay-jsonl.js';

export interface SimVenueConfig {
  /** Venue name from the config ("sim"); every event and report carries it. */
  exchange: string;
  clock: Clock;
  /** Resolved options (resolveSimOptions). */
  options: SimOptions;
  /** The venue table's `symbols`, used when start() is given none. */
  symbols?: readonly string[];
  logger?: Logger;
}

/** Steps per timer tick at most, so a stalled process catches up in slices. */
const MAX_STEPS_PER_TICK = 20_000;
/**
 * How far the synthetic market may stay behind the clock once a step budget has run out before
 * the venue drops its backlog (SimVenue.advanceTo). Order requests wait for the market, so this
 * is also about the longest a backlog holds an order back, in market time.
 */
export const MAX_MARKET_BACKLOG_MS = 1_000;
/**
 * What a dropped backlog is reported as, after the venue name: sink.onFeedError counts it in
 * `cwts_errors_total{component="<venue>:backlog_dropped"}` and logs it at warn.
 */
export const BACKLOG_DROPPED_COMPONENT = 'backlog_dropped';
/** Replay items per setImmediate slice when replaying as fast as possible. */
const REPLAY_SLICE = 5_000;

type Timer = ReturnType<typeof setTimeout>;

export class SimVenue {
  readonly exchange: string;
  readonly options: SimOptions;
  readonly clock: Clock;
  readonly paper: PaperExchange;
  readonly marketData: SimMarketDataClient;
  readonly execution: SimExecutionClient;
  private readonly logger: Logger | undefined;
  private readonly configSymbols: readonly string[];
  private generatorRef: SyntheticMarket | undefined;
  private replayRef: ReplaySource | undefined;
  private readonly replayBooks = new Map<string, L2Book>();
  /** Replay: each pair's trading status as the recording last gave it (ReplayTradingStatus). */
  private readonly replayTrading = new Map<string, InstrumentTrading>();
  private sink: MarketEventSink | undefined;
  private interval: ReturnType<typeof setInterval> | undefined;
  private timeout: Timer | undefined;
  private immediate: ReturnType<typeof setImmediate> | undefined;
  private running = false;
  private ended = false;
  /** Virtual time: timestamp of the latest event or order processed. */
  private currentTs = 0;
  /**
   * Replay: when the live engine had the latest market event delivered, its receive time `recvTs`
   * (its venue time when none was recorded). An order the engine sends in answer left then, not
   * at the event's venue time (SimVenue.sendTime).
   */
  private receivedTs = 0;
  private backlogDrops = { count: 0, ms: 0, steps: 0 };

  constructor(cfg: SimVenueConfig) {
    this.exchange = cfg.exchange;
    this.options = cfg.options;
    this.clock = cfg.clock;
    this.logger = cfg.logger;
    this.configSymbols = cfg.symbols ?? [];
    this.paper = new PaperExchange(this, cfg.options);
    this.marketData = new SimMarketDataClient(this);
    this.execution = new SimExecutionClient(this);
  }

  get isReplay(): boolean {
    return this.options.replayFile !== undefined;
  }

  /** The synthetic generator (undefined before start() and in replay mode). */
  get generator(): SyntheticMarket | undefined {
    return this.generatorRef;
  }

  /** The replay cursor (undefined before start() and in synthetic mode). */
  get replay(): ReplaySource | undefined {
    return this.replayRef;
  }

  /** Ground truth of injected whales and cascades (synthetic mode). */
  get episodes(): readonly Episode[] {
    return this.generatorRef?.episodes ?? [];
  }

  /** Virtual time of the venue (latest event or order processed), epoch ms. */
  get now(): number {
    return this.currentTs;
  }

  /**
   * Synthetic market: backlogs dropped because the market stayed more than MAX_MARKET_BACKLOG_MS
   * behind the clock (times, market milliseconds and steps skipped in all).
   */
  get droppedBacklog(): { readonly count: number; readonly ms: number; readonly steps: number } {
    return { ...this.backlogDrops };
  }

  /** Whether a replay has delivered its last event. */
  get endOfStream(): boolean {
    return this.ended;
  }

  // PaperVenue --------------------------------------------------------------------------------

  instrument(symbol: string): Instrument | undefined {
    return this.generatorRef?.instrument(symbol) ?? this.replayRef?.instrument(symbol);
  }

  book(symbol: string): L2Book | undefined {
    return this.generatorRef ? this.generatorRef.book(symbol) : this.replayBooks.get(symbol);
  }

  onLiquidityTaken(symbol: string, ts: number, bids: BookLevel[], asks: BookLevel[]): void {
    // Synthetic: the venue's book changed, publish it. Replay: the recorded stream is kept as
    // recorded; the taken liquidity stays gone from the venue book until a recorded update
    // sets that level again.
    this.generatorRef?.publishDelta(symbol, ts, bids, asks);
  }

  // Market data ---------------------------------------------------------------------------------

  private symbolsOr(symbols: readonly string[]): string[] {
    return [...(symbols.length > 0 ? symbols : this.configSymbols)];
  }

  private ensureReplaySource(symbols: readonly string[]): ReplaySource {
    if (!this.replayRef) {
      this.replayRef = new ReplaySource({
        files: this.options.replayFile!,
        ...(this.options.replayFormat ? { format: this.options.replayFormat } : {}),
        exchange: this.exchange,
        symbols,
        instruments: this.options.instruments,
        onError: (component, message) => {
          if (this.sink) this.sink.onFeedError(component, message);
          else this.logger?.warn({ exchange: this.exchange, component }, message);
        },
      });
    }
    return this.replayRef;
  }

  loadInstruments(symbols: readonly string[]): Instrument[] {
    const syms = this.symbolsOr(symbols);
    if (this.isReplay) {
      const src = this.ensureReplaySource(syms);
      const all = src.instruments();
      if (syms.length === 0) return all;
      return syms.map((s) => all.find((i) => i.symbol === s) ?? simInstrument(this.exchange, s, this.options));
    }
    return syms.map((s) => simInstrument(this.exchange, s, this.options));
  }

  start(symbols: readonly string[], sink: MarketEventSink): void {
    if (this.running) throw new Error(`${this.exchange}: market data already started`);
    const syms = this.symbolsOr(symbols);
    // Reads the recording's headers (or first rows) now: a recording the venue cannot replay
    // (several exchanges) is refused at start, not on the first timer.
    if (this.isReplay) this.ensureReplaySource(syms).instruments();
    this.sink = sink;
    this.running = true;
    this.ended = false;
    if (this.isReplay) {
      this.currentTs = Math.max(this.currentTs, 0);
      if (this.options.drive === 'timers') this.scheduleReplay();
      return;
    }
    if (syms.length === 0) throw new Error(`${this.exchange}: no symbols to simulate (set symbols in the venue table)`);
    const startTs = this.clock.now();
    this.currentTs = startTs;
    const gen = new SyntheticMarket({
      exchange: this.exchange,
      symbols: syms,
      options: this.options,
      startTs,
      onWarning: (symbol, message) => this.logger?.warn({ exchange: this.exchange, symbol }, message),
    });
    gen.attach((ev) => this.deliver(ev));
    this.generatorRef = gen;
    gen.begin();
    if (this.options.drive === 'timers') {
      const every = Math.max(1, Math.min(20, Math.round(1000 / this.options.eventsPerSecond)));
      this.interval = setInterval(() => this.advanceTo(this.clock.now(), MAX_STEPS_PER_TICK), every);
    }
  }

  /** Stops intake and clears every timer; nothing is delivered afterwards. */
  stop(): void {
    this.running = false;
    if (this.interval !== undefined) clearInterval(this.interval);
    if (this.timeout !== undefined) clearTimeout(this.timeout);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.interval = this.timeout = this.immediate = undefined;
    this.sink = undefined;
  }

  /** Pending timers of this venue (0 after stop()); for tests and health. */
  activeTimers(): number {
    return (this.interval !== undefined ? 1 : 0) + (this.timeout !== undefined ? 1 : 0) + (this.immediate !== undefined ? 1 : 0);
  }

  /**
   * Virtual-time driver: runs market steps (or replay items) and paper order arrivals in time
   * order up to and including `untilTs` (orders first on equal timestamps). Returns the number
   * of market steps run. This is all the timers do; with `drive = "manual"` the owner calls it.
   *
   * An order request is processed only once the market has reached its arrival time, also when
   * the step budget runs out first (the virtual clock fell behind the wall clock: a stalled or
   * loaded process, a high events_per_second): its fills and the liquidity it takes are stamped
   * with its arrival time, so processed ahead of an older backlog they put the venue's feed back
   * in time and let that backlog's book changes fill it before its ack. Held back for ever behind
   * a backlog that only grows, it would never be answered; so when the synthetic market is still
   * more than MAX_MARKET_BACKLOG_MS behind a finite `untilTs` after a full budget, the backlog is
   * dropped: the market skips to `untilTs` (a quiet interval, seqs without a gap) and the order
   * requests due by then are processed. A replay never drops recorded events: its orders wait
   * until the replay reaches them, or its end.
   *
   * An order or cancel sent during the call (a strategy answering a report or an event) that
   * arrives at the virtual time being processed (latency_ms = 0), or once no market event is
   * left to move that time (after a replay's end), is left to the next call, and the market
   * waits for it. Taken in the same call, a strategy answering every report with an order kept
   * the call, and the process, in one loop for ever. What happens on the virtual timeline, and
   * in what order, is the same; only the call returns before `untilTs`, and the next goes on.
   */
  advanceTo(untilTs: number, maxSteps = Infinity): number {
    if (!this.running) return 0;
    const sentBefore = this.paper.requestsSent;
    let steps = 0;
    /** Stopped for a request sent during the call: the market is not behind the clock, it waits. */
    let waiting = false;
    while (this.running) {
      const tm = this.nextMarketTs();
      const to = this.paper.nextDue();
      if (to !== Infinity && to <= tm && to <= untilTs) {
        if (this.waitsForNextCall(to, tm, sentBefore)) {
          waiting = true;
          break;
        }
        if (to > this.currentTs) this.currentTs = to;
        this.paper.processDue(to);
        continue;
      }
      if (tm > untilTs || tm === Infinity || steps >= maxSteps) break;
      this.stepMarket();
      steps++;
    }
    const gen = this.generatorRef;
    if (gen && this.running && !waiting && Number.isFinite(untilTs) && untilTs - gen.nextTs() > MAX_MARKET_BACKLOG_MS) this.dropBacklog(gen, untilTs, sentBefore);
    if (this.replayRef && this.running && !this.ended && this.replayRef.ended && this.nextMarketTs() === Infinity) {
      this.finishReplay();
    }
    return steps;
  }

  /**
   * The synthetic market is too far behind the clock to catch up within its budget: skip it to
   * `untilTs`, then answer the order requests due by then, each at its own arrival time (after
   * every event already published, before the market's next step).
   */
  private dropBacklog(gen: SyntheticMarket, untilTs: number, sentBefore: number): void {
    const from = gen.nextTs();
    const skipped = gen.skipTo(untilTs);
    this.backlogDrops.count++;
    this.backlogDrops.ms += untilTs - from;
    this.backlogDrops.steps += skipped;
    // Every drop reaches the engine's counter: known only to this object and a warn line at most
    // once a minute, a run that skipped most of its market looked like one that skipped none.
    // One line per drop is at most one per MAX_MARKET_BACKLOG_MS of clock time: after a drop the
    // market is at the clock, and only falls that far behind again as the clock moves on.
    const d = this.backlogDrops;
    const message =
      `${this.exchange}: simulated market ${untilTs - from} ms behind the clock: its backlog of ${skipped} steps was dropped ` +
      `(${d.count} drops, ${d.ms} ms, ${d.steps} steps so far; lower events_per_second, or give the process more CPU)`;
    if (this.sink) this.sink.onFeedError(`${this.exchange}:${BACKLOG_DROPPED_COMPONENT}`, message);
    else this.logger?.warn({ exchange: this.exchange, behindMs: untilTs - from, skippedSteps: skipped, ...d }, message);
    while (this.running) {
      const to = this.paper.nextDue();
      if (to > untilTs || to > gen.nextTs() || this.waitsForNextCall(to, gen.nextTs(), sentBefore)) break;
      if (to > this.currentTs) this.currentTs = to;
      this.paper.processDue(to);
    }
  }

  /**
   * Whether the next request, due at `to` with the market's next item at `tm`, is left to the
   * next advanceTo (see there): sent during this one (its mark `sentBefore`), and no virtual
   * time passes before it arrives.
   */
  private waitsForNextCall(to: number, tm: number, sentBefore: number): boolean {
    return !this.paper.nextSentBefore(sentBefore) && (to <= this.currentTs || tm === Infinity);
  }

  /**
   * Replay: delivers everything that is left, synchronously, then end-of-stream. Paper orders
   * still in flight are processed at their arrival times against the final book. Returns the
   * number of items delivered. An order sent during the call that advanceTo leaves to the next
   * (latency_ms = 0) stops it there: call it again until `endOfStream` (and, after the end, until
   * nothing is in flight) to go on.
   */
  runToEnd(): number {
    if (!this.isReplay) throw new Error('runToEnd() is for replay; use advanceTo(ts) with the generator');
    const n = this.advanceTo(Infinity);
    if (!this.ended && this.running && this.nextMarketTs() === Infinity) this.finishReplay();
    return n;
  }

  private finishReplay(): void {
    if (this.ended) return;
    if (this.paper.nextDue() !== Infinity) {
      const last = Math.max(this.currentTs, this.paper.nextDue());
      this.currentTs = last;
      this.paper.processDue(Infinity);
    }
    this.ended = true;
    const sink = this.sink;
    if (this.interval !== undefined) clearInterval(this.interval);
    if (this.timeout !== undefined) clearTimeout(this.timeout);
    this.interval = this.timeout = undefined;
    // what the reports just delivered sent: answered in a later turn, as after the end
    this.requestQueued();
    this.logger?.info({ exchange: this.exchange, delivered: this.replayRef?.delivered, ...this.replayRef?.integrity() }, 'replay finished');
    sink?.onEndOfStream?.(this.exchange);
  }

  /**
   * When the next market item is due on the venue's clock: its time, except a recorded feed
   * status more than MAX_STATUS_TIME_LEAD_MS ahead of the venue's clock, due at once. A status
   * carries the recording host's clock, not the venue's; one stamped a day ahead (a host clock
   * stepped forward, one corrupted digit) held a timed replay back for a day.
   */
  private nextMarketTs(): number {
    if (this.generatorRef) return this.generatorRef.nextTs();
    const item = this.replayRef?.peek();
    if (item === undefined) return Infinity;
    return item.type === 'feed_status' && item.ts - this.currentTs > MAX_STATUS_TIME_LEAD_MS ? this.currentTs : item.ts;
  }

  private stepMarket(): void {
    if (this.generatorRef) {
      this.generatorRef.step();
      return;
    }
    const item = this.replayRef!.next();
    if (!item) return;
    if (item.type === 'trading_status') {
      // what the engine's pre-trade check reads from now on (tradingStatus); not an event to it
      this.replayTrading.set(item.symbol, item.trading);
      return;
    }
    if (item.type === 'book_snapshot' || item.type === 'book_delta') {
      let book = this.replayBooks.get(item.symbol);
      if (!book) this.replayBooks.set(item.symbol, (book = new L2Book(this.exchange, item.symbol)));
      if (item.type === 'book_snapshot') book.applySnapshot(item);
      else {
        // The venue's copy follows the recording as recorded: levels apply without sequence
        // checks (a recorder that dropped a message still leaves the best known book).
        book.applyLevels(item.bids, item.asks);
        book.endUpdate(item.seq, item.recvTs);
      }
    } else if (item.type === 'feed_status') {
      // Every recorded status goes on, a repeat too: a snapshot may have synced the book since
      // the last one (a second disconnect after a resync), and the engine's book must break as
      // the venue's copy does (BookStore.applyStatus is idempotent).
      this.applyRecordedStatus(item);
    }
    this.deliver(item);
  }

  /**
   * Replay: what the recorded feed said about its book holds for the venue's copy too. A book
   * the live feed declared broken (a gap it resynced after, a silent or lost connection) is not
   * one paper orders may trade against: its levels are the last ones known before the break, and
   * the market moved meanwhile. Same rules as core's BookStore.applyStatus: `resyncing` waits
   * for the next snapshot; `stale`/`disconnected`/`stopped`/`connecting` mark a synced book stale
   * until the next snapshot or update; an empty symbol means every book of the venue. Applied
   * even when the status repeats the last one delivered (a snapshot may have synced the book
   * between them).
   */
  private applyRecordedStatus(st: FeedStatusEvent): void {
    const resync = st.state === 'resyncing';
    if (!resync && st.state !== 'stale' && st.state !== 'disconnected' && st.state !== 'stopped' && st.state !== 'connecting') return;
    const mark = (book: L2Book): void => {
      if (!resync) book.markStale(`${st.state}: ${st.reason}`, st.ts);
      else if (book.state !== 'resyncing') {
        // a short code is the resync's label (as core counts it), any other text its detail
        if (/^[a-z][a-z0-9_]{0,39}$/.test(st.reason)) book.beginResync(st.reason, undefined, st.ts);
        else book.beginResync('venue_resync', st.reason, st.ts);
      }
    };
    if (st.symbol !== '') {
      const book = this.replayBooks.get(st.symbol);
      if (book) mark(book);
    } else for (const book of this.replayBooks.values()) mark(book);
  }

  /**
   * Every event goes out through here: to the engine, then to paper matching. Only market events
   * move the venue's clock: a feed status's `ts` is the time of the host that recorded it, and
   * one stamped a day ahead moved the clock a day on (every order sent after it arrived after the
   * end of the replay, against the final book), where book deltas are bounded against exactly
   * that (MAX_BOOK_TIME_JUMP_MS).
   */
  private deliver(ev: SimEvent): void {
    if (ev.type !== 'feed_status') {
      if (ev.ts > this.currentTs) this.currentTs = ev.ts;
      // the reader bounds a receive time to MAX_RECEIVE_LAG_MS of its venue time (ReceiveTimes);
      // never back, as the replayed engine's clock (streams differ in lag)
      const received = ev.recvTs > 0 ? ev.recvTs : ev.ts;
      if (received > this.receivedTs) this.receivedTs = received;
    }
    const sink = this.sink;
    if (!sink) return;
    if (ev.type === 'feed_status') {
      sink.onFeedStatus(ev);
      return;
    }
    sink.onMarketEvent(ev);
    if (ev.type === 'trade') this.paper.onTrade(ev);
    else if ((ev.type === 'book_delta' || ev.type === 'book_snapshot') && this.paper.hasResting(ev.symbol)) this.paper.onBookChange(ev.symbol, ev.ts);
  }

  private scheduleReplay(): void {
    const speed = this.options.replaySpeed;
    if (speed === 0) {
      const slice = (): void => {
        this.immediate = undefined;
        if (!this.running || this.ended) return;
        this.advanceTo(Infinity, REPLAY_SLICE);
        if (this.running && !this.ended) this.immediate = setImmediate(slice);
      };
      this.immediate = setImmediate(slice);
      return;
    }
    const src = this.replayRef!;
    /** Recorded time paced from, and the wall time it was taken at: set on the first tick. */
    let origin: number | undefined;
    let wallStart = 0;
    const tick = (): void => {
      this.timeout = undefined;
      if (!this.running || this.ended) return;
      if (origin === undefined) {
        // Paced from the first market record's venue time. The feed statuses before it (the
        // recorder writes `connecting` first) carry the recording host's time, and one stamped a
        // day ahead made the replay's start a day on, so the whole recording went out at once;
        // with no venue time before them they are delivered at once.
        while (this.running && src.peek()?.type === 'feed_status') this.stepMarket();
        if (!this.running) return;
        origin = src.peekTs() ?? this.currentTs;
        wallStart = this.clock.now();
      }
      const target = origin + (this.clock.now() - wallStart) * speed;
      const steps = this.advanceTo(target, MAX_STEPS_PER_TICK);
      if (!this.running || this.ended) return;
      const next = Math.min(this.nextMarketTs(), this.paper.nextDue());
      const delay = steps >= MAX_STEPS_PER_TICK ? 0 : Math.max(1, Math.min(100, (next - target) / speed));
      this.timeout = setTimeout(tick, delay);
    };
    this.timeout = setTimeout(tick, 0);
  }

  /**
   * Replay: the pair's trading status as recorded up to the venue's time (undefined before the
   * recording gives one, and in a recording older than the field: the instrument's, as loaded).
   */
  tradingStatus(symbol: string): InstrumentTrading | undefined {
    return this.replayTrading.get(symbol);
  }

  // Execution -----------------------------------------------------------------------------------

  /**
   * Time an order or cancel is sent. Replay: when the live engine could have sent it, the receive
   * time of the latest market event (the engine's clock in `cwts-ultra replay` reads the same,
   * replayClockTime), never before the venue's virtual time. A host behind its feed answered a
   * print a second late; sent at the print's venue time, the replayed order met the book of a
   * second earlier (look-ahead). Receive times are the recording host's clock and venue times
   * the venue's: their difference, network lag and clock offset alike, is kept as the live run
   * had it. Not the clock: a timed replay runs it on wall time. Synthetic: the clock, or the
   * venue's virtual time if later.
   */
  sendTime(): number {
    return this.isReplay ? Math.max(this.currentTs, this.receivedTs) : Math.max(this.clock.now(), this.currentTs);
  }

  /**
   * An order or cancel was queued. Until a timer-driven replay ends, its ticks process the queue;
   * after the end nothing else would, and the venue would never answer again (an engine stopping
   * with `on_shutdown = "cancel"` waited out its deadline for cancels that never came). So one
   * timer per arrival time, `latency_ms / replay_speed` away (at once for replay_speed 0), none
   * left once the queue is empty. With `drive = "manual"` the owner's advanceTo/runToEnd does it.
   */
  requestQueued(): void {
    if (!this.ended || !this.running || this.options.drive !== 'timers' || this.timeout !== undefined) return;
    const due = this.paper.nextDue();
    if (due === Infinity) return;
    const speed = this.options.replaySpeed;
    const delay = speed > 0 ? Math.max(0, (due - this.currentTs) / speed) : 0;
    this.timeout = setTimeout(() => {
      this.timeout = undefined;
      if (!this.running) return;
      const at = this.paper.nextDue();
      if (at === Infinity) return;
      if (at > this.currentTs) this.currentTs = at;
      this.paper.processDue(at);
      this.requestQueued();
    }, delay);
  }
}

/** MarketDataClient of the sim venue. */
export class SimMarketDataClient implements MarketDataClient {
  constructor(readonly venue: SimVenue) {}

  get exchange(): string {
    return this.venue.exchange;
  }

  async loadInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    return this.venue.loadInstruments(symbols);
  }

  async start(symbols: readonly string[], sink: MarketEventSink): Promise<void> {
    this.venue.start(symbols, sink);
  }

  async stop(): Promise<void> {
    this.venue.stop();
  }

  /**
   * Replay: what the recorded venue allowed on `symbol` at this point of the recording, so the
   * engine refuses (VENUE_NOT_TRADING) exactly the orders it refused live; undefined: the
   * instrument's status at load applies.
   */
  tradingStatus(symbol: string): InstrumentTrading | undefined {
    return this.venue.tradingStatus(symbol);
  }

  /** Replay: malformed, skipped, out-of-order and truncated counts of the recording. */
  recordingIntegrity(): RecordingIntegrity | undefined {
    return this.venue.replay?.integrity();
  }

  /** Virtual-time driver (drive = "manual"): see SimVenue.advanceTo. */
  advanceTo(untilTs: number, maxSteps?: number): number {
    return this.venue.advanceTo(untilTs, maxSteps);
  }

  /** Replay: deliver everything left synchronously, then end-of-stream. */
  runToEnd(): number {
    return this.venue.runToEnd();
  }

  get episodes(): readonly Episode[] {
    return this.venue.episodes;
  }

  /** Synthetic market: backlogs dropped so far (SimVenue.droppedBacklog). */
  get droppedBacklog(): { readonly count: number; readonly ms: number; readonly steps: number } {
    return this.venue.droppedBacklog;
  }
}

/** Paper ExecutionClient of the sim venue. */
export class SimExecutionClient implements ExecutionClient {
  readonly simulated = true;

  constructor(readonly venue: SimVenue) {}

  get exchange(): string {
    return this.venue.exchange;
  }

  availability(): TradingAvailability {
    return { canTrade: true };
  }

  async start(onReport: (report: ExecutionReport) => void): Promise<void> {
    this.venue.paper.setReportHandler(onReport);
  }

  submit(order: Readonly<Order>): void {
    this.venue.paper.submit(order, this.venue.sendTime());
    this.venue.requestQueued();
  }

  cancel(order: Readonly<Order>): void {
    this.venue.paper.cancel(order, this.venue.sendTime());
    this.venue.requestQueued();
  }

  async openOrders(): Promise<Order[]> {
    return this.venue.paper.openOrders();
  }

  async queryOrder(order: Readonly<Order>): Promise<OrderStatusReport | undefined> {
    return this.venue.paper.queryOrder(order.clientOrderId);
  }

  async tradesSince(symbols: readonly string[], sinceTs: number): Promise<ExecutionReport[]> {
    return this.venue.paper.fillsSince(symbols, sinceTs);
  }

  async stop(): Promise<void> {
    this.venue.paper.setReportHandler(undefined);
  }
}

import { createHash, type Hash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../contracts/clock.js';
import type { ExecutionClient, FeedReject, MarketDataClient, MarketEventSink } from '../contracts/exchange.js';
import type { BookView, Detector, PersistedState, DetectorContext, OrderRouter, RiskCheck, RiskContext, RiskDecision, RouterHost, Strategy, StrategyContext, SubmitResult } from '../contracts/trading.js';
import type { FeedStatusEvent, MarketEvent } from '../domain/events.js';
import { instrumentKey, type Instrument } from '../domain/instrument.js';
import { InstrumentMap } from '../domain/instrument-map.js';
import { tradingRefusal } from '../domain/trading-status.js';
import { orderValueProblem, type ExecutionReport, type Order, type OrderIntent, type RejectReason } from '../domain/orders.js';
import { signalProblem, type Signal } from '../domain/signal.js';
import type { Logger } from '../observability/logger.js';
import { BOOK_STATE_CODES, type MetricsRegistry } from '../observability/metrics.js';
import { PercentileWindow, RateWindow } from '../observability/time-windows.js';
import { LogThrottle } from '../observability/log-throttle.js';
import { BookStore, type BookRecord } from '../microstructure/venue-books.js';
import { journalParse, journalStringify } from '../journal/json.js';
import { describeValue } from '../domain/describe-value.js';
import type { JournalRecord } from '../journal/records.js';
import type { Journal } from '../journal/journal.js';
import { bookedTradeKeys, reconcileVenues, unidentifiedKeysOf, type ReconcileOptions, type ReconcileRun } from './reconcile.js';
import { TRADES_WATERMARK_SCOPE, type TradesWatermark } from '../journal/trades-watermark.js';
import { redactCredentials } from '../adapter-kit/errors.js';
import type { ReconcileResult, RestoreSummary } from './restart-report.js';
import { NOT_AWAITING, OrderManager, type ClosedOrderRetention, type InvalidReportReason } from './order-manager.js';
import { commonToDecimal, commonToNumber, Portfolio, type Position } from '../risk/portfolio.js';
import type { Recorder } from './recorder.js';
import { RISK_CAPITAL_KEY, RISK_CAPITAL_SCOPE, RISK_STATE_CODES, RiskState, type RiskActor } from '../risk/risk-state.js';
import type { EngineRiskHooks } from '../risk/manager.js';
import { logFill, logSignal } from './log-lines.js';
import type { BackpressureGate } from '../observability/backpressure.js';
import { DeferredLog } from '../observability/deferred-log.js';
import type { EngineTracing } from '../observability/tracing/hooks.js';
import { highestTradePrice, reducesExposure, refundChecks } from '../risk/checks.js';
import { DeferredCounter, DeferredGauge, MetricChildren } from './metric-children.js';
import { DEFAULT_PLUGIN_DISPOSE_TIMEOUT_MS, DeadlineExceeded, withDeadline } from '../plugins/deadline.js';

export interface VenueRuntime {
  name: string;
  symbols: readonly string[];
  marketData: MarketDataClient;
  execution: ExecutionClient;
}

export interface EngineOptions {
  clock: Clock;
  logger: Logger;
  metrics: MetricsRegistry;
  venues: VenueRuntime[];
  detectors?: Detector[];
  strategy?: Strategy;
  riskChecks?: RiskCheck[];
  /** The risk layer (risk/RiskManager): equity, drawdown, VaR, state triggers. Its checks go in riskChecks. */
  risk?: EngineRiskHooks;
  router?: OrderRouter;
  /** The durable journal (core's: journal/store.ts); off in replay and most unit tests. */
  journal?: Journal;
  /** The book store (composition resolves it from the container); a fresh one when absent. */
  books?: BookStore;
  /** `[reconcile] on_mismatch` (default adopt-venue). */
  onReconcileMismatch?: 'adopt-venue' | 'halt';
  /** Equity/mark snapshots to the journal every this many ms (default 1000; also at every fill). */
  snapshotEveryMs?: number;
  /** Runs in start() once instruments are loaded, before any venue reports: the journal restore. */
  restore?: (engine: Engine) => void;
  /**
   * How long stop() waits for each venue client's stop() and each detector's dispose(), in ms
   * (composition: `[system] plugin_dispose_timeout_ms`; default DEFAULT_PLUGIN_DISPOSE_TIMEOUT_MS).
   * Past it the client is logged and counted as an error, and the stop goes on without it.
   */
  stopTimeoutMs?: number;
  recorder?: Recorder;
  /** What happens to open orders at shutdown. */
  onShutdown?: 'cancel' | 'keep';
  /** A synced book with no update for this long is stale (no new risk on it). */
  staleAfterMs?: number;
  /** Run staleness checks on a timer (off in replay, where time is virtual). */
  watchdog?: boolean;
  /** Called before each market event is dispatched; replay moves its virtual clock here. */
  beforeEvent?: (event: MarketEvent) => void;
  /** Sees signals, fills and risk state changes after the engine applied them (reports). */
  observer?: EngineObserver;
  /**
   * Keep the sha256 digest of signals and fills (RunSummary.digest). Off by default: hashing
   * and canonical JSON per signal and fill is work on the critical path that only a replay or a
   * recording, which compare runs, asks for.
   */
  digest?: boolean;
  /**
   * Back-pressure (observability/backpressure.ts): while active, new risk is refused with
   * BACKPRESSURE; orders that reduce exposure and cancels still go. Started and stopped with the engine.
   */
  backpressure?: BackpressureGate & { start(): void; stop(): void };
  /** How many closed orders stay in memory, and how long (order-manager.ts; default DEFAULT_CLOSED_ORDER_RETENTION). */
  closedOrders?: ClosedOrderRetention;
  /** The timers the engine's retries run on (a venue's reconciliation); default: Node's, unref'd. Tests pass their own. */
  timers?: EngineTimers;
  /**
   * Masks secrets in venue text by value (composition: the loaded config's Redactor, which
   * holds every `${VAR}` value, API keys and secrets among them, and URL passwords). Applied to
   * what a venue or an adapter says that the engine shows outside the log: an execution report's
   * text (journal, OTel ack span, strategy), a failed reconciliation's error (/health/ready,
   * /status, journal) and a feed status reason (/health/ready, /status). The adapter kit's pattern
   * scrubber (redactCredentials: key query parameters and headers, URL credentials) runs after
   * it, with or without one. Only text that is there is redacted: a report without text pays nothing.
   */
  redact?: (text: string) => string;
}

/** One-shot timers, injectable so a test drives the engine's retries step by step. */
export interface EngineTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const NODE_TIMERS: EngineTimers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A venue whose reconciliation has not completed (Engine.unreconciledVenues). */
export interface UnreconciledVenue {
  exchange: string;
  /** Why not: the failed read's error, or that reconciliation has not got to it yet. */
  reason: string;
  /** Attempts that failed so far (0: the first has not ended). */
  failedAttempts: number;
  /** Engine-clock time of the next attempt; undefined while one runs or before the first ended. */
  nextAttemptTs?: number;
}

/**
 * Read-only taps for reports; called synchronously on the engine thread, so keep them cheap. One
 * that throws is counted (`cwts_errors_total{component="observer"}`) and logged; the engine goes
 * on as if it had not.
 */
export interface EngineObserver {
  signal?(signal: Signal): void;
  fill?(report: ExecutionReport, instrument: Instrument): void;
  /** An order the engine just handed to its venue (after every check passed). */
  order?(order: Readonly<Order>): void;
  riskState?(state: RiskState, now: number): void;
}

export interface RunSummary {
  events: number;
  eventsByType: Record<string, number>;
  signals: number;
  orders: number;
  rejected: number;
  fills: number;
  realizedPnl: string;
  unrealizedPnl: string;
  fees: string;
  equity: string;
  /** sha256 of every signal and fill, in order, as canonical JSON lines; only when the engine was asked to keep it (EngineOptions.digest). */
  digest?: string;
}

/**
 * The engine thread. Market events arrive synchronously from adapters and flow through books,
 * detectors and the strategy; order intents go through every risk check and the router to an
 * execution client without any await. Execution reports update orders, positions and PnL.
 */
export class Engine implements MarketEventSink, DetectorContext, StrategyContext, RiskContext, RouterHost {
  readonly books: BookStore;
  readonly orders: OrderManager;
  readonly portfolio = new Portfolio();
  readonly riskState: RiskState;
  private readonly instruments = new InstrumentMap<Instrument>();
  private readonly venues = new Map<string, VenueRuntime>();
  private readonly detectors: Detector[];
  /** The names signals may carry as their `detector` label (signalLabel). */
  private readonly detectorNames: ReadonlySet<string>;
  /** The detector whose onMarketEvent is running: a signal it emits is its own. */
  private dispatchingDetector: string | undefined;
  private readonly riskChecks: RiskCheck[];
  /**
   * cwts_latency_p99 and cwts_orders_per_second: time-sliced (observability/time-windows.ts), so
   * they cover their whole 60 s and 10 s at any order rate in fixed memory (a ring of the last N
   * samples capped the rate at N / 10 s and shortened the p99's window above N / 60 s).
   */
  private readonly latency = new PercentileWindow(60_000, 1000);
  private readonly sent = new RateWindow(10_000, 100);
  private readonly lastTrade = new InstrumentMap<number>();
  /** Books resyncing since a resync of their own (BookRecord.ownResync): the next ask for a snapshot. */
  private readonly resyncAsks = new InstrumentMap<{ active: boolean; timer: unknown; asks: number; delayMs: number }>();
  /** Venues whose adapter cannot be asked for a snapshot, warned about once. */
  private readonly cannotAskResync = new Set<string>();
  /** Metric children resolved once per series (metric-children.ts): no label lookup per event or order. */
  private readonly series: {
    events: DeferredCounter;
    signals: MetricChildren<{ inc(): void }>;
    orders: DeferredCounter;
    rejections: MetricChildren<{ inc(): void }>;
    ack: MetricChildren<{ observe(v: number): void }>;
    position: DeferredGauge;
  };
  private readonly digest: Hash | undefined;
  /** Signal and fill lines, formatted after the current batch of events (observability/deferred-log.ts). */
  private readonly deferredLog: DeferredLog;
  /** performance.now() when each order's submit() returned, until its first report (cwts_order_ack_seconds). */
  private readonly counts = { events: 0, signals: 0, orders: 0, rejected: 0, fills: 0 };
  private readonly byType: Record<string, number> = {};
  private signalSeq = 0;
  /**
   * performance.now() when the market-event dispatch running now began; NOT_DISPATCHING outside
   * one. Tick-to-order is measured only for orders sent inside a dispatch: one sent from an
   * execution report (Strategy.onExecution, a router's reroute), a timer or the control endpoint
   * had no tick, and timing it from the last market event read a quiet market's seconds as latency.
   */
  private dispatchStart = NOT_DISPATCHING;
  private stopping = false;
  private restoreDone = false;
  private watchdog: NodeJS.Timeout | undefined;
  private ended = new Set<string>();
  private endWaiters: (() => void)[] = [];
  private snapshotTimer: NodeJS.Timeout | undefined;
  private lastJournaledPeak: bigint | undefined;
  /** The starting capital last journaled with a peak (RISK_CAPITAL_SCOPE). */
  private lastJournaledCapital: bigint | undefined;
  private readonly componentState = new Map<string, unknown>();
  /**
   * Venues not reconciled yet: all of them from the start of reconciliation, each until its own
   * reconciliation completes; one whose reads fail stays here while it is retried. No new order
   * goes to a venue here, and `/health/ready` waits for every one.
   */
  private readonly unreconciled = new Map<string, { reason: string; failedAttempts: number; delayMs: number; nextAttemptTs?: number; timer?: unknown }>();
  /**
   * Fills booked on a venue while it is not reconciled, by bookedTradeKeys (order and trade id:
   * one trade id names both sides of a self-trade). A retry's trade list answers them again, and
   * their order may have left memory by then (closed-order retention: 10 minutes of other
   * venues' orders): known here, such a fill is not booked a second time as a trade of an order
   * the journal never saw.
   */
  private readonly liveTradesUnreconciled = new Map<string, Set<string>>();
  /**
   * Keys of the findings reported per venue while it is not reconciled (ReconcileOptions
   * reportedFindings): a retry that finds one again does not count, journal, list or HALT on it
   * again. Dropped once the venue is reconciled: nothing reconciles it again in this process.
   */
  private readonly reportedFindings = new Map<string, Set<string>>();
  /** Reconciliation at start has ended (not stopped before it did). */
  private reconcileEnded = false;
  /** The reconciliation retry running or queued now (one at a time); stop() waits for it. */
  private reconcileRetries: Promise<void> = Promise.resolve();
  private readonly timers: EngineTimers;
  /** Venue text as shown outside the log: EngineOptions.redact, then the pattern scrubber. */
  private readonly redactText: (text: string) => string;
  /** Every venue is reconciled: reconciliation at start ended, and each venue it could not reconcile then has been since. */
  get reconciled(): boolean {
    return this.reconcileEnded && this.unreconciled.size === 0;
  }
  started = false;
  /** stop() has begun: nothing new is traded, and `/health/ready` says not ready ("stopping"). */
  get isStopping(): boolean {
    return this.stopping;
  }
  /**
   * start() got past the journal restore (or had none to run): the engine holds the
   * deployment's positions and orders. False when stop() came first (a SIGTERM while the venues
   * load their instruments) or start() failed before it (a venue unreachable): the engine is then
   * empty and says nothing about what is held, and it journals no snapshot or peak (its starting
   * capital as the peak would reset the drawdown at the next start).
   */
  get restored(): boolean {
    return this.restoreDone;
  }
  /**
   * A journal restore is configured and has not run yet (start() runs it once every venue has
   * loaded its instruments, or never when stop() or a failure came first): positions, the equity
   * peak and the risk state are the defaults, not the deployment's. /status says RESTORING and
   * cwts_risk_state (unless HALTED), cwts_equity, cwts_drawdown_ratio and cwts_var read NaN meanwhile: a
   * crash loop during a venue outage once served a journaled HALT as ACTIVE and flat for the
   * length of every start.
   */
  get restorePending(): boolean {
    return this.opts.restore !== undefined && !this.restoreDone;
  }
  /** OpenTelemetry hooks when `[monitoring] enable_tracing` (observability/tracing/); undefined: no call at all. */
  tracing: EngineTracing | undefined = undefined;
  /** What the last restart restored from the journal (`/status` restoredFrom). */
  restoredFrom: RestoreSummary | undefined;
  /** Reconciliation with the venues at start (`/status` reconcile). */
  reconcileResult: ReconcileResult | undefined;

  constructor(private readonly opts: EngineOptions) {
    this.detectors = opts.detectors ?? [];
    this.detectorNames = new Set(this.detectors.map((d) => d.name));
    this.riskChecks = opts.riskChecks ?? [];
    this.digest = opts.digest ? createHash('sha256') : undefined;
    this.timers = opts.timers ?? NODE_TIMERS;
    const byValue = opts.redact;
    this.redactText = byValue === undefined ? redactCredentials : (text) => redactCredentials(byValue(text));
    this.orders = new OrderManager(undefined, opts.closedOrders);
    this.deferredLog = new DeferredLog(opts.logger);
    const m = opts.metrics;
    this.series = {
      events: new DeferredCounter(m.marketEvents),
      signals: new MetricChildren((detector, exchange, symbol) => m.signals.labels(detector!, exchange!, symbol!)),
      orders: new DeferredCounter(m.orders),
      rejections: new MetricChildren((reason) => m.riskRejections.labels(reason!)),
      ack: new MetricChildren((exchange) => m.orderAck.labels(exchange!)),
      position: new DeferredGauge(m.position),
    };
    for (const v of opts.venues) {
      this.venues.set(v.name, v);
      // At 0 before the first report can come, so Prometheus sees the first unbookable one as an
      // increase (monitoring/alerts.yml, InvalidExecutionReport).
      for (const reason of INVALID_REPORT_REASONS) m.executionReportsInvalid.labels(v.name, reason).inc(0);
    }
    this.books = opts.books ?? new BookStore();
    this.books.listen((rec, prev) => {
      this.tracing?.bookState(rec.book.exchange, rec.book.symbol, rec.state, rec.reason);
      m.bookState.labels(rec.book.exchange, rec.book.symbol).set(BOOK_STATE_CODES[rec.state]);
      if (rec.state === 'resyncing' || rec.state === 'crossed') {
        m.bookResyncs.labels(rec.book.exchange, rec.book.symbol, rec.state === 'crossed' ? 'crossed' : reasonLabel(rec.reason)).inc();
      }
      if (rec.state === 'synced') this.endResyncAsks(rec);
      const level = rec.state === 'synced' ? 'info' : 'warn';
      opts.logger[level]({ exchange: rec.book.exchange, symbol: rec.book.symbol, from: prev, to: rec.state, reason: rec.reason }, `book ${rec.book.exchange}:${rec.book.symbol} ${prev} -> ${rec.state}: ${rec.reason}`);
    });
    this.books.onResyncOfOwn((rec) => this.askForResync(rec));
    // Runs inside RiskState.set(), on the way into HALTED among others: nothing here may throw,
    // or the HALT dies before its cancels (journalPeak values the portfolio, which is what fails
    // when a failed valuation is why the state moves).
    this.riskState = new RiskState((s, from, who) => {
      this.publishRiskState();
      opts.logger.warn({ riskState: s.state, reason: s.reason, who }, `risk state -> ${s.state}: ${s.reason}`);
      // A resume restarts the peak; the journal must hold the peak the next restart measures from.
      const recs: JournalRecord[] = [{ t: 'risk', from, to: s.state, reason: s.reason, who, ts: this.now }, ...this.peakRecords('risk-state', true)];
      const after = this.riskWriteAfterCancels;
      // The writer is already failing (a stalled disk: this HALT is most likely its own): a
      // commit now (any append under fsync "always") would block this thread for the whole
      // commit timeout, for nothing, while the kill switch's cancels wait. halt() and reduce()
      // write it once their cancels are out.
      if (after !== undefined && this.journalFailing()) after.write = () => this.writeRiskState(recs, s, who);
      else this.writeRiskState(recs, s, who);
      try {
        opts.observer?.riskState?.(s, this.now);
      } catch (err) {
        this.componentError('observer', err);
      }
    });
    this.publishRiskState();
    m.setComputed('latencyP99Ms', () => this.latency.percentile(99, performance.now()));
    m.setComputed('ordersPerSecond', () => this.sent.rate(performance.now()));
    // without a risk layer (which replaces it): NaN before the restore, as the risk layer's
    m.setComputed('equity', () => (this.restorePending ? Number.NaN : commonToNumber(this.totals().equity)));
    m.setFeedAges(() => this.feedAges());
    m.setExecutionRejections(() => this.executionRejections());
    opts.risk?.attach(this);
  }

  /**
   * `cwts_risk_state`: NaN while the restore is pending (the journal may hold a HALT the default
   * ACTIVE would deny), except HALTED, which is true whatever the journal holds.
   */
  private publishRiskState(): void {
    const s = this.riskState.state;
    this.opts.metrics.riskState.set(this.restorePending && s !== 'HALTED' ? Number.NaN : RISK_STATE_CODES[s]);
  }

  // ---- lifecycle ------------------------------------------------------------------------

  async start(): Promise<void> {
    const traced = this.tracing?.phase('engine_start');
    const log = this.opts.logger;
    for (const v of this.venues.values()) {
      const list = await v.marketData.loadInstruments(v.symbols);
      if (this.stopping) return; // stop() during start(): nothing more starts
      for (const i of list) {
        this.instruments.set(i.exchange, i.symbol, i);
        // the adapter's own bound: the engine's book never refuses (and resyncs on) what it accepted
        this.books.ensure(i.exchange, i.symbol, { maxSeqJump: v.marketData.maxSequenceJump });
        this.opts.metrics.bookState.labels(i.exchange, i.symbol).set(BOOK_STATE_CODES.connecting);
        // At 0 before the book connects: a first resync is an increase of 1, not a series born at 1 (FrequentResyncs).
        for (const reason of RESYNC_REASONS) this.opts.metrics.bookResyncs.labels(i.exchange, i.symbol, reason).inc(0);
      }
      const avail = v.execution.availability();
      if (!avail.canTrade) log.warn({ exchange: v.name }, `${v.name}: trading disabled: ${avail.reason}`);
    }
    this.opts.restore?.(this);
    // A restore books in the journal's instrument definitions: onto the ones loaded now (rebuild.ts).
    const onto = this.restoredOnto;
    this.restoredOnto = undefined;
    onto?.(this);
    this.restoreDone = true;
    // the restored state (ACTIVE too: no transition says so) replaces the NaN of before
    this.publishRiskState();
    // A restore books fills straight into the portfolio, not through a report: the gauge the
    // dashboard reads must show what /status shows before the first live fill.
    this.publishPositions();
    this.checkRiskInstruments();
    // the reader lets the recording carry each pair's trading status changes, which the replay enforces
    this.opts.recorder?.open([...this.instruments.values()], (exchange, symbol) => this.venues.get(exchange)?.marketData.tradingStatus?.(symbol));
    // Fills are replayed against these definitions after a restart, even for a symbol no longer configured.
    for (const i of this.instruments.values()) this.journal({ t: 'instrument', instrument: i });
    this.opts.journal?.flush();
    // Not reconciled from before its execution client starts: a fill its stream delivers from
    // then on is noted by order and trade id (noteLiveTrade), so a retry's trade list, which
    // answers it again after its order may have left memory, does not book it a second time.
    // Marked only at reconcile(), a fill streamed before that was booked live and then again by
    // the retry. Nor does such a fill move the venue's trade watermark (journalTradesWatermark).
    for (const name of this.venues.keys()) {
      this.unreconciled.set(name, { reason: 'reconciliation at start has not finished', failedAttempts: 0, delayMs: RECONCILE_RETRY_FIRST_MS });
      this.journalTradesWatermark(name, false);
    }
    for (const v of this.venues.values()) {
      if (this.stopping) return;
      await v.execution.start((r) => this.onExecutionReport(r));
      // stopped while it started: stop() may have run before this client was started
      if (this.stopping) return void (await this.stopPart(`${v.name}:execution`, () => v.execution.stop()));
    }
    // again: a client may be able to trade only once started (ccxt's loads its markets there)
    this.checkRiskInstruments();
    await this.reconcile();
    // what reconciliation booked, in whichever way it booked it
    this.publishPositions();
    if (this.stopping) return;
    if (this.opts.journal) {
      this.snapshotTimer = setInterval(() => this.journalSnapshot('timer'), this.opts.snapshotEveryMs ?? 1000);
      this.snapshotTimer.unref();
    }
    for (const v of this.venues.values()) {
      if (this.stopping) break;
      await v.marketData.start(v.symbols, this);
      if (this.stopping) await this.stopPart(`${v.name}:market_data`, () => v.marketData.stop());
    }
    if (this.stopping) {
      if (this.snapshotTimer) clearInterval(this.snapshotTimer);
      return;
    }
    if (this.opts.watchdog !== false) {
      this.watchdog = setInterval(() => this.books.checkStaleness(this.opts.clock.now(), this.opts.staleAfterMs ?? 10_000), 1000);
      this.watchdog.unref();
    }
    this.opts.risk?.start();
    this.opts.backpressure?.start();
    this.started = true;
    traced?.end({ venues: this.venues.size, instruments: this.instruments.size });
  }

  /**
   * Before readiness: every order the journal says is open is asked about at its venue, fills
   * made while we were down are applied once, trades since the last journaled fill are pulled
   * and positions compared (engine/reconcile.ts). `/health/ready` stays 503 until every venue is
   * reconciled, and no new order goes to a venue before it is. A venue whose reads fail
   * (`venue_unreachable`) is retried in the background (retryReconcile); the others trade.
   */
  private async reconcile(): Promise<void> {
    const traced = this.tracing?.phase('reconcile');
    // every venue is in `unreconciled` since before its execution client started (start())
    const run = await reconcileVenues(this, this.reconcileOptions());
    this.reconcileResult = run.result;
    if (this.stopping) return;
    this.reconcileEnded = true;
    for (const name of run.reconciled) {
      this.unreconciled.delete(name);
      this.journalTradesWatermark(name, true);
    }
    for (const [name, error] of run.unreachable) this.reconcileFailed(name, error);
    for (const name of this.liveTradesUnreconciled.keys()) if (!this.unreconciled.has(name)) this.liveTradesUnreconciled.delete(name);
    for (const name of this.reportedFindings.keys()) if (!this.unreconciled.has(name)) this.reportedFindings.delete(name);
    if (this.reconciled) this.orders.forgetJournaled();
    await this.afterReconciliation();
    traced?.end({ open_orders: this.orders.openCount() });
  }

  private reconcileOptions(): ReconcileOptions {
    let journaledTrades = this.journaledTradesByVenue;
    for (const [name, live] of this.liveTradesUnreconciled) {
      // booked since start, so journaled too: the same as the restore's for reconciliation
      if (live.size > 0) journaledTrades = { ...journaledTrades, [name]: new Set([...(journaledTrades[name] ?? []), ...live]) };
    }
    return {
      logger: this.opts.logger,
      metrics: this.opts.metrics,
      onMismatch: this.opts.onReconcileMismatch ?? 'adopt-venue',
      lastFillTs: this.lastFillTsByVenue,
      journalStartedTs: this.journalStartedTs,
      journaledTrades,
      journaledUnidentifiedFills: this.journaledUnidentifiedFillsByVenue,
      reportedFindings: this.reportedFindings,
      stopping: () => this.stopping,
      redact: this.redactText,
    };
  }

  /** What a state reconciliation may have set (or a restore latched) asks of the orders it left working. */
  private async afterReconciliation(): Promise<void> {
    // HALTED means nothing is working at a venue: a restored HALT cancels what reconciliation left open.
    if (this.riskState.state === 'HALTED' && this.orders.openCount() > 0) await this.cancelAllOpen(`risk state HALTED: ${this.riskState.reason}`, 5000, this.stillHalted);
    // REDUCING (restored latched) likewise leaves nothing working that could grow a position.
    else if (this.riskState.state === 'REDUCING') this.cancelGrowing(`risk state REDUCING: ${this.riskState.reason}`);
  }

  /**
   * A venue's reconciliation could not complete: it stays unreconciled (not ready, no new orders
   * on it) and is tried again after a backoff (RECONCILE_RETRY_FIRST_MS doubling to
   * RECONCILE_RETRY_MAX_MS): a venue down for a minute at start must not keep the deployment
   * unready until someone restarts it, nor be hammered while it is down.
   */
  private reconcileFailed(name: string, error: string): void {
    const u = this.unreconciled.get(name);
    if (u === undefined || this.stopping) return;
    // shown on /health/ready and /status, which the redactor does not see
    u.reason = `reconciliation could not complete: ${this.redactText(error)}`;
    const delay = u.failedAttempts === 0 ? RECONCILE_RETRY_FIRST_MS : Math.min(2 * u.delayMs, RECONCILE_RETRY_MAX_MS);
    u.failedAttempts++;
    u.delayMs = delay;
    u.nextAttemptTs = this.now + delay;
    this.opts.logger.warn({ exchange: name, failedAttempts: u.failedAttempts, retryInMs: delay }, `${name}: not reconciled (${u.reason}); no new orders on it and not ready until it is; trying again in ${delay} ms`);
    u.timer = this.timers.setTimeout(() => {
      u.timer = undefined;
      // one retry at a time: two venues' reconciliations never book into the engine together
      this.reconcileRetries = this.reconcileRetries.then(() =>
        this.retryReconcile(name).catch((err) => {
          // a bug, not the venue: counted, and the venue tried again like after a failed read
          this.componentError('reconcile', err);
          this.reconcileFailed(name, (err as Error)?.message ?? String(err));
        }),
      );
    }, delay);
  }

  /** One more attempt at a venue's reconciliation (reconcileFailed scheduled it). */
  private async retryReconcile(name: string): Promise<void> {
    const u = this.unreconciled.get(name);
    if (u === undefined || this.stopping) return;
    u.nextAttemptTs = undefined;
    const stateBefore = this.riskState.state;
    const run = await reconcileVenues(this, { ...this.reconcileOptions(), venues: [name], retry: true });
    this.mergeReconcileRun(name, run);
    if (this.stopping) return;
    const error = run.unreachable.get(name);
    if (error !== undefined) {
      this.reconcileFailed(name, error);
      // What it found before the read failed counted (and under "halt" HALTed): nothing may stay
      // working then, failed read or not. Returning here left every open order working HALTED.
      if (run.result.mismatches.length > 0 || this.riskState.state !== stateBefore) await this.afterReconciliation();
      return;
    }
    if (!run.reconciled.includes(name)) return;
    this.unreconciled.delete(name);
    this.journalTradesWatermark(name, true);
    this.liveTradesUnreconciled.delete(name);
    this.reportedFindings.delete(name);
    if (this.reconciled) this.orders.forgetJournaled();
    this.publishPositions();
    const found = run.result.mismatches.length;
    this.opts.logger.info({ exchange: name, failedAttempts: u.failedAttempts, mismatches: found }, `${name}: reconciled after ${u.failedAttempts} failed attempt(s)${found > 0 ? `, ${found} mismatch(es) (see /status)` : ''}; new orders on it are accepted${this.reconciled ? ', and every venue is reconciled' : ''}`);
    // under on_mismatch = "halt" what it found HALTs, as at start: nothing may stay working
    await this.afterReconciliation();
  }

  /**
   * A retry's findings join those at start (`/status` reconcile): the venue's counts replaced, its
   * mismatches and recoveries added. A run lists only what no earlier attempt reported
   * (reportedFindings), so a finding read again is not listed again however long the venue fails.
   */
  private mergeReconcileRun(name: string, run: ReconcileRun): void {
    const into = this.reconcileResult;
    if (into === undefined) return;
    const stats = run.result.venues.find((v) => v.exchange === name);
    if (stats !== undefined) into.venues = [...into.venues.filter((v) => v.exchange !== name), stats];
    into.mismatches.push(...run.result.mismatches);
    into.recovered.push(...run.result.recovered);
    into.at = run.result.at;
  }

  /**
   * A fill booked on a venue not reconciled yet, live or by reconciliation itself (every booking
   * of reconcile.ts comes through onExecutionReport): a retry's trade list answers it again. One
   * without a trade id is noted by the keys step 2 matches such fills by (unidentifiedKeysOf),
   * each booking once. Noted only when reconciliation booked it, one the stream booked was booked
   * again by the retry once its order had closed (no status answer covers it then). Noted with
   * its venue time: a retry counts only those within its trade list's window (one from before
   * took a later fill alike for itself, and that fill was never booked).
   */
  private noteLiveTrade(r: ExecutionReport): void {
    if (r.tradeId === undefined) {
      for (const k of unidentifiedKeysOf(r.exchange, r)) this.orders.noteUnidentifiedFill(r.exchange, k, r.ts);
      return;
    }
    if (typeof r.tradeId !== 'string') return;
    let keys = this.liveTradesUnreconciled.get(r.exchange);
    if (keys === undefined) this.liveTradesUnreconciled.set(r.exchange, (keys = new Set()));
    for (const k of bookedTradeKeys(r)) keys.add(k);
  }

  /**
   * Journals where the next start reads a venue's trades from (journal/store.ts,
   * tradesWatermarks): this run's watermark, which fills booked while the venue is not reconciled
   * do not move; once its reconciliation completes, fills journaled after it move it on. The
   * first is journaled before the venue's execution client starts, so before any fill of the run:
   * a crash cannot keep such a fill and lose the record that discounts it.
   */
  private journalTradesWatermark(name: string, reconciled: boolean): void {
    if (this.opts.journal === undefined) return;
    this.persisted.set(TRADES_WATERMARK_SCOPE, name, { ts: this.lastFillTsByVenue[name] ?? null, reconciled } satisfies TradesWatermark);
  }

  /** Venues not reconciled yet, with why (`/health/ready`, `/status`); empty once every venue is. */
  unreconciledVenues(): UnreconciledVenue[] {
    return [...this.unreconciled].map(([exchange, u]) => ({ exchange, reason: u.reason, failedAttempts: u.failedAttempts, ...(u.nextAttemptTs !== undefined ? { nextAttemptTs: u.nextAttemptTs } : {}) }));
  }

  /**
   * Set by a journal restore (engine/rebuild.ts): puts what it restored, booked in the journal's
   * instrument definitions, onto the definitions loaded now (a venue may have changed a tick or
   * lot size). start() runs it once, right after the restore; it throws, and the start fails,
   * when a restored quantity has no place on the new grid.
   */
  restoredOnto: ((engine: Engine) => void) | undefined;

  /**
   * The risk layer counts every amount in one account currency: it refuses (throws) when a venue
   * that can trade lists an instrument quoted in another, or a restored position is on one
   * (RiskManager.checkInstruments). Market-data-only venues are not its concern.
   */
  private checkRiskInstruments(): void {
    const risk = this.opts.risk;
    if (risk?.checkInstruments === undefined) return;
    const traded: Instrument[] = [];
    for (const v of this.venues.values()) {
      if (!v.execution.availability().canTrade) continue;
      for (const symbol of v.symbols) {
        const i = this.instruments.get(v.name, symbol);
        if (i !== undefined) traded.push(i);
      }
    }
    risk.checkInstruments(traded, this.portfolio.all().map((p) => p.instrument));
  }

  /** Per venue, the journal's trade watermark (set by the restore; reconciliation pulls trades from it; journal/store.ts, tradesWatermarks). */
  lastFillTsByVenue: Record<string, number> = {};
  /** When the attached journal began (JournalContents.startedTs); undefined without one. */
  journalStartedTs: number | undefined;
  /** The journaled fills at or after the watermark, per venue, by bookedTradeKeys (set by the restore; see ReconcileOptions). */
  journaledTradesByVenue: Record<string, ReadonlySet<string>> = {};
  /** Journaled fills without a trade id at or after the watermark, per venue (set by the restore; see ReconcileOptions). */
  journaledUnidentifiedFillsByVenue: Record<string, ReadonlyMap<string, number>> = {};

  /**
   * An instrument the journal defines for a restored order whose symbol the config no longer
   * names: its fills are booked and its position valued (at its last fill: it has no book), and
   * nothing trades it (an order needs a synced book). Called by the restore, before start ends.
   */
  bookOnlyInstrument(i: Instrument): void {
    if (!this.venues.has(i.exchange) || this.instruments.get(i.exchange, i.symbol) !== undefined) return;
    this.instruments.set(i.exchange, i.symbol, i);
    this.opts.logger.warn({ exchange: i.exchange, symbol: i.symbol }, `${i.exchange} ${i.symbol}: not in the config, but the journal holds orders on it: its fills are booked, it is not traded`);
  }

  /**
   * Cancels or keeps open orders, stops intake, flushes. Safe to call twice. Nothing new is
   * traded once stopping (events are not dispatched, intents are refused); the cancels go out
   * while the venues' market data still runs: a simulated venue's order flow is driven by its
   * market clock, and a trader expects the orders gone before the feeds are. `keepJournalOpen`:
   * the journal is flushed, and closed only by closeJournal().
   */
  async stop(reason = 'stop', opts: { keepJournalOpen?: boolean } = {}): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const log = this.opts.logger;
    log.info({ reason }, `stopping: ${reason}`);
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    if (this.haltFollow) clearTimeout(this.haltFollow);
    this.haltFollow = undefined;
    for (const ask of this.resyncAsks.values()) this.endResyncAsk(ask);
    for (const u of this.unreconciled.values()) {
      if (u.timer !== undefined) this.timers.clearTimeout(u.timer);
      u.timer = undefined;
      u.nextAttemptTs = undefined;
    }
    this.opts.backpressure?.stop();
    this.opts.risk?.stop();
    if ((this.opts.onShutdown ?? 'cancel') === 'cancel') await this.cancelAllOpen('shutdown', 5000);
    else if (this.orders.openCount() > 0) log.warn({ open: this.orders.openCount() }, 'leaving open orders at the venues (on_shutdown = keep)');
    await Promise.all([...this.venues.values()].map((v) => this.stopPart(`${v.name}:market_data`, () => v.marketData.stop())));
    for (const d of this.detectors) {
      if (d.dispose) await this.stopPart(`detector:${d.name}`, () => d.dispose!());
    }
    await Promise.all([...this.venues.values()].map((v) => this.stopPart(`${v.name}:execution`, () => v.execution.stop())));
    // A reconciliation retry the stop overtook ends on its next read (the client is stopped): what
    // it read before is booked, and journaled, before the journal closes.
    await this.stopPart('reconcile', () => this.reconcileRetries);
    this.journalSnapshot('stop');
    if (opts.keepJournalOpen) this.flushJournalAtStop();
    else this.opts.journal?.close();
    this.opts.recorder?.close();
    this.deferredLog.drain();
    this.resolveEnd();
  }

  /**
   * Closes the journal a stop with `keepJournalOpen` left open (run: once the plugins, the
   * cluster shard and tracing have stopped, so that a HALT during their teardown, a process
   * fault's, is journaled, and the writer lock refuses a second instance until then). Safe to
   * call twice.
   */
  closeJournal(): void {
    this.opts.journal?.close();
  }

  /**
   * What the stop wrote, committed while the journal stays open: a kill during the teardown
   * that follows (a plugin's dispose() hanging past the supervisor's grace) loses none of it. A
   * failing writer is not waited on again here: close() commits, or latches a HALT for, the rest.
   */
  private flushJournalAtStop(): void {
    if (this.opts.journal === undefined || this.journalFailing()) return;
    try {
      this.opts.journal.flush();
    } catch (err) {
      this.componentError('journal', err);
    }
  }

  /**
   * One plugin's stop() or dispose(), under the stop deadline (EngineOptions.stopTimeoutMs). One
   * that throws (at once or later) is counted as its error; one that never settles (a WebSocket
   * close waiting for the venue's closing frame) is logged and counted when the deadline passes.
   * Either way it stops nothing else: the journal must still be flushed and closed, and `run`
   * must exit. Never rejects.
   */
  private async stopPart(component: string, f: () => unknown): Promise<void> {
    const ms = this.opts.stopTimeoutMs ?? DEFAULT_PLUGIN_DISPOSE_TIMEOUT_MS;
    try {
      await withDeadline(f, ms);
    } catch (err) {
      if (!(err instanceof DeadlineExceeded)) return this.componentError(component, err);
      this.opts.metrics.errors.labels(component).inc();
      this.opts.logger.error({ component, timeoutMs: ms }, `${component}: stop did not finish within ${ms} ms ([system] plugin_dispose_timeout_ms); going on without it`);
    }
  }

  /**
   * Cancels every open order and waits (bounded) for the venues to confirm. Meanwhile an order
   * the venue shows working again (its cancel refused for a passing reason: a rate limit, a
   * timeout the adapter reports as a refused request) is cancelled again, with backoff
   * (CANCEL_RESEND_FIRST_MS doubling to CANCEL_RESEND_MAX_MS). Only the orders open when it was
   * called are waited for and cancelled again, and only while `wanted()` holds (a HALT's: while
   * still HALTED): after a resume the strategy's new orders are its own. Under HALTED, what is
   * still open at the deadline is handed to the HALT's follow-up (followHalt), which goes on
   * re-sending.
   */
  async cancelAllOpen(why: string, timeoutMs: number, wanted: () => boolean = () => true): Promise<number> {
    this.cancellingAll++;
    const resend = { delay: CANCEL_RESEND_FIRST_MS };
    try {
      return await this.cancelAllOpenAndWait(why, timeoutMs, resend, wanted);
    } finally {
      this.cancellingAll--;
      // the follow-up goes on at the backoff reached here
      this.followHalt(resend.delay);
    }
  }

  private async cancelAllOpenAndWait(why: string, timeoutMs: number, resend: { delay: number }, wanted: () => boolean): Promise<number> {
    // an order being committed (a HALT its failed commit raised) never reached its venue: not one to cancel or wait for
    const unsentId = this.unsentOrder;
    const open = unsentId === undefined ? this.orders.allOpen() : this.orders.allOpen().filter((o) => o.clientOrderId !== unsentId);
    const targets = new Set(open.map((o) => o.clientOrderId));
    // what each had filled when the cancels went out: a fill during the wait is told apart
    const filledBefore = new Map(open.map((o) => [o.clientOrderId, o.filledQty]));
    const stillOpen = () => this.orders.allOpen().filter((o) => targets.has(o.clientOrderId));
    // One venue whose client throws must not keep the others' orders working: each cancel is
    // tried, and one that could not be sent is not waited for (no answer will come).
    let unsent: Set<string> | undefined;
    for (const o of open) {
      if (!this.tryCancel(o.clientOrderId)) (unsent ??= new Set()).add(o.clientOrderId);
    }
    const waitingFor = (): number => stillOpen().filter((o) => unsent === undefined || !unsent.has(o.clientOrderId)).length;
    const deadline = Date.now() + timeoutMs;
    let resendAt = Date.now() + resend.delay;
    // Until every order has ended, not only those awaiting a cancel answer: one whose cancel was
    // refused before the venue knew it is cancelled again when acked (followCancel), one whose
    // cancel was refused while it worked is cancelled again here.
    while (waitingFor() > 0 && Date.now() < deadline && wanted()) {
      await new Promise((r) => setTimeout(r, 10));
      if (Date.now() < resendAt || !wanted()) continue;
      if (this.recancelWorking(why, unsent, targets) > 0) resend.delay = Math.min(2 * resend.delay, CANCEL_RESEND_MAX_MS);
      resendAt = Date.now() + resend.delay;
    }
    const left = stillOpen().length;
    if (open.length > 0) this.logCancelOutcome(open, filledBefore, left, why);
    return left;
  }

  /**
   * The line that ends a cancel of every open order (a stop's, a HALT's): each order counted by
   * how it ended. An order that filled while its cancel was in flight is a fill, never a cancel:
   * the operator reading "cancelled" would take it for gone, when it left a position.
   */
  private logCancelOutcome(open: readonly Order[], filledBefore: ReadonlyMap<string, number>, left: number, why: string): void {
    let cancelled = 0;
    let filled = 0;
    let rejected = 0;
    let partlyFilled = 0;
    for (const o of open) {
      // the order as it is now (updated in place; a closed one retention forgot is the object we held)
      const now = this.orders.get(o.clientOrderId) ?? o;
      if (now.status === 'filled') filled++;
      else if (now.status === 'rejected') rejected++;
      else if (now.status === 'cancelled') {
        cancelled++;
        if (now.filledQty > (filledBefore.get(o.clientOrderId) ?? 0)) partlyFilled++;
      }
    }
    const also = [
      filled > 0 ? `${filled} filled before its cancel took effect` : '',
      partlyFilled > 0 ? `${partlyFilled} of the cancelled partly filled first` : '',
      rejected > 0 ? `${rejected} rejected by the venue` : '',
      left > 0 ? `${left} still open` : '',
    ].filter((t) => t !== '');
    const text = also.length === 0 && cancelled === open.length ? `cancelled ${cancelled} open order(s) (${why})` : `cancelled ${cancelled} of ${open.length} open order(s) (${why}): ${also.join(', ')}`;
    this.opts.logger.info({ cancelled, filled, partlyFilled, rejected, stillOpen: left, why }, text);
  }

  /** cancel(), with a throw from the router or a venue counted instead of thrown; true: the cancel went out. */
  private tryCancel(clientOrderId: string): boolean {
    try {
      return this.cancel(clientOrderId);
    } catch (err) {
      this.componentError('router', err);
      return false;
    }
  }

  /** Warnings for cancels sent again, per reason they are wanted for. */
  private readonly recancelLog = new LogThrottle(() => this.now);

  /**
   * Cancels again every open order that is not awaiting a cancel answer (its cancel was refused,
   * or could not be sent): the ones a HALT or a shutdown wants gone. Returns how many it tried.
   * `unsent`: ids whose cancel never went out; one that goes out now leaves it. `only`: the
   * orders wanted gone (all open ones when not given).
   */
  private recancelWorking(why: string, unsent?: Set<string>, only?: ReadonlySet<string>): number {
    let tried = 0;
    for (const o of this.orders.allOpen()) {
      if (o.status === 'pending_cancel' || (only !== undefined && !only.has(o.clientOrderId))) continue;
      tried++;
      if (this.tryCancel(o.clientOrderId)) unsent?.delete(o.clientOrderId);
    }
    if (tried > 0) {
      const more = this.recancelLog.take(why);
      if (more !== undefined) this.opts.logger.warn({ orders: tried, why }, `${tried} order(s) still working after their cancel was refused or not sent: cancelling again (${why})${more}`);
    }
    return tried;
  }

  private readonly stillHalted = (): boolean => this.riskState.state === 'HALTED';

  /** cancelAllOpen() calls running now (their own loop re-sends; the HALT's follow-up waits for them). */
  private cancellingAll = 0;
  /**
   * The order submitOne is committing to the journal, not yet handed to its venue: no cancel goes
   * out for it (cancelChild, cancelAllOpen). submitOne closes it if it does not go out.
   */
  private unsentOrder: string | undefined;
  /** The HALT's follow-up round, when one is due (followHalt). */
  private haltFollow: NodeJS.Timeout | undefined;

  /**
   * While HALTED, with orders open and the engine not stopping: every `delay` (doubling from
   * CANCEL_RESEND_FIRST_MS up to CANCEL_RESEND_MAX_MS) the orders whose cancel the venue refused
   * (back to open or partially filled) are cancelled again. Ends when nothing is open, the state
   * leaves HALTED or the engine stops. HALTED must mean nothing works at a venue: a cancel
   * refused for a rate limit or a timeout was never sent again, and the order kept working.
   */
  private followHalt(delay = CANCEL_RESEND_FIRST_MS): void {
    if (this.haltFollow !== undefined || this.stopping || this.riskState.state !== 'HALTED' || this.orders.openCount() === 0) return;
    const timer = setTimeout(() => {
      this.haltFollow = undefined;
      if (this.stopping || this.riskState.state !== 'HALTED') return;
      // a cancelAllOpen() running (the kill switch pressed again) re-sends itself, and hands over when it ends
      if (this.cancellingAll === 0) this.recancelWorking(`risk state HALTED: ${this.riskState.reason}`);
      this.followHalt(Math.min(2 * delay, CANCEL_RESEND_MAX_MS));
    }, delay);
    timer.unref?.();
    this.haltFollow = timer;
  }

  /** Resolves once every venue reported end of stream (replay) or the engine stopped. */
  waitForEndOfStreams(): Promise<void> {
    if (this.stopping || this.ended.size >= this.venues.size) return Promise.resolve();
    return new Promise((r) => this.endWaiters.push(r));
  }

  /** The risk layer, when one is configured (status, manual control). */
  get risk(): EngineRiskHooks | undefined {
    return this.opts.risk;
  }

  /**
   * HALTED, and every open order cancelled; a halt while HALTED cancels what is still open again.
   * The cancels go out whatever the state change's side effects do (finally): a throw there once
   * left the state HALTED and every order working.
   */
  halt(reason: string): void {
    this.changeThenCancel(
      () => this.riskState.set('HALTED', reason, this.now),
      () => {
        // caught: an unhandled rejection here would end the process (Node 20) in the middle of a HALT
        if (this.orders.openCount() > 0) this.cancelAllOpen(`kill switch: ${reason}`, 5000, this.stillHalted).catch((err) => this.componentError('engine', err));
      },
    );
  }

  /**
   * Set by changeThenCancel around its state change: where the risk state handler leaves the
   * write of a transition that a failing journal would block on, to run after the cancels.
   */
  private riskWriteAfterCancels: { write?: () => void } | undefined;

  /**
   * A risk state change, then its cancels (sent whatever the change's side effects do), then
   * the journal write the change left for after them (riskWriteAfterCancels).
   */
  private changeThenCancel(change: () => void, cancel: () => void): void {
    const outer = this.riskWriteAfterCancels;
    const held: { write?: () => void } = {};
    this.riskWriteAfterCancels = held;
    try {
      change();
    } finally {
      this.riskWriteAfterCancels = outer;
      try {
        cancel();
      } finally {
        held.write?.();
      }
    }
  }

  /**
   * REDUCING, and every open order that a new order could not be in REDUCING is cancelled
   * (cancelGrowing); already REDUCING, what could still grow a position is cancelled again.
   * Nothing happens from HALTED (only a resume leaves it; its cancels cover everything).
   */
  reduce(reason: string): void {
    if (this.riskState.state === 'HALTED') return;
    this.changeThenCancel(
      () => this.riskState.set('REDUCING', reason, this.now),
      () => this.cancelGrowing(`risk state REDUCING: ${reason}`),
    );
  }

  /**
   * Cancels, per instrument, the open orders that could grow its position: every order on the
   * position's side, every order on a flat one, and those opposite it beyond what takes it to
   * flat (kept oldest first while their remaining quantities add up to at most the position: the
   * REDUCING pre-trade rule, applied to the orders already working). Orders awaiting a cancel
   * answer are left as they are. Returns how many cancels it sent.
   */
  private cancelGrowing(why: string): number {
    if (this.orders.openCount() === 0) return 0;
    let asked = 0;
    for (const i of this.instruments.values()) asked += this.cancelPastFlat(i.exchange, i.symbol, false);
    if (asked > 0) this.opts.logger.warn({ orders: asked, why }, `cancelling ${asked} open order(s) that could grow a position (${why})`);
    return asked;
  }

  // ---- market data ----------------------------------------------------------------------

  onMarketEvent(ev: MarketEvent): void {
    if (this.stopping) return;
    this.opts.beforeEvent?.(ev);
    // A dispatch inside another (an adapter delivering an event from a callback of this one) ends
    // back in the outer one.
    const outer = this.dispatchStart;
    this.dispatchStart = performance.now();
    try {
      this.dispatch(ev);
    } finally {
      this.dispatchStart = outer;
    }
  }

  private dispatch(ev: MarketEvent): void {
    this.tracing?.eventStart(ev, this.dispatchStart);
    this.counts.events++;
    this.byType[ev.type] = (this.byType[ev.type] ?? 0) + 1;
    this.series.events.get(ev.exchange, ev.symbol, ev.type).n++;
    const now = this.now;
    let rec: BookRecord | undefined;
    switch (ev.type) {
      case 'book_snapshot':
        rec = this.books.applySnapshot(ev, now);
        break;
      case 'book_delta':
        rec = this.books.applyDelta(ev, now);
        break;
      case 'trade':
        this.lastTrade.set(ev.exchange, ev.symbol, ev.price);
        break;
      default:
        break;
    }
    this.venues.get(ev.exchange)?.execution.onMarketEvent?.(ev);
    this.opts.recorder?.write(ev);
    this.opts.risk?.afterMarketEvent(ev, rec);
    this.tracing?.mark('book');
    const outer = this.dispatchingDetector;
    for (let i = 0; i < this.detectors.length; i++) {
      const d = this.detectors[i]!;
      this.dispatchingDetector = d.name;
      try {
        d.onMarketEvent(ev, this);
      } catch (err) {
        this.componentError(`detector:${d.name}`, err);
      }
    }
    this.dispatchingDetector = outer;
    this.tracing?.mark('detectors');
    const s = this.opts.strategy;
    if (s?.onMarketEvent) {
      try {
        s.onMarketEvent(ev, this);
      } catch (err) {
        this.componentError(`strategy:${s.name}`, err);
      }
    }
    this.tracing?.eventEnd();
  }

  onFeedStatus(st: FeedStatusEvent): void {
    // shown on /health/ready and /status (an adapter's reason may quote a socket error and its URL)
    if (st.reason !== '') {
      const reason = this.redactText(st.reason);
      if (reason !== st.reason) st = { ...st, reason };
    }
    this.books.applyStatus(st);
    this.opts.recorder?.write(st);
    this.opts.risk?.onFeedStatus(st);
  }

  /**
   * The engine's book found what its adapter did not (BookRecord.ownResync: a gap between the
   * deltas it forwarded, an invalid level or snapshot, a restarted sequence the watchdog saw) and
   * waits for a snapshot nothing at the venue knows is needed: without asking, a book behind a
   * third party's adapter (or a kit that missed it) stays RESYNCING until the venue happens to
   * send one. Asked on a timer, not inside the dispatch that found it (the adapter answers with a
   * feed status, into the engine), and again, RESYNC_ASK_FIRST_MS doubling to RESYNC_ASK_MAX_MS,
   * while the book is still resyncing on its own account: a request can be lost to a reconnect.
   */
  private askForResync(rec: BookRecord): void {
    const { exchange, symbol } = rec.book;
    let ask = this.resyncAsks.get(exchange, symbol);
    if (this.stopping || ask?.active) return;
    const md = this.venues.get(exchange)?.marketData;
    if (md === undefined) return;
    if (md.requestResync === undefined) {
      if (!this.cannotAskResync.has(exchange)) {
        this.cannotAskResync.add(exchange);
        this.opts.logger.warn({ exchange, symbol }, `${exchange}:${symbol}: book resyncing (${rec.reason}); this venue's adapter cannot be asked for a snapshot (no requestResync): its books stay RESYNCING until the venue sends one`);
      }
      return;
    }
    if (ask === undefined) this.resyncAsks.set(exchange, symbol, (ask = { active: false, timer: undefined, asks: 0, delayMs: 0 }));
    const a = ask;
    a.active = true;
    a.asks = 0;
    const fire = (): void => {
      a.timer = undefined;
      if (this.stopping || rec.state !== 'resyncing') return void (a.active = false);
      // The adapter announced the resync (its answer): it owns the snapshot; look again later.
      if (rec.ownResync) {
        a.asks++;
        a.delayMs = a.asks === 1 ? RESYNC_ASK_FIRST_MS : Math.min(2 * a.delayMs, RESYNC_ASK_MAX_MS);
        this.opts.logger.warn({ exchange, symbol, asks: a.asks }, `${exchange}:${symbol}: asking the adapter for a snapshot (book resyncing: ${rec.reason}); asking again in ${a.delayMs} ms if it still is`);
        try {
          md.requestResync!(symbol, rec.reason);
        } catch (err) {
          this.componentError(`${exchange}:market_data`, err);
        }
      }
      // Not asked (the adapter announced it first): look again no sooner than a first re-ask
      // would, never on a 0 ms timer re-arming itself until the snapshot comes.
      else a.delayMs = Math.max(a.delayMs, RESYNC_ASK_FIRST_MS);
      a.timer = this.timers.setTimeout(fire, a.delayMs);
    };
    a.timer = this.timers.setTimeout(fire, 0);
  }

  private endResyncAsks(rec: BookRecord): void {
    const ask = this.resyncAsks.get(rec.book.exchange, rec.book.symbol);
    if (ask !== undefined) this.endResyncAsk(ask);
  }

  private endResyncAsk(ask: { active: boolean; timer: unknown }): void {
    if (ask.timer !== undefined) this.timers.clearTimeout(ask.timer);
    ask.timer = undefined;
    ask.active = false;
  }

  onFeedError(component: string, message: string): void {
    this.opts.metrics.errors.labels(component).inc();
    this.opts.logger.warn({ component }, message);
  }

  /** Counted only: the adapter kit's FeedErrorReporter logs through onFeedError, rate-limited. */
  onFeedReject(r: FeedReject): void {
    this.opts.metrics.feedErrors.labels(r.exchange, r.symbol, r.reason).inc();
  }

  onEndOfStream(exchange: string): void {
    this.ended.add(exchange);
    if (this.ended.size >= this.venues.size) this.resolveEnd();
  }

  private resolveEnd(): void {
    const w = this.endWaiters;
    this.endWaiters = [];
    for (const r of w) r();
  }

  // ---- signals and orders ---------------------------------------------------------------

  emit(signal: Signal): void {
    const bad = signalProblem(signal);
    if (bad !== undefined) return this.droppedSignal(signal, bad);
    // Each (detector, exchange, symbol) is a metric series and map entry kept for the process's
    // life: a detector writing a feed string (a trade id) into the symbol made one per trade.
    if (this.instruments.get(signal.exchange, signal.symbol) === undefined) {
      return this.droppedSignal(signal, `${signal.exchange}:${signal.symbol} is not an instrument this engine trades or watches`);
    }
    this.counts.signals++;
    this.series.signals.get(this.signalLabel(signal), signal.exchange, signal.symbol).inc();
    this.digest?.update(journalStringify({ s: signal }) + '\n');
    this.journal({ t: 'signal', signal: journalableSignal(signal), ts: this.now });
    if (this.opts.observer?.signal) {
      try {
        this.opts.observer.signal(signal);
      } catch (err) {
        this.componentError('observer', err);
      }
    }
    if (this.deferredLog.enabled('info')) this.deferredLog.push(logSignal, signal, this.instrument(signal.exchange, signal.symbol), undefined);
    const s = this.opts.strategy;
    if (s && !this.stopping) {
      try {
        s.onSignal(signal, this);
      } catch (err) {
        this.componentError(`strategy:${s.name}`, err);
      }
    }
  }

  /** Error lines for dropped signals, per detector. */
  private readonly droppedSignalLog = new LogThrottle(() => this.now);

  /**
   * A signal that is not one (signalProblem), or is about no instrument of the engine: dropped before anything sees or journals it,
   * counted as its detector's error, logged at most every 10 s per detector.
   */
  private droppedSignal(signal: Signal, problem: string): void {
    const source = this.signalLabel(signal);
    const component = `detector:${source}`;
    this.opts.metrics.errors.labels(component).inc();
    const more = this.droppedSignalLog.take(source);
    if (more === undefined) return;
    this.opts.logger.error({ component }, `${component}: signal dropped, not journaled nor passed to the strategy: ${problem}${more}`);
  }

  /**
   * The `detector` label of a signal's metrics: its own name when that is a configured
   * detector's, else the detector that emitted it inside its dispatch, else "?" (an async emit,
   * or a host calling emit() itself). Never the signal's free text: each value is a series kept
   * for the process's life. The signal itself (journal, strategy, log) keeps what it says.
   */
  private signalLabel(signal: Signal): string {
    const d = (signal as Partial<Signal> | null)?.detector;
    if (typeof d === 'string' && this.detectorNames.has(d)) return d;
    return this.dispatchingDetector ?? '?';
  }

  nextSignalId(detector: string, exchange: string, symbol: string): string {
    return `${detector}:${exchange}:${symbol}:${++this.signalSeq}`;
  }

  submit(intent: OrderIntent): SubmitResult {
    this.tracing?.mark('order');
    const router = this.opts.router;
    if (router?.submitParent) return this.submitParent(router, intent);
    let routed: readonly OrderIntent[];
    if (router === undefined) routed = [intent];
    else {
      try {
        routed = router.route(intent, this);
      } catch (err) {
        // nothing was sent: the strategy is answered, not thrown at (a timer's throw ends the process)
        return this.routerFailed(intent, 'route', err);
      }
    }
    // The direct router hands back the intent itself, which then goes through the checks as an order.
    if (routed.length === 1 && routed[0] === intent) {
      this.tracing?.mark('route');
      return this.submitOne(intent);
    }
    // A router that split or changed the intent: the whole order passes the per-order checks first.
    const refused = this.checkParent(intent);
    if (refused !== undefined) return refused;
    this.tracing?.mark('route');
    if (routed.length === 0) return this.refuse(intent, 'INVALID_ORDER', 'the router produced no order');
    if (routed.length === 1) return this.submitOne(routed[0]!);
    return this.submitSplit(routed);
  }

  /**
   * The orders a router split one intent into through route() (a router with submitParent keeps
   * its own parents). Nothing goes out unless every one can before the risk checks (the engine
   * running, the venue able to trade, the pair's trading status, a synced book): a refusal the
   * engine can know up front refuses the whole intent. Then each goes through the risk checks
   * and out in turn; those refused there (a limit an earlier one now counts toward) do not take
   * back those sent: the answer is accepted, with every sent order's id (`clientOrderIds`,
   * the first as `clientOrderId`) and the refusals in `message`. Answering with the last order's
   * result once told a strategy "refused" while half its order worked at a venue, under no id.
   */
  private submitSplit(routed: readonly OrderIntent[]): SubmitResult {
    for (let k = 0; k < routed.length; k++) {
      const no = this.unsendable(routed[k]!);
      if (no !== undefined) return { ...no, message: `${no.message} (order ${k + 1} of ${routed.length} the router split the intent into: none sent)` };
    }
    const ids: string[] = [];
    let refusals = '';
    let first: SubmitResult | undefined;
    for (let k = 0; k < routed.length; k++) {
      const r = routed[k]!;
      const res = this.submitOne(r);
      if (res.accepted) ids.push(res.clientOrderId!);
      else {
        first ??= res;
        refusals += `${refusals === '' ? '' : '; '}${r.exchange} ${r.symbol} ${r.qty} lots: ${res.reason} ${res.message ?? ''}`.trimEnd();
      }
    }
    if (ids.length === 0) return first!;
    return first === undefined ? { accepted: true, clientOrderId: ids[0], clientOrderIds: ids } : { accepted: true, clientOrderId: ids[0], clientOrderIds: ids, message: `${ids.length} of ${routed.length} orders sent; refused: ${refusals}` };
  }

  /** A refused order: counted, logged at debug. A method, not a closure per submitOne call. */
  private refuse(intent: OrderIntent, reason: RejectReason, message: string): SubmitResult {
    this.counts.rejected++;
    this.series.rejections.get(reason).inc();
    this.opts.logger.debug({ reason, exchange: intent.exchange, symbol: intent.symbol }, message);
    return { accepted: false, reason, message };
  }

  /** The engine's refusals before the risk checks (counted, as refuse() does), or undefined when the order may go on to them. */
  private unsendable(intent: OrderIntent): SubmitResult | undefined {
    if (this.stopping) return this.refuse(intent, 'SHUTTING_DOWN', 'engine is shutting down');
    if (this.riskState.state === 'HALTED') return this.refuse(intent, 'KILL_SWITCH', `risk state HALTED: ${this.riskState.reason}`);
    // before anything reads the intent's side or type (back-pressure's reduces-exposure test, the pair's trading status)
    const invalid = orderValueProblem(intent);
    if (invalid !== undefined) return this.refuse(intent, 'INVALID_ORDER', invalid);
    const bp = this.opts.backpressure;
    if (bp?.active && !reducesExposure(intent, this)) {
      bp.noteRefused();
      return this.refuse(intent, 'BACKPRESSURE', 'back-pressure: intake outpaces the engine (event-loop lag or a feed ring over its bound); only orders that reduce exposure are accepted until it recovers');
    }
    const venue = this.venues.get(intent.exchange);
    const instrument = this.instrument(intent.exchange, intent.symbol);
    if (!venue || !instrument) return this.refuse(intent, 'INVALID_ORDER', `unknown instrument ${intent.exchange}:${intent.symbol}`);
    const avail = venue.execution.availability();
    if (!avail.canTrade) return this.refuse(intent, 'NO_CREDENTIALS', `${intent.exchange}: ${avail.reason}`);
    if (this.unreconciled.size > 0) {
      const u = this.unreconciled.get(intent.exchange);
      // What is open and held there is not known: the journal's view may be wrong.
      if (u !== undefined) return this.refuse(intent, 'VENUE_NOT_TRADING', `${intent.exchange}: not reconciled (${u.reason}); no new orders on it until it is`);
    }
    const closed = tradingRefusal(venue.marketData.tradingStatus?.(intent.symbol) ?? instrument.trading, intent); if (closed !== undefined) return this.refuse(intent, 'VENUE_NOT_TRADING', `${intent.exchange}: ${closed}`); // docs/venues.md, "Pair trading status"
    const rec = this.books.get(intent.exchange, intent.symbol);
    if (!rec || rec.state !== 'synced') return this.refuse(intent, 'BOOK_NOT_SYNCED', `book ${intent.exchange}:${intent.symbol} is ${rec?.state ?? 'missing'}${rec ? `: ${rec.reason}` : ''}`);
    return undefined;
  }

  /**
   * RouterHost: the venue-side part of unsendable() for a router choosing venues, counted nowhere.
   * (Stopping, HALTED and back-pressure refuse every venue alike; the book's health the router reads itself.)
   */
  venueRefusal(intent: Readonly<OrderIntent>): RejectReason | undefined {
    const venue = this.venues.get(intent.exchange);
    const instrument = this.instrument(intent.exchange, intent.symbol);
    if (!venue || !instrument) return 'INVALID_ORDER';
    if (!venue.execution.availability().canTrade) return 'NO_CREDENTIALS';
    if (this.unreconciled.has(intent.exchange)) return 'VENUE_NOT_TRADING';
    if (tradingRefusal(venue.marketData.tradingStatus?.(intent.symbol) ?? instrument.trading, intent) !== undefined) return 'VENUE_NOT_TRADING';
    return undefined;
  }

  private submitOne(intent: OrderIntent): SubmitResult {
    const no = this.unsendable(intent);
    if (no !== undefined) return no;
    const venue = this.venues.get(intent.exchange)!;
    const checks = this.riskChecks;
    for (let i = 0; i < checks.length; i++) {
      const d = this.runCheck(checks[i]!, intent);
      if (!d.ok) {
        // what the checks before it spent on the order (order_rate's token) is handed back
        this.refundChecks(i, intent);
        return this.refuse(intent, d.reason, d.message);
      }
    }
    this.tracing?.mark('risk');
    let order: Order;
    try {
      order = this.orders.create(intent, this.now);
    } catch (err) {
      // the client id block could not be reserved in the journal: no id may leave unreserved
      this.refundChecks(checks.length, intent);
      return this.refuse(intent, 'VENUE_ERROR', `order not sent: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (this.opts.journal) {
      // A failed commit reports itself (the HALT) from inside append(), while this order is open:
      // the HALT's cancels must not reach a venue that was never handed it.
      const outer = this.unsentOrder;
      this.unsentOrder = order.clientOrderId;
      // Under fsync "always" the order is committed before it leaves; a failed commit stops it here.
      const committed = this.opts.journal.append({ t: 'order', order: { ...order }, ts: this.now });
      this.unsentOrder = outer;
      if (!committed) {
        this.orders.forceClose(order.clientOrderId, 'journal commit failed; not sent');
        this.refundChecks(checks.length, intent);
        return this.refuse(intent, 'VENUE_ERROR', `journal ${this.opts.journal.path}: commit failed, order ${order.clientOrderId} not sent`);
      }
      // Halted (or stopping) during the commit: its cancels passed this order over, so it must not leave now.
      if (this.riskState.state === 'HALTED' || this.stopping) {
        const halted = this.riskState.state === 'HALTED';
        const why = halted ? `risk state HALTED: ${this.riskState.reason}` : 'engine is shutting down';
        this.closeUnsent(order, halted ? 'KILL_SWITCH' : 'SHUTTING_DOWN', `not sent: ${why}`);
        this.refundChecks(checks.length, intent);
        return this.refuse(intent, halted ? 'KILL_SWITCH' : 'SHUTTING_DOWN', `order ${order.clientOrderId} not sent: ${why}`);
      }
    }
    try {
      venue.execution.submit(order);
    } catch (err) {
      // A plugin's bug, not the strategy's: the order is closed as rejected (journaled, so a
      // restart does not find it open) and the strategy is answered, not thrown at.
      this.rejectUnsent(order, err);
      this.refundChecks(checks.length, intent);
      return this.refuse(intent, 'VENUE_ERROR', `${intent.exchange}: order ${order.clientOrderId} not sent: the execution client's submit() threw`);
    }
    this.counts.orders++;
    // Tick-to-order ends here: a client that writes to its socket synchronously has handed the order's bytes to it.
    const t = performance.now();
    this.tracing?.sent(order.clientOrderId);
    // the ack latency runs from here (a client that reported inside submit() was answered in no time)
    this.orders.markSent(order, t);
    // The order is at the venue: the caller must get its client id whatever a tap does.
    if (this.opts.observer?.order) {
      try {
        this.opts.observer.order(order);
      } catch (err) {
        this.componentError('observer', err);
      }
    }
    // Only orders sent inside a market-event dispatch have a tick: not those sent on an execution
    // report, a timer, or a signal an async detector emits after its dispatch (docs/monitoring.md).
    if (this.dispatchStart !== NOT_DISPATCHING) {
      this.latency.record(t - this.dispatchStart, t);
      this.opts.metrics.tickToOrder.observe((t - this.dispatchStart) / 1000);
    }
    this.sent.record(t);
    this.series.orders.get(intent.exchange, 'submitted').n++;
    return { accepted: true, clientOrderId: order.clientOrderId };
  }

  /**
   * RouterHost: a parent before it is split. Its quantity and price must be an order's (a limit
   * price of 0 once became a sweep at any price), and it passes the checks that apply to a whole
   * order (RiskCheck.parent: max_order_notional, instrument rules), which a split into children
   * each under the limit would otherwise get around.
   *
   * `highestPrice` (API 1.13): the most the router's children may trade at, in the parent's own
   * ticks. Where it is above the most the parent could trade at on its own venue
   * (highestTradePrice), the checks see the parent as a limit order at it: a market buy valued at
   * its own venue's touch passed max_order_notional while its children swept another venue's
   * dearer levels, and a sell valued at its own venue's bid sold higher elsewhere. Never below:
   * a parent its own venue cannot value (no synced touch) is refused as before. A market parent
   * with a plan is seen as a limit at the higher of the two either way (parentAtPlanPrice).
   */
  checkParent(intent: OrderIntent, highestPrice?: number): SubmitResult | undefined {
    if (this.riskState.state === 'HALTED') return this.refuse(intent, 'KILL_SWITCH', `risk state HALTED: ${this.riskState.reason}`);
    const invalid = orderValueProblem(intent);
    if (invalid !== undefined) return this.refuse(intent, 'INVALID_ORDER', invalid);
    this.planPriced = false;
    const checked = highestPrice === undefined ? intent : this.parentAtPlanPrice(intent, highestPrice);
    const planPriced = this.planPriced;
    for (let i = 0; i < this.riskChecks.length; i++) {
      const c = this.riskChecks[i]!;
      if (c.parent !== true && typeof c.checkParent !== 'function') continue;
      const d = this.runCheck(c, checked, true);
      if (!d.ok) return this.refuse(intent, d.reason, `${d.message} (the whole order, before routing${planPriced ? `, valued at ${checked.price} ticks, the most its children may trade at` : ''})`);
    }
    return undefined;
  }

  /**
   * The parent as the parent checks see it given the router's `highestPrice`: itself, or a limit
   * at that price when it is above the most the parent could trade at on its own venue, a market
   * parent otherwise a limit at its own venue's touch. A price
   * that is not a positive number of ticks (a router plugin's bug) is counted and ignored.
   */
  /** Set by parentAtPlanPrice: the parent is valued at the router's price (for the refusal's words). */
  private planPriced = false;
  private parentAtPlanPrice(intent: OrderIntent, highestPrice: number): OrderIntent {
    const p = typeof highestPrice === 'number' ? Math.ceil(highestPrice) : NaN;
    if (!Number.isSafeInteger(p) || p <= 0) {
      this.opts.metrics.errors.labels('router').inc();
      const more = this.componentErrorLog.take('router');
      if (more !== undefined) this.opts.logger.error({ component: 'router' }, `router: checkParent() was given ${describeValue(highestPrice)} as the most a child may trade at, not a positive number of ticks; the parent is valued on its own venue${more}`);
      return intent;
    }
    const b = this.book(intent.exchange, intent.symbol);
    const live = b !== undefined && b.synced ? b : undefined;
    const own = highestTradePrice(intent.side, intent.type === 'limit' ? intent.price : undefined, live?.bestBid(), live?.bestAsk());
    if (own === undefined) return intent;
    if (p > own) {
      this.planPriced = true;
      return { ...intent, type: 'limit', price: p };
    }
    // A market parent with a plan is bounded by the plan, and never below its own touch: left a
    // market order, the checks would walk its own venue's asks for the whole quantity (a plain
    // market buy's valuation), which the children, spread over other venues, do not take.
    return intent.type === 'limit' ? intent : { ...intent, type: 'limit', price: own };
  }

  /**
   * One risk check. A check that throws or answers something other than a decision (a plugin's
   * bug) refuses the order (fails closed) and is counted as that check's error, instead of
   * throwing out of submit() to a strategy, which would be blamed (and, under the router, would
   * not learn of the children already sent).
   */
  private runCheck(c: RiskCheck, intent: OrderIntent, parent = false): RiskDecision {
    let d: RiskDecision;
    try {
      d = parent && typeof c.checkParent === 'function' ? c.checkParent(intent, this) : c.check(intent, this);
    } catch (err) {
      this.componentError(`risk:${c.name}`, err);
      return { ok: false, reason: 'RISK_CUSTOM', message: `risk check ${c.name} failed: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (d === null || typeof d !== 'object' || typeof d.ok !== 'boolean' || (!d.ok && (typeof d.reason !== 'string' || typeof d.message !== 'string'))) {
      this.componentError(`risk:${c.name}`, new TypeError(`check() answered ${describeValue(d)}, not a decision`));
      return { ok: false, reason: 'RISK_CUSTOM', message: `risk check ${c.name} answered ${describeValue(d)}, not a decision` };
    }
    return d;
  }

  /**
   * The first `passed` risk checks passed `intent`, and it does not go out after all (a later
   * check refused it, or it could not be sent): each that spent on it takes it back
   * (REFUND_ORDER, risk/checks.ts; order_rate's token), so only orders sent spend a token.
   */
  private refundChecks(passed: number, intent: OrderIntent): void {
    try {
      refundChecks(this.riskChecks, passed, intent, this);
    } catch (err) {
      this.componentError('risk', err);
    }
  }

  /** RouterHost: one child order through the risk checks (routing/smart-order-router.ts). */
  submitChild(intent: OrderIntent): SubmitResult {
    const res = this.submitOne(intent);
    if (this.parentDepth > 0 && res.accepted) this.parentChildren.push(res.clientOrderId!);
    return res;
  }

  /** submitParent() calls running (a strategy may submit again from a report answered inside one). */
  private parentDepth = 0;
  /** Children sent during the submitParent() calls running, each call's from its mark on: reused, no allocation per parent. */
  private readonly parentChildren: string[] = [];

  /**
   * A parent through the router's submitParent(). A router that throws (a plugin's bug) is
   * counted as the router's error and answered, not thrown into the strategy. Children it sent
   * before the throw are working at their venues: the answer is accepted with their ids (as a
   * split's, submitSplit), so the strategy can follow and cancel them; a refusal without them
   * left orders working that the strategy had been told were never placed.
   */
  private submitParent(router: OrderRouter, intent: OrderIntent): SubmitResult {
    const mark = this.parentChildren.length;
    this.parentDepth++;
    try {
      return router.submitParent!(intent, this);
    } catch (err) {
      if (this.parentChildren.length === mark) return this.routerFailed(intent, 'submitParent', err);
      this.componentError('router', err);
      const ids = this.parentChildren.slice(mark);
      return { accepted: true, clientOrderId: ids[0], clientOrderIds: ids, message: `the router's submitParent() threw after sending ${ids.length} order(s) (${ids.join(', ')}): they are working; the router may not follow them: ${errorMessage(err)}` };
    } finally {
      this.parentDepth--;
      this.parentChildren.length = mark;
    }
  }

  /** A router call threw before anything was sent: counted as the router's error, and refused as a failed risk check is (runCheck). */
  private routerFailed(intent: OrderIntent, call: string, err: unknown): SubmitResult {
    this.componentError('router', err);
    return this.refuse(intent, 'RISK_CUSTOM', `the router's ${call}() threw: nothing sent: ${errorMessage(err)}`);
  }

  /**
   * A router's cancelParent() that throws (a plugin's bug) is counted as the router's error, and
   * the id is cancelled as an order of its own, if it is one: a broken router must not keep a
   * HALT or a shutdown from cancelling the engine's orders. A parent's children that it did not
   * reach are cancelled by their own ids (cancelAllOpen cancels every open order).
   */
  cancel(clientOrderId: string): boolean {
    const router = this.opts.router;
    if (router?.cancelParent !== undefined) {
      try {
        if (router.cancelParent(clientOrderId, this)) return true;
      } catch (err) {
        this.componentError('router', err);
      }
    }
    return this.cancelChild(clientOrderId);
  }

  /** RouterHost: cancels one order (not a parent). */
  cancelChild(clientOrderId: string): boolean {
    // not at the venue: submitOne closes it here instead
    if (clientOrderId === this.unsentOrder) return false;
    const held = this.orders.get(clientOrderId);
    if (held === undefined) return false;
    // An order of a venue no longer configured (restored from the journal, set aside there): no
    // cancel can reach it. Marked pending_cancel it waited for an answer that never comes.
    const venue = this.venues.get(held.exchange);
    if (venue === undefined) return false;
    const before = held.status;
    const o = this.orders.markPendingCancel(clientOrderId);
    if (!o) return false;
    this.cancelWanted.add(clientOrderId);
    try {
      venue.execution.cancel(o);
    } catch (err) {
      // Nothing was asked of the venue: the order is as it was, still wanted cancelled, so
      // followCancel asks again when the venue next shows it working. False: not sent.
      this.orders.cancelNotSent(clientOrderId, before);
      this.venueCallFailed(o, 'cancel', err);
      return false;
    }
    return true;
  }

  /** Execution client calls that threw, per venue and call. */
  private readonly venueCallLog = new LogThrottle(() => this.now);

  /** A venue plugin's submit() or cancel() threw: counted as its error, logged rate-limited. */
  private venueCallFailed(o: Readonly<Order>, call: 'submit' | 'cancel', err: unknown): void {
    const component = `${o.exchange}:execution`;
    this.opts.metrics.errors.labels(component).inc();
    const more = this.venueCallLog.take(`${o.exchange}\u0000${call}`);
    if (more === undefined) return;
    this.opts.logger.error({ component, clientOrderId: o.clientOrderId, err: (err as Error)?.stack ?? String(err) }, `${o.exchange}: the execution client's ${call}() threw for order ${o.clientOrderId}: ${err instanceof Error ? err.message : String(err)}${more}`);
  }

  /** Closes an order whose submit() threw as rejected, as a venue's refusal would (journaled the same way). */
  private rejectUnsent(order: Order, err: unknown): void {
    this.venueCallFailed(order, 'submit', err);
    this.closeUnsent(order, 'VENUE_ERROR', `not sent: the execution client's submit() threw: ${err instanceof Error ? err.message : String(err)}`);
  }

  /** Closes an order never handed to its venue as rejected, journaled as a venue's refusal is (a restart must not find it open). */
  private closeUnsent(order: Order, reason: RejectReason, text: string): void {
    const now = this.now;
    const r: ExecutionReport = {
      kind: 'rejected', exchange: order.exchange, symbol: order.symbol, clientOrderId: order.clientOrderId, side: order.side,
      lastPrice: 0, lastQty: 0, leavesQty: 0, cumQty: 0, feeAtoms: 0n, rejectReason: reason, rejects: 'order', text: this.redactText(text), ts: now,
    };
    const out = this.orders.apply(r, now);
    if (out.kind !== 'applied' || !this.opts.journal) return;
    const o = out.order;
    this.opts.journal.append({ t: 'report', report: r, order: { status: o.status, filledQty: o.filledQty, feeAtoms: o.feeAtoms, venueOrderId: o.venueOrderId, symbol: o.symbol }, feeAsset: this.instrument(o.exchange, o.symbol)?.quote ?? '', ts: now });
  }

  /**
   * Orders asked to be cancelled that have not ended. A venue may refuse a cancel that overtook
   * the order itself (no venue id yet, "unknown order"); the order then works once it is acked,
   * and a HALT or a shutdown would leave it there. Such an order is cancelled again when the
   * venue shows it working (an ack, a fill), until it ends.
   */
  private readonly cancelWanted = new Set<string>();

  private followCancel(r: ExecutionReport, o: Readonly<Order>): void {
    if (o.status === 'filled' || o.status === 'cancelled' || o.status === 'rejected') {
      this.cancelWanted.delete(o.clientOrderId);
      return;
    }
    if (o.status === 'pending_cancel' || (r.kind !== 'ack' && r.kind !== 'fill')) return;
    this.opts.logger.info({ clientOrderId: o.clientOrderId, exchange: o.exchange }, `order ${o.clientOrderId} is working at ${o.exchange} after its cancel was refused: cancelling it again`);
    this.cancelChild(o.clientOrderId);
  }

  onExecutionReport(r: ExecutionReport): void {
    // A venue's words (a rejection's text) go to the OTel span, the journal and the strategy, none
    // of which the log's redactor sees: masked here first, on a copy (the adapter's object is its own).
    if (r.text !== undefined) {
      const text = this.redactText(r.text);
      if (text !== r.text) r = { ...r, text };
    }
    this.tracing?.report(r);
    if (r.kind === 'fill' && this.instruments.get(r.exchange, r.symbol) === undefined) {
      // nothing can book it (the restore registers the journal's instruments of restored orders)
      this.invalidReport(r, 'wrong_instrument', `a fill on ${String(r.exchange)} ${String(r.symbol)}, an instrument this engine does not know`);
      return;
    }
    const out = this.orders.apply(r, this.now);
    if (out.kind === 'unknown') {
      this.unknownReport(r);
      return;
    }
    if (out.kind === 'duplicate') return;
    if (out.kind === 'invalid') {
      this.invalidReport(r, out.reason, out.detail);
      return;
    }
    // The first report of any kind answers the order: the venue-bound part of its latency.
    const sentAt = out.ackSentAt;
    if (sentAt !== NOT_AWAITING) this.series.ack.get(r.exchange).observe(Number.isNaN(sentAt) ? 0 : (performance.now() - sentAt) / 1000);
    if (this.opts.journal) {
      const o = out.order;
      const feeAsset = r.feeAsset ?? this.instrument(r.exchange, r.symbol)?.quote ?? '';
      this.opts.journal.append({ t: 'report', report: r, order: { status: o.status, filledQty: o.filledQty, feeAtoms: o.feeAtoms, venueOrderId: o.venueOrderId, symbol: o.symbol }, feeAsset, ts: this.now });
    }
    // A rejection that refused a request (a cancel, a duplicate id), not the order, is counted apart from rejected orders.
    const refusedRequest = r.kind === 'rejected' && (r.rejects === 'request' || (r.rejects === undefined && out.order.status !== 'rejected'));
    this.series.orders.get(r.exchange, r.kind === 'fill' ? (out.order.status === 'filled' ? 'filled' : 'partially_filled') : refusedRequest ? 'request_rejected' : r.kind).n++;
    if (out.fill) {
      const instrument = this.instrument(r.exchange, r.symbol)!;
      this.portfolio.applyFill(instrument, r);
      this.opts.risk?.onFill(instrument, r);
      this.counts.fills++;
      this.fillsBooked.set(r.exchange, (this.fillsBooked.get(r.exchange) ?? 0) + 1);
      if (this.unreconciled.size > 0 && this.unreconciled.has(r.exchange)) this.noteLiveTrade(r);
      this.digest?.update(journalStringify({ f: { id: r.clientOrderId, side: r.side, price: r.lastPrice, qty: r.lastQty, fee: r.feeAtoms, liq: r.liquidity ?? null } }) + '\n');
      const pos = this.portfolio.find(r.exchange, r.symbol)!;
      this.publishPosition(pos, instrument);
      if (this.deferredLog.enabled('info')) this.deferredLog.push(logFill, r, instrument, pos.qty);
      this.journalSnapshot('fill');
      // Booked already: a throw here skipped the router and the strategy (a router re-routed
      // filled quantity) and reached the adapter's receive loop.
      if (this.opts.observer?.fill) {
        try {
          this.opts.observer.fill(r, instrument);
        } catch (err) {
          this.componentError('observer', err);
        }
      }
    } else if (refusedRequest) {
      this.opts.logger.warn({ clientOrderId: r.clientOrderId, reason: r.rejectReason, status: out.order.status }, `${r.exchange} refused a request about order ${r.clientOrderId} (a cancel, or a second order under its id), which is ${out.order.status}: ${r.rejectReason ?? ''} ${r.text ?? ''}`.trim());
    } else if (r.kind === 'rejected') {
      this.opts.logger.warn({ clientOrderId: r.clientOrderId, reason: r.rejectReason }, `order ${r.clientOrderId} rejected by ${r.exchange}: ${r.rejectReason ?? ''} ${r.text ?? ''}`.trim());
    }
    if (this.cancelWanted.size > 0 && this.cancelWanted.has(r.clientOrderId)) this.followCancel(r, out.order);
    if (this.opts.router?.onExecution) {
      try {
        this.opts.router.onExecution(r, this, out.order);
      } catch (err) {
        this.componentError('router', err);
      }
    }
    const s = this.opts.strategy;
    if (s?.onExecution && !this.stopping) {
      try {
        s.onExecution(r, this);
      } catch (err) {
        this.componentError(`strategy:${s.name}`, err);
      }
    }
    // after the strategy saw the fill: it may have cancelled or replaced its exits itself
    if (out.fill) this.cancelReduceOnlyPastFlat(r.exchange, r.symbol);
  }

  /**
   * After a fill: cancels the working reduce-only orders on the instrument that could now take
   * its position past flat. Kept oldest first while their remaining quantities add up to at
   * most the position (those awaiting a cancel answer count, since they may still fill, and are
   * left as they are); the rest, and every one on the side that would grow the position (or any
   * side of a flat one), are cancelled. The reduce_only check holds only when such an order is
   * submitted: a plain exit sent later and filled left a take-profit working against no
   * position, and on a venue that ignores the flag (paper, the simulated venue, spot) it filled
   * to short 10 from long 10. Plain orders are not counted: they are bounded by the limits as
   * ordinary orders, and the pass runs again when one of them fills.
   */
  private cancelReduceOnlyPastFlat(exchange: string, symbol: string): void {
    const asked = this.cancelPastFlat(exchange, symbol, true);
    if (asked > 0) {
      const pos = this.portfolio.qty(exchange, symbol);
      this.opts.logger.warn({ orders: asked, exchange, symbol, position: pos }, `cancelling ${asked} reduce-only order(s) on ${exchange}:${symbol} that could take the position (${pos} lots) past flat`);
    }
  }

  /**
   * The REDUCING rule on the open orders of one instrument (of its reduce-only ones alone with
   * `reduceOnlyOnly`): orders on the exit side are kept oldest first while their remaining
   * quantities add up to at most the position; the rest, and every order on the side that would
   * grow it (any side of a flat one), are cancelled. Returns how many cancels it sent.
   */
  private cancelPastFlat(exchange: string, symbol: string, reduceOnlyOnly: boolean): number {
    const open = this.orders.openOrders(exchange, symbol);
    if (open.length === 0) return 0;
    const pos = this.portfolio.qty(exchange, symbol);
    const exitSide = pos > 0 ? 'sell' : pos < 0 ? 'buy' : undefined;
    let toFlat = Math.abs(pos);
    let asked = 0;
    // `open` is a snapshot: cancels below do not change it under the loop
    for (let k = 0; k < open.length; k++) {
      const o = open[k]!;
      if (reduceOnlyOnly && o.reduceOnly !== true) continue;
      const left = o.qty - o.filledQty;
      // awaiting a cancel answer: left as it is, but it may still fill, so an exit counts
      // toward flat (as the REDUCING pre-trade rule counts every working order)
      if (o.status === 'pending_cancel') {
        if (o.side === exitSide) toFlat = Math.max(0, toFlat - left);
        continue;
      }
      if (o.side === exitSide && left <= toFlat) {
        toFlat -= left;
        continue;
      }
      asked++;
      this.tryCancel(o.clientOrderId);
    }
    return asked;
  }

  /** `cwts_position` for one position, in base units (a float for display; the books stay in lots). */
  private publishPosition(pos: Position, instrument: Instrument): void {
    this.series.position.set(Number(pos.qty) * Number(instrument.qtyScale.mantissa) * 10 ** -instrument.qtyScale.exponent, instrument.exchange, instrument.symbol);
  }

  /** `cwts_position` for every position held (after a restore and after reconciliation at start). */
  private publishPositions(): void {
    for (const p of this.portfolio.all()) this.publishPosition(p, p.instrument);
  }

  /** Warnings for reports about orders not held here, per exchange and whose the id is. */
  private readonly unknownReportLog = new LogThrottle(() => this.now);

  /**
   * A report about an order the engine does not hold. With an id of ours it is an error (counted
   * in cwts_errors_total{component="execution"}): an order forgotten too early, or an adapter
   * naming the wrong order. With another id it is an order placed outside this process on the
   * same account (by hand, another program): not an error, but the operator should know, since
   * the venue's position then moves without us. Both warn at most every 10 s per exchange.
   */
  private unknownReport(r: ExecutionReport): void {
    const ours = this.orders.ownsId(String(r.clientOrderId));
    if (ours) this.opts.metrics.errors.labels('execution').inc();
    const more = this.unknownReportLog.take(`${String(r.exchange)}\u0000${ours}`);
    if (more === undefined) return;
    const what = ours
      ? `report for unknown order ${r.clientOrderId} (${r.kind})`
      : `a ${r.kind} report for order ${r.clientOrderId}, which this process did not place: the account is traded outside it, and positions will differ from the venue's until the next reconciliation`;
    this.opts.logger.warn({ component: 'execution', exchange: r.exchange }, `${String(r.exchange)}: ${what}${more}`);
  }

  /** Error lines for unbookable reports, per exchange and reason. */
  private readonly invalidReportLog = new LogThrottle(() => this.now);

  /**
   * A report the engine cannot book: counted and logged as an error (at most every 10 s per
   * exchange and reason, with the count held back), never applied, never passed to the router or
   * the strategy. The order stays as it was; reconciliation against the venue settles it.
   */
  private invalidReport(r: ExecutionReport, reason: InvalidReportReason, detail: string): void {
    this.opts.metrics.executionReportsInvalid.labels(String(r.exchange), reason).inc();
    const more = this.invalidReportLog.take(`${String(r.exchange)}\u0000${reason}`);
    if (more === undefined) return;
    this.opts.logger.error({ clientOrderId: r.clientOrderId, exchange: r.exchange, reason }, `${String(r.exchange)}: a ${String(r.kind)} report for order ${r.clientOrderId} was not booked (${reason}): ${detail}${more}`);
  }

  // ---- journal ------------------------------------------------------------------------------

  /** Queues a record for the journal, if there is one (a push; the commit is off this thread). */
  journal(rec: JournalRecord): void {
    this.opts.journal?.append(rec);
  }

  /**
   * A risk transition's records (the transition and the peak) in one append, and for a HALT (and
   * an operator's REDUCING) one commit, fsynced, before the control endpoint answers "applied"
   * and, on a healthy journal, before its cancels go out: queued for the batch commit, a kill -9
   * in the next 50 ms restarted ACTIVE, and nothing at a venue brings a HALT back. One blocking
   * commit, not one per record: under fsync "always" every append is a commit of its own, and on
   * a stalled writer each waited the whole commit timeout. Never throws (it runs inside
   * RiskState.set(), on the way into the HALT): a failed commit is the journal's error, reported
   * as every other.
   */
  private writeRiskState(recs: readonly JournalRecord[], s: RiskState, who: RiskActor): void {
    const j = this.opts.journal;
    if (j === undefined) return;
    let queued = true;
    if (j.appendAll !== undefined) queued = j.appendAll(recs);
    else for (const r of recs) queued = j.append(r) && queued;
    if (!mustCommitRiskState(s, who)) return;
    try {
      // refused (the "always" commit failed, the writer is gone, the journal closed): committing
      // again would wait on the same writer for the same failure
      if (!queued) throw new Error(`the journal ${j.path} refused the record`);
      j.flush(true);
    } catch (err) {
      this.opts.metrics.errors.labels('journal').inc();
      this.opts.logger.error({ err: err instanceof Error ? err.message : String(err) }, `journal: the risk state ${s.state} could not be committed, a restart may not find it: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** The journal says its last commit failed (JournalStore.failing); a journal that cannot say is taken as healthy. */
  private journalFailing(): boolean {
    return this.opts.journal?.failing === true;
  }

  get journalStore(): Journal | undefined {
    return this.opts.journal;
  }

  /** Snapshot and peak records that could not be valued, logged at most every 10 s per kind. */
  private readonly valuationLog = new LogThrottle(() => this.now);

  /**
   * A snapshot or peak record the portfolio could not be valued for (a mark that is not a whole
   * number of half-ticks, a valuation bug): skipped, counted in
   * cwts_errors_total{component="journal:snapshot"}, logged. Never thrown: these run on a timer, in
   * a fill's report from a venue adapter and inside a risk state change (a HALT's, whose cancels
   * came after; the risk layer halts on the same failure by itself).
   */
  private snapshotFailed(what: string, err: unknown): void {
    this.opts.metrics.errors.labels('journal:snapshot').inc();
    const more = this.valuationLog.take(what);
    if (more === undefined) return;
    this.opts.logger.error({ component: 'journal:snapshot', err: (err as Error)?.stack ?? String(err) }, `journal: ${what} record not written, the portfolio cannot be valued: ${err instanceof Error ? err.message : String(err)}${more}`);
  }

  /** Equity, PnL and marks, every second and at every fill; the peak when it moved. */
  private journalSnapshot(why: 'timer' | 'fill' | 'stop'): void {
    // Before the restore the portfolio is empty and the peak is the starting capital: not state.
    if (!this.opts.journal || !this.restoreDone) return;
    try {
      this.writeSnapshot(why);
    } catch (err) {
      this.snapshotFailed('snapshot', err);
    }
  }

  private writeSnapshot(why: 'timer' | 'fill' | 'stop'): void {
    // One valuation for the whole row: the report takes starting capital as equity - PnL, so
    // equity and PnL from two mark rules (or two moments) made it wrong.
    const t = this.totals();
    const marks: Record<string, number> = {};
    for (const p of this.portfolio.all()) {
      const m = this.markHalfTicks(p);
      if (m !== undefined) marks[instrumentKey(p.instrument.exchange, p.instrument.symbol)] = m;
    }
    const eq = this.opts.risk?.equitySnapshot?.(t.equity);
    this.journal({ t: 'snapshot', why, equity: eq?.equity ?? t.equity, realized: t.realized, unrealized: t.unrealized, fees: t.fees, marks, ts: this.now });
    this.journalPeak(why, false);
  }

  /**
   * The peak the next restart measures the drawdown from (rebuild.ts restores the last one).
   * Never before the restore: a risk state set then (a halt from the control endpoint while the
   * venues load, the restore's own latched state) would journal the starting capital as the peak.
   */
  private journalPeak(why: string, always: boolean): void {
    const recs = this.peakRecords(why, always);
    if (recs.length === 0) return;
    if (recs.length === 1) return this.journal(recs[0]!);
    const j = this.opts.journal!;
    if (j.appendAll !== undefined) j.appendAll(recs);
    else for (const r of recs) j.append(r);
  }

  /** journalPeak's records, to append (in one commit: appendAll); none when there is nothing to journal. Never throws. */
  private peakRecords(why: string, always: boolean): JournalRecord[] {
    let eq: { equity: bigint; peak: bigint; capital?: bigint } | undefined;
    try {
      eq = this.opts.journal && this.restoreDone ? this.opts.risk?.equitySnapshot?.() : undefined;
    } catch (err) {
      this.snapshotFailed('peak', err);
      return [];
    }
    const capital = eq?.capital !== undefined && eq.capital !== this.lastJournaledCapital ? eq.capital : undefined;
    if (!eq || (!always && eq.peak === this.lastJournaledPeak && capital === undefined)) return [];
    this.lastJournaledPeak = eq.peak;
    const peak: JournalRecord = { t: 'peak', peak: eq.peak, equity: eq.equity, why, ts: this.now };
    if (capital === undefined) return [peak];
    // The capital the peak is counted in, in the same commit: a restart with another capital
    // moves the peak by the difference (RiskManager.restore); split, it would move it wrongly.
    this.lastJournaledCapital = capital;
    return [{ t: 'state', scope: RISK_CAPITAL_SCOPE, key: RISK_CAPITAL_KEY, value: capital.toString(), ts: this.now }, peak];
  }

  /**
   * State a strategy or detector keeps across restarts (cooldowns, last entry time): a value
   * per scope and key, journaled on every set and restored before the first event.
   */
  readonly persisted: PersistedState = {
    get: <T = unknown>(scope: string, key: string): T | undefined => this.componentState.get(`${scope}\u0000${key}`) as T | undefined,
    set: (scope: string, key: string, value: unknown): void => {
      // Kept as its JSON form (journalStringify: bigints too): a value JSON cannot carry (a
      // cycle, undefined, a function) once failed the journal's whole batch, and every order
      // and fill queued with it, for good. Refused here, to the caller, instead.
      let text: string | undefined;
      try {
        text = journalStringify(value);
      } catch (err) {
        throw new TypeError(`persisted.set(${JSON.stringify(scope)}, ${JSON.stringify(key)}): the value cannot be stored as JSON (${err instanceof Error ? err.message : String(err)})`);
      }
      if (text === undefined) throw new TypeError(`persisted.set(${JSON.stringify(scope)}, ${JSON.stringify(key)}): ${typeof value} cannot be stored as JSON (use null to clear a key)`);
      if (text.length > PERSISTED_MAX_CHARS) throw new TypeError(`persisted.set(${JSON.stringify(scope)}, ${JSON.stringify(key)}): ${text.length} characters of JSON, more than the ${PERSISTED_MAX_CHARS} a persisted value may have (keep small state here; large data belongs in files)`);
      const stored = journalParse(text);
      this.componentState.set(`${scope}\u0000${key}`, stored);
      this.journal({ t: 'state', scope, key, value: stored, ts: this.now });
    },
  };

  /** Fills booked per venue, restored ones included (reconciliation's balance tolerance). */
  readonly fillsBooked = new Map<string, number>();

  /** The risk layer's cash ledger (reconciliation's balance check); undefined without one. */
  cashBalance(exchange: string, asset: string): bigint | undefined {
    return this.opts.risk?.cashBalance?.(exchange, asset);
  }

  restoreComponentState(entries: readonly { scope: string; key: string; value: unknown }[]): void {
    for (const e of entries) this.componentState.set(`${e.scope}\u0000${e.key}`, e.value);
  }

  // ---- contexts ---------------------------------------------------------------------------

  /** Instruments and books are never replaced once loaded; books update in place (MarketContext.liveBooks). */
  readonly liveBooks = true;
  get now(): number {
    return this.opts.clock.now();
  }
  /** Age of every book's last update, for `cwts_feed_last_event_age_seconds`. */
  *feedAges(): Generator<readonly [string, string, number]> {
    const now = this.now;
    for (const rec of this.books.all()) {
      if (rec.lastEventTs > 0) yield [rec.book.exchange, rec.book.symbol, Math.max(0, now - rec.lastEventTs) / 1000] as const;
    }
  }
  /** Each venue's execution client's refused input, for `cwts_execution_input_rejected_total`. */
  *executionRejections(): Generator<readonly [string, string, number]> {
    for (const [name, v] of this.venues) {
      const counts = v.execution.inputRejections?.();
      if (counts) for (const [reason, n] of counts) yield [name, reason, n] as const;
    }
  }
  /** Fills booked by this run (reconciliation counts what it applied). */
  get fillCount(): number {
    return this.counts.fills;
  }
  get positions() {
    return this.portfolio;
  }
  instrument(exchange: string, symbol: string): Instrument | undefined {
    return this.instruments.get(exchange, symbol);
  }
  allInstruments(): Instrument[] {
    return [...this.instruments.values()];
  }
  book(exchange: string, symbol: string): BookView | undefined {
    return this.books.get(exchange, symbol)?.book;
  }
  openOrders(exchange: string, symbol: string): readonly Readonly<Order>[] {
    return this.orders.openOrders(exchange, symbol);
  }
  /** RiskContext: every open order (max_total_position counts other instruments' working orders). One shared array until the open orders change (OrderManager.allOpen). */
  allOpenOrders(): readonly Readonly<Order>[] {
    return this.orders.allOpen();
  }
  venueNames(): string[] {
    return [...this.venues.keys()];
  }
  venue(name: string): VenueRuntime | undefined {
    return this.venues.get(name);
  }

  /**
   * Mark for a position, in half-ticks. With a risk layer, its mark (`[risk] mark`: the mid of a
   * synced book, else its last synced mid, else the last fill; or the last trade), so equity, PnL, /status, the journal's
   * snapshots and the reports value a position by the same rule as the drawdown and the limits.
   * Without one: the book mid when synced, else the last trade, else the last fill.
   */
  markHalfTicks = (p: Position): number | undefined => {
    const risk = this.opts.risk;
    if (risk?.markHalfTicks !== undefined) return risk.markHalfTicks(p);
    const rec = this.books.get(p.instrument.exchange, p.instrument.symbol);
    const bid = rec?.book.bestBid();
    const ask = rec?.book.bestAsk();
    if (rec?.state === 'synced' && bid !== undefined && ask !== undefined) return bid + ask;
    const last = this.lastTrade.get(p.instrument.exchange, p.instrument.symbol) ?? p.lastPrice;
    return last === undefined ? undefined : 2 * last;
  };

  totals() {
    return this.portfolio.totals(this.markHalfTicks);
  }

  /** What the run did so far, counts only: readable when positions cannot be valued (summary() then throws). */
  get activity(): { events: number; signals: number; orders: number; rejected: number; fills: number } {
    return { ...this.counts };
  }

  summary(): RunSummary {
    const t = this.totals();
    return {
      events: this.counts.events,
      eventsByType: { ...this.byType },
      signals: this.counts.signals,
      orders: this.counts.orders,
      rejected: this.counts.rejected,
      fills: this.counts.fills,
      realizedPnl: commonToDecimal(t.realized),
      unrealizedPnl: commonToDecimal(t.unrealized),
      fees: commonToDecimal(t.fees),
      equity: commonToDecimal(t.equity),
      ...(this.digest ? { digest: this.digest.copy().digest('hex') } : {}),
    };
  }

  /** Error lines for components that threw, per component. */
  private readonly componentErrorLog = new LogThrottle(() => this.now);

  /**
   * A component (a detector, the strategy, a risk check, the router...) threw: counted every
   * time, logged at most every 10 s per component (engine clock) with the number held back, the
   * first with its stack. One that throws on every event must not write a stack trace per event
   * on the hot path (the intake falls behind, the log fills the disk).
   */
  private componentError(component: string, err: unknown): void {
    this.opts.metrics.errors.labels(component).inc();
    const more = this.componentErrorLog.take(component);
    if (more === undefined) return;
    this.opts.logger.error({ component, err: (err as Error)?.stack ?? String(err) }, `${component} threw; event skipped for it${more}`);
  }
}

/** The `reason` label of `cwts_book_resyncs_total` (reasonLabel). */
const RESYNC_REASONS = ['invalid_data', 'sequence_gap', 'checksum', 'reconnect', 'stale', 'crossed', 'other'] as const;
type ResyncReason = (typeof RESYNC_REASONS)[number];

/** Every InvalidReportReason: `cwts_execution_reports_invalid_total` has a series at 0 for each, per venue. */
const INVALID_REPORT_REASONS = ['wrong_instrument', 'fill_qty', 'fill_price', 'fill_fee', 'fill_side', 'kind', 'id', 'field'] as const satisfies readonly InvalidReportReason[];
// A reason added to InvalidReportReason and not listed above fails to compile here.
const everyInvalidReportReasonListed: [Exclude<InvalidReportReason, (typeof INVALID_REPORT_REASONS)[number]>] extends [never] ? true : never = true;
void everyInvalidReportReasonListed;

function reasonLabel(reason: string): ResyncReason {
  // BookSync's reason for a resync after the adapter edge rejected an update (cwts_feed_errors_total)
  if (/^invalid update/i.test(reason)) return 'invalid_data';
  if (/sequence|gap/i.test(reason)) return 'sequence_gap';
  if (/checksum/i.test(reason)) return 'checksum';
  if (/disconnect|reconnect/i.test(reason)) return 'reconnect';
  if (/stale/i.test(reason)) return 'stale';
  if (/cross/i.test(reason)) return 'crossed';
  return 'other';
}


/**
 * A cancel the venue refused while a HALT or a shutdown wants the order gone is sent again after
 * this many ms, the wait doubling per round up to CANCEL_RESEND_MAX_MS: soon enough that an order
 * does not work for long, slowly enough not to feed the rate limit that refused it.
 */
const CANCEL_RESEND_FIRST_MS = 250;
const CANCEL_RESEND_MAX_MS = 5000;

/**
 * A venue that could not be reconciled is tried again after this many ms, the wait doubling per
 * failure up to RECONCILE_RETRY_MAX_MS: a venue back within seconds is traded within seconds, and
 * one down for long is asked twice a minute, well inside any venue's rate limits.
 */
export const RECONCILE_RETRY_FIRST_MS = 1000;
export const RECONCILE_RETRY_MAX_MS = 30_000;

/**
 * A book the engine resyncs on its own account (askForResync) asks its adapter for a snapshot at
 * once, then again after RESYNC_ASK_FIRST_MS, doubling to RESYNC_ASK_MAX_MS while it stays so: a
 * snapshot takes a venue well under 2 s, and a venue that does not answer is asked once a minute.
 */
export const RESYNC_ASK_FIRST_MS = 2000;
export const RESYNC_ASK_MAX_MS = 60_000;

/** Engine.dispatchStart outside a market-event dispatch (performance.now() is never negative). */
const NOT_DISPATCHING = -1;

/**
 * A HALT, and an operator's REDUCING, are committed (fsynced) at once (Engine.writeRiskState):
 * the kill switch answers "applied" only once a restart would find them.
 */
function mustCommitRiskState(s: RiskState, who: RiskActor): boolean {
  return s.state === 'HALTED' || (s.state === 'REDUCING' && who === 'operator');
}

/** A persisted value's JSON is at most this long (PersistedState: small state such as cooldowns). */
const PERSISTED_MAX_CHARS = 65_536;

/**
 * The signal as the journal keeps it: its evidence as JSON carries it (a detector's evidence
 * holding a function or a cycle once failed the journal's batch, or threw from its hand-over to
 * the writer thread). Evidence that cannot be written is replaced by why.
 */
function journalableSignal(signal: Signal): Signal {
  let evidence: Record<string, unknown>;
  try {
    const text = journalStringify(signal.evidence);
    evidence = text === undefined ? { unserializable: `evidence is ${typeof signal.evidence}` } : (journalParse(text) as Record<string, unknown>);
  } catch (err) {
    evidence = { unserializable: err instanceof Error ? err.message : String(err) };
  }
  return { ...signal, evidence };
}

/** An error's message for a refusal or a log line; never throws (a thrown value may be anything). */
function errorMessage(err: unknown): string {
  try {
    return err instanceof Error ? err.message : String(err);
  } catch {
    return describeValue(err);
  }
}

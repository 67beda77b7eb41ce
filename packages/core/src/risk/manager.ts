import type { Clock } from '../contracts/clock.js';
import { monoMs } from '../contracts/mono-ms.js';
import type { ComputeBackend } from '../contracts/compute.js';
import type { BookView, RiskCheck } from '../contracts/trading.js';
import type { RiskConfig } from '../config/types.js';
import type { FeedStatusEvent, MarketEvent } from '../domain/events.js';
import { instrumentKey, type Instrument } from '../domain/instrument.js';
import type { ExecutionReport } from '../domain/orders.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsRegistry } from '../observability/metrics.js';
import type { BookRecord } from '../microstructure/venue-books.js';
import { commonToDecimal, commonToNumber, type Portfolio, type Position } from './portfolio.js';
import type { RiskState, RiskStateName } from './risk-state.js';
import { amountToCommon, CashLedger, EquityTracker, type Balance } from './accounts.js';
import { buildCheckChain, midHalfTicks, type RiskEnv } from './checks.js';
import { InstrumentMap } from '../domain/instrument-map.js';
import { computeVaR, VaRInputError, type VaRMethod, type VaRResult } from './var.js';
import { VAR_RETURN_WINDOW } from '../config/constants.js';
import { checkAccountCurrency, type AccountCurrency } from './account-currency.js';
import { startingCapital } from './starting-capital.js';

/** What the RiskManager needs from the engine (the Engine class satisfies it). */
export interface RiskEnginePort {
  readonly riskState: RiskState;
  readonly now: number;
  readonly portfolio: Portfolio;
  readonly books: { get(exchange: string, symbol: string): BookRecord | undefined; all(): Iterable<BookRecord> };
  readonly orders: { openCount(): number };
  instrument(exchange: string, symbol: string): Instrument | undefined;
  /**
   * The journal restore has not run yet (Engine.restorePending): positions, the equity peak and
   * the risk state are the defaults, not the deployment's. Absent: false.
   */
  readonly restorePending?: boolean;
  /** Stops new orders and cancels every open order (HALTED). */
  halt(reason: string): void;
  /**
   * REDUCING, and every open order that a new order could not be in REDUCING (one that could
   * grow a position) is cancelled. Absent: the state alone is set (new orders are refused, open
   * ones keep working).
   */
  reduce?(reason: string): void;
}

/** The engine's calls into risk, all synchronous and cheap; see engine.ts. */
export interface EngineRiskHooks {
  attach(engine: RiskEnginePort): void;
  start(): void;
  stop(): void;
  /** After the engine applied `ev`; `book`: the book record a book event updated, where the engine has it at hand. */
  afterMarketEvent(ev: MarketEvent, book?: BookRecord): void;
  onFeedStatus(st: FeedStatusEvent): void;
  onFill(instrument: Instrument, report: ExecutionReport): void;
  status(): Record<string, unknown>;
  /** Restart: books a journaled fill (cash) without evaluating triggers mid-replay. */
  replayFill?(instrument: Instrument, report: ExecutionReport): void;
  /** Restart: the equity peak and a latched non-ACTIVE state from the journal. */
  restore?(restored: RestoredRisk): void;
  /**
   * Equity and its peak (x 10^-18), for the journal's snapshots and peak records. `pnl`: the
   * trading PnL (Portfolio.totals().equity) the caller valued at `markHalfTicks`, so a snapshot's
   * equity and PnL come from one valuation; absent, the risk layer values the portfolio itself.
   */
  equitySnapshot?(pnl?: bigint): { equity: bigint; peak: bigint; capital?: bigint };
  /** The risk layer's mark of a position in half-ticks: the engine values PnL, /status and snapshots by it too. */
  markHalfTicks?(p: Position): number | undefined;
  /**
   * At start: throws when an instrument a venue can trade (`traded`) or a restored position is
   * on (`held`) is quoted in another currency than the account's (risk/account-currency.ts).
   */
  checkInstruments?(traded: readonly Instrument[], held: readonly Instrument[]): void;
  /** Cash per venue and asset (x 10^-18) booked from fills, for reconciliation's balance check. */
  cashBalance?(exchange: string, asset: string): bigint;
}

export interface VaRScheduleOptions {
  /** 'historical' (default), 'parametric' or 'montecarlo' (needs `backend`). */
  method?: VaRMethod;
  /** Loss budget in quote currency; VaR above it moves the state to REDUCING. Default max_drawdown x starting capital. */
  budget?: number;
  /**
   * Horizon in sampling periods (default 1), at most `window`: a VaR over H periods is not
   * computed from fewer than H returns ("not computed yet", like `minObservations`).
   */
  horizon?: number;
  /** Marks are sampled every this many clock ms (default 60 000). */
  sampleEveryMs?: number;
  /**
   * Sampling periods of returns kept per instrument (default VAR_RETURN_WINDOW, 500): the VaR is
   * computed from those of the last `window` periods that have a return of every exposed instrument.
   */
  window?: number;
  /** Fewer returns than this: no VaR yet (default 30). */
  minObservations?: number;
  /**
   * VaR recomputed every this many clock ms (default 60 000). A recompute that has not answered
   * after VAR_OVERDUE_PERIODS of these (at least VAR_OVERDUE_MIN_MS) counts as failed.
   */
  recomputeEveryMs?: number;
  paths?: number;
  seed?: number;
}

export interface RiskManagerOptions {
  risk: RiskConfig;
  metrics?: MetricsRegistry;
  logger?: Logger;
  backend?: Pick<ComputeBackend, 'monteCarloVaR'>;
  /** Starting capital in quote currency (proposed `[risk] initial_equity`). Default max_total_position, else max_position. */
  initialEquity?: number;
  /**
   * The currency limits, equity and VaR are counted in (proposed `[risk] account_currency`).
   * Default: the quote of the first instrument traded. An instrument traded or held in another
   * quote refuses the start (USD and the dollar stablecoins count as one; no FX conversion).
   */
  accountCurrency?: string;
  /** Starting cash per venue and asset (reporting; equity is starting capital + PnL). */
  initialBalances?: Balance[];
  /** Drawdown at which the state goes to REDUCING, as a fraction of max_drawdown (default 0.8). */
  reduceAtDrawdownFraction?: number;
  /** Mark positions to the L2 mid (default; last trade when the book has no mid) or to the last trade. */
  mark?: 'mid' | 'last';
  /** Stale-book limit of the book_health check (default 10 000 ms). */
  staleAfterMs?: number;
  /** A book that was synced and stays unsynced this long is a feed loss (default 5000 ms). */
  feedLossGraceMs?: number;
  /** What a feed loss does: 'REDUCING' (default; clears when the feed is back) or 'HALTED'. */
  feedLossAction?: 'REDUCING' | 'HALTED';
  /** Equity / drawdown / feeds are evaluated at most this often on market events (clock ms, default 250); always after a fill. */
  evaluateEveryMs?: number;
  /** Run a timer for evaluation and VaR (default true; replay turns it off and runs on the clock). */
  timers?: boolean;
  /**
   * Milliseconds of real time where the engine's clock is virtual (replay runs it far faster than
   * real time): a VaR recompute is overdue only once both have passed the limit, so a backend
   * that takes real milliseconds is not taken for hung in a fast replay. Default: the engine's clock.
   */
  realTimeMs?: () => number;
  /** Token bucket size per venue. */
  burst?: number;
  /**
   * The engine's clock, for monotonic time: order_rate refills, the feed-loss grace and the
   * overdue limit of a VaR recompute run on its monoNs(), so a wall clock stepped back (NTP, a
   * resumed VM) does not stop them. Without it they run on wall time, and a step back counts no
   * time across it (it neither stops them for the length of the step nor fires them early).
   */
  clock?: Pick<Clock, 'monoNs'>;
  var?: VaRScheduleOptions;
}

interface Trigger {
  state: RiskStateName;
  reason: string;
}

/** What a restart hands the risk layer from the journal (rebuild.ts). */
export interface RestoredRisk {
  /** The last journaled equity peak (x 10^-18), counted in `capital`. */
  peak?: bigint;
  /** The starting capital the peak was journaled in (x 10^-18); absent: a journal older than it (the peak is taken as is). */
  capital?: bigint;
  latched?: { state: RiskStateName; reason: string };
  /**
   * Marks (half-ticks) of the last journaled snapshot per `exchange:symbol`, and the price grid
   * they are in (the journal's definition): a position is valued at its one until its market
   * gives a mark in this run.
   */
  marks?: { key: string; mid2: number; priceScale: Instrument['priceScale'] }[];
}

/**
 * One instrument's sampled marks, by sampling period (RiskManager.period): a return belongs to
 * the period it ends in, so the returns of two instruments are paired by period, never by
 * position in a list (one missed sample once shifted a market's whole history by a period
 * against every other market's).
 */
interface VarSamples {
  /** The price grid `last` is in: a regrid starts the mark over (half-ticks of two grids give no return). */
  priceScale: Instrument['priceScale'];
  /** The last mark sampled, and the period it was sampled in. */
  last: number;
  lastPeriod: number;
  /**
   * Ring over the last `window` periods, slot `period % window`: the one-period return ending in
   * `period`, valid while `at[slot] === period`. A period without a sample, and the return that
   * would span it, are gaps (no valid slot).
   */
  ret: Float64Array;
  at: Float64Array;
  /** Valid returns in the window. */
  count: number;
}

const RANK: Record<RiskStateName, number> = { ACTIVE: 0, REDUCING: 1, HALTED: 2 };

/**
 * A VaR recompute that has not answered after this many recompute periods is treated as failed
 * (a lost device whose promise never settles would otherwise freeze the VaR for good)...
 */
export const VAR_OVERDUE_PERIODS = 3;
/** ...and after this many ms at least, so a short period does not take a slow backend for a hung one. */
export const VAR_OVERDUE_MIN_MS = 10_000;

/**
 * How long (monotonic clock ms) the drawdown triggers wait for a market mark of a position
 * valued only at an earlier run's fill before acting on that valuation (RiskManager.drawdownBasis):
 * a book that has not synced in a minute of a restart is not coming soon, and a market that
 * never marks (its symbol no longer configured) must not keep the drawdown protection loose.
 */
export const DRAWDOWN_MARK_GRACE_MS = 60_000;

/** The wait for a market mark of the positions valued at an earlier run's fill (RiskManager.drawdownBasis). */
interface MarkWait {
  /** Monotonic ms (RiskManager.monoMs) when the set of such positions became non-empty. */
  since: number;
  /**
   * The drawdown the triggers act on meanwhile: the equity, from a peak restarted where the wait
   * began (journalEquity, or the equity then if higher; never above the journaled peak), raised
   * by the equity since.
   */
  readonly dd: EquityTracker;
  /** The grace is over: the triggers act on the fill valuation until the set empties. */
  expired: boolean;
}

/** The VaR recompute in flight (at most one): when it started, on the engine's clock and in real time. */
interface VarFlight {
  /** Wall time (the `at` of the VaR it gives). */
  startedAt: number;
  /** Monotonic ms (RiskManager.monoMs): what the overdue limit is measured on. */
  startedMono: number;
  startedReal: number;
  /** Taken as failed: it had not answered in time (a result that still comes is applied). */
  overdue: boolean;
}

/**
 * The risk layer over one engine: builds the pre-trade chain from `[risk]`, keeps cash, equity,
 * its peak and the drawdown, samples marks for VaR and recomputes it on a schedule, and drives
 * the ACTIVE -> REDUCING -> HALTED state machine from its triggers (drawdown, VaR, feed loss,
 * manual). Automatic REDUCING clears by itself when its cause clears; HALTED is left only by
 * `resume()` (CLI or control endpoint).
 */
/**
 * A slot of a return series holding no return: no period's number (p - W is -1 at period W - 1,
 * so -1 once took a slot never written for a return leaving the window, and the count ran one low).
 */
const EMPTY_PERIOD = Number.NEGATIVE_INFINITY;

export class RiskManager implements RiskEnv, EngineRiskHooks {
  readonly checks: RiskCheck[];
  readonly cash: CashLedger;
  readonly equity: EquityTracker;
  private engine: RiskEnginePort | undefined;
  private manual: Trigger = { state: 'ACTIVE', reason: 'start' };
  private lastEvalAt = -1;
  /** Monotonic ms (monoMs) since a book that was synced is not. */
  private readonly unsyncedSince = new Map<BookRecord, number>();
  private readonly everSynced = new Set<BookRecord>();
  private readonly lastTrade = new Map<string, number>();
  /**
   * Per instrument, the mid (half-ticks) of its book the last time a book event left it synced
   * (`mark: 'mid'`): the mark while the book is not synced (a resync, a crossed book, a lost feed).
   */
  private readonly lastSyncedMid = new InstrumentMap<{ mid2: number }>();
  /**
   * Per `exchange:symbol`, the mark of the last snapshot of the run before a restart, and its
   * grid: the mark until this run has one (a last fill may be weeks old, and the restored peak
   * was measured at the market of the snapshot's time).
   */
  private readonly restoredMarks = new Map<string, { mid2: number; priceScale: Instrument['priceScale'] }>();
  /** Instruments with a fill booked in this run: their last fill is a price of now, not of an earlier run. */
  private readonly filledThisRun = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private lastTriggers: Trigger[] = [];
  /** Set while some position is valued only at an earlier run's fill (drawdownBasis). */
  private markWait: MarkWait | undefined;
  // VaR
  private readonly varOpts: Required<Omit<VaRScheduleOptions, 'budget'>> & { budget: number };
  /**
   * Sampled mark returns per instrument: of every instrument with a book here (a position opened
   * later already has its market's history), and of a position's without one.
   */
  private readonly samples = new InstrumentMap<VarSamples>();
  /** Sampling periods so far: sampleMarks() starts the next one. */
  private period = 0;
  /** Most returns any instrument has: the VaR is in force (its warm-up over) once this reaches the returns a VaR needs. */
  private mostReturns = 0;
  /** The exposed instruments' samples (reused: the coverage check runs on every evaluation). */
  private readonly exposedScratch: VarSamples[] = [];
  private nextSampleAt = -1;
  private nextVarAt = -1;
  private varInFlight: VarFlight | undefined;
  lastVar: (VaRResult & { at: number; exposures: Record<string, number> }) | undefined;
  /**
   * Why the last recompute failed (the backend threw, or did not answer in time); set until one
   * succeeds (or nothing is exposed): `lastVar` is then stale, and the state REDUCING.
   */
  private varError: string | undefined;
  private varFailedAt = 0;
  /** Why no VaR can be computed from the returns at hand (VaRInputError): no VaR, no failure. */
  private varUnavailable: string | undefined;
  private account: AccountCurrency | undefined;

  constructor(private readonly opts: RiskManagerOptions) {
    const r = opts.risk;
    const capital = startingCapital(r, opts.initialEquity);
    this.equity = new EquityTracker(amountToCommon(capital));
    this.cash = new CashLedger(opts.initialBalances);
    const v = opts.var ?? {};
    this.varOpts = {
      method: v.method ?? 'historical',
      budget: v.budget ?? r.max_drawdown * capital,
      horizon: v.horizon ?? 1,
      sampleEveryMs: v.sampleEveryMs ?? 60_000,
      window: v.window ?? VAR_RETURN_WINDOW,
      minObservations: v.minObservations ?? 30,
      recomputeEveryMs: v.recomputeEveryMs ?? 60_000,
      paths: v.paths ?? 20_000,
      seed: v.seed ?? 1,
    };
    if (this.varOpts.horizon > this.varOpts.window) {
      // never enough returns: the config refuses it too ([risk] var_horizon)
      throw new Error(`VaR horizon of ${this.varOpts.horizon} periods is longer than the return window of ${this.varOpts.window}: no VaR could ever be computed`);
    }
    this.checks = buildCheckChain(r, this, { staleAfterMs: opts.staleAfterMs, burst: opts.burst, ...(opts.clock ? { clock: opts.clock } : {}) });
    if (opts.accountCurrency !== undefined) this.account = { currency: opts.accountCurrency, from: 'RiskManagerOptions.accountCurrency' };
  }

  /** The currency every amount is counted in: configured, or the first traded quote once the engine started. */
  get accountCurrency(): string | undefined {
    return this.account?.currency;
  }

  checkInstruments(traded: readonly Instrument[], held: readonly Instrument[]): void {
    this.account = checkAccountCurrency(this.account, traded, held);
  }

  // ---- RiskEnv ----------------------------------------------------------------------------

  get state(): RiskStateName {
    return this.engine?.riskState.state ?? 'ACTIVE';
  }
  get stateReason(): string {
    return this.engine?.riskState.reason ?? 'start';
  }
  openOrderCount(): number {
    return this.engine?.orders.openCount() ?? 0;
  }
  bookLastUpdate(exchange: string, symbol: string): number | undefined {
    return this.engine?.books.get(exchange, symbol)?.lastEventTs;
  }
  bookAgeMs(exchange: string, symbol: string, now: number): number | undefined {
    const rec = this.engine?.books.get(exchange, symbol);
    return rec === undefined ? undefined : now - rec.lastEventTs;
  }
  positions(): Iterable<Position> {
    return this.engine ? this.engine.portfolio.all() : [];
  }

  // ---- engine hooks -----------------------------------------------------------------------

  attach(engine: RiskEnginePort): void {
    this.engine = engine;
    const m = this.opts.metrics;
    if (m) {
      // NaN when the portfolio cannot be valued (the evaluation fails and has halted): a throw
      // here failed the whole scrape, cwts_risk_state included, so the HALT went unseen.
      m.setComputed('equity', () => this.valuedOrNaN(() => commonToNumber(this.evaluateEquity())));
      m.setComputed('drawdownRatio', () =>
        this.valuedOrNaN(() => {
          this.evaluateEquity();
          return this.equity.drawdownRatio();
        }),
      );
      m.setComputed('valueAtRisk', () => this.varGauge());
    }
  }

  /**
   * `cwts_var`: 0 only when nothing is exposed. With positions held and no VaR of all of them
   * (too few returns, the warm-up after a restart, returns that give none, a recompute that
   * failed: its figure is of the positions of then), NaN, as cwts_equity reads NaN when nothing
   * can be valued: a 0 here read "no risk" on the dashboard exactly when a new position made it jump.
   */
  private varGauge(): number {
    const e = this.engine;
    if (e === undefined || e.restorePending === true) return Number.NaN;
    let exposed = false;
    for (const p of e.portfolio.all()) {
      if (p.qty !== 0) {
        exposed = true;
        break;
      }
    }
    if (!exposed) return 0;
    const v = this.lastVar;
    if (v === undefined || this.varError !== undefined || this.uncoveredExposure() !== undefined) return Number.NaN;
    return v.var;
  }

  private valuedOrNaN(f: () => number): number {
    // before the restore the portfolio is empty and the peak is the starting capital: no figure
    if (this.engine?.restorePending === true) return Number.NaN;
    try {
      return f();
    } catch {
      return Number.NaN;
    }
  }

  start(): void {
    if (this.opts.timers === false || this.timer) return;
    const every = Math.min(this.opts.evaluateEveryMs ?? 250, 1000);
    this.timer = setInterval(() => this.tick(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  afterMarketEvent(ev: MarketEvent, book?: BookRecord): void {
    if (ev.type === 'book_snapshot' || ev.type === 'book_delta') {
      const rec = book ?? this.engine!.books.get(ev.exchange, ev.symbol);
      // Seen synced here, not only at an evaluation (at most every evaluateEveryMs): a book that
      // synced and was lost between two evaluations was never counted as having had a feed, so
      // its loss never reached REDUCING while an order placed on it kept working.
      if (rec !== undefined && rec.state === 'synced') this.everSynced.add(rec);
      if (this.opts.mark !== 'last') {
        // The mid as of this event, while it is one to trust: the mark once the book is not.
        const mid2 = midHalfTicks(rec?.book);
        if (mid2 !== undefined) {
          const seen = this.lastSyncedMid.get(ev.exchange, ev.symbol);
          if (seen === undefined) this.lastSyncedMid.set(ev.exchange, ev.symbol, { mid2 });
          else seen.mid2 = mid2;
        }
      }
    } else if (this.opts.mark === 'last' && ev.type === 'trade') this.lastTrade.set(instrumentKey(ev.exchange, ev.symbol), ev.price);
    const now = this.engine!.now;
    // `now < lastEvalAt`: the wall clock stepped back (NTP, a resumed VM); waiting for it to pass
    // the last evaluation again would leave equity and the feeds unevaluated for the whole step.
    if (now - this.lastEvalAt >= (this.opts.evaluateEveryMs ?? 250) || now < this.lastEvalAt) this.tick();
  }

  onFeedStatus(_st: FeedStatusEvent): void {
    this.evaluate();
  }

  onFill(instrument: Instrument, report: ExecutionReport): void {
    this.filledThisRun.add(instrumentKey(instrument.exchange, instrument.symbol));
    this.cash.applyFill(instrument, report);
    this.evaluate();
  }

  replayFill(instrument: Instrument, report: ExecutionReport): void {
    this.cash.applyFill(instrument, report);
  }

  cashBalance(exchange: string, asset: string): bigint {
    return this.cash.get(exchange, asset);
  }

  /**
   * A restart continues where the last run stopped: the drawdown is measured from the journaled
   * peak, and a HALTED or REDUCING state stays latched (as if set manually) until `resume()`.
   */
  restore(restored: RestoredRisk): void {
    if (restored.peak !== undefined) {
      // Equity is this run's starting capital + PnL: a peak journaled in another capital is moved
      // by the difference, so the loss from the peak stays what it was (a lowered capital once
      // read as a 50 % drawdown and HALTed at start; a raised one erased the drawdown so far).
      const shift = restored.capital === undefined ? 0n : this.equity.startingCapital - restored.capital;
      this.equity.peak = restored.peak + shift;
      if (shift !== 0n) {
        this.opts.logger?.warn(
          { journaledCapital: commonToDecimal(restored.capital!), startingCapital: commonToDecimal(this.equity.startingCapital) },
          `risk: the starting capital changed since the journal's last run (${commonToDecimal(restored.capital!)} -> ${commonToDecimal(this.equity.startingCapital)}): the restored equity peak is moved by the difference, to ${commonToDecimal(this.equity.peak)}`,
        );
      }
    }
    for (const m of restored.marks ?? []) if (Number.isSafeInteger(m.mid2) && m.mid2 > 0) this.restoredMarks.set(m.key, { mid2: m.mid2, priceScale: m.priceScale });
    // A HALT from the control endpoint while the venues loaded (before this restore) is not
    // weakened to a journaled REDUCING.
    if (restored.latched && RANK[restored.latched.state] > RANK[this.manual.state]) this.manual = { ...restored.latched };
  }

  equitySnapshot(pnl?: bigint): { equity: bigint; peak: bigint; capital: bigint } {
    if (pnl === undefined) this.evaluateEquity();
    else this.updateEquity(pnl);
    return { equity: this.equity.equity, peak: this.equity.peak, capital: this.equity.startingCapital };
  }

  /** Clock-driven work: evaluation, mark sampling and the VaR schedule. */
  tick(): void {
    if (!this.engine) return;
    const now = this.engine.now;
    this.checkVarOverdue(now);
    this.evaluate();
    // A schedule further ahead than one period: the wall clock stepped back; it runs now and from
    // here on, instead of pausing mark sampling and the VaR for the length of the step.
    if (now >= this.nextSampleAt || this.nextSampleAt - now > this.varOpts.sampleEveryMs) {
      this.nextSampleAt = now + this.varOpts.sampleEveryMs;
      this.sampleMarks();
    }
    if (now >= this.nextVarAt || this.nextVarAt - now > this.varOpts.recomputeEveryMs) {
      this.nextVarAt = now + this.varOpts.recomputeEveryMs;
      void this.recomputeVar();
    }
  }

  // ---- marks, equity, triggers --------------------------------------------------------------

  /**
   * Mark of a position in half-ticks, per `mark`: the last trade, or the mid of its book while
   * synced, else the last mid it had while synced, else the last fill (checks.ts `markHalfTicks`,
   * the rule the total-position limit values others by too). `book`: the position's book where
   * the caller has it at hand, else the engine's is looked up.
   */
  markHalfTicks = (p: Position, book?: BookView): number | undefined => {
    const i = p.instrument;
    if (this.opts.mark === 'last') {
      const t = this.lastTrade.get(instrumentKey(i.exchange, i.symbol));
      return t !== undefined ? 2 * t : this.fallbackMark(p);
    }
    const b = book ?? this.engine?.books.get(i.exchange, i.symbol)?.book;
    const mid2 = midHalfTicks(b);
    if (mid2 !== undefined) return mid2;
    // A book out of sync is known to be wrong; its last synced mid is not. The last fill (once
    // the only fallback) made a drawdown vanish during a routine resync: a position bought at
    // 50 001 and marked at 49 100 was worth 50 001 again until the snapshot came.
    const ref = this.lastSyncedMid.get(i.exchange, i.symbol)?.mid2 ?? this.fallbackMark(p);
    return b !== undefined && b.synced ? oneSidedMark(b, p.qty, ref) : ref;
  };

  /** Before this run has a mark of the market: the last snapshot's mark (restored, same grid), else the last fill. */
  private fallbackMark(p: Position): number | undefined {
    return this.restoredMark(p) ?? (p.lastPrice === undefined ? undefined : 2 * p.lastPrice);
  }

  /** The last snapshot's mark of the position's market, unless the tick size changed since (half-ticks of another grid). */
  private restoredMark(p: Position): number | undefined {
    if (this.restoredMarks.size === 0) return undefined;
    const i = p.instrument;
    const r = this.restoredMarks.get(instrumentKey(i.exchange, i.symbol));
    return r !== undefined && r.priceScale.mantissa === i.priceScale.mantissa && r.priceScale.exponent === i.priceScale.exponent ? r.mid2 : undefined;
  }

  /**
   * An exposed position valued at a fill of an earlier run: its market has given no mark in this
   * run (no mid, no last synced mid, no trade), and the journal had none of it either. Such a
   * valuation raises no peak (a weeks-old fill above the market made a peak no one ever had, and
   * the first book then read as a drawdown from it), and the drawdown triggers measure from
   * elsewhere for a while (drawdownBasis).
   */
  private valuedAtOldFill(): boolean {
    for (const p of this.engine!.portfolio.all()) if (this.atOldFill(p)) return true;
    return false;
  }

  // Asked of every position on every evaluation (drawdownBasis): under `mark: 'mid'` the usual
  // answer (a mark of this run) comes before any `exchange:symbol` key is built.
  private atOldFill(p: Position): boolean {
    if (p.qty === 0 || p.lastPrice === undefined) return false;
    const i = p.instrument;
    if (this.opts.mark !== 'last') {
      if (this.lastSyncedMid.get(i.exchange, i.symbol) !== undefined) return false;
      const b = this.engine!.books.get(i.exchange, i.symbol)?.book;
      if (b !== undefined && b.synced && (b.bestBid() !== undefined || b.bestAsk() !== undefined)) return false;
    }
    const key = instrumentKey(i.exchange, i.symbol);
    if (this.filledThisRun.has(key) || this.restoredMark(p) !== undefined) return false;
    return this.opts.mark !== 'last' || !this.lastTrade.has(key);
  }

  /** The positions valued at an earlier run's fill (atOldFill), named; undefined when every position has a mark. */
  private unmarkedExposure(): string | undefined {
    let names: string | undefined;
    for (const p of this.engine!.portfolio.all()) {
      if (!this.atOldFill(p)) continue;
      const n = `${p.instrument.exchange}:${p.instrument.symbol}`;
      names = names === undefined ? n : `${names}, ${n}`;
    }
    return names === undefined ? undefined : `${names} valued only at a fill of an earlier run (no market mark in this run, none in the journal)`;
  }

  /** EquityTracker.update, except that a valuation at an earlier run's fill raises no peak (valuedAtOldFill). */
  private updateEquity(pnl: bigint): bigint {
    const peak = this.equity.peak;
    const eq = this.equity.update(pnl);
    if (eq > peak && this.engine !== undefined && this.valuedAtOldFill()) this.equity.peak = peak;
    return eq;
  }

  /** Recomputes equity from the portfolio at the current marks; returns it (x 10^-18). */
  evaluateEquity(): bigint {
    if (!this.engine) return this.equity.equity;
    const t = this.engine.portfolio.totals(this.markHalfTicks);
    return this.updateEquity(t.equity);
  }

  /** Re-evaluates every automatic trigger and moves the state machine. */
  evaluate(): void {
    const e = this.engine;
    if (!e) return;
    const now = e.now;
    this.lastEvalAt = now;
    try {
      this.evaluateTriggers(e, now);
    } catch (err) {
      // Nothing can be valued, so no limit can be known to hold: fail safe. (A throw here once
      // left the state ACTIVE through a 25 % loss, and made a manual halt() throw too.)
      const reason = `risk evaluation failed: ${err instanceof Error ? err.message : String(err)}; positions cannot be valued`;
      this.lastTriggers = [{ state: 'HALTED', reason }];
      if (e.riskState.state === 'HALTED') return;
      // Never rethrown: the caller is a fill report from a venue adapter, a market event, the
      // control endpoint or a timer, none of which can do anything about it (a throw from the
      // HALT's side effects once escaped here, and the fill's adapter took it).
      try {
        e.halt(reason);
      } catch (haltErr) {
        this.opts.metrics?.errors.labels('risk').inc();
        this.opts.logger?.error({ err: haltErr instanceof Error ? haltErr.stack : String(haltErr) }, `risk: the HALT after a failed evaluation threw: ${haltErr instanceof Error ? haltErr.message : String(haltErr)}`);
      }
    }
  }

  /**
   * The drawdown the triggers act on. While some position is valued only at an earlier run's fill
   * (atOldFill), the drawdown from the journaled peak is partly a guess: what that position
   * added to the peak is not in the journal, and a HALT on the guess cancels everything (the first
   * evaluation after a restart once HALTed on a "drawdown" between a weeks-old fill and the
   * journaled peak). For DRAWDOWN_MARK_GRACE_MS from when such positions appeared, the triggers
   * act instead on the drawdown from the equity the journal left (journalEquity) or the equity
   * then if higher (MarkWait.dd): the guess stays what it was (a position unfilled in this run
   * keeps its last fill until its market marks it), so what moves the equity from there is a
   * gain or loss the markets told, on another instrument or on one of them once it gets its
   * mark. After the grace, the drawdown from the journaled peak, as if no mark were awaited. The
   * set emptying and later filling again starts a new wait; an evaluation meanwhile does not.
   */
  private drawdownBasis(wallNow: number): EquityTracker {
    if (!this.valuedAtOldFill()) {
      this.markWait = undefined;
      return this.equity;
    }
    const now = this.monoMs(wallNow);
    const eq = this.equity.equity;
    let w = this.markWait;
    if (w === undefined) {
      w = this.markWait = { since: now, dd: new EquityTracker(this.journalEquity()), expired: false };
      if (eq > w.dd.peak) w.dd.peak = eq;
      if (w.dd.peak > this.equity.peak) w.dd.peak = this.equity.peak;
      this.opts.logger?.warn(
        { equity: commonToDecimal(eq), peakEquity: commonToDecimal(this.equity.peak), graceMs: DRAWDOWN_MARK_GRACE_MS },
        `risk: ${this.unmarkedExposure()}: for up to ${DRAWDOWN_MARK_GRACE_MS} ms, until their markets give a mark, the drawdown triggers measure from ${commonToDecimal(w.dd.peak)} (the equity the journal left, or now if higher), not from the journaled peak ${commonToDecimal(this.equity.peak)}`,
      );
    }
    if (w.expired) return this.equity;
    // `now < since`: wall time stepped back (no clock given); the grace is counted from here
    if (now < w.since) w.since = now;
    if (now - w.since >= DRAWDOWN_MARK_GRACE_MS) {
      w.expired = true;
      this.opts.logger?.warn(
        { drawdownRatio: this.equity.drawdownRatio(), graceMs: DRAWDOWN_MARK_GRACE_MS },
        `risk: no market mark in ${now - w.since} ms of ${this.unmarkedExposure()}: the drawdown triggers act on the fill valuation (drawdown ${(this.equity.drawdownRatio() * 100).toFixed(2)}% from the journaled peak)`,
      );
      return this.equity;
    }
    const dd = w.dd;
    dd.equity = eq;
    if (eq > dd.peak) dd.peak = eq;
    // below the peak the operator accepted (resume) or the journal holds, never above it
    if (dd.peak > this.equity.peak) dd.peak = this.equity.peak;
    return dd;
  }

  /**
   * The equity at the marks the journal left: each position of an earlier run at its last
   * snapshot's mark, else its last fill; one filled in this run at its mark now. Where the wait
   * for marks starts from: the first evaluation after a restart may come after the first book,
   * and a loss that book showed on an instrument the journal had valued is no guess.
   */
  private journalEquity(): bigint {
    const pnl = this.engine!.portfolio.totals((p) => {
      const i = p.instrument;
      if (this.filledThisRun.has(instrumentKey(i.exchange, i.symbol))) return this.markHalfTicks(p);
      return this.fallbackMark(p) ?? this.markHalfTicks(p);
    }).equity;
    return this.equity.startingCapital + pnl;
  }

  /** What a drawdown trigger's reason says of the basis it was measured on (drawdownBasis). */
  private basisNote(dd: EquityTracker): string {
    if (this.markWait === undefined) return '';
    if (dd !== this.equity) return ` (from ${commonToDecimal(dd.peak)}, the equity where the wait for a market mark began, or since if higher; ${this.unmarkedExposure()})`;
    return ` (at the fill valuation: no market mark in ${DRAWDOWN_MARK_GRACE_MS} ms of ${this.unmarkedExposure()})`;
  }

  private evaluateTriggers(e: RiskEnginePort, now: number): void {
    this.evaluateEquity();
    const triggers: Trigger[] = [];
    const r = this.opts.risk;
    const dd = this.drawdownBasis(now);
    // the ratio (a bigint division) only for a trigger's reason: this runs on every fill
    if (dd.drawdownAtLeast(r.max_drawdown)) {
      triggers.push({ state: 'HALTED', reason: `drawdown ${(dd.drawdownRatio() * 100).toFixed(2)}%${this.basisNote(dd)} reached risk.max_drawdown ${(r.max_drawdown * 100).toFixed(2)}%` });
    } else {
      const soft = r.max_drawdown * (this.opts.reduceAtDrawdownFraction ?? 0.8);
      if (dd.drawdownAtLeast(soft)) triggers.push({ state: 'REDUCING', reason: `drawdown ${(dd.drawdownRatio() * 100).toFixed(2)}%${this.basisNote(dd)} reached the reducing threshold ${(soft * 100).toFixed(2)}%` });
    }
    // Past the warm-up (some instrument has the returns a VaR needs): a position whose market
    // has fewer is outside the VaR limit, so no new exposure until it is covered.
    const uncovered = this.mostReturns >= this.varReturnsNeeded ? this.uncoveredExposure() : undefined;
    if (this.varError !== undefined) {
      // Fail safe: the last VaR was computed for the positions of then (they may have grown
      // 100x since) and cannot be trusted; no new risk until a recompute succeeds.
      const last = this.lastVar ? `; the last VaR, ${this.lastVar.var.toFixed(2)} at ${this.lastVar.at}, is stale` : '';
      triggers.push({ state: 'REDUCING', reason: `VaR cannot be computed since ${this.varFailedAt}: ${this.varError}${last}` });
    } else if (uncovered !== undefined) {
      triggers.push({ state: 'REDUCING', reason: `VaR does not cover every position: too few sampled returns for ${uncovered.join(', ')}` });
    } else if (this.lastVar && this.lastVar.var > this.varOpts.budget) {
      triggers.push({ state: 'REDUCING', reason: `VaR ${this.lastVar.var.toFixed(2)} above its budget ${this.varOpts.budget}` });
    }
    const lost = this.feedLoss(now);
    if (lost) triggers.push({ state: this.opts.feedLossAction ?? 'REDUCING', reason: lost });
    this.lastTriggers = triggers;
    this.apply(triggers, now);
  }

  private feedLoss(wallNow: number): string | undefined {
    const grace = this.opts.feedLossGraceMs ?? 5000;
    // Monotonic: on wall time a feed lost just before a 1 h step back was no feed loss for the hour.
    const now = this.monoMs(wallNow);
    let worst: string | undefined;
    for (const rec of this.engine!.books.all()) {
      if (rec.state === 'synced') {
        this.everSynced.add(rec);
        this.unsyncedSince.delete(rec);
        continue;
      }
      if (!this.everSynced.has(rec)) continue; // never had a feed: nothing was lost
      let since = this.unsyncedSince.get(rec);
      if (since === undefined || now < since) {
        // `now < since`: wall time stepped back (no clock given); the loss is timed from here
        since = now;
        this.unsyncedSince.set(rec, now);
      }
      if (now - since >= grace) worst ??= `feed loss: ${rec.book.exchange}:${rec.book.symbol} ${rec.state} for ${now - since} ms (${rec.reason})`;
    }
    return worst;
  }

  private apply(triggers: Trigger[], now: number): void {
    const e = this.engine!;
    let target: Trigger = this.manual;
    for (const t of triggers) if (RANK[t.state] > RANK[target.state]) target = t;
    const cur = e.riskState.state;
    if (cur === 'HALTED') return; // latched: only resume() leaves HALTED
    if (target.state === 'HALTED') {
      e.halt(target.reason);
      return;
    }
    if (target.state === cur) return;
    // Entering REDUCING cancels what could still grow a position (Engine.reduce): the pre-trade
    // check alone left a resting bid placed while ACTIVE to double a long at the venue.
    if (target.state === 'REDUCING' && e.reduce !== undefined) e.reduce(target.reason);
    else e.riskState.set(target.state, target.reason, now);
  }

  // ---- manual control ---------------------------------------------------------------------

  /** Kill switch: HALTED, cancel all open orders, refuse new ones until resume(). */
  halt(reason = 'manual'): void {
    const was = this.engine?.riskState.state;
    this.manual = { state: 'HALTED', reason: `manual: ${reason}` };
    this.evaluate();
    // Already HALTED: the state does not move, but what is still open is cancelled again (an
    // operator pressing the kill switch twice means it).
    if (was === 'HALTED') this.engine?.halt(this.manual.reason);
  }

  /**
   * Only orders that reduce exposure, until resume(); open orders that could grow a position are
   * cancelled. Already REDUCING: what could still grow one is cancelled again.
   */
  reduce(reason = 'manual'): void {
    const was = this.engine?.riskState.state;
    this.manual = { state: 'REDUCING', reason: `manual: ${reason}` };
    this.evaluate();
    if (was === 'REDUCING') this.engine?.reduce?.(this.manual.reason);
  }

  /**
   * Leaves HALTED or a manual REDUCING. The operator accepts the drawdown so far: the equity
   * peak restarts at the current equity (else a drawdown halt would trip again at once).
   * Automatic triggers still apply (a lost feed keeps REDUCING). With nothing to leave (ACTIVE,
   * or a REDUCING only an automatic trigger holds) nothing changes: the peak is kept, since a
   * resume that reset it anyway moved the max_drawdown HALT further below the real peak.
   */
  resume(reason = 'manual'): RiskStateName {
    const e = this.engine;
    if (!e) return 'ACTIVE';
    const leaving = e.riskState.state === 'HALTED' || this.manual.state !== 'ACTIVE';
    if (leaving) {
      // valued first: a valuation that throws leaves everything as it was (HALTED stays)
      this.evaluateEquity();
      this.equity.resetPeak();
    }
    this.manual = { state: 'ACTIVE', reason: `manual resume: ${reason}` };
    if (leaving && e.riskState.state !== 'ACTIVE') e.riskState.set('ACTIVE', `manual resume: ${reason}`, e.now);
    this.evaluate();
    return e.riskState.state;
  }

  // ---- VaR ------------------------------------------------------------------------------------

  /**
   * Starts the next sampling period and samples every instrument's current mark: every
   * instrument with a book here whose mark is usable now (`mid`: its book synced; `last`: a
   * trade seen), position or not, so a position opened later is covered by its market's history
   * at once (sampling only positions left a new one out of the VaR for its first
   * `minObservations` periods). A position on an instrument without a book here is sampled at its
   * own mark. An instrument without a usable mark now gets no sample, and neither this period nor
   * the next has a return of it (a stale mark's zero return would understate the risk; the
   * return spanning the gap is not a one-period return). The VaR is computed from the periods
   * every exposed instrument has a return for.
   */
  sampleMarks(): void {
    const e = this.engine;
    if (!e) return;
    const p = ++this.period;
    const W = this.varOpts.window;
    const slot = p % W;
    // the window moves on: the return of period p - W leaves it, sampled or not
    for (const s of this.samples.values()) {
      if (s.at[slot] === p - W) s.count--;
      s.at[slot] = EMPTY_PERIOD;
    }
    for (const rec of e.books.all()) {
      const { exchange, symbol } = rec.book;
      const i = e.instrument(exchange, symbol);
      if (i === undefined) continue;
      const m = this.opts.mark === 'last' ? this.lastTradeHalfTicks(exchange, symbol) : midHalfTicks(rec.book);
      this.sampleMark(i, m, p);
    }
    for (const pos of e.portfolio.all()) {
      const i = pos.instrument;
      if (pos.qty === 0 || e.books.get(i.exchange, i.symbol) !== undefined) continue;
      this.sampleMark(i, this.markHalfTicks(pos), p);
    }
  }

  private lastTradeHalfTicks(exchange: string, symbol: string): number | undefined {
    const t = this.lastTrade.get(instrumentKey(exchange, symbol));
    return t === undefined ? undefined : 2 * t;
  }

  private sampleMark(i: Instrument, m: number | undefined, p: number): void {
    if (m === undefined || !(m > 0) || !Number.isFinite(m)) return;
    const s = this.samples.get(i.exchange, i.symbol);
    if (s === undefined) {
      const W = this.varOpts.window;
      this.samples.set(i.exchange, i.symbol, { priceScale: i.priceScale, last: m, lastPeriod: p, ret: new Float64Array(W), at: new Float64Array(W).fill(EMPTY_PERIOD), count: 0 });
      return;
    }
    const consecutive = s.lastPeriod === p - 1;
    const prev = s.last;
    s.last = m;
    s.lastPeriod = p;
    if (s.priceScale.mantissa !== i.priceScale.mantissa || s.priceScale.exponent !== i.priceScale.exponent) {
      s.priceScale = i.priceScale;
      return;
    }
    if (!consecutive) return;
    const slot = p % this.varOpts.window;
    s.ret[slot] = m / prev - 1;
    s.at[slot] = p;
    s.count++;
    if (s.count > this.mostReturns) this.mostReturns = s.count;
  }

  /** Returns a VaR needs: an H-period VaR needs H periods (historical: one H-period scenario at least). */
  private get varReturnsNeeded(): number {
    return Math.max(this.varOpts.minObservations, this.varOpts.horizon);
  }

  /**
   * Exposed positions with fewer sampled returns than a VaR needs, as `v:ETHUSDT (12 of 30
   * returns)`; where each has enough but fewer periods have a return of every one of them (their
   * gaps fall in different periods), those periods are what the VaR has:
   * `v:BTCUSDT, v:ETHUSDT (12 of 30 returns in the same periods)`. Allocates nothing while every
   * position is covered (it runs on every evaluation).
   */
  private uncoveredExposure(): string[] | undefined {
    const needed = this.varReturnsNeeded;
    let out: string[] | undefined;
    const exposed = this.exposedScratch;
    exposed.length = 0;
    for (const p of this.engine!.portfolio.all()) {
      if (p.qty === 0) continue;
      const i = p.instrument;
      const s = this.samples.get(i.exchange, i.symbol);
      const have = s?.count ?? 0;
      if (have < needed) (out ??= []).push(`${i.exchange}:${i.symbol} (${have} of ${needed} returns)`);
      else exposed.push(s!);
    }
    if (out !== undefined || exposed.length < 2) {
      exposed.length = 0;
      return out;
    }
    const common = this.commonPeriods(exposed, undefined);
    exposed.length = 0;
    if (common >= needed) return undefined;
    const names: string[] = [];
    for (const p of this.engine!.portfolio.all()) if (p.qty !== 0) names.push(`${p.instrument.exchange}:${p.instrument.symbol}`);
    return [`${names.join(', ')} (${common} of ${needed} returns in the same periods)`];
  }

  /**
   * The periods of the window, oldest first, with a return of every one of `series`: their
   * count, and with `rows` each such period's returns (one column per series) pushed onto it.
   */
  private commonPeriods(series: readonly VarSamples[], rows: number[][] | undefined): number {
    const W = this.varOpts.window;
    let n = 0;
    for (let q = Math.max(1, this.period - W + 1); q <= this.period; q++) {
      const slot = q % W;
      let all = true;
      for (const s of series) {
        if (s.at[slot] !== q) {
          all = false;
          break;
        }
      }
      if (!all) continue;
      n++;
      if (rows !== undefined) rows.push(series.map((s) => s.ret[slot]!));
    }
    return n;
  }

  /**
   * VaR of the current positions: exposures are position notionals at the mark (quote
   * currency), returns the sampled mark returns over their common history. Off the hot path.
   * At most one recompute is in flight: a call meanwhile returns the last VaR.
   */
  async recomputeVar(): Promise<VaRResult | undefined> {
    if (!this.engine || this.varInFlight) return this.lastVar;
    const names: string[] = [];
    const weights: number[] = [];
    const series: VarSamples[] = [];
    const o = this.varOpts;
    // A VaR of part of the positions is not shown as the VaR: a new position left out of it
    // once escaped the VaR limit unseen, its VaR reading small and fresh. No figure instead;
    // once the VaR is in force, evaluateTriggers holds REDUCING until every position is covered.
    const uncovered = this.uncoveredExposure();
    if (uncovered !== undefined) {
      this.lastVar = undefined;
      this.varUnavailable = undefined;
      this.evaluate();
      return undefined;
    }
    for (const p of this.engine.portfolio.all()) {
      if (p.qty === 0) continue;
      const i = p.instrument;
      const s = this.samples.get(i.exchange, i.symbol)!;
      const mark = this.markHalfTicks(p);
      if (mark === undefined) continue;
      const price = (mark / 2) * Number(i.priceScale.mantissa) * 10 ** -i.priceScale.exponent;
      const qty = p.qty * Number(i.qtyScale.mantissa) * 10 ** -i.qtyScale.exponent;
      names.push(`${i.exchange}:${i.symbol}`);
      weights.push(price * qty);
      series.push(s);
    }
    if (names.length === 0) {
      // nothing exposed: no VaR to compute, and an earlier failure no longer holds anything back
      this.noVar(undefined);
      return undefined;
    }
    // the same periods for every instrument: rows are periods, never positions in a list
    const rows: number[][] = [];
    this.commonPeriods(series, rows);
    const startedAt = this.engine.now;
    const startedMono = this.monoMs(startedAt);
    const flight: VarFlight = { startedAt, startedMono, startedReal: this.realNow(startedMono), overdue: false };
    this.varInFlight = flight;
    try {
      const r = await computeVaR(o.method, rows, weights, this.opts.risk.var_confidence, { horizon: o.horizon, backend: this.opts.backend, paths: o.paths, seed: o.seed });
      // `at`: the time of the positions and returns it was computed from
      this.lastVar = { ...r, at: flight.startedAt, exposures: Object.fromEntries(names.map((n, k) => [n, weights[k]])) };
      this.varError = undefined;
      this.varUnavailable = undefined;
      if (flight.overdue) {
        // a late answer clears the failure; the positions may have moved since: recompute at the next tick
        this.opts.logger?.warn({ startedAt: flight.startedAt }, `VaR recompute answered ${this.monoMs(this.engine.now) - flight.startedMono} ms after it started (overdue); recomputing`);
        this.nextVarAt = this.engine.now;
      }
      this.evaluate();
      return r;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof VaRInputError) {
        // the returns at hand give no VaR (a covariance that is not positive semi-definite):
        // no figure, as before enough returns were sampled; no failure of the backend either
        if (this.varUnavailable !== message) this.opts.logger?.warn({ err: message }, `VaR cannot be computed from the sampled returns: ${message}; no VaR until it can`);
        this.noVar(message);
        return undefined;
      }
      if (this.varError === undefined) this.varFailedAt = this.engine.now;
      this.varError = message;
      // an overdue one was counted and logged when it was taken as failed
      if (!flight.overdue) {
        this.opts.metrics?.errors.labels('risk:var').inc();
        this.opts.logger?.warn({ err: message }, `VaR recompute failed: ${message}; REDUCING until a recompute succeeds`);
      }
      this.evaluate();
      return undefined;
    } finally {
      if (this.varInFlight === flight) this.varInFlight = undefined;
    }
  }

  /** No VaR for the positions at hand (`why`: the returns give none): neither a figure nor a failure. */
  private noVar(why: string | undefined): void {
    this.lastVar = undefined;
    this.varUnavailable = why;
    if (this.varError !== undefined) {
      this.varError = undefined;
      this.evaluate();
    }
  }

  /**
   * Monotonic ms for the timers (the feed-loss grace, the VaR overdue limit): the clock's
   * monoNs() in whole ms, rounded as OrderRateCheck does (ManualClock's gives back its exact ms),
   * else `wallNow`; a caller without a clock clamps what it stored to a `wallNow` below it.
   */
  private monoMs(wallNow: number): number {
    const c = this.opts.clock;
    return c === undefined ? wallNow : monoMs(c);
  }

  /** Real time for the overdue limit (replay's clock is virtual): realTimeMs, else `mono`. */
  private realNow(mono: number): number {
    return this.opts.realTimeMs?.() ?? mono;
  }

  /**
   * A recompute in flight past VAR_OVERDUE_PERIODS periods (VAR_OVERDUE_MIN_MS at least) is
   * treated as failed, as a throw is: the VaR is shown stale and the state goes REDUCING. It
   * stays the one in flight (no second one piles onto a hung device); its answer, if one ever
   * comes, is applied and clears the failure.
   */
  private checkVarOverdue(now: number): void {
    const f = this.varInFlight;
    if (f === undefined || f.overdue) return;
    const limit = Math.max(VAR_OVERDUE_PERIODS * this.varOpts.recomputeEveryMs, VAR_OVERDUE_MIN_MS);
    // Monotonic: on wall time alone a recompute hung around a 1 h step back was not overdue for
    // the hour, the last VaR shown fresh meanwhile. Without a clock a step back restarts the count.
    const mono = this.monoMs(now);
    if (mono < f.startedMono) f.startedMono = mono;
    const real = this.realNow(mono);
    if (real < f.startedReal) f.startedReal = real;
    if (mono - f.startedMono < limit || real - f.startedReal < limit) return;
    f.overdue = true;
    if (this.varError === undefined) this.varFailedAt = now;
    this.varError = `the recompute started at ${f.startedAt} has not answered in ${mono - f.startedMono} ms (limit ${limit} ms): the compute backend may be hung`;
    this.opts.metrics?.errors.labels('risk:var').inc();
    this.opts.logger?.warn({ startedAt: f.startedAt }, `VaR ${this.varError}; REDUCING until a recompute succeeds`);
  }

  // ---- status ---------------------------------------------------------------------------------

  /**
   * `stale`: the last recompute failed (`error`, since `failedAt`); the figures are those of `at`.
   * `uncovered`: exposed positions with too few sampled returns (no VaR of them yet).
   */
  private varStatus(): Record<string, unknown> {
    const uncovered = this.engine ? this.uncoveredExposure() : undefined;
    const v = this.lastVar;
    if (v) {
      return {
        method: v.method, confidence: v.confidence, horizon: v.horizon, var: v.var, cvar: v.cvar, budget: this.varOpts.budget, at: v.at, exposures: v.exposures,
        stale: this.varError !== undefined, error: this.varError ?? null, ...(this.varError !== undefined ? { failedAt: this.varFailedAt } : {}),
        // a position opened since `at` and not covered yet: the figure leaves it out
        ...(uncovered !== undefined ? { uncovered } : {}),
      };
    }
    const needed = this.varReturnsNeeded;
    return {
      budget: this.varOpts.budget, error: this.varError ?? null,
      ...(uncovered !== undefined ? { uncovered } : {}),
      note:
        this.varError !== undefined ? 'the recompute fails'
        : uncovered !== undefined ? `not computed yet (needs positions and ${needed} sampled returns): too few for ${uncovered.join(', ')}${this.mostReturns >= needed ? '; REDUCING until every position is covered' : ''}`
        : this.varUnavailable !== undefined ? `cannot be computed from the sampled returns: ${this.varUnavailable}`
        : `not computed yet (needs positions and ${needed} sampled returns)`,
    };
  }

  /**
   * Never throws: it is what the operator reads in the HALT a failed valuation causes (/status,
   * GET /risk, the answer to POST /risk/halt). Figures that need the valuation are then null and
   * `valuationError` says why, as the metrics read NaN; the state, its reason, the peak, the
   * triggers and the VaR do not depend on it.
   */
  status(): Record<string, unknown> {
    const e = this.engine;
    if (e?.restorePending === true) return this.restoringStatus(e);
    let valuationError: string | null = null;
    try {
      this.evaluateEquity();
    } catch (err) {
      valuationError = `positions cannot be valued: ${err instanceof Error ? err.message : String(err)}`;
    }
    const valued = valuationError === null;
    return {
      state: e?.riskState.state ?? 'ACTIVE',
      reason: e?.riskState.reason ?? 'start',
      since: e?.riskState.since ?? 0,
      manual: this.manual.state,
      triggers: this.lastTriggers,
      equity: valued ? commonToDecimal(this.equity.equity) : null,
      peakEquity: commonToDecimal(this.equity.peak),
      startingCapital: commonToDecimal(this.equity.startingCapital),
      drawdownRatio: valued ? this.equity.drawdownRatio() : null,
      maxDrawdown: this.opts.risk.max_drawdown,
      drawdownUnmarked: this.drawdownUnmarkedStatus(e?.now),
      valuationError,
      var: this.varStatus(),
      accountCurrency: this.account?.currency ?? null,
      cash: this.cash.snapshot(),
      openOrders: this.openOrderCount(),
    };
  }

  /**
   * While the drawdown triggers wait for a market mark (drawdownBasis): the positions, what the
   * triggers measure from, and for how long more at most. Asked of the positions now: a mark that
   * came since the last evaluation ends the wait at the next one.
   */
  private drawdownUnmarkedStatus(wallNow: number | undefined): string | null {
    const w = this.markWait;
    if (w === undefined || w.expired || wallNow === undefined) return null;
    const names = this.unmarkedExposure();
    if (names === undefined) return null;
    const left = Math.max(0, DRAWDOWN_MARK_GRACE_MS - (this.monoMs(wallNow) - w.since));
    return `${names}; the drawdown triggers measure from ${commonToDecimal(w.dd.peak)} for ${left} ms more at most`;
  }

  /**
   * Before the journal restore (start() runs it once every venue has loaded its instruments, a
   * REST call that a venue outage stretches to its timeout): the state, equity and peak are the
   * defaults, and a HALT the journal holds reads ACTIVE. Shown as RESTORING with no figures,
   * unless the state is HALTED already (a halt from the control endpoint meanwhile): that one is
   * a fact, and the strongest state there is.
   */
  private restoringStatus(e: RiskEnginePort): Record<string, unknown> {
    const halted = e.riskState.state === 'HALTED';
    return {
      state: halted ? 'HALTED' : 'RESTORING',
      reason: halted ? e.riskState.reason : RESTORING_REASON,
      since: e.riskState.since,
      manual: this.manual.state,
      triggers: [],
      equity: null,
      peakEquity: null,
      startingCapital: commonToDecimal(this.equity.startingCapital),
      drawdownRatio: null,
      maxDrawdown: this.opts.risk.max_drawdown,
      drawdownUnmarked: null,
      valuationError: null,
      var: { budget: this.varOpts.budget, error: null, note: 'not computed yet: the journal restore has not run' },
      accountCurrency: this.account?.currency ?? null,
      cash: this.cash.snapshot(),
      openOrders: this.openOrderCount(),
    };
  }
}

/**
 * The mark of a synced book with one side only (every bid pulled in a sell-off, every ask in a
 * rally): no mid, and `ref` (the last two-sided mid, else the fallback) may be far from the
 * market for as long as it stays so. Valued against the position: a long at no more than the
 * remaining side's price (no one pays more than the best ask for what anyone can buy there; the
 * best bid is what it sells for), a short at no less. Undefined `ref`: the side's price.
 */
function oneSidedMark(b: BookView, qty: number, ref: number | undefined): number | undefined {
  const bid = b.bestBid();
  const ask = b.bestAsk();
  if ((bid === undefined) === (ask === undefined)) return ref;
  const side2 = 2 * (bid ?? ask)!;
  if (ref === undefined) return side2;
  return qty > 0 ? Math.min(ref, side2) : qty < 0 ? Math.max(ref, side2) : ref;
}

/** /status `risk.reason` while the journal restore has not run (RiskManager.status, engineStatus). */
export const RESTORING_REASON = 'the journal restore has not run yet (it runs once every venue has loaded its instruments): positions, equity and the risk state saved in the journal are not known yet';

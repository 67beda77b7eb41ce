/**
 * The whole hot path in one process, as the app runs it: venue frames as text -> the venue's
 * own I/O-free feed (parse, edge validation, sequence/checksum, BookSync) -> Engine (book store,
 * detectors, strategy) -> risk checks -> SmartOrderRouter -> the execution client's submit, with
 * the journal as a deployment has it (`[journal]` defaults: fsync "batch", every order and
 * report journaled, client ids from its reservations). Only the ends are the bench's: the frames
 * come from memory instead of a socket, and the execution clients record when the engine handed
 * them an order (then answer "expired", as an IOC that found nothing would be, so open orders
 * stay flat). Nothing here hooks into the engine: the per-stage breakdown (e2e-stages.ts) calls
 * the same components itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FsyncPolicy } from '../../config/types.js';
import { ManualClock } from '../../contracts/clock.js';
import type { MarketEventSink } from '../../contracts/exchange.js';
import type { Detector, Strategy, StrategyContext } from '../../contracts/trading.js';
import type { MarketEvent } from '../../domain/events.js';
import type { Instrument } from '../../domain/instrument.js';
import type { Order, OrderIntent } from '../../domain/orders.js';
import type { Signal } from '../../domain/signal.js';
import { CascadeDetector, WhaleDetector } from '../../detectors/index.js';
import { Engine } from '../../engine/engine.js';
import { attachJournal } from '../../engine/rebuild.js';
import { JournalStore } from '../../journal/store.js';
import { ScriptedVenue } from '../../engine/test-venue.js';
import { MetricsRegistry } from '../../observability/metrics.js';
import { silentLogger } from '../../observability/logger.js';
import { RiskManager } from '../../risk/index.js';
import { SmartOrderRouter } from '../../routing/smart-order-router.js';
import { routingSchema } from '../../config/routing-schema.js';
import { riskTable } from '../../config/tables.js';
import { openWorkerIntake, type E2EWorkerPlan } from './e2e-worker-intake.js';

/** `[risk]` with limits far from the bench's orders: every check runs and passes. */
export function benchRiskConfig() {
  return riskTable.parse({ max_position: 1e12, max_total_position: 1e12, max_order_notional: 1e9, max_drawdown: 0.5, var_confidence: 0.99, max_open_orders: 1_000_000, price_band_bps: 500, orders_per_second: 1e12 });
}

/** One venue's intake: its real feed class, fed text frames that continue its harness's book. */
export interface E2EVenueIntake {
  /** Exchange name on the events the feed emits (the engine's venue name). */
  readonly exchange: string;
  /** The instrument as the feed parses it (price and quantity grids). */
  readonly instrument: Instrument;
  /** A fresh feed, SYNCED at its known book, emitting to `sink`; returns "one frame off the socket". */
  open(sink: MarketEventSink): { feed: (text: string) => void; rejected: () => number };
  /** `n` book update frames (10 bid + 10 ask changes each) that apply cleanly after open(). */
  frames(n: number, seed: number): string[];
}

/** Times of the orders an event caused, and the orders to answer afterwards. */
export class OrderTimes {
  first = -1;
  last = -1;
  orders = 0;
  readonly pending: { venue: ScriptedVenue; order: Order }[] = [];
  reset(): void {
    this.first = -1;
    this.last = -1;
  }
}

/** A venue whose execution client records the hand-off time (performance.now(), ms) of each order. */
class RecordingVenue extends ScriptedVenue {
  constructor(
    exchange: string,
    instrument: Instrument,
    private readonly times: OrderTimes,
  ) {
    super(exchange, [instrument]);
    this.autoCancel = true;
  }
  override submit(order: Readonly<Order>): void {
    const t = performance.now();
    const times = this.times;
    if (times.first < 0) times.first = t;
    times.last = t;
    times.orders++;
    times.pending.push({ venue: this, order: order as Order });
  }
}

/**
 * The bench's strategy: every `every`-th book update (any venue) it sends a marketable IOC
 * parent on the first venue's instrument, alternating buy and sell, `qty` lots at 20 ticks
 * through the touch; the router splits it over the venues. Detectors' signals are counted.
 */
export class TriggerStrategy implements Strategy {
  readonly name = 'e2e-trigger';
  private n = 0;
  private buy = true;
  signals = 0;
  constructor(
    private readonly exchange: string,
    private readonly symbol: string,
    private readonly every: number,
    private readonly qty: number,
  ) {}
  onSignal(_s: Signal): void {
    this.signals++;
  }
  onMarketEvent(ev: MarketEvent, ctx: StrategyContext): void {
    if (ev.type !== 'book_delta' || ++this.n % this.every !== 0) return;
    const book = ctx.book(this.exchange, this.symbol);
    if (!book) return;
    const buy = (this.buy = !this.buy);
    const touch = buy ? book.bestAsk() : book.bestBid();
    if (touch === undefined) return;
    const intent: OrderIntent = { exchange: this.exchange, symbol: this.symbol, side: buy ? 'buy' : 'sell', type: 'limit', price: buy ? touch + 20 : touch - 20, qty: this.qty, tif: 'IOC', source: this.name };
    ctx.submit(intent);
  }
}

export interface E2EPipelineOptions {
  /** A book update in `triggerEvery` sends a parent order (default 20). */
  triggerEvery?: number;
  /** Parent size in lots of the first venue (default 20_000: 0.2 BTC at Binance's 1e-5). */
  parentQty?: number;
  /** Without detectors, strategy, risk and router: the market data path only. */
  bare?: boolean;
  /**
   * Staged run (e2e-stages.ts): the engine gets no detectors, no strategy and no risk chain; the
   * caller runs them itself, each under its own timer.
   */
  detached?: boolean;
  /** Venues whose intake runs on a worker thread, one each (e2e-worker-intake.ts); the others inline. */
  workers?: readonly E2EWorkerPlan[];
  /**
   * The journal (default: on, as the default config deploys it: fsync "batch", batch_ms 50,
   * wired as compose.ts wires it, through the engine's restore hook and attachJournal, so client
   * ids come from its reservations). A fresh file in a temporary directory, removed by stop().
   * `false`: no journal, the engine alone (what every e2e figure before 2026-12-07 measured).
   */
  journal?: false | { fsync?: FsyncPolicy; batchMs?: number };
}

/** `[journal]` batch_ms's default: how often settle() hands the journal's queue to its writer. */
const JOURNAL_BATCH_MS = 50;

/** Everything one run needs, SYNCED and ready for `feed`. */
export interface E2EPipeline {
  engine: Engine;
  clock: ManualClock;
  times: OrderTimes;
  risk: RiskManager;
  router: SmartOrderRouter;
  detectors: Detector[];
  strategy: TriggerStrategy;
  /** The engine's journal (undefined with `journal: false`). */
  journal: JournalStore | undefined;
  /** Per venue (same order as the intakes): one frame in. */
  feeds: ((text: string) => void)[];
  rejected: () => number;
  /**
   * Answers the orders sent since the last call ("expired"), as the venue would after the event,
   * and hands the journal's queue to its writer every batch_ms, as its timer would between two
   * socket reads (the bench's loop never yields to the event loop, so the timer cannot run).
   */
  settle(): void;
  /** With a worker intake: starts its paced frames at t0 (performance.now() ms), one per period (0: unpaced). */
  go(t0: number, periodMs: number): void;
  stop(): Promise<void>;
}

/** The engine's view of a venue's instrument: quotes USDT and USD count as one (see docs/performance.md). */
function routable(i: Instrument): Instrument {
  return { ...i, quote: i.quote === 'USDT' ? 'USD' : i.quote };
}

export async function buildPipeline(intakes: readonly E2EVenueIntake[], opts: E2EPipelineOptions = {}, sinkFor?: (engine: Engine, venue: number) => MarketEventSink): Promise<E2EPipeline> {
  const clock = new ManualClock(1_764_900_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const times = new OrderTimes();
  const names = intakes.map((v) => v.exchange);
  const parent = intakes[0]!;
  const venues = intakes.map((v) => new RecordingVenue(v.exchange, routable(v.instrument), times));
  const risk = new RiskManager({
    risk: benchRiskConfig(),
    metrics,
    initialEquity: 1e9,
    timers: false,
  });
  const venueCfg: Record<string, unknown> = {};
  intakes.forEach((v, k) => {
    venueCfg[v.exchange] = { taker_fee_bps: [10, 6, 8, 12][k % 4], ...(k > 0 ? { symbols: { [parent.instrument.symbol]: v.instrument.symbol } } : {}) };
  });
  const router = new SmartOrderRouter({ config: routingSchema.parse({ enabled: true, reroute_unfilled_ioc: false, max_children: 4, depth_levels: 20, venue: venueCfg }), venues: names });
  const detectors: Detector[] = opts.bare ? [] : [new WhaleDetector('whale', {}), new CascadeDetector('cascade', {})];
  const strategy = new TriggerStrategy(parent.exchange, parent.instrument.symbol, opts.triggerEvery ?? 20, opts.parentQty ?? 20_000);
  const logger = silentLogger();
  const journalOpts = opts.journal === false ? undefined : (opts.journal ?? {});
  const journalDir = journalOpts ? mkdtempSync(join(tmpdir(), 'cwts-e2e-journal-')) : undefined;
  const batchMs = journalOpts?.batchMs ?? JOURNAL_BATCH_MS;
  // A deployment halts on a journal failure; the bench refuses its figures (stop() throws).
  const journalErrors: string[] = [];
  const journal = journalDir ? JournalStore.open(join(journalDir, 'e2e.db'), { fsync: journalOpts?.fsync ?? 'batch', batchMs, onError: (e) => journalErrors.push(e.message) }) : undefined;
  const dropJournal = (): void => {
    journal?.close();
    if (journalDir) rmSync(journalDir, { recursive: true, force: true });
  };
  const engine = new Engine({
    clock,
    logger,
    metrics,
    watchdog: false,
    journal,
    // As compose.ts: restore, then client ids from the journal's reservations.
    restore: journal ? (e) => attachJournal(e, journal, logger) : undefined,
    venues: venues.map((v, k) => ({ name: names[k]!, symbols: [intakes[k]!.instrument.symbol], marketData: v, execution: v })),
    detectors: opts.detached ? [] : detectors,
    ...(opts.bare ? {} : { router, risk, ...(opts.detached ? { riskChecks: [] } : { strategy, riskChecks: risk.checks }) }),
  });
  const opened: { feed: (text: string) => void; rejected: () => number; go?: (t0: number, periodMs: number) => void; stop?: () => Promise<void> }[] = [];
  try {
    await engine.start();
    for (let k = 0; k < intakes.length; k++) {
      const v = intakes[k]!;
      const plan = opts.workers?.find((w) => w.venue === k);
      opened.push(plan ? await openWorkerIntake(v, plan, engine) : v.open(sinkFor ? sinkFor(engine, k) : engine));
    }
    for (const v of intakes) {
      if (engine.books.get(v.exchange, v.instrument.symbol)?.state !== 'synced') throw new Error(`e2e: ${v.exchange} ${v.instrument.symbol} did not sync`);
    }
  } catch (err) {
    for (const o of opened) await o.stop?.().catch(() => {});
    dropJournal();
    throw err;
  }
  let handOverAt = performance.now() + batchMs;
  const settle = (): void => {
    const p = times.pending;
    for (let i = 0; i < p.length; i++) p[i]!.venue.report(p[i]!.order, { kind: 'expired', leavesQty: 0, cumQty: 0 });
    p.length = 0;
    if (journal !== undefined) {
      const now = performance.now();
      if (now >= handOverAt) {
        journal.handOver();
        handOverAt = now + batchMs;
      }
    }
  };
  return {
    engine,
    clock,
    times,
    risk,
    router,
    detectors,
    strategy,
    journal,
    feeds: opened.map((o) => o.feed),
    rejected: () => opened.reduce((s, o) => s + o.rejected(), 0),
    settle,
    go: (t0, periodMs) => {
      for (const o of opened) o.go?.(t0, periodMs);
    },
    stop: async () => {
      try {
        // closes the journal too
        await engine.stop('bench');
        for (const o of opened) await o.stop?.();
      } finally {
        dropJournal();
      }
      if (journalErrors.length > 0) throw new Error(`e2e: the journal failed (${journalErrors.join('; ')}): a deployment would have halted; the figures are not what it runs`);
    },
  };
}

import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { BucketHistogram } from './bucket-histogram.js';

/**
 * Every metric of the public contract (DESIGN.md), created once. `cwts_latency_p99` and
 * `cwts_orders_per_second` are gauges exactly as the seed's alert rules use them; the
 * histograms and counters beside them are what dashboards should use.
 */
type ComputedGauge = 'latencyP99Ms' | 'ordersPerSecond' | 'equity' | 'drawdownRatio' | 'valueAtRisk';

export class MetricsRegistry {
  readonly registry = new Registry();
  private readonly computed = new Map<ComputedGauge, () => number>();
  /** Gauges whose value is computed when Prometheus scrapes, from a function the engine sets. */
  private collectFor(name: ComputedGauge) {
    const computed = this.computed;
    return function (this: Gauge) {
      const f = computed.get(name);
      if (f) this.set(f());
    };
  }
  setComputed(name: ComputedGauge, f: () => number): void {
    this.computed.set(name, f);
  }
  private executionRejections: () => Iterable<readonly [exchange: string, reason: string, count: number]> = () => [];
  /** Where `cwts_execution_input_rejected_total` reads the execution clients' running totals at scrape time. */
  setExecutionRejections(f: () => Iterable<readonly [exchange: string, reason: string, count: number]>): void {
    this.executionRejections = f;
  }
  private feedAges: () => Iterable<readonly [exchange: string, symbol: string, ageSeconds: number]> = () => [];
  /** Where `cwts_feed_last_event_age_seconds` reads the books' last-update ages at scrape time. */
  setFeedAges(f: () => Iterable<readonly [exchange: string, symbol: string, ageSeconds: number]>): void {
    this.feedAges = f;
  }

  readonly latencyP99Ms = new Gauge({ name: 'cwts_latency_p99', help: 'Tick-to-order latency p99 over a sliding window, milliseconds', registers: [this.registry], collect: this.collectFor('latencyP99Ms') });
  readonly ordersPerSecond = new Gauge({ name: 'cwts_orders_per_second', help: 'Orders sent per second over a sliding window', registers: [this.registry], collect: this.collectFor('ordersPerSecond') });
  readonly tickToOrder = new BucketHistogram({
    name: 'cwts_tick_to_order_seconds',
    help: "Time from the engine receiving the market event that triggered an order to the execution client's submit() returning (for a client that writes to its socket synchronously: the order's bytes handed to the socket)",
    buckets: [...TICK_TO_ORDER_BUCKETS],
    registers: [this.registry],
  });
  readonly orderAck = new BucketHistogram({
    name: 'cwts_order_ack_seconds',
    help: "Time from the execution client's submit() returning to the venue's first report on the order (ack, reject or fill): the exchange-bound part of an order's latency",
    labelNames: ['exchange'],
    buckets: [...ORDER_ACK_BUCKETS],
    registers: [this.registry],
  });
  readonly eventLoopLag = new Gauge({ name: 'cwts_event_loop_lag_seconds', help: "Largest event-loop lag of the engine thread over the last second: how late a timer due now fires (work queued behind the current event)", registers: [this.registry] });
  readonly ringFillRatio = new Gauge({ name: 'cwts_ring_fill_ratio', help: 'Fill level 0..1 of the feed ring between a venue intake worker and the engine thread', labelNames: ['exchange'], registers: [this.registry] });
  readonly backpressure = new Gauge({ name: 'cwts_backpressure', help: 'Back-pressure: 1 while intake outpaces the engine (lag over [performance] max_latency_ms or a ring over its high-water mark) and new risk is refused, else 0', registers: [this.registry] });
  readonly marketEvents = new Counter({ name: 'cwts_market_events_total', help: 'Normalized market events received', labelNames: ['exchange', 'symbol', 'type'], registers: [this.registry] });
  readonly bookState = new Gauge({ name: 'cwts_book_state', help: 'Book sync state: 0 connecting, 1 synced, 2 resyncing, 3 stale, 4 crossed, 5 disconnected, 6 stopped', labelNames: ['exchange', 'symbol'], registers: [this.registry] });
  readonly bookResyncs = new Counter({ name: 'cwts_book_resyncs_total', help: 'Book resynchronisations by reason', labelNames: ['exchange', 'symbol', 'reason'], registers: [this.registry] });
  readonly signals = new Counter({ name: 'cwts_signals_total', help: 'Signals emitted by detectors', labelNames: ['detector', 'exchange', 'symbol'], registers: [this.registry] });
  readonly orders = new Counter({ name: 'cwts_orders_total', help: 'Orders by final or intermediate status', labelNames: ['exchange', 'status'], registers: [this.registry] });
  readonly riskRejections = new Counter({ name: 'cwts_risk_rejections_total', help: 'Order intents rejected before routing, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly riskState = new Gauge({ name: 'cwts_risk_state', help: 'Risk state: 0 ACTIVE, 1 REDUCING, 2 HALTED; NaN before the journal restore', registers: [this.registry] });
  readonly drawdownRatio = new Gauge({ name: 'cwts_drawdown_ratio', help: 'Drawdown from peak equity, 0..1', registers: [this.registry], collect: this.collectFor('drawdownRatio') });
  readonly valueAtRisk = new Gauge({ name: 'cwts_var', help: 'Value at risk at the configured confidence, quote currency; NaN while positions are held without a current VaR', registers: [this.registry], collect: this.collectFor('valueAtRisk') });
  readonly position = new Gauge({ name: 'cwts_position', help: 'Signed position in base units', labelNames: ['exchange', 'symbol'], registers: [this.registry] });
  readonly equity = new Gauge({ name: 'cwts_equity', help: 'Equity in quote currency (cash + marked positions)', registers: [this.registry], collect: this.collectFor('equity') });
  readonly computeKernelSeconds = new BucketHistogram({
    name: 'cwts_compute_kernel_seconds',
    help: 'Compute kernel call time including transfers',
    labelNames: ['backend', 'kernel'],
    buckets: [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1],
    registers: [this.registry],
  });
  /**
   * Computed at scrape time (nothing on the hot path): a feed that stops without a disconnect is
   * visible here before the book-staleness timeout turns it STALE. Books that never received an
   * update have no series (their state gauge says connecting).
   */
  readonly feedLastEventAge = (() => {
    const metrics = this;
    return new Gauge({
      name: 'cwts_feed_last_event_age_seconds',
      help: 'Seconds since the last book snapshot or delta per venue and symbol, computed at scrape',
      labelNames: ['exchange', 'symbol'],
      registers: [this.registry],
      collect(this: Gauge) {
        this.reset();
        for (const [exchange, symbol, age] of metrics.feedAges()) this.labels(exchange, symbol).set(age);
      },
    });
  })();
  readonly reconcileMismatches = new Counter({ name: 'cwts_reconcile_mismatches_total', help: 'Differences between the journal and a venue found by reconciliation at start, by kind', labelNames: ['exchange', 'kind'], registers: [this.registry] });
  /**
   * Venue input an execution client refused (ExecutionClient.inputRejections), read at scrape:
   * the clients keep running totals, this counter adds what each grew by since the last scrape.
   */
  readonly executionInputRejected = (() => {
    const metrics = this;
    const seen = new Map<string, number>();
    return new Counter({
      name: 'cwts_execution_input_rejected_total',
      help: 'Venue input an execution client refused and never applied (order stream frames, order answers, trades, order reads that failed its checks), by reason',
      labelNames: ['exchange', 'reason'],
      registers: [this.registry],
      collect(this: Counter) {
        for (const [exchange, reason, count] of metrics.executionRejections()) {
          const key = `${exchange}\u0000${reason}`;
          const grew = count - (seen.get(key) ?? 0);
          if (grew > 0) this.labels(exchange, reason).inc(grew);
          seen.set(key, count);
        }
      },
    });
  })();
  readonly executionReportsInvalid = new Counter({ name: 'cwts_execution_reports_invalid_total', help: 'Execution reports about our orders that the engine could not book (a fill that is not positive whole lots at positive whole ticks, another instrument, another side): not applied; the position may differ from the venue until reconciliation', labelNames: ['exchange', 'reason'], registers: [this.registry] });
  readonly journalWriteFailures = new Counter({ name: 'cwts_journal_write_failures_total', help: 'Journal commits that failed or timed out; each one halts new orders (the next restart would not know what was sent)', registers: [this.registry] });
  readonly errors = new Counter({ name: 'cwts_errors_total', help: 'Recovered errors by component', labelNames: ['component'], registers: [this.registry] });
  readonly feedErrors = new Counter({ name: 'cwts_feed_errors_total', help: 'Market-data input rejected at the adapter edge (malformed frames, invalid values, implausible ids), by reason', labelNames: ['exchange', 'symbol', 'reason'], registers: [this.registry] });

  private readonly processEveryMs: number;
  private readonly now: () => number;
  private processCache: { at: number; text: string } | undefined;

  constructor(options: { processMetrics?: boolean; processMetricsEveryMs?: number; now?: () => number } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.processEveryMs = options.processMetricsEveryMs ?? 5000;
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * The exposition text. prom-client's process metrics (`process_*`, `nodejs_*`: /proc reads,
   * heap-space statistics) cost about 30x the app's own series per render (1.5 ms vs 0.05 ms of
   * CPU measured), and a render runs on the engine thread, so they are re-collected at most every
   * `processMetricsEveryMs` (5 s, within a scrape interval) and reused in between; the app's own
   * series are fresh on every render.
   */
  async text(): Promise<string> {
    const own: string[] = [];
    const processNames: string[] = [];
    for (const m of this.registry.getMetricsAsArray()) (isProcessMetric(m.name) ? processNames : own).push(m.name);
    const t = this.now();
    if (processNames.length > 0 && (!this.processCache || t - this.processCache.at >= this.processEveryMs)) {
      const texts = await Promise.all(processNames.map((n) => this.registry.getSingleMetricAsString(n)));
      this.processCache = { at: t, text: texts.join('\n\n') };
    }
    const texts = await Promise.all(own.map((n) => this.registry.getSingleMetricAsString(n)));
    if (processNames.length > 0) texts.push(this.processCache!.text);
    return spellNaN(`${texts.join('\n\n')}\n`);
  }
}

/**
 * prom-client writes a NaN sample value as `Nan`; the text exposition format spells it `NaN`, and
 * strict parsers (OpenMetrics ones) refuse the other spelling. NaN itself is meant: a gauge with
 * no figure reads NaN, never a default that looks like a fact (docs/monitoring.md), and the
 * RiskStateUnknown alert is `cwts_risk_state != cwts_risk_state`. Only a sample line's value is
 * rewritten (the last field, after the labels' closing brace or the name), never a comment.
 */
function spellNaN(text: string): string {
  return text.includes(' Nan\n') ? text.replace(/^([^#\n][^\n]*) Nan$/gm, '$1 NaN') : text;
}

/**
 * Roughly logarithmic, 5 us .. 10 ms (1-1.5-2-3-5-7.5 steps), so a p99 below 100 us can be read
 * off the histogram; 25 ms and 100 ms above the budget keep the tail visible.
 */
export const TICK_TO_ORDER_BUCKETS = [
  5e-6, 7.5e-6, 1e-5, 1.5e-5, 2e-5, 3e-5, 5e-5, 7.5e-5, 1e-4, 1.5e-4, 2e-4, 3e-4, 5e-4, 7.5e-4,
  1e-3, 1.5e-3, 2e-3, 3e-3, 5e-3, 7.5e-3, 1e-2, 2.5e-2, 0.1,
] as const;

/** Venue round trips: 100 us (a loopback test venue) .. 10 s (a venue in trouble). */
export const ORDER_ACK_BUCKETS = [1e-4, 2.5e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1, 2, 5, 10] as const;

export const BOOK_STATE_CODES = {
  connecting: 0,
  synced: 1,
  resyncing: 2,
  stale: 3,
  crossed: 4,
  disconnected: 5,
  stopped: 6,
} as const;

/** Series registered by prom-client's collectDefaultMetrics. */
function isProcessMetric(name: string): boolean {
  return name.startsWith('process_') || name.startsWith('nodejs_');
}

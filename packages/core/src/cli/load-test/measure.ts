/**
 * What the load test reads from one `/metrics` scrape, and a step's figures from two of them
 * (the deltas between the scrape at the start of the measured window and the one at its end).
 */
import { bucketDelta, bucketsOf, histogramQuantile, parsePrometheusText, sumOf, valueOf, type Bucket } from './prom-text.js';

/** The counters and gauges of one scrape that the step's figures come from. */
export interface MetricsSnapshot {
  /** performance.now() of the load test when the scrape returned, ms. */
  atMs: number;
  /** cwts_market_events_total, every label. */
  events: number;
  /** Book snapshots, book deltas and trades: the events the load strategy answers with an order. */
  orderTriggerEvents: number;
  /** cwts_orders_total{status="submitted"}: orders handed to a venue. */
  ordersSubmitted: number;
  /** cwts_tick_to_order_seconds_count. */
  tickToOrderCount: number;
  tickToOrderBuckets: Bucket[];
  /** cwts_risk_rejections_total, every reason. */
  riskRejections: number;
  /** cwts_errors_total + cwts_journal_write_failures_total. */
  errors: number;
  /** cwts_feed_errors_total. */
  feedErrors: number;
  /** process_resident_memory_bytes. */
  rssBytes: number | undefined;
  /**
   * The worse of nodejs_eventloop_lag_p99_seconds (the loop's delay p99 since the previous
   * scrape: prom-client resets it) and nodejs_eventloop_lag_seconds (the delay of a setImmediate
   * queued at this scrape): the p99 alone under-reads a loop so busy that it took few samples.
   */
  eventLoopLagP99Seconds: number | undefined;
}

export function snapshotOf(text: string, atMs: number): MetricsSnapshot {
  const s = parsePrometheusText(text);
  return {
    atMs,
    events: sumOf(s, 'cwts_market_events_total'),
    orderTriggerEvents: ['book_snapshot', 'book_delta', 'trade'].reduce((n, type) => n + sumOf(s, 'cwts_market_events_total', { type }), 0),
    ordersSubmitted: sumOf(s, 'cwts_orders_total', { status: 'submitted' }),
    tickToOrderCount: sumOf(s, 'cwts_tick_to_order_seconds_count'),
    tickToOrderBuckets: bucketsOf(s, 'cwts_tick_to_order_seconds'),
    riskRejections: sumOf(s, 'cwts_risk_rejections_total'),
    errors: sumOf(s, 'cwts_errors_total') + sumOf(s, 'cwts_journal_write_failures_total'),
    feedErrors: sumOf(s, 'cwts_feed_errors_total'),
    rssBytes: valueOf(s, 'process_resident_memory_bytes'),
    eventLoopLagP99Seconds: worst(valueOf(s, 'nodejs_eventloop_lag_p99_seconds'), valueOf(s, 'nodejs_eventloop_lag_seconds') ?? valueOf(s, 'cwts_event_loop_lag_seconds')),
  };
}

function worst(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

/** The measured figures of one step. */
export interface StepFigures {
  seconds: number;
  events: number;
  orders: number;
  eventsPerSecond: number;
  ordersPerSecond: number;
  /** Book snapshots, deltas and trades in the window (the load strategy's triggers). */
  triggerEvents: number;
  /** Observations in the tick-to-order histogram during the window (one per order sent). */
  tickToOrderCount: number;
  tickToOrderP50Ms: number | null;
  tickToOrderP99Ms: number | null;
  /** The worst per-scrape p99 of the event loop's delay during the window. */
  eventLoopLagP99Ms: number | null;
  /** The largest resident set seen during the window. */
  rssMaxBytes: number | null;
  riskRejections: number;
  errors: number;
  feedErrors: number;
}

/** Figures between `start` and `end`; `during` are the scrapes in between (lag and RSS peaks). */
export function stepFigures(start: MetricsSnapshot, end: MetricsSnapshot, during: readonly MetricsSnapshot[]): StepFigures {
  const seconds = Math.max(1e-9, (end.atMs - start.atMs) / 1000);
  const events = end.events - start.events;
  const orders = end.ordersSubmitted - start.ordersSubmitted;
  const buckets = bucketDelta(start.tickToOrderBuckets, end.tickToOrderBuckets);
  const ms = (s: number | undefined) => (s === undefined ? null : s * 1000);
  const window = [...during, end];
  const lags = window.map((x) => x.eventLoopLagP99Seconds).filter((x): x is number => x !== undefined);
  const rss = window.map((x) => x.rssBytes).filter((x): x is number => x !== undefined);
  return {
    seconds,
    events,
    orders,
    eventsPerSecond: events / seconds,
    ordersPerSecond: orders / seconds,
    triggerEvents: end.orderTriggerEvents - start.orderTriggerEvents,
    tickToOrderCount: end.tickToOrderCount - start.tickToOrderCount,
    tickToOrderP50Ms: ms(histogramQuantile(0.5, buckets)),
    tickToOrderP99Ms: ms(histogramQuantile(0.99, buckets)),
    eventLoopLagP99Ms: lags.length > 0 ? lags.reduce((m, x) => (x > m ? x : m), -Infinity) * 1000 : null,
    rssMaxBytes: rss.length > 0 ? rss.reduce((m, x) => (x > m ? x : m), -Infinity) : null,
    riskRejections: end.riskRejections - start.riskRejections,
    errors: end.errors - start.errors,
    feedErrors: end.feedErrors - start.feedErrors,
  };
}

/**
 * PASS/FAIL of a step against the seed's targets and ours (docs/operations.md, "Load test").
 * A target that a step cannot reach by construction (100k orders/s when 10k events/s are
 * offered) is "n/a" for that step, not a FAIL.
 */
import type { StepFigures } from './measure.js';

export type Verdict = 'PASS' | 'FAIL' | 'n/a';

export interface TargetCheck {
  id: string;
  /** "seed" (the seed's production targets) or "ours". */
  source: 'seed' | 'ours';
  title: string;
  measured: number | null;
  limit: number;
  verdict: Verdict;
}

export interface Targets {
  /** The seed's: tick-to-order p99 under 10 ms. */
  p99Ms: number;
  /** The seed's: more than 100,000 orders per second. */
  ordersPerSecond: number;
  /**
   * Ours: orders sent for at least this fraction of the events that asked for one. The load
   * strategy holds an order back while max_outstanding of its orders are still at the venue, and
   * the simulated venue answers an order only once its market has reached the order's arrival time (a backlog over 1 s is dropped):
   * an app that falls behind its feed sends fewer orders than its events ask for.
   */
  keepUpRatio: number;
  /** Ours: event-loop delay p99 under the latency budget (an event waiting in the loop is latency the histogram does not see). */
  eventLoopLagMs: number;
}

export const DEFAULT_TARGETS: Targets = { p99Ms: 10, ordersPerSecond: 100_000, keepUpRatio: 0.95, eventLoopLagMs: 10 };

/**
 * `eventsPerOrder`: the load strategy's ratio (null for an attached app, whose strategy is not
 * ours); `offeredOrdersPerSecond`: the most orders the step could ask for (null for "max" and
 * for an attached app).
 */
export function checkStep(f: StepFigures, eventsPerOrder: number | null, offeredOrdersPerSecond: number | null, t: Targets = DEFAULT_TARGETS): TargetCheck[] {
  const asked = eventsPerOrder === null ? null : f.triggerEvents / eventsPerOrder;
  const below = (x: number | null, limit: number): Verdict => (x === null ? 'FAIL' : x < limit ? 'PASS' : 'FAIL');
  return [
    { id: 'p99', source: 'seed', title: `tick-to-order p99 < ${t.p99Ms} ms`, measured: f.tickToOrderP99Ms, limit: t.p99Ms, verdict: f.orders === 0 ? 'FAIL' : below(f.tickToOrderP99Ms, t.p99Ms) },
    {
      id: 'orders-per-second',
      source: 'seed',
      title: `> ${t.ordersPerSecond.toLocaleString('en-US')} orders/s`,
      measured: f.ordersPerSecond,
      limit: t.ordersPerSecond,
      verdict: offeredOrdersPerSecond !== null && offeredOrdersPerSecond <= t.ordersPerSecond ? 'n/a' : f.ordersPerSecond > t.ordersPerSecond ? 'PASS' : 'FAIL',
    },
    {
      id: 'keeps-up',
      source: 'ours',
      title: `orders sent for >= ${Math.round(t.keepUpRatio * 100)} % of the events that asked for one`,
      measured: asked === null || asked === 0 ? null : f.orders / asked,
      limit: t.keepUpRatio,
      verdict: asked === null ? 'n/a' : asked > 0 && f.orders >= t.keepUpRatio * asked ? 'PASS' : 'FAIL',
    },
    { id: 'event-loop-lag', source: 'ours', title: `event-loop lag p99 < ${t.eventLoopLagMs} ms`, measured: f.eventLoopLagP99Ms, limit: t.eventLoopLagMs, verdict: below(f.eventLoopLagP99Ms, t.eventLoopLagMs) },
    { id: 'errors', source: 'ours', title: 'no errors (cwts_errors_total, journal write failures, feed errors, app exit)', measured: f.errors + f.feedErrors, limit: 0, verdict: f.errors + f.feedErrors === 0 ? 'PASS' : 'FAIL' },
  ];
}

/** FAIL when any check failed; n/a checks do not count. */
export function stepVerdict(checks: readonly TargetCheck[]): 'PASS' | 'FAIL' {
  return checks.some((c) => c.verdict === 'FAIL') ? 'FAIL' : 'PASS';
}

/**
 * One short step of `cwts-ultra load-test` against a real app process (the built CLI, the sim
 * venue, the load strategy, ports 0). Asserts the report's structure and that its figures are
 * the /metrics deltas they claim to be; never a speed.
 */
import { describe, expect, it } from 'vitest';
import { runLoadTest } from './index.js';

describe('cwts-ultra load-test (one short step)', () => {
  it('reports a step whose figures are the deltas of the app\'s /metrics', async () => {
    const r = await runLoadTest({ steps: '300', warmupSeconds: 1, stepSeconds: 2, sampleMs: 400 });
    expect(r.mode).toBe('child');
    expect(r.steps).toHaveLength(1);
    const s = r.steps[0]!;
    expect(s.error).toBeUndefined();
    expect(s).toMatchObject({ step: '300', offeredEventsPerSecond: 300, offeredOrdersPerSecond: 300, appExit: { code: 0, signal: null } });
    const f = s.figures!;
    const { start, end, count } = s.scrapes!;
    expect(count).toBeGreaterThanOrEqual(2);
    // The load strategy really sent orders through the whole path, and the venue answered them.
    expect(f.orders).toBeGreaterThan(0);
    expect(f.events).toBeGreaterThan(0);
    // Consistency with /metrics: orders counted = delta of cwts_orders_total{status="submitted"};
    // every order sent is one observation of the tick-to-order histogram.
    expect(f.orders).toBe(end.ordersSubmitted - start.ordersSubmitted);
    expect(f.events).toBe(end.events - start.events);
    expect(f.tickToOrderCount).toBe(f.orders);
    expect(f.ordersPerSecond).toBeCloseTo(f.orders / f.seconds, 9);
    expect(f.seconds).toBeGreaterThan(1.5);
    expect(f.tickToOrderP50Ms).not.toBeNull();
    expect(f.tickToOrderP99Ms!).toBeGreaterThanOrEqual(f.tickToOrderP50Ms!);
    expect(f.rssMaxBytes).toBeGreaterThan(0);
    expect(f.eventLoopLagP99Ms).not.toBeNull();
    expect(f.errors).toBe(0);
    // The app's own count over its life (its exit summary) includes the measured window.
    expect(s.appSummary!.orders).toBeGreaterThanOrEqual(end.ordersSubmitted);
    expect(s.appSummary!.events).toBeGreaterThanOrEqual(end.events);
    // Every check is there with a verdict; the step's verdict follows from them.
    expect(s.checks.map((c) => c.id)).toEqual(['p99', 'orders-per-second', 'keeps-up', 'event-loop-lag', 'errors']);
    expect(s.checks.find((c) => c.id === 'orders-per-second')!.verdict).toBe('n/a');
    expect(s.verdict).toBe(s.checks.some((c) => c.verdict === 'FAIL') ? 'FAIL' : 'PASS');
    // 300 orders/s cannot reach the seed's 100k: the run as a whole says so.
    expect(r.seedThroughput).toBe('FAIL');
    expect(r.verdict).toBe('FAIL');
  }, 120_000);
});

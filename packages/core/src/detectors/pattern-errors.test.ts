/**
 * A pattern query whose kernel call fails (a lost device fails every batch, one per
 * batch_wait_ms) counts in cwts_errors_total{component="detector:<name>"}, where the ErrorRate
 * alert sees it: it was only a warn line, so a detector that had stopped forecasting went
 * unseen, and the line came once per batch. It is logged at most once per
 * PATTERN_QUERY_ERROR_LOG_EVERY_MS, saying how many were held back.
 */
import { describe, expect, it } from 'vitest';
import { JsComputeBackend } from '../compute/js-backend.js';
import type { PatternScoresArgs, PatternScoresResult } from '../contracts/compute.js';
import type { TradeEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { DetectorHarness } from './harness.js';
import { PATTERN_QUERY_ERROR_LOG_EVERY_MS, PatternDetector } from './pattern.js';

const AAA = defineInstrument({ exchange: 'x', symbol: 'AAA', base: 'AAA', quote: 'USD', tickSize: '0.01', lotSize: '1' });

class FlakyBackend extends JsComputeBackend {
  broken = false;
  override patternScores(args: PatternScoresArgs): Promise<PatternScoresResult> {
    return this.broken ? Promise.reject(new Error('device lost')) : super.patternScores(args);
  }
}

async function errorsOf(metrics: MetricsRegistry, component: string): Promise<number> {
  const v = (await metrics.errors.get()).values.find((x) => x.labels.component === component);
  return v?.value ?? 0;
}

describe('pattern detector: a failed query', () => {
  it('is counted in cwts_errors_total every time, and logged rate-limited', async () => {
    const backend = new FlakyBackend();
    const metrics = new MetricsRegistry({ processMetrics: false });
    const warnings: string[] = [];
    let now = 1_000_000;
    const logger = { info: () => {}, warn: (_o: object, msg: string) => void warnings.push(msg) };
    const d = new PatternDetector('pattern', { dim: 8, horizon: 2, bar_ms: 1000, top_k: 3, min_patterns: 20, capacity: 10_000, batch_wait_ms: 0 }, { backend, logger, metrics, now: () => now });
    const h = new DetectorHarness([d], [AAA]);
    let px = 1_000_000;
    let bar = 0;
    /** One trade in each of `n` bars; waits for each query so that every bar's one is sent. */
    const bars = async (n: number) => {
      for (let i = 0; i < n; i++, bar++) {
        const ts = bar * 1000 + 500;
        const ev: TradeEvent = { type: 'trade', exchange: 'x', symbol: 'AAA', ts, recvTs: ts, tradeId: `${bar}`, price: Math.round(px), qty: 1, side: 'buy' };
        h.feed(ev);
        px *= 1 + 1e-3 * Math.sin(bar * 1.7);
        await d.idle();
      }
    };
    await bars(60);
    const before = d.diagnostics();
    expect(before.queries).toBeGreaterThan(0);
    expect(before.errors).toBe(0);
    expect(await errorsOf(metrics, 'detector:pattern')).toBe(0);

    backend.broken = true;
    await bars(30);
    const failed = d.diagnostics().errors;
    expect(failed).toBeGreaterThanOrEqual(25);
    expect(await errorsOf(metrics, 'detector:pattern')).toBe(failed);
    // one line for the lot (the clock did not move), not one per batch
    expect(warnings).toEqual(['pattern query failed: Error: device lost']);

    now += PATTERN_QUERY_ERROR_LOG_EVERY_MS;
    await bars(1);
    expect(await errorsOf(metrics, 'detector:pattern')).toBe(failed + 1);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toBe(`pattern query failed: Error: device lost (and ${failed - 1} more like it not logged)`);
    await d.close();
  });
});

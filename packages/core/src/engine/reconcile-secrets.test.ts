/**
 * A venue's error may carry a URL with credentials (a proxy's user and password). The
 * `venue_unreachable` mismatch built from it is shown on /status and journaled, neither of which
 * the log redactor sees: its detail is redacted where it is built (reconcile.ts), as the `not
 * reconciled` reason on /health/ready already was (engine.ts, reconcileFailed).
 */
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { defineInstrument } from '../domain/instrument.js';
import type { JournalRecord } from '../journal/records.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine, type EngineTimers } from './engine.js';
import { engineHealth, engineStatus } from './status.js';
import { ScriptedVenue } from './test-venue.js';

const timers: EngineTimers = { setTimeout: () => ({}), clearTimeout: () => {} };

describe('reconciliation and URL credentials', () => {
  it('a password in a venue error reaches neither /status nor the journal', async () => {
    const down = new ScriptedVenue('down', [defineInstrument({ exchange: 'down', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' })], { canTrade: true }, false);
    down.tradesSince = async () => {
      throw new Error('binance GET https://trader:hunter2-proxy-pass@proxy.example.com/api/v3/myTrades 503 Service Unavailable');
    };
    const engine = new Engine({
      clock: new ManualClock(1_000_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, timers,
      venues: [{ name: 'down', symbols: ['BTCUSDT'], marketData: down, execution: down }],
    });
    const journaled: JournalRecord[] = [];
    vi.spyOn(engine, 'journal').mockImplementation((rec) => void journaled.push(rec));
    await engine.start();
    const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
    expect(json(engineHealth(engine, () => []))).not.toContain('hunter2-proxy-pass');
    expect(json(engineStatus(engine))).not.toContain('hunter2-proxy-pass');
    expect(json(journaled)).not.toContain('hunter2-proxy-pass');
    // the error is still told: only the credentials are masked
    expect(engine.reconcileResult!.mismatches.map((m) => m.detail)).toEqual(['reconciliation could not complete: binance GET https://[redacted]@proxy.example.com/api/v3/myTrades 503 Service Unavailable']);
    await engine.stop('test');
  });
});

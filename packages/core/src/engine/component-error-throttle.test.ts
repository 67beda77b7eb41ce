/**
 * A detector (or strategy, risk check...) that throws on every market event. Each throw is
 * counted (cwts_errors_total{component="detector:<name>"}) and the event goes on to the others;
 * the error line is rate-limited per component on the engine's clock like the engine's other
 * per-event plugin failures: the first with its stack, then at most one every 10 s saying how many
 * were held back. One stack trace per event, synchronously on the hot path, would make the intake
 * fall behind and fill the disk at a busy venue's event rate.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { defineInstrument } from '../domain/instrument.js';
import type { MarketEvent } from '../domain/events.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { createLogger } from '../observability/logger.js';
import { Engine } from './engine.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

describe('a detector that throws on every event', () => {
  it('is counted every time; logged once with its stack, then at most every 10 s of the engine clock with the number held back, per component', async () => {
    const venue = new ScriptedVenue('v', [BTC]);
    const errorLines: { component: string; msg: string; err: string }[] = [];
    const destination = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n')) {
          if (!l) continue;
          const o = JSON.parse(l);
          if (o.level >= 50) errorLines.push({ component: o.component, msg: o.msg, err: o.err });
        }
        cb();
      },
    });
    const metrics = new MetricsRegistry({ processMetrics: false });
    const clock = new ManualClock(1_000);
    let quietThrows = false;
    const engine = new Engine({
      clock,
      logger: createLogger({ level: 'info', destination, pretty: false }),
      metrics,
      watchdog: false,
      detectors: [
        { name: 'buggy', onMarketEvent() { throw new TypeError("Cannot read properties of undefined (reading 'price')"); } },
        { name: 'other', onMarketEvent() { if (quietThrows) throw new Error('other broke'); } },
      ],
      venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
    });
    await engine.start();
    let seq = 0;
    const trade = () => {
      const ts = clock.now();
      venue.sink!.onMarketEvent({ type: 'trade', exchange: 'v', symbol: 'BTCUSDT', ts, recvTs: ts, tradeId: String(seq++), price: 5_000_000, qty: 1, side: 'buy' } as MarketEvent);
    };
    const count = async (component: string) => (await metrics.text()).split('\n').find((l) => l.startsWith(`cwts_errors_total{component="${component}"}`))?.split(' ').pop();

    // 1000 trades within one second of the engine's clock
    for (let i = 0; i < 1000; i++) {
      trade();
      clock.advance(1);
    }
    expect(await count('detector:buggy')).toBe('1000');
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatchObject({ component: 'detector:buggy', msg: 'detector:buggy threw; event skipped for it' });
    expect(errorLines[0]!.err).toMatch(/TypeError: Cannot read properties of undefined \(reading 'price'\)\n\s+at /);

    // another component's first throw is logged at once: the limit is per component
    quietThrows = true;
    trade();
    expect(errorLines.map((l) => l.component)).toEqual(['detector:buggy', 'detector:other']);

    // 10 s after the first line: one more line, saying how many were held back meanwhile
    clock.set(1_000 + 10_000);
    trade();
    expect(await count('detector:buggy')).toBe('1002');
    expect(errorLines.map((l) => l.msg)).toEqual([
      'detector:buggy threw; event skipped for it',
      'detector:other threw; event skipped for it',
      'detector:buggy threw; event skipped for it (and 1000 more like it not logged)',
    ]);
    await engine.stop('test');
  });
});

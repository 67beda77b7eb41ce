import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { engineHealth } from './status.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot = (seq: number): BookSnapshotEvent => ({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: 5_000_000, qty: 1000 }], asks: [{ price: 5_000_100, qty: 1000 }] });

describe('/health/ready while the engine stops', () => {
  it('is not ready once stop() began: every order is refused SHUTTING_DOWN while it waits for its cancels', async () => {
    const venue = new ScriptedVenue('v', [BTC]);
    venue.autoCancel = false; // the venue takes its time to confirm the shutdown cancel
    const engine = new Engine({ clock: new ManualClock(1_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
    await engine.start();
    venue.sink!.onMarketEvent(snapshot(10));
    const intent = { exchange: 'v', symbol: 'BTCUSDT', side: 'buy' as const, type: 'limit' as const, price: 5_000_000, qty: 10, tif: 'GTC' as const, source: 't' };
    expect(engine.submit(intent).accepted).toBe(true);
    const ready = () => engineHealth(engine, () => []).every((c) => c.ready);
    expect(ready()).toBe(true);
    const stopping = engine.stop('SIGTERM');
    const refused = engine.submit(intent);
    const during = { refused: refused.reason, ready: ready(), engine: engineHealth(engine, () => []).find((c) => c.name === 'engine') };
    venue.report(venue.submitted[0]!, { kind: 'cancelled' });
    await stopping;
    expect(during).toEqual({ refused: 'SHUTTING_DOWN', ready: false, engine: { name: 'engine', ready: false, detail: 'stopping' } });
    expect(engineHealth(engine, () => []).find((c) => c.name === 'engine')).toEqual({ name: 'engine', ready: false, detail: 'stopping' });
  });
});

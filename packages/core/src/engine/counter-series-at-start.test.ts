import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { MISMATCH_KINDS } from './reconcile.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot = (): BookSnapshotEvent => ({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 10, reason: 'initial', bids: [{ price: 5_000_000, qty: 1000 }], asks: [{ price: 5_000_100, qty: 1000 }] });

/** Every series of one metric in an exposition text, as `series value` lines. */
const lines = (text: string, metric: string) => text.split('\n').filter((l) => l.startsWith(`${metric}{`));

// monitoring/alerts.yml: increase() needs a sample before the first increment; a series born at 1
// reads no increase. The engine creates every series whose labels it knows at 0 before it can count.
describe('labelled counters the alerts read exist at 0 before their first increment', () => {
  it('unbookable reports per venue and reason from construction; resyncs per book and reason and mismatches per venue and kind from start', async () => {
    const venue = new ScriptedVenue('v', [BTC]);
    const metrics = new MetricsRegistry({ processMetrics: false });
    const engine = new Engine({ clock: new ManualClock(1000), logger: silentLogger(), metrics, watchdog: false, venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
    const invalid = lines(await metrics.text(), 'cwts_execution_reports_invalid_total');
    expect(invalid).toContain('cwts_execution_reports_invalid_total{exchange="v",reason="fill_qty"} 0');
    expect(invalid).toContain('cwts_execution_reports_invalid_total{exchange="v",reason="wrong_instrument"} 0');
    expect(invalid.every((l) => l.endsWith(' 0'))).toBe(true);

    await engine.start();
    const text = await metrics.text();
    expect(lines(text, 'cwts_book_resyncs_total')).toEqual(
      ['invalid_data', 'sequence_gap', 'checksum', 'reconnect', 'stale', 'crossed', 'other'].map((r) => `cwts_book_resyncs_total{exchange="v",symbol="BTCUSDT",reason="${r}"} 0`),
    );
    expect(lines(text, 'cwts_reconcile_mismatches_total')).toEqual(MISMATCH_KINDS.map((k) => `cwts_reconcile_mismatches_total{exchange="v",kind="${k}"} 0`));

    // The first unbookable report is an increase of the series Prometheus already had at 0.
    venue.sink!.onMarketEvent(snapshot());
    expect(engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 10, tif: 'GTC', source: 't' }).accepted).toBe(true);
    venue.report(venue.submitted[0]!, { kind: 'fill', lastPrice: 5_000_000, lastQty: 0, cumQty: 0, leavesQty: 10, feeAtoms: 0n, tradeId: 'x1' });
    expect(lines(await metrics.text(), 'cwts_execution_reports_invalid_total')).toContain('cwts_execution_reports_invalid_total{exchange="v",reason="fill_qty"} 1');
    await engine.stop();
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { engineStatus } from './status.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot = (seq: number): BookSnapshotEvent => ({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] });

async function boot(path: string) {
  const venue = new ScriptedVenue('v', [BTC]);
  const clock = new ManualClock(1_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const engine = new Engine({ clock, logger: silentLogger(), metrics, watchdog: false, journal: store, onShutdown: 'keep', venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
  attachJournal(engine, store, silentLogger());
  await engine.start();
  clock.advance(1000);
  venue.sink!.onMarketEvent(snapshot(10));
  return { venue, clock, metrics, engine };
}

const positionSeries = (text: string) => text.split('\n').filter((l) => l.startsWith('cwts_position{'));

describe('cwts_position after a restart', () => {
  it('shows the position restored from the journal, as /status does, before any new fill', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-review-pos-')), 'j.db');
    const a = await boot(path);
    const r = a.engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_100, qty: 300, tif: 'GTC', source: 'test' });
    expect(r.accepted).toBe(true);
    const o = a.venue.submitted[0]!;
    const fill = { kind: 'fill' as const, exchange: 'v', symbol: 'BTCUSDT', clientOrderId: o.clientOrderId, side: 'buy' as const, lastPrice: o.price!, lastQty: 300, cumQty: 300, leavesQty: 0, feeAtoms: 0n, tradeId: 'T1', ts: a.clock.now() };
    a.venue.trades.push(fill);
    a.venue.onReport!(fill);
    expect(positionSeries(await a.metrics.text())).toEqual(['cwts_position{exchange="v",symbol="BTCUSDT"} 0.3']);
    await a.engine.stop('SIGTERM');

    const b = await boot(path);
    // The restored engine holds 0.3 BTC (/status says so) ...
    const status = engineStatus(b.engine);
    expect((status.positions as unknown[]).length).toBe(1);
    // ... and so must the gauge the dashboard and alerts read; equity (computed at each scrape) agrees with /status too.
    const text = await b.metrics.text();
    expect(positionSeries(text)).toEqual(['cwts_position{exchange="v",symbol="BTCUSDT"} 0.3']);
    expect(Number(/^cwts_equity (\S+)$/m.exec(text)?.[1])).toBe(Number((status.pnl as { equity: string }).equity));
    await b.engine.stop('SIGTERM');
  });
});

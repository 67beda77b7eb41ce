import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument } from '../domain/instrument.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager } from '../risk/manager.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 100_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };

async function boot(path: string, venue: ScriptedVenue) {
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 1000, timers: false });
  const engine = new Engine({
    clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, journal: store, onShutdown: 'keep',
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  attachJournal(engine, store, silentLogger());
  await engine.start();
  venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_000_000, qty: 1000 }], asks: [{ price: 5_000_100, qty: 1000 }] });
  return { engine, risk };
}

describe('a REDUCING restored from the journal', () => {
  it('cancels, once reconciliation is done, a working order that could grow the position', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-reducing-')), 'j.db');
    const venue = new ScriptedVenue('v', [BTC]);
    venue.autoCancel = false;
    const first = await boot(path, venue);
    const r = first.engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 4_990_000, qty: 50, tif: 'GTC', source: 't' });
    expect(r.accepted, r.message).toBe(true);
    const order = venue.submitted.at(-1)!;
    venue.report(order, { kind: 'ack', leavesQty: 50 });
    venue.venueOpen = [order];
    // the operator reduces; the cancel is sent but the process stops before the venue answers it
    first.risk.reduce('desk');
    expect(venue.cancelled.map((o) => o.clientOrderId)).toEqual([r.clientOrderId]);
    await first.engine.stop('SIGTERM');

    const second = await boot(path, venue);
    expect(second.engine.riskState.state).toBe('REDUCING');
    // reconciliation found it working at the venue; REDUCING leaves nothing working that adds to a position
    expect(venue.cancelled.map((o) => o.clientOrderId)).toEqual([r.clientOrderId, r.clientOrderId]);
    expect(second.engine.orders.get(r.clientOrderId!)!.status).toBe('pending_cancel');
    await second.engine.stop('test');
  });
});

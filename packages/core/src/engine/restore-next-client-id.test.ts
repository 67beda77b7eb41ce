import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import { JournalStore } from '../journal/store.js';
import { createLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { engineStatus } from './status.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot = (seq: number): BookSnapshotEvent => ({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: 5_000_000, qty: 100_000 }], asks: [{ price: 5_000_100, qty: 100_000 }] });
const order = { exchange: 'v', symbol: 'BTCUSDT', side: 'buy' as const, type: 'limit' as const, price: 4_990_000, qty: 10, tif: 'GTC' as const, source: 'test' };

async function boot(path: string) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l).msg as string);
      cb();
    },
  });
  const logger = createLogger({ level: 'info', destination, pretty: false });
  const venue = new ScriptedVenue('v', [BTC]);
  const clock = new ManualClock(1_000_000);
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const engine = new Engine({ clock, logger, metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, journal: store, onShutdown: 'keep', venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
  const summary = attachJournal(engine, store, logger);
  await engine.start();
  clock.advance(1000);
  venue.sink!.onMarketEvent(snapshot(10));
  return { venue, engine, summary, lines };
}

describe('restart: the "next client id" the log and /status report', () => {
  it('is the id the restarted engine issues next (past the journal\'s reservation, not the highest journaled order + 1)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-next-client-id-')), 'j.db');
    const first = await boot(path);
    expect(first.engine.submit(order).accepted).toBe(true);
    expect(first.venue.submitted[0]!.clientOrderId).toBe('cw-1');
    await first.engine.stop('SIGTERM');

    const second = await boot(path);
    expect(second.engine.submit(order).accepted).toBe(true);
    const issued = Number(/^cw-(\d+)$/.exec(second.venue.submitted[0]!.clientOrderId)![1]);
    // The first run reserved a block ahead: the sequence continues past it, not at cw-2.
    expect(issued).toBeGreaterThan(2);
    expect(second.summary.nextClientId).toBe(issued);
    expect((engineStatus(second.engine).restoredFrom as { nextClientId: number }).nextClientId).toBe(issued);
    expect(second.lines.find((l) => l.includes('; next client id '))).toMatch(new RegExp(`; next client id ${issued}$`));
    await second.engine.stop('SIGTERM');
  });
});

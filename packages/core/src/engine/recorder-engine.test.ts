import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { defineInstrument } from '../domain/instrument.js';
import type { InstrumentTrading } from '../domain/trading-status.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { Recorder } from './recorder.js';
import { ScriptedVenue } from './test-venue.js';

const I = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

describe('Engine + Recorder', () => {
  it("gives the recorder its venues' trading status, so a pair halted mid-run is recorded halted (replay enforces it)", async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-rec-engine-')), 'r.jsonl');
    const venue = new ScriptedVenue('v', [I]) as ScriptedVenue & { tradingStatus(symbol: string): InstrumentTrading | undefined };
    let status: InstrumentTrading = 'open';
    venue.tradingStatus = () => status;
    const recorder = new Recorder(path);
    const engine = new Engine({
      clock: new ManualClock(1_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, recorder,
      venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
    });
    await engine.start();
    const trade = (n: number) => venue.sink!.onMarketEvent({ type: 'trade', exchange: 'v', symbol: 'BTCUSDT', price: 100_00 + n, qty: 1, side: 'buy', tradeId: String(n), ts: 1_000 + n, recvTs: 1_000 + n });
    trade(1);
    status = 'closed';
    trade(2);
    await engine.stop();
    recorder.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as { type: string; trading?: string });
    expect(lines.map((l) => (l.type === 'trading_status' ? `status:${l.trading}` : l.type))).toEqual(['trade', 'status:closed', 'trade']);
  });
});

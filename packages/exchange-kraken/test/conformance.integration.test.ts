import { fileURLToPath } from 'node:url';
import { SystemClock } from '@cwts/core';
import { describeExchangeConformance, type ConformanceVenue } from '@cwts/core/testing';
import { createKrakenVenue } from '../src/index.js';
import { FakeKraken } from './fake-kraken.js';

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296);
}

// Kraken v2 books carry no sequence numbers: a missed update (the suite's "sequence gap") is
// found by the CRC32 checksum of the next one, so the gap test accepts a checksum resync.
describeExchangeConformance({
  venue: 'kraken',
  symbol: 'BTC/USD',
  capabilities: { checksum: true, execution: false, rateLimit: false, sequenceNumbers: false },
  frameHarness: { module: fileURLToPath(new URL('../src/frame-harness.ts', import.meta.url)), export: 'createKrakenFrameHarness' },
  createVenue: () => FakeKraken.start({ seed: 11 }),
  async createAdapter(venue: ConformanceVenue, opts) {
    const f = venue as FakeKraken;
    const v = createKrakenVenue({ api_url: f.wsUrl, options: { reconnect_initial_ms: 20, reconnect_max_ms: 200 } }, { exchange: 'kraken', clock: opts.clock ?? new SystemClock(), random: seeded(3) });
    return { marketData: v.marketData, pendingTimers: () => v.marketData.pendingTimers() };
  },
});

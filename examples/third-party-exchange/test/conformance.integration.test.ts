import { fileURLToPath } from 'node:url';
import { SystemClock } from '@cwts/core';
import { describeExchangeConformance } from '@cwts/core/testing';
import { TinyExMarketData } from '../src/index.js';
import { FakeTinyEx } from './fake-tinyex.js';

describeExchangeConformance({
  venue: 'tinyex',
  symbol: 'BTC-USD',
  capabilities: { checksum: true, execution: false, rateLimit: false, requestResync: true },
  createVenue: () => FakeTinyEx.start(),
  async createAdapter(venue) {
    const f = venue as FakeTinyEx;
    const md = new TinyExMarketData({ exchange: 'tinyex', wsUrl: `ws://${f.url}`, restUrl: `http://${f.url}`, clock: new SystemClock(), reconnectInitialMs: 20 });
    return { marketData: md, pendingTimers: () => md.pendingTimers() };
  },
  frameHarness: { module: fileURLToPath(new URL('../src/frame-harness.ts', import.meta.url)), export: 'createTinyExFrameHarness' },
});

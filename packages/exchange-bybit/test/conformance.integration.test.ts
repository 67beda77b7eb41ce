import { SystemClock } from '@cwts/core';
import { describeExchangeConformance, type ConformanceVenue } from '@cwts/core/testing';
import { createBybitVenue } from '../src/index.js';
import { FakeBybit, type FakeCategory } from './fake-bybit.js';

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296);
}

// Both public streams: spot (numeric trade ids) and linear (UUID trade ids, liquidations).
for (const category of ['spot', 'linear'] as FakeCategory[]) {
  describeExchangeConformance({
    venue: `bybit-${category}`,
    symbol: 'BTCUSDT',
    // execution is not implemented yet (market data only; see the README)
    capabilities: { checksum: false, execution: false, rateLimit: false },
    createVenue: () => FakeBybit.start({ category, seed: category === 'spot' ? 7 : 8 }),
    async createAdapter(venue: ConformanceVenue) {
      const f = venue as FakeBybit;
      const v = createBybitVenue(
        { api_url: f.wsUrl, rest_url: f.restUrl, market: category, options: { reconnect_initial_ms: 20, reconnect_max_ms: 200 } },
        { exchange: `bybit-${category}`, clock: new SystemClock(), random: seeded(3) },
      );
      return { marketData: v.marketData, pendingTimers: () => v.marketData.pendingTimers() };
    },
  });
}

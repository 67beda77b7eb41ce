/**
 * The marks a shard publishes feed the aggregator's return series for the portfolio VaR
 * (docs/scale-out.md, "Portfolio VaR"), so only a current price may be one: the mid of a synced
 * book. A book that leaves SYNCED keeps its levels; their mid was once published whatever the
 * book's state, so a feed that stopped gave the aggregator a constant price (zero returns for as
 * long as it lasted), understating the VaR: it could clear a cluster-wide REDUCING, or never set it.
 */
import { describe, expect, it } from 'vitest';
import { defineInstrument, ManualClock, type MarketEvent } from '@cwts/core';
import { Engine } from '@cwts/core/engine';
import { MetricsRegistry, silentLogger } from '@cwts/core/observability';
import { ScriptedVenue } from '../../core/src/engine/test-venue.js';
import { positionsAndMarks } from './marks.js';

const BTC = defineInstrument({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

const snapshot = (seq: number, bid: number, ask: number): MarketEvent =>
  ({ type: 'book_snapshot', exchange: 'sim', symbol: 'BTCUSDT', ts: seq, recvTs: seq, seq, reason: 'initial', bids: [{ price: bid, qty: 10 }], asks: [{ price: ask, qty: 10 }] });

/** A real engine (no risk layer) whose BTCUSDT book is synced at 60 000.00 / 60 002.00. */
async function engineWithBook() {
  const venue = new ScriptedVenue('sim', [BTC]);
  const engine = new Engine({
    clock: new ManualClock(1_000_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false,
    venues: [{ name: 'sim', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  await engine.start();
  venue.sink!.onMarketEvent(snapshot(1, 6_000_000, 6_000_200));
  return { engine, venue };
}

describe('published marks', () => {
  it('a synced book gives its mid, exactly', async () => {
    const { engine } = await engineWithBook();
    expect(positionsAndMarks(engine).marks).toEqual({ 'sim:BTCUSDT': '60001' });
    await engine.stop();
  });

  for (const state of ['stale', 'disconnected', 'resyncing'] as const) {
    it(`a ${state} book publishes no mark (its frozen mid is not a current price), and the next snapshot brings it back`, async () => {
      const { engine, venue } = await engineWithBook();
      venue.sink!.onFeedStatus({ type: 'feed_status', exchange: 'sim', symbol: 'BTCUSDT', state, reason: 'feed gone', ts: 2 });
      expect(engine.book('sim', 'BTCUSDT')!.synced).toBe(false);
      expect(engine.book('sim', 'BTCUSDT')!.bestBid()).toBe(6_000_000); // the levels are kept
      expect(positionsAndMarks(engine).marks).toEqual({});
      venue.sink!.onMarketEvent(snapshot(3, 6_100_000, 6_100_200));
      expect(positionsAndMarks(engine).marks).toEqual({ 'sim:BTCUSDT': '61001' });
      await engine.stop();
    });
  }
});

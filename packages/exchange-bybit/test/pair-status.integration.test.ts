/**
 * Pair trading status against the local Bybit v5 server (docs/venues.md, "Pair trading status"):
 * instruments-info `status` (Closed at load, a halt after start seen by the re-read), on spot
 * and linear; an order the server refuses as not trading (its retCode mapped to VENUE_NOT_TRADING)
 * makes the adapter re-read the status at once. Bybit has no post-only instrument status, so that
 * case is skipped. Plus the mapping.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, SystemClock } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { Engine } from '@cwts/core/engine';
import { describePairTradingStatus, type PairStatusCase } from '@cwts/core/testing';
import { createBybitVenue } from '../src/index.js';
import { instrumentsFromInstrumentsInfo } from '../src/instruments.js';
import { BybitMarketData, bybitEndpoints } from '../src/market-data.js';
import { DEFAULT_BYBIT_OPTIONS } from '../src/options.js';
import { FakeBybit } from './fake-bybit.js';

const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real';
const SYM = 'BTCUSDT';

for (const category of ['spot', 'linear'] as const) {
  const WORD: Record<PairStatusCase, string> = { open: 'Trading', closed: category === 'spot' ? 'Closed' : 'Delivering', post_only: 'Trading' };
  describePairTradingStatus(`bybit ${category}`, {
    exchange: 'bybit',
    symbol: SYM,
    noPostOnly: 'Bybit instruments have no post-only status (instruments-info status is Trading or a closed state)',
    async start(initial, logger) {
      const fake = await FakeBybit.start({ category, apiKey: KEY, apiSecret: SECRET });
      fake.pairStatus.set(SYM, WORD[initial]);
      const v = createBybitVenue(
        { api_url: fake.wsUrl, rest_url: fake.restUrl, market: category === 'linear' ? 'usdm' : 'spot', api_key: new Secret(KEY), api_secret: new Secret(SECRET), options: { poll_interval_ms: 50, instrument_refresh_ms: 0, query_requests_per_second: 1000 } },
        { exchange: 'bybit', clock: new SystemClock(), logger },
      );
      return {
        marketData: v.marketData,
        execution: v.execution,
        ordersReceived: () => fake.orderTimes.length,
        setStatus: (s) => void fake.pairStatus.set(SYM, WORD[s]),
        // the local server refuses every new order on a pair not Trading (spot 170157, linear 110042 for Delivering)
        refuseNextOrderAsNotTrading: () => {},
        pump: () => fake.step(SYM, 1),
        close: () => fake.close(),
      };
    },
    engine: (v, deps) => new Engine({ clock: new SystemClock(), ...deps, watchdog: false, venues: [{ name: 'bybit', symbols: [SYM], marketData: v.marketData, execution: v.execution }] }),
  });
}

describe('Bybit instruments-info status mapping', () => {
  const body = (status?: string) => ({ retCode: 0, result: { list: [{ symbol: SYM, ...(status !== undefined ? { status } : {}), baseCoin: 'BTC', quoteCoin: 'USDT', priceFilter: { tickSize: '0.1' }, lotSizeFilter: { qtyStep: '0.001' } }] } });
  const map = (status?: string) => instrumentsFromInstrumentsInfo('bybit', 'linear', body(status), [SYM])[0]!;
  it('Trading is open; PreLaunch, Delivering, Settling and Closed are closed', () => {
    expect(map('Trading')).toMatchObject({ trading: 'open', venueStatus: 'Trading' });
    for (const w of ['PreLaunch', 'Delivering', 'Settling', 'Closed']) expect(map(w).trading, w).toBe('closed');
  });
  it('an unknown word is closed (the words are case-sensitive); no status says nothing', () => {
    expect(map('Suspended')).toMatchObject({ trading: 'closed', venueStatus: 'Suspended' });
    expect(map('trading').trading).toBe('closed');
    expect(map(undefined).trading).toBeUndefined();
  });
});

// instruments-info lists only Trading symbols unless asked for another status (docs
// v5/market/instrument, `status`; the local server does the same): a pair leaving Trading is not
// in the default answer, and before, the re-read failed on it as an unknown symbol and every
// pair kept its last status (open).
describe('Bybit pair status when instruments-info leaves a pair out', () => {
  const client = (fake: FakeBybit) =>
    new BybitMarketData({ exchange: 'bybit', endpoints: bybitEndpoints({ rest_url: fake.restUrl, market: 'usdm' }), options: { ...DEFAULT_BYBIT_OPTIONS, instrument_refresh_ms: 0 }, clock: new ManualClock(1_700_000_000_000) });

  it('a contract that turns Delivering, and one no longer listed at all, are closed by the re-read; the others still update', async () => {
    const fake = await FakeBybit.start({ category: 'linear', symbols: ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'] });
    const md = client(fake);
    const stop = md.keepTradingStatusFresh(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
    try {
      fake.pairStatus.set('SOLUSDT', 'Settling');
      await md.loadInstruments(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
      expect(md.tradingStatus('ETHUSDT')).toBe('open');
      expect(md.tradingStatus('SOLUSDT')).toBe('closed');
      fake.pairStatus.set('ETHUSDT', 'Delivering');
      // listed under no status the adapter asks for: delisted
      fake.pairStatus.set('BTCUSDT', 'Gone');
      fake.pairStatus.set('SOLUSDT', 'Trading');
      await md.refreshTradingStatus();
      expect(md.tradingStatus('ETHUSDT')).toBe('closed');
      expect(md.tradingStatus('BTCUSDT')).toBe('closed');
      expect(md.tradingStatus('SOLUSDT')).toBe('open');
      expect(fake.restRequests.some((r) => r.includes('symbol=ETHUSDT&status=Delivering'))).toBe(true);
      fake.pairStatus.set('ETHUSDT', 'Trading');
      await md.refreshTradingStatus();
      expect(md.tradingStatus('ETHUSDT')).toBe('open');
    } finally {
      stop();
      await fake.close();
    }
  });

  it('a configured pair that is PreLaunch at start loads as closed; one listed under no status fails the load by name', async () => {
    const fake = await FakeBybit.start({ category: 'linear', symbols: ['BTCUSDT', 'ETHUSDT'] });
    try {
      fake.pairStatus.set('ETHUSDT', 'PreLaunch');
      const md = client(fake);
      await md.loadInstruments(['BTCUSDT', 'ETHUSDT']);
      expect(md.tradingStatus('ETHUSDT')).toBe('closed');
      await expect(client(fake).loadInstruments(['BTCUSDT', 'XRPUSDT'])).rejects.toThrow(/unknown linear symbol\(s\) XRPUSDT/);
    } finally {
      await fake.close();
    }
  });
});

/**
 * Pair trading status against the local Binance server (docs/venues.md, "Pair trading status"):
 * exchangeInfo `status` HALT at load, a halt after start seen by the re-read. Binance has no
 * post-only pair mode, so that case is skipped. Plus the status mapping, unknown words included.
 */
import { describe, expect, it } from 'vitest';
import { SystemClock } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { Engine } from '@cwts/core/engine';
import { describePairTradingStatus, type PairStatusCase } from '@cwts/core/testing';
import { createBinanceVenue } from '../src/plugin.js';
import { instrumentsFromExchangeInfo } from '../src/instruments.js';
import { FakeBinance } from './fake-binance.js';

const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real';
const SYM = 'BTCUSDT';
const WORD: Record<PairStatusCase, string> = { open: 'TRADING', closed: 'HALT', post_only: 'TRADING' };

describePairTradingStatus('binance', {
  exchange: 'binance',
  symbol: SYM,
  noPostOnly: 'Binance symbols have no post-only status (exchangeInfo status is TRADING or a closed state)',
  async start(initial, logger) {
    const fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET, seed: 3 });
    fake.pairStatus.set(SYM, WORD[initial]);
    const v = createBinanceVenue(
      { api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET), options: { poll_interval_ms: 50, fills: 'polling', instrument_refresh_ms: 0 } },
      { exchange: 'binance', clock: new SystemClock(), logger },
    );
    return {
      marketData: v.marketData,
      execution: v.execution,
      ordersReceived: () => fake.newOrderRequests,
      setStatus: (s) => void fake.pairStatus.set(SYM, WORD[s]),
      refuseNextOrderAsNotTrading: () => {}, // the local server refuses every new order on a symbol not TRADING (-2010 Market is closed.)
      pump: () => fake.step(SYM, 1),
      close: () => fake.close(),
    };
  },
  engine: (v, deps) => new Engine({ clock: new SystemClock(), ...deps, watchdog: false, venues: [{ name: 'binance', symbols: [SYM], marketData: v.marketData, execution: v.execution }] }),
});

describe('Binance exchangeInfo status mapping', () => {
  const info = (status?: string) => ({
    symbols: [{ symbol: SYM, ...(status !== undefined ? { status } : {}), baseAsset: 'BTC', quoteAsset: 'USDT', filters: [{ filterType: 'PRICE_FILTER', tickSize: '0.01' }, { filterType: 'LOT_SIZE', stepSize: '0.00001' }] }],
  });
  const map = (status?: string) => instrumentsFromExchangeInfo('binance', info(status), [SYM])[0]!;
  it('TRADING is open; the spot and USD-M closed states are closed', () => {
    expect(map('TRADING')).toMatchObject({ trading: 'open', venueStatus: 'TRADING' });
    for (const w of ['HALT', 'BREAK', 'END_OF_DAY', 'PRE_TRADING', 'POST_TRADING', 'AUCTION_MATCH', 'PENDING_TRADING', 'DELIVERING', 'SETTLING', 'CLOSE']) expect(map(w).trading, w).toBe('closed');
  });
  it('an unknown status is closed (never tradable), a missing one says nothing', () => {
    expect(map('SOMETHING_NEW')).toMatchObject({ trading: 'closed', venueStatus: 'SOMETHING_NEW' });
    expect(map(undefined).trading).toBeUndefined();
  });
});

describe('Binance pair grid changes', () => {
  it('a pair whose tick size the venue changes mid-run is refused locally until a restart; back to the loaded tick, it trades again', async () => {
    const fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET, seed: 3 });
    const v = createBinanceVenue({ api_url: fake.wsUrl, rest_url: fake.restUrl, options: { instrument_refresh_ms: 0 } }, { exchange: 'binance', clock: new SystemClock() });
    try {
      await v.marketData.start([SYM], { onMarketEvent: () => undefined, onFeedStatus: () => undefined, onFeedError: () => undefined });
      await v.marketData.refreshTradingStatus!();
      expect(v.marketData.tradingStatus!(SYM)).toBe('open');
      fake.tickSizes.set(SYM, '0.00100000');
      await v.marketData.refreshTradingStatus!();
      expect(v.marketData.tradingStatus!(SYM)).toBe('closed');
      fake.tickSizes.delete(SYM);
      await v.marketData.refreshTradingStatus!();
      expect(v.marketData.tradingStatus!(SYM)).toBe('open');
    } finally {
      await v.marketData.stop();
      await fake.close();
    }
  });
});

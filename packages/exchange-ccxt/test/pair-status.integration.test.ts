/**
 * Pair trading status through ccxt (docs/venues.md, "Pair trading status"): ccxt's unified
 * `active` flag, with ccxt_id = "binance" against the local Binance server whose exchangeInfo
 * `status` says HALT. ccxt has no unified post-only state, so that case is skipped. Plus the mapping.
 */
import { describe, expect, it } from 'vitest';
import { SystemClock } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { Engine } from '@cwts/core/engine';
import { describePairTradingStatus, type PairStatusCase } from '@cwts/core/testing';
import { FakeBinance } from '../../exchange-binance/test/fake-binance.js';
import { createCcxtVenue } from '../src/index.js';
import { ccxtTrading } from '../src/instruments.js';
import { BINANCE_CCXT_OPTIONS } from './binance-ccxt-options.js';

const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real';
const SYM = 'BTCUSDT';
const WORD: Record<PairStatusCase, string> = { open: 'TRADING', closed: 'HALT', post_only: 'TRADING' };

describePairTradingStatus('ccxt (binance)', {
  exchange: 'ccxt-binance',
  symbol: SYM,
  noPostOnly: 'ccxt has no unified post-only market state (only `active`)',
  async start(initial, logger) {
    const fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET, seed: 3 });
    fake.pairStatus.set(SYM, WORD[initial]);
    const v = createCcxtVenue(
      { api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET), options: { ccxt_id: 'binance', poll_interval_ms: 50, instrument_refresh_ms: 0, ccxt_options: BINANCE_CCXT_OPTIONS } },
      { exchange: 'ccxt-binance', clock: new SystemClock(), logger },
    );
    return {
      marketData: v.marketData,
      execution: v.execution,
      ordersReceived: () => fake.newOrderRequests,
      setStatus: (s) => void fake.pairStatus.set(SYM, WORD[s]),
      refuseNextOrderAsNotTrading: () => {}, // the local Binance server refuses every new order on a symbol not TRADING
      pump: () => fake.step(SYM, 1),
      close: () => fake.close(),
    };
  },
  engine: (v, deps) => new Engine({ clock: new SystemClock(), ...deps, watchdog: false, venues: [{ name: 'ccxt-binance', symbols: [SYM], marketData: v.marketData, execution: v.execution }] }),
});

describe('ccxt market active mapping', () => {
  it('active is open, inactive closed, anything else says nothing', () => {
    expect(ccxtTrading({ active: true })).toEqual({ trading: 'open', venueStatus: 'active' });
    expect(ccxtTrading({ active: false })).toEqual({ trading: 'closed', venueStatus: 'inactive' });
    expect(ccxtTrading({})).toBeUndefined();
    expect(ccxtTrading({ active: 'yes' as never })).toBeUndefined();
  });
});

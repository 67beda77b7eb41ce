/**
 * Pair trading status against the local Coinbase server (docs/venues.md, "Pair trading status"):
 * a product with `trading_disabled` at load, one in `post_only` mode, one halted after start and
 * seen by the re-read. Plus the mapping of `status` and the mode flags, unknown words included.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SystemClock } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { Engine } from '@cwts/core/engine';
import { describePairTradingStatus, type PairStatusCase } from '@cwts/core/testing';
import { createCoinbaseVenue } from '../src/index.js';
import { coinbaseTrading, instrumentsFromProducts } from '../src/instruments.js';
import { FakeCoinbase } from './fake-coinbase.js';

const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const KEY_NAME = `organizations/${randomUUID()}/apiKeys/${randomUUID()}`;
const PEM = keys.privateKey.export({ format: 'pem', type: 'sec1' }).toString();
const SYM = 'BTC-USD';
const FIELDS: Record<PairStatusCase, Record<string, unknown>> = {
  open: {},
  closed: { trading_disabled: true },
  post_only: { post_only: true },
};

describePairTradingStatus('coinbase', {
  exchange: 'coinbase',
  symbol: SYM,
  async start(initial, logger) {
    const fake = await FakeCoinbase.start({ seed: 3, restKey: { publicKey: keys.publicKey, keyName: KEY_NAME } });
    fake.productStatus.set(SYM, FIELDS[initial]);
    const v = createCoinbaseVenue(
      { api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY_NAME), api_secret: new Secret(PEM.replace(/\n/g, '\\n')), options: { poll_interval_ms: 50, private_requests_per_second: 1000, user_stream: false, instrument_refresh_ms: 0 } },
      { exchange: 'coinbase', clock: new SystemClock(), logger },
    );
    return {
      marketData: v.marketData,
      execution: v.execution,
      ordersReceived: () => fake.orderRequestTimes().length,
      setStatus: (s) => void fake.productStatus.set(SYM, FIELDS[s]),
      refuseNextOrderAsNotTrading: () => fake.account!.failNextOrder({ error: 'ORDER_ENTRY_DISABLED', message: 'Order entry is disabled for this product' }),
      pump: () => fake.step(SYM, 1),
      close: () => fake.close(),
    };
  },
  engine: (v, deps) => new Engine({ clock: new SystemClock(), ...deps, watchdog: false, venues: [{ name: 'coinbase', symbols: [SYM], marketData: v.marketData, execution: v.execution }] }),
});

describe('Coinbase product status mapping', () => {
  it('online is open; the mode flags narrow it, the most restrictive first; disabled products are closed', () => {
    expect(coinbaseTrading({ status: 'online' })).toEqual({ trading: 'open', venueStatus: 'online' });
    expect(coinbaseTrading({ status: 'online', limit_only: true })?.trading).toBe('limit_only');
    expect(coinbaseTrading({ status: 'online', post_only: true, limit_only: true })).toEqual({ trading: 'post_only', venueStatus: 'online+post_only+limit_only' });
    expect(coinbaseTrading({ status: 'online', cancel_only: true, post_only: true })?.trading).toBe('cancel_only');
    expect(coinbaseTrading({ status: 'online', trading_disabled: true, post_only: true })?.trading).toBe('closed');
    expect(coinbaseTrading({ status: 'online', is_disabled: true })?.trading).toBe('closed');
    expect(coinbaseTrading({ status: 'delisted' })?.trading).toBe('closed');
    expect(coinbaseTrading({ status: 'offline', post_only: true })?.trading).toBe('closed');
  });
  it('an unknown status word is closed; a product with no status fields says nothing', () => {
    expect(coinbaseTrading({ status: 'paused_for_something' })).toEqual({ trading: 'closed', venueStatus: 'paused_for_something' });
    expect(coinbaseTrading({})).toBeUndefined();
  });
  it('reads the fields from the products answer', () => {
    const [i] = instrumentsFromProducts('coinbase', { products: [{ product_id: SYM, price_increment: '0.01', base_increment: '0.00000001', status: 'online', cancel_only: true }] }, [SYM]);
    expect(i).toMatchObject({ trading: 'cancel_only', venueStatus: 'online+cancel_only' });
  });
});

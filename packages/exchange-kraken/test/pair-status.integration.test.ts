/**
 * Pair trading status against the local Kraken v2 server (docs/venues.md, "Pair trading status"):
 * the instrument channel's pair `status` (delisted at load, post_only, a halt after start seen by
 * the re-read on a short-lived connection). Plus the mapping of every documented word and an
 * unknown one.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SystemClock } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { Engine } from '@cwts/core/engine';
import { describePairTradingStatus, type PairStatusCase } from '@cwts/core/testing';
import { createKrakenVenue } from '../src/index.js';
import { instrumentsFromPairs } from '../src/instruments.js';
import { FakeKraken } from './fake-kraken.js';

const KEY = `test-key-${randomBytes(8).toString('hex')}`;
const SECRET = randomBytes(64).toString('base64');
const SYM = 'BTC/USD';
const WORD: Record<PairStatusCase, string> = { open: 'online', closed: 'delisted', post_only: 'post_only' };

describePairTradingStatus('kraken', {
  exchange: 'kraken',
  symbol: SYM,
  async start(initial, logger) {
    const fake = await FakeKraken.start({ seed: 5, apiKey: KEY, apiSecret: SECRET });
    fake.pairStatus.set(SYM, WORD[initial]);
    const v = createKrakenVenue(
      { api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET), options: { poll_interval_ms: 50, private_requests_per_interval: 10_000, private_interval_ms: 1000, instrument_refresh_ms: 0 } },
      { exchange: 'kraken', clock: new SystemClock(), logger },
    );
    return {
      marketData: v.marketData,
      execution: v.execution,
      ordersReceived: () => fake.account?.orderRequestTimes.length ?? 0,
      setStatus: (s) => void fake.pairStatus.set(SYM, WORD[s]),
      refuseNextOrderAsNotTrading: () => fake.account!.failNextOrder('EService:Market in cancel_only mode'),
      pump: () => fake.step(SYM, 1),
      close: () => fake.close(),
    };
  },
  engine: (v, deps) => new Engine({ clock: new SystemClock(), ...deps, watchdog: false, venues: [{ name: 'kraken', symbols: [SYM], marketData: v.marketData, execution: v.execution }] }),
});

describe('Kraken pair status mapping', () => {
  const pair = (status?: string) => ({ symbol: SYM, base: 'BTC', quote: 'USD', ...(status !== undefined ? { status } : {}), price_precision: 1, qty_precision: 8, price_increment: 0.1, qty_increment: 1e-8 });
  const map = (status?: string) => instrumentsFromPairs('kraken', [pair(status)], [SYM])[0]!.instrument;
  it('maps each documented word', () => {
    const want: Record<string, string> = { online: 'open', cancel_only: 'cancel_only', post_only: 'post_only', limit_only: 'limit_only', reduce_only: 'reduce_only', delisted: 'closed', maintenance: 'closed', work_in_progress: 'closed' };
    for (const [w, t] of Object.entries(want)) expect(map(w), w).toMatchObject({ trading: t, venueStatus: w });
  });
  it('an unknown word is closed; no status field says nothing', () => {
    expect(map('halted_for_audit')).toMatchObject({ trading: 'closed', venueStatus: 'halted_for_audit' });
    expect(map(undefined).trading).toBeUndefined();
  });
});

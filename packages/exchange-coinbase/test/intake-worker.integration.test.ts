/**
 * Coinbase's real intake factory on a worker thread against the local Coinbase server: the CDP
 * key crosses to the worker as a KeyObject and every subscribe the worker sends is signed with
 * it (the server verifies the ES256 tokens); the book syncs through the feed ring, a live trade
 * arrives once, a sequence gap resyncs the book on the worker, and the trading status stays with
 * the engine thread's client.
 */
import { generateKeyPairSync } from 'node:crypto';
import { SystemClock } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { WorkerIntake } from '@cwts/core/intake';
import { silentLogger } from '@cwts/core/observability';
import { ConformanceSink, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createCoinbaseVenue } from '../src/index.js';
import { FakeCoinbase } from './fake-coinbase.js';

const SYM = 'BTC-USD';
const BOUND = 45_000;

describe('coinbase market data on an intake worker thread', () => {
  let fake: FakeCoinbase | undefined;
  let intake: WorkerIntake | undefined;

  afterEach(async () => {
    await intake?.stop();
    expect(intake?.threadsAlive ?? 0).toBe(0);
    await fake?.close();
    intake = undefined;
    fake = undefined;
  });

  it('signs its subscribes with the key it was given, syncs, delivers trades once and resyncs after a sequence gap', async () => {
    // throwaway key generated here; never a real one
    const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const keyName = 'organizations/test-org/apiKeys/test-key';
    fake = await FakeCoinbase.start({ publicKey: key.publicKey, keyName });
    const venue = createCoinbaseVenue(
      { api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(keyName), api_secret: new Secret(key.privateKey.export({ format: 'pem', type: 'sec1' }).toString()), options: { reconnect_initial_ms: 20, reconnect_max_ms: 100, user_stream: false } },
      { exchange: 'coinbase', clock: new SystemClock() },
    );
    await venue.marketData.loadInstruments([SYM]);
    intake = new WorkerIntake(venue.marketData, { exchange: 'coinbase', logger: silentLogger(), clock: new SystemClock(), hungAfterMs: 30_000 });
    const sink = new ConformanceSink();
    const state = () => sink.books.get('coinbase', SYM)?.state;
    await intake.start([SYM], sink);
    await waitUntil(() => state() === 'synced', 'synced through the worker', BOUND);
    expect(intake.threadId).toBeTypeOf('number');
    // heartbeats, level2, market_trades: each signed on the worker, each accepted by the server
    expect(fake.subscribeMessages.length).toBeGreaterThanOrEqual(3);
    expect(fake.subscribeMessages.every((m) => typeof m.jwt === 'string')).toBe(true);
    expect(fake.authFailures).toBe(0);
    expect(intake.tradingStatus(SYM)).toBe(venue.marketData.tradingStatus(SYM));

    const id = fake.trade(SYM, { price: '65000.03', qty: '0.2', side: 'buy' });
    await waitUntil(() => sink.trades().length === 1, 'the live trade', BOUND);
    expect(sink.trades()[0]).toMatchObject({ tradeId: id, price: 6500003, qty: 20000000, side: 'buy' });

    const resyncsBefore = sink.statuses.filter((s) => s.state === 'resyncing').length;
    fake.skipSequence(SYM);
    fake.step(SYM, 1);
    await waitUntil(() => sink.statuses.filter((s) => s.state === 'resyncing').length > resyncsBefore && state() === 'synced', 'resynced after the gap', BOUND);
    expect(sink.statuses.find((s) => s.state === 'resyncing' && /sequence gap/.test(s.reason))).toBeDefined();
    expect(fake.authFailures).toBe(0);
    expect(intake.failures).toBe(0);
  }, 90_000);
});

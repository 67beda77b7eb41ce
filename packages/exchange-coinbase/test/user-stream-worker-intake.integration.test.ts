/**
 * The user channel's problems with market data on an intake worker (`[performance] intake =
 * "worker"`, the default). The engine hands its sink to WorkerIntake, and the engine-thread
 * CoinbaseMarketData, whose `feedSink` the user stream reports through, never starts; WorkerIntake
 * attaches the engine's sink to it (attachEngineSink), so a refused subscribe (here: signed with a
 * key the account does not know) is counted there as inline. Without a sink at all (an older
 * core) the stream falls back to the venue's logger.
 */
import { generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { SystemClock } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { WorkerIntake } from '@cwts/core/intake';
import { createLogger, silentLogger } from '@cwts/core/observability';
import { ConformanceSink, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createCoinbaseVenue, type CoinbaseVenue } from '../src/index.js';
import { FakeCoinbase } from './fake-coinbase.js';

const SYM = 'BTC-USD';
const BOUND = 45_000;
// throwaway keys: A signs market data subscribes (accepted), the account's key is B, so the user subscribe signed with A is refused
const keyA = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const keyB = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const keyName = 'organizations/test-org/apiKeys/test-key';

describe('Coinbase user channel: where its problems go with market data inline or on an intake worker', () => {
  let fake: FakeCoinbase | undefined;
  let intake: WorkerIntake | undefined;
  let venue: CoinbaseVenue | undefined;
  afterEach(async () => {
    await venue?.execution.stop();
    await intake?.stop();
    await venue?.marketData.stop();
    await fake?.close();
    fake = undefined;
    intake = undefined;
    venue = undefined;
  });

  async function setup(worker: boolean, o: { noAttach?: boolean } = {}) {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ level: 'debug', destination: new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c)) as Record<string, unknown>); cb(); } }) as never, pretty: false });
    fake = await FakeCoinbase.start({ publicKey: keyA.publicKey, keyName, restKey: { publicKey: keyB.publicKey, keyName } });
    venue = createCoinbaseVenue(
      { api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(keyName), api_secret: new Secret(keyA.privateKey.export({ format: 'pem', type: 'sec1' }).toString()), options: { reconnect_initial_ms: 20, reconnect_max_ms: 100, poll_interval_ms: 600_000 } },
      { exchange: 'coinbase', clock: new SystemClock(), logger },
    );
    await venue.marketData.loadInstruments([SYM]);
    const sink = new ConformanceSink();
    if (o.noAttach) (venue.marketData as { attachEngineSink?: unknown }).attachEngineSink = undefined;
    if (worker) {
      intake = new WorkerIntake(venue.marketData, { exchange: 'coinbase', logger: silentLogger(), clock: new SystemClock(), hungAfterMs: 30_000 });
      await intake.start([SYM], sink);
    } else await venue.marketData.start([SYM], sink);
    await venue.execution.start(() => {});
    await waitUntil(() => venue!.userStream!.stats.rejected >= 1, 'the refused user subscribe', BOUND);
    const userStreamWarns = () => lines.filter((l) => l.level === 40 && l.component === 'coinbase:user-stream').map((l) => String(l.msg));
    return { sink, userStreamWarns };
  }

  it('inline intake: the refused user subscribe is counted through the engine sink', async () => {
    const { sink } = await setup(false);
    expect(sink.rejects.some((r) => r.reason === 'venue_error')).toBe(true);
  });

  it('worker intake: the refused user subscribe is counted through the engine sink too (attached by WorkerIntake)', async () => {
    const { sink } = await setup(true);
    expect(sink.rejects.some((r) => r.reason === 'venue_error')).toBe(true);
  });

  it('no engine sink (a core that does not attach one): the refused user subscribe is logged as a warn of coinbase:user-stream', async () => {
    const { userStreamWarns } = await setup(true, { noAttach: true });
    await waitUntil(() => userStreamWarns().length >= 1, 'the warn line', BOUND);
    expect(userStreamWarns().some((m) => /venue_error/.test(m))).toBe(true);
  });
});

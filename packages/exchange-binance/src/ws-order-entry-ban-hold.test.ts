import { Secret } from '@cwts/core/config';
import { waitUntil } from '@cwts/core/testing';
import { describe, expect, it } from 'vitest';
import { BAN_MS, MAX_MS, ManualTimers, cleanupAfterEach, coreBefore113, dropAndWait as dropAll, settle, stepAndSettle, teapotWsApi, wsApiVenue, type WsApiVenue } from '../test/ban-hold.fixture.js';
import { BinanceWsOrderEntry, type WsOrderEntryDeps } from './ws-order-entry.js';

describe('BinanceWsOrderEntry: no connection is opened into a ban', () => {
  const cleanup = cleanupAfterEach('reverse');

  /** A local WebSocket API that counts connections and can drop every one of them. */
  const venue = (): Promise<WsApiVenue> => wsApiVenue(cleanup);

  function entry(url: string, timers: ManualTimers, extra: Partial<WsOrderEntryDeps> = {}): BinanceWsOrderEntry {
    const e = new BinanceWsOrderEntry({
      url, apiKey: new Secret('k'), apiSecret: new Secret('s'), recvWindowMs: 5000, now: () => timers.clock, timers,
      responseTimeoutMs: 5000, pingIntervalMs: 0, backoff: { initialMs: 5, maxMs: MAX_MS },
      onResponse: () => undefined, onLost: () => undefined,
      ...extra,
    });
    cleanup.push(() => e.close());
    return e;
  }

  /** Drops every connection and waits until the entry has scheduled its next connect. */
  async function dropAndWait(v: { drop: () => void }, e: BinanceWsOrderEntry, timers: ManualTimers): Promise<void> {
    await dropAll(v, timers, () => !e.ready);
  }

  it('holdUntil (a ban the execution client was given): a connection lost during it reconnects only after its end', async () => {
    const timers = new ManualTimers();
    const v = await venue();
    const e = entry(v.url, timers);
    await e.start();
    const banEnd = timers.clock + BAN_MS;
    e.holdUntil(banEnd, 'REST 418');
    expect(e.ready).toBe(true); // a live connection stays
    await dropAndWait(v, e, timers);
    // many backoff ceilings (<= 40 ms) later, well inside the ban
    timers.advance(1_000);
    await settle();
    expect(v.connections()).toBe(1);
    timers.advance(banEnd - timers.clock - 1);
    await settle();
    expect(v.connections()).toBe(1);
    // the ban's end, then the backoff's delay
    timers.advance(1 + MAX_MS);
    await waitUntil(() => e.ready, 'reconnected after the ban');
    expect(v.connections()).toBe(2);
  });

  it('holdUntil moves a reconnect already scheduled past the ban', async () => {
    const timers = new ManualTimers();
    const v = await venue();
    const e = entry(v.url, timers);
    await e.start();
    await dropAndWait(v, e, timers);
    e.holdUntil(timers.clock + BAN_MS, 'REST 418');
    timers.advance(BAN_MS - 1);
    await settle();
    expect(v.connections()).toBe(1);
    timers.advance(1 + MAX_MS);
    await waitUntil(() => e.ready, 'reconnected after the ban');
  });

  it('a ban on the per-IP limiter (blockedUntil: market data met it) holds the reconnect after a loss, and the first connect at start', async () => {
    const timers = new ManualTimers();
    const v = await venue();
    let blocked = timers.clock + BAN_MS;
    const e = entry(v.url, timers, { blockedUntil: () => blocked });
    const started = e.start();
    await settle();
    expect(v.connections()).toBe(0);
    timers.advance(BAN_MS);
    await started;
    expect(v.connections()).toBe(1);
    blocked = timers.clock + BAN_MS;
    await dropAndWait(v, e, timers);
    timers.advance(BAN_MS - 1);
    await settle();
    expect(v.connections()).toBe(1);
    timers.advance(1 + MAX_MS);
    await waitUntil(() => e.ready, 'reconnected after the ban');
    expect(v.connections()).toBe(2);
  });

  it('a ban on the per-IP limiter recorded while a reconnect is scheduled (market data met it: no call reaches order entry) holds that reconnect', async () => {
    const timers = new ManualTimers();
    const v = await venue();
    let blocked = 0;
    const e = entry(v.url, timers, { blockedUntil: () => blocked });
    await e.start();
    await dropAndWait(v, e, timers);
    const banEnd = timers.clock + BAN_MS;
    blocked = banEnd;
    // many backoff ceilings (<= 40 ms) later, well inside the ban
    timers.advance(1_000);
    await settle();
    expect(v.connections()).toBe(1);
    timers.advance(banEnd - timers.clock - 1);
    await settle();
    expect(v.connections()).toBe(1);
    timers.advance(1 + MAX_MS);
    await waitUntil(() => e.ready, 'reconnected after the ban');
    expect(v.connections()).toBe(2);
  });

  it('on a core without WsConnection.holdReconnectUntil (before API 1.13) it reconnects on its backoff as before', async () => {
    // nor does it read the blockedUntil option (also 1.13): every connect opens its socket
    coreBefore113(cleanup, { blockedUntil: true });
    const timers = new ManualTimers();
    const v = await venue();
    const e = entry(v.url, timers, { blockedUntil: () => timers.clock + BAN_MS });
    await e.start();
    e.holdUntil(timers.clock + BAN_MS, 'REST 418');
    await dropAndWait(v, e, timers);
    timers.advance(MAX_MS);
    await waitUntil(() => e.ready, 'reconnected on the backoff');
    expect(v.connections()).toBe(2);
  });
  it('a first connection refused 418 (the per-IP limiter learned the ban meanwhile) is not retried before the ban ends', async () => {
    const timers = new ManualTimers();
    let blocked = 0;
    // a banned IP's upgrade is answered 418; market data met the same ban, so the limiter knows it
    const venue418 = await teapotWsApi(cleanup, () => { blocked = timers.clock + BAN_MS; });
    const e = entry(venue418.url, timers, { blockedUntil: () => blocked });
    void e.start().catch(() => undefined);
    await waitUntil(() => venue418.attempts() === 1, 'the first attempt');
    await settle();
    // many backoff ceilings (<= 40 ms) later, deep inside the ban
    await stepAndSettle(timers, MAX_MS, 10);
    expect(venue418.attempts()).toBe(1);
    timers.advance(blocked - timers.clock + MAX_MS);
    await waitUntil(() => venue418.attempts() === 2, 'retried after the ban');
  });

  it('a planned reconnect (the connection lifetime) due during a ban on the per-IP limiter opens its new connection after the ban', async () => {
    const timers = new ManualTimers();
    const v = await venue();
    let blocked = 0;
    const e = entry(v.url, timers, { blockedUntil: () => blocked, maxLifetimeMs: 60_000 });
    await e.start();
    blocked = timers.clock + BAN_MS;
    timers.advance(60_000);
    await settle();
    expect(e.ready).toBe(false);
    timers.advance(blocked - timers.clock - 1);
    await settle();
    expect(v.connections()).toBe(1);
    timers.advance(1);
    await waitUntil(() => e.ready, 'reconnected after the ban');
    expect(v.connections()).toBe(2);
  });
});

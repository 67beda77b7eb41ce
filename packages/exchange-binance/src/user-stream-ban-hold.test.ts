import { Secret } from '@cwts/core/config';
import { RateLimiter } from '@cwts/core/adapter-kit';
import { waitUntil } from '@cwts/core/testing';
import { describe, expect, it } from 'vitest';
import { BAN_MS, MAX_MS, ManualTimers, cleanupAfterEach, coreBefore113, dropAndWait, settle, stepAndSettle, teapotWsApi, wsApiVenue } from '../test/ban-hold.fixture.js';
import { BinanceMarketData } from './market-data.js';
import { resolveBinanceOptions } from './options.js';
import { BinanceUserStream, type UserStreamDeps } from './user-stream.js';

/** Node's setTimeout: a delay past 2^31 - 1 ms fires after 1 ms (with a TimeoutOverflowWarning). */
class NodeClampTimers extends ManualTimers {
  override timeout(fn: () => void, ms: number): NodeJS.Timeout | undefined {
    return super.timeout(fn, ms > MAX_TIMER_MS ? 1 : ms);
  }
}

const MAX_TIMER_MS = 2_147_483_647;

describe('BinanceUserStream: no connection is opened into a ban', () => {
  const cleanup = cleanupAfterEach('pushed');

  /** A local WebSocket API: counts connections and subscribe requests, answers each with `answer(n)`, and can drop every connection. */
  const venue = (answer: (n: number, id: string) => object) => wsApiVenue(cleanup, { answer });
  const ok = (_n: number, id: string) => ({ id, status: 200, result: { subscriptionId: 0 } });

  function stream(url: string, timers: ManualTimers, extra: Partial<UserStreamDeps> = {}): BinanceUserStream {
    const s = new BinanceUserStream({
      url, apiKey: new Secret('k'), apiSecret: new Secret('s'), recvWindowMs: 5000, rotationMs: 3_600_000,
      now: () => timers.clock, timers, backoff: { initialMs: 5, maxMs: MAX_MS },
      instrument: () => undefined, onReport: () => undefined, onRejected: () => undefined, onState: () => undefined,
      ...extra,
    });
    cleanup.push(() => s.close());
    return s;
  }

  it('a 418 ban answered to the subscription, then the socket closing: no connection attempt until the ban ends, then it reconnects and subscribes', async () => {
    const timers = new ManualTimers();
    const v = await venue((n, id) => (n === 1
      ? { id, status: 418, error: { code: -1003, msg: `Way too much request weight used; IP banned until ${timers.clock + BAN_MS}.`, data: { serverTime: timers.clock, retryAfter: timers.clock + BAN_MS } } }
      : ok(n, id)));
    const limited: number[] = [];
    const s = stream(v.url, timers, { onRateLimited: (t) => limited.push(t) });
    const banEnd = timers.clock + BAN_MS;
    await s.start();
    await waitUntil(() => limited.length === 1, 'the ban passed on');
    await dropAndWait(v, timers);
    // many backoff ceilings (<= 40 ms) later, well inside the ban
    timers.advance(1_000);
    await settle();
    expect(v.connections()).toBe(1);
    timers.advance(banEnd - timers.clock - 1);
    await settle();
    expect(v.connections()).toBe(1);
    // the ban's end, then the backoff's delay
    timers.advance(1 + MAX_MS);
    await waitUntil(() => s.up, 'subscribed after the ban');
    expect(v.connections()).toBe(2);
    expect(v.requests()).toBe(2);
  });

  it('a "banned until" thousands of years off is held to 3 days (no throw, no hold for ever), then it reconnects and subscribes', async () => {
    const timers = new ManualTimers();
    // past 8.64e15 ms a Date cannot hold it: the log line once threw there
    const v = await venue((n, id) => (n === 1 ? { id, status: 418, error: { code: -1003, msg: 'IP banned until 9000000000000000.', data: { retryAfter: 9e15 } } } : ok(n, id)));
    const limited: number[] = [];
    const s = stream(v.url, timers, { onRateLimited: (t) => limited.push(t) });
    const cap = timers.clock + 3 * 86_400_000;
    await s.start();
    await waitUntil(() => limited.length === 1, 'the ban passed on');
    await dropAndWait(v, timers);
    timers.advance(cap - timers.clock - 1);
    await settle();
    expect(v.connections()).toBe(1);
    timers.advance(1 + MAX_MS);
    await waitUntil(() => s.up, 'subscribed after 3 days');
    expect(v.connections()).toBe(2);
  });

  it('a ban the execution client learned (a REST 418: holdUntil) moves a reconnect already scheduled past its end', async () => {
    const timers = new ManualTimers();
    const v = await venue(ok);
    const s = stream(v.url, timers);
    await s.start();
    await waitUntil(() => s.up, 'subscribed');
    await dropAndWait(v, timers);
    const banEnd = timers.clock + BAN_MS;
    s.holdUntil(banEnd, 'REST 418');
    s.holdUntil(banEnd - 60_000, 'an older answer'); // never shortens it
    timers.advance(BAN_MS - 1);
    await settle();
    expect(v.connections()).toBe(1);
    timers.advance(1 + MAX_MS);
    await waitUntil(() => s.up, 'subscribed after the ban');
    expect(v.connections()).toBe(2);
  });

  it('a ban on the per-IP limiter (blockedUntil: market data met it) holds the reconnect after a loss', async () => {
    const timers = new ManualTimers();
    const v = await venue(ok);
    let blocked = 0;
    const s = stream(v.url, timers, { blockedUntil: () => blocked });
    await s.start();
    await waitUntil(() => s.up, 'subscribed');
    blocked = timers.clock + BAN_MS;
    await dropAndWait(v, timers);
    timers.advance(BAN_MS - 1);
    await settle();
    expect(v.connections()).toBe(1);
    timers.advance(1 + MAX_MS);
    await waitUntil(() => s.up, 'subscribed after the ban');
    expect(v.connections()).toBe(2);
    expect(v.requests()).toBe(2);
  });

  it('market data records a ban on the shared per-IP limiter while a reconnect is scheduled: that reconnect does not go out into the ban', async () => {
    const timers = new ManualTimers();
    const v = await venue(ok);
    // the plugin's wiring: one per-IP limiter for market data and the execution client, whose
    // blockedUntil (ipBlockedUntil) the stream reads
    const options = resolveBinanceOptions({ instrument_refresh_ms: 0 });
    const limiter = new RateLimiter([{ name: 'ip', limit: options.request_weight_per_minute, intervalMs: 60_000 }], () => timers.clock, timers);
    const md = new BinanceMarketData({
      exchange: 'binance', endpoints: { wsRoot: 'ws://127.0.0.1:9', restRoot: 'http://127.0.0.1:9', market: 'spot' },
      options, clock: { now: () => timers.clock, monoNs: () => process.hrtime.bigint() }, instruments: [], limiter,
    });
    cleanup.push(() => md.stop());
    const s = stream(v.url, timers, {
      blockedUntil: () => {
        const w = limiter.waitTime({ ip: 0 });
        return w > 0 && Number.isFinite(w) ? timers.clock + w : 0;
      },
    });
    await s.start();
    await waitUntil(() => s.up, 'subscribed');
    // the stream's onDown read the limiter before the ban: its reconnect is scheduled (<= 40 ms)
    await dropAndWait(v, timers);
    const banEnd = timers.clock + BAN_MS;
    // an intake worker's depth snapshot answered 418: market data records it on the limiter; no
    // call reaches the stream
    md.intakeVenueBlocked(banEnd);
    // many backoff ceilings (<= 40 ms) later, well inside the ban
    timers.advance(1_000);
    await settle();
    expect(v.connections()).toBe(1);
    timers.advance(banEnd - timers.clock - 1);
    await settle();
    expect(v.connections()).toBe(1);
    timers.advance(1 + MAX_MS);
    await waitUntil(() => s.up, 'subscribed after the ban');
    expect(v.connections()).toBe(2);
    expect(v.requests()).toBe(2);
  });

  it('a rotation during a ban opens its new connection only after the ban; the old one stays subscribed meanwhile', async () => {
    const timers = new ManualTimers();
    const v = await venue(ok);
    const s = stream(v.url, timers);
    await s.start();
    await waitUntil(() => s.up, 'subscribed');
    s.holdUntil(timers.clock + BAN_MS, 'REST 418');
    s.rotate();
    await settle();
    expect(v.connections()).toBe(1);
    expect(s.up).toBe(true);
    timers.advance(BAN_MS);
    await waitUntil(() => s.rotations === 1, 'rotated after the ban');
    expect(v.connections()).toBe(2);
  });

  it('on a core without WsConnection.holdReconnectUntil (before API 1.13) it reconnects on its backoff as before, still not subscribing into the ban', async () => {
    coreBefore113(cleanup, { blockedUntil: false });
    const timers = new ManualTimers();
    const v = await venue((n, id) => (n === 1
      ? { id, status: 418, error: { code: -1003, msg: `IP banned until ${timers.clock + BAN_MS}.`, data: { retryAfter: timers.clock + BAN_MS } } }
      : ok(n, id)));
    const s = stream(v.url, timers);
    await s.start();
    await waitUntil(() => v.requests() === 1, 'the ban answered');
    await dropAndWait(v, timers);
    timers.advance(MAX_MS);
    await waitUntil(() => v.connections() === 2, 'reconnected on the backoff');
    await settle();
    expect(v.requests()).toBe(1);
    expect(s.up).toBe(false);
  });
  it('a rotation due during a ban only the per-IP limiter knows (blockedUntil) opens its new connection after the ban; the old one stays subscribed', async () => {
    const timers = new ManualTimers();
    const v = await venue(ok);
    let blocked = 0;
    const s = stream(v.url, timers, { blockedUntil: () => blocked });
    await s.start();
    await waitUntil(() => s.up, 'subscribed');
    // market data met a 418: only the shared limiter knows; the stream's own connection lives on
    blocked = timers.clock + BAN_MS;
    s.rotate();
    await settle();
    expect(v.connections()).toBe(1);
    expect(s.up).toBe(true);
    timers.advance(BAN_MS - 1);
    await settle();
    expect(v.connections()).toBe(1);
    timers.advance(1);
    await waitUntil(() => s.rotations === 1, 'rotated after the ban');
    expect(v.connections()).toBe(2);
  });

  it('a ban on the per-IP limiter known at start: the first connection is opened only after it', async () => {
    const timers = new ManualTimers();
    const v = await venue(ok);
    const banEnd = timers.clock + BAN_MS;
    const s = stream(v.url, timers, { blockedUntil: () => banEnd });
    const started = s.start();
    await settle();
    expect(v.connections()).toBe(0);
    timers.advance(BAN_MS - 1);
    await settle();
    expect(v.connections()).toBe(0);
    timers.advance(1);
    await started;
    await waitUntil(() => s.up, 'subscribed after the ban');
    expect(v.connections()).toBe(1);
  });

  it('a first connection refused 418 (the per-IP limiter learned the ban meanwhile) is not retried before the ban ends', async () => {
    const timers = new ManualTimers();
    let blocked = 0;
    // a banned IP's upgrade is answered 418; market data met the same ban, so the limiter knows it
    const venue418 = await teapotWsApi(cleanup, () => { blocked = timers.clock + BAN_MS; });
    const s = stream(venue418.url, timers, { blockedUntil: () => blocked });
    void s.start().catch(() => undefined);
    await waitUntil(() => venue418.attempts() === 1, 'the first attempt');
    await settle();
    // many backoff ceilings (<= 40 ms) later, deep inside the ban
    await stepAndSettle(timers, MAX_MS, 10);
    expect(venue418.attempts()).toBe(1);
    timers.advance(blocked - timers.clock + MAX_MS);
    await waitUntil(() => venue418.attempts() === 2, 'retried after the ban');
  });

  it('a subscription wait past one timer\'s reach (> 24.8 days) is waited in parts: never a timer Node would fire after 1 ms', async () => {
    const timers = new NodeClampTimers();
    const farEnd = timers.clock + 30 * 86_400_000;
    let s: BinanceUserStream | undefined;
    // the ban arrives while the handshake is under way, so the connection opens into it
    const v = await wsApiVenue(cleanup, { answer: ok, verifyClient: (_info, cb) => { s!.holdUntil(farEnd, 'a ban not capped on its way'); cb(true); } });
    s = stream(v.url, timers);
    await s.start();
    expect(timers.delays.every((d) => d <= MAX_TIMER_MS)).toBe(true);
    timers.advance(1);
    await settle();
    expect(v.requests()).toBe(0);
    timers.advance(MAX_TIMER_MS);
    await settle();
    expect(v.requests()).toBe(0);
    timers.advance(farEnd - timers.clock - 1);
    await settle();
    expect(v.requests()).toBe(0);
    timers.advance(1);
    await waitUntil(() => s!.up, 'subscribed after the ban');
    expect(v.requests()).toBe(1);
  });
});

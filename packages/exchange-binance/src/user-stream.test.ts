import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Secret } from '@cwts/core/config';
import { TimerSet } from '@cwts/core/adapter-kit';
import { waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { BinanceUserStream } from './user-stream.js';

/** A TimerSet that records every timeout's delay. */
class RecordingTimers extends TimerSet {
  readonly delays: number[] = [];
  override timeout(fn: () => void, ms: number): NodeJS.Timeout | undefined {
    this.delays.push(ms);
    return super.timeout(fn, ms);
  }
}

const INITIAL_MS = 5;
const MAX_MS = 40;

/**
 * The lower bound of the backoff's k-th delay (0-based) with its default "equal" jitter: half
 * the un-jittered ceiling, whatever the random draw.
 */
const floorOfDelay = (k: number): number => Math.floor(Math.min(MAX_MS, INITIAL_MS * 2 ** k) / 2);

describe('BinanceUserStream: a subscription the venue refuses or ends', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  /** A local WebSocket API that answers each subscribe request with `answer(id, ws)`. */
  async function venue(answer: (id: string, ws: WebSocket) => void): Promise<{ url: string; requests: () => number; connections: () => number }> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    let connections = 0;
    let requests = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.on('message', (raw) => {
        requests++;
        answer((JSON.parse(String(raw)) as { id: string }).id, ws);
      });
    });
    cleanup.push(() => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }));
    return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws-api/v3`, requests: () => requests, connections: () => connections };
  }

  function stream(url: string, timers: TimerSet, states: [boolean, string][] = []): BinanceUserStream {
    const s = new BinanceUserStream({
      url, apiKey: new Secret('k'), apiSecret: new Secret('s'), recvWindowMs: 5000, rotationMs: 3_600_000,
      // a clock that does not move: no connection here ever stays up long enough to count as healthy
      now: () => 1_700_000_000_000, timers, backoff: { initialMs: INITIAL_MS, maxMs: MAX_MS },
      instrument: () => undefined, onReport: () => undefined, onRejected: () => undefined, onState: (up, why) => states.push([up, why]),
    });
    cleanup.push(() => s.close());
    return s;
  }

  /** The delays before each new connection (every other timeout here, connect or rotation, is 10 s or more). */
  const reconnectDelays = (timers: RecordingTimers): number[] => timers.delays.filter((d) => d <= MAX_MS);

  it('a refused subscription reconnects through a growing backoff, not at once in a loop (Binance bans IPs that connect too often)', async () => {
    const v = await venue((id, ws) => ws.send(JSON.stringify({ id, status: 401, error: { code: -2015, msg: 'Invalid API-key, IP, or permissions for action.' } })));
    const timers = new RecordingTimers();
    const states: [boolean, string][] = [];
    const s = stream(v.url, timers, states);
    await s.start();
    await waitUntil(() => v.requests() >= 5, 'five subscription attempts');
    const delays = reconnectDelays(timers).slice(0, 4);
    expect(delays).toHaveLength(4);
    // 5, 10, 20, 40 ms ceilings: each at least half its ceiling, so the fourth waits >= 20 ms
    delays.forEach((d, k) => expect(d, `delays ${JSON.stringify(delays)}`).toBeGreaterThanOrEqual(floorOfDelay(k)));
    expect(delays[3]).toBeGreaterThan(INITIAL_MS);
    // never subscribed: the stream stays down, so the execution client polls for fills meanwhile
    expect(s.up).toBe(false);
    expect(s.subscriptions).toBe(0);
    expect(states.filter(([up]) => up)).toEqual([]);
  });

  it('a venue that ends the event stream right after each subscription is reconnected to through the backoff too', async () => {
    const v = await venue((id, ws) => {
      ws.send(JSON.stringify({ id, status: 200, result: { subscriptionId: 0 } }));
      ws.send(JSON.stringify({ subscriptionId: 0, event: { e: 'eventStreamTerminated', E: 1 } }));
    });
    const timers = new RecordingTimers();
    const states: [boolean, string][] = [];
    const s = stream(v.url, timers, states);
    await s.start();
    await waitUntil(() => v.requests() >= 5, 'five subscriptions');
    const delays = reconnectDelays(timers).slice(0, 4);
    expect(delays).toHaveLength(4);
    delays.forEach((d, k) => expect(d, `delays ${JSON.stringify(delays)}`).toBeGreaterThanOrEqual(floorOfDelay(k)));
    expect(delays[3]).toBeGreaterThan(INITIAL_MS);
    // each termination said the stream went down (polling covers it)
    expect(states.some(([up, why]) => !up && /terminated/.test(why))).toBe(true);
  });

  it('a 418 ban answered to the subscription is passed on with its end, and the same connection subscribes again only once it is over', async () => {
    const NOW = 1_700_000_000_000;
    const until = NOW + 120_000;
    let banned = true;
    const v = await venue((id, ws) => ws.send(JSON.stringify(banned
      ? { id, status: 418, error: { code: -1003, msg: `Way too much request weight used; IP banned until ${until}.`, data: { serverTime: NOW, retryAfter: until } } }
      : { id, status: 200, result: { subscriptionId: 0 } })));
    /** Holds the ban's timer (fired by the test); the others run. */
    class HoldingTimers extends RecordingTimers {
      held: (() => void) | undefined;
      override timeout(fn: () => void, ms: number): NodeJS.Timeout | undefined {
        if (ms !== 120_000) return super.timeout(fn, ms);
        this.held = fn;
        return undefined;
      }
    }
    const timers = new HoldingTimers();
    const limited: number[] = [];
    const s = new BinanceUserStream({
      url: v.url, apiKey: new Secret('k'), apiSecret: new Secret('s'), recvWindowMs: 5000, rotationMs: 3_600_000,
      now: () => NOW, timers, backoff: { initialMs: INITIAL_MS, maxMs: MAX_MS },
      instrument: () => undefined, onReport: () => undefined, onRejected: () => undefined, onState: () => undefined, onRateLimited: (t) => limited.push(t),
    });
    cleanup.push(() => s.close());
    await s.start();
    await waitUntil(() => limited.length === 1, 'the ban passed on');
    expect(limited).toEqual([until]);
    // many backoff ceilings (<= 40 ms) later: no reconnect, no subscription into the ban
    await new Promise((r) => setTimeout(r, 300));
    expect(v.requests()).toBe(1);
    expect(v.connections()).toBe(1);
    expect(timers.held).toBeDefined();
    banned = false;
    timers.held!();
    await waitUntil(() => s.up, 'subscribed after the ban');
    expect(v.requests()).toBe(2);
    expect(v.connections()).toBe(1);
  });

  it('a subscription whose answer never comes is given up after subscribeAnswerTimeoutMs: reconnected through the backoff, then subscribed', async () => {
    let first = true;
    const v = await venue((id, ws) => {
      if (first) {
        first = false; // the answer frame is lost
        return;
      }
      ws.send(JSON.stringify({ id, status: 200, result: { subscriptionId: 0 } }));
    });
    const timers = new RecordingTimers();
    const s = new BinanceUserStream({
      url: v.url, apiKey: new Secret('k'), apiSecret: new Secret('s'), recvWindowMs: 5000, rotationMs: 3_600_000, subscribeAnswerTimeoutMs: 50,
      now: () => 1_700_000_000_000, timers, backoff: { initialMs: INITIAL_MS, maxMs: MAX_MS },
      instrument: () => undefined, onReport: () => undefined, onRejected: () => undefined, onState: () => undefined,
    });
    cleanup.push(() => s.close());
    await s.start();
    await waitUntil(() => s.up, 'subscribed on the second connection');
    expect(v.requests()).toBe(2);
    expect(v.connections()).toBe(2);
    expect(timers.delays).toContain(50);
  });
});

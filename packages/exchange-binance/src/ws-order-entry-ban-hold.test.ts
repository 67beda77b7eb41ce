import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Secret } from '@cwts/core/config';
import { TimerSet, WsConnection } from '@cwts/core/adapter-kit';
import { waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { BinanceWsOrderEntry, type WsOrderEntryDeps } from './ws-order-entry.js';

/**
 * Timeouts on a clock the test moves (a ban of minutes is crossed without waiting, and without
 * racing the wall clock); the sockets' I/O on 127.0.0.1 stays real.
 */
class ManualTimers extends TimerSet {
  clock = 1_700_000_000_000;
  /** Every timeout's delay, in the order asked for. */
  readonly delays: number[] = [];
  private readonly due = new Map<NodeJS.Timeout, { at: number; fn: () => void }>();
  override timeout(fn: () => void, ms: number): NodeJS.Timeout | undefined {
    this.delays.push(ms);
    const handle = {} as NodeJS.Timeout;
    this.due.set(handle, { at: this.clock + ms, fn });
    return handle;
  }
  override clear(t: NodeJS.Timeout | undefined): void {
    if (t !== undefined && this.due.delete(t)) return;
    super.clear(t);
  }
  advance(ms: number): void {
    this.clock += ms;
    for (;;) {
      const next = [...this.due].filter(([, d]) => d.at <= this.clock).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) return;
      this.due.delete(next[0]);
      next[1].fn();
    }
  }
}

const MAX_MS = 40;
const BAN_MS = 120_000;
/** Real time for a connection that should not come to show up (a connect on 127.0.0.1 takes ~1 ms). */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 150));

describe('BinanceWsOrderEntry: no connection is opened into a ban', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  /** A local WebSocket API that counts connections and can drop every one of them. */
  async function venue() {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    let connections = 0;
    wss.on('connection', () => connections++);
    cleanup.push(() => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }));
    return {
      url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws-api/v3`,
      connections: () => connections,
      /** The venue closes every connection (a ban, a restart). */
      drop: () => { for (const c of wss.clients) c.terminate(); },
    };
  }

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
    const asked = timers.delays.length;
    v.drop();
    await waitUntil(() => !e.ready && timers.delays.length > asked, 'the reconnect scheduled');
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
    const proto = WsConnection.prototype as unknown as Record<string, unknown>;
    const hold = proto.holdReconnectUntil;
    delete proto.holdReconnectUntil;
    // nor does it read the blockedUntil option (also 1.13): every connect opens its socket
    const readBlock = proto.heldByBlock;
    proto.heldByBlock = () => false;
    cleanup.push(() => {
      proto.holdReconnectUntil = hold;
      proto.heldByBlock = readBlock;
    });
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
    let attempts = 0;
    // a banned IP's upgrade is answered 418; market data met the same ban, so the limiter knows it
    const http = createServer((_req, res) => res.writeHead(418).end());
    http.on('upgrade', (_req, socket: Socket) => {
      attempts++;
      blocked = timers.clock + BAN_MS;
      socket.end("HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n");
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    cleanup.push(() => new Promise<void>((r) => http.close(() => r())));
    const e = entry(`ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws-api/v3`, timers, { blockedUntil: () => blocked });
    void e.start().catch(() => undefined);
    await waitUntil(() => attempts === 1, 'the first attempt');
    await settle();
    // many backoff ceilings (<= 40 ms) later, deep inside the ban
    for (let k = 0; k < 10; k++) {
      timers.advance(MAX_MS);
      await settle();
    }
    expect(attempts).toBe(1);
    timers.advance(blocked - timers.clock + MAX_MS);
    await waitUntil(() => attempts === 2, 'retried after the ban');
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

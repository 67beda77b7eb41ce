import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { TimerSet } from './timers.js';
import { WsConnection } from './ws-connection.js';

/**
 * Timeouts on a clock the test moves: nothing fires until `advance` passes its time, so a hold
 * of minutes is checked without waiting minutes or racing the wall clock. The socket's own I/O
 * (a 127.0.0.1 server) stays real.
 */
class ManualTimers extends TimerSet {
  clock = 1_000_000;
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
  /** Moves the clock on and fires what fell due, earliest first. */
  advance(ms: number): void {
    this.clock += ms;
    for (;;) {
      const next = [...this.due].filter(([, d]) => d.at <= this.clock).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) return;
      this.due.delete(next[0]);
      next[1].fn();
    }
  }
  get pending(): number {
    return this.due.size;
  }
}

const CONNECT_TIMEOUT_MS = 600_000;
const servers: WebSocketServer[] = [];
const connections: WsConnection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) await c.close();
  for (const s of servers.splice(0)) {
    for (const c of s.clients) c.terminate();
    await new Promise((r) => s.close(r));
  }
});

/** A 127.0.0.1 server that counts the connections it accepts and keeps the latest. */
async function serve(): Promise<{ url: string; accepted: () => number; latest: () => WebSocket | undefined }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  await new Promise((r) => wss.once('listening', r));
  let n = 0;
  let latest: WebSocket | undefined;
  wss.on('connection', (ws: WebSocket) => {
    n++;
    latest = ws;
  });
  return { url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`, accepted: () => n, latest: () => latest };
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
};
/** Real time for a connect that should not happen to show up (a connect on 127.0.0.1 takes ~1 ms). */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 100));

/** A 100 ms doubling backoff (no jitter); the connect timeout is far beyond every advance here. */
function connection(url: string, timers: ManualTimers): WsConnection {
  const conn = new WsConnection({
    name: 'test feed',
    url: () => url,
    onMessage: () => {},
    backoff: { initialMs: 100, maxMs: 10_000, jitter: 'none' },
    timers,
    now: () => timers.clock,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  });
  connections.push(conn);
  return conn;
}
const reconnectDelays = (timers: ManualTimers): number[] => timers.delays.filter((d) => d !== CONNECT_TIMEOUT_MS);

describe('WsConnection.holdReconnectUntil: no socket is opened into a venue ban', () => {
  it('a connection lost during the hold reconnects only after its end, then its backoff delay; later losses back off as usual', async () => {
    const srv = await serve();
    const timers = new ManualTimers();
    const conn = connection(srv.url, timers);
    await conn.start();
    const banEnd = timers.clock + 120_000;
    conn.holdReconnectUntil(banEnd, 'IP banned');
    // the open socket is not the venue's concern: the hold leaves it alone
    expect(conn.isOpen).toBe(true);
    expect(conn.heldUntil).toBe(banEnd);
    expect(conn.holdReason).toBe('IP banned');

    srv.latest()!.close(1008, 'banned');
    await until(() => conn.reconnects === 1);
    timers.advance(100); // the backoff's first delay, which alone would reconnect now
    await settle();
    expect(srv.accepted()).toBe(1);
    timers.advance(banEnd - timers.clock); // the ban's end: the backoff's delay is still to come
    await settle();
    expect(srv.accepted()).toBe(1);
    timers.advance(100);
    await until(() => srv.accepted() === 2 && conn.isOpen);
    expect(reconnectDelays(timers)).toEqual([120_000 + 100]);

    // the hold is over: the next loss waits the (still growing) backoff only
    srv.latest()!.close(1008, 'again');
    await until(() => conn.reconnects === 2);
    expect(reconnectDelays(timers)).toEqual([120_100, 200]);
    timers.advance(200);
    await until(() => srv.accepted() === 3 && conn.isOpen);
  });

  it('a reconnect already scheduled moves past the hold; a later end extends it and an earlier one never shortens it', async () => {
    const srv = await serve();
    const timers = new ManualTimers();
    const conn = connection(srv.url, timers);
    await conn.start();
    srv.latest()!.close(1001, 'restart');
    await until(() => conn.reconnects === 1);
    const t0 = timers.clock;
    conn.holdReconnectUntil(t0 + 10_000, 'HTTP 429');
    conn.holdReconnectUntil(t0 + 5_000, 'an older answer');
    conn.holdReconnectUntil(Number.NaN, 'garbage');
    conn.holdReconnectUntil(Number.POSITIVE_INFINITY, 'garbage');
    expect(conn.heldUntil).toBe(t0 + 10_000);
    conn.holdReconnectUntil(t0 + 30_000, 'HTTP 418');
    expect(conn.heldUntil).toBe(t0 + 30_000);
    expect(conn.holdReason).toBe('HTTP 418');
    // one connect pending, not one per hold
    expect(conn.pendingTimers).toBe(1);
    expect(timers.pending).toBe(1);
    timers.advance(10_100);
    await settle();
    expect(srv.accepted()).toBe(1);
    timers.advance(19_900); // the latest hold's end
    await settle();
    expect(srv.accepted()).toBe(1);
    timers.advance(100);
    await until(() => srv.accepted() === 2 && conn.isOpen);
    expect(conn.reconnects).toBe(1);
  });

  it('start() during a hold opens no socket before its end, then connects at once', async () => {
    const srv = await serve();
    const timers = new ManualTimers();
    const conn = connection(srv.url, timers);
    conn.holdReconnectUntil(timers.clock + 60_000, 'banned before start');
    let started = false;
    const p = conn.start().then(() => (started = true));
    await settle();
    expect(srv.accepted()).toBe(0);
    timers.advance(59_999);
    await settle();
    expect(srv.accepted()).toBe(0);
    timers.advance(1);
    await p;
    expect(started).toBe(true);
    expect(srv.accepted()).toBe(1);
  });

  it('close() during a hold ends cleanly: no timer left, start() rejected, nothing opened after the hold', async () => {
    const srv = await serve();
    const timers = new ManualTimers();
    const conn = connection(srv.url, timers);
    conn.holdReconnectUntil(timers.clock + 60_000, 'banned');
    const p = conn.start();
    p.catch(() => {});
    await settle();
    // only the held connect is pending: no socket, no connect timeout
    expect(srv.accepted()).toBe(0);
    expect(conn.pendingTimers).toBe(1);
    await conn.close();
    await expect(p).rejects.toThrow(/closed before the first connection opened/);
    expect(conn.pendingTimers).toBe(0);
    expect(timers.pending).toBe(0);

    // and a connection lost during a hold, then closed
    const conn2 = connection(srv.url, timers);
    await conn2.start();
    conn2.holdReconnectUntil(timers.clock + 60_000, 'banned');
    srv.latest()!.close(1008, 'banned');
    await until(() => conn2.reconnects === 1);
    await conn2.close();
    expect(conn2.pendingTimers).toBe(0);
    expect(timers.pending).toBe(0);
    timers.advance(120_000);
    await settle();
    expect(srv.accepted()).toBe(1);
  });
});

/** A 127.0.0.1 HTTP server that counts WebSocket upgrades and never answers one: every connect attempt times out. */
async function silent(onUpgrade: () => void): Promise<{ url: string; attempts: () => number }> {
  const http = createServer();
  const sockets: Socket[] = [];
  let n = 0;
  http.on('upgrade', (_req, socket: Socket) => {
    n++;
    sockets.push(socket);
    onUpgrade();
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  closers.push(() => new Promise<void>((r) => {
    for (const s of sockets) s.destroy();
    http.close(() => r());
  }));
  return { url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}`, attempts: () => n };
}
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

describe('WsConnection blockedUntil: read before every socket is opened', () => {
  const BAN_MS = 3_600_000;

  it('a ban recorded elsewhere while a reconnect is scheduled: no attempt before it ends, then the backoff delay', async () => {
    const srv = await serve();
    const timers = new ManualTimers();
    let blocked = 0;
    const conn = new WsConnection({
      name: 'test feed', url: () => srv.url, onMessage: () => {}, timers, now: () => timers.clock,
      backoff: { initialMs: 100, maxMs: 10_000, jitter: 'none' }, connectTimeoutMs: CONNECT_TIMEOUT_MS,
      blockedUntil: () => blocked,
    });
    connections.push(conn);
    await conn.start();
    srv.latest()!.close(1001, 'restart');
    await until(() => conn.reconnects === 1);
    // another component (market data) met a 418 within the backoff delay: no call reaches us
    const banEnd = timers.clock + BAN_MS;
    blocked = banEnd;
    timers.advance(100);
    await settle();
    expect(srv.accepted()).toBe(1);
    expect(conn.heldUntil).toBe(banEnd);
    expect(conn.holdReason).toMatch(/blockedUntil/);
    expect(conn.pendingTimers).toBe(1);
    timers.advance(banEnd - timers.clock);
    await settle();
    expect(srv.accepted()).toBe(1);
    timers.advance(100);
    await until(() => srv.accepted() === 2 && conn.isOpen);
    // re-armed 100 ms into the ban: its rest, then the backoff delay again
    expect(reconnectDelays(timers)).toEqual([100, BAN_MS - 100 + 100]);
    expect(conn.reconnects).toBe(1);
  });

  it('a first attempt timing out during a ban (neither onError nor onDown is called) is not retried before the ban ends', async () => {
    const timers = new ManualTimers();
    let blocked = 0;
    const errors: string[] = [];
    const downs: string[] = [];
    // the ban is recorded on the shared limiter while the handshake hangs
    const srv = await silent(() => {
      if (blocked === 0) blocked = timers.clock + BAN_MS;
    });
    const conn = new WsConnection({
      name: 'test feed', url: () => srv.url, onMessage: () => {}, timers, now: () => timers.clock,
      backoff: { initialMs: 100, maxMs: 10_000, jitter: 'none' }, connectTimeoutMs: 10_000,
      onError: (m) => errors.push(m), onDown: (r) => downs.push(r),
      blockedUntil: () => blocked,
    });
    connections.push(conn);
    const started = conn.start();
    started.catch(() => {});
    await until(() => srv.attempts() === 1);
    timers.advance(10_000); // the connect timeout
    expect(conn.reconnects).toBe(1);
    expect(errors).toEqual([]);
    expect(downs).toEqual([]);
    for (let k = 0; k < 5; k++) {
      timers.advance(10_000); // many backoff delays, deep inside the ban
      await settle();
    }
    expect(srv.attempts()).toBe(1);
    timers.advance(blocked - timers.clock + 99);
    await settle();
    expect(srv.attempts()).toBe(1);
    timers.advance(1);
    await until(() => srv.attempts() === 2);
  });

  it('start() during a block far past one timer\'s reach waits in parts (never a delay Node clamps to 1 ms), then connects at once', async () => {
    const srv = await serve();
    const timers = new ManualTimers();
    const end = timers.clock + 30 * 86_400_000;
    const conn = new WsConnection({ name: 'test feed', url: () => srv.url, onMessage: () => {}, timers, now: () => timers.clock, connectTimeoutMs: CONNECT_TIMEOUT_MS, blockedUntil: () => end });
    connections.push(conn);
    const p = conn.start();
    await settle();
    expect(srv.accepted()).toBe(0);
    timers.advance(2_147_483_647);
    await settle();
    expect(srv.accepted()).toBe(0);
    timers.advance(end - timers.clock - 1);
    await settle();
    expect(srv.accepted()).toBe(0);
    timers.advance(1);
    await p;
    expect(srv.accepted()).toBe(1);
    expect(timers.delays.every((d) => d <= 2_147_483_647)).toBe(true);
  });

  it('close() while a block holds the connect leaves no timer, and nothing opens after it', async () => {
    const srv = await serve();
    const timers = new ManualTimers();
    const conn = new WsConnection({ name: 'test feed', url: () => srv.url, onMessage: () => {}, timers, now: () => timers.clock, connectTimeoutMs: CONNECT_TIMEOUT_MS, blockedUntil: () => timers.clock + 60_000 });
    connections.push(conn);
    const p = conn.start();
    p.catch(() => {});
    await settle();
    expect(conn.pendingTimers).toBe(1);
    await conn.close();
    await expect(p).rejects.toThrow(/closed before the first connection opened/);
    expect(timers.pending).toBe(0);
    timers.advance(120_000);
    await settle();
    expect(srv.accepted()).toBe(0);
  });

  it('hostile answers hold nothing for ever: a clock that lags the timers, a time that is not finite, a throw (reported)', async () => {
    const srv = await serve();
    const timers = new ManualTimers();
    // the connection's clock stands still: the block seems never to end on it
    const frozen = timers.clock;
    const lagging = new WsConnection({ name: 'lagging', url: () => srv.url, onMessage: () => {}, timers, now: () => frozen, connectTimeoutMs: CONNECT_TIMEOUT_MS, blockedUntil: () => frozen + 60_000 });
    connections.push(lagging);
    const p = lagging.start();
    timers.advance(60_000);
    await p;
    expect(srv.accepted()).toBe(1);

    const errors: string[] = [];
    const infinite = new WsConnection({ name: 'infinite', url: () => srv.url, onMessage: () => {}, timers, now: () => timers.clock, connectTimeoutMs: CONNECT_TIMEOUT_MS, blockedUntil: () => Number.POSITIVE_INFINITY });
    const throwing = new WsConnection({
      name: 'throwing', url: () => srv.url, onMessage: () => {}, timers, now: () => timers.clock, connectTimeoutMs: CONNECT_TIMEOUT_MS, onError: (m) => errors.push(m),
      blockedUntil: () => {
        throw new Error('limiter closed');
      },
    });
    connections.push(infinite, throwing);
    await infinite.start();
    await throwing.start();
    expect(srv.accepted()).toBe(3);
    expect(errors).toEqual(['throwing: blockedUntil failed (limiter closed); connecting']);
  });
});

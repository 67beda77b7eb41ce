/**
 * Scaffolding the *-ban-hold tests share: a clock the test moves, a local WebSocket API that counts
 * connections, a venue that answers every upgrade 418, the waits between steps. Under test/ so the
 * package's build (tsconfig: src only) never compiles it into dist.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TimerSet, WsConnection } from '@cwts/core/adapter-kit';
import { waitUntil } from '@cwts/core/testing';
import { afterEach } from 'vitest';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import type { FakeBinance } from './fake-binance.js';

/** The backoff ceiling the tests configure (ms). */
export const MAX_MS = 40;
/** A ban's length (ms). */
export const BAN_MS = 120_000;

/** Real time for a connection that should not come to show up (a connect on 127.0.0.1 takes ~1 ms). */
export const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 150));

/**
 * Timeouts on a clock the test moves (a ban of minutes or days is crossed without waiting, and
 * without racing the wall clock); the sockets' I/O on 127.0.0.1 stays real.
 */
export class ManualTimers extends TimerSet {
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
  override close(): void {
    this.due.clear();
    super.close();
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

export type Cleanup = (() => Promise<void> | void)[];

/**
 * A list of teardowns run after each test of the calling `describe`; `reverse`: last pushed runs
 * first (otherwise in the order pushed).
 */
export function cleanupAfterEach(order: 'pushed' | 'reverse'): Cleanup {
  const cleanup: Cleanup = [];
  afterEach(async () => {
    const due = cleanup.splice(0);
    for (const c of order === 'reverse' ? due.reverse() : due) await c();
  });
  return cleanup;
}

export interface WsApiVenue {
  url: string;
  connections: () => number;
  requests: () => number;
  /** The venue closes every connection (a ban, a restart). */
  drop: () => void;
}

/**
 * A local WebSocket API: counts connections and requests; `answer` (if given) answers the n-th
 * request (`id` its id), without it requests go unanswered.
 */
export async function wsApiVenue(
  cleanup: Cleanup,
  opts: { answer?: (n: number, id: string) => object; verifyClient?: ServerOptions['verifyClient'] } = {},
): Promise<WsApiVenue> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...(opts.verifyClient ? { verifyClient: opts.verifyClient } : {}) });
  await once(wss, 'listening');
  let connections = 0;
  let requests = 0;
  const answer = opts.answer;
  wss.on('connection', (ws: WebSocket) => {
    connections++;
    if (answer) ws.on('message', (raw) => ws.send(JSON.stringify(answer(++requests, (JSON.parse(String(raw)) as { id: string }).id))));
  });
  cleanup.push(() => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }));
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws-api/v3`,
    connections: () => connections,
    requests: () => requests,
    drop: () => { for (const c of wss.clients) c.terminate(); },
  };
}

/**
 * A banned IP's WebSocket API: every upgrade is answered 418 (counted; `onAttempt` runs before the
 * answer, e.g. to have the per-IP limiter learn the ban as market data would).
 */
export async function teapotWsApi(cleanup: Cleanup, onAttempt: () => void): Promise<{ url: string; attempts: () => number }> {
  let attempts = 0;
  const http = createServer((_req, res) => res.writeHead(418).end());
  http.on('upgrade', (_req, socket: Socket) => {
    attempts++;
    onAttempt();
    socket.end("HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n");
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  cleanup.push(() => new Promise<void>((r) => http.close(() => r())));
  return { url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws-api/v3`, attempts: () => attempts };
}

/** Moves the clock `times` steps of `ms`, each followed by a settle (many backoff ceilings, in real time too). */
export async function stepAndSettle(timers: ManualTimers, ms: number, times: number): Promise<void> {
  for (let k = 0; k < times; k++) {
    timers.advance(ms);
    await settle();
  }
}

/** Drops every connection and waits until the client has scheduled its next connect (and `also` holds). */
export async function dropAndWait(v: { drop: () => void }, timers: ManualTimers, also: () => boolean = () => true): Promise<void> {
  const asked = timers.delays.length;
  v.drop();
  await waitUntil(() => also() && timers.delays.length > asked, 'the reconnect scheduled');
}

/**
 * A core before API 1.13: no WsConnection.holdReconnectUntil, and with `blockedUntil` also no
 * reading of the blockedUntil option (every connect opens its socket). Restored by `cleanup`.
 */
export function coreBefore113(cleanup: Cleanup, opts: { blockedUntil: boolean }): void {
  const proto = WsConnection.prototype as unknown as Record<string, unknown>;
  const hold = proto.holdReconnectUntil;
  delete proto.holdReconnectUntil;
  const readBlock = proto.heldByBlock;
  if (opts.blockedUntil) proto.heldByBlock = () => false;
  cleanup.push(() => {
    proto.holdReconnectUntil = hold;
    if (opts.blockedUntil) proto.heldByBlock = readBlock;
  });
}

/** FakeBinance's credentials in the execution ban tests. */
export const KEY = 'test-api-key-not-real';
export const SECRET = 'test-api-secret-not-real-4242';

/** Counts the connection attempts (upgrades) on the fake's WebSocket API. */
export function countWsApiUpgrades(fake: FakeBinance): () => number {
  let attempts = 0;
  const upgrade = fake.wsApi.handleUpgrade.bind(fake.wsApi);
  fake.wsApi.handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    attempts++;
    upgrade(req, socket, head);
  };
  return () => attempts;
}

/**
 * Every REST order from now is answered 418 with Retry-After: the ban lasts 120 s, far past the end
 * of a test, so no wall-clock race decides its end.
 */
export function banRestOrders(fake: FakeBinance): void {
  fake.placeOrder = (_params, _send, err) => {
    fake.newOrderRequests++;
    err(418, -1003, `Way too many requests; IP banned until ${Date.now() + 120_000}. Please use the websocket for live updates to avoid bans.`, { 'retry-after': '120' });
  };
}

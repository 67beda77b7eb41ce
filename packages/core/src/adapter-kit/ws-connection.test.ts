import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { TimerSet } from './timers.js';
import { WsConnection } from './ws-connection.js';

const servers: WebSocketServer[] = [];
/** Closed before the servers, also when a test failed half-way (a server waits for its clients). */
const connections: WsConnection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) await c.close();
  for (const s of servers.splice(0)) {
    for (const c of s.clients) c.terminate();
    await new Promise((r) => s.close(r));
  }
});

/** A local server that sends `frames` to every connection it accepts. */
async function serve(frames: (n: number) => string[]): Promise<{ url: string; accepted: () => number }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  await new Promise((r) => wss.once('listening', r));
  let n = 0;
  wss.on('connection', (ws: WebSocket) => {
    n++;
    for (const f of frames(n)) ws.send(f);
  });
  const { port } = wss.address() as { port: number };
  return { url: `ws://127.0.0.1:${port}`, accepted: () => n };
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
};

describe('WsConnection: handlers that throw', () => {
  it('a message handler that throws does not escape the socket listener: counted, reported, and the stream starts over on a new connection', async () => {
    const srv = await serve((n) => [`hello ${n}`, `bad ${n}`, `after ${n}`]);
    const seen: string[] = [];
    const errors: string[] = [];
    const conn = new WsConnection({
      name: 'test feed',
      url: () => srv.url,
      backoff: { initialMs: 1, maxMs: 5 },
      onMessage: (t) => {
        // the first connection's bad frame throws, as a parser bug on hostile input would
        if (t === 'bad 1') throw new TypeError("Cannot read properties of null (reading 'interval')");
        seen.push(t);
      },
      onError: (m) => errors.push(m),
    });
    await conn.start();
    await until(() => seen.includes('after 2'));
    // nothing after the throw was handled on the connection it came from
    expect(seen).not.toContain('after 1');
    expect(seen.slice(0, 4)).toEqual(['hello 1', 'hello 2', 'bad 2', 'after 2']);
    expect(conn.handlerFailures).toBe(1);
    expect(conn.opens).toBe(2);
    expect(errors.join('\n')).toMatch(/test feed: message handler failed \(Cannot read properties of null \(reading 'interval'\)\); reconnecting/);
    await conn.close();
  });

  it('an open handler that throws (a subscription that cannot be built) still resolves start(), and reconnects', async () => {
    const srv = await serve(() => []);
    let opens = 0;
    const errors: string[] = [];
    const conn = new WsConnection({
      name: 'test feed',
      url: () => srv.url,
      backoff: { initialMs: 1, maxMs: 5 },
      onOpen: () => {
        if (++opens === 1) throw new Error('no symbols');
      },
      onMessage: () => {},
      onError: (m) => errors.push(m),
    });
    await conn.start();
    await until(() => conn.opens >= 2 && conn.isOpen);
    expect(conn.handlerFailures).toBe(1);
    expect(errors.join('\n')).toMatch(/open handler failed \(no symbols\)/);
    expect(srv.accepted()).toBeGreaterThanOrEqual(2);
    await conn.close();
  });
});

describe('WsConnection: handler failures and the reconnect backoff', () => {
  // A venue that sends the same frame on every connection (a welcome / subscription answer the
  // parser cannot take) makes every connection fail in its handler. Were each open to reset the
  // backoff, the reconnects would never back off: the adapter would reconnect at the initial
  // delay forever (venues count connection attempts per IP and ban).
  it('a message handler that throws on every connection backs off like a failed connect', async () => {
    const srv = await serve(() => ['welcome']);
    const conn = new WsConnection({
      name: 'test feed',
      url: () => srv.url,
      backoff: { initialMs: 20, maxMs: 5_000, jitter: 'none' },
      onMessage: () => {
        throw new TypeError('cannot parse');
      },
      onError: () => {},
    });
    await conn.start();
    await new Promise((r) => setTimeout(r, 800));
    const accepted = srv.accepted();
    await conn.close();
    // with a growing backoff (20, 40, 80, 160, 320 ms ...) at most ~6 connections fit in 800 ms
    expect(accepted).toBeLessThanOrEqual(8);
  });

  it('an open handler that throws on every connection backs off too', async () => {
    const srv = await serve(() => []);
    const conn = new WsConnection({
      name: 'test feed',
      url: () => srv.url,
      backoff: { initialMs: 20, maxMs: 5_000, jitter: 'none' },
      onOpen: () => {
        throw new Error('no symbols');
      },
      onMessage: () => {},
      onError: () => {},
    });
    await conn.start();
    await new Promise((r) => setTimeout(r, 800));
    const accepted = srv.accepted();
    await conn.close();
    expect(accepted).toBeLessThanOrEqual(8);
  });
});

/** A TimerSet that records every timeout's delay (the reconnect delays among them). */
class RecordingTimers extends TimerSet {
  readonly delays: number[] = [];
  override timeout(fn: () => void, ms: number): NodeJS.Timeout | undefined {
    this.delays.push(ms);
    return super.timeout(fn, ms);
  }
}

describe('WsConnection: the backoff starts over only after a healthy connection', () => {
  const CONNECT_TIMEOUT_MS = 60_000;

  /**
   * A peer that accepts every handshake and closes at once (a venue in maintenance, or one
   * closing with 1008 right after the handshake), except connection number `keepOpen`, which
   * stays up until the test closes it.
   */
  async function flakyPeer(keepOpen: number): Promise<{ url: string; accepted: () => number; held: () => WebSocket | undefined }> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    servers.push(wss);
    await new Promise((r) => wss.once('listening', r));
    let accepted = 0;
    let held: WebSocket | undefined;
    wss.on('connection', (ws: WebSocket) => {
      if (++accepted === keepOpen) held = ws;
      else ws.close(1008, 'go away');
    });
    return { url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`, accepted: () => accepted, held: () => held };
  }

  /** A connection with a 5 ms doubling backoff (no jitter) whose timers record every delay. */
  function backoffConnection(url: string, now: () => number, healthyAfterMs?: number): { conn: WsConnection; reconnectDelays: () => number[] } {
    const timers = new RecordingTimers();
    const conn = new WsConnection({
      name: 'test feed',
      url: () => url,
      onMessage: () => {},
      backoff: { initialMs: 5, maxMs: 5_000, jitter: 'none' },
      ...(healthyAfterMs !== undefined ? { healthyAfterMs } : {}),
      now,
      timers,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
    });
    connections.push(conn);
    return { conn, reconnectDelays: () => timers.delays.filter((d) => d !== CONNECT_TIMEOUT_MS) };
  }

  it('a peer that accepts every handshake and closes at once meets a growing delay; a connection that stayed up healthyAfterMs (injected clock) starts it over', async () => {
    const peer = await flakyPeer(4);
    let clock = 1_000_000;
    const { conn, reconnectDelays } = backoffConnection(peer.url, () => clock, 10_000);
    await conn.start();
    await until(() => peer.held() !== undefined && conn.isOpen);
    // three connections dropped at once (no time passed on the clock): 5, 10, 20 ms, not 5 for ever
    expect(reconnectDelays()).toEqual([5, 10, 20]);
    // the fourth stays up for the healthy period, then drops: the next delay is initialMs again
    clock += 10_000;
    peer.held()!.close(1001, 'restart');
    await until(() => peer.accepted() >= 6);
    await until(() => reconnectDelays().length >= 5);
    expect(reconnectDelays().slice(0, 5)).toEqual([5, 10, 20, 5, 10]);
    await conn.close();
    expect(conn.pendingTimers).toBe(0);
  });

  it('a connection up for less than healthyAfterMs does not start the backoff over', async () => {
    const peer = await flakyPeer(2);
    let clock = 0;
    const { conn, reconnectDelays } = backoffConnection(peer.url, () => clock, 10_000);
    await conn.start();
    await until(() => peer.held() !== undefined && conn.isOpen);
    clock += 9_999;
    peer.held()!.close(1001, 'restart');
    await until(() => peer.accepted() >= 3);
    await until(() => reconnectDelays().length >= 3);
    expect(reconnectDelays().slice(0, 3)).toEqual([5, 10, 20]);
    await conn.close();
  });

  it('reconnectWithBackoff waits the backoff (growing) where reconnect goes at once', async () => {
    const srv = await serve(() => []);
    const { conn, reconnectDelays } = backoffConnection(srv.url, () => 0);
    await conn.start();
    for (let k = 1; k <= 3; k++) {
      conn.reconnectWithBackoff('subscription refused');
      await until(() => conn.opens === k + 1 && conn.isOpen);
    }
    conn.reconnect('server shutdown notice');
    await until(() => conn.opens === 5 && conn.isOpen);
    expect(reconnectDelays()).toEqual([5, 10, 20, 0]);
    await conn.close();
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { WsConnection } from './ws-connection.js';

const servers: WebSocketServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
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
  // parser cannot take) makes every connection fail in its handler. Each open resets the backoff
  // before the handler runs, so the reconnects never back off: the adapter reconnects at the
  // initial delay forever (venues count connection attempts per IP and ban).
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

import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { healthEndpointRoutes } from './health-endpoint.js';
import { HttpEndpoint } from './http.js';
import { createLogger } from './logger.js';
import { SnapshotHub } from './snapshot-hub.js';

const open: { ep: HttpEndpoint; hub: SnapshotHub }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    o.hub.close();
    await o.ep.close();
  }
});

const STATUS = { positions: [{ exchange: 'binance', symbol: 'BTCUSDT', quantity: '3.5', unrealizedPnl: '-1200.00' }], openOrders: 4 };

/** One GET with the Host header as given (fetch cannot set it); resolves at the response head, the body read unless it streams. */
function get(port: number, path: string, host: string | undefined, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers: { ...headers, ...(host === undefined ? {} : { host }) }, setHost: host !== undefined }, (res) => {
      if (res.headers['content-type'] === 'text/event-stream') {
        resolve({ status: res.statusCode ?? 0, body: '' });
        res.destroy();
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(token?: string) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (l: string) => (lines.push(l), true) } as unknown as NodeJS.WritableStream });
  const hub = new SnapshotHub(() => STATUS);
  const ep = new HttpEndpoint('health', healthEndpointRoutes({
    components: () => [{ name: 'feed', ready: true, detail: 'ok' }],
    snapshots: hub,
    token: token ? { accepts: (p) => p === token, hint: 'the test token' } : undefined,
    logger,
  }));
  open.push({ ep, hub });
  const port = await ep.listen(0, '127.0.0.1');
  return { port, hub, lines };
}

describe('health endpoint on a loopback bind (no token): the Host rule against DNS rebinding', () => {
  it('/status, the live page and its stream refuse a request addressed to a foreign host name (403, nothing of the status)', async () => {
    const { port, hub, lines } = await serve();
    for (const path of ['/status', '/', '/events']) {
      for (const host of [`attacker.example:${port}`, 'attacker.example', `127.0.0.1.attacker.example:${port}`, `localhost.attacker.example:${port}`]) {
        const r = await get(port, path, host);
        expect(r.status, `${path} Host ${host}`).toBe(403);
        expect(r.body).not.toContain('BTCUSDT');
        expect(JSON.parse(r.body)).toEqual({ error: expect.stringMatching(/^Host must be 127\.0\.0\.1, localhost or \[::1\]/) });
      }
    }
    // with no Host at all Node's server answers 400 before any route runs
    expect((await get(port, '/status', undefined)).status).toBe(400);
    expect(hub.viewers).toBe(0);
    // refusals are logged, rate-limited: the first at once, the rest held back
    expect(lines.filter((l) => l.includes('refused (403)'))).toHaveLength(1);
    expect(lines[0]).toContain('Host \\"attacker.example:');
  });

  it('/status, the live page and its stream answer requests addressed to 127.x.y.z, localhost or [::1] on any port (a tunnel)', async () => {
    const { port } = await serve();
    for (const host of [`127.0.0.1:${port}`, `127.0.0.2:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, '127.0.0.1', 'localhost:18080']) {
      const r = await get(port, '/status', host);
      expect(r.status, host).toBe(200);
      expect(JSON.parse(r.body)).toEqual(STATUS);
    }
    expect((await get(port, '/', `localhost:${port}`)).status).toBe(200);
    expect((await get(port, '/events', `127.0.0.1:${port}`)).status).toBe(200);
  });

  it('probes stay open whatever the Host (a kubelet or a load balancer names the pod, not loopback)', async () => {
    const { port } = await serve();
    for (const path of ['/health/live', '/health/ready', '/health']) expect((await get(port, path, `attacker.example:${port}`)).status, path).toBe(200);
  });
});

describe('health endpoint off loopback (token): the token decides, not the Host', () => {
  it('/status needs the token and then answers whatever name the host was reached by; probes stay open', async () => {
    const { port } = await serve('s3cret-token-0123456789');
    expect((await get(port, '/status', `trading-host.internal:${port}`)).status).toBe(401);
    const ok = await get(port, '/status', `trading-host.internal:${port}`, { authorization: 'Bearer s3cret-token-0123456789' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual(STATUS);
    expect((await get(port, '/health/ready', `trading-host.internal:${port}`)).status).toBe(200);
  });
});

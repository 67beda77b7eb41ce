import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { get, request, type IncomingMessage } from 'node:http';
import { HttpEndpoint, healthRoutes } from './http.js';
import { liveRoutes } from './live-page.js';
import { createLogger } from './logger.js';
import { SnapshotHub } from './snapshot-hub.js';

const endpoints: HttpEndpoint[] = [];
afterEach(async () => {
  for (const e of endpoints.splice(0)) await e.close();
});

function sse(port: number): Promise<{ res: IncomingMessage; frames: string[] }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/events' }, (res) => {
      const frames: string[] = [];
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let k;
        while ((k = buf.indexOf('\n\n')) >= 0) {
          const f = buf.slice(0, k);
          buf = buf.slice(k + 2);
          if (f.startsWith('event: snapshot')) frames.push(f.slice(f.indexOf('data: ') + 6));
        }
      });
      resolve({ res, frames });
    }).on('error', reject);
  });
}

describe('SnapshotHub', () => {
  it('computes the snapshot at most once per interval however often it is asked', () => {
    let t = 0;
    let calls = 0;
    const hub = new SnapshotHub(() => ({ n: ++calls }), 250, 32, () => t);
    expect(hub.current()).toEqual({ n: 1 });
    t = 249;
    expect(hub.current()).toEqual({ n: 1 });
    t = 250;
    expect(hub.current()).toEqual({ n: 2 });
    expect(() => new SnapshotHub(() => ({}), 100)).toThrow(/at least 250/);
  });

  it('/status sends the snapshot serialized once per interval, not once per request', async () => {
    let t = 0;
    let calls = 0;
    const hub = new SnapshotHub(() => ({ n: ++calls, big: 12345678901234567890n }), 250, 32, () => t);
    const http = new HttpEndpoint('health', healthRoutes(() => [], () => hub.currentJson()));
    endpoints.push(http);
    const port = await http.listen(0, '127.0.0.1');
    const bodies = await Promise.all(Array.from({ length: 10 }, async () => {
      const res = await fetch(`http://127.0.0.1:${port}/status`);
      expect(res.headers.get('content-type')).toBe('application/json');
      return res.json();
    }));
    expect(bodies.every((b) => JSON.stringify(b) === JSON.stringify({ n: 1, big: '12345678901234567890' }))).toBe(true);
    expect(hub.currentJson()).toBe(hub.currentJson()); // the same serialized object while fresh
    t = 250;
    expect(await (await fetch(`http://127.0.0.1:${port}/status`)).json()).toEqual({ n: 2, big: '12345678901234567890' });
    expect(calls).toBe(2);
  });

  it('serves every viewer the same frames from one computation per publish, and serves the page without controls', async () => {
    let calls = 0;
    const hub = new SnapshotHub(() => ({ n: ++calls, big: 1n }));
    const http = new HttpEndpoint('health', liveRoutes(hub));
    endpoints.push(http);
    const port = await http.listen(0, '127.0.0.1');
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(page).toContain("new EventSource('/events')");
    expect(page).not.toMatch(/<button|<form|<input|method=["']?post/i);
    const clients = await Promise.all([sse(port), sse(port), sse(port)]);
    const deadline = Date.now() + 20_000;
    while (clients.some((c) => c.frames.length < 4) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(hub.viewers).toBe(3);
    for (const c of clients) expect(c.frames.length).toBeGreaterThanOrEqual(4);
    // Three viewers, yet the provider ran about once per publish (plus the first frame), not three times.
    expect(calls).toBeLessThanOrEqual(hub.publishes + 2);
    const last = JSON.parse(clients[0]!.frames.at(-1)!) as { n: number; big: string };
    expect(last.big).toBe('1');
    for (const c of clients) c.res.destroy();
    const until = Date.now() + 5000;
    while (hub.viewers > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(hub.viewers).toBe(0);
  });
});

describe('SnapshotHub and HttpEndpoint: a status provider that throws never takes the process down', () => {
  const escaped: string[] = [];
  const onEscape = (err: unknown) => escaped.push(String(err));
  beforeEach(() => {
    process.on('unhandledRejection', onEscape);
    process.on('uncaughtException', onEscape);
  });
  afterEach(() => {
    process.off('unhandledRejection', onEscape);
    process.off('uncaughtException', onEscape);
    escaped.length = 0;
  });

  function logLines() {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (l: string) => (lines.push(l), true) } as unknown as NodeJS.WritableStream });
    return { lines, logger };
  }

  it('/status and a new live-page stream answer 500 (the stream before its head goes out); the failure is counted and logged', async () => {
    const { lines, logger } = logLines();
    const hub = new SnapshotHub(() => {
      throw new Error('status provider failed');
    }, { logger });
    const { '/status': statusRoute, ...probes } = healthRoutes(() => [], () => hub.currentJson());
    const http = new HttpEndpoint('health', { ...probes, '/status': statusRoute!, ...liveRoutes(hub) });
    endpoints.push(http);
    const port = await http.listen(0, '127.0.0.1');
    expect((await fetch(`http://127.0.0.1:${port}/status`)).status).toBe(500);
    const events = await fetch(`http://127.0.0.1:${port}/events`);
    expect(events.status).toBe(500);
    expect(events.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await events.text()).toMatch(/could not be made/);
    expect(hub.viewers).toBe(0);
    expect(hub.failures).toBe(2);
    // the process keeps serving
    expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
    expect(lines.filter((l) => l.includes('status snapshot failed')).map((l) => JSON.parse(l).msg)).toEqual([
      'status snapshot failed (/status): status provider failed',
      'status snapshot failed (live page): status provider failed',
    ]);
    await new Promise((r) => setImmediate(r));
    expect(escaped).toEqual([]);
  });

  it('a provider that fails while a viewer is connected: the publish skips those frames, the stream stays open and resumes', async () => {
    const { lines, logger } = logLines();
    let calls = 0;
    let failing = false;
    const hub = new SnapshotHub(() => {
      calls++;
      if (failing) throw new Error('status provider failed');
      return { n: calls };
    }, { logger });
    const http = new HttpEndpoint('health', liveRoutes(hub));
    endpoints.push(http);
    const port = await http.listen(0, '127.0.0.1');
    const viewer = await sse(port);
    const waitFor = async (what: string, cond: () => boolean) => {
      const deadline = Date.now() + 20_000;
      while (!cond()) {
        if (escaped.length > 0) throw new Error(`escaped while waiting for ${what}: ${escaped[0]}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await waitFor('a first frame', () => viewer.frames.length >= 1);
    failing = true;
    await waitFor('three failed publishes', () => hub.failures >= 3);
    const framesWhileFailing = viewer.frames.length;
    expect(hub.viewers).toBe(1);
    const callsWhileFailing = calls;
    failing = false;
    await waitFor('frames again', () => viewer.frames.length > framesWhileFailing);
    expect((JSON.parse(viewer.frames.at(-1)!) as { n: number }).n).toBeGreaterThan(callsWhileFailing);
    // one line for the first failure; the next ones are held back (10 s window), counted
    expect(lines.filter((l) => l.includes('status snapshot failed'))).toHaveLength(1);
    viewer.res.destroy();
    hub.close();
    expect(escaped).toEqual([]);
  });

  it('a stream route that fails after writing its head: that response is cut off, the endpoint keeps serving', async () => {
    const http = new HttpEndpoint('health', {
      '/health/live': () => ({ status: 200, body: { live: true } }),
      '/events': {
        method: 'GET',
        stream: (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          throw new Error('failed mid-stream');
        },
      },
    });
    endpoints.push(http);
    const port = await http.listen(0, '127.0.0.1');
    const cut = await new Promise<string>((resolve) => {
      // without the guard the failure escapes as an unhandled rejection and the response hangs
      const poll = setInterval(() => escaped.length > 0 && resolve(`escaped: ${escaped[0]}`), 10);
      const done = (how: string) => {
        clearInterval(poll);
        resolve(how);
      };
      get({ host: '127.0.0.1', port, path: '/events' }, (res) => {
        res.on('data', () => {});
        res.on('error', () => done('cut'));
        res.on('aborted', () => done('cut'));
        res.on('end', () => done('ended'));
      }).on('error', () => done('cut'));
    });
    expect(cut).toBe('cut');
    expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
    await new Promise((r) => setImmediate(r));
    expect(escaped).toEqual([]);
  });
});

/** One HEAD request: its status and content type when its head arrives, or 'no answer' after `ms`. */
function head(port: number, path: string, ms: number): Promise<{ status: number; type: string | undefined } | 'no answer'> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'HEAD' }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] });
    });
    req.on('error', () => {});
    req.end();
    setTimeout(() => {
      req.destroy();
      resolve('no answer');
    }, ms).unref();
  });
}

// HttpEndpoint lets HEAD through to every GET route, the live page's stream included. For a HEAD
// node drops the hub's writes, so a stream's head never went out: the client waited forever and
// held one of the `maxClients` viewer slots for as long as it stayed connected.
describe('HEAD /events', () => {
  it('is answered with the stream head and does not take a live-page viewer slot', async () => {
    const hub = new SnapshotHub(() => ({ ok: true }), { maxClients: 2 });
    const http = new HttpEndpoint('health', liveRoutes(hub));
    endpoints.push(http);
    const port = await http.listen(0, '127.0.0.1');
    try {
      const probes = await Promise.all([head(port, '/events', 2000), head(port, '/events', 2000), head(port, '/events', 2000)]);
      expect(probes).toEqual([0, 1, 2].map(() => ({ status: 200, type: 'text/event-stream' })));
      expect(hub.viewers).toBe(0);
      // the two slots are still free for real viewers
      const a = await sse(port);
      const b = await sse(port);
      expect([a.res.statusCode, b.res.statusCode]).toEqual([200, 200]);
      expect(hub.viewers).toBe(2);
      a.res.destroy();
      b.res.destroy();
    } finally {
      hub.close();
    }
  });
});

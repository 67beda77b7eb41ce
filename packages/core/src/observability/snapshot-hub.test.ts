import { afterEach, describe, expect, it } from 'vitest';
import { get, type IncomingMessage } from 'node:http';
import { HttpEndpoint, healthRoutes } from './http.js';
import { liveRoutes } from './live-page.js';
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

import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { MetricsRegistry } from './metrics.js';
import { OffThreadMetricsEndpoint } from './metrics-server.js';

const open: OffThreadMetricsEndpoint[] = [];
afterEach(async () => {
  for (const e of open.splice(0)) await e.close();
});

describe('OffThreadMetricsEndpoint', () => {
  it('serves /metrics from a worker thread, rendering on the engine thread once for a burst of concurrent scrapes', async () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    metrics.errors.labels('x').inc(3);
    // A long interval: every scrape of the test falls inside one snapshot's lifetime.
    const ep = new OffThreadMetricsEndpoint(metrics, 60_000);
    open.push(ep);
    const port = await ep.listen(0, '127.0.0.1');
    const res = await Promise.all(Array.from({ length: 40 }, () => fetch(`http://127.0.0.1:${port}/metrics`)));
    const texts = await Promise.all(res.map((r) => r.text()));
    expect(res.every((r) => r.status === 200 && r.headers.get('content-type') === metrics.registry.contentType)).toBe(true);
    expect(texts.every((t) => /^cwts_errors_total\{component="x"\} 3$/m.test(t))).toBe(true);
    expect(ep.renders).toBe(1);
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('renders again once the snapshot is older than the interval', async () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    const ep = new OffThreadMetricsEndpoint(metrics, 0);
    open.push(ep);
    const port = await ep.listen(0, '127.0.0.1');
    metrics.errors.labels('y').inc();
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(/^cwts_errors_total\{component="y"\} 1$/m);
    metrics.errors.labels('y').inc();
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(/^cwts_errors_total\{component="y"\} 2$/m);
    expect(ep.renders).toBe(2);
  });

  it('a port in use is an error naming it, like the other endpoints', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const ep = new OffThreadMetricsEndpoint(new MetricsRegistry({ processMetrics: false }));
      await expect(ep.listen(port, '127.0.0.1')).rejects.toThrow(`metrics: port ${port} on 127.0.0.1 is already in use (set a different port in [monitoring])`);
      await ep.close();
    } finally {
      blocker.close();
    }
  });
});

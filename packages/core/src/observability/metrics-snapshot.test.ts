import { describe, expect, it } from 'vitest';
import { MetricsSnapshot } from './metrics-snapshot.js';
import { MetricsRegistry, TICK_TO_ORDER_BUCKETS } from './metrics.js';
import { HttpEndpoint, metricsRoutes } from './http.js';

describe('MetricsSnapshot', () => {
  it('renders at most once per 250 ms however many scrapes arrive, and concurrent scrapes share one render', async () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    let t = 0;
    const snap = new MetricsSnapshot(metrics, 250, () => t);
    metrics.errors.labels('a').inc();
    const texts = await Promise.all(Array.from({ length: 50 }, () => snap.text()));
    expect(snap.renders).toBe(1);
    expect(new Set(texts).size).toBe(1);
    expect(texts[0]).toMatch(/^cwts_errors_total\{component="a"\} 1$/m);
    metrics.errors.labels('a').inc();
    t = 249;
    expect(await snap.text()).toMatch(/^cwts_errors_total\{component="a"\} 1$/m);
    expect(snap.renders).toBe(1);
    t = 250;
    expect(await snap.text()).toMatch(/^cwts_errors_total\{component="a"\} 2$/m);
    expect(snap.renders).toBe(2);
  });

  it('/metrics serves the snapshot with Prometheus content type', async () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    let t = 0;
    const snap = new MetricsSnapshot(metrics, 250, () => t);
    const http = new HttpEndpoint('metrics', metricsRoutes(snap));
    const port = await http.listen(0, '127.0.0.1');
    try {
      const res = await Promise.all(Array.from({ length: 20 }, () => fetch(`http://127.0.0.1:${port}/metrics`)));
      expect(res.every((r) => r.status === 200 && r.headers.get('content-type')!.startsWith('text/plain'))).toBe(true);
      await Promise.all(res.map((r) => r.text()));
      expect(snap.renders).toBe(1);
    } finally {
      await http.close();
    }
  });
});

describe('cwts_tick_to_order_seconds buckets', () => {
  it('are roughly logarithmic from 5 us to 10 ms (no step over 2x), so a p99 below 100 us can be read', async () => {
    expect(TICK_TO_ORDER_BUCKETS[0]).toBe(5e-6);
    expect(TICK_TO_ORDER_BUCKETS).toContain(1e-2);
    const upTo10ms = TICK_TO_ORDER_BUCKETS.filter((b) => b <= 1e-2);
    for (let i = 1; i < upTo10ms.length; i++) expect(upTo10ms[i]! / upTo10ms[i - 1]!).toBeLessThanOrEqual(2);
    expect(TICK_TO_ORDER_BUCKETS.filter((b) => b < 1e-4).length).toBeGreaterThanOrEqual(7);
    // 99 orders at 20-40 us and one at 3 ms: the 99th bucket boundary is 50 us, not 1 ms.
    const metrics = new MetricsRegistry({ processMetrics: false });
    for (let i = 0; i < 99; i++) metrics.tickToOrder.observe(20e-6 + i * 0.2e-6);
    metrics.tickToOrder.observe(3e-3);
    const text = await metrics.text();
    const bucket = (le: string) => Number(new RegExp(`^cwts_tick_to_order_seconds_bucket\\{le="${le}"\\} (\\d+)$`, 'm').exec(text)![1]);
    expect(bucket('0.00005')).toBe(99);
    expect(bucket('0.00003')).toBeLessThan(99);
    expect(bucket('0.003')).toBe(100);
  });

  it('the exchange-bound part has its own histogram per exchange', async () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    metrics.orderAck.labels('sim').observe(0.004);
    expect(await metrics.text()).toMatch(/^cwts_order_ack_seconds_bucket\{le="0.005",exchange="sim"\} 1$/m);
  });
});

describe('MetricsRegistry.text', () => {
  it("renders the app's own series fresh every time and prom-client's process metrics at most every 5 s", async () => {
    let t = 0;
    const metrics = new MetricsRegistry({ now: () => t });
    const cpu = (text: string) => /^process_cpu_user_seconds_total (\S+)$/m.exec(text)?.[1];
    const first = await metrics.text();
    expect(cpu(first)).toBeDefined();
    expect(first).toMatch(/^nodejs_heap_size_used_bytes /m);
    // Burn some CPU so a fresh collection would read a different value.
    const until = performance.now() + 30;
    while (performance.now() < until);
    metrics.errors.labels('z').inc();
    t = 4999;
    const second = await metrics.text();
    expect(second).toMatch(/^cwts_errors_total\{component="z"\} 1$/m);
    expect(cpu(second)).toBe(cpu(first));
    t = 5000;
    expect(cpu(await metrics.text())).not.toBe(cpu(first));
  });

  it('is the same exposition as prom-client renders, series for series', async () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    metrics.tickToOrder.observe(3e-5);
    metrics.orders.labels('sim', 'filled').inc();
    expect(await metrics.text()).toBe(await metrics.registry.metrics());
  });
});

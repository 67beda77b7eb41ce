/**
 * `cwts-ultra run` with `[monitoring] enable_tracing = true` against a stub OTLP/HTTP collector
 * on 127.0.0.1: the spans of startup, reconciliation and sampled market events arrive with the
 * structure docs/operations.md ("Tracing") documents. The app is the built CLI in a child process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp } from './load-test/app-process.js';
import { stepConfigToml } from './load-test/step-config.js';

interface OtlpSpan {
  name: string;
  spanId: string;
  parentSpanId?: string;
  traceId: string;
}

describe('cwts-ultra run with enable_tracing = true', () => {
  let server: Server | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('posts startup, reconcile and sampled market_event spans to the collector, parents included', async () => {
    const spans: OtlpSpan[] = [];
    const services = new Set<string>();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/v1/traces') {
          const doc = JSON.parse(body) as { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[] };
          for (const rs of doc.resourceSpans) {
            for (const a of rs.resource.attributes) if (a.key === 'service.name') services.add(a.value.stringValue ?? '');
            for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ name: s.name, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, traceId: s.traceId });
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'cwts-run-tracing-'));
    const config = join(dir, 'app.toml');
    const toml = stepConfigToml({ eventsPerSecond: 200, eventsPerOrder: 1, symbols: ['BTCUSDT'], fsync: 'batch', baseDir: process.cwd() })
      .replace('control_port = 0', `control_port = 0\nenable_tracing = true\ntracing_endpoint = "http://127.0.0.1:${port}"\ntracing_sample_ratio = 0.05`);
    writeFileSync(config, toml);
    const app = await startApp(config, join(dir, 'data'));
    // the batch processor exports every second; wait (bounded) for a traced order
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !spans.some((s) => s.name === 'submit')) await new Promise((r) => setTimeout(r, 200));
    const exit = await app.stop();
    expect(exit.code).toBe(0);
    expect([...services]).toEqual(['cwts-load-test']);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const parent = (s: OtlpSpan) => (s.parentSpanId ? byId.get(s.parentSpanId)?.name : undefined);
    const startup = spans.find((s) => s.name === 'startup')!;
    expect(startup.parentSpanId).toBeUndefined();
    for (const phase of ['compose', 'engine_start', 'reconcile']) expect(parent(spans.find((s) => s.name === phase)!), phase).toBe('startup');
    const submit = spans.find((s) => s.name === 'submit')!;
    const order = byId.get(submit.parentSpanId!)!;
    expect(order.name).toBe('order');
    expect(parent(order)).toBe('strategy');
    expect(parent(byId.get(order.parentSpanId!)!)).toBe('market_event');
    for (const s of spans.filter((x) => ['book', 'detectors', 'strategy'].includes(x.name))) expect(parent(s)).toBe('market_event');
    // the venue's answer to a traced order ends its ack span, after the event's dispatch
    expect(spans.some((s) => s.name === 'ack' && parent(s) === 'order')).toBe(true);
    // one in 20 events sampled: far fewer roots than events
    const roots = spans.filter((s) => s.name === 'market_event').length;
    expect(roots).toBeGreaterThan(0);
    expect(roots * 20).toBeLessThanOrEqual((exit.summary?.events ?? 0) + 20);
  }, 90_000);
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../contracts/clock.js';
import type { Strategy, StrategyContext } from '../../contracts/trading.js';
import { defineInstrument } from '../../domain/instrument.js';
import type { BookSnapshotEvent, MarketEvent, TradeEvent } from '../../domain/events.js';
import { Engine } from '../../engine/engine.js';
import { ScriptedVenue } from '../../engine/test-venue.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { MetricsRegistry } from '../metrics.js';
import type { EngineTracing } from './hooks.js';
import { OtelEngineTracing } from './otel.js';
import { startTracing } from './start.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const snapshot = (seq = 10): BookSnapshotEvent => ({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: Date.now(), seq, reason: 'initial', bids: [{ price: 5_000_000, qty: 1000 }], asks: [{ price: 5_000_100, qty: 1000 }] });
const trade = (n: number): TradeEvent => ({ type: 'trade', exchange: 'v', symbol: 'BTCUSDT', ts: 2, recvTs: Date.now(), tradeId: String(n), price: 5_000_000, qty: 1, side: 'buy' });

/** One resting buy per trade event, like a quoting strategy. */
class OrderPerTrade implements Strategy {
  readonly name = 'order-per-trade';
  onSignal(): void {}
  onMarketEvent(ev: MarketEvent, ctx: StrategyContext): void {
    if (ev.type === 'trade') ctx.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 4_999_000, qty: 1, tif: 'GTC', source: 'test' });
  }
}

async function engineWith(tracing: EngineTracing | undefined) {
  const venue = new ScriptedVenue('v', [BTC]);
  const engine = new Engine({ clock: new ManualClock(1000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), strategy: new OrderPerTrade(), watchdog: false, venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
  engine.tracing = tracing;
  await engine.start();
  return { engine, venue };
}

function logger() {
  const warns: string[] = [];
  const infos: string[] = [];
  const log = { warn: (a: unknown, b?: string) => warns.push(String(b ?? a)), info: (a: unknown, b?: string) => infos.push(String(b ?? a)), error: () => {}, debug: () => {}, child: () => log } as unknown as Logger;
  return { log, warns, infos };
}

const byName = (spans: readonly ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describe('tracing spans (in-memory exporter)', () => {
  it('a sampled event: market_event > parse, book, detectors, strategy > order > route, risk, submit, ack', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = new OtelEngineTracing({ sampleRatio: 1, exporter, processor: 'simple' });
    const { venue } = await engineWith(tracing);
    venue.sink!.onMarketEvent(snapshot());
    venue.sink!.onMarketEvent(trade(1));
    // the venue acknowledges after the event's dispatch ended: ack is the one span that ends later
    expect(byName(exporter.getFinishedSpans(), 'ack')).toHaveLength(0);
    venue.report(venue.submitted[0]!, { kind: 'ack' });
    await tracing.provider.forceFlush(); // (the in-memory exporter's shutdown empties it)
    const spans = exporter.getFinishedSpans();

    const roots = byName(spans, 'market_event');
    expect(roots.map((r) => r.attributes['cwts.event_type'])).toEqual(['book_snapshot', 'trade']);
    const root = roots[1]!;
    expect(parentOf(root)).toBeUndefined();
    const inTrace = spans.filter((s) => s.spanContext().traceId === root.spanContext().traceId);
    const one = (name: string) => {
      const found = byName(inTrace, name);
      expect(found, name).toHaveLength(1);
      return found[0]!;
    };
    const id = (s: ReadableSpan) => s.spanContext().spanId;
    for (const stage of ['parse', 'book', 'detectors', 'strategy']) expect(parentOf(one(stage)), stage).toBe(id(root));
    const order = one('order');
    expect(parentOf(order)).toBe(id(one('strategy')));
    expect(order.attributes['cwts.client_order_id']).toBe(venue.submitted[0]!.clientOrderId);
    for (const stage of ['route', 'risk', 'submit', 'ack']) expect(parentOf(one(stage)), stage).toBe(id(order));
    expect(one('ack').attributes['cwts.report']).toBe('ack');
    // stages in order, inside their parent's time
    const t = (s: ReadableSpan) => BigInt(s.startTime[0]) * 1_000_000_000n + BigInt(s.startTime[1]);
    const e = (s: ReadableSpan) => BigInt(s.endTime[0]) * 1_000_000_000n + BigInt(s.endTime[1]);
    expect(t(one('book'))).toBeLessThanOrEqual(t(one('detectors')));
    expect(t(one('detectors'))).toBeLessThanOrEqual(t(one('strategy')));
    expect(e(one('submit'))).toBeLessThanOrEqual(t(one('ack')));
    expect(e(root)).toBeGreaterThanOrEqual(e(one('strategy')));
  });

  it('an order refused before it is sent ends with an error status and no ack', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = new OtelEngineTracing({ sampleRatio: 1, exporter, processor: 'simple' });
    const { venue } = await engineWith(tracing);
    venue.sink!.onMarketEvent(trade(1)); // no snapshot yet: BOOK_NOT_SYNCED
    await tracing.provider.forceFlush(); // (the in-memory exporter's shutdown empties it)
    const [order] = byName(exporter.getFinishedSpans(), 'order');
    expect(order!.status.code).toBe(2); // ERROR
    expect(byName(exporter.getFinishedSpans(), 'submit')).toHaveLength(0);
    expect(venue.submitted).toHaveLength(0);
  });

  it('samples one event in round(1 / ratio), counted, not random', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = new OtelEngineTracing({ sampleRatio: 0.1, exporter, processor: 'simple' });
    const { venue } = await engineWith(tracing);
    venue.sink!.onMarketEvent(snapshot());
    for (let i = 0; i < 99; i++) venue.sink!.onMarketEvent(trade(i));
    await tracing.provider.forceFlush(); // (the in-memory exporter's shutdown empties it)
    expect(byName(exporter.getFinishedSpans(), 'market_event')).toHaveLength(10);
    expect(tracing.traced).toBe(10);
  });

  it('startup, reconciliation and a resync are spans of their own', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = new OtelEngineTracing({ sampleRatio: 1, exporter, processor: 'simple' });
    tracing.beginStartup();
    const { venue, engine } = await engineWith(tracing);
    tracing.endStartup();
    venue.sink!.onMarketEvent(snapshot());
    venue.sink!.onMarketEvent({ type: 'book_delta', exchange: 'v', symbol: 'BTCUSDT', ts: 2, recvTs: Date.now(), firstSeq: 13, seq: 14, bids: [], asks: [] });
    expect(engine.books.get('v', 'BTCUSDT')!.state).toBe('resyncing');
    venue.sink!.onMarketEvent({ ...snapshot(20), reason: 'resync' });
    await tracing.provider.forceFlush(); // (the in-memory exporter's shutdown empties it)
    const spans = exporter.getFinishedSpans();
    const [startup] = byName(spans, 'startup');
    for (const phase of ['engine_start', 'reconcile']) expect(parentOf(byName(spans, phase)[0]!), phase).toBe(startup!.spanContext().spanId);
    const resyncs = byName(spans, 'resync');
    expect(resyncs).toHaveLength(1);
    expect(resyncs[0]!.attributes).toMatchObject({ 'cwts.exchange': 'v', 'cwts.symbol': 'BTCUSDT', 'cwts.state': 'resyncing' });
    expect(String(resyncs[0]!.attributes['cwts.reason'])).toMatch(/sequence_gap/);
  });
});

describe('tracing off: nothing on the hot path', () => {
  it('enable_tracing = false never loads OpenTelemetry', async () => {
    const load = vi.fn(async () => import('./otel.js'));
    expect(await startTracing({ enabled: false, serviceName: 'x' }, silentLogger(), load)).toBeUndefined();
    expect(load).not.toHaveBeenCalled();
  });

  it('an engine without tracing makes no hook call and no span over 1000 events; an unsampled event makes none either', async () => {
    // Every hook and every span start, counted on the prototypes: whatever instance would be used.
    const hooks = ['eventStart', 'mark', 'sent', 'eventEnd', 'report', 'phase', 'bookState'] as const;
    const hookSpies = hooks.map((h) => vi.spyOn(OtelEngineTracing.prototype, h));
    const probe = new OtelEngineTracing({ sampleRatio: 0.001, exporter: new InMemorySpanExporter(), processor: 'simple' });
    const tracerProto = Object.getPrototypeOf(probe.provider.getTracer('@cwts/core'));
    const startSpan = vi.spyOn(tracerProto, 'startSpan');

    const off = await engineWith(undefined);
    off.venue.sink!.onMarketEvent(snapshot());
    for (let i = 0; i < 1000; i++) off.venue.sink!.onMarketEvent(trade(i));
    for (const o of off.venue.submitted) off.venue.report(o, { kind: 'ack' });
    expect(off.venue.submitted).toHaveLength(1000);
    expect(hookSpies.reduce((n, s) => n + s.mock.calls.length, 0)).toBe(0);
    expect(startSpan).not.toHaveBeenCalled();

    // On, 1 in 1000 sampled: 999 events go through the hooks and build nothing.
    const on = await engineWith(probe);
    startSpan.mockClear();
    on.venue.sink!.onMarketEvent(snapshot());
    for (let i = 0; i < 998; i++) on.venue.sink!.onMarketEvent(trade(i));
    expect(startSpan).not.toHaveBeenCalled();
    on.venue.sink!.onMarketEvent(trade(999)); // the 1000th event
    expect(startSpan.mock.calls.map((c) => c[0])).toEqual(expect.arrayContaining(['market_event', 'book', 'detectors', 'strategy', 'order', 'route', 'risk', 'submit']));
    await probe.shutdown();
    vi.restoreAllMocks();
  });
});

describe('tracing over OTLP/HTTP', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
  });

  it('sends the spans to a collector on 127.0.0.1 as OTLP JSON, with their parents', async () => {
    const received: { name: string; spanId: string; parentSpanId?: string }[] = [];
    let paths = new Set<string>();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        paths.add(`${req.method} ${req.url} ${req.headers['content-type']}`);
        const doc = JSON.parse(body) as { resourceSpans: { resource: unknown; scopeSpans: { spans: { name: string; spanId: string; parentSpanId?: string }[] }[] }[] };
        for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) received.push({ name: s.name, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const { log, warns } = logger();
    const tracing = (await startTracing({ enabled: true, endpoint: `http://127.0.0.1:${port}`, sampleRatio: 1, serviceName: 'cwts-test' }, log))!;
    const { venue } = await engineWith(tracing);
    venue.sink!.onMarketEvent(snapshot());
    venue.sink!.onMarketEvent(trade(1));
    venue.report(venue.submitted[0]!, { kind: 'ack' });
    await tracing.shutdown();
    expect([...paths]).toEqual(['POST /v1/traces application/json']);
    const order = received.find((s) => s.name === 'order')!;
    const strategy = received.find((s) => s.spanId === order.parentSpanId)!;
    expect(strategy.name).toBe('strategy');
    expect(received.find((s) => s.spanId === strategy.parentSpanId)!.name).toBe('market_event');
    expect(received.filter((s) => s.parentSpanId === order.spanId).map((s) => s.name).sort()).toEqual(['ack', 'risk', 'route', 'submit']);
    expect(warns).toEqual([]);
    paths = new Set();
  });

  it('with no collector: one warning, spans dropped, nothing thrown, shutdown bounded', async () => {
    // a port that was just free: nothing listens there
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const { log, warns } = logger();
    const tracing = new OtelEngineTracing({ sampleRatio: 1, endpoint: `http://127.0.0.1:${port}`, logger: log });
    const { venue } = await engineWith(tracing);
    venue.sink!.onMarketEvent(snapshot());
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 20; i++) venue.sink!.onMarketEvent(trade(i));
      await tracing.provider.forceFlush().catch(() => {}); // the export failure, reported through the warning
    }
    const t0 = Date.now();
    await tracing.shutdown();
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatch(/tracing: cannot export spans to http:\/\/127\.0\.0\.1:\d+\/v1\/traces .*only warning/);
    expect(tracing.failedSpans).toBeGreaterThan(0);
  }, 30_000);
});

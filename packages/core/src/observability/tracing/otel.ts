/**
 * The OpenTelemetry side of tracing, loaded only when `[monitoring] enable_tracing = true`
 * (start.ts imports it lazily; nothing else may import it, so the root entry and the engine stay
 * free of the SDK). The hot path records a handful of performance.now() marks for the sampled
 * event only; its spans are built when its dispatch ends, with explicit start and end times.
 * Structure (docs/operations.md, "Tracing"):
 *
 *   market_event
 *   ├── parse                adapter receive timestamp -> engine dispatch
 *   ├── book                 book update, paper matching, recorder, risk marks
 *   ├── detectors
 *   │   └── order ...        orders sent while a detector's signal reached the strategy
 *   └── strategy
 *       └── order            one per submit()
 *           ├── route, risk, submit
 *           └── ack          submit -> the venue's first report (ends after the event)
 *
 *   startup ── engine_start, reconcile      resync (one per book resynchronisation)
 */
import { context, SpanStatusCode, trace, type Context, type HrTime, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, type ReadableSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { MarketEvent } from '../../domain/events.js';
import type { ExecutionReport } from '../../domain/orders.js';
import type { Logger } from '../logger.js';
import type { EngineTracing, TraceMark, TracePhase } from './hooks.js';

export interface OtelTracingOptions {
  /** 0 < ratio <= 1: every round(1 / ratio)-th market event is traced. */
  sampleRatio: number;
  /** OTLP/HTTP base URL; spans are POSTed to `<endpoint>/v1/traces`. Ignored with `exporter`. */
  endpoint?: string;
  /** Another exporter (tests: InMemorySpanExporter). */
  exporter?: SpanExporter;
  /** "simple" exports each span at its end (tests); default "batch" (bounded queue). */
  processor?: 'simple' | 'batch';
  serviceName?: string;
  logger?: Logger;
}

/** Bounds: what is kept while a collector is slow or absent (then spans are dropped, never queued without limit). */
const MAX_QUEUED_SPANS = 4096;
const MAX_PENDING_ACKS = 1024;
const PENDING_ACK_MAX_AGE_MS = 60_000;
const EXPORT_TIMEOUT_MS = 3000;

/** Stage marks of one sampled event, and its orders. */
interface OrderMarks {
  /** Index of the event stage the order was sent in (0 book, 1 detectors, 2 strategy). */
  stage: number;
  tOrder: number;
  tRoute: number;
  tRisk: number;
  tSent: number;
  clientOrderId: string | undefined;
}

/**
 * Reports the first failed export as one warning (the collector is down or unreachable); later
 * failures only count. A success after failures says so once, at info.
 */
class WarnOnceExporter implements SpanExporter {
  failedSpans = 0;
  private warned = false;
  private failing = false;
  constructor(
    private readonly inner: SpanExporter,
    private readonly where: string,
    private readonly logger: Logger | undefined,
  ) {}
  export(spans: ReadableSpan[], done: (result: { code: number; error?: Error }) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code !== 0) {
        this.failedSpans += spans.length;
        if (!this.warned) {
          this.warned = true;
          this.logger?.warn({ endpoint: this.where, err: result.error?.message }, `tracing: cannot export spans to ${this.where} (${result.error?.message ?? 'export failed'}); spans are dropped until a collector answers, and this is the only warning`);
        }
        this.failing = true;
      } else if (this.failing) {
        this.failing = false;
        this.logger?.info({ endpoint: this.where, dropped: this.failedSpans }, `tracing: exporting to ${this.where} again (${this.failedSpans} spans dropped so far)`);
      }
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

const ORIGIN_S = Math.floor(performance.timeOrigin / 1000);
const ORIGIN_REM_MS = performance.timeOrigin - ORIGIN_S * 1000;

/**
 * performance.now() milliseconds as an epoch HrTime, from one fixed origin. (A number given to
 * the SDK is re-anchored per span on Date.now(), whose millisecond steps would reorder stages
 * that are microseconds apart.)
 */
export function perfToHrTime(ms: number): HrTime {
  const rem = ORIGIN_REM_MS + ms;
  const whole = Math.floor(rem / 1000);
  return [ORIGIN_S + whole, Math.round((rem - whole * 1000) * 1e6)];
}

export class OtelEngineTracing implements EngineTracing {
  readonly provider: BasicTracerProvider;
  private readonly tracer: Tracer;
  private readonly every: number;
  private readonly warnOnce: WarnOnceExporter | undefined;
  private count = 0;
  // ---- the sampled event in flight (at most one: dispatch is synchronous) ----
  private sampled = false;
  private ev: MarketEvent | undefined;
  private t0 = 0;
  /** Wall-clock offset: performance.now() + offset = epoch ms (for the parse span). */
  private readonly epochOffset = performance.timeOrigin;
  private readonly stageEnd = new Float64Array(2);
  private stageIdx = 0;
  private orders: OrderMarks[] = [];
  private current: OrderMarks | undefined;
  // ---- later ----
  private readonly pendingAcks = new Map<string, { ctx: Context; tSent: number; wall: number }>();
  private readonly resyncs = new Map<string, Span>();
  private startupSpan: Span | undefined;
  /** Sampled events traced (tests and the shutdown log line). */
  traced = 0;
  droppedAcks = 0;

  constructor(private readonly o: OtelTracingOptions) {
    if (!(o.sampleRatio > 0 && o.sampleRatio <= 1)) throw new Error(`tracing sample ratio must be in (0, 1], got ${o.sampleRatio}`);
    this.every = Math.max(1, Math.round(1 / o.sampleRatio));
    let exporter = o.exporter;
    if (!exporter) {
      const url = `${(o.endpoint ?? 'http://127.0.0.1:4318').replace(/\/+$/, '')}/v1/traces`;
      this.warnOnce = new WarnOnceExporter(new OTLPTraceExporter({ url, timeoutMillis: EXPORT_TIMEOUT_MS }), url, o.logger);
      exporter = this.warnOnce;
    }
    const processor: SpanProcessor =
      o.processor === 'simple'
        ? new SimpleSpanProcessor(exporter)
        : new BatchSpanProcessor(exporter, { maxQueueSize: MAX_QUEUED_SPANS, maxExportBatchSize: 512, scheduledDelayMillis: 1000, exportTimeoutMillis: EXPORT_TIMEOUT_MS });
    this.provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': o.serviceName ?? 'cwts-ultra' }), spanProcessors: [processor] });
    this.tracer = this.provider.getTracer('@cwts/core');
  }

  // ---- the hot path ----------------------------------------------------------------------------

  eventStart(ev: MarketEvent, t0: number): void {
    if (++this.count < this.every) return;
    this.count = 0;
    this.sampled = true;
    this.ev = ev;
    this.t0 = t0;
    this.stageIdx = 0;
    this.orders = [];
    this.current = undefined;
  }

  mark(stage: TraceMark): void {
    if (!this.sampled) return;
    const now = performance.now();
    switch (stage) {
      case 'book':
        this.stageEnd[0] = now;
        this.stageIdx = 1;
        break;
      case 'detectors':
        this.stageEnd[1] = now;
        this.stageIdx = 2;
        break;
      case 'order':
        this.current = { stage: this.stageIdx, tOrder: now, tRoute: 0, tRisk: 0, tSent: 0, clientOrderId: undefined };
        this.orders.push(this.current);
        break;
      case 'route':
        if (this.current) this.current.tRoute = now;
        break;
      case 'risk':
        if (this.current) this.current.tRisk = now;
        break;
    }
  }

  sent(clientOrderId: string): void {
    if (!this.sampled || !this.current) return;
    this.current.tSent = performance.now();
    this.current.clientOrderId = clientOrderId;
  }

  eventEnd(): void {
    if (!this.sampled) return;
    this.sampled = false;
    const tEnd = performance.now();
    const ev = this.ev!;
    this.ev = undefined;
    this.traced++;
    const attrs = { 'cwts.exchange': ev.exchange, 'cwts.symbol': ev.symbol, 'cwts.event_type': ev.type };
    // parse: from the adapter's receive timestamp (epoch ms, the engine's Clock) to dispatch.
    // Only when it is plausible: a replay or a lagging simulation stamps virtual times.
    const recvPerf = ev.recvTs - this.epochOffset;
    const withParse = recvPerf <= this.t0 && this.t0 - recvPerf < 60_000;
    const root = this.tracer.startSpan('market_event', { startTime: perfToHrTime(withParse ? recvPerf : this.t0), attributes: attrs }, context.active());
    const under = (s: Span) => trace.setSpan(context.active(), s);
    const rootCtx = under(root);
    const child = (name: string, start: number, end: number, parent: Context) => {
      const s = this.tracer.startSpan(name, { startTime: perfToHrTime(start) }, parent);
      s.end(perfToHrTime(Math.max(start, end)));
      return s;
    };
    if (withParse) child('parse', recvPerf, this.t0, rootCtx);
    const bookEnd = this.stageIdx >= 1 ? this.stageEnd[0]! : tEnd;
    const detEnd = this.stageIdx >= 2 ? this.stageEnd[1]! : tEnd;
    const stages: Span[] = [child('book', this.t0, bookEnd, rootCtx)];
    if (this.stageIdx >= 1) stages.push(this.tracer.startSpan('detectors', { startTime: perfToHrTime(bookEnd) }, rootCtx));
    if (this.stageIdx >= 2) stages.push(this.tracer.startSpan('strategy', { startTime: perfToHrTime(detEnd) }, rootCtx));
    for (const o of this.orders) {
      const parent = under(stages[Math.min(o.stage, stages.length - 1)]!);
      const end = o.tSent || o.tRisk || o.tRoute || tEnd;
      const order = this.tracer.startSpan('order', { startTime: perfToHrTime(o.tOrder), attributes: o.clientOrderId ? { 'cwts.client_order_id': o.clientOrderId } : {} }, parent);
      const octx = under(order);
      const tRoute = o.tRoute || o.tOrder;
      if (o.tRoute) child('route', o.tOrder, o.tRoute, octx);
      if (o.tRisk) child('risk', tRoute, o.tRisk, octx);
      if (o.tSent) {
        child('submit', o.tRisk || tRoute, o.tSent, octx);
        this.expectAck(o.clientOrderId!, octx, o.tSent);
      } else {
        order.setStatus({ code: SpanStatusCode.ERROR, message: o.tRisk ? 'not sent' : 'refused before it was sent (risk, book state or journal)' });
      }
      order.end(perfToHrTime(Math.max(o.tOrder, end)));
    }
    if (this.stageIdx >= 1) stages[1]!.end(perfToHrTime(detEnd));
    if (this.stageIdx >= 2) stages[2]!.end(perfToHrTime(tEnd));
    root.end(perfToHrTime(tEnd));
    this.orders = [];
    this.current = undefined;
  }

  private expectAck(clientOrderId: string, ctx: Context, tSent: number): void {
    const wall = Date.now();
    if (this.pendingAcks.size >= MAX_PENDING_ACKS) {
      // the oldest first (insertion order); an order that never got an answer is not kept forever
      for (const [id, p] of this.pendingAcks) {
        if (this.pendingAcks.size < MAX_PENDING_ACKS && wall - p.wall < PENDING_ACK_MAX_AGE_MS) break;
        this.pendingAcks.delete(id);
        this.droppedAcks++;
      }
    }
    this.pendingAcks.set(clientOrderId, { ctx, tSent, wall });
  }

  report(r: ExecutionReport): void {
    if (this.pendingAcks.size === 0) return;
    const p = this.pendingAcks.get(r.clientOrderId);
    if (!p) return;
    this.pendingAcks.delete(r.clientOrderId);
    const s = this.tracer.startSpan('ack', { startTime: perfToHrTime(p.tSent), attributes: { 'cwts.report': r.kind } }, p.ctx);
    if (r.kind === 'rejected') s.setStatus({ code: SpanStatusCode.ERROR, message: `rejected by the venue: ${r.rejectReason ?? ''} ${r.text ?? ''}`.trim() });
    s.end(perfToHrTime(Math.max(p.tSent, performance.now())));
  }

  // ---- startup, reconciliation, resyncs -------------------------------------------------------

  /** Opens the `startup` span; phases opened until endStartup() are its children. */
  beginStartup(attributes: Record<string, string | number | boolean> = {}): void {
    this.startupSpan = this.tracer.startSpan('startup', { attributes }, context.active());
  }

  endStartup(error?: string): void {
    if (!this.startupSpan) return;
    if (error) this.startupSpan.setStatus({ code: SpanStatusCode.ERROR, message: error });
    this.startupSpan.end();
    this.startupSpan = undefined;
  }

  phase(name: string, attributes: Record<string, string | number | boolean> = {}): TracePhase {
    const parent = this.startupSpan ? trace.setSpan(context.active(), this.startupSpan) : context.active();
    const span = this.tracer.startSpan(name, { attributes }, parent);
    return {
      end: (a, error) => {
        if (a) span.setAttributes(a);
        if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
        span.end();
      },
    };
  }

  bookState(exchange: string, symbol: string, state: string, reason: string): void {
    const key = `${exchange}\u0000${symbol}`;
    const open = this.resyncs.get(key);
    if (state === 'synced') {
      if (!open) return;
      this.resyncs.delete(key);
      open.setAttribute('cwts.synced_by', reason);
      open.end();
      return;
    }
    if (state !== 'resyncing' && state !== 'crossed') return;
    if (open) return; // one span per resync, however many states it passes through
    this.resyncs.set(key, this.tracer.startSpan('resync', { attributes: { 'cwts.exchange': exchange, 'cwts.symbol': symbol, 'cwts.state': state, 'cwts.reason': reason } }, context.active()));
  }

  /** Ends open spans and flushes what is queued (bounded by the export timeout). */
  async shutdown(): Promise<void> {
    for (const s of this.resyncs.values()) s.end();
    this.resyncs.clear();
    this.endStartup();
    await Promise.race([this.provider.shutdown().catch(() => {}), new Promise((r) => setTimeout(r, EXPORT_TIMEOUT_MS + 500).unref())]);
  }

  /** Spans the exporter could not deliver (no collector). */
  get failedSpans(): number {
    return this.warnOnce?.failedSpans ?? 0;
  }
}

export function createOtelTracing(o: OtelTracingOptions): OtelEngineTracing {
  return new OtelEngineTracing(o);
}

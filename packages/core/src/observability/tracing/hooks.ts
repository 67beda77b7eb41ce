/**
 * What the engine calls when tracing is on (`[monitoring] enable_tracing = true`): types only,
 * so the engine imports nothing of OpenTelemetry. The implementation (otel.ts) is loaded lazily
 * by start.ts. When tracing is off the engine holds no tracer and each hook is one optional call
 * on `undefined`: no call, no allocation (tracing.test.ts counts it).
 */
import type { MarketEvent } from '../../domain/events.js';
import type { ExecutionReport } from '../../domain/orders.js';

/**
 * Marks on a sampled market event's path, in the order they happen; each ends the stage it
 * names. `order` opens an order (the strategy called submit), `route`, `risk` end its stages,
 * `sent` (with the client id) ends `submit` and opens `ack`, ended by the venue's first report.
 */
export type TraceMark = 'book' | 'detectors' | 'order' | 'route' | 'risk';

/** A span of startup, reconciliation or a resync (not the hot path: real span objects). */
export interface TracePhase {
  end(attributes?: Record<string, string | number | boolean>, error?: string): void;
}

export interface EngineTracing {
  /** A market event's dispatch starts at `t0` (performance.now()); decides whether it is sampled. */
  eventStart(ev: MarketEvent, t0: number): void;
  /** The end of a stage of the sampled event; nothing when the event is not sampled. */
  mark(stage: TraceMark): void;
  /** The order's bytes went to the execution client: ends `submit`, opens `ack`. */
  sent(clientOrderId: string): void;
  /** The end of the event's dispatch (after the strategy): the sampled event's spans are made here. */
  eventEnd(): void;
  /** Every execution report: the first one for a sampled order ends its `ack` span. */
  report(r: ExecutionReport): void;
  /** A span of its own (startup, engine_start, reconcile), a child of the open startup span. */
  phase(name: string, attributes?: Record<string, string | number | boolean>): TracePhase;
  /** Book state changes: a span from leaving synced to synced again (a resync). */
  bookState(exchange: string, symbol: string, state: string, reason: string): void;
}

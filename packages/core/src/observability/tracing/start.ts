/**
 * Starts tracing when `[monitoring] enable_tracing = true`, loading OpenTelemetry only then
 * (otel.ts is a dynamic import: `run` without tracing, and every other command, never load it).
 */
import type { Logger } from '../logger.js';
import type { OtelEngineTracing } from './otel.js';

export type { EngineTracing, TraceMark, TracePhase } from './hooks.js';

/** `[monitoring]` tracing_endpoint and tracing_sample_ratio when absent (config/tracing-schema.ts). */
export const TRACING_DEFAULTS = { endpoint: 'http://127.0.0.1:4318', sampleRatio: 0.001 } as const;

export interface TracingSettings {
  /** `[monitoring] enable_tracing`. */
  enabled: boolean;
  endpoint?: string;
  sampleRatio?: number;
  /** `service.name` of the spans: `[system] name`. */
  serviceName: string;
}

/** How the OpenTelemetry module is loaded (a test counts the loads). */
export type TracingLoader = () => Promise<typeof import('./otel.js')>;
const loadOtel: TracingLoader = () => import('./otel.js');

export async function startTracing(s: TracingSettings, logger: Logger, load: TracingLoader = loadOtel): Promise<OtelEngineTracing | undefined> {
  if (!s.enabled) return undefined;
  const endpoint = s.endpoint ?? TRACING_DEFAULTS.endpoint;
  const sampleRatio = s.sampleRatio ?? TRACING_DEFAULTS.sampleRatio;
  const { createOtelTracing } = await load();
  const tracing = createOtelTracing({ endpoint, sampleRatio, serviceName: s.serviceName, logger });
  logger.info({ endpoint, sampleRatio }, `tracing: OpenTelemetry spans to ${endpoint} (OTLP/HTTP), one market event in ${Math.round(1 / sampleRatio)} traced, plus startup, reconciliation and resyncs`);
  return tracing;
}

/**
 * `[monitoring]` keys of tracing (observability/tracing/): spread into the monitoring table.
 * Optional without zod defaults, so a config that does not trace reads as before; the defaults
 * (http://127.0.0.1:4318, 0.001) are TRACING_DEFAULTS in observability/tracing/start.ts,
 * applied where tracing starts.
 */
import { num, url } from './fields.js';

export const tracingKeys = {
  /** OTLP/HTTP collector, default http://127.0.0.1:4318 (spans are POSTed to /v1/traces). */
  tracing_endpoint: url(['http:', 'https:']).optional(),
  /** 0 < ratio <= 1: every round(1 / ratio)-th market event is traced; default 0.001. */
  tracing_sample_ratio: num({ min: 0, minExclusive: true, max: 1 }).optional(),
};

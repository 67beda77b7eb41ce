/**
 * Observability: structured logging (pino), Prometheus metrics (prom-client), the HTTP
 * endpoints for /metrics, /health and /status, and the snapshot hub behind the live page.
 * A subpath entry (`@cwts/core/observability`) so the root entry stays free of pino and
 * prom-client.
 */
export * from './logger.js';
export * from './metrics.js';
export * from './http.js';
export { MetricsSnapshot } from './metrics-snapshot.js';
export { OffThreadMetricsEndpoint } from './metrics-server.js';
export { BackpressureMonitor, type BackpressureGate, type BackpressureOptions } from './backpressure.js';
export { DeferredLog, type DeferredLine } from './deferred-log.js';
export { BucketHistogram, HistogramSeries, type BucketHistogramConfig, type HistogramSample, type HistogramSnapshot, type PromStringSample, type PromStringSnapshot } from './bucket-histogram.js';
export { SlidingWindow } from './sliding-window.js';
export { PercentileWindow, RateWindow } from './time-windows.js';
export { LogThrottle } from './log-throttle.js';
export { SnapshotHub, type SnapshotHubOptions } from './snapshot-hub.js';
export { RecentActivity, type RecentSignal, type RecentFill } from './recent-activity.js';
export { liveRoutes, LIVE_PAGE_HTML } from './live-page.js';
export { healthEndpointRoutes, type HealthEndpointRoutesOptions } from './health-endpoint.js';
export { loopbackHostPort } from './loopback-host.js';
export { createProgress, formatDuration, progressLine, type Progress, type ProgressOptions } from './progress.js';

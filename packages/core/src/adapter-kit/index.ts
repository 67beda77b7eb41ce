/**
 * Adapter kit: what every exchange adapter shares, written once. A WebSocket connection
 * manager, the book-sync state machine with per-venue sequencing rules, a weighted multi-bucket
 * rate limiter, allocation-free decimal and JSON readers for the hot path, error mapping to our
 * reject reasons, and timer bookkeeping for clean shutdown. See docs/writing-an-exchange-plugin.md.
 */
export * from './timers.js';
export * from './serial-reread.js';
export * from './backoff.js';
export * from './ws-connection.js';
export * from './rate-limiter.js';
export * from './fast-decimal.js';
export * from './json-cursor.js';
export * from './rfc3339.js';
export * from './mirror-book.js';
export * from './book-sync.js';
export * from './errors.js';
export * from './http-json.js';
export * from './feed-guard.js';
export * from './snapshot-schema.js';
export * from './fees.js';
export * from './frame-harness.js';
export * from './polled-execution.js';
export * from './prior-trades.js';
export * from './trading-status.js';
export * from './trading-status-market-data.js';
export * from './trade-check.js';

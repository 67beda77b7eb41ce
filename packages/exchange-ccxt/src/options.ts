import { type ConfigIssue } from '@cwts/core';
import { checkOptions } from '@cwts/core/config';
import { z } from 'zod';

/**
 * `[<venue>.options]` of @cwts/exchange-ccxt, validated with zod before anything connects.
 * `ccxt_id` names the ccxt exchange class and defaults to the venue's name, so
 * `[okx] plugin = "@cwts/exchange-ccxt"` alone means ccxt's "okx". It lives in the options table
 * because core's venue table accepts only its own keys. The venue table's `api_url` (WebSocket
 * root) and `rest_url` (REST root) re-root every ccxt endpoint (local servers).
 */
export const CcxtOptionsSchema = z
  .strictObject({
    ccxt_id: z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a ccxt exchange id such as "okx"').optional(),
    /** Levels per side kept in our book (ccxt's book may hold more; only the top is diffed). */
    book_depth: z.number().int().min(1).max(1000).default(50),
    /** Wait before re-calling a watch method after an error (doubles up to reconnect_max_ms). */
    reconnect_initial_ms: z.number().int().min(0).max(60_000).default(250),
    reconnect_max_ms: z.number().int().min(1).max(600_000).default(30_000),
    /** Orders per `order_limit_interval_ms`, enforced by us (ccxt's own limiter is switched off). */
    orders_per_interval: z.number().int().min(1).max(100_000).default(50),
    order_limit_interval_ms: z.number().int().min(1).max(86_400_000).default(10_000),
    /**
     * After the venue answers a request with its rate limit (HTTP 429, ccxt RateLimitExceeded):
     * orders wait this long after a create or cancel so answered, polls and lookups after a read.
     */
    rate_limit_pause_ms: z.number().int().min(1).max(600_000).default(1000),
    /** How often open orders are polled for fills and cancels (ccxt fetchOrder). */
    poll_interval_ms: z.number().int().min(50).max(600_000).default(1000),
    rest_timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
    /**
     * An order whose submit failed without the venue's refusal is looked up by client id (open
     * orders, then closed ones) every `poll_interval_ms` for this long before it is reported as
     * never having reached the venue: the request may still arrive after our timeout.
     */
    unknown_order_grace_ms: z.number().int().min(0).max(600_000).default(30_000),
    /** Re-read of the pairs' trading status (halted, post-only...) every this many ms; 0 never (docs/venues.md, "Pair trading status"). */
    instrument_refresh_ms: z.number().int().min(0).max(86_400_000).default(60_000),
    /** Passed to the ccxt exchange's `options` as is (venue-specific ccxt settings). */
    ccxt_options: z.record(z.string(), z.unknown()).default({}),
  })
  .refine((o) => o.reconnect_max_ms >= o.reconnect_initial_ms, { message: 'must be >= reconnect_initial_ms', path: ['reconnect_max_ms'] });

export type CcxtOptions = z.output<typeof CcxtOptionsSchema>;

export function validateCcxtOptions(options: unknown, path: string): ConfigIssue[] {
  if (options === undefined) return [];
  const r = checkOptions(CcxtOptionsSchema, options, path);
  return r.ok ? [] : r.issues;
}

export function resolveCcxtOptions(options: unknown, path = 'ccxt.options'): CcxtOptions {
  const r = checkOptions(CcxtOptionsSchema, options ?? {}, path);
  if (!r.ok) throw new Error(r.issues.map((p) => `${p.path}: ${p.message}`).join('; '));
  return r.value;
}

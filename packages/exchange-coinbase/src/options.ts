/**
 * `[coinbase.options]`: settings owned by this plugin, validated (zod) before anything connects.
 * Every key is optional; defaults follow Coinbase's documented Advanced Trade limits.
 */
import { z } from 'zod';
import { checkOptions } from '@cwts/core/config';
import { CoinbaseUserStreamOptionsSchema, DEFAULT_USER_STREAM_OPTIONS } from './user-options.js';

const ms = (lo: number, hi: number) => z.number().int().min(lo).max(hi);

export const CoinbaseOptionsSchema = z
  .object({
    /**
     * Heartbeats arrive every second; no frame at all for this long means a silent stall (or a
     * subscribe the venue never saw: it disconnects after 5 s without one): reconnect.
     */
    stale_after_ms: ms(1000, 600_000),
    /** Client ws ping interval (0: off; the heartbeats channel already proves liveness). */
    ping_interval_ms: ms(0, 600_000),
    pong_timeout_ms: ms(100, 600_000),
    reconnect_initial_ms: ms(0, 60_000),
    reconnect_max_ms: ms(1, 600_000),
    /** Resolve start() after this long even if the first connection is not up (books stay CONNECTING). */
    start_timeout_ms: ms(100, 600_000),
    /**
     * Resubscribe level2 for a product when no snapshot arrived this long after subscribing (a
     * lost or refused subscribe: heartbeats keep the connection up, so no reconnect would heal it).
     */
    snapshot_timeout_ms: ms(100, 600_000),
    /** Public REST requests per second (Coinbase: 10/s per IP on public endpoints). */
    rest_requests_per_second: z.number().int().min(1).max(10_000),
    rest_timeout_ms: ms(100, 120_000),
    /** Re-read of the pairs' trading status (halted, post-only...) every this many ms; 0 never (docs/venues.md, "Pair trading status"). */
    instrument_refresh_ms: ms(0, 86_400_000),
    /** JWT lifetime; Coinbase rejects tokens older than 2 minutes. */
    jwt_ttl_s: z.number().int().min(10).max(120),
    /** Order requests (create + cancel) per window; they also count against the private limit. */
    orders_per_interval: z.number().int().min(1).max(10_000),
    order_limit_interval_ms: ms(100, 600_000),
    /** Private REST requests per second (Coinbase Advanced Trade: 30/s per user). */
    private_requests_per_second: z.number().int().min(1).max(10_000),
    /** How often working orders are polled for fills and final states. */
    poll_interval_ms: ms(20, 600_000),
    /**
     * Pages of 250 orders (created since the order, less a clock margin) searched when an order
     * must be found by client_order_id (no venue filter exists); a list still going after them
     * is a failed lookup, asked again, never proof that the order is absent.
     */
    order_search_pages: z.number().int().min(1).max(100),
  })
  .extend(CoinbaseUserStreamOptionsSchema.shape)
  .partial()
  .strict();

export type CoinbaseOptions = Required<z.infer<typeof CoinbaseOptionsSchema>>;

export const DEFAULT_COINBASE_OPTIONS: Readonly<CoinbaseOptions> = Object.freeze({
  stale_after_ms: 5000,
  ping_interval_ms: 0,
  pong_timeout_ms: 10_000,
  reconnect_initial_ms: 250,
  reconnect_max_ms: 30_000,
  start_timeout_ms: 15_000,
  snapshot_timeout_ms: 10_000,
  rest_requests_per_second: 10,
  rest_timeout_ms: 10_000,
  instrument_refresh_ms: 60_000,
  jwt_ttl_s: 120,
  orders_per_interval: 15,
  order_limit_interval_ms: 1000,
  private_requests_per_second: 25,
  poll_interval_ms: 1000,
  order_search_pages: 4,
  ...DEFAULT_USER_STREAM_OPTIONS,
});

export const COINBASE_OPTION_KEYS = Object.keys(DEFAULT_COINBASE_OPTIONS) as (keyof CoinbaseOptions)[];

export function validateCoinbaseOptions(options: unknown, path: string): { path: string; message: string }[] {
  if (options === undefined) return [];
  const r = checkOptions(CoinbaseOptionsSchema, options, path);
  if (!r.ok) return [...r.issues];
  const out: { path: string; message: string }[] = [];
  const o = r.value;
  if (o.reconnect_initial_ms !== undefined && o.reconnect_max_ms !== undefined && o.reconnect_max_ms < o.reconnect_initial_ms) {
    out.push({ path: `${path}.reconnect_max_ms`, message: 'must be >= reconnect_initial_ms' });
  }
  return out;
}

export function resolveCoinbaseOptions(options: unknown, path = 'coinbase.options'): CoinbaseOptions {
  const problems = validateCoinbaseOptions(options, path);
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  return { ...DEFAULT_COINBASE_OPTIONS, ...(options as Partial<CoinbaseOptions> | undefined) };
}

import { z } from 'zod';
import { checkOptions } from '@cwts/core/config';

/**
 * `[bybit.options]`: settings owned by this plugin, validated (zod) before anything connects.
 * Every key is optional; defaults follow Bybit's v5 WebSocket docs.
 */
export const BybitOptionsSchema = z
  .object({
    /**
     * `orderbook.<depth>` topic. Push intervals (v5 docs): spot 1/50/200/1000 levels every
     * 10/20/200/200 ms; linear 1/50/200/1000 levels every 10/20/100/200 ms. Depth 1 re-sends its
     * snapshot (same `u`) when the book has not changed for 3 s.
     */
    depth: z.union([z.literal(1), z.literal(50), z.literal(200), z.literal(1000)]),
    /** Linear only: subscribe `allLiquidation.<symbol>` (liquidation events for the cascade detector). */
    liquidations: z.boolean(),
    /** Application-level `{"op":"ping"}` interval; Bybit recommends 20 s. */
    ping_interval_ms: z.number().int().min(10).max(600_000),
    /** Reconnect when a ping gets no pong within this long. */
    pong_timeout_ms: z.number().int().min(10).max(600_000),
    /** Silent-stall detection: reconnect when no frame at all (not even a pong) arrived for this long (0: off). */
    stale_after_ms: z.number().int().min(0).max(3_600_000),
    /** Resubscribe the book topic when its snapshot has not arrived this long after asking. */
    snapshot_timeout_ms: z.number().int().min(50).max(600_000),
    reconnect_initial_ms: z.number().int().min(0).max(60_000),
    reconnect_max_ms: z.number().int().min(1).max(600_000),
    /** Resolve start() after this long even if the first connection is not up (books stay CONNECTING). */
    start_timeout_ms: z.number().int().min(100).max(600_000),
    rest_timeout_ms: z.number().int().min(100).max(120_000),
    /** Re-read of the pairs' trading status (halted, post-only...) every this many ms; 0 never (docs/venues.md, "Pair trading status"). */
    instrument_refresh_ms: z.number().int().min(0).max(86_400_000),
    /** Trade ids remembered per symbol for de-duplication (linear ids are UUIDs, not ordered). */
    trade_id_memory: z.number().int().min(16).max(1_000_000),
    /** Order requests (create + cancel) per `order_limit_interval_ms`; Bybit allows 10-20/s per UID depending on category. */
    orders_per_interval: z.number().int().min(1).max(100_000),
    order_limit_interval_ms: z.number().int().min(1).max(86_400_000),
    /** X-BAPI-RECV-WINDOW of signed requests. */
    recv_window_ms: z.number().int().min(1).max(60_000),
    /** How often working orders are polled for fills and status (no private stream yet). */
    poll_interval_ms: z.number().int().min(20).max(600_000),
    /**
     * Reads per second, on our side: single-order reads (every poll of a working order) and the
     * order, execution and position lists. A restart with an empty journal reads two years of
     * executions in about 105 requests per symbol, which unthrottled would trip Bybit's per-UID
     * limit for the endpoint.
     */
    query_requests_per_second: z.number().int().min(1).max(1000),
  })
  .strict()
  .partial();

export type BybitOptions = Required<z.infer<typeof BybitOptionsSchema>>;

export const DEFAULT_BYBIT_OPTIONS: Readonly<BybitOptions> = Object.freeze({
  depth: 50,
  liquidations: true,
  ping_interval_ms: 20_000,
  pong_timeout_ms: 10_000,
  stale_after_ms: 45_000,
  snapshot_timeout_ms: 10_000,
  reconnect_initial_ms: 250,
  reconnect_max_ms: 30_000,
  start_timeout_ms: 15_000,
  rest_timeout_ms: 10_000,
  instrument_refresh_ms: 60_000,
  trade_id_memory: 4096,
  orders_per_interval: 10,
  order_limit_interval_ms: 1000,
  recv_window_ms: 5000,
  poll_interval_ms: 1000,
  query_requests_per_second: 5,
});

export const BYBIT_OPTION_KEYS = Object.keys(DEFAULT_BYBIT_OPTIONS) as (keyof BybitOptions)[];

export function validateBybitOptions(options: unknown, path: string): { path: string; message: string }[] {
  if (options === undefined) return [];
  const r = checkOptions(BybitOptionsSchema, options, path);
  const out = r.ok ? [] : [...r.issues];
  const o = (r.ok ? r.value : {}) as Partial<BybitOptions>;
  if (o.reconnect_initial_ms !== undefined && o.reconnect_max_ms !== undefined && o.reconnect_max_ms < o.reconnect_initial_ms) {
    out.push({ path: `${path}.reconnect_max_ms`, message: 'must be >= reconnect_initial_ms' });
  }
  return out;
}

export function resolveBybitOptions(options: unknown, path = 'bybit.options'): BybitOptions {
  const problems = validateBybitOptions(options, path);
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  return { ...DEFAULT_BYBIT_OPTIONS, ...(options as Partial<BybitOptions> | undefined) };
}

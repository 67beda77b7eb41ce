/**
 * `[binance.options]`: settings owned by this plugin, validated (zod) before anything connects.
 * Every key is optional; defaults follow Binance's documented limits.
 */
import { checkOptions } from '@cwts/core/config';
import { z } from 'zod';

const wholeNumber = (lo: number, hi: number) => z.int().gte(lo).lte(hi);
const wsUrl = z.string().regex(/^wss?:\/\/[^\s]+$/, { error: (iss) => `expected a ws:// or wss:// URL, got ${JSON.stringify(iss.input)}` });

export const BinanceOptionsSchema = z
  .strictObject({
    /** Trade stream: "trade" (every trade) or "aggTrade" (aggregated per taker order). */
    trade_stream: z.enum(['trade', 'aggTrade']).default('trade'),
    /** Diff-depth stream speed. */
    depth_speed: z.enum(['100ms', '1000ms']).default('100ms'),
    /** Combined streams (/stream?streams=..., default) or raw streams (/ws + SUBSCRIBE). */
    combined: z.boolean().default(true),
    /** Levels requested in each REST depth snapshot (1..5000). */
    snapshot_limit: wholeNumber(1, 5000).default(1000),
    /** Client ws ping interval; Binance pings us every 20 s and we always answer. */
    ping_interval_ms: wholeNumber(0, 600_000).default(30_000),
    pong_timeout_ms: wholeNumber(100, 600_000).default(10_000),
    /** Reconnect when no frame arrived for this long (0: off). */
    stale_after_ms: wholeNumber(0, 3_600_000).default(60_000),
    /** Binance drops a connection at 24 h; reconnect on purpose before that. */
    max_connection_lifetime_ms: wholeNumber(0, 24 * 3600_000).default(23 * 3600_000 + 50 * 60_000),
    reconnect_initial_ms: wholeNumber(0, 60_000).default(250),
    reconnect_max_ms: wholeNumber(1, 600_000).default(30_000),
    /** Resolve start() after this long even if the first connection is not up (books stay CONNECTING). */
    start_timeout_ms: wholeNumber(100, 600_000).default(15_000),
    /** REST request weight per minute per IP (exchangeInfo rateLimits REQUEST_WEIGHT). */
    request_weight_per_minute: wholeNumber(1, 1_000_000).default(6000),
    /** Orders per 10 s per account (exchangeInfo rateLimits ORDERS). */
    orders_per_10s: wholeNumber(1, 100_000).default(100),
    /** Orders per `order_limit_interval_ms` (overrides orders_per_10s' window; tests). */
    order_limit_interval_ms: wholeNumber(1, 86_400_000).default(10_000),
    recv_window_ms: wholeNumber(1, 60_000).default(5000),
    /**
     * How fills are learned. "stream" (spot): the user data stream on the WebSocket API
     * (userDataStream.subscribe.signature), with REST polling only while the stream is down;
     * "polling": REST only. USD-M futures cannot trade through this adapter yet (it speaks the spot
     * REST API only; docs/binance-execution.md), so a usdm venue reports that it cannot trade.
     */
    fills: z.enum(['stream', 'polling']).default('stream'),
    poll_interval_ms: wholeNumber(50, 600_000).default(1000),
    /**
     * While the user data stream is up, every working order is still read over REST this often
     * (0: never): an event the venue never delivered on a live connection is caught within it.
     */
    audit_interval_ms: wholeNumber(0, 3_600_000).default(15_000),
    /** The user data stream connection is replaced (new one subscribed before the old closes) this often; Binance ends a connection at 24 h. */
    user_stream_rotation_ms: wholeNumber(1000, 24 * 3600_000 - 60_000).default(23 * 3600_000),
    /** WebSocket API URL; default: Binance's (testnet's with testnet = true), or derived from rest_url (ws://host/ws-api/v3) when rest_url is set. */
    ws_api_url: wsUrl.optional(),
    /**
     * How orders and cancels go out. "ws" (spot): order.place / order.cancel on one persistent
     * WebSocket API connection, signed here and written to the socket inside submit(); REST
     * (through ccxt) only while that connection is down. "rest": every order through ccxt's
     * REST client. The default is "ws" by measurement (docs/exchanges/binance.md "Order entry").
     */
    order_entry: z.enum(['ws', 'rest']).default('ws'),
    /** An order request on the WebSocket API unanswered this long is resolved by asking the venue (REST, by client id). */
    order_entry_timeout_ms: wholeNumber(100, 120_000).default(5000),
    /** USD-M futures only: subscribe <symbol>@forceOrder for liquidations. */
    liquidations: z.boolean().default(true),
    rest_timeout_ms: wholeNumber(100, 120_000).default(10_000),
    /** Re-read of the pairs' trading status (halted, post-only...) every this many ms; 0 never (docs/venues.md, "Pair trading status"). */
    instrument_refresh_ms: wholeNumber(0, 86_400_000).default(60_000),
    /** Largest plausible advance of a depth update id in one frame; beyond it: rejected, resync (docs/reliability.md). */
    max_sequence_jump: wholeNumber(1, Number.MAX_SAFE_INTEGER).default(10_000_000),
    /** Largest plausible advance of a trade id between two trades; beyond it: rejected. */
    max_trade_id_jump: wholeNumber(1, Number.MAX_SAFE_INTEGER).default(10_000_000),
  })
  .refine((o) => o.reconnect_max_ms >= o.reconnect_initial_ms, { error: 'must be >= reconnect_initial_ms', path: ['reconnect_max_ms'] });

export type BinanceOptions = z.output<typeof BinanceOptionsSchema>;

export const DEFAULT_BINANCE_OPTIONS: Readonly<BinanceOptions> = Object.freeze(BinanceOptionsSchema.parse({}));

export const BINANCE_OPTION_KEYS = Object.keys(BinanceOptionsSchema.shape) as (keyof BinanceOptions)[];

/** Every problem of `[<venue>.options]`, each with its key path; empty when valid. */
export function validateBinanceOptions(options: unknown, path: string): { path: string; message: string }[] {
  if (options === undefined) return [];
  const r = checkOptions(BinanceOptionsSchema, options, path);
  return r.ok ? [] : r.issues;
}

export function resolveBinanceOptions(options: unknown, path = 'binance.options'): BinanceOptions {
  const problems = validateBinanceOptions(options, path);
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  return BinanceOptionsSchema.parse(options ?? {});
}

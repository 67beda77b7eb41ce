import { z } from 'zod';
import { checkOptions } from '@cwts/core/config';
import { KrakenExecutionsOptionsShape } from './executions-options.js';

/**
 * `[kraken.options]`: settings owned by this plugin, validated (zod) before anything connects.
 * Every key is optional; defaults follow Kraken's documented WebSocket v2 behaviour.
 */
export const KrakenOptionsSchema = z
  .object({
    /** Book depth subscribed per side (Kraken offers 10, 25, 100, 500, 1000); the checksum always covers the top 10. */
    book_depth: z.union([z.literal(10), z.literal(25), z.literal(100), z.literal(500), z.literal(1000)]).default(25),
    /** Protocol-level ws ping interval (0: off); Kraken also sends a heartbeat about every second. */
    ping_interval_ms: z.number().int().min(0).max(600_000).default(30_000),
    pong_timeout_ms: z.number().int().min(100).max(600_000).default(10_000),
    /**
     * Silent-stall detection: reconnect when no frame at all arrived for this long. Kraken sends
     * a heartbeat every ~1 s while subscribed, so a few seconds of silence means a dead feed.
     */
    stale_after_ms: z.number().int().min(0).max(3_600_000).default(10_000),
    reconnect_initial_ms: z.number().int().min(0).max(60_000).default(250),
    reconnect_max_ms: z.number().int().min(1).max(600_000).default(30_000),
    /** Resolve start() after this long even if the first connection is not up (books stay CONNECTING). */
    start_timeout_ms: z.number().int().min(100).max(600_000).default(15_000),
    /** Resubscribe the book when no snapshot arrived this long after asking for one. */
    snapshot_timeout_ms: z.number().int().min(100).max(600_000).default(10_000),
    /** How long loadInstruments waits for the `instrument` channel snapshot. */
    instrument_timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
    /**
     * Orders (AddOrder + CancelOrder) per window, all pairs together: a cap on what this process
     * sends. Kraken's own rule is the per-pair trading counter below, which a count cannot stand
     * in for (a cancel of a young order costs up to 8).
     */
    orders_per_interval: z.number().int().min(1).max(10_000).default(30),
    order_limit_interval_ms: z.number().int().min(100).max(600_000).default(30_000),
    /**
     * Kraken's per-pair trading counter (docs: "Spot Trading Limits"), modelled so no order or
     * cancel is sent that it would refuse: its threshold and decay per second for the account's
     * tier. Starter (the default): 60 and 1; Intermediate: 125 and 2.34; Pro: 180 and 3.75.
     */
    trading_counter_max: z.number().int().min(8).max(100_000).default(60),
    trading_counter_decay_per_s: z.number().positive().max(10_000).default(1),
    /**
     * Other private REST calls per window (order and trade queries, balances). Kraken's REST
     * counter (Starter: max 15, decaying 0.33/s; trade queries cost 2) allows 15 per 45 s.
     */
    private_requests_per_interval: z.number().int().min(1).max(10_000).default(15),
    private_interval_ms: z.number().int().min(100).max(600_000).default(45_000),
    /** How often working orders are polled for fills and final states (one QueryOrders call each time). */
    poll_interval_ms: z.number().int().min(20).max(600_000).default(3000),
    rest_timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
    /** Re-read of the pairs' trading status (halted, post-only...) every this many ms; 0 never (docs/venues.md, "Pair trading status"). */
    instrument_refresh_ms: z.number().int().min(0).max(86_400_000).default(60_000),
    /** AddOrder `deadline`: Kraken drops the request after this (2-60 s), so a lost answer is final after it. */
    order_deadline_ms: z.number().int().min(2000).max(60_000).default(10_000),
    ...KrakenExecutionsOptionsShape,
  })
  .strict()
  .refine((o) => o.reconnect_max_ms >= o.reconnect_initial_ms, { message: 'must be >= reconnect_initial_ms', path: ['reconnect_max_ms'] });

export type KrakenOptions = z.output<typeof KrakenOptionsSchema>;

export const DEFAULT_KRAKEN_OPTIONS: Readonly<KrakenOptions> = Object.freeze(KrakenOptionsSchema.parse({}));

export function validateKrakenOptions(options: unknown, path: string): { path: string; message: string }[] {
  if (options === undefined) return [];
  const r = checkOptions(KrakenOptionsSchema, options, path);
  return r.ok ? [] : r.issues;
}

export function resolveKrakenOptions(options: unknown, path = 'kraken.options'): KrakenOptions {
  const problems = validateKrakenOptions(options, path);
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  return KrakenOptionsSchema.parse(options ?? {});
}

/** The REST root for orders and account queries (`rest_url` overrides it: a test server). */
export const KRAKEN_REST_URL = 'https://api.kraken.com';

export function krakenRestRoot(restUrl: string | undefined): string {
  return (restUrl || KRAKEN_REST_URL).replace(/\/+$/, '').replace(/\/0$/, '');
}

/** The public market-data endpoint: v2 only. The v1 root (wss://ws.kraken.com) is mapped to /v2. */
export const KRAKEN_WS_URL = 'wss://ws.kraken.com/v2';

export function krakenWsUrl(apiUrl: string | undefined, info?: (msg: string) => void): string {
  if (apiUrl === undefined || apiUrl === '') return KRAKEN_WS_URL;
  const trimmed = apiUrl.replace(/\/+$/, '');
  if (/\/v2$/.test(trimmed)) return trimmed;
  if (/^wss?:\/\/[^/]+$/.test(trimmed)) {
    const v2 = `${trimmed}/v2`;
    info?.(`kraken: api_url ${apiUrl} is the WebSocket v1 endpoint; only v2 is implemented, using ${v2}`);
    return v2;
  }
  return trimmed;
}

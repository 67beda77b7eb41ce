/**
 * `[binance.options]`: settings owned by this plugin, validated before anything connects.
 * Every key is optional; defaults follow Binance's documented limits.
 */
export interface BinanceOptions {
  /** Trade stream: "trade" (every trade) or "aggTrade" (aggregated per taker order). */
  trade_stream: 'trade' | 'aggTrade';
  /** Diff-depth stream speed. */
  depth_speed: '100ms' | '1000ms';
  /** Combined streams (/stream?streams=..., default) or raw streams (/ws + SUBSCRIBE). */
  combined: boolean;
  /** Levels requested in each REST depth snapshot (1..5000). */
  snapshot_limit: number;
  /** Client ws ping interval; Binance pings us every 20 s and we always answer. */
  ping_interval_ms: number;
  pong_timeout_ms: number;
  /** Reconnect when no frame arrived for this long (0: off). */
  stale_after_ms: number;
  /** Binance drops a connection at 24 h; reconnect on purpose before that. */
  max_connection_lifetime_ms: number;
  reconnect_initial_ms: number;
  reconnect_max_ms: number;
  /** Resolve start() after this long even if the first connection is not up (books stay CONNECTING). */
  start_timeout_ms: number;
  /** REST request weight per minute per IP (exchangeInfo rateLimits REQUEST_WEIGHT). */
  request_weight_per_minute: number;
  /** Orders per 10 s per account (exchangeInfo rateLimits ORDERS). */
  orders_per_10s: number;
  /** Orders per `order_limit_interval_ms` (overrides orders_per_10s' window; tests). */
  order_limit_interval_ms: number;
  recv_window_ms: number;
  /**
   * How fills are learned. "stream" (spot): the user data stream on the WebSocket API
   * (userDataStream.subscribe.signature), with REST polling only while the stream is down;
   * "polling": REST only. USD-M futures always poll (their listenKey stream is not implemented).
   */
  fills: 'stream' | 'polling';
  poll_interval_ms: number;
  /** The user data stream connection is replaced (new one subscribed before the old closes) this often; Binance ends a connection at 24 h. */
  user_stream_rotation_ms: number;
  /** WebSocket API URL; default: Binance's (testnet's with testnet = true), or derived from rest_url (ws://host/ws-api/v3) when rest_url is set. */
  ws_api_url?: string;
  /** USD-M futures only: subscribe <symbol>@forceOrder for liquidations. */
  liquidations: boolean;
  rest_timeout_ms: number;
  /** Largest plausible advance of a depth update id in one frame; beyond it: rejected, resync (docs/reliability.md). */
  max_sequence_jump: number;
  /** Largest plausible advance of a trade id between two trades; beyond it: rejected. */
  max_trade_id_jump: number;
}

export const DEFAULT_BINANCE_OPTIONS: Readonly<BinanceOptions> = Object.freeze({
  trade_stream: 'trade',
  depth_speed: '100ms',
  combined: true,
  snapshot_limit: 1000,
  ping_interval_ms: 30_000,
  pong_timeout_ms: 10_000,
  stale_after_ms: 60_000,
  max_connection_lifetime_ms: 23 * 3600_000 + 50 * 60_000,
  reconnect_initial_ms: 250,
  reconnect_max_ms: 30_000,
  start_timeout_ms: 15_000,
  request_weight_per_minute: 6000,
  orders_per_10s: 100,
  order_limit_interval_ms: 10_000,
  recv_window_ms: 5000,
  fills: 'stream',
  poll_interval_ms: 1000,
  user_stream_rotation_ms: 23 * 3600_000,
  liquidations: true,
  rest_timeout_ms: 10_000,
  max_sequence_jump: 10_000_000,
  max_trade_id_jump: 10_000_000,
});

type Check = (v: unknown) => string | undefined;
const int = (lo: number, hi: number): Check => (v) => (typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? undefined : `must be a whole number from ${lo} to ${hi}`);
const oneOf = (...xs: string[]): Check => (v) => (typeof v === 'string' && xs.includes(v) ? undefined : `must be one of ${xs.map((x) => JSON.stringify(x)).join(', ')}`);
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'must be true or false');

const CHECKS: Record<keyof BinanceOptions, Check> = {
  trade_stream: oneOf('trade', 'aggTrade'),
  depth_speed: oneOf('100ms', '1000ms'),
  combined: bool,
  snapshot_limit: int(1, 5000),
  ping_interval_ms: int(0, 600_000),
  pong_timeout_ms: int(100, 600_000),
  stale_after_ms: int(0, 3_600_000),
  max_connection_lifetime_ms: int(0, 24 * 3600_000),
  reconnect_initial_ms: int(0, 60_000),
  reconnect_max_ms: int(1, 600_000),
  start_timeout_ms: int(100, 600_000),
  request_weight_per_minute: int(1, 1_000_000),
  orders_per_10s: int(1, 100_000),
  order_limit_interval_ms: int(1, 86_400_000),
  recv_window_ms: int(1, 60_000),
  fills: oneOf('stream', 'polling'),
  poll_interval_ms: int(50, 600_000),
  user_stream_rotation_ms: int(1000, 24 * 3600_000 - 60_000),
  ws_api_url: (v) => (typeof v === 'string' && /^wss?:\/\/[^\s]+$/.test(v) ? undefined : 'must be a ws:// or wss:// URL'),
  liquidations: bool,
  rest_timeout_ms: int(100, 120_000),
  max_sequence_jump: int(1, Number.MAX_SAFE_INTEGER),
  max_trade_id_jump: int(1, Number.MAX_SAFE_INTEGER),
};

export const BINANCE_OPTION_KEYS = Object.keys(CHECKS) as (keyof BinanceOptions)[];

export function validateBinanceOptions(options: unknown, path: string): { path: string; message: string }[] {
  if (options === undefined) return [];
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return [{ path, message: 'must be a table' }];
  const out: { path: string; message: string }[] = [];
  for (const [k, v] of Object.entries(options)) {
    const check = CHECKS[k as keyof BinanceOptions];
    if (!check) {
      out.push({ path: `${path}.${k}`, message: `unknown key (known: ${BINANCE_OPTION_KEYS.join(', ')})` });
      continue;
    }
    const problem = check(v);
    if (problem) out.push({ path: `${path}.${k}`, message: problem });
  }
  const o = options as Partial<BinanceOptions>;
  if (o.reconnect_initial_ms !== undefined && o.reconnect_max_ms !== undefined && o.reconnect_max_ms < o.reconnect_initial_ms) {
    out.push({ path: `${path}.reconnect_max_ms`, message: 'must be >= reconnect_initial_ms' });
  }
  return out;
}

export function resolveBinanceOptions(options: unknown, path = 'binance.options'): BinanceOptions {
  const problems = validateBinanceOptions(options, path);
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  return { ...DEFAULT_BINANCE_OPTIONS, ...(options as Partial<BinanceOptions> | undefined) };
}

import { VenueErrorMap, mapCcxtErrorClass, redactCredentials, type MappedVenueError, type VenueErrorRule } from '@cwts/core/adapter-kit';

/**
 * Bybit v5 retCodes that say the pair itself takes no such order now (docs v5/error, "UTA" and
 * "Spot Trade" tables): VENUE_NOT_TRADING, so the adapter re-reads the pair's status at once
 * (refreshOnVenueRefusal). Not retryable: the same order would be refused again until the pair
 * reopens. Left out on purpose: 170159 and 170206 (market / stop-limit orders in the first minutes
 * after a listing: an order-type rule, the pair does trade) and 10027 / 170209 (account or region
 * bans, not the pair's status).
 */
const PAIR_NOT_TRADING: readonly VenueErrorRule[] = [
  // spot
  { code: 170151, reason: 'VENUE_NOT_TRADING', text: 'the pair is not open yet (pre-launch)' },
  { code: 170157, reason: 'VENUE_NOT_TRADING', text: 'the pair is not available for API trading' },
  { code: 170217, reason: 'VENUE_NOT_TRADING', text: 'the pair takes only post-only (LIMIT-MAKER) orders now' },
  // contracts
  { code: 110066, reason: 'VENUE_NOT_TRADING', text: 'trading is not allowed on this contract now' },
  { code: 110063, reason: 'VENUE_NOT_TRADING', text: 'settlement in progress' },
  { code: 110042, reason: 'VENUE_NOT_TRADING', text: 'pre-delivery: the contract is reduce-only' },
  { code: 110023, reason: 'VENUE_NOT_TRADING', text: 'the contract is reduce-only' },
  { code: 30228, reason: 'VENUE_NOT_TRADING', text: 'delisting: no new positions' },
  { code: 110137, reason: 'VENUE_NOT_TRADING', text: 'reduce-only window before settlement' },
  { code: 110103, reason: 'VENUE_NOT_TRADING', text: 'the contract takes only post-only orders now' },
  { code: 110095, reason: 'VENUE_NOT_TRADING', text: 'pre-market call auction: no orders' },
  { code: 110098, reason: 'VENUE_NOT_TRADING', text: 'pre-market call auction: GTC orders only' },
];

/** Bybit v5 retCodes (docs v5/error) -> our reject reasons. */
export function bybitErrorMap(venue: string): VenueErrorMap {
  return new VenueErrorMap(venue, [
    { code: 10003, reason: 'AUTH_FAILED', text: 'API key refused: check api_key' },
    { code: 10004, reason: 'AUTH_FAILED', text: 'the request signature was refused: check api_secret' },
    { code: 10005, reason: 'AUTH_FAILED', text: 'permission denied: check the API key permissions' },
    { code: 10010, reason: 'AUTH_FAILED', text: 'request IP not on the API key allow-list' },
    { code: 33004, reason: 'AUTH_FAILED', text: 'API key expired' },
    { code: 10002, reason: 'VENUE_ERROR', text: 'request time outside recv_window: check the host clock', retryable: true },
    { code: 10006, reason: 'RATE_LIMITED', text: 'too many requests; backing off', retryable: true },
    { code: 10018, reason: 'RATE_LIMITED', text: 'IP rate limit reached; backing off', retryable: true },
    // Read as a plain venue error it paused nothing: the next requests went straight into the
    // same protection
    { code: 10429, reason: 'RATE_LIMITED', text: 'system-level frequency protection; backing off', retryable: true },
    // The venue's own "I do not know": the request may have been carried out (an order placed, a
    // cancel done), so an order is asked for by its orderLinkId instead of being reported rejected.
    { code: 10000, reason: 'VENUE_ERROR', text: 'server timeout: outcome unknown', retryable: true, outcomeUnknown: true },
    { code: 10016, reason: 'VENUE_ERROR', text: 'venue internal error or service restarting: outcome unknown', retryable: true, outcomeUnknown: true },
    // The same on the spot engine (docs v5/error, "Spot Trade"). Read as refusals these would
    // report an order rejected, and stop following it, while it works at the venue.
    { code: 170001, reason: 'VENUE_ERROR', text: 'spot internal error: outcome unknown', retryable: true, outcomeUnknown: true },
    { code: 170007, reason: 'VENUE_ERROR', text: 'spot backend timeout: outcome unknown', retryable: true, outcomeUnknown: true },
    { code: 170032, reason: 'VENUE_ERROR', text: 'spot network error: outcome unknown', retryable: true, outcomeUnknown: true },
    { code: 170035, reason: 'VENUE_ERROR', text: 'submitted to the spot engine for processing: outcome unknown', retryable: true, outcomeUnknown: true },
    { code: 170146, reason: 'VENUE_ERROR', text: 'spot order creation timeout: outcome unknown', retryable: true, outcomeUnknown: true },
    { code: 170147, reason: 'VENUE_ERROR', text: 'spot order cancellation timeout: outcome unknown', retryable: true, outcomeUnknown: true },
    { code: 10001, reason: 'INVALID_ORDER' },
    { code: 170121, reason: 'INVALID_ORDER', text: 'unknown symbol' },
    { code: 110001, reason: 'UNKNOWN_ORDER' },
    { code: 170213, reason: 'UNKNOWN_ORDER' },
    { code: 110007, reason: 'INSUFFICIENT_BALANCE' },
    { code: 110004, reason: 'INSUFFICIENT_BALANCE' },
    { code: 110012, reason: 'INSUFFICIENT_BALANCE' },
    { code: 170131, reason: 'INSUFFICIENT_BALANCE' },
    { code: 170134, reason: 'OFF_GRID', text: 'price has too many decimals' },
    { code: 170137, reason: 'OFF_GRID', text: 'quantity has too many decimals' },
    { code: 170148, reason: 'OFF_GRID', text: 'market order amount has too many decimals' },
    // "Order quantity too large." (170135 in older pages of the docs, 170381/170382 now)
    { code: 170135, reason: 'INVALID_ORDER', text: 'quantity above the maximum' },
    { code: 170381, reason: 'INVALID_ORDER', text: 'quantity above the maximum' },
    { code: 170382, reason: 'INVALID_ORDER', text: 'quantity above the maximum' },
    { code: 170136, reason: 'INVALID_ORDER', text: 'quantity below the minimum' },
    { code: 170140, reason: 'MIN_NOTIONAL' },
    { code: 110094, reason: 'MIN_NOTIONAL' },
    { code: 110072, reason: 'DUPLICATE_ORDER' },
    { code: 170141, reason: 'DUPLICATE_ORDER' },
    { code: 170218, reason: 'POST_ONLY_WOULD_CROSS' },
    { code: 110003, reason: 'INVALID_ORDER', text: 'price outside the permitted range' },
    ...PAIR_NOT_TRADING,
  ]);
}

const CODE_RE = /"retCode"\s*:\s*(\d+)\s*,\s*"retMsg"\s*:\s*"((?:[^"\\]|\\.)*)"/;

/** Maps an error thrown by ccxt (its message carries Bybit's JSON body) or a raw body. */
export function mapBybitError(map: VenueErrorMap, err: unknown): MappedVenueError {
  const e = err as { name?: string; message?: string } | undefined;
  const text = redactCredentials(String(e?.message ?? err));
  const m = CODE_RE.exec(text);
  if (m) return map.map(Number(m[1]), m[2]!.replace(/\\"/g, '"'));
  return mapCcxtErrorClass(map.venue, e?.name ?? '', text);
}

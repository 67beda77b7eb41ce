import { VenueErrorMap, mapCcxtErrorClass, redactCredentials, type MappedVenueError } from '@cwts/core/adapter-kit';

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
    { code: 10016, reason: 'VENUE_ERROR', text: 'venue internal error', retryable: true },
    { code: 10001, reason: 'INVALID_ORDER' },
    { code: 170121, reason: 'INVALID_ORDER', text: 'unknown symbol' },
    { code: 110001, reason: 'UNKNOWN_ORDER' },
    { code: 170213, reason: 'UNKNOWN_ORDER' },
    { code: 110007, reason: 'INSUFFICIENT_BALANCE' },
    { code: 110004, reason: 'INSUFFICIENT_BALANCE' },
    { code: 110012, reason: 'INSUFFICIENT_BALANCE' },
    { code: 170131, reason: 'INSUFFICIENT_BALANCE' },
    { code: 170134, reason: 'OFF_GRID', text: 'price has too many decimals' },
    { code: 170135, reason: 'OFF_GRID', text: 'quantity has too many decimals' },
    { code: 170136, reason: 'INVALID_ORDER', text: 'quantity below the minimum' },
    { code: 170140, reason: 'MIN_NOTIONAL' },
    { code: 110094, reason: 'MIN_NOTIONAL' },
    { code: 110072, reason: 'DUPLICATE_ORDER' },
    { code: 170141, reason: 'DUPLICATE_ORDER' },
    { code: 170218, reason: 'POST_ONLY_WOULD_CROSS' },
    { code: 110003, reason: 'INVALID_ORDER', text: 'price outside the permitted range' },
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

import { VenueErrorMap, mapCcxtErrorClass, redactCredentials, type MappedVenueError } from '@cwts/core/adapter-kit';

/** Binance error codes (errors.md) -> our reject reasons. */
export function binanceErrorMap(venue: string): VenueErrorMap {
  return new VenueErrorMap(venue, [
    { code: -1022, reason: 'AUTH_FAILED', text: 'the request signature was refused: check api_secret' },
    { code: -2014, reason: 'AUTH_FAILED', text: 'API key format invalid: check api_key' },
    { code: -2015, reason: 'AUTH_FAILED', text: 'API key refused (key, IP allow-list or permissions)' },
    { code: -1002, reason: 'AUTH_FAILED', text: 'not authorized' },
    { code: -1021, reason: 'VENUE_ERROR', text: 'request timestamp outside recvWindow: check the host clock', retryable: true },
    { code: -1003, reason: 'RATE_LIMITED', text: 'request weight limit reached; backing off', retryable: true },
    { code: -1015, reason: 'RATE_LIMITED', text: 'order rate limit reached; backing off', retryable: true },
    { code: -1016, reason: 'VENUE_NOT_TRADING' },
    // "execution status unknown": not a refusal, the order may be working (asked for by client id)
    { code: -1006, reason: 'VENUE_ERROR', text: 'execution status unknown', outcomeUnknown: true },
    { code: -1007, reason: 'VENUE_ERROR', text: 'backend timeout; execution status unknown', outcomeUnknown: true },
    { code: -1013, message: /NOTIONAL/i, reason: 'MIN_NOTIONAL' },
    { code: -1013, message: /PRICE_FILTER|LOT_SIZE|tick|step/i, reason: 'OFF_GRID' },
    { code: -1013, reason: 'INVALID_ORDER' },
    { code: -1111, reason: 'OFF_GRID', text: 'too much precision' },
    { code: -1121, reason: 'INVALID_ORDER', text: 'unknown symbol' },
    { code: -2010, message: /insufficient balance/i, reason: 'INSUFFICIENT_BALANCE' },
    { code: -2010, message: /duplicate order/i, reason: 'DUPLICATE_ORDER' },
    { code: -2010, message: /market is closed/i, reason: 'VENUE_NOT_TRADING' },
    { code: -2010, message: /immediately match/i, reason: 'POST_ONLY_WOULD_CROSS' },
    { code: -2010, reason: 'INVALID_ORDER' },
    { code: -2011, message: /unknown order/i, reason: 'UNKNOWN_ORDER' },
    { code: -2011, reason: 'VENUE_ERROR' },
    { code: -2013, reason: 'UNKNOWN_ORDER' },
    ...[-1100, -1101, -1102, -1103, -1104, -1105, -1106, -1114, -1115, -1116, -1117, -1130].map((code) => ({ code, reason: 'INVALID_ORDER' as const })),
  ]);
}

const CODE_RE = /"code"\s*:\s*(-?\d+)\s*,\s*"msg"\s*:\s*"((?:[^"\\]|\\.)*)"/;

/** Maps an error thrown by ccxt (its message carries Binance's JSON body) or a raw body. */
export function mapBinanceError(map: VenueErrorMap, err: unknown): MappedVenueError {
  const e = err as { name?: string; message?: string } | undefined;
  const text = redactCredentials(String(e?.message ?? err));
  const m = CODE_RE.exec(text);
  if (m) return map.map(Number(m[1]), m[2]!.replace(/\\"/g, '"'));
  return mapCcxtErrorClass(map.venue, e?.name ?? '', text);
}

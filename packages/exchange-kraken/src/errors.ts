import { RateLimitExceededError, VenueErrorMap, mapCcxtErrorClass, redactCredentials, type MappedVenueError } from '@cwts/core/adapter-kit';

/**
 * Ours, not Kraken's: AssetPairs could not be read before an order, so nothing was sent (a refusal
 * that can be retried, where Kraken's own EService:Unavailable leaves the outcome unknown).
 */
export const PAIRS_UNAVAILABLE = 'ECwts:Pairs unavailable';

/** Kraken REST error strings (docs: "Spot REST API - Errors") -> our reject reasons. */
export function krakenErrorMap(venue: string): VenueErrorMap {
  return new VenueErrorMap(venue, [
    { code: 'EAPI:Invalid key', reason: 'AUTH_FAILED', text: 'API key refused: check api_key' },
    { code: 'EAPI:Invalid signature', reason: 'AUTH_FAILED', text: 'the request signature was refused: check api_secret' },
    { code: 'EGeneral:Permission denied', reason: 'AUTH_FAILED', text: 'permission denied: check the API key permissions' },
    { code: 'EAPI:Invalid nonce', reason: 'VENUE_ERROR', text: 'nonce not increasing: another client may share this key', retryable: true },
    { code: 'EAPI:Rate limit exceeded', reason: 'RATE_LIMITED', text: 'REST counter exceeded; backing off', retryable: true },
    { code: 'EOrder:Rate limit exceeded', reason: 'RATE_LIMITED', text: 'trading counter exceeded; backing off', retryable: true },
    { code: 'EGeneral:Too many requests', reason: 'RATE_LIMITED', retryable: true },
    { code: 'EGeneral:Temporary lockout', reason: 'RATE_LIMITED', retryable: true },
    // Kraken's side failed (ccxt: ExchangeNotAvailable): a request so answered may still have been
    // executed, so an AddOrder is looked up by cl_ord_id, not reported rejected
    { code: 'EService:Unavailable', reason: 'VENUE_ERROR', retryable: true, outcomeUnknown: true },
    { code: 'EService:Busy', reason: 'VENUE_ERROR', retryable: true, outcomeUnknown: true },
    { code: 'EGeneral:Internal error', reason: 'VENUE_ERROR', retryable: true, outcomeUnknown: true },
    { code: 'EDatabase:Internal error', reason: 'VENUE_ERROR', retryable: true, outcomeUnknown: true },
    { code: PAIRS_UNAVAILABLE, reason: 'VENUE_ERROR', retryable: true, text: "Kraken's pair list could not be read: nothing was sent" },
    { code: 'EService:Market in cancel_only mode', reason: 'VENUE_NOT_TRADING' },
    { code: 'EService:Market in post_only mode', reason: 'VENUE_NOT_TRADING' },
    { code: 'EOrder:Insufficient funds', reason: 'INSUFFICIENT_BALANCE' },
    { code: 'EOrder:Insufficient margin', reason: 'INSUFFICIENT_BALANCE' },
    { code: 'EOrder:Unknown order', reason: 'UNKNOWN_ORDER' },
    { code: 'EOrder:Invalid order', reason: 'UNKNOWN_ORDER' },
    { code: 'EOrder:Order minimum not met', reason: 'INVALID_ORDER', text: 'quantity below the pair minimum' },
    { code: 'EOrder:Cost minimum not met', reason: 'MIN_NOTIONAL' },
    { code: 'EOrder:Tick size check failed', reason: 'OFF_GRID' },
    { code: 'EOrder:Invalid price', reason: 'OFF_GRID' },
    { code: 'EOrder:Post only order', reason: 'POST_ONLY_WOULD_CROSS' },
    { code: 'EOrder:Duplicate cl_ord_id', reason: 'DUPLICATE_ORDER' },
    { code: 'EQuery:Unknown asset pair', reason: 'INVALID_ORDER', text: 'unknown pair' },
    { code: 'EGeneral:Invalid arguments', reason: 'INVALID_ORDER' },
  ]);
}

const ERROR_RE = /"error"\s*:\s*\[\s*"((?:[^"\\]|\\.)*)"/;

/** The first Kraken error string in a ccxt error message (which carries the JSON body). */
export function krakenErrorCode(text: string): string | undefined {
  return ERROR_RE.exec(text)?.[1];
}

/** Maps an error thrown by ccxt (its message carries Kraken's JSON body), or by our own REST limiter. */
export function mapKrakenError(map: VenueErrorMap, err: unknown): MappedVenueError {
  const e = err as { name?: string; message?: string } | undefined;
  const text = redactCredentials(String(e?.message ?? err));
  // Our REST limiter refused before anything was sent (closed at a stop; queries otherwise wait):
  // not the venue's rate limit, which pauses the order limiter, so not RATE_LIMITED
  if (err instanceof RateLimitExceededError) {
    const closed = err.refusal === 'closed';
    return { reason: closed ? 'SHUTTING_DOWN' : 'VENUE_ERROR', retryable: !closed, code: undefined, text: `${map.venue}: ${text} (nothing sent)` };
  }
  const code = krakenErrorCode(text);
  if (code !== undefined) {
    // "EGeneral:Invalid arguments:volume" and the like: the rule is the prefix, the detail stays in the text
    const base = /^(E[A-Za-z]+:[^:]+)/.exec(code)?.[1] ?? code;
    return map.map(base, code);
  }
  return mapCcxtErrorClass(map.venue, e?.name ?? '', text);
}

import { VenueErrorMap, mapCcxtErrorClass, redactCredentials, refusedByVenue, type MappedVenueError, type VenueErrorRule } from '@cwts/core/adapter-kit';

/**
 * Coinbase Advanced Trade error codes (create order `error_response.error` and
 * `preview_failure_reason`, cancel `failure_reason`, HTTP error bodies) -> our reject reasons.
 */
const COINBASE_ERROR_RULES: readonly VenueErrorRule[] = [
    // Coinbase's lowercase catch-all "unknown" also answers a lookup of an order it does not have
    // (ccxt's recorded body); before the generic "unknown" rule below, which it would otherwise hit
    { code: 'unknown', message: /order with this orderID was not found/i, reason: 'UNKNOWN_ORDER' },
    { code: 'INSUFFICIENT_FUND', reason: 'INSUFFICIENT_BALANCE' },
    { code: 'PREVIEW_INSUFFICIENT_FUND', reason: 'INSUFFICIENT_BALANCE' },
    { code: 'INVALID_LIMIT_PRICE_POST_ONLY', reason: 'POST_ONLY_WOULD_CROSS' },
    { code: 'INVALID_PRICE_PRECISION', reason: 'OFF_GRID', text: 'price has too many decimals' },
    { code: 'INVALID_SIZE_PRECISION', reason: 'OFF_GRID', text: 'quantity has too many decimals' },
    { code: 'PREVIEW_INVALID_BASE_SIZE_TOO_SMALL', reason: 'INVALID_ORDER', text: 'quantity below the minimum' },
    { code: 'PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL', reason: 'MIN_NOTIONAL' },
    { code: 'INVALID_LIMIT_PRICE', reason: 'INVALID_ORDER' },
    { code: 'INVALID_PRODUCT_ID', reason: 'INVALID_ORDER', text: 'unknown product' },
    { code: 'UNSUPPORTED_ORDER_CONFIGURATION', reason: 'INVALID_ORDER' },
    { code: 'INVALID_ARGUMENT', reason: 'INVALID_ORDER' },
    { code: 'ORDER_ENTRY_DISABLED', reason: 'VENUE_NOT_TRADING' },
    { code: 'PERMISSION_DENIED', reason: 'AUTH_FAILED', text: 'permission denied: check the CDP key permissions' },
    { code: 'UNAUTHORIZED', reason: 'AUTH_FAILED', text: 'JWT refused: check api_key (key name) and api_secret (EC private key)' },
    { code: 'rate_limit_exceeded', reason: 'RATE_LIMITED', text: 'too many requests; backing off', retryable: true },
    { code: 'RATE_LIMIT_EXCEEDED', reason: 'RATE_LIMITED', text: 'too many requests; backing off', retryable: true },
    { code: 'NOT_FOUND', reason: 'UNKNOWN_ORDER' },
    { code: 'UNKNOWN_CANCEL_ORDER', reason: 'UNKNOWN_ORDER' },
    { code: 'DUPLICATE_CANCEL_REQUEST', reason: 'VENUE_ERROR', text: 'a cancel is already pending' },
    { code: 'INVALID_CANCEL_REQUEST', reason: 'INVALID_ORDER' },
    { code: 'COMMANDER_REJECTED_CANCEL_ORDER', reason: 'VENUE_ERROR', retryable: true },
    // Coinbase's side failed (HTTP 5xx: ccxt's "internal_server_error", the gateway's gRPC status
    // names): Coinbase says to treat the request's outcome as unknown, so a create so answered is
    // searched for by client id, not reported rejected
    { code: 'internal_server_error', reason: 'VENUE_ERROR', retryable: true, outcomeUnknown: true },
    { code: 'INTERNAL', reason: 'VENUE_ERROR', retryable: true, outcomeUnknown: true },
    { code: 'UNAVAILABLE', reason: 'VENUE_ERROR', retryable: true, outcomeUnknown: true },
    { code: 'DEADLINE_EXCEEDED', reason: 'VENUE_ERROR', retryable: true, outcomeUnknown: true },
    { code: 'UNKNOWN', reason: 'VENUE_ERROR', retryable: true, outcomeUnknown: true },
    // the catch-all Coinbase writes on 400/404/429/5xx answers alike: it says nothing about
    // whether a create was executed
    { code: 'unknown', reason: 'VENUE_ERROR', retryable: true, outcomeUnknown: true },
];

/** The codes the table maps (coinbaseErrorCode prefers them). */
const MAPPED_CODES: ReadonlySet<string> = new Set(COINBASE_ERROR_RULES.map((r) => String(r.code)));

/** The error map of one Coinbase venue (`venue` names it in rejection texts). */
export function coinbaseErrorMap(venue: string): VenueErrorMap {
  return new VenueErrorMap(venue, COINBASE_ERROR_RULES);
}

const CODE_RE = /"(?:preview_failure_reason|error|failure_reason)"\s*:\s*"([A-Za-z_]+)"/g;

/**
 * The most specific Coinbase code in a ccxt error message (which carries the JSON body).
 * A create refusal often carries the error code and its preview twin side by side
 * (`INVALID_LIMIT_PRICE_POST_ONLY` beside `PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY`), and the
 * table knows only one of them: a code the table maps wins over one it does not, so the reason
 * is the specific one (POST_ONLY_WOULD_CROSS, OFF_GRID), never the VENUE_ERROR fallback. Among
 * codes alike in that, preview_failure_reason is the most precise, else the first code.
 */
export function coinbaseErrorCode(text: string): string | undefined {
  let best: string | undefined;
  let bestMapped = false;
  for (const m of text.matchAll(CODE_RE)) {
    const c = m[1]!;
    // "UNKNOWN_FAILURE_REASON"/"UNKNOWN_PREVIEW_FAILURE_REASON" say nothing; keep looking
    if (/^UNKNOWN_(PREVIEW_)?FAILURE_REASON$/.test(c)) continue;
    const mapped = MAPPED_CODES.has(c);
    if (best === undefined || (mapped && !bestMapped) || (mapped === bestMapped && /^PREVIEW_/.test(c))) {
      best = c;
      bestMapped = mapped;
    }
  }
  return best;
}

/** Maps an error thrown by ccxt (its message carries Coinbase's body) or by the driver. */
export function mapCoinbaseError(map: VenueErrorMap, err: unknown): MappedVenueError {
  const e = err as { name?: string; message?: string } | undefined;
  const text = redactCredentials(String(e?.message ?? err)).replace(/(Bearer\s+)[A-Za-z0-9._-]+/g, '$1[redacted]');
  // an answer that says success: false refused the request, whatever reason it gives (it is not
  // an unknown outcome, even with a server-side code); one without any Coinbase word, or with a
  // server-side code alone (an HTTP 5xx), may have been executed (refusedByVenue)
  const refused = /"success"\s*:\s*false/.test(text);
  const code = coinbaseErrorCode(text) ?? (refused ? 'UNKNOWN_FAILURE_REASON' : undefined);
  if (code !== undefined) {
    const msg = /"message"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(text)?.[1] || /"error_details"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(text)?.[1];
    const m = map.map(code, msg ? `${code}: ${msg}` : code);
    if (refused) delete m.outcomeUnknown;
    else if (!MAPPED_CODES.has(code)) {
      // A code the table does not know, outside a success:false answer, is no proof of a refusal:
      // Coinbase sends new and lowercase codes on 5xx answers too. A create so answered is looked
      // up by client id (at worst a few searches, then rejected after the JWT's lifetime) rather
      // than reported rejected while it may work at the venue. Only ccxt's own refusal class
      // (AuthenticationError for "invalid_token", ...) still ends it at once; its class also
      // names the reason better than the table's fallback.
      const byClass = mapCcxtErrorClass(map.venue, e?.name ?? '', text);
      m.reason = byClass.reason;
      m.retryable = byClass.retryable;
      if (!refusedByVenue(err, undefined)) m.outcomeUnknown = true;
    }
    return m;
  }
  return mapCcxtErrorClass(map.venue, e?.name ?? '', text);
}

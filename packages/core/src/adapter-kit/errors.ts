import { redactUrlCredentials } from '../config/url-credentials.js';
import type { RejectReason } from '../domain/orders.js';

/**
 * Venue error -> our reject reason, written as a table per venue. A rule matches a venue code
 * (number or string) and optionally a message pattern; the first match wins.
 */
export interface VenueErrorRule {
  code: number | string;
  /** Only when the venue's message matches (e.g. -2010 "insufficient balance"). */
  message?: RegExp;
  reason: RejectReason;
  /** Our explanation, shown beside the venue's text. */
  text?: string;
  /** Safe to retry the same request (rate limits, timeouts)? */
  retryable?: boolean;
  /**
   * The venue answered that it does not know whether the request was executed (Binance -1006 /
   * -1007, Bybit 10000, an internal error or "service unavailable"): not a refusal. An order so
   * answered may be working; the adapter asks the venue by client id (`refusedByVenue` is false).
   */
  outcomeUnknown?: boolean;
}

export interface MappedVenueError {
  reason: RejectReason;
  /** "<venue> <code>: <venue message> (<our explanation>)"; never contains credentials. */
  text: string;
  code: number | string | undefined;
  retryable: boolean;
  /** See `VenueErrorRule.outcomeUnknown`; absent means false. */
  outcomeUnknown?: boolean;
}

export class VenueErrorMap {
  constructor(
    readonly venue: string,
    private readonly rules: readonly VenueErrorRule[],
    private readonly fallback: RejectReason = 'VENUE_ERROR',
  ) {}

  map(code: number | string | undefined, message: unknown): MappedVenueError {
    // A hostile venue's message may be anything (a number, an object, null).
    const msg = redactCredentials(typeof message === 'string' ? message : describeMessage(message));
    for (const r of this.rules) {
      if (code === undefined || String(r.code) !== String(code)) continue;
      if (r.message && !r.message.test(msg)) continue;
      const text = `${this.venue} ${code}: ${msg}${r.text ? ` (${r.text})` : ''}`;
      return { reason: r.reason, code, retryable: r.retryable ?? false, text, ...(r.outcomeUnknown ? { outcomeUnknown: true } : {}) };
    }
    return { reason: this.fallback, code, retryable: false, text: `${this.venue}${code === undefined ? '' : ` ${code}`}: ${msg}` };
  }
}

/** A venue message that is not a string, as text; never throws (a BigInt, a cycle). */
function describeMessage(message: unknown): string {
  try {
    return JSON.stringify(message) ?? String(message);
  } catch {
    return Object.prototype.toString.call(message);
  }
}

/**
 * Query parameters that carry a key, a signature or a token: ours (signature, apiKey, listenKey)
 * and those ccxt's venues sign with in the query string (htx and bittrade: AccessKeyId; others:
 * api_key, apikey, access_key, access_id, key, token). Matched whole, case-insensitively.
 */
const CREDENTIAL_QUERY_PARAM = /([?&](?:signature|sign|apiKey|api_key|api-key|apikey|secret|apiSecret|api_secret|listenKey|AccessKeyId|access_?key(?:_?id)?|access_?id|access_token|token|key|passphrase)=)[^&\s"'#]+/gi;

/**
 * API-key headers and fields, as `name: value`, `"name":"value"` or `name=value`: Binance's
 * X-MBX-APIKEY and every `*-APIKEY` / `*-API-KEY` like it, `*-ACCESS-KEY` (OKX, Coinbase, Bitget),
 * htx's AccessKeyId, `api_key`, and secrets.
 */
const CREDENTIAL_FIELD = /((?:X-MBX-APIKEY|api[-_]?key|access[-_]?key(?:[-_]?id)?|secret)["']?\s*[:=]\s*["']?)[^"',\s}&]+/gi;

/**
 * Removes anything that looks like a credential from a message before it is logged or put in
 * a rejection: signature/apiKey/secret/AccessKeyId query parameters, API-key headers and
 * fields, and the user and password of a URL (a proxy's, in `rest_url`). A pattern scrubber: the
 * engine also masks the config's secret values by value (EngineOptions.redact).
 */
export function redactCredentials(text: string): string {
  return redactUrlCredentials(text.replace(CREDENTIAL_QUERY_PARAM, '$1[redacted]').replace(CREDENTIAL_FIELD, '$1[redacted]'));
}

/**
 * ccxt's error classes for a venue that answered and said no (ExchangeError's subclasses, and the
 * rate limits). Not ExchangeError itself: ccxt throws the base class for what it cannot class (an
 * unknown code, a venue's internal error such as Bybit 10016 "System error" or Coinbase
 * internal_server_error), after which an order may be working.
 */
const CCXT_REFUSAL_CLASS = /^(AuthenticationError|PermissionDenied|AccountNotEnabled|AccountSuspended|ArgumentsRequired|BadRequest|BadSymbol|OperationRejected|MarketClosed|InsufficientFunds|InvalidOrder|OrderNotFound|OrderImmediatelyFillable|OrderNotFillable|DuplicateOrderId|NotSupported|RateLimitExceeded|DDoSProtection)$/;

/**
 * Words in an error after which the request may or may not have reached the venue (ccxt's network
 * classes, Node's socket errors, fetch's failure).
 */
export const UNKNOWN_OUTCOME_ERROR = /RequestTimeout|NetworkError|ExchangeNotAvailable|ECONNRESET|ECONNREFUSED|ETIMEDOUT|socket hang up|timed out|fetch failed/i;

/**
 * Did the venue refuse the request? It did when its answer carried its own error code (`code`, as
 * the adapter's error map read it, or the mapped error itself) unless the venue said with that code
 * that it does not know the outcome (`MappedVenueError.outcomeUnknown`: -1007 "execution status
 * unknown", an internal error), or when ccxt classed its answer as a refusal and nothing in
 * the error speaks of a timeout or a failed connection. Anything else leaves the outcome unknown,
 * and an order may have been placed or a cancel done: a timeout, a dropped connection, ccxt's
 * generic ExchangeError without a code the adapter read, an answer ccxt could not read (BadResponse), or an error thrown while the answer was read (a TypeError in
 * a parser, "answered without an order id"). Every adapter decides "rejected or ask again" here,
 * so that one rule holds for all of them.
 */
export function refusedByVenue(err: unknown, code: string | number | Pick<MappedVenueError, 'code' | 'outcomeUnknown'> | undefined): boolean {
  if (code !== null && typeof code === 'object') {
    if (code.outcomeUnknown === true) return false;
    code = code.code;
  }
  if (code !== undefined) return true;
  if (err === null || typeof err !== 'object') return false;
  const e = err as { name?: unknown; message?: unknown; constructor?: { name?: unknown } };
  if (![e.name, e.constructor?.name].some((n) => typeof n === 'string' && CCXT_REFUSAL_CLASS.test(n))) return false;
  return !UNKNOWN_OUTCOME_ERROR.test(`${String(e.name ?? '')} ${String(e.message ?? '')}`);
}

/**
 * An error thrown by ccxt that carries no venue code we could read: mapped by ccxt's error class
 * name (`name`), with `text` (already redacted) kept as the venue's words. Shared by every
 * adapter whose orders go through ccxt.
 */
export function mapCcxtErrorClass(venue: string, name: string, text: string): MappedVenueError {
  const as = (reason: RejectReason, retryable = false): MappedVenueError => ({ reason, retryable, code: undefined, text: `${venue}: ${name ? `${name}: ` : ''}${text}` });
  if (/RateLimitExceeded|DDoSProtection/.test(name)) return as('RATE_LIMITED', true);
  if (/AuthenticationError|PermissionDenied/.test(name)) return as('AUTH_FAILED');
  if (/InsufficientFunds/.test(name)) return as('INSUFFICIENT_BALANCE');
  if (/OrderNotFound/.test(name)) return as('UNKNOWN_ORDER');
  if (/InvalidOrder|BadSymbol|BadRequest/.test(name)) return as('INVALID_ORDER');
  return as('VENUE_ERROR');
}

import { type RejectReason } from '@cwts/core';
import { redactCredentials } from '@cwts/core/adapter-kit';

/**
 * ccxt error classes -> our reject reasons. ccxt already maps each venue's codes to its unified
 * hierarchy (that is what this adapter buys), so the class decides; the text keeps the venue's
 * own body (e.g. Binance's {"code":-2011,...}) for the operator. Subclasses come before parents.
 */
const BY_CLASS: readonly [RegExp, RejectReason, boolean][] = [
  [/^(RateLimitExceeded|DDoSProtection)$/, 'RATE_LIMITED', true],
  [/^(AuthenticationError|PermissionDenied|AccountNotEnabled|AccountSuspended)$/, 'AUTH_FAILED', false],
  [/^InsufficientFunds$/, 'INSUFFICIENT_BALANCE', false],
  [/^OrderNotFound$/, 'UNKNOWN_ORDER', false],
  [/^DuplicateOrderId$/, 'DUPLICATE_ORDER', false],
  [/^OrderImmediatelyFillable$/, 'POST_ONLY_WOULD_CROSS', false],
  [/^OrderNotFillable$/, 'FOK_UNFILLABLE', false],
  [/^MarketClosed$/, 'VENUE_NOT_TRADING', false],
  [/^(InvalidOrder|BadSymbol|BadRequest|ArgumentsRequired|NotSupported)$/, 'INVALID_ORDER', false],
  [/^(ExchangeNotAvailable|OnMaintenance)$/, 'VENUE_NOT_TRADING', true],
  [/^(RequestTimeout|NetworkError)$/, 'VENUE_ERROR', true],
];

export interface MappedCcxtError {
  reason: RejectReason;
  text: string;
  retryable: boolean;
  /** The ccxt class name (e.g. "InsufficientFunds"). */
  ccxtClass: string;
}

export function mapCcxtError(venue: string, err: unknown): MappedCcxtError {
  const e = err as { constructor?: { name?: string }; name?: string; message?: string } | undefined;
  const cls = e?.constructor?.name && e.constructor.name !== 'Object' ? e.constructor.name : (e?.name ?? 'Error');
  const text = `${venue}: ${cls}: ${redactCredentials(String(e?.message ?? err))}`.slice(0, 500);
  for (const [re, reason, retryable] of BY_CLASS) if (re.test(cls)) return { reason, text, retryable, ccxtClass: cls };
  return { reason: 'VENUE_ERROR', text, retryable: false, ccxtClass: cls };
}

/**
 * An error from a ccxt read, as it is rethrown to the engine (reconciliation shows a failed
 * read's message on /health/ready and /status, and journals it): message and stack with
 * credentials masked (redactCredentials). ccxt puts the request URL in its errors, and venues
 * that sign in the query string (htx, bittrade: AccessKeyId) put the API key there; a proxy in
 * rest_url puts its password there. Masked in place, so the error keeps its class (callers tell
 * OrderNotFound or a rate limit by it). Runs only on a failure.
 */
export function redactCcxtError(err: unknown): unknown {
  if (typeof err === 'string') return redactCredentials(err);
  if (err === null || typeof err !== 'object') return err;
  const e = err as { message?: unknown; stack?: unknown };
  try {
    if (typeof e.message === 'string') e.message = redactCredentials(e.message);
    if (typeof e.stack === 'string') e.stack = redactCredentials(e.stack);
  } catch {
    // a frozen or odd error: rethrown as it is, and the engine's redactor masks what it shows
  }
  return err;
}

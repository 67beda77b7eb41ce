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
}

export interface MappedVenueError {
  reason: RejectReason;
  /** "<venue> <code>: <venue message> (<our explanation>)"; never contains credentials. */
  text: string;
  code: number | string | undefined;
  retryable: boolean;
}

export class VenueErrorMap {
  constructor(
    readonly venue: string,
    private readonly rules: readonly VenueErrorRule[],
    private readonly fallback: RejectReason = 'VENUE_ERROR',
  ) {}

  map(code: number | string | undefined, message: string): MappedVenueError {
    const msg = redactCredentials(message);
    for (const r of this.rules) {
      if (code === undefined || String(r.code) !== String(code)) continue;
      if (r.message && !r.message.test(msg)) continue;
      return { reason: r.reason, code, retryable: r.retryable ?? false, text: `${this.venue} ${code}: ${msg}${r.text ? ` (${r.text})` : ''}` };
    }
    return { reason: this.fallback, code, retryable: false, text: `${this.venue}${code === undefined ? '' : ` ${code}`}: ${msg}` };
  }
}

/**
 * Removes anything that looks like a credential from a message before it is logged or put in
 * a rejection: signature/apiKey/secret query parameters and API-key headers.
 */
export function redactCredentials(text: string): string {
  return text
    .replace(/([?&](?:signature|apiKey|api_key|secret|apiSecret|listenKey)=)[^&\s"']+/gi, '$1[redacted]')
    .replace(/((?:X-MBX-APIKEY|api-key|apikey|secret)["']?\s*[:=]\s*["']?)[^"',\s}]+/gi, '$1[redacted]');
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

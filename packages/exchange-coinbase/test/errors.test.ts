/**
 * Coinbase error mapping: each documented Advanced Trade code -> our reject reason, the code
 * read from ccxt's message (which carries the JSON body), ccxt's error class as the fallback,
 * and credentials never in the text.
 */
import { describe, expect, it } from 'vitest';
import { refusedByVenue } from '@cwts/core/adapter-kit';
import { coinbaseErrorCode, coinbaseErrorMap, mapCoinbaseError } from '../src/errors.js';

const map = coinbaseErrorMap('coinbase');
const ccxtError = (name: string, body: string) => Object.assign(new Error(`coinbase ${body}`), { name });

describe('Coinbase venue errors', () => {
  it.each([
    ['INSUFFICIENT_FUND', 'INSUFFICIENT_BALANCE', false],
    ['PREVIEW_INSUFFICIENT_FUND', 'INSUFFICIENT_BALANCE', false],
    ['INVALID_LIMIT_PRICE_POST_ONLY', 'POST_ONLY_WOULD_CROSS', false],
    ['INVALID_PRICE_PRECISION', 'OFF_GRID', false],
    ['INVALID_SIZE_PRECISION', 'OFF_GRID', false],
    ['PREVIEW_INVALID_BASE_SIZE_TOO_SMALL', 'INVALID_ORDER', false],
    ['PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL', 'MIN_NOTIONAL', false],
    ['INVALID_LIMIT_PRICE', 'INVALID_ORDER', false],
    ['INVALID_PRODUCT_ID', 'INVALID_ORDER', false],
    ['UNSUPPORTED_ORDER_CONFIGURATION', 'INVALID_ORDER', false],
    ['INVALID_ARGUMENT', 'INVALID_ORDER', false],
    ['ORDER_ENTRY_DISABLED', 'VENUE_NOT_TRADING', false],
    ['PERMISSION_DENIED', 'AUTH_FAILED', false],
    ['UNAUTHORIZED', 'AUTH_FAILED', false],
    ['rate_limit_exceeded', 'RATE_LIMITED', true],
    ['RATE_LIMIT_EXCEEDED', 'RATE_LIMITED', true],
    ['NOT_FOUND', 'UNKNOWN_ORDER', false],
    ['UNKNOWN_CANCEL_ORDER', 'UNKNOWN_ORDER', false],
    ['DUPLICATE_CANCEL_REQUEST', 'VENUE_ERROR', false],
    ['INVALID_CANCEL_REQUEST', 'INVALID_ORDER', false],
    ['COMMANDER_REJECTED_CANCEL_ORDER', 'VENUE_ERROR', true],
    ['internal_server_error', 'VENUE_ERROR', true],
    ['INTERNAL', 'VENUE_ERROR', true],
    ['UNAVAILABLE', 'VENUE_ERROR', true],
    ['DEADLINE_EXCEEDED', 'VENUE_ERROR', true],
    ['UNKNOWN', 'VENUE_ERROR', true],
    ['SOMETHING_NEW', 'VENUE_ERROR', false],
  ] as const)('%s -> %s (retryable %s)', (code, reason, retryable) => {
    const m = mapCoinbaseError(map, ccxtError('ExchangeError', `{"error":"${code}","message":"venue words"}`));
    expect(m).toMatchObject({ reason, retryable, code });
    expect(m.text).toMatch(new RegExp(`^coinbase ${code}: ${code}: venue words`));
  });

  it.each([
    '{"error":"internal_server_error","error_details":"Internal server error","message":"Internal server error"}',
    '{"error":"INTERNAL","code":13,"message":"internal error","details":[]}',
    '{"error":"UNAVAILABLE","code":14,"message":"service unavailable","details":[]}',
    '{"error":"DEADLINE_EXCEEDED","code":4,"message":"context deadline exceeded","details":[]}',
    '{"error":"UNKNOWN","code":2,"message":"unknown error","details":[]}',
  ])('a failure on Coinbase\'s side (%s) leaves the outcome unknown: a create so answered is searched for, not rejected', (body) => {
    const err = ccxtError('ExchangeError', body);
    const m = mapCoinbaseError(map, err);
    expect(m).toMatchObject({ reason: 'VENUE_ERROR', outcomeUnknown: true });
    expect(refusedByVenue(err, m)).toBe(false);
  });

  it('the lowercase catch-all "unknown" (seen on 400/404/429/5xx answers) leaves the outcome unknown', () => {
    const err = ccxtError('ExchangeError', '{"error":"unknown","error_details":"internal error","message":"internal error"}');
    const m = mapCoinbaseError(map, err);
    expect(m).toMatchObject({ reason: 'VENUE_ERROR', code: 'unknown', outcomeUnknown: true });
    expect(refusedByVenue(err, m)).toBe(false);
  });

  it("ccxt's recorded order-not-found answer (the catch-all \"unknown\" code) is UNKNOWN_ORDER, from message or error_details", () => {
    for (const body of [
      '{"error":"unknown","error_details":"order with this orderID was not found","message":"order with this orderID was not found"}',
      '{"error":"unknown","error_details":"order with this orderID was not found"}',
    ]) expect(mapCoinbaseError(map, ccxtError('ExchangeError', body)), body).toMatchObject({ reason: 'UNKNOWN_ORDER', code: 'unknown' });
  });

  it('a code the table does not map, without success:false, leaves the outcome unknown unless ccxt classed it a refusal', () => {
    const generic = ccxtError('ExchangeError', '{"error":"SOMETHING_NEW","message":"venue words"}');
    const m = mapCoinbaseError(map, generic);
    expect(m).toMatchObject({ reason: 'VENUE_ERROR', code: 'SOMETHING_NEW', outcomeUnknown: true });
    expect(refusedByVenue(generic, m)).toBe(false);
    // ccxt's own table classes "invalid_token" an AuthenticationError: a refusal, with its reason
    const auth = ccxtError('AuthenticationError', '{"error":"invalid_token","error_description":"The access token is invalid"}');
    const a = mapCoinbaseError(map, auth);
    expect(a).toMatchObject({ reason: 'AUTH_FAILED', code: 'invalid_token' });
    expect(a.outcomeUnknown).toBeUndefined();
    expect(refusedByVenue(auth, a)).toBe(true);
  });

  it('success: false is a refusal whatever code it carries, a server-side one too; a client error is a refusal', () => {
    for (const body of ['{"success":false,"failure_reason":"UNKNOWN_FAILURE_REASON","error_response":{"error":"INTERNAL","message":"x"}}', '{"error":"INVALID_ARGUMENT","message":"bad"}']) {
      const err = ccxtError('ExchangeError', body);
      const m = mapCoinbaseError(map, err);
      expect(m.outcomeUnknown, body).toBeUndefined();
      expect(refusedByVenue(err, m), body).toBe(true);
    }
  });

  it('prefers preview_failure_reason and skips the UNKNOWN_* placeholders', () => {
    expect(coinbaseErrorCode('{"success":false,"error_response":{"error":"UNKNOWN_FAILURE_REASON","preview_failure_reason":"PREVIEW_INSUFFICIENT_FUND"}}')).toBe('PREVIEW_INSUFFICIENT_FUND');
    expect(coinbaseErrorCode('{"error":"INVALID_ARGUMENT","preview_failure_reason":"UNKNOWN_PREVIEW_FAILURE_REASON"}')).toBe('INVALID_ARGUMENT');
    // a later non-preview code does not displace an earlier one
    expect(coinbaseErrorCode('{"failure_reason":"UNKNOWN_CANCEL_ORDER","error":"NOT_FOUND"}')).toBe('UNKNOWN_CANCEL_ORDER');
    expect(coinbaseErrorCode('{"error":"UNKNOWN_FAILURE_REASON"}')).toBeUndefined();
    expect(coinbaseErrorCode('socket hang up')).toBeUndefined();
    // success: false is a refusal even without a reason: mapped with a code, so the order is not
    // taken for one whose outcome is unknown; a success without an order id has no code
    const map = coinbaseErrorMap('coinbase');
    expect(mapCoinbaseError(map, new Error('coinbase {"success":false,"failure_reason":"UNKNOWN_FAILURE_REASON","order_id":""}'))).toMatchObject({ code: 'UNKNOWN_FAILURE_REASON', reason: 'VENUE_ERROR' });
    expect(mapCoinbaseError(map, new Error('coinbase {"success":true,"order_id":""}')).code).toBeUndefined();
  });

  it('a code without a message is the code alone', () => {
    expect(mapCoinbaseError(map, new Error('coinbase {"failure_reason":"UNKNOWN_CANCEL_ORDER"}'))).toMatchObject({ reason: 'UNKNOWN_ORDER', text: 'coinbase UNKNOWN_CANCEL_ORDER: UNKNOWN_CANCEL_ORDER' });
  });

  it.each([
    ['RateLimitExceeded', 'RATE_LIMITED', true],
    ['DDoSProtection', 'RATE_LIMITED', true],
    ['AuthenticationError', 'AUTH_FAILED', false],
    ['PermissionDenied', 'AUTH_FAILED', false],
    ['InsufficientFunds', 'INSUFFICIENT_BALANCE', false],
    ['OrderNotFound', 'UNKNOWN_ORDER', false],
    ['InvalidOrder', 'INVALID_ORDER', false],
    ['BadRequest', 'INVALID_ORDER', false],
    ['RequestTimeout', 'VENUE_ERROR', false],
    ['NetworkError', 'VENUE_ERROR', false],
  ] as const)('without a Coinbase code, ccxt class %s -> %s', (name, reason, retryable) => {
    expect(mapCoinbaseError(map, ccxtError(name, 'GET http://127.0.0.1/api/v3/brokerage/orders 503 Service Unavailable'))).toMatchObject({ reason, retryable, code: undefined });
  });

  // The create answer as Coinbase sends it: the error code with its preview twin beside it (seen
  // live: "INVALID_LIMIT_PRICE_POST_ONLY - preview_failure_reason: PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY")
  const refusal = (error: string, preview: string) =>
    ccxtError('ExchangeError', `{"success":false,"failure_reason":"UNKNOWN_FAILURE_REASON","order_id":"","error_response":{"error":"${error}","message":"venue words","error_details":"","preview_failure_reason":"${preview}"}}`);
  it.each([
    ['INVALID_LIMIT_PRICE_POST_ONLY', 'PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY', 'POST_ONLY_WOULD_CROSS'],
    ['INVALID_PRICE_PRECISION', 'PREVIEW_INVALID_PRICE_PRECISION', 'OFF_GRID'],
    ['INVALID_SIZE_PRECISION', 'PREVIEW_INVALID_SIZE_PRECISION', 'OFF_GRID'],
    // both mapped: the preview code, the more precise
    ['INVALID_ARGUMENT', 'PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL', 'MIN_NOTIONAL'],
    // neither mapped: still the preview code, in the text
    ['SOMETHING_NEW', 'PREVIEW_SOMETHING_NEW', 'VENUE_ERROR'],
  ] as const)('%s beside its preview twin %s is %s (a mapped code wins over an unmapped one)', (error, preview, reason) => {
    const m = mapCoinbaseError(map, refusal(error, preview));
    expect(m.reason).toBe(reason);
    expect(m.outcomeUnknown).toBeUndefined();
    if (reason === 'VENUE_ERROR') expect(m.code).toBe(preview);
  });

  it('a thrown non-Error (string, undefined) still maps, never crashes', () => {
    expect(mapCoinbaseError(map, 'boom')).toMatchObject({ reason: 'VENUE_ERROR', text: 'coinbase: boom' });
    expect(mapCoinbaseError(map, undefined)).toMatchObject({ reason: 'VENUE_ERROR', text: 'coinbase: undefined' });
  });

  it('never carries the bearer JWT or a secret in the text', () => {
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJrZXkifQ.c2lnbmF0dXJl';
    const e = ccxtError('AuthenticationError', `{"error":"UNAUTHORIZED","message":"Unauthorized"} headers: Authorization: Bearer ${jwt} secret=abc123`);
    const m = mapCoinbaseError(map, e);
    expect(m.reason).toBe('AUTH_FAILED');
    expect(m.text).not.toContain(jwt);
    const plain = mapCoinbaseError(map, ccxtError('NetworkError', `Authorization: Bearer ${jwt} "secret": "abc123"`));
    expect(plain.text).not.toContain(jwt);
    expect(plain.text).not.toContain('abc123');
    expect(plain.text).toContain('Bearer [redacted]');
  });
});

/**
 * Kraken error mapping: each documented REST error string -> our reject reason, the string read
 * from ccxt's message (which carries the JSON body), ccxt's error class as the fallback, and
 * credentials never in the text.
 */
import { describe, expect, it } from 'vitest';
import { refusedByVenue } from '@cwts/core/adapter-kit';
import { PAIRS_UNAVAILABLE, krakenErrorCode, krakenErrorMap, mapKrakenError } from '../src/errors.js';

const map = krakenErrorMap('kraken');
const ccxtError = (name: string, body: string) => Object.assign(new Error(`kraken ${body}`), { name });

describe('Kraken venue errors', () => {
  it.each([
    ['EAPI:Invalid key', 'AUTH_FAILED', false],
    ['EAPI:Invalid signature', 'AUTH_FAILED', false],
    ['EGeneral:Permission denied', 'AUTH_FAILED', false],
    ['EAPI:Invalid nonce', 'VENUE_ERROR', true],
    ['EAPI:Rate limit exceeded', 'RATE_LIMITED', true],
    ['EOrder:Rate limit exceeded', 'RATE_LIMITED', true],
    ['EGeneral:Too many requests', 'RATE_LIMITED', true],
    ['EGeneral:Temporary lockout', 'RATE_LIMITED', true],
    ['EService:Unavailable', 'VENUE_ERROR', true],
    ['EService:Busy', 'VENUE_ERROR', true],
    ['EGeneral:Internal error', 'VENUE_ERROR', true],
    ['EDatabase:Internal error', 'VENUE_ERROR', true],
    ['EService:Market in cancel_only mode', 'VENUE_NOT_TRADING', false],
    ['EService:Market in post_only mode', 'VENUE_NOT_TRADING', false],
    ['EOrder:Insufficient funds', 'INSUFFICIENT_BALANCE', false],
    ['EOrder:Insufficient margin', 'INSUFFICIENT_BALANCE', false],
    ['EOrder:Unknown order', 'UNKNOWN_ORDER', false],
    ['EOrder:Invalid order', 'UNKNOWN_ORDER', false],
    ['EOrder:Order minimum not met', 'INVALID_ORDER', false],
    ['EOrder:Cost minimum not met', 'MIN_NOTIONAL', false],
    ['EOrder:Tick size check failed', 'OFF_GRID', false],
    ['EOrder:Invalid price', 'OFF_GRID', false],
    ['EOrder:Post only order', 'POST_ONLY_WOULD_CROSS', false],
    ['EOrder:Duplicate cl_ord_id', 'DUPLICATE_ORDER', false],
    ['EQuery:Unknown asset pair', 'INVALID_ORDER', false],
    ['EGeneral:Invalid arguments', 'INVALID_ORDER', false],
    ['EFunding:Something new', 'VENUE_ERROR', false],
  ] as const)('%s -> %s (retryable %s)', (code, reason, retryable) => {
    const m = mapKrakenError(map, ccxtError('ExchangeError', `{"error":["${code}"]}`));
    expect(m).toMatchObject({ reason, retryable, code });
    expect(m.text.startsWith(`kraken ${code}: ${code}`)).toBe(true);
  });

  it.each(['EService:Unavailable', 'EService:Busy', 'EGeneral:Internal error', 'EDatabase:Internal error'])(
    '%s is a failure on Kraken\'s side: the outcome is unknown (an order so answered is looked up, not rejected)',
    (code) => {
      const err = ccxtError('ExchangeNotAvailable', `{"error":["${code}"]}`);
      const m = mapKrakenError(map, err);
      expect(m).toMatchObject({ reason: 'VENUE_ERROR', retryable: true, code, outcomeUnknown: true });
      expect(refusedByVenue(err, m)).toBe(false);
    },
  );

  it('an answer that refuses, and our own "pair list unreadable" (nothing sent), are refusals', () => {
    for (const code of ['EOrder:Insufficient funds', 'EAPI:Rate limit exceeded', 'EFunding:Something new', PAIRS_UNAVAILABLE]) {
      const err = ccxtError('ExchangeError', `{"error":["${code}"]}`);
      const m = mapKrakenError(map, err);
      expect(m.outcomeUnknown, code).toBeUndefined();
      expect(refusedByVenue(err, m), code).toBe(true);
    }
    expect(mapKrakenError(map, new Error(`kraken {"error":["${PAIRS_UNAVAILABLE}"]} (AssetPairs failed: fetch failed)`))).toMatchObject({ reason: 'VENUE_ERROR', retryable: true, code: PAIRS_UNAVAILABLE });
  });

  it('a detail after the code keeps the rule of its prefix and stays in the text; only the first error counts', () => {
    const m = mapKrakenError(map, new Error('kraken {"error":["EGeneral:Invalid arguments:volume","EOrder:Insufficient funds"]}'));
    expect(m).toMatchObject({ reason: 'INVALID_ORDER', code: 'EGeneral:Invalid arguments' });
    expect(m.text).toContain('EGeneral:Invalid arguments:volume');
    expect(krakenErrorCode('{"error": [ "EOrder:Unknown order" ], "result": {}}')).toBe('EOrder:Unknown order');
    expect(krakenErrorCode('{"error":[]}')).toBeUndefined();
    // a string that is not of the E<Area>:<text> form is still looked up as is
    expect(mapKrakenError(map, new Error('kraken {"error":["weird"]}'))).toMatchObject({ reason: 'VENUE_ERROR', code: 'weird' });
  });

  it.each([
    ['RateLimitExceeded', 'RATE_LIMITED', true],
    ['DDoSProtection', 'RATE_LIMITED', true],
    ['AuthenticationError', 'AUTH_FAILED', false],
    ['InsufficientFunds', 'INSUFFICIENT_BALANCE', false],
    ['OrderNotFound', 'UNKNOWN_ORDER', false],
    ['BadSymbol', 'INVALID_ORDER', false],
    ['RequestTimeout', 'VENUE_ERROR', false],
  ] as const)('without a Kraken error string, ccxt class %s -> %s', (name, reason, retryable) => {
    expect(mapKrakenError(map, ccxtError(name, 'POST http://127.0.0.1/0/private/AddOrder 520'))).toMatchObject({ reason, retryable, code: undefined });
  });

  it('a thrown non-Error still maps, never crashes', () => {
    expect(mapKrakenError(map, 'boom')).toMatchObject({ reason: 'VENUE_ERROR', text: 'kraken: boom' });
    expect(mapKrakenError(map, undefined).reason).toBe('VENUE_ERROR');
  });

  it('never carries the API key or secret in the text', () => {
    const m = mapKrakenError(map, ccxtError('AuthenticationError', '{"error":["EAPI:Invalid key"]} headers {"API-Key":"MyKeyValue123","secret":"c2VjcmV0"}'));
    expect(m.reason).toBe('AUTH_FAILED');
    expect(m.text).not.toContain('MyKeyValue123');
    expect(m.text).not.toContain('c2VjcmV0');
    const plain = mapKrakenError(map, ccxtError('NetworkError', 'POST /0/private/Balance?api_key=MyKeyValue123&secret=c2VjcmV0 failed'));
    expect(plain.text).not.toContain('MyKeyValue123');
    expect(plain.text).not.toContain('c2VjcmV0');
  });
});

/**
 * Bybit retCode mapping for a pair that is not trading (docs v5/error): each documented code ->
 * VENUE_NOT_TRADING (not retryable), read from ccxt's message (which carries the JSON body); a
 * code we do not know stays an unmapped VENUE_ERROR; the answers the local server gives for each
 * closed instruments-info status are among the mapped codes.
 */
import { refusedByVenue } from '@cwts/core/adapter-kit';
import { describe, expect, it } from 'vitest';
import { bybitErrorMap, mapBybitError } from '../src/errors.js';
import { notTradingAnswer, tooManyDecimalsAnswer } from './fake-bybit.js';

const map = bybitErrorMap('bybit');
const ccxtError = (code: number, retMsg: string) => Object.assign(new Error(`bybit {"retCode":${code},"retMsg":"${retMsg}","result":{},"retExtInfo":{},"time":1764928800123}`), { name: 'ExchangeError' });

describe('Bybit venue errors: pair not trading', () => {
  it.each([
    [170151, 'The trading pair is not open yet'],
    [170157, 'The trading pair is not available for api trading'],
    [170217, 'Only LIMIT-MAKER order is supported for the current pair.'],
    [110066, 'Trading is currently not allowed.'],
    [110063, 'Settlement in progress! BTCUSDT not available for trading.'],
    [110042, 'Currently,due to pre-delivery status, you can only reduce your position on this contract.'],
    [110023, 'Currently you can only reduce your position on this contract. please check our announcement or contact customer service for details.'],
    [30228, 'No new positions during delisting'],
    [110137, 'This Event Futures contract has entered the reduce-only window before settlement. New orders and order modifications are temporarily suspended.'],
    [110103, 'Only Post-Only orders are available at this stage'],
    [110095, 'You cannot create, modify or cancel Pre-Market Perpetual orders during the Call Auction.'],
    [110098, 'Only Good-Till-Canceled (GTC) orders are supported during Call Auction.'],
  ])('%i -> VENUE_NOT_TRADING', (code, retMsg) => {
    const m = mapBybitError(map, ccxtError(code, retMsg));
    expect(m).toMatchObject({ reason: 'VENUE_NOT_TRADING', retryable: false, code });
    expect(m.text).toMatch(new RegExp(`^bybit ${code}: `));
    expect(m.text).toContain(retMsg);
  });

  it('an unknown retCode stays unmapped (VENUE_ERROR, not retryable), with the venue words', () => {
    expect(mapBybitError(map, ccxtError(170999, 'Something new.'))).toEqual({ reason: 'VENUE_ERROR', retryable: false, code: 170999, text: 'bybit 170999: Something new.' });
  });

  it('codes the docs list beside them that are no pair status keep their reason', () => {
    // Order does not exist; Invalid symbol; New order rejected (generic): never VENUE_NOT_TRADING
    expect(mapBybitError(map, ccxtError(170213, 'Order does not exist.')).reason).toBe('UNKNOWN_ORDER');
    expect(mapBybitError(map, ccxtError(170121, 'Invalid symbol.')).reason).toBe('INVALID_ORDER');
    expect(mapBybitError(map, ccxtError(170210, 'New order rejected.')).reason).toBe('VENUE_ERROR');
    // market orders in a new listing's first minutes: an order-type rule, the pair trades
    expect(mapBybitError(map, ccxtError(170159, 'Market Order is not supported within the first 5 minutes of newly launched pairs due to risk control.')).reason).toBe('VENUE_ERROR');
  });

  it.each([
    ['spot', 'PreLaunch', 170151],
    ['spot', 'Closed', 170157],
    ['spot', 'Delivering', 170157],
    ['linear', 'Delivering', 110042],
    ['linear', 'Settling', 110063],
    ['linear', 'PreLaunch', 110066],
    ['linear', 'Closed', 110066],
  ] as const)('the local server refuses a %s order on a %s pair with %i, mapped to VENUE_NOT_TRADING', (category, status, code) => {
    const [c, retMsg] = notTradingAnswer(category, status, 'BTCUSDT');
    expect(c).toBe(code);
    expect(mapBybitError(map, ccxtError(c, retMsg)).reason).toBe('VENUE_NOT_TRADING');
  });
});

describe('Bybit venue errors: outcome unknown', () => {
  it.each([
    [10000, 'Server Timeout'],
    [10016, 'Server error.'],
    [10016, 'Service is restarting'],
    // the spot engine's (docs v5/error, "Spot Trade"); read as refusals they reported an order
    // rejected, and stopped following it, while it worked at the venue
    [170001, 'Internal error.'],
    [170007, 'Timeout waiting for response from backend server.'],
    [170032, 'Network error. Please try again later'],
    [170035, 'Submitted to the system for processing!'],
    [170146, 'Order creation timeout'],
    [170147, 'Order cancellation timeout'],
  ])('%i "%s" says the venue does not know whether the request was carried out: not a refusal', (code, retMsg) => {
    const err = ccxtError(code, retMsg);
    const m = mapBybitError(map, err);
    expect(m).toMatchObject({ reason: 'VENUE_ERROR', code, retryable: true, outcomeUnknown: true });
    expect(m.text).toContain(retMsg);
    // the kit asks for the order by client id instead of reporting it rejected
    expect(refusedByVenue(err, m)).toBe(false);
  });

  it.each([
    ['RequestTimeout', 170007, 'Timeout waiting for response from backend server.'],
    ['InvalidOrder', 170146, 'Order creation timeout'],
  ])('not a refusal under the error class ccxt throws for it either (%s %i)', (name, code, retMsg) => {
    const err = Object.assign(ccxtError(code, retMsg), { name });
    expect(refusedByVenue(err, mapBybitError(map, err))).toBe(false);
  });

  it('a refusal stays one', () => {
    const err = ccxtError(110007, 'ab not enough for new order');
    const m = mapBybitError(map, err);
    expect(m.outcomeUnknown).toBeUndefined();
    expect(refusedByVenue(err, m)).toBe(true);
  });
});

describe('Bybit venue errors: spot quantity codes (docs v5/error, "Spot Trade")', () => {
  it.each([
    [170134, 'Order price decimal too long.'],
    [170137, 'Order volume decimal too long'],
    [170148, 'Market order amount decimal too long'],
  ])('%i "%s" is OFF_GRID', (code, retMsg) => {
    expect(mapBybitError(map, ccxtError(code, retMsg))).toMatchObject({ reason: 'OFF_GRID', retryable: false, code });
  });

  it.each([
    [170135, 'Order quantity too large.'],
    [170381, 'Order quantity too large.'],
    [170382, 'Order quantity too large.'],
  ])('%i "%s" is a quantity above the maximum (INVALID_ORDER), not a grid problem', (code, retMsg) => {
    expect(mapBybitError(map, ccxtError(code, retMsg))).toMatchObject({ reason: 'INVALID_ORDER', retryable: false, code });
  });

  it.each(['price', 'qty'] as const)('the local server refuses a spot %s with too many decimals with a code mapped to OFF_GRID', (field) => {
    const [code, retMsg] = tooManyDecimalsAnswer('spot', field);
    expect(mapBybitError(map, ccxtError(code, retMsg)).reason).toBe('OFF_GRID');
  });
});

describe('Bybit venue errors: rate limits', () => {
  // 10429 (docs v5/error) used to be an unmapped VENUE_ERROR: no pause, so the next orders and
  // reads went straight into the same protection
  it.each([
    [10006, 'Too many visits!'],
    [10018, 'Out of frequency limit.'],
    [10429, 'System level frequency protection'],
  ])('%i "%s" is RATE_LIMITED (retryable), a refusal', (code, retMsg) => {
    const err = ccxtError(code, retMsg);
    const m = mapBybitError(map, err);
    expect(m).toMatchObject({ reason: 'RATE_LIMITED', retryable: true, code });
    expect(refusedByVenue(err, m)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { venueShapeProblem } from '../src/venue-shapes.js';

describe('venueShapeProblem', () => {
  it('checks the events it knows and passes the rest; an event named like an Object member is not one it knows', () => {
    expect(venueShapeProblem('binance', { e: 'trade', s: 'BTCUSDT', t: 1, p: '1.0', q: '2', T: 1, m: true })).toBeUndefined();
    expect(venueShapeProblem('binance', { e: 'trade', s: 'BTCUSDT', t: '1', p: '1.0', q: '2', T: 1, m: true })).toMatch(/^trade: t /);
    // before: BINANCE_EVENTS["toString"] was Object.prototype.toString, and .safeParse threw
    for (const e of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) expect(venueShapeProblem('binance', { e, s: 'BTCUSDT' }), e).toBeUndefined();
    expect(venueShapeProblem('okx', { e: 'trade' })).toBeUndefined();
  });
});

import { PositionLimitCheck, type RiskEnv } from './checks.js';

export { quoteToAtoms } from './checks.js';

/** PositionLimitCheck reads its env only for max_total_position, which this one never has. */
const NO_ENV: RiskEnv = {
  state: 'ACTIVE',
  stateReason: '',
  openOrderCount: () => 0,
  bookLastUpdate: () => undefined,
  positions: () => [],
};

/**
 * `[risk] max_position` on its own, for a chain built by hand: the chain's PositionLimitCheck
 * with no max_total_position, so the same rule (docs/risk.md, check 7). The worst case after
 * the order, counting our resting orders on its side, valued at the most it can trade at (a
 * sell at its limit or the best bid, the higher), may not exceed the limit; an order that
 * reduces the position without taking it past flat, resting orders counted, always passes.
 * It once had rules of its own: it ignored resting orders and let any order through whose
 * position after it was no larger, so ten resting 20-lot buys each passed a 20-lot limit, and
 * "exits" of twice the position each passed and would fill to 19x the limit the other way.
 */
export class MaxPositionCheck extends PositionLimitCheck {
  constructor(maxPositionQuote: number) {
    super(NO_ENV, maxPositionQuote);
  }
}

import type { RiskConfig } from '../config/types.js';
import { amountToCommon } from './accounts.js';

/**
 * The capital equity and drawdown count from, in quote currency: `initialEquity` (the engine
 * passes `[risk] initial_equity`), else max_total_position, else max_position. The risk engine
 * and the replay report both take it from here: a report that started from another capital
 * than the engine HALTed against showed another return, drawdown and Sharpe for the same run.
 */
export function startingCapital(risk: Pick<RiskConfig, 'max_position' | 'max_total_position'>, initialEquity: number | undefined): number {
  return initialEquity ?? risk.max_total_position ?? risk.max_position;
}

/** startingCapital() x 10^-18, converted exactly as the risk engine's EquityTracker is seeded. */
export function startingCapitalCommon(risk: Pick<RiskConfig, 'max_position' | 'max_total_position'>, initialEquity: number | undefined): bigint {
  return amountToCommon(startingCapital(risk, initialEquity));
}

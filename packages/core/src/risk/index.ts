export { RiskManager, type RiskManagerOptions, type RiskEnginePort, type EngineRiskHooks, type VaRScheduleOptions } from './manager.js';
export {
  buildCheckChain, runChain, reducesExposure, RiskStateCheck, InstrumentRulesCheck, ReduceOnlyCheck, BookHealthCheck, PriceBandCheck, MaxOrderNotionalCheck,
  PositionLimitCheck, MaxOpenOrdersCheck, SelfTradeCheck, OrderRateCheck, markHalfTicks, otherExposureOf, type RiskEnv, type CheckChainOptions,
} from './checks.js';
export { RISK_SELF_TRADE, RISK_REASON_CODES } from './reasons.js';
export { CashLedger, EquityTracker, amountToCommon, type Balance } from './accounts.js';
export { kellyBinary, kellyContinuous, fractionalKelly, kellySize, kellySizer, KellyInputError, type KellySizingInput, type KellySizerInput, type KellySize, type KellyClip } from './kelly.js';
export {
  computeVaR, historicalVaR, parametricVaR, monteCarloVaR, lossQuantiles, meanCov, cholesky, normCdf, normInv, normPdf, VaRInputError, VAR_METHODS,
  type VaRMethod, type VaRResult, type MonteCarloOptions,
} from './var.js';
export { RiskControlServer, controlRequest, CONTROL_HEADER, MAX_CONTROL_BODY, type RiskControls, type RiskControlServerOptions } from './control.js';
export { establishControlToken, readControlToken, tokensEqual, CONTROL_TOKEN_ENV, CONTROL_TOKEN_FILE, type ControlToken } from './control-token.js';
export { Portfolio, Position, COMMON_EXPONENT, commonToDecimal, commonToNumber, type PositionSnapshot } from './portfolio.js';
export { RiskState, RISK_STATE_CODES, type RiskStateName } from './risk-state.js';
export { MaxPositionCheck, quoteToAtoms } from './max-position-check.js';

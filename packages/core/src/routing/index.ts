export {
  decideRoute,
  RoutingProblem,
  RoutingDecision,
  RoutingScratch,
  SIDE_BUY,
  SIDE_SELL,
  RATE_ONE,
  DECISION_OK,
  DECISION_OUT_OF_RANGE,
  DECISION_INVALID,
} from './decision.js';

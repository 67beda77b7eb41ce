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
export { SmartOrderRouter, type SmartOrderRouterOptions, type ParentOrder } from './smart-order-router.js';
export { buildRouteGroup, commonScale, type RouteGroup, type GroupVenue } from './route-group.js';
export { VenueLatency } from './venue-latency.js';
export { routingSchema, readRoutingSection, defaultRoutingConfig, type RoutingConfig } from '../config/routing-schema.js';
export { DirectRouter } from './direct.js';

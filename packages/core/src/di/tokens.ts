/**
 * Injection tokens. Symbols (Symbol.for, so two copies of core in one process still agree) and
 * a declared slot kind: a single-slot token holds one implementation and a second registration
 * is an error naming both plugins; a multi-slot token collects every registration.
 */
export interface Token<T> {
  readonly symbol: symbol;
  readonly description: string;
  readonly multi: boolean;
  /** Phantom field carrying the type; never set. */
  readonly __type?: T;
}

function single<T>(name: string): Token<T> {
  return Object.freeze({ symbol: Symbol.for(`cwts.${name}`), description: name, multi: false });
}
function multi<T>(name: string): Token<T> {
  return Object.freeze({ symbol: Symbol.for(`cwts.${name}`), description: name, multi: true });
}

import type { Clock } from '../contracts/clock.js';
import type { ComputeBackend, ComputeBackendProvider } from '../contracts/compute.js';
import type { ExecutionClient, MarketDataClient } from '../contracts/exchange.js';
import type { Detector, OrderRouter, RiskCheck, Strategy } from '../contracts/trading.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsRegistry } from '../observability/metrics.js';

export const TOKENS = {
  /** Per exchange instance (child container). */
  MarketDataClient: single<MarketDataClient>('MarketDataClient'),
  /** Per exchange instance (child container). */
  ExecutionClient: single<ExecutionClient>('ExecutionClient'),
  /** The venue's validated config table, e.g. `[binance]` (child container). */
  VenueConfig: single<Readonly<Record<string, unknown>>>('VenueConfig'),
  /** The venue name of this instance, e.g. "binance" (child container). */
  VenueName: single<string>('VenueName'),
  /** The whole validated config. */
  Config: single<Readonly<Record<string, unknown>>>('Config'),
  /**
   * The plugin's own config table, as its `register` receives it in `ctx.config` (`[strategy]`,
   * `[detectors.<name>]`, `[risk_checks.<name>]`, `[compute.<name>]`, a venue's table). Given to
   * the constructor of a class the plugin registers (`@inject(TOKENS.PluginConfig)`), each class
   * the table of the plugin instance that registered it. No scope holds it: resolving it from a
   * container (a factory, `initialize`) is an UnregisteredTokenError; those use `ctx.config`.
   */
  PluginConfig: single<Readonly<Record<string, unknown>>>('PluginConfig'),
  Clock: single<Clock>('Clock'),
  Logger: single<Logger>('Logger'),
  Metrics: single<MetricsRegistry>('Metrics'),
  ComputeBackendProvider: multi<ComputeBackendProvider>('ComputeBackendProvider'),
  /** The backend the registry chose; available after initialization. */
  ComputeBackend: single<ComputeBackend>('ComputeBackend'),
  Detector: multi<Detector>('Detector'),
  RiskCheck: multi<RiskCheck>('RiskCheck'),
  Strategy: single<Strategy>('Strategy'),
  OrderRouter: single<OrderRouter>('OrderRouter'),
} as const;

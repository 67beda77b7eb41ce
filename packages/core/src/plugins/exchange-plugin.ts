/**
 * `defineExchangePlugin`: the manifest every exchange package would otherwise write by hand.
 * A venue is built lazily, once per venue instance, the first time its MarketDataClient or
 * ExecutionClient is resolved, so both halves share one object (instruments, limiter, socket).
 */
import type { Clock } from '../contracts/clock.js';
import type { ExecutionClient, MarketDataClient } from '../contracts/exchange.js';
import type { CwtsContainer } from '../di/container.js';
import { TOKENS } from '../di/tokens.js';
import type { Logger } from '../observability/logger.js';
import { CORE_API_VERSION, type PluginInitContext, type PluginManifest, type PluginRegistrationContext, type VenueKeys } from './manifest.js';

/** The two halves a venue registers. */
export interface ExchangeVenue {
  readonly marketData: MarketDataClient;
  readonly execution: ExecutionClient;
}

/** What createVenue gets from the venue's container. */
export interface ExchangeVenueDeps {
  /** The venue name (`TOKENS.VenueName`, else the instance name), e.g. "binance". */
  exchange: string;
  clock: Clock;
  /** A child of the app's logger tagged with the exchange and the plugin's component name. */
  logger?: Logger;
}

export interface ExchangePluginSpec<V extends ExchangeVenue> {
  /** The package name, e.g. "@cwts/exchange-binance". */
  name: string;
  /** CORE_API_VERSION the plugin was built for (default: this core's). */
  coreApi?: string;
  /** The logger's `component` (default: the name without its npm scope). */
  component?: string;
  /**
   * Synchronous checks of the venue table at registration, before anything connects (throw
   * an Error naming the key path). Typically: resolve the options once so a bad table fails here.
   */
  checkConfig?(config: Readonly<Record<string, unknown>>, instanceName: string): void;
  /** Builds both halves for one venue table; called at most once per venue instance. */
  createVenue(config: Readonly<Record<string, unknown>>, deps: ExchangeVenueDeps): V;
  /** See PluginManifest.validateOptions: `[<venue>.options]`, one issue per problem. */
  validateOptions?(options: unknown, path: string): { path: string; message: string }[];
  /** See PluginManifest.defaultSymbols: the symbols a venue table without `symbols` gets. */
  defaultSymbols?: readonly string[];
  /** See PluginManifest.venueKeys: `testnet` and the `market` values the plugin honours. */
  venueKeys?: VenueKeys;
  initialize?(ctx: PluginInitContext): Promise<void>;
  dispose?(): Promise<void>;
}

/** An exchange plugin's manifest from the parts that differ between venues. */
export function defineExchangePlugin<V extends ExchangeVenue>(spec: ExchangePluginSpec<V>): PluginManifest {
  const component = spec.component ?? spec.name.replace(/^@[^/]+\//, '');
  const manifest: PluginManifest = {
    name: spec.name,
    kind: 'exchange',
    coreApi: spec.coreApi ?? CORE_API_VERSION,
    register(ctx: PluginRegistrationContext): void {
      spec.checkConfig?.(ctx.config, ctx.instanceName);
      let venue: V | undefined;
      const venueOf = (c: CwtsContainer): V =>
        (venue ??= spec.createVenue(ctx.config, {
          exchange: c.isRegistered(TOKENS.VenueName) ? c.resolve(TOKENS.VenueName) : ctx.instanceName,
          clock: c.resolve(TOKENS.Clock),
          ...(c.isRegistered(TOKENS.Logger) ? { logger: c.resolve(TOKENS.Logger).child({ exchange: ctx.instanceName, component }) } : {}),
        }));
      ctx.registrar.factory(TOKENS.MarketDataClient, (c) => venueOf(c).marketData);
      ctx.registrar.factory(TOKENS.ExecutionClient, (c) => venueOf(c).execution);
    },
  };
  return {
    ...manifest,
    ...(spec.validateOptions ? { validateOptions: spec.validateOptions } : {}),
    ...(spec.defaultSymbols ? { defaultSymbols: spec.defaultSymbols } : {}),
    ...(spec.venueKeys ? { venueKeys: spec.venueKeys } : {}),
    ...(spec.initialize ? { initialize: spec.initialize } : {}),
    ...(spec.dispose ? { dispose: spec.dispose } : {}),
  };
}

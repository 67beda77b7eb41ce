/**
 * The plugin manifest of @cwts/exchange-sim. `register` runs once per venue instance with the
 * venue's child container; the MarketDataClient and ExecutionClient it registers share one
 * SimVenue (same books, same virtual timeline). Nothing happens on import.
 */
import { CORE_API_VERSION, TOKENS, type CwtsContainer, type Logger, type PluginManifest, type PluginRegistrationContext } from '@cwts/core';
import { resolveSimOptions, validateSimOptions, type OptionProblem } from './options.js';
import { SimVenue } from './venue.js';

export const PLUGIN_NAME = '@cwts/exchange-sim';

export interface SimPluginManifest extends PluginManifest {
  /** Validates the venue table's `options` (key paths in every problem); for the config loader. */
  validateOptions(options: unknown, path: string): OptionProblem[];
}

function register(ctx: PluginRegistrationContext): void {
  const options = resolveSimOptions(ctx.config.options, `${ctx.instanceName}.options`);
  const symbols = Array.isArray(ctx.config.symbols) ? (ctx.config.symbols as unknown[]).filter((s): s is string => typeof s === 'string') : [];
  let venue: SimVenue | undefined;
  const venueOf = (c: CwtsContainer): SimVenue =>
    (venue ??= new SimVenue({
      exchange: c.isRegistered(TOKENS.VenueName) ? c.resolve(TOKENS.VenueName) : ctx.instanceName,
      clock: c.resolve(TOKENS.Clock),
      options,
      symbols,
      ...(c.isRegistered(TOKENS.Logger) ? { logger: (c.resolve(TOKENS.Logger) as Logger).child({ exchange: ctx.instanceName, component: 'exchange-sim' }) } : {}),
    }));
  ctx.registrar.factory(TOKENS.MarketDataClient, (c) => venueOf(c).marketData);
  ctx.registrar.factory(TOKENS.ExecutionClient, (c) => venueOf(c).execution);
}

export const plugin: SimPluginManifest = {
  name: PLUGIN_NAME,
  kind: 'exchange',
  coreApi: CORE_API_VERSION,
  register,
  validateOptions: validateSimOptions,
};

export default plugin;

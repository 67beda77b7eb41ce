/**
 * The plugin manifest of @cwts/exchange-sim. `register` runs once per venue instance with the
 * venue's child container; the MarketDataClient and ExecutionClient it registers share one
 * SimVenue (same books, same virtual timeline). Nothing happens on import.
 */
import { defineExchangePlugin, type PluginManifest } from '@cwts/core';
import { resolveSimOptions, validateSimOptions, type OptionProblem } from './options.js';
import { SimVenue } from './venue.js';

export const PLUGIN_NAME = '@cwts/exchange-sim';

export interface SimPluginManifest extends PluginManifest {
  /** Validates the venue table's `options` (key paths in every problem); for the config loader. */
  validateOptions(options: unknown, path: string): OptionProblem[];
}

export const plugin: SimPluginManifest = {
  ...defineExchangePlugin<SimVenue>({
    name: PLUGIN_NAME,
    // The core API this adapter needs, as a literal: CORE_API_VERSION is the installed core's
    // (a peer dependency), so declaring it would pass any core (docs/versioning.md).
    // 1.4: the paper book imports minNotionalAtoms, added in 1.4.
    coreApi: '1.4',
    checkConfig: (cfg, name) => {
      const options = resolveSimOptions(cfg.options, `${name}.options`);
      // The synthetic market needs symbols to generate (a replay takes the recording's): refused
      // here, at registration, so validate-config says so and not only `run` at start.
      const symbols = Array.isArray(cfg.symbols) ? cfg.symbols : [];
      if (symbols.length === 0 && options.replayFile === undefined) {
        throw new Error(`${name}.symbols: no symbols to simulate; set symbols = ["BTCUSDT", ...] in [${name}] (or options.replay_file to replay a recording)`);
      }
    },
    createVenue: (cfg, deps) =>
      new SimVenue({
        ...deps,
        options: resolveSimOptions(cfg.options, `${deps.exchange}.options`),
        symbols: Array.isArray(cfg.symbols) ? (cfg.symbols as unknown[]).filter((s): s is string => typeof s === 'string') : [],
      }),
  }),
  validateOptions: validateSimOptions,
};

export default plugin;

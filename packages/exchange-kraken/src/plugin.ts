/**
 * The plugin manifest of @cwts/exchange-kraken. `register` runs once per venue instance with the
 * venue's child container. Market data only for now: the ExecutionClient refuses orders with
 * the reason (paper mode still simulates fills against our copy of Kraken's book). Nothing
 * happens on import.
 */
import { defineExchangePlugin, type Clock, type ExecutionClient, type Logger, type PluginManifest } from '@cwts/core';
import { MarketDataOnlyExecution } from '@cwts/core/engine';
import { KrakenMarketData } from './market-data.js';
import { krakenWsUrl, resolveKrakenOptions, validateKrakenOptions } from './options.js';

export const PLUGIN_NAME = '@cwts/exchange-kraken';

export const KRAKEN_EXECUTION_NOT_IMPLEMENTED = 'Kraken order execution is not implemented yet (market data only)';

export interface KrakenVenue {
  marketData: KrakenMarketData;
  execution: ExecutionClient;
}

/** Builds both halves for one venue table (also used directly by tests). */
export function createKrakenVenue(cfg: Readonly<Record<string, unknown>>, deps: { exchange: string; clock: Clock; logger?: Logger; random?: () => number }): KrakenVenue {
  const options = resolveKrakenOptions(cfg.options, `${deps.exchange}.options`);
  const wsUrl = krakenWsUrl(cfg.api_url as string | undefined, (msg) => deps.logger?.info({ exchange: deps.exchange }, msg));
  const marketData = new KrakenMarketData({ exchange: deps.exchange, wsUrl, options, clock: deps.clock, logger: deps.logger, random: deps.random });
  return { marketData, execution: new MarketDataOnlyExecution(deps.exchange, KRAKEN_EXECUTION_NOT_IMPLEMENTED) };
}

/**
 * The symbols a `[kraken]` table without `symbols` should get (BTC and ETH against Kraken's
 * main quote, USD), for the core's default-symbol handling; see docs/venues.md.
 */
export const KRAKEN_DEFAULT_SYMBOLS: readonly string[] = Object.freeze(['BTC/USD', 'ETH/USD']);

export const plugin: PluginManifest = defineExchangePlugin<KrakenVenue>({
  name: PLUGIN_NAME,
  checkConfig: (cfg, name) => {
    resolveKrakenOptions(cfg.options, `${name}.options`);
  },
  createVenue: createKrakenVenue,
  validateOptions: validateKrakenOptions,
  defaultSymbols: KRAKEN_DEFAULT_SYMBOLS,
});

export default plugin;

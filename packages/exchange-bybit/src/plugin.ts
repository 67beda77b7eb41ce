/**
 * The plugin manifest of @cwts/exchange-bybit. `register` runs once per venue instance with the
 * venue's child container; the MarketDataClient and ExecutionClient share instruments. Nothing
 * happens on import.
 */
import { defineExchangePlugin, type Clock, type Logger, type PluginManifest } from '@cwts/core';
import { refreshOnVenueRefusal } from '@cwts/core/adapter-kit';
import { type Secret } from '@cwts/core/config';
import { BybitExecution } from './execution.js';
import { BybitMarketData, bybitEndpoints, isKnownMarket } from './market-data.js';
import { resolveBybitOptions, validateBybitOptions } from './options.js';

export const PLUGIN_NAME = '@cwts/exchange-bybit';

export interface BybitVenue {
  marketData: BybitMarketData;
  execution: BybitExecution;
}

/** Builds both halves for one venue table (also used directly by tests). */
export function createBybitVenue(cfg: Readonly<Record<string, unknown>>, deps: { exchange: string; clock: Clock; logger?: Logger; random?: () => number }): BybitVenue {
  if (!isKnownMarket(cfg.market)) throw new Error(`${deps.exchange}.market: must be "spot" or "usdm" (Bybit linear)`);
  const options = resolveBybitOptions(cfg.options, `${deps.exchange}.options`);
  const endpoints = bybitEndpoints({ api_url: cfg.api_url as string | undefined, rest_url: cfg.rest_url as string | undefined, testnet: cfg.testnet === true, market: cfg.market as string | undefined });
  const marketData = new BybitMarketData({ exchange: deps.exchange, endpoints, options, clock: deps.clock, logger: deps.logger, random: deps.random });
  const execution = new BybitExecution({
    exchange: deps.exchange, endpoints, options, clock: deps.clock, logger: deps.logger,
    apiKey: cfg.api_key as Secret | undefined, apiSecret: cfg.api_secret as Secret | undefined,
    instrument: (s) => marketData.instrument(s),
    symbols: () => marketData.symbolsLoaded(),
  });
  refreshOnVenueRefusal(execution, () => marketData.refreshTradingStatusSoon());
  return { marketData, execution };
}

/** Symbols for a `[bybit]` table without `symbols`: BTC and ETH against Bybit's main quote, USDT. */
export const BYBIT_DEFAULT_SYMBOLS: readonly string[] = Object.freeze(['BTCUSDT', 'ETHUSDT']);

export const plugin: PluginManifest = defineExchangePlugin<BybitVenue>({
  name: PLUGIN_NAME,
  // The core API this adapter needs, as a literal: CORE_API_VERSION is the installed core's
  // (a peer dependency), so declaring it would pass any core (docs/versioning.md).
  // 1.4: its error rules use the adapter kit's VenueErrorRule.outcomeUnknown, which an older core ignores;
  // 1.12: BookSync.replace (a snapshot Bybit pushes while the book is SYNCED).
  coreApi: '1.12',
  checkConfig: (cfg, name) => {
    if (!isKnownMarket(cfg.market)) throw new Error(`${name}.market: must be "spot" or "usdm" (Bybit linear)`);
    resolveBybitOptions(cfg.options, `${name}.options`);
  },
  createVenue: createBybitVenue,
  validateOptions: validateBybitOptions,
  defaultSymbols: BYBIT_DEFAULT_SYMBOLS,
  // Both select endpoints (the venue's testnet hosts; USD-M futures); core refuses what a plugin
  // does not declare. An older core ignores the field, so coreApi stays.
  venueKeys: { testnet: true, markets: ['spot', 'usdm'] },
});

export default plugin;

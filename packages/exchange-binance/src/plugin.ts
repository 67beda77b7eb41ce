/**
 * The plugin manifest of @cwts/exchange-binance. `register` runs once per venue instance with
 * the venue's child container; the MarketDataClient and ExecutionClient share instruments and
 * the per-IP request-weight limiter. Nothing happens on import.
 */
import { defineExchangePlugin, type Clock, type Logger, type PluginManifest } from '@cwts/core';
import { type Secret } from '@cwts/core/config';
import { RateLimiter, refreshOnVenueRefusal } from '@cwts/core/adapter-kit';
import { BinanceExecution } from './execution.js';
import { BinanceMarketData, binanceEndpoints } from './market-data.js';
import { resolveBinanceOptions, validateBinanceOptions } from './options.js';
import type { RotationScheduler } from './user-stream.js';

export const PLUGIN_NAME = '@cwts/exchange-binance';

export interface BinanceVenue {
  marketData: BinanceMarketData;
  execution: BinanceExecution;
}

/** Builds both halves for one venue table (also used directly by tests). */
export function createBinanceVenue(cfg: Readonly<Record<string, unknown>>, deps: { exchange: string; clock: Clock; logger?: Logger; random?: () => number; rotationScheduler?: RotationScheduler }): BinanceVenue {
  const options = resolveBinanceOptions(cfg.options, `${deps.exchange}.options`);
  const endpoints = binanceEndpoints({ api_url: cfg.api_url as string | undefined, rest_url: cfg.rest_url as string | undefined, testnet: cfg.testnet === true, market: cfg.market as string | undefined });
  const limiter = new RateLimiter([{ name: 'ip', limit: options.request_weight_per_minute, intervalMs: 60_000 }], () => deps.clock.now());
  const marketData = new BinanceMarketData({ exchange: deps.exchange, endpoints, options, clock: deps.clock, logger: deps.logger, limiter, random: deps.random });
  const execution = new BinanceExecution({
    exchange: deps.exchange, endpoints, options, clock: deps.clock, logger: deps.logger, limiter, testnet: cfg.testnet === true,
    apiKey: cfg.api_key as Secret | undefined, apiSecret: cfg.api_secret as Secret | undefined,
    instrument: (s) => marketData.instrument(s),
    ...(deps.rotationScheduler ? { rotationScheduler: deps.rotationScheduler } : {}),
  });
  refreshOnVenueRefusal(execution, () => marketData.refreshTradingStatusSoon());
  return { marketData, execution };
}

/** Symbols for a `[binance]` table without `symbols`: BTC and ETH against Binance's main quote, USDT (spot and USD-M). */
export const BINANCE_DEFAULT_SYMBOLS: readonly string[] = Object.freeze(['BTCUSDT', 'ETHUSDT']);

export const plugin: PluginManifest = defineExchangePlugin<BinanceVenue>({
  name: PLUGIN_NAME,
  // The core API this adapter needs, as a literal: CORE_API_VERSION is the installed core's
  // (a peer dependency), so declaring it would pass any core (docs/versioning.md).
  // 1.4: its error rules use the adapter kit's VenueErrorRule.outcomeUnknown, which an older core ignores;
  // 1.5: WsConnection.reconnectWithBackoff; 1.7: the kit's claimPriorTrades.
  coreApi: '1.7',
  checkConfig: (cfg, name) => {
    resolveBinanceOptions(cfg.options, `${name}.options`);
  },
  createVenue: createBinanceVenue,
  validateOptions: validateBinanceOptions,
  defaultSymbols: BINANCE_DEFAULT_SYMBOLS,
  // Both select endpoints (the venue's testnet hosts; USD-M futures); core refuses what a plugin
  // does not declare. An older core ignores the field, so coreApi stays.
  venueKeys: { testnet: true, markets: ['spot', 'usdm'] },
});

export default plugin;

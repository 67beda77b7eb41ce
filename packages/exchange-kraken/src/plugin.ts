/**
 * The plugin manifest of @cwts/exchange-kraken. `register` runs once per venue instance with the
 * venue's child container; the MarketDataClient and ExecutionClient share instruments. Without
 * api_key/api_secret the ExecutionClient reports market data only. Nothing happens on import.
 */
import { defineExchangePlugin, type Clock, type Logger, type PluginManifest } from '@cwts/core';
import { type Secret } from '@cwts/core/config';
import { PolledExecutionClient, refreshOnVenueRefusal } from '@cwts/core/adapter-kit';
import { KrakenOrderDriver } from './execution.js';
import { KrakenExecutionsParser } from './executions-parse.js';
import { KrakenExecutionStream } from './executions-stream.js';
import { krakenPrivateWsUrl } from './executions-options.js';
import { KrakenMarketData } from './market-data.js';
import { krakenRestRoot, krakenWsUrl, resolveKrakenOptions, validateKrakenOptions } from './options.js';

export const PLUGIN_NAME = '@cwts/exchange-kraken';

export interface KrakenVenue {
  marketData: KrakenMarketData;
  execution: PolledExecutionClient;
  /** The private executions stream feeding `execution`, when a key is set and `executions_stream` is on. */
  executionsStream?: KrakenExecutionStream;
}

/** Builds both halves for one venue table (also used directly by tests). */
export function createKrakenVenue(cfg: Readonly<Record<string, unknown>>, deps: { exchange: string; clock: Clock; logger?: Logger; random?: () => number }): KrakenVenue {
  const options = resolveKrakenOptions(cfg.options, `${deps.exchange}.options`);
  const wsUrl = krakenWsUrl(cfg.api_url as string | undefined, (msg) => deps.logger?.info({ exchange: deps.exchange }, msg));
  const marketData = new KrakenMarketData({ exchange: deps.exchange, wsUrl, options, clock: deps.clock, logger: deps.logger, random: deps.random });
  const instrument = (s: string) => marketData.instrument(s);
  const symbols = () => marketData.symbolsLoaded();
  const driver = new KrakenOrderDriver({
    exchange: deps.exchange, restRoot: krakenRestRoot(cfg.rest_url as string | undefined), options, clock: deps.clock, logger: deps.logger,
    apiKey: cfg.api_key as Secret | undefined, apiSecret: cfg.api_secret as Secret | undefined, instrument, symbols,
  });
  // the private stream only makes fills earlier: orders, polling and reconciliation work without it
  const executionsStream =
    options.executions_stream && driver.hasCredentials
      ? new KrakenExecutionStream({
          exchange: deps.exchange, url: krakenPrivateWsUrl(options.private_ws_url, wsUrl), options, clock: deps.clock, logger: deps.logger, random: deps.random,
          parser: new KrakenExecutionsParser(instrument), token: () => driver.webSocketsToken(), pushedFillsFrom: () => driver.singleFillsFrom,
        })
      : undefined;
  const execution = new PolledExecutionClient({
    exchange: deps.exchange, clock: deps.clock, logger: deps.logger, hasCredentials: driver.hasCredentials, driver,
    orderLimit: { limit: options.orders_per_interval, intervalMs: options.order_limit_interval_ms }, pollIntervalMs: options.poll_interval_ms,
    // past the AddOrder deadline Kraken can no longer accept a request whose answer we lost
    unknownOrderGraceMs: options.order_deadline_ms + 5000, instrument, symbols,
    ...(executionsStream ? { stream: executionsStream } : {}),
  });
  refreshOnVenueRefusal(execution, () => marketData.refreshTradingStatusSoon());
  return { marketData, execution, ...(executionsStream ? { executionsStream } : {}) };
}

/**
 * The symbols a `[kraken]` table without `symbols` should get (BTC and ETH against Kraken's
 * main quote, USD), for the core's default-symbol handling; see docs/venues.md.
 */
export const KRAKEN_DEFAULT_SYMBOLS: readonly string[] = Object.freeze(['BTC/USD', 'ETH/USD']);

export const plugin: PluginManifest = defineExchangePlugin<KrakenVenue>({
  name: PLUGIN_NAME,
  // The core API this adapter needs, as a literal: CORE_API_VERSION is the installed core's
  // (a peer dependency), so declaring it would pass any core (docs/versioning.md).
  // 1.4: its error rules use the adapter kit's VenueErrorRule.outcomeUnknown, which an older core ignores;
  // 1.12: BookSync.replace (a snapshot Kraken pushes while the book is SYNCED).
  coreApi: '1.12',
  checkConfig: (cfg, name) => {
    resolveKrakenOptions(cfg.options, `${name}.options`);
  },
  createVenue: createKrakenVenue,
  validateOptions: validateKrakenOptions,
  defaultSymbols: KRAKEN_DEFAULT_SYMBOLS,
});

export default plugin;

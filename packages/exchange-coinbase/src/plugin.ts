/**
 * The plugin manifest of @cwts/exchange-coinbase. `register` runs once per venue instance with
 * the venue's child container; the MarketDataClient and ExecutionClient share instruments.
 * Without a CDP key the ExecutionClient reports market data only.
 */
import { defineExchangePlugin, type Clock, type Logger, type PluginManifest } from '@cwts/core';
import { type Secret } from '@cwts/core/config';
import { PolledExecutionClient, RateLimiter, refreshOnVenueRefusal } from '@cwts/core/adapter-kit';
import { CoinbaseOrderDriver } from './execution.js';
import { coinbasePrivateKey, coinbaseWsJwt, type CoinbaseWsCredentials } from './jwt.js';
import { CoinbaseMarketData, coinbaseEndpoints } from './market-data.js';
import { resolveCoinbaseOptions, validateCoinbaseOptions } from './options.js';
import { COINBASE_USER_WS_URL } from './user-options.js';
import { CoinbaseUserStream } from './user-stream.js';

export const PLUGIN_NAME = '@cwts/exchange-coinbase';

export interface CoinbaseVenue {
  marketData: CoinbaseMarketData;
  execution: PolledExecutionClient;
  /** The `user` channel (order updates in push); absent without a key or with `user_stream = false`. */
  userStream?: CoinbaseUserStream;
}

/** Builds both halves for one venue table (also used directly by tests). */
export function createCoinbaseVenue(cfg: Readonly<Record<string, unknown>>, deps: { exchange: string; clock: Clock; logger?: Logger; random?: () => number }): CoinbaseVenue {
  const options = resolveCoinbaseOptions(cfg.options, `${deps.exchange}.options`);
  const endpoints = coinbaseEndpoints({ api_url: cfg.api_url as string | undefined, rest_url: cfg.rest_url as string | undefined });
  const limiter = new RateLimiter([{ name: 'ip', limit: options.rest_requests_per_second, intervalMs: 1000 }], () => deps.clock.now());
  const keyName = cfg.api_key as Secret | undefined;
  const secret = cfg.api_secret as Secret | undefined;
  // With a CDP key every subscribe is authenticated (Coinbase's advice for reliability); the key
  // is parsed once here so a bad key fails at startup, not on the first reconnect.
  const credentials: CoinbaseWsCredentials | undefined = keyName && secret ? { keyName: keyName.reveal(), privateKey: coinbasePrivateKey(secret.reveal()) } : undefined;
  const jwt = credentials ? coinbaseWsJwt(credentials, () => deps.clock.now(), options.jwt_ttl_s) : undefined;
  const marketData = new CoinbaseMarketData({ exchange: deps.exchange, endpoints, options, clock: deps.clock, logger: deps.logger, limiter, random: deps.random, ...(credentials ? { credentials } : {}) });
  const instrument = (s: string) => marketData.instrument(s);
  // the user channel: private, so only with a key; it speeds fills up, polling stays the net
  let userStream: CoinbaseUserStream | undefined;
  if (jwt && options.user_stream) {
    const url = options.user_api_url || (cfg.api_url !== undefined ? endpoints.wsUrl : COINBASE_USER_WS_URL);
    userStream = new CoinbaseUserStream({
      exchange: deps.exchange, url: url.replace(/\/+$/, ''), options, clock: deps.clock, logger: deps.logger, random: deps.random, jwt,
      symbols: () => marketData.symbolsLoaded(), instrument, feedSink: () => marketData.feedSink,
    });
  }
  const driver = new CoinbaseOrderDriver({ exchange: deps.exchange, restRoot: endpoints.restRoot, options, clock: deps.clock, logger: deps.logger, apiKey: keyName, apiSecret: secret, instrument });
  const execution = new PolledExecutionClient({
    exchange: deps.exchange, clock: deps.clock, logger: deps.logger, hasCredentials: driver.hasCredentials, driver,
    orderLimit: { limit: options.orders_per_interval, intervalMs: options.order_limit_interval_ms }, pollIntervalMs: options.poll_interval_ms,
    // Advanced Trade counts every private request, reads and orders alike, against one per-user
    // budget: a 429 answered to a read means an order would be refused too
    readsShareOrderRateLimit: true,
    // a create request is signed with a JWT that Coinbase refuses after its lifetime (ccxt: 120 s):
    // past that, an order the venue still does not know by client_order_id was never received
    unknownOrderGraceMs: 120_000 + 5000, instrument, symbols: () => marketData.symbolsLoaded(),
    ...(userStream ? { stream: userStream } : {}),
  });
  refreshOnVenueRefusal(execution, () => marketData.refreshTradingStatusSoon());
  return { marketData, execution, ...(userStream ? { userStream } : {}) };
}

/** Symbols for a `[coinbase]` table without `symbols`: BTC and ETH against Coinbase's main quote, USD. */
export const COINBASE_DEFAULT_SYMBOLS: readonly string[] = Object.freeze(['BTC-USD', 'ETH-USD']);

export const plugin: PluginManifest = defineExchangePlugin<CoinbaseVenue>({
  name: PLUGIN_NAME,
  // The core API this adapter needs, as a literal: CORE_API_VERSION is the installed core's
  // (a peer dependency), so declaring it would pass any core (docs/versioning.md).
  // 1.4: its error rules use the adapter kit's VenueErrorRule.outcomeUnknown, which an older core ignores;
  // 1.5: WsConnection.reconnectWithBackoff; 1.7: the kit's readsShareOrderRateLimit; 1.12: BookSync.replace.
  coreApi: '1.12',
  checkConfig: (cfg, name) => {
    resolveCoinbaseOptions(cfg.options, `${name}.options`);
  },
  createVenue: createCoinbaseVenue,
  validateOptions: validateCoinbaseOptions,
  defaultSymbols: COINBASE_DEFAULT_SYMBOLS,
});

export default plugin;

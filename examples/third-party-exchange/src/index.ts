/**
 * acme-exchange-tinyex: an exchange plugin for the made-up TinyEx venue, written only against
 * the public exports of @cwts/core. Config:
 *
 *   [exchanges]
 *   enabled = ["tinyex"]
 *   [tinyex]
 *   plugin = "acme-exchange-tinyex"
 *   api_url = "ws://127.0.0.1:8000"
 *   rest_url = "http://127.0.0.1:8000"
 *   symbols = ["BTC-USD"]
 */
import { defineExchangePlugin, type PluginManifest } from '@cwts/core';
import { MarketDataOnlyExecution } from '@cwts/core/engine';
import { TinyExMarketData } from './market-data.js';

export { TinyExMarketData, type TinyExSettings } from './market-data.js';
export { tinyexChecksum } from './protocol.js';
export { TinyExFeed, type TinyExFeedOptions } from './feed.js';
export { createTinyExFrameHarness } from './frame-harness.js';

export const plugin: PluginManifest = defineExchangePlugin({
  name: 'acme-exchange-tinyex',
  // The core API this plugin was built against and needs, as a literal. Never CORE_API_VERSION:
  // that is the installed core's (a peer dependency), so it would claim whatever core it is
  // installed beside and the loader's version check could never refuse it (docs/versioning.md).
  coreApi: '1.0',
  createVenue: (cfg, deps) => ({
    marketData: new TinyExMarketData({
      exchange: deps.exchange,
      wsUrl: String(cfg.api_url ?? 'ws://127.0.0.1:8000'),
      restUrl: String(cfg.rest_url ?? 'http://127.0.0.1:8000'),
      clock: deps.clock,
    }),
    // TinyEx takes no orders through this plugin: market data only.
    execution: new MarketDataOnlyExecution(deps.exchange, 'acme-exchange-tinyex is market data only'),
  }),
  validateOptions(options, path) {
    if (options === undefined) return [];
    if (options === null || typeof options !== 'object' || Array.isArray(options)) return [{ path, message: 'must be a table' }];
    return Object.keys(options).map((k) => ({ path: `${path}.${k}`, message: 'unknown key (acme-exchange-tinyex takes no options)' }));
  },
});

export default plugin;

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
import { CORE_API_VERSION, TOKENS, type PluginManifest } from '@cwts/core';
import { MarketDataOnlyExecution } from '@cwts/core/engine';
import { TinyExMarketData } from './market-data.js';

export { TinyExMarketData, type TinyExSettings } from './market-data.js';
export { tinyexChecksum } from './protocol.js';
export { TinyExFeed, type TinyExFeedOptions } from './feed.js';
export { createTinyExFrameHarness } from './frame-harness.js';

export const plugin: PluginManifest = {
  name: 'acme-exchange-tinyex',
  kind: 'exchange',
  coreApi: CORE_API_VERSION,
  register(ctx) {
    const cfg = ctx.config;
    let md: TinyExMarketData | undefined;
    ctx.registrar.factory(TOKENS.MarketDataClient, (c) =>
      (md ??= new TinyExMarketData({
        exchange: ctx.instanceName,
        wsUrl: String(cfg.api_url ?? 'ws://127.0.0.1:8000'),
        restUrl: String(cfg.rest_url ?? 'http://127.0.0.1:8000'),
        clock: c.resolve(TOKENS.Clock),
      })),
    );
    // TinyEx takes no orders through this plugin: market data only.
    ctx.registrar.factory(TOKENS.ExecutionClient, () => new MarketDataOnlyExecution(ctx.instanceName, 'acme-exchange-tinyex is market data only'));
  },
  validateOptions(options, path) {
    if (options === undefined) return [];
    if (options === null || typeof options !== 'object' || Array.isArray(options)) return [{ path, message: 'must be a table' }];
    return Object.keys(options).map((k) => ({ path: `${path}.${k}`, message: 'unknown key (acme-exchange-tinyex takes no options)' }));
  },
};

export default plugin;

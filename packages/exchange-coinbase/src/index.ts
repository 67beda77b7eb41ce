export { plugin, plugin as default, PLUGIN_NAME, COINBASE_DEFAULT_SYMBOLS, createCoinbaseVenue, type CoinbaseVenue } from './plugin.js';
export { CoinbaseMarketData, coinbaseEndpoints, type CoinbaseEndpoints, type CoinbaseMarketDataDeps } from './market-data.js';
export { CoinbaseFrameParser, Frame, type FrameCode, type ProductCtx, type L2Event, type TradeRow } from './parse.js';
export { instrumentsFromProducts, trimDecimal } from './instruments.js';
export { signCoinbaseJwt, coinbasePrivateKey, type CoinbaseJwtInput } from './jwt.js';
export { validateCoinbaseOptions, resolveCoinbaseOptions, DEFAULT_COINBASE_OPTIONS, COINBASE_OPTION_KEYS, CoinbaseOptionsSchema, type CoinbaseOptions } from './options.js';
export { CoinbaseFeed, type CoinbaseFeedOptions, type FeedProduct } from './feed.js';
export { createCoinbaseFrameHarness, coinbaseHarnessInstrument, type CoinbaseHarnessOptions } from './frame-harness.js';
export { CoinbaseOrderDriver } from './execution.js';

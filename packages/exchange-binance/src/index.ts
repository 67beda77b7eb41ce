export { plugin, plugin as default, PLUGIN_NAME, BINANCE_DEFAULT_SYMBOLS, createBinanceVenue, type BinanceVenue } from './plugin.js';
export { BinanceMarketData, binanceEndpoints, BINANCE_USDM_RULES, type BinanceEndpoints, type BinanceMarketDataDeps } from './market-data.js';
export { BinanceExecution, type BinanceExecutionDeps } from './execution.js';
export { BinanceFeed, type BinanceFeedOptions, type FeedSymbol } from './feed.js';
export { createBinanceFrameHarness, parseBinanceFrames, type BinanceHarnessOptions } from './frame-harness.js';
export { Affects, BinanceFrameParser, Frame, makeSymbolCtx, type AffectsCode, type SymbolCtx, type FrameCode } from './parse.js';
export { instrumentsFromExchangeInfo, trimDecimal } from './instruments.js';
export { binanceErrorMap, mapBinanceError } from './errors.js';
export { validateBinanceOptions, resolveBinanceOptions, DEFAULT_BINANCE_OPTIONS, BINANCE_OPTION_KEYS, type BinanceOptions } from './options.js';

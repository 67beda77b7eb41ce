export { plugin, plugin as default, PLUGIN_NAME, createKrakenVenue, KRAKEN_DEFAULT_SYMBOLS, type KrakenVenue } from './plugin.js';
export { KrakenMarketData, type KrakenMarketDataDeps } from './market-data.js';
export { KrakenFeed, type KrakenFeedOptions, type FeedSymbol } from './feed.js';
export { createKrakenFrameHarness, krakenHarnessInstrument, type KrakenHarnessOptions } from './frame-harness.js';
export { KrakenFrameParser, Frame, makeSymbolCtx, numberUnits, rfc3339Ms, type SymbolCtx, type FrameCode } from './parse.js';
export { instrumentsFromPairs, checkKrakenSymbol, numberToDecimal, type KrakenInstrument } from './instruments.js';
export { crc32, checksumText, krakenChecksum, krakenPrecision, CHECKSUM_LEVELS, type KrakenPrecision } from './checksum.js';
export { validateKrakenOptions, resolveKrakenOptions, krakenWsUrl, KrakenOptionsSchema, DEFAULT_KRAKEN_OPTIONS, KRAKEN_WS_URL, type KrakenOptions } from './options.js';
export { KrakenOrderDriver, krakenAssetCode, krakenV2Symbol } from './execution.js';

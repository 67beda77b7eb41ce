export { plugin, plugin as default, PLUGIN_NAME, BYBIT_DEFAULT_SYMBOLS, createBybitVenue, type BybitVenue } from './plugin.js';
export { BybitMarketData, bybitEndpoints, BYBIT_BOOK_RULES, type BybitEndpoints, type BybitMarketDataDeps } from './market-data.js';
export { BybitFrameParser, Frame, makeSymbolCtx, type SymbolCtx, type FrameCode } from './parse.js';
export { instrumentsFromInstrumentsInfo, trimDecimal, type BybitCategory } from './instruments.js';
export { validateBybitOptions, resolveBybitOptions, DEFAULT_BYBIT_OPTIONS, BYBIT_OPTION_KEYS, BybitOptionsSchema, type BybitOptions } from './options.js';
export { BybitExecution, BybitOrderDriver, type BybitExecutionDeps, type BybitDriverDeps, type BybitOrderJson, type BybitExecJson } from './execution.js';
export { bybitErrorMap, mapBybitError } from './errors.js';
export { BybitFeed, type BybitFeedDeps, type SymbolState } from './feed.js';
export { createBybitFrameHarness, bybitHarnessInstrument, type BybitHarnessOptions } from './frame-harness.js';

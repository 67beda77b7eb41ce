export { plugin, plugin as default, PLUGIN_NAME, createCcxtVenue, type CcxtVenue } from './plugin.js';
export { CcxtMarketData, watchErrorReason, type CcxtMarketDataDeps } from './market-data.js';
export { CcxtExecution, type CcxtExecutionDeps } from './execution.js';
export { createCcxtExchange, rerootUrls, PrecisionMode, type CcxtExchange, type CcxtBook, type CcxtTrade, type CcxtMarket } from './ccxt-exchange.js';
export { instrumentFromMarket, incrementOf, findMarket } from './instruments.js';
export { mapCcxtError, type MappedCcxtError } from './errors.js';
export { CcxtOptionsSchema, validateCcxtOptions, resolveCcxtOptions, type CcxtOptions } from './options.js';

export { plugin, plugin as default, PLUGIN_NAME, type SimPluginManifest } from './plugin.js';
export {
  validateSimOptions,
  resolveSimOptions,
  simInstrument,
  simStartPrice,
  splitSymbol,
  toPlainDecimal,
  SimOptionsError,
  SIM_OPTION_KEYS,
  DEFAULT_SIM_OPTIONS,
  DEFAULT_REGIMES,
  REGIME_NAMES,
  type SimOptions,
  type RegimeName,
  type RegimeParams,
  type InstrumentOverride,
  type ReplayFormat,
  type DriveMode,
  type OptionProblem,
} from './options.js';
export { Prng } from './prng.js';
export { SyntheticMarket, bookLevels, bestOf, type BookSide, type Episode, type SimEvent, type SyntheticMarketConfig } from './generator.js';
export { PaperExchange, feeAtoms, type PaperSettings, type PaperVenue } from './paper.js';
export { ReplaySource, MultiExchangeRecordingError, RecordingGridChangeError, checkRecordedEvent, parseRecordedEvent, RECORDED_EVENT_SCHEMAS, type ReplayItem, type ReplaySourceOptions } from './replay.js';
export { readLines, MAX_LINE_CHARS, LINE_TOO_LONG, LINE_NOT_UTF8, type LineReaderEvents } from './replay-lines.js';
export { SimVenue, SimMarketDataClient, SimExecutionClient, MAX_MARKET_BACKLOG_MS, BACKLOG_DROPPED_COMPONENT, type SimVenueConfig } from './venue.js';

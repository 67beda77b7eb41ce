export { builtinDetectors, builtinDetectorPlugins, validateBuiltinDetectorSettings, type BuiltinDetectorDeps, type BuiltinDetectorFactory } from './builtins.js';
export {
  WhaleDetector,
  parseWhaleSettings,
  DEFAULT_WHALE_THRESHOLDS,
  type WhaleSettings,
  type WhaleThresholds,
  type WhaleDetectorStats,
} from './whale.js';
export {
  CascadeDetector,
  parseCascadeSettings,
  DEFAULT_CASCADE_SETTINGS,
  type CascadeSettings,
  type CascadeState,
  type CascadeInput,
} from './cascade.js';
export {
  PatternDetector,
  parsePatternSettings,
  DEFAULT_PATTERN_SETTINGS,
  type PatternSettings,
  type PatternDetectorDeps,
  type PatternDetectorStats,
} from './pattern.js';
export { PatternStore, zNormalizeInto, type PatternStoreOptions } from './pattern-store.js';
export {
  PatternFileError,
  readPatternFile,
  readPatternHeader,
  writePatternFile,
  crc32,
  PATTERN_FILE_MAGIC,
  PATTERN_FILE_VERSION,
  PATTERN_FILE_HEADER_BYTES,
  type PatternRows,
  type PatternFileErrorCode,
  type PatternFileHeader,
} from './pattern-file.js';
export { RobustStats, SymbolTable, clockTime, MAX_VENUE_LEAD_MS } from './common.js';
export { PerSymbol, settingFields, perSymbolTable, parseDetectorSettings, unknownSymbolKeys } from './settings.js';
export { DetectorHarness } from './harness.js';

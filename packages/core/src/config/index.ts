export { loadConfigFile, parseConfig, resolveConfigPath, resolvePluginSpecifier } from './load.js';
export { ConfigError, type ConfigIssue } from './errors.js';
export { Secret, isSecretKey } from './secret.js';
export { substituteEnv, escapeEnvReferences, type SubstitutionResult } from './env.js';
export { DEFAULT_BACKENDS, DEFAULT_JOURNAL_PATH } from './schema.js';
export * from './types.js';
export { resolveDataDir } from './data-dir.js';

export { loadConfigFile, parseConfig, resolveConfigPath, resolvePluginSpecifier } from './load.js';
export { ConfigError, type ConfigIssue } from './errors.js';
export { Secret, isSecretKey } from './secret.js';
export { closestMatch } from './suggest.js';
export { Redactor, outputRedactor, redactUrlCredentials, REDACTED, MIN_MASKED_LENGTH } from './redact.js';
export { substituteEnv, escapeEnvReferences, type SubstitutionResult } from './env.js';
export { DEFAULT_BACKENDS, DEFAULT_JOURNAL_PATH } from './schema.js';
export { resolveDataDir, DEPLOY_DATA_DIR } from './data-dir.js';
export * from './types.js';

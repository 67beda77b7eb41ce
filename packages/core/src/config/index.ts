export { loadConfigFile, parseConfig, resolveConfigPath, resolvePluginSpecifier } from './load.js';
export { ConfigError, type ConfigIssue } from './errors.js';
export { Secret, isSecretKey } from './secret.js';
export { closestMatch } from './suggest.js';
export { checkOptions, unknownKeyMessage, describeValue as describeOptionValue, type OptionsCheck } from './zod-options.js';
export { Redactor, outputRedactor, redactUrlCredentials, REDACTED, MIN_MASKED_LENGTH } from './redact.js';
export { substituteEnv, escapeEnvReferences, type SubstitutionResult } from './env.js';
export { DEFAULT_BACKENDS, DEFAULT_JOURNAL_PATH } from './schema.js';
export * from './types.js';

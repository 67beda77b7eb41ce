/**
 * The root entry of @cwts/core: what every plugin author needs and nothing heavy. Domain types,
 * the contracts (exchange, compute, trading), DI tokens and decorators, the plugin manifest API
 * and the config types. It never loads the engine, tsyringe, pino, prom-client, ws, commander
 * or better-sqlite3 (test/core-entry.test.ts proves it). Everything else has its own subpath:
 * `@cwts/core/engine`, `/adapter-kit`, `/microstructure`, `/detectors`, `/risk`,
 * `/observability`, `/compute`, `/config`, `/journal`, `/plugins`, `/di`, `/testing`.
 */
export * from './domain/index.js';
export * from './contracts/index.js';
export { inject, injectAll, injectable, singleton, type ParameterInjection } from './di/decorators.js';
export { DuplicateRegistrationError, UnregisteredTokenError } from './di/errors.js';
export * from './di/tokens.js';
export { SERVICE_TOKENS } from './services/tokens.js';
export type { Journal } from './journal/journal.js';
export type { JournalRecord } from './journal/records.js';
// The container itself (tsyringe) is `@cwts/core/di`; plugins only see it through these types.
export type { CwtsContainer, ScopedRegistrar, Constructor } from './di/container.js';
export * from './plugins/manifest.js';
export * from './plugins/exchange-plugin.js';
export * from './plugins/errors.js';
export type * from './config/types.js';
export type { ConfigIssue } from './config/errors.js';
export type { Logger } from './observability/logger.js';

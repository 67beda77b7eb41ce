// The decorators and tokens need nothing; the container loads tsyringe (and reflect-metadata,
// which tsyringe requires, first). This file is importable on its own.
export { inject, injectAll, injectable, singleton, constructorInjections, type ParameterInjection } from './decorators.js';
export { DuplicateRegistrationError, ReservedTokenError, ScopeRegistrationError, UnregisteredTokenError } from './errors.js';
export * from './tokens.js';
export * from './container.js';

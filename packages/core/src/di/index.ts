// Plugins import the decorators from core, never from tsyringe, so one copy exists at runtime.
export { injectable, singleton } from 'tsyringe';
export { inject, injectAll } from './decorators.js';
export * from './tokens.js';
export * from './container.js';

import { inject as tsyringeInject, injectAll as tsyringeInjectAll } from 'tsyringe';
import type { Token } from './tokens.js';

/**
 * `@inject(TOKENS.X)` on every constructor parameter. Takes our Token objects so plugins never
 * see tsyringe's symbols; explicit on purpose because tsx/esbuild do not emit design:paramtypes.
 */
export function inject<T>(token: Token<T>): ParameterDecorator {
  return tsyringeInject(token.symbol) as ParameterDecorator;
}

/** Every registration of a multi-slot token (detectors, risk checks, backend providers). */
export function injectAll<T>(token: Token<T>): ParameterDecorator {
  if (!token.multi) throw new Error(`injectAll(${token.description}): not a multi-slot token`);
  return tsyringeInjectAll(token.symbol) as ParameterDecorator;
}

import type { Token } from './tokens.js';

/**
 * `@injectable()` on a class and `@inject(TOKENS.X)` on every constructor parameter. Our own
 * decorators rather than tsyringe's: they record which token each parameter wants in a plain
 * table, so a plugin that only declares classes loads neither tsyringe nor reflect-metadata
 * (both cost more than the rest of the root entry together), and plugins never see tsyringe.
 * The container (container.ts) reads the table when it builds the class. Tokens are explicit on
 * purpose: tsx/esbuild do not emit design:paramtypes, so nothing is inferred.
 */
export interface ParameterInjection {
  readonly token: Token<unknown>;
  /** Every registration of a multi-slot token, as an array. */
  readonly all: boolean;
}

export type ClassDecorator = <T extends abstract new (...args: any[]) => unknown>(target: T) => void;

/**
 * The tables live on globalThis under Symbol.for keys, like the tokens: a plugin decorated with
 * its own copy of @cwts/core (a path plugin with its own node_modules, a second installed
 * version) records into the same tables the host's container reads. Module-private tables
 * would make the host refuse a correctly decorated class as "not @injectable()".
 */
const shared = globalThis as Record<symbol, unknown>;
const parameterTable = (shared[Symbol.for('cwts.di.parameterTable')] ??= new WeakMap<object, (ParameterInjection | undefined)[]>()) as WeakMap<object, (ParameterInjection | undefined)[]>;
const injectableClasses = (shared[Symbol.for('cwts.di.injectableClasses')] ??= new WeakSet<object>()) as WeakSet<object>;

function record(target: object, index: number, p: ParameterInjection): void {
  const list = parameterTable.get(target) ?? [];
  list[index] = p;
  parameterTable.set(target, list);
}

/** One registration of `token` for this constructor parameter. */
export function inject<T>(token: Token<T>): ParameterDecorator {
  return (target, propertyKey, index) => {
    if (propertyKey !== undefined) throw new Error(`@inject(${token.description}) is for constructor parameters only`);
    record(target, index, { token: token as Token<unknown>, all: false });
  };
}

/** Every registration of a multi-slot token (detectors, risk checks, backend providers). */
export function injectAll<T>(token: Token<T>): ParameterDecorator {
  if (!token.multi) throw new Error(`injectAll(${token.description}): not a multi-slot token`);
  return (target, propertyKey, index) => {
    if (propertyKey !== undefined) throw new Error(`@injectAll(${token.description}) is for constructor parameters only`);
    record(target, index, { token: token as Token<unknown>, all: true });
  };
}

/** Marks a class the container may build; its constructor parameters each need `@inject`. */
export function injectable(): ClassDecorator {
  return (target) => {
    injectableClasses.add(target);
  };
}

/**
 * Same as `injectable()`: the container builds one instance per scope either way (a global
 * singleton would leak state between deployments in one process, e.g. in tests).
 */
export const singleton = injectable;

/**
 * What the container passes to a class's constructor, in order. Fails, naming the class and the
 * parameter, when a parameter has no `@inject` or the class is not `@injectable()`.
 */
export function constructorInjections(cls: abstract new (...args: any[]) => unknown): ParameterInjection[] {
  const name = cls.name || 'an anonymous class';
  if (!injectableClasses.has(cls)) throw new Error(`${name} is not @injectable(): decorate it (import { injectable } from '@cwts/core')`);
  const table = parameterTable.get(cls) ?? [];
  const out: ParameterInjection[] = [];
  for (let i = 0; i < Math.max(cls.length, table.length); i++) {
    const p = table[i];
    if (!p) throw new Error(`${name}: constructor parameter ${i} has no @inject(TOKENS.X); every parameter needs one`);
    out.push(p);
  }
  return out;
}

import 'reflect-metadata';
import { container as tsyringeRoot, type DependencyContainer } from 'tsyringe';
import { constructorInjections } from './decorators.js';
import { DuplicateRegistrationError, ReservedTokenError, ScopeRegistrationError, UnregisteredTokenError } from './errors.js';
import { TOKENS, type Token } from './tokens.js';

export { DuplicateRegistrationError, ReservedTokenError, ScopeRegistrationError, UnregisteredTokenError };

/** Tokens a child scope refuses (they are read from the root only), and what to tell the plugin. */
export interface RootOnlyTokens {
  readonly tokens: readonly Token<unknown>[];
  /** What to do instead, appended to the ScopeRegistrationError. */
  readonly hint: string;
}

export type Constructor<T> = new (...args: any[]) => T;

/** A plugin's own config table (TOKENS.PluginConfig), as its register() received it. */
export type PluginConfigTable = Readonly<Record<string, unknown>>;

/**
 * Core's tokens a venue's child scope holds, one per venue (docs/architecture.md). Every other
 * token is provided once for the scope that registers it and the scopes below it.
 */
export const VENUE_TOKENS: ReadonlySet<Token<unknown>> = new Set<Token<unknown>>([TOKENS.VenueName, TOKENS.VenueConfig, TOKENS.MarketDataClient, TOKENS.ExecutionClient]);
const VENUE_SYMBOLS: ReadonlySet<symbol> = new Set([...VENUE_TOKENS].map((t) => t.symbol));

/** The scope name of each tsyringe container we made, for errors naming the scope a class is built in. */
const scopeNames = new WeakMap<DependencyContainer, string>();

/** Why nothing provides TOKENS.PluginConfig, and what does (tokens.ts). */
const PLUGIN_CONFIG_HINT =
  "TOKENS.PluginConfig is given only to the constructor of a class a plugin registers (@inject(TOKENS.PluginConfig)); a factory or initialize() reads the plugin's table from register()'s ctx.config";

/**
 * A thin wrapper over a tsyringe child container that knows who registered what, so a second
 * registration on a single-slot token fails with both plugin names, and child scopes (one per
 * exchange instance) see the parent's registrations.
 */
export class CwtsContainer {
  private readonly owners = new Map<symbol, string[]>();
  /** Single-slot tokens whose current provider is core's default, which a plugin may override. */
  private readonly defaults = new Set<symbol>();
  /** Single-slot tokens only one owner (core) may provide, with what to tell anyone else (reserve). */
  private readonly reserved = new Map<symbol, { owner: string; hint: string }>();

  private readonly rootOnly: ReadonlySet<symbol>;

  private constructor(
    private readonly inner: DependencyContainer,
    readonly scope: string,
    private readonly parent?: CwtsContainer,
    private readonly rootOnlyTokens?: RootOnlyTokens,
  ) {
    this.rootOnly = new Set(rootOnlyTokens?.tokens.map((t) => t.symbol) ?? []);
    scopeNames.set(inner, scope);
  }

  /** A fresh root scope (a child of tsyringe's global container, which we never touch). */
  static createRoot(scope = 'root'): CwtsContainer {
    return new CwtsContainer(tsyringeRoot.createChildContainer(), scope);
  }

  /**
   * `rootOnly`: tokens this scope refuses at register time (a venue scope: the router, risk
   * checks, detectors, strategy, clock, journal, ... which composition reads from the root only;
   * registered here they would be dropped or shadow the root's for this scope alone).
   */
  createChild(scope: string, rootOnly?: RootOnlyTokens): CwtsContainer {
    return new CwtsContainer(this.inner.createChildContainer(), `${this.scope}/${scope}`, this, rootOnly);
  }

  /**
   * A view whose registrations are recorded as made by `owner` (a plugin name). `overrides`:
   * the single-slot tokens the plugin's manifest declares it replaces (core's defaults only).
   * `pluginConfig`: the plugin's own table, given to the classes it registers (TOKENS.PluginConfig).
   */
  as(owner: string, overrides: readonly Token<unknown>[] = [], pluginConfig?: PluginConfigTable): ScopedRegistrar {
    return new ScopedRegistrar(this, owner, new Set(overrides.map((t) => t.symbol)), false, pluginConfig);
  }

  /** A view for core's own plugins: its single-slot registrations are defaults (see registerDefault). */
  asDefaults(owner: string, pluginConfig?: PluginConfigTable): ScopedRegistrar {
    return new ScopedRegistrar(this, owner, new Set(), true, pluginConfig);
  }

  /**
   * Core's default provider of a single-slot service (router, journal, risk manager, ...), built
   * on first resolve. A plugin replaces it by registering the token with `overrides` declared in
   * its manifest; the default is then never built (no journal file opened for nothing).
   */
  registerDefault<T>(token: Token<T>, factory: (c: CwtsContainer) => T, owner = '@cwts/core'): void {
    if (token.multi) throw new Error(`registerDefault(${token.description}): only single-slot tokens have a default`);
    this.registerFactory(token, factory, owner);
    this.defaults.add(token.symbol);
  }

  /**
   * Reserves a single-slot token for `owner` in this scope and its children: a registration by
   * anyone else, with or without `overrides`, is refused at register time (ReservedTokenError,
   * ending with `hint`: what to do instead), so `validate-config` refuses it as `run` does. The
   * token stays unprovided until `owner` registers it (core's chosen compute backend, at startup).
   */
  reserve<T>(token: Token<T>, owner: string, hint: string): void {
    if (token.multi) throw new Error(`reserve(${token.description}): only single-slot tokens can be reserved`);
    this.reserved.set(token.symbol, { owner, hint });
  }

  /** Marks the current single-slot registration of `token` as a default a plugin may replace. */
  markDefault<T>(token: Token<T>): void {
    if (!token.multi) this.defaults.add(token.symbol);
  }

  /** Whether core's default still provides the token here (no plugin replaced it). */
  isDefault<T>(token: Token<T>): boolean {
    return this.defaults.has(token.symbol);
  }

  registerValue<T>(token: Token<T>, value: T, owner: string, mayOverride = false): void {
    this.claim(token, owner, mayOverride);
    this.inner.register(token.symbol, { useValue: value });
  }

  /**
   * A class built from its `@inject` parameters (di/decorators.ts), once, from the scope that
   * registered it: a deployment-wide service (a plugin's clock, logger, router, risk check, ...)
   * is the same instance for the engine and for every venue scope that resolves it, as a value
   * or factory registration is. Only a venue token (VENUE_TOKENS) is built once per scope that
   * resolves it, each venue's with its own venue tokens.
   * `pluginConfig`: what a TOKENS.PluginConfig parameter gets (the registering plugin's table);
   * without it such a parameter is unprovided, like any token nothing registered.
   */
  registerClass<T>(token: Token<T>, cls: Constructor<T>, owner: string, mayOverride = false, pluginConfig?: PluginConfigTable): void {
    const params = constructorInjections(cls);
    this.claim(token, owner, mayOverride);
    const perVenue = VENUE_SYMBOLS.has(token.symbol);
    const built = new WeakMap<DependencyContainer, T>();
    const argument = (c: DependencyContainer, p: (typeof params)[number], index: number): unknown => {
      const symbol = p.token.symbol;
      if (p.all) return c.isRegistered(symbol, true) ? c.resolveAll(symbol) : [];
      if (symbol === TOKENS.PluginConfig.symbol && pluginConfig !== undefined) return pluginConfig;
      // Not tsyringe's own error: ours names the token, the scope and the parameter.
      if (!c.isRegistered(symbol, true)) {
        const hint = symbol === TOKENS.PluginConfig.symbol ? PLUGIN_CONFIG_HINT : undefined;
        throw new UnregisteredTokenError(p.token.description, scopeNames.get(c) ?? this.scope, `${cls.name || 'an anonymous class'}'s constructor parameter ${index}, registered by ${owner}`, hint);
      }
      return c.resolve(symbol);
    };
    this.inner.register(token.symbol, {
      useFactory: (resolving) => {
        // Keyed by the registering scope otherwise: a venue scope resolving a root service
        // must not build a second one (the venue would run on another clock than the engine).
        const c = perVenue ? resolving : this.inner;
        let v = built.get(c);
        if (v === undefined) {
          const args = params.map((p, i) => argument(c, p, i));
          v = new cls(...args);
          built.set(c, v);
        }
        return v;
      },
    });
  }

  registerFactory<T>(token: Token<T>, factory: (c: CwtsContainer) => T, owner: string, mayOverride = false): void {
    this.claim(token, owner, mayOverride);
    let made = false;
    let value: T;
    // Cached per container: a factory runs at most once per scope.
    this.inner.register(token.symbol, {
      useFactory: () => {
        if (!made) {
          value = factory(this);
          made = true;
        }
        return value;
      },
    });
  }

  isRegistered<T>(token: Token<T>): boolean {
    return this.inner.isRegistered(token.symbol, true);
  }

  resolve<T>(token: Token<T>): T {
    if (!this.isRegistered(token)) throw new UnregisteredTokenError(token.description, this.scope, undefined, token.symbol === TOKENS.PluginConfig.symbol ? PLUGIN_CONFIG_HINT : undefined);
    return this.inner.resolve<T>(token.symbol);
  }

  resolveAll<T>(token: Token<T>): T[] {
    if (!this.isRegistered(token)) return [];
    return this.inner.resolveAll<T>(token.symbol);
  }

  /** The nearest scope (this or a parent) that provides the token. */
  private scopeOf<T>(token: Token<T>): string {
    return (this.owners.get(token.symbol)?.length ?? 0) > 0 || !this.parent ? this.scope : this.parent.scopeOf(token);
  }

  /** The reservation of a token here or in a parent scope. */
  private reservationOf<T>(token: Token<T>): { owner: string; hint: string } | undefined {
    return this.reserved.get(token.symbol) ?? this.parent?.reservationOf(token);
  }

  /** Who provides a token here or in a parent scope. */
  ownersOf<T>(token: Token<T>): string[] {
    const here = this.owners.get(token.symbol) ?? [];
    return here.length > 0 || !this.parent ? [...here] : this.parent.ownersOf(token);
  }

  private claim<T>(token: Token<T>, owner: string, mayOverride: boolean): void {
    if (this.rootOnly.has(token.symbol)) throw new ScopeRegistrationError(token.description, owner, this.scope, this.rootOnlyTokens!.hint);
    const reservation = this.reservationOf(token);
    if (reservation !== undefined && reservation.owner !== owner) throw new ReservedTokenError(token.description, reservation.owner, owner, this.scope, reservation.hint);
    // A single slot provided by a parent scope: a second provider here would silently shadow it
    // for this scope only (and an override declared here would replace nothing at the root).
    const inherited = !token.multi && this.parent ? this.parent.ownersOf(token) : [];
    if (inherited.length > 0) throw new DuplicateRegistrationError(token.description, inherited[0]!, owner, this.scope, mayOverride, this.parent!.scopeOf(token));
    const list = this.owners.get(token.symbol) ?? [];
    if (!token.multi && list.length > 0) {
      // Only core's default can be replaced, and only by a plugin that says so: two plugins
      // replacing the same service is still an error naming both.
      if (!mayOverride || !this.defaults.has(token.symbol)) {
        throw new DuplicateRegistrationError(token.description, list[0]!, owner, this.scope, mayOverride);
      }
      this.defaults.delete(token.symbol);
      // tsyringe resolves the last registration of a token: the plugin's, from here on.
      this.owners.set(token.symbol, [owner]);
      return;
    }
    list.push(owner);
    this.owners.set(token.symbol, list);
  }
}

/** The registration surface handed to a plugin's `register`. */
export class ScopedRegistrar {
  constructor(
    readonly container: CwtsContainer,
    readonly owner: string,
    private readonly overrides: ReadonlySet<symbol> = new Set(),
    private readonly asDefault = false,
    /** The plugin's own table: what its classes' TOKENS.PluginConfig parameters get. */
    private readonly pluginConfig?: PluginConfigTable,
  ) {}
  value<T>(token: Token<T>, value: T): void {
    if (this.asDefault && !token.multi) return this.container.registerDefault(token, () => value, this.owner);
    this.container.registerValue(token, value, this.owner, this.overrides.has(token.symbol));
  }
  class<T>(token: Token<T>, cls: Constructor<T>): void {
    if (this.asDefault && !token.multi) {
      this.container.registerClass(token, cls, this.owner, false, this.pluginConfig);
      this.container.markDefault(token);
      return;
    }
    this.container.registerClass(token, cls, this.owner, this.overrides.has(token.symbol), this.pluginConfig);
  }
  factory<T>(token: Token<T>, factory: (c: CwtsContainer) => T): void {
    if (this.asDefault && !token.multi) return this.container.registerDefault(token, factory, this.owner);
    this.container.registerFactory(token, factory, this.owner, this.overrides.has(token.symbol));
  }
}

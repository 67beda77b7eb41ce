import type { CwtsContainer, ScopedRegistrar } from '../di/container.js';
import type { Token } from '../di/tokens.js';
import type { Logger } from '../observability/logger.js';
import type { MarketType } from '../config/constants.js';

export type PluginKind = 'exchange' | 'backend' | 'detector' | 'strategy' | 'risk' | 'router';
export const PLUGIN_KINDS: readonly PluginKind[] = ['exchange', 'backend', 'detector', 'strategy', 'risk', 'router'];

/**
 * The core API version plugins build against, "major.minor". A plugin declaring "1.x" loads on
 * any core 1.y with y >= x; a different major never loads.
 */
export const CORE_API_VERSION = '1.14';

export interface PluginRegistrationContext {
  /** Register into this (owner-tagged) view; for exchange plugins it is the venue's child scope. */
  readonly registrar: ScopedRegistrar;
  /** Exchange plugins: the venue name ("binance"); others: the plugin name. */
  readonly instanceName: string;
  /** The plugin's validated config table (venue table for exchanges). */
  readonly config: Readonly<Record<string, unknown>>;
}

export interface PluginInitContext {
  readonly container: CwtsContainer;
  readonly logger: Logger;
  readonly instanceName: string;
  /**
   * Aborted when `initialize()` runs past its deadline (`[system] plugin_init_timeout_ms`,
   * default 60 s), or when startup is abandoned while it runs (`run` got SIGTERM, SIGINT or SIGHUP,
   * or a process fault): startup will not go on, so stop and release what was started. Optional
   * in the type for callers that build a context themselves; core always passes one.
   */
  readonly signal?: AbortSignal;
}

/**
 * Exchange plugins: which of the venue-table keys core defines, but only a plugin can act on, this
 * plugin honours (core API 1.11). Core refuses a venue table that asks for what its plugin does
 * not declare, naming the key and the venue (engine/prepare-plugins.ts): a `testnet = true` the
 * plugin ignores would send real orders to production.
 */
export interface VenueKeys {
  /** `testnet = true` switches the plugin to the venue's test environment. Default false: refused. */
  readonly testnet?: boolean;
  /** The `market` values the plugin trades. Default `["spot"]`, the key's default. */
  readonly markets?: readonly MarketType[];
}

/** What a plugin package exports, as `export const plugin` or the default export. */
export interface PluginManifest {
  readonly name: string;
  readonly kind: PluginKind;
  /** CORE_API_VERSION it was built for. */
  readonly coreApi: string;
  /**
   * Core services this plugin replaces (e.g. `[TOKENS.OrderRouter, SERVICE_TOKENS.Journal]`):
   * registering one of these tokens then replaces core's default instead of failing as a double
   * registration. Only core's defaults can be replaced, and by one plugin each.
   */
  readonly overrides?: readonly Token<unknown>[];
  /**
   * Synchronous: only registrations, no I/O. Called once per instance for exchange plugins.
   * Returning a promise (an `async register`) is a load error (REGISTER_FAILED): what it would
   * register after an `await` lands after the engine has read the container.
   */
  register(ctx: PluginRegistrationContext): void;
  /**
   * I/O-bearing setup after every plugin registered (e.g. open a device), within
   * `[system] plugin_init_timeout_ms` (default 60 s); past it startup fails (INITIALIZE_FAILED)
   * and `ctx.signal` is aborted, as it is when startup is abandoned meanwhile (a shutdown signal).
   * If it throws, times out or is abandoned, this plugin's `dispose` is not called.
   */
  initialize?(ctx: PluginInitContext): Promise<void>;
  /**
   * Releases what `initialize` acquired; called once per manifest, in reverse registration order,
   * within `[system] plugin_dispose_timeout_ms` (default 5 s). A failure or a hang is logged and
   * the next plugin is disposed anyway.
   */
  dispose?(): Promise<void>;
  /**
   * Checks the plugin's own settings before anything registers or connects; one issue per
   * problem with its full key path. `run` and `validate-config` both call it (the same code:
   * engine/prepare-plugins.ts) and report every plugin's issues together. What it receives:
   * exchange plugins `[<venue>.options]` (path `<venue>.options`, e.g. `sim.options.seed`),
   * detector plugins the `[detectors.<name>]` keys other than `enabled` and `plugin` (path
   * `detectors.<name>`), strategy plugins the `[strategy]` keys other than `plugin` (path
   * `strategy`), backend plugins `[compute.<name>]` (path `compute.<name>`), risk-check plugins
   * the `[risk_checks.<name>]` keys other than `enabled` and `plugin` (path `risk_checks.<name>`). Messages should not
   * quote values; core masks `${VAR}` values and URL credentials in them regardless.
   * It must be synchronous and return an array (`[]`: no problems); `undefined` or `null` is read
   * as no problems too. Anything else (a promise, an object, an entry without a string
   * `message`) is reported as an issue naming the plugin.
   */
  validateOptions?(options: unknown, path: string): { path: string; message: string }[];
  /**
   * Exchange plugins: the symbols a venue table without `symbols` gets (venue names, e.g. BTC
   * and ETH against the venue's main quote). Core applies it and logs the list; without it, an
   * empty list reaches the plugin unchanged.
   */
  readonly defaultSymbols?: readonly string[];
  /**
   * Exchange plugins: the venue keys it honours (see VenueKeys). Without it, `testnet = true` and
   * any `market` but "spot" are refused for its venues. Added in core API 1.11; an older core
   * ignores it.
   */
  readonly venueKeys?: VenueKeys;
}

export function definePlugin(manifest: PluginManifest): PluginManifest {
  return manifest;
}

/**
 * The one check of a deployment's plugins that `run` (through composeDeployment) and
 * `validate-config` both use, so the two can never disagree: load every configured plugin (core's
 * own built-in detectors, router and risk checks through the same manifests), run each plugin's
 * `validateOptions` on its own settings, and register every plugin in its scope. Every problem of every plugin is collected and thrown
 * together as one ConfigError; nothing stops at the first one. No plugin is initialized here
 * (initialize may do I/O; validate-config must not).
 */
import { ConfigError, type ConfigIssue } from '../config/errors.js';
import type { LoadedConfig, PerformanceConfig, VenueConfig } from '../config/types.js';
import { CwtsContainer, VENUE_TOKENS, type RootOnlyTokens } from '../di/container.js';
import { TOKENS, type Token } from '../di/tokens.js';
import { SERVICE_TOKENS } from '../services/tokens.js';
import { builtinDetectorPlugins, builtinDetectorSymbolIssues } from '../detectors/builtins.js';
import { CORE_PLUGINS } from './builtin-plugins.js';
import type { Logger } from '../observability/logger.js';
import { PluginLoadError } from '../plugins/errors.js';
import { importPlugin, PluginHost, type PluginHostOptions, type PluginRequest } from '../plugins/loader.js';
import type { PluginKind, PluginManifest } from '../plugins/manifest.js';
import { computeBackendCandidates, computePluginSpec, type ComputeConfig } from '../config/compute-schema.js';

/**
 * A venue scope holds core's VENUE_TOKENS: its name and table (core's) and its two clients (the
 * plugin's). Every other core token is deployment-wide: composition reads the router, risk checks,
 * detectors, strategy, clock, journal and the other core services from the root only, so an
 * exchange plugin registering one in its venue scope would be dropped (a risk check that never
 * runs, an override that replaces nothing) or would shadow core's for that venue. Refused at
 * register time instead, naming the plugin. A plugin's own tokens stay allowed.
 */
const VENUE_SCOPE_REFUSES: RootOnlyTokens = {
  tokens: [...Object.values(TOKENS), ...Object.values(SERVICE_TOKENS)].filter((t) => !VENUE_TOKENS.has(t)),
  hint:
    "an exchange plugin registers only its venue's MarketDataClient and ExecutionClient (and tokens of its own). " +
    'Provide a router, risk check, detector, strategy or core service from a plugin of that kind ([risk_checks.<name>], ' +
    '[detectors.<name>], [strategy]), listing the token in its manifest\'s overrides to replace core\'s (docs/writing-an-exchange-plugin.md).',
};

/** One plugin the config asks for. */
export interface PlannedPlugin {
  req: PluginRequest;
  /** The venue name, the detector name, "strategy" or the backend name. */
  instanceName: string;
  /** What `register` receives as `config`: the venue table, the settings table, the backend settings. */
  config: Readonly<Record<string, unknown>>;
  /** What `validateOptions` receives, and the key path of it in the config file. */
  options: unknown;
  optionsPath: string;
  scope: 'venue' | 'root';
  /** Compute backends: a missing package is a skipped backend, not an error. */
  optional: boolean;
  /** Core's own plugins (built-in detectors, router, risk checks): no import, same manifest path. */
  builtin?: PluginManifest;
  /** Core plugins whose single-slot registrations are defaults (the router). */
  core?: boolean;
}

/**
 * Every plugin of the deployment, in registration order: core's (the `direct` router, the
 * built-in risk checks), venues, enabled built-in detectors, enabled plugin detectors, strategy,
 * `[risk_checks.*]` plugins, backends. Detectors and risk checks run in this order.
 */
export function planPlugins(loaded: LoadedConfig, venues: readonly VenueConfig[]): { plan: PlannedPlugin[]; backendSkips: { name: string; reason: string }[]; unknownDetectors: string[] } {
  const cfg = loaded.config;
  const plan: PlannedPlugin[] = [];
  for (const m of CORE_PLUGINS) {
    plan.push({ req: { spec: m.name, kind: m.kind, origin: 'built-in' }, instanceName: m.name, config: {}, options: {}, optionsPath: m.kind, scope: 'root', optional: false, builtin: m, core: true });
  }
  for (const v of venues) {
    plan.push({ req: { spec: v.plugin, kind: 'exchange', origin: `exchanges.enabled: ${v.name}` }, instanceName: v.name, config: v, options: v.options, optionsPath: `${v.name}.options`, scope: 'venue', optional: false });
  }
  const builtinDetectors = builtinDetectorPlugins();
  const unknownDetectors: string[] = [];
  for (const d of cfg.detectors) {
    if (!d.enabled || d.plugin) continue;
    const m = builtinDetectors.get(d.name);
    if (!m) {
      unknownDetectors.push(d.name);
      continue;
    }
    plan.push({ req: { spec: m.name, kind: 'detector', origin: `detectors.${d.name}` }, instanceName: d.name, config: d.settings, options: d.settings, optionsPath: `detectors.${d.name}`, scope: 'root', optional: false, builtin: m });
  }
  for (const d of cfg.detectors) {
    if (!d.enabled || !d.plugin) continue;
    plan.push({ req: { spec: d.plugin, kind: 'detector', origin: `detectors.${d.name}.plugin` }, instanceName: d.name, config: d.settings, options: d.settings, optionsPath: `detectors.${d.name}`, scope: 'root', optional: false });
  }
  if (cfg.strategy) {
    plan.push({ req: { spec: cfg.strategy.plugin, kind: 'strategy', origin: 'strategy.plugin' }, instanceName: 'strategy', config: cfg.strategy.settings, options: cfg.strategy.settings, optionsPath: 'strategy', scope: 'root', optional: false });
  }
  for (const r of cfg.risk_checks ?? []) {
    if (!r.enabled) continue;
    plan.push({ req: { spec: r.plugin, kind: 'risk', origin: `risk_checks.${r.name}.plugin` }, instanceName: r.name, config: r.settings, options: r.settings, optionsPath: `risk_checks.${r.name}`, scope: 'root', optional: false });
  }
  // Compute backends load like any plugin (computeBackendPlugin). A missing package is a skipped
  // backend (with its reason), not a config error: the registry decides whether that leaves
  // anything usable. Whether a backend needs a GPU is the provider's own declaration, applied by
  // compose once it is registered.
  const backendSkips: { name: string; reason: string }[] = [];
  for (const name of computeBackendCandidates(cfg.compute)) plan.push(computeBackendPlugin(cfg.compute, cfg.performance, name));
  return { plan, backendSkips, unknownDetectors };
}

/**
 * What compute backends take from `[performance]`. A key left out is the config's default
 * (simd_enabled true; thread_pool_size: the backend's own default, this host's cores).
 */
export type ComputePerformance = Partial<Pick<PerformanceConfig, 'gpu_enabled' | 'simd_enabled' | 'thread_pool_size'>>;

/**
 * How startup loads compute backend `name`: from `[compute.<name>] plugin` or
 * @cwts/backend-<name>, registered with its `[compute.<name>]` table plus `[performance]
 * simd_enabled`. The one definition preparePlugins (`run`) and discoverBackends (`backends
 * --config`, doctor, validate-config) both use: a backend registered with other settings by one
 * of them is a deployment the checks refuse and `run` starts, or the reverse.
 */
export function computeBackendPlugin(compute: ComputeConfig, performance: ComputePerformance, name: string): PlannedPlugin {
  const own = compute.backendOptions[name] ?? {};
  // [performance] simd_enabled is every backend's default; the backend's own table, being the
  // more specific, wins (docs/configuration.md). `simdEnabled` is cpu-simd's alias of the key.
  const ownSimd = own.simd_enabled ?? own.simdEnabled;
  const config = ownSimd !== undefined ? { ...own } : { ...own, simd_enabled: performance.simd_enabled ?? true };
  const spec = computePluginSpec(compute, name);
  const origin = compute.plugins[name] !== undefined ? `compute.${name}.plugin` : compute.backends === undefined ? `compute (auto-detect): ${name}` : `compute.backends: ${name}`;
  return { req: { spec, kind: 'backend', origin }, instanceName: name, config, options: own, optionsPath: `compute.${name}`, scope: 'root', optional: true };
}

/** Why a backend's plugin did not load, as startup reports the skip. */
export function backendLoadSkipReason(err: unknown, spec: string): string {
  const e = err instanceof PluginLoadError ? err : new PluginLoadError('IMPORT_FAILED', spec, String(err));
  return e.code === 'NOT_INSTALLED' ? `not installed (package ${spec})` : e.message;
}

export interface PreparePluginsOptions {
  loaded: LoadedConfig;
  /** The container plugins register into; validate-config passes a scratch one. */
  root: CwtsContainer;
  logger: Logger;
  /** Replaces the configured venues (replay), with any option overrides already merged. */
  venues?: readonly VenueConfig[];
  /**
   * The venues are not the config's own (replay runs the recorded exchange and symbols): per-symbol
   * overrides naming the config's other venues or symbols are valid there (validate-config checks
   * them against the config), and simply do not apply here.
   */
  venuesReplaced?: boolean;
  /**
   * Overrides the plugin deadlines read from `[system] plugin_init_timeout_ms` (each module's
   * import and each initialize()) and `plugin_dispose_timeout_ms` (tests).
   */
  pluginHost?: PluginHostOptions;
  /**
   * Abandons preparing (`run` got a shutdown signal while starting): the wait for plugin imports
   * still under way ends at once and the signal's reason is thrown.
   */
  signal?: AbortSignal;
}

/** What one detector, strategy or `[risk_checks.<name>]` table's register() call added. */
export interface TableRegistrations {
  /** The table's key path: `risk_checks.cap`, `detectors.spread`, `strategy`. */
  path: string;
  /** The manifest name of the table's plugin. */
  plugin: string;
  /** The token that kind of plugin must register (RiskCheck, Detector, Strategy). */
  token: Token<unknown>;
  /** How many registrations of `token` this table's register() call made. */
  count: number;
}

export interface PreparedPlugins {
  /** Registered, not yet initialized. */
  host: PluginHost;
  /** The child container of each venue. */
  venueScopes: Map<string, CwtsContainer>;
  /** Compute backends not loaded, with why (not installed, GPU disabled, ...). */
  backendSkips: { name: string; reason: string }[];
  /** The venues as registered: a venue without `symbols` has its plugin's `defaultSymbols`. */
  venues: VenueConfig[];
  /** Each detector, strategy and `[risk_checks.*]` table's registrations (core's plugins aside): what requireConfiguredRegistrations checks. */
  tables: TableRegistrations[];
}

/** A venue table without `symbols` gets the plugin's default list (docs/venues.md). */
function withDefaultSymbols(v: VenueConfig, m: PluginManifest | undefined, logger: Logger): VenueConfig {
  if (v.symbols.length > 0 || !m?.defaultSymbols?.length) return v;
  logger.info({ exchange: v.name }, `${v.name}: no symbols configured; using ${m.name}'s defaults: ${m.defaultSymbols.join(' ')}`);
  return { ...v, symbols: [...m.defaultSymbols] };
}

/**
 * What a plugin's validateOptions() returned, as issues. The contract is an array of
 * `{ path, message }` (`[]`: none); `undefined` and `null` also mean none (a plain `if (...)
 * return [...]` with no final return is a common way to write it). Anything else is a bug in
 * the plugin, reported as an issue naming it instead of crashing startup anonymously.
 */
function optionIssues(m: PluginManifest, result: unknown, optionsPath: string): ConfigIssue[] {
  if (result === undefined || result === null) return [];
  const bad = (what: string): ConfigIssue[] => [{ path: optionsPath, message: `${m.name}: validateOptions() ${what}; it must return an array of { path, message } ([] when the options are fine)` }];
  if (typeof (result as { then?: unknown }).then === 'function') {
    // An async validateOptions: its verdict would come after startup went on. Drop its rejection.
    try {
      (result as PromiseLike<unknown>).then(undefined, () => {});
    } catch {
      // a thenable whose then() throws
    }
    return bad('returned a promise (it must be synchronous)');
  }
  if (!Array.isArray(result)) return bad(`returned ${typeof result === 'object' ? 'an object' : `a ${typeof result}`}, not an array`);
  return result.map((i: unknown): ConfigIssue => {
    const issue = i as Partial<ConfigIssue> | null;
    if (issue === null || typeof issue !== 'object' || typeof issue.message !== 'string') {
      return { path: optionsPath, message: `${m.name}: validateOptions() returned an entry that is not { path, message }` };
    }
    return { path: typeof issue.path === 'string' ? issue.path : optionsPath, message: issue.message };
  });
}

/** What a plugin's validateOptions() says of its settings, as issues (a throw is one); none without one. */
export function pluginOptionIssues(m: PluginManifest, options: unknown, optionsPath: string): ConfigIssue[] {
  if (!m.validateOptions) return [];
  try {
    return optionIssues(m, m.validateOptions(options, optionsPath), optionsPath);
  } catch (err) {
    return [{ path: optionsPath, message: `${m.name}: validateOptions() threw: ${(err as Error)?.message ?? String(err)}` }];
  }
}

/**
 * `testnet` and `market` are core's keys, but only the plugin can act on them: one that ignores
 * `testnet = true` connects to production and, with keys, trades real money while the operator
 * believes it is a test. So a venue table may ask only for what its plugin declares in
 * `venueKeys`; a plugin that declares nothing gets neither testnet nor a market but "spot".
 */
export function venueKeyIssues(m: PluginManifest, venue: Readonly<Record<string, unknown>>): ConfigIssue[] {
  const name = String(venue.name);
  // Read defensively: a third party's manifest is plain JavaScript; only an exact `true` and an
  // array of names count as declared.
  const declared = m.venueKeys as { testnet?: unknown; markets?: unknown } | undefined;
  const testnet = declared?.testnet === true;
  const markets: readonly unknown[] = Array.isArray(declared?.markets) ? declared.markets : ['spot'];
  const issues: ConfigIssue[] = [];
  if (venue.testnet === true && !testnet) {
    issues.push({
      path: `${name}.testnet`,
      message: `${m.name} (venue ${name}) has no testnet: it would connect to the venue's production endpoints and trade real money; remove testnet = true (point api_url / rest_url at a test environment the plugin supports, or use the simulated venue)`,
    });
  }
  const market = venue.market ?? 'spot';
  if (!markets.includes(market)) {
    const supported = markets.filter((x): x is string => typeof x === 'string');
    issues.push({ path: `${name}.market`, message: `${m.name} (venue ${name}) does not trade market "${String(market)}" (it declares: ${supported.length ? supported.map((x) => `"${x}"`).join(', ') : 'none'})` });
  }
  return issues;
}

/**
 * Loads, validates and registers every plugin of the deployment. Throws one ConfigError listing
 * every problem of every plugin: not installed, no manifest, wrong kind or API, bad options
 * (from the plugin's validateOptions or a built-in detector's settings), register() failing.
 * Issue messages are redacted with the config's redactor (no `${VAR}` value, no URL password).
 */
export async function preparePlugins(opts: PreparePluginsOptions): Promise<PreparedPlugins> {
  const { loaded, root } = opts;
  const venues = opts.venues ?? loaded.config.venues;
  const { plan, backendSkips, unknownDetectors } = planPlugins(loaded, venues);
  const issues: ConfigIssue[] = [];
  const system = loaded.config.system;
  const initializeTimeoutMs = opts.pluginHost?.initializeTimeoutMs ?? system.plugin_init_timeout_ms;
  const { signal } = opts;
  signal?.throwIfAborted();

  // Each import within the plugin deadline: a module whose top-level code never finishes is a
  // load failure naming it, not a startup (or validate-config) that waits for ever.
  const imported = await Promise.all(
    plan.map(async (p): Promise<PluginManifest | undefined> => {
      if (p.builtin) return p.builtin;
      try {
        return await importPlugin(p.req, loaded.configDir, { timeoutMs: initializeTimeoutMs, signal });
      } catch (err) {
        if (signal?.aborted && err === signal.reason) throw err;
        const e = err instanceof PluginLoadError ? err : new PluginLoadError('IMPORT_FAILED', p.req.spec, String(err));
        if (p.optional) backendSkips.push({ name: p.instanceName, reason: backendLoadSkipReason(e, p.req.spec) });
        else issues.push({ path: '', message: e.message });
        return undefined;
      }
    }),
  );

  const resolvedVenues = venues.map((v) => {
    const k = plan.findIndex((p) => p.scope === 'venue' && p.instanceName === v.name);
    const resolved = withDefaultSymbols(v, imported[k], opts.logger);
    if (resolved !== v) plan[k]!.config = resolved;
    return resolved;
  });

  // Each plugin checks its own settings, with key paths, before anything registers or connects.
  const optionsOk = plan.map((p, k) => {
    const m = imported[k];
    if (!m) return false;
    const found = [...(p.scope === 'venue' ? venueKeyIssues(m, p.config) : []), ...pluginOptionIssues(m, p.options, p.optionsPath)];
    issues.push(...found);
    return found.length === 0;
  });

  // Overrides per symbol are checked against the venues as resolved (default symbols included).
  plan.forEach((p, k) => {
    if (!opts.venuesReplaced && p.builtin !== undefined && p.req.kind === 'detector' && optionsOk[k]) issues.push(...builtinDetectorSymbolIssues(p.instanceName, p.options as Readonly<Record<string, unknown>>, resolvedVenues, p.optionsPath));
  });

  if (unknownDetectors.length > 0) {
    const known = [...builtinDetectorPlugins().keys()];
    for (const name of unknownDetectors) {
      issues.push({ path: `detectors.${name}`, message: `no built-in detector named ${name} (built-ins: ${known.length ? known.join(', ') : 'none'}); set plugin = "<package or path>" for a third-party detector` });
    }
  }

  // Registration is synchronous and free of I/O by contract, and some plugins validate their
  // settings only there: run it for every plugin whose options passed, collecting failures.
  const host = new PluginHost(opts.logger, {
    initializeTimeoutMs,
    disposeTimeoutMs: system.plugin_dispose_timeout_ms,
    ...opts.pluginHost,
  });
  const venueScopes = new Map<string, CwtsContainer>();
  const tables: TableRegistrations[] = [];
  plan.forEach((p, k) => {
    const m = imported[k];
    if (!m || !optionsOk[k]) return;
    let scope = root;
    if (p.scope === 'venue') {
      scope = root.createChild(p.instanceName, VENUE_SCOPE_REFUSES);
      scope.registerValue(TOKENS.VenueName, p.instanceName, '@cwts/core');
      scope.registerValue(TOKENS.VenueConfig, p.config, '@cwts/core');
      venueScopes.set(p.instanceName, scope);
    }
    // Counted around each register() call, so a plugin named by several tables is counted per
    // table: one table's registrations cannot stand in for another's that registered nothing.
    const token = p.core ? undefined : MUST_REGISTER[p.req.kind];
    const before = token ? ownedBy(scope, token, m.name) : 0;
    try {
      host.register(m, scope, p.instanceName, p.config, p.core === true);
      if (token) tables.push({ path: p.optionsPath, plugin: m.name, token, count: ownedBy(scope, token, m.name) - before });
    } catch (err) {
      issues.push({ path: '', message: (err as Error)?.message ?? String(err) });
    }
  });

  if (issues.length > 0) throw new ConfigError(loaded.redactor.redactIssues(issues), loaded.sourcePath);
  return { host, venueScopes, backendSkips, venues: resolvedVenues, tables };
}

/** What a configured plugin of each kind must register: at least one per config table. */
const MUST_REGISTER: Partial<Record<PluginKind, Token<unknown>>> = {
  detector: TOKENS.Detector as Token<unknown>,
  strategy: TOKENS.Strategy as Token<unknown>,
  risk: TOKENS.RiskCheck as Token<unknown>,
};

/** How many registrations of `token` the container records as `plugin`'s. */
function ownedBy(scope: CwtsContainer, token: Token<unknown>, plugin: string): number {
  return scope.ownersOf(token).filter((owner) => owner === plugin).length;
}

/**
 * Checks what each detector, strategy and `[risk_checks.*]` table's register() call added
 * (PreparedPlugins.tables, counted around each call): every table needs at least one
 * registration of its kind's token by its plugin, counted per table, so a plugin named by
 * several tables cannot cover, with one table's registrations, another table that registered
 * nothing (a misspelt key read as "no caps"). Throws one ConfigError naming each such table and
 * its plugin (`risk_checks.cap: acme-cap registered no RiskCheck`). Core's own plugins are not
 * checked (core registers its chain and router unconditionally).
 */
export function requireConfiguredRegistrations(loaded: LoadedConfig, prepared: Pick<PreparedPlugins, 'tables'>): void {
  const issues: ConfigIssue[] = [];
  for (const t of prepared.tables) {
    if (t.count > 0) continue;
    const what = t.token.description;
    // The same plugin under other tables: say what those registered, so "it works for the other
    // table" points at this table's own settings.
    const others = prepared.tables.filter((o) => o !== t && o.plugin === t.plugin && o.token === t.token);
    const message =
      others.length === 0
        ? `${t.plugin} registered no ${what}: its register() must register TOKENS.${what}; refusing to start without it`
        : `${t.plugin} registered no ${what} for this table (it registered ${others.map((o) => `${o.count} for ${o.path}`).join(', ')}; its register() runs once per table and must register TOKENS.${what} for each: check this table's settings); refusing to start without it`;
    issues.push({ path: t.path, message });
  }
  if (issues.length > 0) throw new ConfigError(loaded.redactor.redactIssues(issues), loaded.sourcePath);
}

import type { Logger } from '../observability/logger.js';
import type { CwtsContainer } from '../di/container.js';
import { PluginLoadError, PluginLoadErrors } from './errors.js';
import { CORE_API_VERSION, PLUGIN_KINDS, type PluginKind, type PluginManifest } from './manifest.js';
import { locatePlugin } from './resolve.js';
import { DEFAULT_PLUGIN_DISPOSE_TIMEOUT_MS, DEFAULT_PLUGIN_INIT_TIMEOUT_MS, DeadlineExceeded, withDeadline } from './deadline.js';

export interface PluginRequest {
  /** npm name or path, as written in the config. */
  spec: string;
  kind: PluginKind;
  /** Where in the config it was asked for, e.g. "exchanges.enabled: binance". */
  origin: string;
}

function parseApi(v: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** A plugin built for core API M.m loads on core M.n with n >= m. */
export function isApiCompatible(pluginApi: string, coreApi = CORE_API_VERSION): boolean {
  const p = parseApi(pluginApi);
  const c = parseApi(coreApi);
  return !!p && !!c && p[0] === c[0] && p[1] <= c[1];
}

function validateManifest(mod: Record<string, unknown>, req: PluginRequest): PluginManifest {
  try {
    return checkManifest(mod, req);
  } catch (err) {
    if (err instanceof PluginLoadError) throw err;
    // a getter or Proxy of the export threw: named like every other load problem, not a bare error
    throw new PluginLoadError('NO_MANIFEST', req.spec, `${req.spec} (${req.origin}): reading its plugin manifest threw: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

function checkManifest(mod: Record<string, unknown>, req: PluginRequest): PluginManifest {
  const candidate = (mod.plugin ?? mod.default) as Partial<PluginManifest> | undefined;
  const looksLikeManifest =
    candidate !== null &&
    typeof candidate === 'object' &&
    typeof candidate.name === 'string' &&
    typeof candidate.kind === 'string' &&
    typeof candidate.coreApi === 'string' &&
    typeof candidate.register === 'function';
  if (!looksLikeManifest) {
    const exported = Object.keys(mod).join(', ') || 'nothing';
    throw new PluginLoadError(
      'NO_MANIFEST',
      req.spec,
      `${req.spec} (${req.origin}) does not export a CWTS plugin manifest: expected \`export const plugin = definePlugin({ name, kind, coreApi, register })\` or a default export; it exports: ${exported}`,
    );
  }
  const manifest = candidate as PluginManifest;
  if (!PLUGIN_KINDS.includes(manifest.kind) || manifest.kind !== req.kind) {
    throw new PluginLoadError(
      'WRONG_KIND',
      manifest.name,
      `${req.spec} (${req.origin}) is a '${manifest.kind}' plugin, but ${req.origin.split(':')[0]} needs ${/^[aeiou]/.test(req.kind) ? 'an' : 'a'} '${req.kind}' plugin`,
    );
  }
  if (!isApiCompatible(manifest.coreApi)) {
    throw new PluginLoadError(
      'INCOMPATIBLE_API',
      manifest.name,
      `${manifest.name} (${req.origin}) was built for core API ${manifest.coreApi}, but this @cwts/core provides API ${CORE_API_VERSION}; ` +
        `install a version of ${manifest.name} built for ${CORE_API_VERSION.split('.')[0]}.x or a matching @cwts/core`,
    );
  }
  return manifest;
}

export interface ImportPluginOptions {
  /**
   * How long the plugin's module may take to load, its top-level code included, in ms: `[system]
   * plugin_init_timeout_ms`, which bounds `initialize()` too (default 60 000). Past it the load
   * fails with IMPORT_FAILED naming the spec, its config key and the deadline.
   */
  timeoutMs?: number;
  /** Startup was abandoned (a shutdown signal): stop waiting for the import and throw the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Imports one plugin and checks its manifest. Throws PluginLoadError with a specific code, or the
 * reason of `options.signal` once it aborts. The wait for the import is bounded (`timeoutMs`):
 * a module whose top-level code never finishes cannot hang startup or validate-config. The import
 * itself cannot be cancelled; its late outcome is dropped.
 */
export async function importPlugin(req: PluginRequest, baseDir: string, options: ImportPluginOptions = {}): Promise<PluginManifest> {
  const timeoutMs = deadlineMs(options.timeoutMs, DEFAULT_PLUGIN_INIT_TIMEOUT_MS, 'timeoutMs');
  options.signal?.throwIfAborted();
  let found: ReturnType<typeof locatePlugin>;
  try {
    found = locatePlugin(req.spec, baseDir);
  } catch (err) {
    // Installed, but Node's ESM resolver refuses it: name the spec and the config key, not just
    // Node's message (a raw error would reach the user without either).
    const code = (err as NodeJS.ErrnoException)?.code;
    const hint = code === 'ERR_PACKAGE_PATH_NOT_EXPORTED' ? '; its package.json "exports" has no "import" or "default" entry for "." (plugins are loaded with import())' : '';
    throw new PluginLoadError('RESOLVE_FAILED', req.spec, `${req.spec} (${req.origin}) cannot be resolved: ${(err as Error)?.message ?? String(err)}${hint}`, { cause: err });
  }
  if ('searched' in found) {
    const hint = req.spec.startsWith('.') || req.spec.startsWith('/') ? 'check the path (relative paths are resolved from the config file\'s directory)' : `install it (pnpm add ${req.spec})`;
    throw new PluginLoadError(
      'NOT_INSTALLED',
      req.spec,
      `${req.spec} (${req.origin}) is not installed: ${hint}; looked in ${found.searched.join(', ')}`,
    );
  }
  const url = found.url;
  let mod: Record<string, unknown> | undefined;
  try {
    await withDeadline(async () => {
      mod = (await import(url)) as Record<string, unknown>;
    }, timeoutMs, options.signal);
  } catch (err) {
    if (options.signal?.aborted && err === options.signal.reason) throw err;
    if (err instanceof DeadlineExceeded) {
      throw new PluginLoadError(
        'IMPORT_FAILED',
        req.spec,
        `${req.spec} (${req.origin}) did not finish loading within ${err.ms} ms ([system] plugin_init_timeout_ms): its module's top-level code never completed (a top-level await that never settles?); do I/O in initialize()`,
        { cause: err },
      );
    }
    throw new PluginLoadError('IMPORT_FAILED', req.spec, `${req.spec} (${req.origin}) failed to load: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
  return validateManifest(mod!, req);
}

/** Imports several plugins and reports every failure at once. */
export async function importPlugins(reqs: readonly PluginRequest[], baseDir: string, options: ImportPluginOptions = {}): Promise<PluginManifest[]> {
  const results = await Promise.allSettled(reqs.map((r) => importPlugin(r, baseDir, options)));
  options.signal?.throwIfAborted();
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [toPluginError(r.reason, '?')] : []));
  if (errors.length > 0) throw new PluginLoadErrors(errors);
  return results.map((r) => (r as PromiseFulfilledResult<PluginManifest>).value);
}

function toPluginError(err: unknown, plugin: string): PluginLoadError {
  return err instanceof PluginLoadError ? err : new PluginLoadError('IMPORT_FAILED', plugin, String((err as Error)?.message ?? err));
}

// Defined with the deadline helper: the engine bounds its venue stops by the same default
// without loading the plugin loader (and its resolver).
export { DEFAULT_PLUGIN_INIT_TIMEOUT_MS, DEFAULT_PLUGIN_DISPOSE_TIMEOUT_MS } from './deadline.js';
/** The longest delay a Node timer keeps (2^31 - 1 ms); a longer one fires at once. */
const MAX_TIMER_MS = 2_147_483_647;

export interface PluginHostOptions {
  /**
   * How long each plugin's `initialize()` may take, in ms (default 60 000). Past it startup fails
   * with INITIALIZE_FAILED naming the plugin, and the plugins already initialized are disposed.
   */
  initializeTimeoutMs?: number;
  /**
   * How long each plugin's `dispose()` may take, in ms (default 5 000). Past it the host logs an
   * error naming the plugin and goes on with the next one.
   */
  disposeTimeoutMs?: number;
}

function deadlineMs(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > MAX_TIMER_MS) {
    throw new RangeError(`PluginHost: ${what} must be a whole number of ms in 1..${MAX_TIMER_MS}, got ${value}`);
  }
  return value;
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return (typeof x === 'object' || typeof x === 'function') && x !== null && typeof (x as { then?: unknown }).then === 'function';
}

/** Attaches a no-op rejection handler, so a promise nobody awaits any more is not an unhandled rejection. */
function swallow(x: PromiseLike<unknown>): void {
  try {
    x.then(undefined, () => {});
  } catch {
    // a thenable whose then() throws: nothing to swallow
  }
}

/**
 * Owns the loaded plugins: registers them, initializes them in load order and disposes them in
 * reverse, so a plugin can rely on everything registered before it. A third-party plugin cannot
 * hang or half-start the process through it: `register()` must be synchronous (a returned promise
 * is a REGISTER_FAILED), each `initialize()` and `dispose()` runs under a deadline
 * (PluginHostOptions), and a failed initialization disposes what was already initialized.
 */
export class PluginHost {
  private readonly loaded: { manifest: PluginManifest; container: CwtsContainer; instanceName: string }[] = [];
  private initialized = 0;
  private readonly initializeTimeoutMs: number;
  private readonly disposeTimeoutMs: number;

  constructor(
    private readonly logger: Logger,
    options: PluginHostOptions = {},
  ) {
    this.initializeTimeoutMs = deadlineMs(options.initializeTimeoutMs, DEFAULT_PLUGIN_INIT_TIMEOUT_MS, 'initializeTimeoutMs');
    this.disposeTimeoutMs = deadlineMs(options.disposeTimeoutMs, DEFAULT_PLUGIN_DISPOSE_TIMEOUT_MS, 'disposeTimeoutMs');
  }

  /** `core`: one of core's own plugins, whose single-slot registrations are overridable defaults. */
  register(
    manifest: PluginManifest,
    container: CwtsContainer,
    instanceName: string,
    config: Readonly<Record<string, unknown>>,
    core = false,
  ): void {
    let returned: unknown;
    try {
      // The table is also what the plugin's classes get for TOKENS.PluginConfig.
      const registrar = core ? container.asDefaults(manifest.name, config) : container.as(manifest.name, manifest.overrides ?? [], config);
      returned = (manifest.register as (ctx: Parameters<PluginManifest['register']>[0]) => unknown)({ registrar, instanceName, config });
    } catch (err) {
      throw new PluginLoadError('REGISTER_FAILED', manifest.name, `${manifest.name} (${instanceName}): register() failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
    // An `async register()` would register after compose has read the container (a risk check
    // the engine never runs): refuse it instead of running half-registered.
    if (isThenable(returned)) {
      swallow(returned);
      throw new PluginLoadError(
        'REGISTER_FAILED',
        manifest.name,
        `${manifest.name} (${instanceName}): register() must be synchronous; do I/O in initialize() (it returned a promise)`,
      );
    }
    this.loaded.push({ manifest, container, instanceName });
  }

  /**
   * Initializes every plugin registered since the last call, in registration order, each within
   * the initialize deadline. On the first failure (a throw, a rejection or the deadline) every
   * plugin initialized so far is disposed, the host is emptied, and INITIALIZE_FAILED is thrown.
   * `signal`: startup was abandoned (`run` got a shutdown signal or a process fault): the plugin
   * initializing sees its `ctx.signal` abort, no further plugin starts, every plugin initialized so
   * far is disposed, and the signal's reason is thrown (not INITIALIZE_FAILED: no plugin failed).
   */
  async initializeAll(options: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal: abandon } = options;
    for (const p of this.loaded.slice(this.initialized)) {
      if (abandon?.aborted) {
        await this.disposeAll();
        throw abandon.reason;
      }
      const initialize = p.manifest.initialize;
      if (initialize) {
        try {
          const logger = this.logger.child({ plugin: p.manifest.name });
          await withDeadline((signal) => initialize.call(p.manifest, { container: p.container, logger, instanceName: p.instanceName, signal }), this.initializeTimeoutMs, abandon);
        } catch (err) {
          if (abandon?.aborted) {
            // However this plugin's initialize() ended (it may have rejected on its aborted signal).
            await this.disposeAll();
            throw abandon.reason;
          }
          const why =
            err instanceof DeadlineExceeded
              ? `initialize() did not finish within ${err.ms} ms ([system] plugin_init_timeout_ms)`
              : `initialize() failed: ${(err as Error)?.message ?? String(err)}`;
          const failure = new PluginLoadError('INITIALIZE_FAILED', p.manifest.name, `${p.manifest.name} (${p.instanceName}): ${why}`, { cause: err });
          await this.disposeAll();
          throw failure;
        }
      }
      this.initialized++;
    }
  }

  /**
   * Disposes the initialized plugins in reverse order, each within the dispose deadline. Never
   * throws: a plugin failing or hanging in dispose is logged and skipped, so it cannot stop the
   * others (or the journal flush). Empties the host; calling it again does nothing.
   */
  async disposeAll(): Promise<void> {
    // Once per manifest, in reverse order of its FIRST initialization: a plugin may rely on what
    // was initialized before it, so one used again later (venues X, Y, X) still outlives Y.
    const seen = new Set<PluginManifest>();
    const firsts = this.loaded.slice(0, this.initialized).filter((p) => !seen.has(p.manifest) && seen.add(p.manifest) !== undefined);
    this.loaded.length = 0;
    this.initialized = 0;
    for (const p of firsts.reverse()) {
      const dispose = p.manifest.dispose;
      if (!dispose) continue;
      try {
        await withDeadline(() => dispose.call(p.manifest), this.disposeTimeoutMs);
      } catch (err) {
        if (err instanceof DeadlineExceeded) {
          this.logger.error({ plugin: p.manifest.name, timeoutMs: err.ms }, `plugin dispose did not finish within ${err.ms} ms; going on without it`);
        } else {
          this.logger.error({ plugin: p.manifest.name, err: (err as Error)?.message ?? String(err) }, 'plugin dispose failed');
        }
      }
    }
  }

  get names(): string[] {
    return this.loaded.map((p) => `${p.manifest.name}${p.instanceName !== p.manifest.name ? ` (${p.instanceName})` : ''}`);
  }
}

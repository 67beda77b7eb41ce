import type { Logger } from '../observability/logger.js';
import type { CwtsContainer } from '../di/container.js';
import { PluginLoadError, PluginLoadErrors } from './errors.js';
import { CORE_API_VERSION, PLUGIN_KINDS, type PluginKind, type PluginManifest } from './manifest.js';
import { locatePlugin } from './resolve.js';

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

/** Imports one plugin and checks its manifest. Throws PluginLoadError with a specific code. */
export async function importPlugin(req: PluginRequest, baseDir: string): Promise<PluginManifest> {
  const found = locatePlugin(req.spec, baseDir);
  if ('searched' in found) {
    const hint = req.spec.startsWith('.') || req.spec.startsWith('/') ? 'check the path (relative paths are resolved from the config file\'s directory)' : `install it (pnpm add ${req.spec})`;
    throw new PluginLoadError(
      'NOT_INSTALLED',
      req.spec,
      `${req.spec} (${req.origin}) is not installed: ${hint}; looked in ${found.searched.join(', ')}`,
    );
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(found.url)) as Record<string, unknown>;
  } catch (err) {
    throw new PluginLoadError('IMPORT_FAILED', req.spec, `${req.spec} (${req.origin}) failed to load: ${(err as Error).message}`, { cause: err });
  }
  return validateManifest(mod, req);
}

/** Imports several plugins and reports every failure at once. */
export async function importPlugins(reqs: readonly PluginRequest[], baseDir: string): Promise<PluginManifest[]> {
  const results = await Promise.allSettled(reqs.map((r) => importPlugin(r, baseDir)));
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [toPluginError(r.reason, '?')] : []));
  if (errors.length > 0) throw new PluginLoadErrors(errors);
  return results.map((r) => (r as PromiseFulfilledResult<PluginManifest>).value);
}

function toPluginError(err: unknown, plugin: string): PluginLoadError {
  return err instanceof PluginLoadError ? err : new PluginLoadError('IMPORT_FAILED', plugin, String((err as Error)?.message ?? err));
}

/**
 * Owns the loaded plugins: registers them, initializes them in load order and disposes them in
 * reverse, so a plugin can rely on everything registered before it.
 */
export class PluginHost {
  private readonly loaded: { manifest: PluginManifest; container: CwtsContainer; instanceName: string }[] = [];
  private initialized = 0;

  constructor(private readonly logger: Logger) {}

  /** `core`: one of core's own plugins, whose single-slot registrations are overridable defaults. */
  register(
    manifest: PluginManifest,
    container: CwtsContainer,
    instanceName: string,
    config: Readonly<Record<string, unknown>>,
    core = false,
  ): void {
    try {
      const registrar = core ? container.asDefaults(manifest.name) : container.as(manifest.name, manifest.overrides ?? []);
      manifest.register({ registrar, instanceName, config });
    } catch (err) {
      throw new PluginLoadError('REGISTER_FAILED', manifest.name, `${manifest.name} (${instanceName}): register() failed: ${(err as Error).message}`, { cause: err });
    }
    this.loaded.push({ manifest, container, instanceName });
  }

  async initializeAll(): Promise<void> {
    for (const p of this.loaded.slice(this.initialized)) {
      if (p.manifest.initialize) {
        try {
          await p.manifest.initialize({ container: p.container, logger: this.logger.child({ plugin: p.manifest.name }), instanceName: p.instanceName });
        } catch (err) {
          throw new PluginLoadError('INITIALIZE_FAILED', p.manifest.name, `${p.manifest.name} (${p.instanceName}): initialize() failed: ${(err as Error).message}`, { cause: err });
        }
      }
      this.initialized++;
    }
  }

  /** Never throws: a plugin failing to dispose must not stop the others (or the journal flush). */
  async disposeAll(): Promise<void> {
    const seen = new Set<PluginManifest>();
    for (const p of this.loaded.slice(0, this.initialized).reverse()) {
      if (seen.has(p.manifest) || !p.manifest.dispose) continue;
      seen.add(p.manifest);
      try {
        await p.manifest.dispose();
      } catch (err) {
        this.logger.error({ plugin: p.manifest.name, err: (err as Error).message }, 'plugin dispose failed');
      }
    }
    this.loaded.length = 0;
    this.initialized = 0;
  }

  get names(): string[] {
    return this.loaded.map((p) => `${p.manifest.name}${p.instanceName !== p.manifest.name ? ` (${p.instanceName})` : ''}`);
  }
}

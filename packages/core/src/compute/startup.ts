import type { ComputeBackendProvider } from '../contracts/compute.js';
import { computeBackendCandidates, computePluginSpec, type ComputeConfig } from '../config/compute-schema.js';
import { jsBackendProvider } from './js-backend.js';
import type { ComputeRegistry, ResolvedBackend, SkippedBackend } from './registry.js';

/** The reason a GPU backend is not used while `[performance] gpu_enabled = false`. */
export const GPU_DISABLED_REASON = 'performance.gpu_enabled = false';

export interface ComputeStartupOptions {
  registry: ComputeRegistry;
  /** Every provider the loaded backend plugins registered. */
  providers: Iterable<ComputeBackendProvider>;
  compute: ComputeConfig;
  /** `[performance] gpu_enabled`: false makes every provider declaring `gpu` unusable. */
  gpuEnabled: boolean;
  threadPoolSize?: number;
  /** Backends whose plugin did not load, with why (not installed, no manifest, ...). */
  loadSkips: readonly SkippedBackend[];
}

/**
 * Registers js and every provider the backend plugins registered. One package named under two
 * `[compute]` names (`[compute.fast] plugin = "@cwts/backend-cpu-simd"` beside auto-detected
 * cpu-simd) hands the same provider object once per name: the registry takes an object it already
 * holds as a no-op, so it is registered once. Two different providers claiming one name still
 * throw (two packages, one name: nothing here can tell which one the deployment meant).
 */
export function registerComputeProviders(registry: ComputeRegistry, providers: Iterable<ComputeBackendProvider>): void {
  registry.register(jsBackendProvider);
  for (const p of providers) registry.register(p);
}

/**
 * The backends that cannot run for a reason the registry cannot see, in the order `run` reports
 * them: the plugin did not load (`loadSkips`), a plugin that registered no backend of the name it
 * was loaded under, and, with `gpuEnabled` false, every provider declaring `gpu`. `run`,
 * `backends --config`, doctor and validate-config all take this one list, so they agree.
 */
export function unusableComputeBackends(
  registry: ComputeRegistry,
  o: { compute: ComputeConfig; gpuEnabled: boolean; loadSkips: readonly SkippedBackend[] },
): SkippedBackend[] {
  const unusable: SkippedBackend[] = [...o.loadSkips];
  const known = new Set(unusable.map((u) => u.name));
  const registered = registry.providers().map((p) => p.name);
  for (const name of computeBackendCandidates(o.compute)) {
    if (known.has(name) || registry.has(name)) continue;
    unusable.push({ name, reason: `plugin ${computePluginSpec(o.compute, name)} registered no compute backend named '${name}' (registered: ${registered.join(', ')})` });
    known.add(name);
  }
  if (!o.gpuEnabled) {
    for (const p of registry.providers()) {
      if (p.gpu === true && !known.has(p.name)) unusable.push({ name: p.name, reason: GPU_DISABLED_REASON });
    }
  }
  return unusable;
}

/**
 * The compute part of startup: registers js and every loaded provider (registerComputeProviders),
 * marks as unusable the backends that cannot run here for a reason the registry cannot see
 * (unusableComputeBackends), and resolves: the exact `[compute] backends` list, or
 * auto-detection. Each backend's create() receives its own `[compute.<name>]` settings. Throws
 * NoComputeBackendError naming every backend tried and why when none can start.
 */
export async function startComputeBackend(o: ComputeStartupOptions): Promise<ResolvedBackend> {
  const { registry, compute } = o;
  registerComputeProviders(registry, o.providers);
  const unusable = unusableComputeBackends(registry, o);
  return registry.resolve(compute.backends ?? [], (name) => ({ threadPoolSize: o.threadPoolSize, settings: compute.backendOptions[name] ?? {} }), unusable);
}

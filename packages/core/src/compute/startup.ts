import type { ComputeBackendProvider } from '../contracts/compute.js';
import { computeBackendCandidates, computePluginSpec, type ComputeConfig } from '../config/compute-schema.js';
import { jsBackendProvider } from './js-backend.js';
import type { ComputeRegistry, ResolvedBackend, SkippedBackend } from './registry.js';

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
 * The compute part of startup: registers js and every loaded provider, marks as unusable the
 * backends that cannot run here for a reason the registry cannot see (plugin not loaded, a
 * plugin that registered no backend of that name, a GPU backend with gpu_enabled = false), and
 * resolves: the exact `[compute] backends` list, or auto-detection. Each backend's create()
 * receives its own `[compute.<name>]` settings. Throws NoComputeBackendError naming every
 * backend tried and why when none can start.
 */
export async function startComputeBackend(o: ComputeStartupOptions): Promise<ResolvedBackend> {
  const { registry, compute } = o;
  registry.register(jsBackendProvider);
  for (const p of o.providers) registry.register(p);
  const unusable: SkippedBackend[] = [...o.loadSkips];
  const known = new Set(unusable.map((u) => u.name));
  const registered = registry.providers().map((p) => p.name);
  for (const name of computeBackendCandidates(compute)) {
    if (known.has(name) || registry.has(name)) continue;
    unusable.push({ name, reason: `plugin ${computePluginSpec(compute, name)} registered no compute backend named '${name}' (registered: ${registered.join(', ')})` });
    known.add(name);
  }
  if (!o.gpuEnabled) {
    for (const p of registry.providers()) {
      if (p.gpu === true && !known.has(p.name)) unusable.push({ name: p.name, reason: 'performance.gpu_enabled = false' });
    }
  }
  return registry.resolve(compute.backends ?? [], (name) => ({ threadPoolSize: o.threadPoolSize, settings: compute.backendOptions[name] ?? {} }), unusable);
}

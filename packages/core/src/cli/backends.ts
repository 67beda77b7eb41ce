import { ComputeRegistry, KNOWN_COMPUTE_BACKENDS, NoComputeBackendError, registerComputeProviders, unusableComputeBackends, type BackendStatus } from '../compute/index.js';
import { computeBackendCandidates, type ComputeConfig } from '../config/compute-schema.js';
import type { ComputeBackendProvider } from '../contracts/compute.js';
import { TOKENS } from '../di/tokens.js';
import { CwtsContainer } from '../di/container.js';
import { backendLoadSkipReason, computeBackendPlugin, pluginOptionIssues, type ComputePerformance } from '../engine/prepare-plugins.js';
import { silentLogger } from '../observability/logger.js';
import { importPlugin, PluginHost } from '../plugins/loader.js';
import type { PluginManifest } from '../plugins/manifest.js';

export const KNOWN_BACKENDS = KNOWN_COMPUTE_BACKENDS;

/** A deployment without `[compute]` tables: what `run` loads when the config has none. */
const NO_COMPUTE_TABLES: ComputeConfig = { backends: undefined, backendOptions: {}, plugins: {} };

/**
 * A backend that did not load. `refusesRun`: its options or register() fail as startup would
 * find them for a backend `run` loads, a ConfigError there: `run` does not start at all.
 */
export interface MissingBackend {
  name: string;
  reason: string;
  refusesRun?: true;
}

/**
 * Loads every known backend package that is installed; the rest are reported as not installed.
 * Given a deployment's `[compute]`, its backends are looked for too. Each is loaded, its options
 * checked and registered exactly as startup does (computeBackendPlugin, the plugin host):
 * from where the config says (`[compute.<name>] plugin`, a third party's package or a path),
 * with its `[compute.<name>]` table and `performance` (`[performance] simd_enabled`). A backend
 * whose options or register() startup would refuse is reported missing with that reason. No
 * plugin is initialized.
 */
export async function discoverBackends(
  baseDir: string,
  names: readonly string[] = KNOWN_BACKENDS,
  compute?: ComputeConfig,
  performance: ComputePerformance = {},
): Promise<{ registry: ComputeRegistry; missing: MissingBackend[] }> {
  const registry = new ComputeRegistry(silentLogger());
  const missing: MissingBackend[] = [];
  const root = CwtsContainer.createRoot();
  const host = new PluginHost(silentLogger());
  // The deployment's own backends first, in startup's order: providers tie on priority by it.
  const loadedByRun = new Set(computeBackendCandidates(compute ?? NO_COMPUTE_TABLES));
  const all = compute ? [...new Set([...loadedByRun, ...names])] : names;
  for (const name of all) {
    const p = computeBackendPlugin(compute ?? NO_COMPUTE_TABLES, performance, name);
    let m: PluginManifest;
    try {
      m = await importPlugin(p.req, baseDir);
    } catch (err) {
      missing.push({ name, reason: backendLoadSkipReason(err, p.req.spec) });
      continue;
    }
    // Options startup refuses (a ConfigError: `run` does not start) are no backend to list.
    // A backend `run` does not load (not in an explicit `backends` list) refuses nothing.
    const refuses = loadedByRun.has(name) ? ({ refusesRun: true } as const) : {};
    const issues = pluginOptionIssues(m, p.options, p.optionsPath);
    if (issues.length > 0) {
      const list = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
      missing.push({ name, reason: refuses.refusesRun ? `invalid options, \`run\` refuses them: ${list}` : `invalid options: ${list}`, ...refuses });
      continue;
    }
    try {
      host.register(m, root, name, p.config);
    } catch (err) {
      missing.push({ name, reason: (err as Error)?.message ?? String(err), ...refuses });
    }
  }
  // As startup registers them: a package loaded under two names hands one provider twice.
  registerComputeProviders(registry, root.resolveAll(TOKENS.ComputeBackendProvider) as ComputeBackendProvider[]);
  return { registry, missing };
}

/** `[performance]` as given: the table, or (older callers) its gpu_enabled alone, the rest at their defaults. */
function performanceTable(performance: ComputePerformance | boolean): ComputePerformance {
  return typeof performance === 'boolean' ? { gpu_enabled: performance } : performance;
}

/**
 * Every backend's status, in auto-detection order, as `run` would find it. Without a config the
 * backends are only probed. Given a deployment's `[compute]` and `[performance]` (gpu_enabled,
 * simd_enabled, thread_pool_size; each key left out at the config's default), the backends
 * `run` would refuse whatever the hardware says are reported unusable with run's own reason
 * (startup's unusableComputeBackends: a GPU backend with gpu_enabled = false, a
 * `[compute.<name>]` plugin that registered no backend of that name), and each of its other
 * backends (the `backends` list, else every one it could auto-detect) that probes available is
 * also created as startup creates it (registered with its `[compute.<name>]` table and
 * simd_enabled, created with those settings and thread_pool_size): a setting the probe cannot
 * judge (e.g. cpu-simd `isa = "neon"` on x86-64 with SIMD on) then shows as
 * `init failed: ...`, not "available". What was created is disposed before this returns;
 * `providers` are the registered ones (for their declarations, e.g. `gpu`). A boolean
 * `performance` is gpu_enabled alone.
 */
export async function backendStatus(
  baseDir: string,
  names: readonly string[] = KNOWN_BACKENDS,
  compute?: ComputeConfig,
  performance: ComputePerformance | boolean = {},
): Promise<{ status: BackendStatus[]; missing: MissingBackend[]; providers: ComputeBackendProvider[] }> {
  const perf = performanceTable(performance);
  const { registry, missing } = await discoverBackends(baseDir, names, compute, perf);
  try {
    let unusable = new Map<string, string>();
    if (compute) {
      unusable = new Map(unusableComputeBackends(registry, { compute, gpuEnabled: perf.gpu_enabled ?? false, loadSkips: missing }).map((u) => [u.name, u.reason]));
      // A name no provider registered (its plugin loaded but provides another backend): a row of its own.
      for (const [name, reason] of unusable) if (!registry.has(name) && !missing.some((m) => m.name === name)) missing.push({ name, reason });
      for (const name of computeBackendCandidates(compute)) {
        if (!registry.has(name) || unusable.has(name)) continue; // reported above
        try {
          // One at a time, exactly that backend, with what startComputeBackend hands its create():
          // a failed create is cached and status() reports it.
          await registry.resolve([name], { threadPoolSize: perf.thread_pool_size, settings: compute.backendOptions[name] ?? {} });
        } catch (err) {
          if (!(err instanceof NoComputeBackendError)) throw err;
        }
      }
    }
    const status = (await registry.status()).map((s): BackendStatus => {
      const reason = unusable.get(s.name);
      return reason === undefined ? s : { ...s, available: false, reason, initialized: false };
    });
    return { status, missing, providers: registry.providers() };
  } finally {
    await registry.dispose();
  }
}

/**
 * `cwts-ultra backends`: every backend, available or not, and why, in auto-detection order. With
 * `--config`, as that deployment's `run` would find them (backendStatus, given its `[compute]` and
 * `[performance]` tables).
 */
export async function backendsCommand(baseDir: string, out: (line: string) => void, compute?: ComputeConfig, performance: ComputePerformance | boolean = {}): Promise<number> {
  const { status, missing } = await backendStatus(baseDir, KNOWN_BACKENDS, compute, performance);
  const rows: string[][] = [['backend', 'kind', 'priority', 'status', 'device / reason']];
  for (const s of status) {
    const d = s.device;
    const dev = s.available && d
      ? `${d.name} (${d.type}${d.computeUnits ? `, ${d.computeUnits} units` : ''}${d.memoryBytes ? `, ${(d.memoryBytes / 2 ** 30).toFixed(1)} GiB` : ''}${d.details ? `, ${Object.entries(d.details).map(([k, v]) => `${k} ${v}`).join(', ')}` : ''})`
      : (s.reason ?? 'unknown');
    rows.push([s.name, s.gpu ? 'gpu' : 'cpu', String(s.priority), s.available ? 'available' : 'unavailable', dev]);
  }
  for (const m of missing) rows.push([m.name, '-', '-', 'unavailable', m.reason]);
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) out(r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(w[c]!))).join('  '));
  return 0;
}

import { ComputeRegistry, KNOWN_COMPUTE_BACKENDS, NoComputeBackendError, registerComputeProviders, unusableComputeBackends, type BackendStatus } from '../compute/index.js';
import { computeBackendCandidates, computePluginSpec, type ComputeConfig } from '../config/compute-schema.js';
import type { ComputeBackendProvider } from '../contracts/compute.js';
import { TOKENS } from '../di/tokens.js';
import { CwtsContainer } from '../di/container.js';
import { silentLogger } from '../observability/logger.js';
import { importPlugin } from '../plugins/loader.js';

export const KNOWN_BACKENDS = KNOWN_COMPUTE_BACKENDS;

/**
 * Loads every known backend package that is installed; the rest are reported as not installed.
 * Given a deployment's `[compute]`, its backends are looked for too, each from where the config
 * says (`[compute.<name>] plugin`, a third party's package or a path) with its own settings.
 */
export async function discoverBackends(
  baseDir: string,
  names: readonly string[] = KNOWN_BACKENDS,
  compute?: ComputeConfig,
): Promise<{ registry: ComputeRegistry; missing: { name: string; reason: string }[] }> {
  const registry = new ComputeRegistry(silentLogger());
  const missing: { name: string; reason: string }[] = [];
  const root = CwtsContainer.createRoot();
  const all = compute ? [...new Set([...names, ...computeBackendCandidates(compute)])] : names;
  for (const name of all) {
    const spec = compute ? computePluginSpec(compute, name) : `@cwts/backend-${name}`;
    try {
      const m = await importPlugin({ spec, kind: 'backend', origin: compute?.plugins[name] !== undefined ? `compute.${name}.plugin` : `compute.backends: ${name}` }, baseDir);
      m.register({ registrar: root.as(m.name), instanceName: name, config: compute?.backendOptions[name] ?? {} });
    } catch (err) {
      const code = (err as { code?: string }).code;
      missing.push({ name, reason: code === 'NOT_INSTALLED' ? `not installed (package ${spec})` : (err as Error).message });
    }
  }
  // As startup registers them: a package loaded under two names hands one provider twice.
  registerComputeProviders(registry, root.resolveAll(TOKENS.ComputeBackendProvider) as ComputeBackendProvider[]);
  return { registry, missing };
}

/**
 * Every backend's status, in auto-detection order, as `run` would find it. Without a config the
 * backends are only probed. Given a deployment's `[compute]` (and `[performance] gpu_enabled`,
 * default false as in the config), the backends `run` would refuse whatever the hardware says
 * are reported unusable with run's own reason (startup's unusableComputeBackends: a GPU backend
 * with gpu_enabled = false, a `[compute.<name>]` plugin that registered no backend of that
 * name), and each of its other backends (the `backends` list, else every one it could
 * auto-detect) that probes available is also created with its `[compute.<name>]` settings, as
 * startup does: a setting the probe cannot judge (e.g. cpu-simd `isa = "neon"` on x86-64) then
 * shows as `init failed: ...`, not "available". What was created is disposed before this
 * returns; `providers` are the registered ones (for their declarations, e.g. `gpu`).
 */
export async function backendStatus(
  baseDir: string,
  names: readonly string[] = KNOWN_BACKENDS,
  compute?: ComputeConfig,
  gpuEnabled = false,
): Promise<{ status: BackendStatus[]; missing: { name: string; reason: string }[]; providers: ComputeBackendProvider[] }> {
  const { registry, missing } = await discoverBackends(baseDir, names, compute);
  try {
    let unusable = new Map<string, string>();
    if (compute) {
      unusable = new Map(unusableComputeBackends(registry, { compute, gpuEnabled, loadSkips: missing }).map((u) => [u.name, u.reason]));
      // A name no provider registered (its plugin loaded but provides another backend): a row of its own.
      for (const [name, reason] of unusable) if (!registry.has(name) && !missing.some((m) => m.name === name)) missing.push({ name, reason });
      for (const name of computeBackendCandidates(compute)) {
        if (!registry.has(name) || unusable.has(name)) continue; // reported above
        try {
          // One at a time, exactly that backend: a failed create is cached and status() reports it.
          await registry.resolve([name], { settings: compute.backendOptions[name] ?? {} });
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
 * `--config`, as that deployment's `run` would find them (backendStatus).
 */
export async function backendsCommand(baseDir: string, out: (line: string) => void, compute?: ComputeConfig, gpuEnabled = false): Promise<number> {
  const { status, missing } = await backendStatus(baseDir, KNOWN_BACKENDS, compute, gpuEnabled);
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

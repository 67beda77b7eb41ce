import { ComputeRegistry, registerComputeProviders, unusableComputeBackends } from '../compute/index.js';
import { loadConfigFile, outputRedactor } from '../config/index.js';
import { TOKENS } from '../di/tokens.js';
import { CwtsContainer } from '../di/container.js';
import { ManualClock } from '../contracts/clock.js';
import { registerCoreServices } from '../engine/core-services.js';
import { preparePlugins, requireConfiguredRegistrations } from '../engine/prepare-plugins.js';
import { loadClusterModule } from '../cluster/load.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';

export interface ValidateOptions {
  config: string;
  /** Check the file alone (schema, `${VAR}` substitution, ranges), not the plugins it names. */
  fileOnly?: boolean;
}

/**
 * `cwts-ultra validate-config`: everything `run` checks before it connects, and nothing else.
 * The file (schema, `${VAR}` substitution, ranges), then every plugin it names through the same
 * preparePlugins that `run` uses: loaded, its options validated, registered in a scratch
 * container (never initialized, so no I/O). Every problem of every plugin is reported at once,
 * as `run` would refuse them. `--file-only` stops after the file, for a machine without the
 * deployment's plugins installed.
 */
export async function validateConfigCommand(opts: ValidateOptions, print: (line: string) => void): Promise<number> {
  const loaded = loadConfigFile(opts.config);
  outputRedactor.merge(loaded.redactor);
  // Symbols, plugin paths and names may come from ${VAR}s too.
  const out = (line: string) => print(outputRedactor.redact(line));
  let backendSkips: { name: string; reason: string }[] = [];
  let venues = loaded.config.venues;
  if (!opts.fileOnly) {
    const root = CwtsContainer.createRoot('validate-config');
    // Core's defaults, as `run` registers them (lazy: nothing is built, no journal opened), so
    // a plugin replacing one without declaring it in `overrides` fails here as it would there.
    registerCoreServices(root, { config: loaded.config, clock: new ManualClock(), logger: silentLogger(), metrics: new MetricsRegistry(), timers: false, journal: true, onJournalError: () => {} });
    const prepared = await preparePlugins({ loaded, root, logger: silentLogger() });
    // a configured detector, strategy or risk-check table whose plugin registered nothing: run refuses it
    await requireConfiguredRegistrations(loaded, loaded.config.venues, root);
    // The compute backends as startup takes them (the same registration and the same unusable
    // list, without probing the hardware): a plugin loaded under a [compute] name it provides no
    // backend for, or a GPU backend with gpu_enabled = false, is reported as `run` will skip it.
    const registry = new ComputeRegistry(silentLogger());
    registerComputeProviders(registry, root.resolveAll(TOKENS.ComputeBackendProvider));
    backendSkips = unusableComputeBackends(registry, { compute: loaded.config.compute, gpuEnabled: loaded.config.performance.gpu_enabled, loadSkips: prepared.backendSkips });
    venues = prepared.venues;
    // `[cluster]`: its package must load as `run` would load it (no connection is made).
    if (loaded.config.cluster?.enabled) await loadClusterModule(loaded.config.cluster, loaded.configDir);
  }
  const c = loaded.config;
  // An exact list whose every backend is known unusable: `run` refuses to start whatever the hardware.
  const computeRefused = c.compute.backends !== undefined && c.compute.backends.every((n) => backendSkips.some((s) => s.name === n));
  out(`${opts.config}: ${computeRefused ? 'invalid' : 'valid'}${opts.fileOnly ? ' (file only: plugins not loaded or checked)' : ''}`);
  out(`  system ${c.system.name} (${c.system.environment}), mode ${c.system.mode}`);
  for (const v of venues) {
    const symbols = v.symbols.length === 0 ? '' : `, symbols ${v.symbols.join(' ')}${v.symbols !== c.venues.find((x) => x.name === v.name)?.symbols ? ' (the plugin\'s defaults)' : ''}`;
    out(`  venue ${v.name}: plugin ${v.plugin}, ${v.hasCredentials ? 'credentials set' : 'no credentials (market data only)'}${symbols}`);
  }
  if (c.cluster?.enabled) out(`  cluster ${c.cluster.name}: shard ${c.cluster.shard_id} of ${c.cluster.plugin} on ${c.cluster.servers.join(', ')}, takeover ${c.cluster.takeover_ms} ms${c.cluster.max_total_position !== undefined ? `, global max_total_position ${c.cluster.max_total_position}` : ''}`);
  out(c.compute.backends ? `  compute backends (exactly, in order): ${c.compute.backends.join(', ')}` : '  compute backends: auto-detect (accelerators, cpu-simd, CPU-emulated GPUs, js)');
  for (const s of backendSkips) out(`  compute backend ${s.name} will be skipped: ${s.reason}`);
  // the warnings first: one of them may be what explains a refusal (a table for a backend the list leaves out)
  for (const n of loaded.notices ?? []) out(`  ${n}`);
  for (const w of loaded.warnings) out(`  warning: ${w}`);
  if (computeRefused) {
    out(`  error: no backend of [compute] backends = [${c.compute.backends!.join(', ')}] can start here, so \`run\` refuses to start`);
    return 1;
  }
  return 0;
}

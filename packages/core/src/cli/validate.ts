import { ComputeRegistry, registerComputeProviders, unusableComputeBackends } from '../compute/index.js';
import { outputRedactor } from '../config/index.js';
import { loadConfigForCli } from './output.js';
import { computeBackendCandidates, type ComputeConfig } from '../config/compute-schema.js';
import type { PerformanceConfig } from '../config/types.js';
import { TOKENS } from '../di/tokens.js';
import { CwtsContainer } from '../di/container.js';
import { ManualClock } from '../contracts/clock.js';
import { registerCoreServices } from '../engine/core-services.js';
import { preparePlugins, requireConfiguredRegistrations } from '../engine/prepare-plugins.js';
import { loadClusterModule } from '../cluster/load.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { controlTokenProblem } from '../risk/control-token.js';
import { backendStatus } from './backends.js';
import { SQLITE_BINDING_FIX, sqliteBindingProblem } from './doctor/sqlite-binding.js';

export interface ValidateOptions {
  config: string;
  /** Check the file alone (schema, `${VAR}` substitution, ranges), not the plugins it names. */
  fileOnly?: boolean;
  /** The environment `run` will have (default process.env): `${VAR}`s and `CWTS_CONTROL_TOKEN`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * `cwts-ultra validate-config`: everything `run` checks before it connects, and nothing else.
 * The file (schema, `${VAR}` substitution, ranges), then every plugin it names through the same
 * preparePlugins that `run` uses: loaded, its options validated, registered in a scratch
 * container (never initialized, so no I/O), then each compute backend `run` would try probed
 * and created on this host with its settings, and disposed (as doctor does), and the journal's
 * SQLite addon loaded. Every problem of every plugin is reported at once, as `run` would refuse
 * them. `--file-only` stops after the file, for a machine without the deployment's plugins
 * installed (the host checks are skipped too; the control token is still checked).
 */
export async function validateConfigCommand(opts: ValidateOptions, print: (line: string) => void): Promise<number> {
  const env = opts.env ?? process.env;
  const loaded = loadConfigForCli(opts.config, env);
  // Symbols, plugin paths and names may come from ${VAR}s too.
  const out = (line: string) => print(outputRedactor.redact(line));
  let backendSkips: { name: string; reason: string }[] = [];
  let venues = loaded.config.venues;
  // Venues whose fills are simulated (the sim): they need no keys, as `run` knows them.
  let simulated: string[] = [];
  // A host check like the compute probes, so not under --file-only (a CI machine may skip the build)
  let sqliteProblem: string | undefined;
  if (!opts.fileOnly) {
    // `run` opens the journal before it connects, and cannot without better-sqlite3's addon
    sqliteProblem = sqliteBindingProblem();
    const root = CwtsContainer.createRoot('validate-config');
    // Core's defaults, as `run` registers them (lazy: nothing is built, no journal opened), so
    // a plugin replacing one without declaring it in `overrides` fails here as it would there.
    registerCoreServices(root, { config: loaded.config, clock: new ManualClock(), logger: silentLogger(), metrics: new MetricsRegistry(), timers: false, journal: true, onJournalError: () => {} });
    const prepared = await preparePlugins({ loaded, root, logger: silentLogger() });
    // a configured detector, strategy or risk-check table whose plugin registered nothing: run refuses it
    requireConfiguredRegistrations(loaded, prepared);
    // The compute backends as startup takes them (the same registration and the same unusable
    // list): a plugin loaded under a [compute] name it provides no backend for, or a GPU backend
    // with gpu_enabled = false, is reported as `run` will skip it.
    const registry = new ComputeRegistry(silentLogger());
    registerComputeProviders(registry, root.resolveAll(TOKENS.ComputeBackendProvider));
    backendSkips = unusableComputeBackends(registry, { compute: loaded.config.compute, gpuEnabled: loaded.config.performance.gpu_enabled, loadSkips: prepared.backendSkips });
    // Then each backend run would try, probed and created with its [compute.<name>] settings on
    // this host as doctor and `backends --config` do (backendStatus; disposed again): a setting
    // only the backend can judge (cpu-simd `isa = "neon"` on x86-64) fails here, not at start.
    for (const s of await probedComputeSkips(loaded.configDir, loaded.config.compute, loaded.config.performance)) {
      if (!backendSkips.some((b) => b.name === s.name)) backendSkips.push(s);
    }
    venues = prepared.venues;
    simulated = simulatedVenues(prepared.venueScopes);
    // `[cluster]`: its package must load as `run` would load it (no connection is made).
    if (loaded.config.cluster?.enabled) await loadClusterModule(loaded.config.cluster, loaded.configDir, loaded.config.system.plugin_init_timeout_ms);
  }
  const c = loaded.config;
  // An exact list whose every backend is known unusable: `run` refuses to start whatever the hardware.
  const computeRefused = c.compute.backends !== undefined && c.compute.backends.every((n) => backendSkips.some((s) => s.name === n));
  // `run` always starts the control endpoint, so a token it refuses is a start that fails.
  const tokenProblem = controlTokenProblem(env);
  const refused = computeRefused || tokenProblem !== undefined || sqliteProblem !== undefined;
  out(`${opts.config}: ${refused ? 'invalid' : 'valid'}${opts.fileOnly ? ' (file only: plugins not loaded or checked)' : ''}`);
  out(`  system ${c.system.name} (${c.system.environment}), mode ${c.system.mode}`);
  for (const v of venues) {
    const symbols = v.symbols.length === 0 ? '' : `, symbols ${v.symbols.join(' ')}${v.symbols !== c.venues.find((x) => x.name === v.name)?.symbols ? ' (the plugin\'s defaults)' : ''}`;
    const keys = v.hasCredentials ? 'credentials set' : simulated.includes(v.name) ? 'simulated (paper fills, no credentials needed)' : 'no credentials (market data only)';
    // Which environment the venue trades in is what an operator checks before a live start.
    const where = `${v.testnet ? ', testnet' : ''}${v.market !== 'spot' ? `, market ${v.market}` : ''}`;
    out(`  venue ${v.name}: plugin ${v.plugin}${where}, ${keys}${symbols}`);
  }
  if (c.cluster?.enabled) out(`  cluster ${c.cluster.name}: shard ${c.cluster.shard_id} of ${c.cluster.plugin} on ${c.cluster.servers.join(', ')}, takeover ${c.cluster.takeover_ms} ms${c.cluster.max_total_position !== undefined ? `, global max_total_position ${c.cluster.max_total_position}` : ''}`);
  out(c.compute.backends ? `  compute backends (exactly, in order): ${c.compute.backends.join(', ')}` : '  compute backends: auto-detect (accelerators, cpu-simd, CPU-emulated GPUs, js)');
  for (const s of backendSkips) out(`  compute backend ${s.name} will be skipped: ${s.reason}`);
  // the warnings first: one of them may be what explains a refusal (a table for a backend the list leaves out)
  for (const n of loaded.notices ?? []) out(`  ${n}`);
  // As `run` drops it (run.ts): a simulated venue trades without keys, the "market data only" warning is not about it.
  for (const w of loaded.warnings) if (!simulated.some((v) => w.startsWith(`${v}: no api_key`))) out(`  warning: ${w}`);
  if (computeRefused) out(`  error: no backend of [compute] backends = [${c.compute.backends!.join(', ')}] can start here, so \`run\` refuses to start`);
  if (tokenProblem !== undefined) out(`  error: ${tokenProblem}, so \`run\` refuses to start (unset it and run writes a new token to control.token in its data directory)`);
  if (sqliteProblem !== undefined) out(`  error: ${sqliteProblem}, so it refuses to start; fix: ${SQLITE_BINDING_FIX}`);
  return refused ? 1 : 0;
}

/** The backends `run` would try that are unusable on this host, with why (probe or create failed). */
async function probedComputeSkips(baseDir: string, compute: ComputeConfig, performance: PerformanceConfig): Promise<{ name: string; reason: string }[]> {
  const tried = new Set([...computeBackendCandidates(compute), ...(compute.backends === undefined || compute.backends.includes('js') ? ['js'] : [])]);
  const { status, missing } = await backendStatus(baseDir, [], compute, performance);
  return [...status.filter((s) => !s.available).map((s) => ({ name: s.name, reason: s.reason ?? 'unavailable' })), ...missing].filter((s) => tried.has(s.name));
}

/**
 * The venues whose execution client says its fills are simulated, asked the way `run` asks
 * (`ExecutionClient.simulated`): the client is resolved from the venue's scratch scope. Building
 * it does no I/O (plugins connect in initialize/start, never in a constructor or factory). A
 * client that cannot be built before initialize() is not known to be simulated: its venue keeps
 * the warning.
 */
function simulatedVenues(scopes: ReadonlyMap<string, CwtsContainer>): string[] {
  const out: string[] = [];
  for (const [name, scope] of scopes) {
    try {
      if (scope.resolve(TOKENS.ExecutionClient).simulated === true) out.push(name);
    } catch {
      // not resolvable yet: see above
    }
  }
  return out;
}

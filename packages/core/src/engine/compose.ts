import { isAbsolute, resolve as resolvePath } from 'node:path';
import { SystemClock, type Clock } from '../contracts/clock.js';
import type { ComputeBackend } from '../contracts/compute.js';
import type { ExecutionClient, MarketDataClient } from '../contracts/exchange.js';
import type { Detector, RiskCheck, Strategy } from '../contracts/trading.js';
import { ComputeRegistry, instrumentBackend, jsBackendProvider } from '../compute/index.js';
import { ConfigError, type ConfigIssue } from '../config/errors.js';
import type { LoadedConfig, VenueConfig } from '../config/types.js';
import { CwtsContainer } from '../di/container.js';
import { TOKENS } from '../di/tokens.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsRegistry } from '../observability/metrics.js';
import { PluginLoadError, PluginLoadErrors } from '../plugins/errors.js';
import { importPlugin, PluginHost, type PluginRequest } from '../plugins/loader.js';
import { Engine, type VenueRuntime } from './engine.js';
import { Journal } from './journal.js';
import { MarketDataOnlyExecution } from './market-data-only.js';
import { PaperExecutionClient } from './paper-execution.js';
import { RiskManager } from '../risk/manager.js';
import { RiskControlServer } from '../risk/control.js';
import { Recorder } from './recorder.js';
import { builtinDetectors } from '../detectors/builtins.js';
import { rebuildFromJournal } from './rebuild.js';

/** Backends that need a GPU; skipped when `[performance] gpu_enabled = false`. */
const GPU_BACKENDS = new Set(['cuda', 'rocm', 'metal', 'vulkan']);

/** Built-in detectors by name; third-party ones come by `plugin = ...`. */
export interface BuiltinDetectorDeps {
  backend: ComputeBackend;
  logger: Logger;
  clock: Clock;
  metrics: MetricsRegistry;
}
export type BuiltinDetectorFactory = (settings: Readonly<Record<string, unknown>>, name: string, deps: BuiltinDetectorDeps) => Detector;
export const BUILTIN_DETECTORS: ReadonlyMap<string, BuiltinDetectorFactory> = builtinDetectors();

export interface ComposeOptions {
  loaded: LoadedConfig;
  logger: Logger;
  metrics: MetricsRegistry;
  clock?: Clock;
  /** `run --record FILE`. */
  recordPath?: string;
  /** Skip the journal (replay must not write the deployment's journal). */
  journal?: boolean;
  /** Run staleness checks on a timer (off in replay). */
  watchdog?: boolean;
  /** Extra per-venue options merged over `[<venue>.options]` (replay sets the data file). */
  venueOptionOverrides?: Record<string, Record<string, unknown>>;
  /** Replaces the configured venues (replay uses the recorded exchanges). */
  venues?: VenueConfig[];
  beforeEvent?: (event: import('../domain/events.js').MarketEvent) => void;
  /** Overrides `[system] on_shutdown` (replay keeps its virtual orders: nothing is at a venue). */
  onShutdown?: 'cancel' | 'keep';
  /** Serve the manual kill switch (risk/control.ts) on this port at `[monitoring] control_bind_address`; 0 picks a free port. Off when absent. */
  controlPort?: number;
}

export interface Deployment {
  engine: Engine;
  container: CwtsContainer;
  plugins: PluginHost;
  compute: { backend: ComputeBackend; skipped: { name: string; reason: string }[]; registry: ComputeRegistry };
  /** The risk layer: pre-trade chain, equity and drawdown, VaR, state triggers, manual control. */
  risk: RiskManager;
  /** The control endpoint and its port, when `controlPort` was given. */
  control?: { server: RiskControlServer; port: number };
  /** Releases everything in reverse order of acquisition; never throws. */
  dispose(): Promise<void>;
}

interface Planned {
  req: PluginRequest;
  instanceName: string;
  config: Readonly<Record<string, unknown>>;
  scope: 'venue' | 'root';
  optional?: boolean;
}

/**
 * The composition root: turns a validated config into a running engine by loading each named
 * plugin, registering it in its scope (a child container per venue), initializing plugins in
 * order and resolving what the engine needs. Every plugin problem is reported at once.
 */
export async function composeDeployment(opts: ComposeOptions): Promise<Deployment> {
  const { loaded, logger, metrics } = opts;
  const cfg = loaded.config;
  const clock = opts.clock ?? new SystemClock();
  const root = CwtsContainer.createRoot();
  root.registerValue(TOKENS.Config, cfg, '@cwts/core');
  root.registerValue(TOKENS.Clock, clock, '@cwts/core');
  root.registerValue(TOKENS.Logger, logger, '@cwts/core');
  root.registerValue(TOKENS.Metrics, metrics, '@cwts/core');

  const venues = (opts.venues ?? cfg.venues).map((v) => ({ ...v, options: { ...v.options, ...(opts.venueOptionOverrides?.[v.name] ?? {}) } }));
  const plan: Planned[] = [];
  for (const v of venues) plan.push({ req: { spec: v.plugin, kind: 'exchange', origin: `exchanges.enabled: ${v.name}` }, instanceName: v.name, config: v, scope: 'venue' });
  for (const d of cfg.detectors) {
    if (!d.enabled) continue;
    if (d.plugin) plan.push({ req: { spec: d.plugin, kind: 'detector', origin: `detectors.${d.name}.plugin` }, instanceName: d.name, config: d.settings, scope: 'root' });
  }
  if (cfg.strategy) plan.push({ req: { spec: cfg.strategy.plugin, kind: 'strategy', origin: 'strategy.plugin' }, instanceName: 'strategy', config: cfg.strategy.settings, scope: 'root' });

  // Compute backends are optional by nature: a missing one is a skipped backend, not an error.
  const backendSkips: { name: string; reason: string }[] = [];
  for (const name of cfg.compute.backends) {
    if (name === 'js') continue;
    if (GPU_BACKENDS.has(name) && !cfg.performance.gpu_enabled) {
      backendSkips.push({ name, reason: 'performance.gpu_enabled = false' });
      continue;
    }
    const settings = { ...(cfg.compute.backendOptions[name] ?? {}), simd_enabled: cfg.performance.simd_enabled };
    plan.push({ req: { spec: `@cwts/backend-${name}`, kind: 'backend', origin: `compute.backends: ${name}` }, instanceName: name, config: settings, scope: 'root', optional: true });
  }

  const problems: PluginLoadError[] = [];
  const imported = await Promise.all(
    plan.map(async (p) => {
      try {
        return await importPlugin(p.req, loaded.configDir);
      } catch (err) {
        const e = err instanceof PluginLoadError ? err : new PluginLoadError('IMPORT_FAILED', p.req.spec, String(err));
        if (p.optional) backendSkips.push({ name: p.instanceName, reason: e.code === 'NOT_INSTALLED' ? `not installed (package ${p.req.spec})` : e.message });
        else problems.push(e);
        return undefined;
      }
    }),
  );
  if (problems.length > 0) throw new PluginLoadErrors(problems);

  // Plugin-owned option tables are validated by the plugin, with key paths, before any I/O.
  const issues: ConfigIssue[] = [];
  plan.forEach((p, k) => {
    const m = imported[k];
    if (m?.validateOptions && p.scope === 'venue') issues.push(...m.validateOptions((p.config as VenueConfig).options, `${p.instanceName}.options`));
  });
  if (issues.length > 0) throw new ConfigError(issues);

  const host = new PluginHost(logger);
  const venueScopes = new Map<string, CwtsContainer>();
  plan.forEach((p, k) => {
    const m = imported[k];
    if (!m) return;
    let scope = root;
    if (p.scope === 'venue') {
      scope = root.createChild(p.instanceName);
      scope.registerValue(TOKENS.VenueName, p.instanceName, '@cwts/core');
      scope.registerValue(TOKENS.VenueConfig, p.config, '@cwts/core');
      venueScopes.set(p.instanceName, scope);
    }
    host.register(m, scope, p.instanceName, p.config);
  });

  let backendResult: { backend: ComputeBackend; skipped: { name: string; reason: string }[] } | undefined;
  const registry = new ComputeRegistry(logger);
  try {
    await host.initializeAll();
    registry.register(jsBackendProvider);
    for (const provider of root.resolveAll(TOKENS.ComputeBackendProvider)) registry.register(provider);
    // The configured list is exact and ordered; backends whose plugin did not load keep their place and reason.
    const r = await registry.resolve(cfg.compute.backends, { threadPoolSize: cfg.performance.thread_pool_size, settings: {} }, backendSkips);
    backendResult = { backend: instrumentBackend(r.backend, (kernel, s) => metrics.computeKernelSeconds.labels(r.backend.name, kernel).observe(s)), skipped: r.skipped };
    root.registerValue(TOKENS.ComputeBackend, backendResult.backend, '@cwts/core');
  } catch (err) {
    await host.disposeAll();
    throw err;
  }

  const detectors: Detector[] = [];
  for (const d of cfg.detectors) {
    if (!d.enabled || d.plugin) continue;
    const make = BUILTIN_DETECTORS.get(d.name);
    if (!make) {
      const known = [...BUILTIN_DETECTORS.keys()];
      throw new ConfigError([{ path: `detectors.${d.name}`, message: `no built-in detector named ${d.name} (built-ins: ${known.length ? known.join(', ') : 'none'}); set plugin = "<package or path>" for a third-party detector` }]);
    }
    detectors.push(make(d.settings, d.name, { backend: backendResult.backend, logger: logger.child({ detector: d.name }), clock, metrics }));
  }

  // Paper executors look books up through the engine, which is built below.
  let engine: Engine;
  const venueRuntimes: VenueRuntime[] = venues.map((v) => {
    const scope = venueScopes.get(v.name)!;
    const marketData = scope.resolve(TOKENS.MarketDataClient) as MarketDataClient;
    let execution = scope.resolve(TOKENS.ExecutionClient) as ExecutionClient;
    if (!execution.simulated && !v.hasCredentials) {
      execution = new MarketDataOnlyExecution(v.name, 'no api_key/api_secret configured; market data only');
    } else if (!execution.simulated && cfg.system.mode === 'paper') {
      // Paper mode never sends an order out: fills are simulated against our copy of the book.
      const p = cfg.paper;
      execution = new PaperExecutionClient(v.name, (sym) => engine.book(v.name, sym), (sym) => engine.instrument(v.name, sym), clock, {
        latencyMs: p.latency_ms,
        makerFeeBps: bpsText(p.maker_fee_bps),
        takerFeeBps: bpsText(p.taker_fee_bps),
      });
    }
    return { name: v.name, symbols: v.symbols, marketData, execution };
  });

  // The built-in pre-trade chain from [risk] (risk/checks.ts), then third-party checks.
  const r = cfg.risk;
  const risk = new RiskManager({
    risk: r,
    metrics,
    logger: logger.child({ component: 'risk' }),
    backend: backendResult.backend,
    timers: opts.watchdog !== false,
    initialEquity: r.initial_equity,
    reduceAtDrawdownFraction: r.reduce_at_drawdown,
    mark: r.mark,
    staleAfterMs: r.stale_after_ms,
    feedLossGraceMs: r.feed_loss_grace_ms,
    feedLossAction: r.feed_loss_action === 'halt' ? 'HALTED' : 'REDUCING',
    var: { method: r.var_method, budget: r.var_budget, horizon: r.var_horizon, sampleEveryMs: r.var_sample_ms, recomputeEveryMs: r.var_interval_s * 1000 },
  });
  const riskChecks: RiskCheck[] = [...risk.checks, ...root.resolveAll(TOKENS.RiskCheck)];
  const strategy = root.isRegistered(TOKENS.Strategy) ? (root.resolve(TOKENS.Strategy) as Strategy) : undefined;
  detectors.push(...root.resolveAll(TOKENS.Detector));

  let journal: Journal | undefined;
  if (opts.journal !== false) {
    const path = isAbsolute(cfg.journal.path) ? cfg.journal.path : resolvePath(loaded.configDir, cfg.journal.path);
    journal = new Journal(path, cfg.journal.fsync);
  }
  engine = new Engine({
    clock,
    logger,
    metrics,
    venues: venueRuntimes,
    detectors,
    strategy,
    riskChecks,
    risk,
    journal,
    recorder: opts.recordPath ? new Recorder(opts.recordPath) : undefined,
    onShutdown: opts.onShutdown ?? cfg.system.on_shutdown,
    watchdog: opts.watchdog,
    beforeEvent: opts.beforeEvent,
  });
  if (journal) {
    rebuildFromJournal(engine, journal.path, logger);
    journal.open();
  }

  let control: { server: RiskControlServer; port: number } | undefined;
  if (opts.controlPort !== undefined) {
    const server = new RiskControlServer(risk, logger.child({ component: 'risk-control' }));
    let port: number;
    try {
      port = await server.listen(opts.controlPort, cfg.monitoring.control_bind_address);
    } catch (err) {
      journal?.close();
      await backendResult.backend.dispose().catch(() => {});
      await host.disposeAll();
      throw err;
    }
    control = { server, port };
    logger.info({ controlPort: port }, `risk control endpoint on http://${cfg.monitoring.control_bind_address}:${port}/risk`);
  }

  let disposed = false;
  return {
    engine,
    container: root,
    plugins: host,
    compute: { ...backendResult, registry },
    risk,
    control,
    async dispose() {
      if (disposed) return;
      disposed = true;
      await engine.stop('dispose');
      await control?.server.close();
      await backendResult!.backend.dispose().catch((err) => logger.error({ err: String(err) }, 'compute backend dispose failed'));
      await host.disposeAll();
    },
  };
}

/** A fee rate as a plain decimal string (never exponent notation), to 6 decimals. */
function bpsText(bps: number): string {
  return bps.toFixed(6).replace(/\.?0+$/, '') || '0';
}

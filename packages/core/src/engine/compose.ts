import { SystemClock, type Clock } from '../contracts/clock.js';
import type { ComputeBackend } from '../contracts/compute.js';
import type { ExecutionClient, MarketDataClient } from '../contracts/exchange.js';
import type { Detector, RiskCheck, Strategy } from '../contracts/trading.js';
import { instrumentBackend, startComputeBackend, type ComputeRegistry } from '../compute/index.js';
import type { LoadedConfig, VenueConfig } from '../config/types.js';
import { CwtsContainer } from '../di/container.js';
import { TOKENS } from '../di/tokens.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsRegistry } from '../observability/metrics.js';
import type { PluginHost } from '../plugins/loader.js';
import { preparePlugins, requireConfiguredRegistrations } from './prepare-plugins.js';
import { Engine, type VenueRuntime } from './engine.js';
import { JournalStore } from '../journal/store.js';
import { MarketDataOnlyExecution } from './market-data-only.js';
import { PaperExecutionClient, paperSettingsOf } from './paper-execution.js';
import type { RiskManager } from '../risk/manager.js';
import { RiskControlServer } from '../risk/control.js';
import { establishControlToken, type ControlToken } from '../risk/control-token.js';
import { Recorder } from './recorder.js';
import { builtinDetectors, type BuiltinDetectorDeps, type BuiltinDetectorFactory } from '../detectors/builtins.js';
import { attachJournal } from './rebuild.js';
import { registerCoreServices } from './core-services.js';
import type { Journal } from '../journal/journal.js';
import { SERVICE_TOKENS } from '../services/tokens.js';
import { BackpressureMonitor } from '../observability/backpressure.js';
import { selectIntake } from '../intake/select.js';

export type { BuiltinDetectorDeps, BuiltinDetectorFactory };
/** Built-in detectors by name; third-party ones come by `plugin = ...`. */
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
  /** The data directory the journal lives in (default config/data-dir.ts resolveDataDir()). */
  dataDir?: string;
  /** Run staleness checks on a timer (off in replay). */
  watchdog?: boolean;
  /** Extra per-venue options merged over `[<venue>.options]` (replay sets the data file). */
  venueOptionOverrides?: Record<string, Record<string, unknown>>;
  /** Replaces the configured venues (replay uses the recorded exchanges). */
  venues?: VenueConfig[];
  beforeEvent?: (event: import('../domain/events.js').MarketEvent) => void;
  /** Taps on signals, fills and risk state for reports (engine.ts EngineObserver). */
  observer?: import('./engine.js').EngineObserver;
  /** Overrides `[system] on_shutdown` (replay keeps its virtual orders: nothing is at a venue). */
  onShutdown?: 'cancel' | 'keep';
  /** Serve the manual kill switch (risk/control.ts) on this port at `[monitoring] control_bind_address`; 0 picks a free port. Off when absent. */
  controlPort?: number;
  /** Checks appended after every other pre-trade check (a cluster shard's lease and budget gates). */
  extraRiskChecks?: readonly RiskCheck[];
  /** The control endpoint's token; default: `CWTS_CONTROL_TOKEN`, else a new one in `<data dir>/control.token`. */
  controlToken?: ControlToken;
  /** Keep the digest of signals and fills (replay, and `run --record`, compare runs by it). */
  digest?: boolean;
  /** Replaces the back-pressure monitor built from `[performance] max_latency_ms` (tests pass one on a manual clock), or `false` for none. */
  backpressure?: BackpressureMonitor | false;
  /**
   * Abandons composing when aborted (`run` got a shutdown signal or a process fault while
   * starting): the plugin initializing sees its `ctx.signal` abort, nothing further starts, what
   * was acquired is released as after a failure, and the signal's reason is thrown. Composing
   * never returns a deployment once it is aborted.
   */
  signal?: AbortSignal;
}

export interface Deployment {
  engine: Engine;
  container: CwtsContainer;
  plugins: PluginHost;
  compute: { backend: ComputeBackend; skipped: { name: string; reason: string }[]; registry: ComputeRegistry };
  /** The risk layer: pre-trade chain, equity and drawdown, VaR, state triggers, manual control. */
  risk: RiskManager;
  /**
   * The control endpoint, its port and the token it accepts, when `controlPort` was given. The
   * token is established only here, once the journal's writer lock is held: a start refused by
   * that lock (a second instance) must not replace the running engine's `control.token`.
   */
  control?: { server: RiskControlServer; port: number; token: ControlToken };
  /** The back-pressure monitor (absent in replay): a venue intake running on a worker registers its feed ring with `watchRing`. */
  backpressure?: BackpressureMonitor;
  /**
   * The registry the engine, risk and journal write to: the caller's `metrics`, or the one a
   * plugin put in its place (`overrides: [TOKENS.Metrics]`). Serve this one on /metrics.
   */
  metrics: MetricsRegistry;
  /** Releases everything in reverse order of acquisition; never throws. */
  dispose(): Promise<void>;
}

/**
 * The composition root: turns a validated config into a running engine by loading each named
 * plugin, registering it in its scope (a child container per venue), initializing plugins in
 * order and resolving what the engine needs. Every plugin problem is reported at once.
 */
export async function composeDeployment(opts: ComposeOptions): Promise<Deployment> {
  const { loaded, signal } = opts;
  signal?.throwIfAborted();
  const cfg = loaded.config;
  const defaultClock = opts.clock ?? new SystemClock();
  const root = CwtsContainer.createRoot();
  root.registerValue(TOKENS.Config, cfg, '@cwts/core');
  // Core's services are defaults in the container (engine/core-services.ts): a plugin replaces
  // one by registering its token with the token in its manifest's `overrides`.
  registerCoreServices(root, {
    config: cfg,
    clock: defaultClock,
    logger: opts.logger,
    metrics: opts.metrics,
    timers: opts.watchdog !== false,
    journal: opts.journal !== false,
    dataDir: opts.dataDir,
    onJournalError: (err) => engine?.halt(`journal write failed: ${err.message}`),
  });

  const configured = (opts.venues ?? cfg.venues).map((v) => ({ ...v, options: { ...v.options, ...(opts.venueOptionOverrides?.[v.name] ?? {}) } }));
  // The same check validate-config runs: every plugin problem at once, before any I/O.
  // Nothing is acquired yet (core's defaults are lazy): abandoned while plugins import, it throws at once.
  const prepared = await preparePlugins({ loaded, root, logger: opts.logger, venues: configured, venuesReplaced: opts.venues !== undefined, signal });
  const { host, venueScopes, backendSkips, venues } = prepared;
  // A configured detector, strategy or `[risk_checks.*]` table whose plugin registered nothing
  // would start without it, and without a word (a configured limit that does not apply): refuse
  // startup instead, before any plugin is initialized (nothing to release yet).
  requireConfiguredRegistrations(loaded, prepared);
  signal?.throwIfAborted();
  // From here on, what the container provides: core's defaults or a plugin's replacement.
  const clock = root.resolve(TOKENS.Clock);
  const logger = root.resolve(TOKENS.Logger);
  const metrics = root.resolve(TOKENS.Metrics);
  // Each backend within the plugins' dispose deadline (docs/operations.md, "Stop deadline"): one
  // stuck in its driver is logged and counted, and the plugins are still disposed after it.
  const disposeBackends = async (registry: ComputeRegistry): Promise<void> => {
    for (const p of await registry.dispose(cfg.system.plugin_dispose_timeout_ms)) metrics.errors.labels(`compute:${p.name}`).inc();
  };

  let backendResult: { backend: ComputeBackend; skipped: { name: string; reason: string }[] } | undefined;
  let registry: ComputeRegistry | undefined;
  let journal: Journal | undefined;
  // Assigned below; the journal's error handler halts it (a write failure stops new orders).
  let engine: Engine | undefined;
  let backpressure: BackpressureMonitor | undefined;
  let control: { server: RiskControlServer; port: number; token: ControlToken } | undefined;
  let risk: RiskManager;
  // Everything from opening the journal to a built engine (and its control endpoint) is one
  // unit: a failure anywhere in it (the journal's writer lock, a plugin's initialize, a venue's
  // createVenue, resolving the risk manager, a check, the strategy or a detector) releases what
  // was acquired, in reverse order, and rethrows, so `run` exits instead of hanging on plugin
  // timers. An abort of `signal` is such a failure, at the step under way.
  try {
    // Core's own journal first: its writer lock refuses a second instance on this data directory
    // before any plugin initializes (venue connections, REST calls) or a backend is created (a
    // GPU context). A plugin's replacement journal (`overrides`) is resolved after initializeAll
    // below instead: its factory may need its plugin's initialize(), and it takes no such lock.
    if (opts.journal !== false && root.isDefault(SERVICE_TOKENS.Journal)) journal = root.resolve(SERVICE_TOKENS.Journal);
    registry = root.resolve(SERVICE_TOKENS.ComputeRegistry);
    await host.initializeAll({ signal });
    const starting = startComputeBackend({
      registry, providers: root.resolveAll(TOKENS.ComputeBackendProvider), compute: cfg.compute,
      gpuEnabled: cfg.performance.gpu_enabled, threadPoolSize: cfg.performance.thread_pool_size, loadSkips: backendSkips,
    });
    // Abandoned while backends are probed and created (a GPU context each, seconds apiece): the
    // registry is closed at once, so no further one is created and one in flight is disposed when
    // it settles, and the stop does not wait for them (one that hangs would hold it for good).
    const openedRegistry = registry;
    const r = await untilAbandoned(starting, signal, () => void openedRegistry.dispose(cfg.system.plugin_dispose_timeout_ms));
    signal?.throwIfAborted();
    backendResult = { backend: instrumentBackend(r.backend, (kernel, s) => metrics.computeKernelSeconds.labels(r.backend.name, kernel).observe(s)), skipped: r.skipped };
    root.registerValue(TOKENS.ComputeBackend, backendResult.backend, '@cwts/core');

    // Paper executors look books up through the engine, which is built below.
    const venueRuntimes: VenueRuntime[] = venues.map((v) => {
      const scope = venueScopes.get(v.name)!;
      const marketData = selectIntake(scope.resolve(TOKENS.MarketDataClient) as MarketDataClient, { exchange: v.name, performance: cfg.performance, logger, clock, watchRing: (ex, fill) => backpressure?.watchRing(ex, fill) ?? (() => {}) });
      let execution = scope.resolve(TOKENS.ExecutionClient) as ExecutionClient;
      if (!execution.simulated && !v.hasCredentials) {
        execution = new MarketDataOnlyExecution(v.name, 'no api_key/api_secret configured; market data only');
      } else if (!execution.simulated && cfg.system.mode === 'paper') {
        // Paper mode never sends an order out: fills are simulated against our copy of the book.
        execution = new PaperExecutionClient(v.name, (sym) => engine!.book(v.name, sym), (sym) => engine!.instrument(v.name, sym), clock, paperSettingsOf(cfg.paper));
      }
      return { name: v.name, symbols: v.symbols, marketData, execution };
    });

    // Equity, drawdown, VaR and the risk state machine: core's RiskManager unless a plugin replaced it.
    risk = root.resolve(SERVICE_TOKENS.RiskManager);
    // Core's chain (a core plugin, engine/builtin-plugins.ts) first, then `[risk_checks.*]` plugins,
    // then what the caller appends (a cluster shard's lease and budget gates).
    const riskChecks: RiskCheck[] = [...root.resolveAll(TOKENS.RiskCheck), ...(opts.extraRiskChecks ?? [])];
    const strategy = root.isRegistered(TOKENS.Strategy) ? (root.resolve(TOKENS.Strategy) as Strategy) : undefined;
    // Built-in detectors and third-party ones alike are plugins, in config order (built-ins first).
    const detectors: Detector[] = root.resolveAll(TOKENS.Detector);

    // A plugin's replacement journal, now that its plugin is initialized (core's is open already).
    if (journal === undefined && opts.journal !== false && root.isRegistered(SERVICE_TOKENS.Journal)) journal = root.resolve(SERVICE_TOKENS.Journal);
    const router = root.resolve(TOKENS.OrderRouter);
    // Wall-time lag means nothing on a replay's virtual clock: back-pressure runs where the watchdog does.
    backpressure = opts.backpressure === false ? undefined : (opts.backpressure ?? (opts.watchdog !== false ? new BackpressureMonitor({ budgetMs: cfg.performance.max_latency_ms, metrics, logger }) : undefined));
    const opened = journal;
    engine = new Engine({
      clock,
      logger,
      metrics,
      books: root.resolve(SERVICE_TOKENS.BookStore),
      router,
      venues: venueRuntimes,
      detectors,
      strategy,
      riskChecks,
      risk,
      journal,
      onReconcileMismatch: cfg.reconcile.on_mismatch,
      // the watchdog marks a book STALE at the same age the book_health check refuses it at
      staleAfterMs: cfg.risk.stale_after_ms,
      // Restoring reads core's SQLite journal; a plugin's replacement journal starts from nothing.
      restore: opened instanceof JournalStore ? (e) => attachJournal(e, opened, logger) : undefined,
      recorder: opts.recordPath
        ? new Recorder(opts.recordPath, (message) => {
            metrics.errors.labels('recorder').inc();
            logger.error({ component: 'recorder' }, `${message}; trading goes on, the rest of this run is not recorded`);
          })
        : undefined,
      onShutdown: opts.onShutdown ?? cfg.system.on_shutdown,
      // A venue client's stop() (and a detector's dispose()) is bounded like a plugin's dispose().
      stopTimeoutMs: cfg.system.plugin_dispose_timeout_ms,
      watchdog: opts.watchdog,
      beforeEvent: opts.beforeEvent,
      observer: opts.observer,
      digest: opts.digest ?? opts.recordPath !== undefined,
      backpressure,
      // Venue text the engine shows outside the log (journal, /status, /health/ready, OTel spans)
      // is masked like every log line: no \${VAR} value (an API key, a secret) and no URL password.
      redact: (text) => loaded.redactor.redact(text),
    });

    if (opts.controlPort !== undefined) {
      // After the journal is opened (its writer lock held): a second instance refused by the lock
      // never gets here, so the running engine's token file, the kill switch's, stays its own.
      const token = opts.controlToken ?? establishControlToken();
      const server = new RiskControlServer(risk, { token: token.token, logger: logger.child({ component: 'risk-control' }) });
      const port = await server.listen(opts.controlPort, cfg.monitoring.control_bind_address);
      logger.info(`risk control token from ${token.source.kind === 'env' ? 'CWTS_CONTROL_TOKEN' : token.source.path}`);
      control = { server, port, token };
      logger.info({ controlPort: port }, `risk control endpoint on http://${cfg.monitoring.control_bind_address}:${port}/risk`);
    }
    // The last check: a deployment is returned only when nobody abandoned it meanwhile.
    signal?.throwIfAborted();
  } catch (err) {
    // The engine was never started: nothing to stop. Each step is guarded so one failing
    // release does not keep the next from running.
    await control?.server.close().catch((closeErr: unknown) => logger.error({ err: String(closeErr) }, 'risk control endpoint close failed'));
    try {
      journal?.close();
    } catch (closeErr) {
      logger.error({ err: String(closeErr) }, 'journal close failed');
    }
    // The registry disposes every backend it created, one still being created included.
    if (registry !== undefined) await disposeBackends(registry);
    await host.disposeAll();
    throw err;
  }

  let disposed = false;
  const running = engine;
  return {
    engine: running,
    container: root,
    plugins: host,
    compute: { ...backendResult!, registry: registry! },
    risk,
    control,
    backpressure,
    metrics,
    async dispose() {
      if (disposed) return;
      disposed = true;
      try {
        await running.stop('dispose');
        await control?.server.close();
      } finally {
        await disposeBackends(registry!);
        await host.disposeAll();
      }
    },
  };
}

/**
 * `work`, or a rejection with the signal's reason as soon as it aborts (then `onAbandon` runs,
 * and a late settlement of `work` is dropped).
 */
async function untilAbandoned<T>(work: Promise<T>, signal: AbortSignal | undefined, onAbandon: () => void): Promise<T> {
  if (!signal) return work;
  work.catch(() => {});
  let listener: (() => void) | undefined;
  const abandoned = new Promise<never>((_, reject) => {
    listener = () => {
      onAbandon();
      reject(signal.reason);
    };
    if (signal.aborted) listener();
    else signal.addEventListener('abort', listener, { once: true });
  });
  try {
    return await Promise.race([work, abandoned]);
  } finally {
    signal.removeEventListener('abort', listener!);
  }
}

import { createHash } from 'node:crypto';
import { SystemClock, type Clock } from '../contracts/clock.js';
import type { ComputeBackend } from '../contracts/compute.js';
import type { ExecutionClient, MarketDataClient } from '../contracts/exchange.js';
import type { Detector, RiskCheck, Strategy } from '../contracts/trading.js';
import { ComputeRegistry, instrumentBackend, startComputeBackend } from '../compute/index.js';
import { ConfigError } from '../config/errors.js';
import type { LoadedConfig, VenueConfig } from '../config/types.js';
import { CwtsContainer } from '../di/container.js';
import { TOKENS } from '../di/tokens.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsRegistry } from '../observability/metrics.js';
import type { PluginHost } from '../plugins/loader.js';
import { preparePlugins } from './prepare-plugins.js';
import { Engine, type VenueRuntime } from './engine.js';
import { JournalStore } from '../journal/store.js';
import { journalStringify } from '../journal/json.js';
import { resolveJournalPath } from '../journal/location.js';
import { MarketDataOnlyExecution } from './market-data-only.js';
import { PaperExecutionClient } from './paper-execution.js';
import { RiskManager } from '../risk/manager.js';
import { RiskControlServer } from '../risk/control.js';
import { establishControlToken, type ControlToken } from '../risk/control-token.js';
import { Recorder } from './recorder.js';
import { builtinDetectors, type BuiltinDetectorDeps, type BuiltinDetectorFactory } from '../detectors/builtins.js';
import { attachJournal } from './rebuild.js';

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
  /** The control endpoint's token; default: `CWTS_CONTROL_TOKEN`, else a new one in `<data dir>/control.token`. */
  controlToken?: ControlToken;
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
  // The same check validate-config runs: every plugin problem at once, before any I/O.
  const { host, venueScopes, backendSkips } = await preparePlugins({ loaded, root, logger, venues });

  let backendResult: { backend: ComputeBackend; skipped: { name: string; reason: string }[] } | undefined;
  const registry = new ComputeRegistry(logger);
  try {
    await host.initializeAll();
    const r = await startComputeBackend({
      registry, providers: root.resolveAll(TOKENS.ComputeBackendProvider), compute: cfg.compute,
      gpuEnabled: cfg.performance.gpu_enabled, threadPoolSize: cfg.performance.thread_pool_size, loadSkips: backendSkips,
    });
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

  let journal: JournalStore | undefined;
  if (opts.journal !== false) {
    const path = resolveJournalPath(cfg.journal, cfg.system.name, opts.dataDir);
    try {
      journal = JournalStore.open(path, {
        fsync: cfg.journal.fsync,
        batchMs: cfg.journal.batch_ms,
        systemName: cfg.system.name,
        configDigest: createHash('sha256').update(journalStringify(cfg)).digest('hex'),
        // Trading on without a record of it would make the next restart wrong: stop new orders.
        onError: (err) => {
          logger.error({ err: err.message }, err.message);
          engine?.halt(`journal write failed: ${err.message}`);
        },
      });
    } catch (err) {
      await backendResult.backend.dispose().catch(() => {});
      await host.disposeAll();
      throw err;
    }
    if (journal.opened.staleLock) {
      const l = journal.opened.staleLock;
      logger.warn({ staleLock: l }, `journal ${path}: took over the lock of pid ${l.pid} on ${l.host} (started ${new Date(l.startedAt).toISOString()}), which is no longer running`);
    }
    if (journal.opened.uncleanPrevious) {
      const r = journal.opened.uncleanPrevious;
      logger.warn(
        { previousRun: r },
        `journal ${path}: the previous run (pid ${r.pid}, started ${new Date(r.startedAt).toISOString()}) did not shut down cleanly; everything it committed is restored, anything still queued (up to ${cfg.journal.fsync === 'always' ? '0' : cfg.journal.batch_ms} ms of activity) was lost, and reconciliation with the venues recovers their fills`,
      );
    }
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
    onReconcileMismatch: cfg.reconcile.on_mismatch,
    restore: journal ? (e) => attachJournal(e, journal!, logger) : undefined,
    recorder: opts.recordPath ? new Recorder(opts.recordPath) : undefined,
    onShutdown: opts.onShutdown ?? cfg.system.on_shutdown,
    watchdog: opts.watchdog,
    beforeEvent: opts.beforeEvent,
    observer: opts.observer,
  });


  let control: { server: RiskControlServer; port: number } | undefined;
  if (opts.controlPort !== undefined) {
    let server: RiskControlServer;
    let port: number;
    try {
      const token = opts.controlToken ?? establishControlToken();
      server = new RiskControlServer(risk, { token: token.token, logger: logger.child({ component: 'risk-control' }) });
      port = await server.listen(opts.controlPort, cfg.monitoring.control_bind_address);
      logger.info(`risk control token from ${token.source.kind === 'env' ? 'CWTS_CONTROL_TOKEN' : token.source.path}`);
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

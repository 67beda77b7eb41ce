import { isLoopback, outputRedactor } from '../config/index.js';
import { loadConfigForCli } from './output.js';
import { composeDeployment, type Deployment } from '../engine/compose.js';
import { recordingTargetProblem } from '../engine/recorder.js';
import { resolveJournalPath } from '../journal/location.js';
import { JournalStore } from '../journal/store.js';
import { engineHealth, engineStatus } from '../engine/status.js';
import type { Order } from '../domain/orders.js';
import { createLogger } from '../observability/logger.js';
import { HttpEndpoint } from '../observability/http.js';
import { healthEndpointRoutes } from '../observability/health-endpoint.js';
import { OffThreadMetricsEndpoint } from '../observability/metrics-server.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RecentActivity } from '../observability/recent-activity.js';
import { SnapshotHub } from '../observability/snapshot-hub.js';
import { combineObservers, type ClusterShard } from '../cluster/contract.js';
import { createClusterShard } from '../cluster/shard-runtime.js';
import { startTracing } from '../observability/tracing/start.js';
import { CONTROL_TOKEN_ENV, CONTROL_TOKEN_FILE, controlTokenProblem, establishControlToken, tokensEqual } from '../risk/control-token.js';
import { setLongTimeout } from './long-timeout.js';
import { listenForShutdown, type EarlySignals } from './shutdown-signals.js';

export interface RunOptions {
  config: string;
  duration?: number;
  record?: string;
  /** `--force-record`: a recording may overwrite an existing file (never the journal). */
  forceRecord?: boolean;
  /** Tests pass 'silent'; otherwise [system] log_level. */
  logLevel?: string;
  /** Where uncaught errors are reported (`process`; tests pass their own emitter). */
  faults?: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
  /** ENGINE_START_FAILED_HOOK_MS unless given (tests shorten it). */
  engineStartFailedHookMs?: number;
  /** From the bin: a shutdown signal that came while the CLI loaded stops run as soon as it listens. */
  earlySignals?: EarlySignals;
}

export { SHUTDOWN_SIGNALS } from './shutdown-signals.js';

/**
 * run's exit code when it stopped with `on_shutdown = "cancel"` and orders are still open: the
 * venues did not confirm every cancel within the engine's wait (docs/operations.md).
 */
export const STOPPED_WITH_OPEN_ORDERS = 3;

/**
 * run's exit code after a process fault: an exception or a promise rejection that no handler
 * caught (a bug, in this process or a plugin). Node's default would end the process at once,
 * with orders working and the journal unflushed; run halts, stops in order, and exits with it.
 */
export const PROCESS_FAULT = 70;

/** How long the orderly stop after a process fault may take before the process exits anyway. */
export const FAULT_STOP_DEADLINE_MS = 30_000;

/**
 * How long run waits for the cluster shard's engineStartFailed hook after engine.start() failed:
 * then it stops and exits anyway, so a hook that hangs (a broker that does not answer) cannot keep
 * the process up. Within the shard's own stop bound (cluster-nats: 5 s), far inside the 30 s stop
 * grace of the deploy files.
 */
export const ENGINE_START_FAILED_HOOK_MS = 5000;

/** Why composing was abandoned: a stop (a signal, `--duration`, a process fault) came while run started. */
class StartupAbandoned extends Error {
  constructor(readonly reason: string) {
    super(`startup abandoned: ${reason}`);
    this.name = 'StartupAbandoned';
  }
}

function errorText(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

/**
 * An error's text as it may leave the process (an OpenTelemetry span's status): masked like the
 * log line and stderr that tell the same error (no \${VAR} value, no URL password).
 */
function shownErrorText(err: unknown): string {
  return outputRedactor.redact(errorText(err));
}

/**
 * `cwts-ultra run`: compose, serve metrics and health, start, and stop cleanly on SIGINT,
 * SIGTERM, SIGHUP or after --duration: stop intake, cancel or keep open orders as configured,
 * flush the journal and the recording, exit 0 (STOPPED_WITH_OPEN_ORDERS when cancels went unconfirmed).
 * A signal while it starts (plugins initializing) abandons startup, releases what was acquired
 * and exits 0 the same way; an uncaught error then exits PROCESS_FAULT.
 */
export async function runCommand(opts: RunOptions): Promise<number> {
  const loaded = loadConfigForCli(opts.config);
  const cfg = loaded.config;
  // The control endpoint always starts, and refuses this token once every plugin has been
  // initialized and the venues connected: refuse it here, before any of that (as validate-config does).
  const tokenProblem = controlTokenProblem();
  if (tokenProblem !== undefined) throw new Error(tokenProblem);
  // Before anything connects: the recorder truncates its file when the engine starts.
  if (opts.record !== undefined) {
    const problem = recordingTargetProblem(opts.record, { journal: resolveJournalPath(cfg.journal, cfg.system.name), overwrite: opts.forceRecord });
    if (problem !== undefined) throw new Error(`--record ${problem}`);
  }
  // Every log line, plugins' included, is masked: no ${VAR} value or URL password reaches a log.
  const logger = createLogger({ level: opts.logLevel ?? cfg.system.log_level, scrub: (line) => outputRedactor.redact(line) });
  const metrics = new MetricsRegistry();
  const recent = new RecentActivity();
  const mon = cfg.monitoring;
  // Off loopback, /status and the live page (positions, orders, P&L) need the control token: the
  // one the control endpoint accepts, established by composing once the journal's writer lock is
  // held. Written here, before the lock, a second instance the lock refuses would have replaced
  // the running engine's control.token, and `cwts-ultra risk halt` would get 401 from it.
  const exposed = !isLoopback(mon.bind_address);
  // From the first step that takes time on (the cluster shard, tracing, and composing: every
  // plugin's initialize(), up to [system] plugin_init_timeout_ms each, the compute backend, the
  // journal, the control port), a shutdown signal or an uncaught error takes the orderly path:
  // startup is abandoned (the plugin initializing sees its ctx.signal abort), what was acquired
  // is released (the plugins initialized are disposed), and run exits with its documented code,
  // never killed by the signal. Once composed, a stop closes what started, as before.
  const abandon = new AbortController();
  let shard: ClusterShard | undefined;
  let tracing: Awaited<ReturnType<typeof startTracing>>;
  let dep: Deployment | undefined;
  let endpoints: { metricsHttp: OffThreadMetricsEndpoint; healthHttp: HttpEndpoint; snapshots: SnapshotHub } | undefined;
  // Settles once composing has ended, either way (assigned below, before any stop can run).
  let assembled: Promise<unknown> = Promise.resolve();
  let stopping: Promise<void> | undefined;
  const endpointStarts: Promise<unknown>[] = [];
  const startEndpoint = <T>(p: Promise<T>): Promise<T> => {
    endpointStarts.push(p);
    return p;
  };
  // The orderly stop never rejects: a step that fails is logged and the rest still runs (a
  // rejection here would reach the process-fault handler, whose stop is this same promise, and
  // run would then neither return nor exit). A failed stop ends run with an error (exit 1).
  let stopFailure: unknown;
  const step = async (what: string, f: () => unknown): Promise<void> => {
    try {
      await f();
    } catch (err) {
      stopFailure ??= err;
      logger.error({ component: 'process' }, `stop: ${what} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  };
  const stop = (why: string) => {
    stopping ??= (async () => {
      // Still composing: abandon it, and wait for it to release what it acquired.
      abandon.abort(new StartupAbandoned(why));
      await assembled.catch(() => {});
      // The journal is flushed with the engine's stop and closed last: a process fault while the
      // plugins, the shard or tracing are torn down HALTs into an open journal (the next start
      // comes up HALTED, docs/operations.md, exit code 70), and the writer lock refuses a second
      // instance until this process has stopped everything it runs.
      const composed = dep;
      if (composed !== undefined) {
        await step('engine', () => composed.engine.stop(why, { keepJournalOpen: true }));
        await step('plugins', () => composed.dispose());
      }
      await step('cluster shard', () => shard?.stop());
      await step('tracing', () => tracing?.shutdown());
      endpoints?.snapshots.close();
      // an endpoint still starting when the stop came is closed once it listens, not left open
      await Promise.allSettled(endpointStarts);
      if (endpoints !== undefined) await Promise.allSettled([endpoints.metricsHttp.close(), endpoints.healthHttp.close()]);
      if (composed !== undefined) await step('journal', () => composed.engine.closeJournal());
    })();
    return stopping;
  };
  // Kept for the whole run: a repeated signal during the stop must not kill the process.
  const stopListening = listenForShutdown((sig) => {
    if (stopping === undefined) return void stop(sig);
    logger.warn(`${sig} received: already stopping (cancelling open orders, flushing the journal); the stop ends by itself, SIGKILL ends the process at once (the journal is crash-safe, but orders may be left working)`);
  });
  // Listening now: the bin's early listeners go, and a signal they caught (a `systemctl stop`
  // right after start) abandons startup as one arriving now would. Nothing above awaits, so no
  // signal falls between the two.
  const earlySignal = opts.earlySignals?.release();
  if (earlySignal !== undefined) {
    logger.info(`${earlySignal} received while cwts-ultra was loading: stopping`);
    void stop(earlySignal);
  }
  // A throw no handler caught means this process can no longer trust its own state: trading
  // HALTs (every open order is cancelled, whatever on_shutdown says), the orderly stop flushes
  // the journal, and the exit code says it was a fault. A stop that hangs ends at the deadline.
  // Before the engine exists there is nothing to halt (no order was sent): startup is abandoned.
  let fault: unknown;
  const onFault = (err: unknown) => {
    const what = err instanceof Error ? (err.stack ?? err.message) : String(err);
    // What the engine writes to once composed: a plugin may have put its own registry in place of ours.
    (dep?.metrics ?? metrics).errors.labels('process').inc();
    if (fault !== undefined) {
      logger.error({ component: 'process' }, `another uncaught error while stopping after a process fault: ${what}`);
      return;
    }
    fault = err;
    if (dep === undefined) {
      logger.fatal({ component: 'process' }, `process fault (an error no handler caught) while starting: ${what}; abandoning startup (no order was sent) and stopping`);
    } else {
      logger.fatal({ component: 'process' }, `process fault (an error no handler caught): ${what}; halting, cancelling open orders and stopping`);
      try {
        dep.engine.halt(`process fault: ${err instanceof Error ? err.message : String(err)}`);
      } catch (haltErr) {
        logger.error({ component: 'process' }, `halt after a process fault failed: ${String((haltErr as Error)?.message ?? haltErr)}`);
      }
      haltIntoClosedJournal(dep.engine, logger);
    }
    const deadline = setTimeout(() => {
      logger.fatal({ component: 'process' }, `the stop after a process fault did not end within ${FAULT_STOP_DEADLINE_MS} ms: exiting`);
      process.exit(PROCESS_FAULT);
    }, FAULT_STOP_DEADLINE_MS).unref();
    void stop('process fault').finally(() => clearTimeout(deadline));
  };
  const faults = opts.faults ?? process;
  faults.on('uncaughtException', onFault);
  faults.on('unhandledRejection', onFault);
  const stopListeningAll = () => {
    stopListening();
    faults.off('uncaughtException', onFault);
    faults.off('unhandledRejection', onFault);
  };

  const assembling = (async (): Promise<Deployment> => {
    // `[cluster]`: one shard of many (docs/scale-out.md); without it nothing of the cluster loads.
    shard = await createClusterShard(loaded, logger);
    abandon.signal.throwIfAborted();
    // `[monitoring] enable_tracing`: OpenTelemetry loads only then (observability/tracing/start.ts).
    tracing = await startTracing({ enabled: mon.enable_tracing, endpoint: mon.tracing_endpoint, sampleRatio: mon.tracing_sample_ratio, serviceName: cfg.system.name }, logger);
    tracing?.beginStartup({ 'cwts.system': cfg.system.name, 'cwts.mode': cfg.system.mode });
    const composing = tracing?.phase('compose');
    try {
      const composed = await composeDeployment({
        loaded, logger, metrics, recordPath: opts.record, controlPort: mon.control_port,
        observer: shard ? combineObservers(recent, shard.observer) : recent, extraRiskChecks: shard?.riskChecks, signal: abandon.signal,
      });
      composing?.end();
      return composed;
    } catch (err) {
      composing?.end(undefined, shownErrorText(err));
      throw err;
    }
  })();
  assembled = assembling;
  let deployment: Deployment;
  try {
    deployment = dep = await assembling;
  } catch (err) {
    // Composing failed, or a stop abandoned it: it released what it acquired. The startup span
    // is exported with why, and the cluster shard and tracing are stopped (the stop's steps).
    const abandoned = err === abandon.signal.reason;
    tracing?.endStartup(shownErrorText(err));
    await stop('startup failed');
    stopListeningAll();
    if (fault !== undefined) {
      if (!abandoned) logger.error({ component: 'process' }, `startup failed: ${errorText(err)}`);
      logger.error({ component: 'process' }, 'stopped during startup after a process fault: nothing was trading');
      return PROCESS_FAULT;
    }
    if (!abandoned) throw err;
    if (stopFailure !== undefined) throw stopFailure;
    logger.info(`stopped during startup (${(err as StartupAbandoned).reason}): nothing was trading; the plugins initialized so far were disposed`);
    return 0;
  }
  const { engine } = deployment;
  // What the engine writes to: a plugin may have put its own registry in place of ours.
  const metricsServed = deployment.metrics;
  engine.tracing = tracing;
  // A simulated venue needs no keys: the config's "market data only" warning does not apply.
  const simulated = engine.venueNames().filter((v) => engine.venue(v)!.execution.simulated);
  for (const n of loaded.notices ?? []) logger.info(`config: ${n}`);
  for (const w of loaded.warnings) if (!simulated.some((v) => w.startsWith(`${v}: no api_key`))) logger.warn(w);
  const compute = deployment.compute.backend;
  // The control endpoint always starts with run (control_port is never absent); establishing one
  // here otherwise is still after the journal's lock, and never a second one beside the endpoint's.
  const controlToken = exposed ? (deployment.control?.token ?? establishControlToken()) : undefined;
  // Scrapes are answered by a worker thread; the engine thread renders at most every 250 ms.
  const metricsHttp = new OffThreadMetricsEndpoint(metricsServed);
  const components = () => engineHealth(engine, () => [{ name: `compute:${compute.name}`, ready: true, detail: compute.device.name }]);
  // One snapshot for /status and the live page's viewers, computed at most 4 times a second.
  const snapshots = new SnapshotHub(() => engineStatus(engine, { system: cfg.system.name, mode: cfg.system.mode, compute: compute.name, health: components(), recent: recent.snapshot() }), { logger });
  // Off loopback /status and the live page need the token; on loopback, a Host naming loopback (DNS rebinding).
  const healthHttp = new HttpEndpoint('health', healthEndpointRoutes({
    components,
    snapshots,
    token: controlToken ? { accepts: (p) => tokensEqual(p, controlToken.token), hint: `${CONTROL_TOKEN_ENV}, or ${CONTROL_TOKEN_FILE} in the engine's data directory` } : undefined,
    logger,
  }));
  endpoints = { metricsHttp, healthHttp, snapshots };
  if (controlToken) logger.info(`health endpoint bound to ${mon.bind_address}: /status and the live page need the control token (from ${controlToken.source.kind === 'env' ? 'CWTS_CONTROL_TOKEN' : controlToken.source.path}); /health/* and /metrics stay open`);
  // Only a failure of engine.start() itself is the shard's engineStartFailed; an endpoint or the
  // shard's own start failing is not.
  let engineStartThrew = false;
  // A stop (a signal) during a step: nothing after it starts (the stop closes what did), and
  // the stop in progress ends run as it would have once running.
  const startUp = async (): Promise<void> => {
    if (stopping !== undefined) return;
    const mp = await startEndpoint(metricsHttp.listen(mon.metrics_port, mon.bind_address));
    if (stopping !== undefined) return;
    const hp = await startEndpoint(healthHttp.listen(mon.health_check_port, mon.bind_address));
    logger.info({ metricsPort: mp, healthPort: hp }, `metrics on http://${mon.bind_address}:${mp}/metrics, health on http://${mon.bind_address}:${hp}/health`);
    if (stopping !== undefined) return;
    await shard?.start(engine);
    if (stopping !== undefined) return;
    try {
      await engine.start();
    } catch (err) {
      engineStartThrew = true;
      throw err;
    }
    tracing?.endStartup();
    if (stopping !== undefined) return;
    logger.info(
      { venues: engine.venueNames(), compute: compute.name, mode: cfg.system.mode },
      `${cfg.system.name} running in ${cfg.system.mode} mode on ${engine.venueNames().join(', ')} with the ${compute.name} compute backend`,
    );
  };
  try {
    await startUp();
  } catch (err) {
    tracing?.endStartup(shownErrorText(err));
    // A stop (a signal, a process fault) that came first stops the venue clients, and the request
    // engine.start() waits on then rejects: that is the stop's doing, not a startup failure, so
    // run ends as that stop does (0, 3 or PROCESS_FAULT) below. Only a start that failed on its own is one.
    if (stopping === undefined && fault === undefined) {
      if (engineStartThrew && shard !== undefined) await tellShardEngineStartFailed(shard, err, opts.engineStartFailedHookMs ?? ENGINE_START_FAILED_HOOK_MS, logger);
      await stop('startup failed');
      // A process fault during the hook or the stop HALTed the engine and joined this stop: run
      // ends as after any fault (PROCESS_FAULT, below), not with the start error.
      if (fault === undefined) {
        stopListeningAll();
        // The engine may have restored or adopted orders before its start failed: the operator
        // is told which are left open, as after any stop, not only how many.
        logStopReport(engine, logger);
        logOpenOrdersLeft(cfg.system.on_shutdown === 'cancel' ? engine.orders.allOpen() : [], 'after a failed start', logger);
        throw err;
      }
      logger.error({ component: 'process' }, `startup failed: ${errorText(err)}`);
    } else logger.warn({ component: 'process' }, `start interrupted by the stop: ${errorText(err)}`);
  }
  const timer = opts.duration !== undefined ? setLongTimeout(() => void stop(`--duration ${opts.duration}s elapsed`), opts.duration * 1000) : undefined;
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (stopping) {
        clearInterval(check);
        void stopping.then(resolve);
      }
    }, 50);
  });
  timer?.clear();
  stopListeningAll();
  logStopReport(engine, logger);
  // The engine waited for the cancels and logged the count; orders working after a stop that
  // promised none are for the operator, not a clean exit (a supervisor alerts on the code).
  if (stopFailure !== undefined && fault === undefined) throw stopFailure;
  if (fault !== undefined) {
    const left = engine.orders.allOpen();
    if (left.length > 0) logger.error({ openOrders: left.map((o) => ({ exchange: o.exchange, symbol: o.symbol, clientOrderId: o.clientOrderId, venueOrderId: o.venueOrderId, status: o.status })) }, `stopped after a process fault with ${left.length} order(s) still open; check them at the venue`);
    return PROCESS_FAULT;
  }
  const working = cfg.system.on_shutdown === 'cancel' ? engine.orders.allOpen() : [];
  if (working.length > 0) {
    logOpenOrdersLeft(working, '', logger);
    return STOPPED_WITH_OPEN_ORDERS;
  }
  return 0;
}

/**
 * A fault after the stop closed the journal (its last step; the fault listeners stay until run
 * returns) HALTs an engine whose journal refuses the record: the HALT is written through a
 * connection of its own, so the next start still comes up HALTED. A plugin's replacement
 * journal cannot be reopened: the error line says so.
 */
function haltIntoClosedJournal(engine: Deployment['engine'], logger: Pick<ReturnType<typeof createLogger>, 'error'>): void {
  const j = engine.journalStore;
  const s = engine.riskState;
  if (j === undefined || s.state !== 'HALTED') return;
  if (!(j instanceof JournalStore)) return;
  if (!j.isClosed) return;
  const why = JournalStore.latchHaltAfterClose(j.path, s.reason, 'risk');
  if (why !== undefined) logger.error({ component: 'process' }, `the HALT after a process fault could not be journaled (${j.path} was closed by the stop, and ${why}): the next start may come up ACTIVE: halt it (\`cwts-ultra risk halt\`) as soon as it is up, and find the bug first (the fatal line has the stack)`);
}

/** The orders a stop with on_shutdown = "cancel" left open, by id: the operator checks each at its venue. */
function logOpenOrdersLeft(working: readonly Order[], when: string, logger: Pick<ReturnType<typeof createLogger>, 'error'>): void {
  if (working.length === 0) return;
  const shown = working.slice(0, 10).map((o) => `${o.exchange}:${o.symbol} ${o.side} ${o.clientOrderId} (${o.status})`);
  logger.error(
    { openOrders: working.map((o) => ({ exchange: o.exchange, symbol: o.symbol, clientOrderId: o.clientOrderId, venueOrderId: o.venueOrderId, status: o.status })) },
    `stopped${when === '' ? '' : ` ${when}`} with ${working.length} order(s) still open: on_shutdown = "cancel" but the venues did not confirm their cancels in time: ${shown.join(', ')}${working.length > shown.length ? ', ...' : ''}; check them at the venue (the journal has them and the next start reconciles them)`,
  );
}

/**
 * The shard's engineStartFailed (core API 1.13), awaited at most `ms`: it neither throws nor
 * outlasts the deadline (a late rejection is still logged, never an unhandled one).
 */
async function tellShardEngineStartFailed(shard: ClusterShard, err: unknown, ms: number, logger: Pick<ReturnType<typeof createLogger>, 'warn' | 'error'>): Promise<void> {
  if (typeof shard.engineStartFailed !== 'function') return;
  const told = (async () => shard.engineStartFailed!(err))().then(
    () => true,
    (hookErr: unknown) => {
      logger.error({ component: 'process' }, `cluster shard: engineStartFailed failed: ${errorText(hookErr)}`);
      return true;
    },
  );
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    if (!(await Promise.race([told, late]))) logger.warn({ component: 'process' }, `cluster shard: engineStartFailed did not return within ${ms} ms; stopping anyway`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The last lines of a run: what it did, and the positions it leaves at the venues. Written in the
 * state positions cannot be valued in too (the fail-safe HALT of a failed valuation): there the
 * equity and unrealized PnL are n/a and the positions are listed by quantity, never lost to a throw.
 */
export function logStopReport(engine: Deployment['engine'], logger: Pick<ReturnType<typeof createLogger>, 'info' | 'warn'>): void {
  const counts = (s: { events: number; signals: number; orders: number; fills: number }) => `${s.events} events, ${s.signals} signals, ${s.orders} orders, ${s.fills} fills`;
  let valuationError: string | undefined;
  try {
    const s = engine.summary();
    // the summary's `equity` is the net PnL (realized + unrealized - fees), not /status pnl.equity
    // (starting capital + net): named for what it is in the line, and as `net` beside it
    logger.info({ summary: { ...s, net: s.equity } }, `stopped: ${counts(s)}, net PnL ${s.equity}`);
  } catch (err) {
    valuationError = err instanceof Error ? err.message : String(err);
    const c = engine.activity;
    logger.info({ summary: { ...c, equity: null, net: null, valuationError } }, `stopped: ${counts(c)}, net PnL n/a (positions cannot be valued: ${valuationError})`);
  }
  // Positions outlive the process: say so, so nobody takes a stopped engine for a flat book.
  let open;
  try {
    open = engine.portfolio.snapshot(engine.markHalfTicks).filter((p) => p.qty !== 0);
  } catch {
    open = engine.portfolio.snapshot(() => undefined).filter((p) => p.qty !== 0).map((p) => ({ ...p, unrealizedPnl: 'n/a' }));
  }
  if (open.length > 0) {
    logger.warn(
      { openPositions: open },
      `stopped with ${open.length} open position(s) still held at the venues: ${open.map((p) => `${p.exchange}:${p.symbol} ${p.quantity} (avg ${p.avgEntryPrice ?? '?'}, unrealized ${p.unrealizedPnl})`).join(', ')}; they are in the journal and restored at the next start`,
    );
  } else if (engine.restored) logger.info('stopped flat: no open positions');
  else logger.warn('stopped before the journal was restored: positions and open orders are as the journal holds them, restored at the next start');
}

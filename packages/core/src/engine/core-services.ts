import type { Clock } from '../contracts/clock.js';
import { ComputeRegistry } from '../compute/registry.js';
import { configDigest } from '../config/digest.js';
import type { CwtsConfig } from '../config/types.js';
import type { CwtsContainer } from '../di/container.js';
import { TOKENS } from '../di/tokens.js';
import { resolveJournalPath } from '../journal/location.js';
import { JournalStore } from '../journal/store.js';
import { BookStore } from '../microstructure/venue-books.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager } from '../risk/manager.js';
import { SERVICE_TOKENS } from '../services/tokens.js';

export interface CoreServiceOptions {
  config: CwtsConfig;
  clock: Clock;
  logger: Logger;
  metrics: MetricsRegistry;
  /** Risk manager timers (VaR, staleness); off in replay. */
  timers: boolean;
  /** Whether this deployment journals (replay does not). */
  journal: boolean;
  dataDir?: string;
  /** A journal write failed: the caller halts new orders. */
  onJournalError(err: Error): void;
  /** How long an `always` commit may wait for the writer thread (default: the journal's, 10 s). */
  journalCommitTimeoutMs?: number;
}

/** The owner of core's registrations, and of the tokens core reserves. */
const CORE = '@cwts/core';

/** What a plugin registering TOKENS.ComputeBackend is told instead (the token is core's alone). */
const COMPUTE_BACKEND_RESERVED =
  'TOKENS.ComputeBackend is the backend the compute registry chooses at startup from [compute] backends (or auto-detection). ' +
  "Provide a backend as a plugin of kind 'backend' registering a TOKENS.ComputeBackendProvider (docs/writing-a-compute-backend.md); " +
  'to use the chosen one, resolve TOKENS.ComputeBackend in a factory (it is chosen after every plugin\'s initialize())';

/**
 * Registers core's default for every replaceable service: clock, logger, metrics, compute
 * registry, book store, risk manager and journal (the `direct` router is a core plugin:
 * engine/builtin-plugins.ts). Each is a lazy
 * factory, built on first resolve, so one a plugin replaced is never built (no journal file is
 * opened for a journal a plugin provides). `run` and `validate-config` both call it before the
 * plugins register, so a plugin that registers one of these tokens without declaring it in its
 * manifest's `overrides` fails the same way in both. TOKENS.ComputeBackend is reserved, not
 * defaulted: composition registers the backend the registry chose, after initialization, and a
 * plugin registering it is refused at register time in both commands (a refusal found only after
 * every plugin initialized would come late, and `overrides` could not make it work).
 */
export function registerCoreServices(root: CwtsContainer, o: CoreServiceOptions): void {
  const cfg = o.config;
  root.reserve(TOKENS.ComputeBackend, CORE, COMPUTE_BACKEND_RESERVED);
  root.registerDefault(TOKENS.Clock, () => o.clock);
  root.registerDefault(TOKENS.Logger, () => o.logger);
  root.registerDefault(TOKENS.Metrics, () => o.metrics);
  root.registerDefault(SERVICE_TOKENS.ComputeRegistry, (c) => new ComputeRegistry(c.resolve(TOKENS.Logger)));
  root.registerDefault(SERVICE_TOKENS.BookStore, () => new BookStore());
  root.registerDefault(SERVICE_TOKENS.RiskManager, (c) => {
    const r = cfg.risk;
    return new RiskManager({
      risk: r,
      metrics: c.resolve(TOKENS.Metrics),
      logger: c.resolve(TOKENS.Logger).child({ component: 'risk' }),
      backend: c.resolve(TOKENS.ComputeBackend),
      timers: o.timers,
      clock: c.resolve(TOKENS.Clock),
      // without timers the clock is replay's virtual one: a VaR recompute is overdue in real time too
      ...(o.timers ? {} : { realTimeMs: () => performance.now() }),
      initialEquity: r.initial_equity,
      reduceAtDrawdownFraction: r.reduce_at_drawdown,
      mark: r.mark,
      staleAfterMs: r.stale_after_ms,
      feedLossGraceMs: r.feed_loss_grace_ms,
      feedLossAction: r.feed_loss_action === 'halt' ? 'HALTED' : 'REDUCING',
      var: { method: r.var_method, budget: r.var_budget, horizon: r.var_horizon, sampleEveryMs: r.var_sample_ms, recomputeEveryMs: r.var_interval_s * 1000 },
    });
  });
  if (o.journal) {
    root.registerDefault(SERVICE_TOKENS.Journal, (c) => {
      const metrics = c.resolve(TOKENS.Metrics);
      return openJournal(cfg, o.dataDir, c.resolve(TOKENS.Logger), o.journalCommitTimeoutMs, (err) => {
        metrics.journalWriteFailures.inc();
        o.onJournalError(err);
      });
    });
  }
}

/** Opens core's SQLite journal for this deployment and reports a taken-over lock or an unclean last run. */
function openJournal(cfg: CwtsConfig, dataDir: string | undefined, logger: Logger, commitTimeoutMs: number | undefined, onWriteError: (err: Error) => void): JournalStore {
  const path = resolveJournalPath(cfg.journal, cfg.system.name, dataDir);
  const journal = JournalStore.open(path, {
    fsync: cfg.journal.fsync,
    batchMs: cfg.journal.batch_ms,
    commitTimeoutMs,
    systemName: cfg.system.name,
    configDigest: configDigest(cfg),
    // Trading on without a record of it would make the next restart wrong: stop new orders.
    onError: (err, logSuffix) => {
      // the store throttles repeats (a full disk fails every retry); the halt sees every one
      if (logSuffix !== undefined) logger.error({ err: err.message }, `${err.message}${logSuffix}`);
      onWriteError(err);
    },
  });
  if (journal.opened.staleLock) {
    const l = journal.opened.staleLock;
    logger.warn({ staleLock: l }, `journal ${path}: took over the lock of pid ${l.pid} on ${l.host} (started ${new Date(l.startedAt).toISOString()}), which is no longer running`);
  }
  if (journal.opened.uncleanPrevious) {
    const r = journal.opened.uncleanPrevious;
    const run = `journal ${path}: the previous run (pid ${r.pid}, started ${new Date(r.startedAt).toISOString()})`;
    // From the HALT itself, which the restore latches: an earlier version stamped a failed final
    // commit the same way (clean_exit = 0) without writing one.
    const last = journal.opened.lastRisk;
    const halted = last?.to === 'HALTED' && last.who === 'journal';
    const lost = `${run} shut down with its last records not journaled (its final commit failed); everything it committed is restored, reconciliation with the venues recovers their fills`;
    logger.warn(
      { previousRun: r },
      r.endedAt !== undefined
        ? halted
          ? // its close journaled a HALT (store.ts close())
            `${lost}, and it starts HALTED by the journal until \`cwts-ultra risk resume\``
          : `${lost}; the journal holds no HALT for it (written by an earlier version): once reconciliation has run, compare /status with the venues before trading on`
        : `${run} did not shut down cleanly; everything it committed is restored, anything still queued (up to ${cfg.journal.fsync === 'always' ? '0' : cfg.journal.batch_ms} ms of activity) was lost, and reconciliation with the venues recovers their fills`,
    );
  }
  return journal;
}


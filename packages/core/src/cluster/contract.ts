/**
 * What a cluster implementation (`@cwts/cluster-nats`) provides to core. Core owns only this
 * contract and the `[cluster]` schema; the broker client lives in the implementing package,
 * which core imports dynamically, and only when `[cluster]` is enabled.
 */
import type { Clock } from '../contracts/clock.js';
import type { RiskCheck } from '../contracts/trading.js';
import type { LoadedConfig } from '../config/types.js';
import type { Engine, EngineObserver } from '../engine/engine.js';
import type { Logger } from '../observability/logger.js';
import type { ClusterConfig } from '../config/cluster-schema.js';

/** Bump the major when a change breaks implementations. */
export const CLUSTER_API_VERSION = 1;

export interface ClusterShardOptions {
  cluster: ClusterConfig;
  loaded: LoadedConfig;
  logger: Logger;
  clock: Clock;
}

/** One shard's cluster membership: leases, budget, publishing, the global HALT. */
export interface ClusterShard {
  /**
   * Synchronous pre-trade checks appended to the engine's chain: no lease, or not enough
   * reserved budget, refuses the order with a reason. They never await the network.
   */
  readonly riskChecks: readonly RiskCheck[];
  /** Taps on fills, orders and risk state, published in the background. */
  readonly observer: EngineObserver;
  /** Connects and starts the background loops (leases, budget, HALT watch). Before engine.start(). */
  start(engine: Engine): Promise<void>;
  /** After engine.stop(): releases leases and budget headroom, flushes, disconnects. Never throws. */
  stop(): Promise<void>;
  /**
   * Optional: engine.start() threw on its own after start(engine) (a venue's instruments could not
   * be loaded, an execution client refused to start). `run` calls it once, with what engine.start()
   * threw, before its own stop (engine.stop(), then stop()) and before it exits with the error; not
   * when a stop (a signal, a process fault) came first and interrupted the start. The shard joined
   * already and may hold symbols while the engine, never restored, hands none over: leave the
   * cluster as at a stop, without waiting for the engine's stop (which may take long). `run` waits
   * for it at most ENGINE_START_FAILED_HOOK_MS (cli/run.ts), then stops anyway; a throw or a
   * rejection is logged. An embedder that starts the engine itself calls it the same way. Added in
   * core API 1.13; an older core never calls it.
   */
  engineStartFailed?(error: unknown): Promise<void> | void;
}

export interface AggregatorOptions {
  cluster: ClusterConfig;
  logger: Logger;
  clock: Clock;
  /** Stop after this many seconds (tests); otherwise until the signal resolves. */
  until: Promise<unknown>;
  /** `[risk] var_confidence`: the portfolio VaR's confidence (default 0.99). */
  varConfidence?: number;
  /** `[monitoring] bind_address`: where `[cluster] aggregator_port` listens (default 127.0.0.1). */
  bindAddress?: string;
}

export interface ClusterControlOptions {
  cluster: ClusterConfig;
  logger: Logger;
  clock: Clock;
}

/** The module a cluster package exports as `cluster`. */
export interface ClusterModule {
  readonly apiVersion: number;
  createShard(opts: ClusterShardOptions): ClusterShard;
  /** `cwts-ultra risk-aggregator`: portfolio-wide exposure, drawdown and VaR, global limits. Resolves at stop. */
  runAggregator(opts: AggregatorOptions): Promise<void>;
  /** `cwts-ultra risk-aggregator --halt REASON`: broadcasts a global HALT. */
  haltCluster(opts: ClusterControlOptions, reason: string): Promise<void>;
  /** `--resume`: clears the global HALT (each shard then resumes through its own control endpoint). */
  resumeCluster(opts: ClusterControlOptions): Promise<void>;
}

/** Combines observers; each is called in order. */
export function combineObservers(...list: (EngineObserver | undefined)[]): EngineObserver {
  const o = list.filter((x): x is EngineObserver => x !== undefined);
  return {
    signal: (s) => { for (const x of o) x.signal?.(s); },
    fill: (r, i) => { for (const x of o) x.fill?.(r, i); },
    order: (ord) => { for (const x of o) x.order?.(ord); },
    riskState: (s, now) => { for (const x of o) x.riskState?.(s, now); },
  };
}

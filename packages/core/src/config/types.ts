import type { Redactor } from './redact.js';
import type { Secret } from './secret.js';

// Config objects are type aliases (not interfaces) so they are assignable to
// `Readonly<Record<string, unknown>>`, the type of TOKENS.Config / TOKENS.VenueConfig.
// Field names mirror the TOML keys (snake_case); fields we derive are camelCase.

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

export type TradingMode = 'paper' | 'live';
export const TRADING_MODES: readonly TradingMode[] = ['paper', 'live'];

/** What happens to open orders on SIGTERM. */
export type ShutdownPolicy = 'cancel' | 'keep';
export const SHUTDOWN_POLICIES: readonly ShutdownPolicy[] = ['cancel', 'keep'];

export type MarketType = 'spot' | 'usdm';
export const MARKET_TYPES: readonly MarketType[] = ['spot', 'usdm'];

export type FsyncPolicy = 'always' | 'batch' | 'never';
export const FSYNC_POLICIES: readonly FsyncPolicy[] = ['always', 'batch', 'never'];

export type SystemConfig = {
  name: string;
  /** Free-form label, default "development". */
  environment: string;
  log_level: LogLevel;
  /** "paper" (default) never sends orders to a venue; only the exact word "live" does. */
  mode: TradingMode;
  on_shutdown: ShutdownPolicy;
};

export type PerformanceConfig = {
  max_latency_ms: number;
  simd_enabled: boolean;
  gpu_enabled: boolean;
  /** Default: os.availableParallelism(). */
  thread_pool_size: number;
  memory_pool_gb: number;
};

export type ExchangesConfig = {
  /** Venue names in the order given; each may have a top-level table of the same name. */
  enabled: string[];
};

export type VenueConfig = {
  /** Venue name as in exchanges.enabled, e.g. "binance". */
  name: string;
  /** npm package name or a path as written (relative paths are relative to configDir). */
  plugin: string;
  /** Both api_key and api_secret present and non-empty. */
  hasCredentials: boolean;
  /** WebSocket URL (ws:/wss:), when overriding the plugin's default. */
  api_url?: string;
  /** REST URL (http:/https:), when overriding the plugin's default. */
  rest_url?: string;
  api_key?: Secret;
  api_secret?: Secret;
  passphrase?: Secret;
  testnet: boolean;
  symbols: string[];
  market: MarketType;
  /** `[<venue>.options]`, owned and validated by the plugin. Secret-named strings are Secrets. */
  options: Record<string, unknown>;
};

export type RiskConfig = {
  /** Max absolute position notional per symbol, in quote currency. */
  max_position: number;
  /** Fraction of peak equity, 0 < x <= 1; reaching it trips the kill switch. */
  max_drawdown: number;
  /** 0 < x <= 1. */
  kelly_fraction: number;
  /** 0 < x < 1. */
  var_confidence: number;
  max_total_position?: number;
  max_order_notional?: number;
  max_open_orders: number;
  price_band_bps: number;
  orders_per_second: number;
  /** Starting capital in quote currency; default max_total_position, else max_position. */
  initial_equity?: number;
  /** REDUCING from this fraction of max_drawdown (default 0.8); HALTED at max_drawdown. */
  reduce_at_drawdown: number;
  /** Positions are marked to the book mid (default) or the last trade. */
  mark: 'mid' | 'last';
  /** A book with no update for this long is stale: no new risk on it (default 10 000). */
  stale_after_ms: number;
  /** A book unsynced this long is a feed loss (default 5000)... */
  feed_loss_grace_ms: number;
  /** ...which moves the state to REDUCING ("reduce", default) or HALTED ("halt"). */
  feed_loss_action: 'reduce' | 'halt';
  var_method: 'historical' | 'parametric' | 'montecarlo';
  /** VaR above this (quote currency) moves the state to REDUCING; default max_drawdown x initial equity. */
  var_budget?: number;
  /** VaR horizon in sampling periods (default 1). */
  var_horizon: number;
  /** Marks are sampled for returns every this many ms (default 60 000). */
  var_sample_ms: number;
  /** VaR is recomputed every this many seconds, off the hot path (default 60). */
  var_interval_s: number;
};

export type MonitoringConfig = {
  /** 0 = pick a free port. */
  metrics_port: number;
  /** 0 = pick a free port. */
  health_check_port: number;
  bind_address: string;
  enable_tracing: boolean;
  /** Where the manual kill-switch endpoint listens (loopback only). */
  control_bind_address: string;
  /** Port of the kill-switch endpoint (default 8081; 0 picks a free port). */
  control_port: number;
};

export type { ComputeConfig } from '../compute/config-schema.js';
import type { ComputeConfig } from '../compute/config-schema.js';

export type DetectorConfig = {
  /** The key of `[detectors.<name>]`. */
  name: string;
  enabled: boolean;
  /** Package name or path; absent: `name` is a built-in detector. */
  plugin?: string;
  /** Every other key of the table, unvalidated (the detector validates it). */
  settings: Record<string, unknown>;
};

export type StrategyConfig = {
  plugin: string;
  /** Every other key of `[strategy]`, unvalidated. */
  settings: Record<string, unknown>;
};

export type JournalConfig = {
  /**
   * As written; undefined means `<data dir>/<system.name>.db`. A relative path is relative to
   * the data directory (config/data-dir.ts), never to the config directory.
   */
  path: string | undefined;
  fsync: FsyncPolicy;
  /** Commit interval under fsync "batch" and "never", ms (default 50). */
  batch_ms: number;
};

/** `[reconcile]`: what a mismatch between the journal and a venue at start does. */
export type ReconcileConfig = {
  /** "adopt-venue" (default): the venue's view wins and trading starts; "halt": start HALTED. */
  on_mismatch: 'adopt-venue' | 'halt';
};

/** `[paper]`: how paper mode simulates fills on a real venue's market data. */
export type PaperConfig = {
  /** Simulated order latency in milliseconds (default 5). */
  latency_ms: number;
  /** Fee rates in basis points of notional (defaults 2 maker, 10 taker; negative = rebate). */
  maker_fee_bps: number;
  taker_fee_bps: number;
};

export type CwtsConfig = {
  system: SystemConfig;
  performance: PerformanceConfig;
  exchanges: ExchangesConfig;
  /** One entry per exchanges.enabled, in that order. */
  venues: VenueConfig[];
  risk: RiskConfig;
  monitoring: MonitoringConfig;
  compute: ComputeConfig;
  /** In file order. */
  detectors: DetectorConfig[];
  strategy?: StrategyConfig;
  journal: JournalConfig;
  reconcile: ReconcileConfig;
  paper: PaperConfig;
};

export type LoadedConfig = {
  config: CwtsConfig;
  /** Non-fatal findings, e.g. a venue without credentials. Never contain secrets. */
  warnings: string[];
  /** Absolute path of the file, when loaded from one. */
  sourcePath?: string;
  /** Absolute directory that relative plugin and journal paths are relative to. */
  configDir: string;
  /**
   * Masks this config's `${VAR}` values, URL credentials and secrets in any text; every error
   * and log line about the config goes through it (see config/redact.ts).
   */
  redactor: Redactor;
};

import type { z } from 'zod';
import type { Redactor } from './redact.js';
import type { Secret } from './secret.js';
import type * as Tables from './tables.js';
import type { RiskCheckPluginConfig } from './risk-checks.js';

export type { RiskCheckPluginConfig };

// The config's types come from its zod schemas (config/tables.ts), so a key and its type are
// declared once; the key's documentation sits on the schema. They are type aliases (not
// interfaces) so they are assignable to `Readonly<Record<string, unknown>>`, the type of
// TOKENS.Config / TOKENS.VenueConfig. Field names mirror the TOML keys (snake_case); fields we
// derive are camelCase. This file loads nothing at runtime beyond config/constants.ts.

export * from './constants.js';

export type SystemConfig = z.output<typeof Tables.systemTable>;
export type PerformanceConfig = z.output<typeof Tables.performanceTable>;
export type ExchangesConfig = z.output<typeof Tables.exchangesTable>;

export type VenueConfig = z.output<ReturnType<typeof Tables.venueTable>> & {
  /** Venue name as in exchanges.enabled, e.g. "binance". */
  name: string;
  /** Both api_key and api_secret present and non-empty. */
  hasCredentials: boolean;
  api_key?: Secret;
  api_secret?: Secret;
  passphrase?: Secret;
};

export type RiskConfig = z.output<typeof Tables.riskTable>;
export type MonitoringConfig = z.output<typeof Tables.monitoringTable>;
export type { ComputeConfig } from './compute-schema.js';
import type { ComputeConfig } from './compute-schema.js';
export type DetectorConfig = z.output<typeof Tables.detectorsTable>[number];
export type StrategyConfig = z.output<typeof Tables.strategyTable>;
export type JournalConfig = z.output<typeof Tables.journalTable>;
export type ReconcileConfig = z.output<typeof Tables.reconcileTable>;
export type PaperConfig = z.output<typeof Tables.paperTable>;

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
  /** `[cluster]` (config/cluster-schema.ts); absent: a single process, no broker. */
  cluster?: import('./cluster-schema.js').ClusterConfig;
  /** `[routing]` (config/routing-schema.ts): the smart order router. */
  routing?: import('./routing-schema.js').RoutingConfig;
  /** `[risk_checks.<name>]`: risk plugins, in file order (config/risk-checks.ts). */
  risk_checks?: RiskCheckPluginConfig[];
};

export type LoadedConfig = {
  config: CwtsConfig;
  /** Non-fatal findings, e.g. a venue without credentials. Never contain secrets. */
  warnings: string[];
  /** Values taken from the environment instead of the file (config/env-overrides.ts), for an info line. */
  notices?: string[];
  /**
   * Credentials the config names whose `${VAR}` was unset, left unloaded because the command
   * does not need them (`credentials: 'not-needed'`): "binance.api_key (BINANCE_API_KEY)".
   */
  credentialsNotLoaded?: string[];
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

/**
 * The zod schemas of the config's tables. The TypeScript types of the loaded config come from
 * these (config/types.ts, `z.output`); validateConfig (config/schema.ts) runs them in the
 * order issues are reported and adds the checks that span tables.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { closestMatch } from './suggest.js';
import { say } from './config-messages.js';
import { bool, host, int, nameList, NAME_RE, NAME_RULE, nonEmptyString, num, oneOf, pluginSpec, port, positive, secret, symbolList, table, unitInterval, url } from './fields.js';
import { tracingKeys } from './tracing-schema.js';
import { intakeKeys } from './intake-schema.js';
import { DEFAULT_KELLY_FRACTION, FSYNC_POLICIES, LOG_LEVELS, MARKET_TYPES, SHUTDOWN_POLICIES, TRADING_MODES, VAR_RETURN_WINDOW } from './constants.js';

/** Top-level tables that are not venues. A venue may not take one of these names. */
export const SECTIONS = [
  'system', 'performance', 'exchanges', 'risk', 'monitoring', 'compute', 'detectors', 'strategy', 'journal', 'reconcile', 'paper', 'cluster', 'routing', 'risk_checks',
] as const;


export const systemTable = z.strictObject({
  name: nonEmptyString,
  /** Free-form label, default "development". */
  environment: z.string().default('development'),
  log_level: oneOf(LOG_LEVELS).default('info'),
  /** "paper" (default) never sends orders to a venue; only the exact word "live" does. */
  mode: oneOf(TRADING_MODES).default('paper'),
  /** What happens to open orders on SIGTERM. */
  on_shutdown: oneOf(SHUTDOWN_POLICIES).default('cancel'),
  /** How long each plugin's initialize() may take before startup fails naming it (plugins/loader.ts). */
  plugin_init_timeout_ms: int({ min: 1000, max: 3_600_000 }).default(60_000),
  /** How long each plugin's dispose() may take at shutdown before it is logged and skipped. */
  plugin_dispose_timeout_ms: int({ min: 100, max: 600_000 }).default(5_000),
});

export const performanceTable = z.strictObject({
  /**
   * Tick-to-order latency budget in ms (default 10): an event-loop lag above it is back-pressure
   * (new risk refused with BACKPRESSURE, observability/backpressure.ts); the LatencyBudgetExceeded
   * alert carries the same figure.
   */
  max_latency_ms: num(positive).default(10),
  simd_enabled: bool.default(true),
  gpu_enabled: bool.default(false),
  /** Default: os.availableParallelism(). */
  thread_pool_size: int({ min: 1, max: 1024 }).default(() => availableParallelism()),
  /** Reserved: nothing allocates a pool from it (a warning says so when it is set). Default 1. */
  memory_pool_gb: num(positive).default(1),
  ...intakeKeys,
});

export const exchangesTable = z.strictObject({
  /** Venue names in the order given; each may have a top-level table of the same name. */
  enabled: nameList({ what: 'venue', nonEmpty: true, reserved: SECTIONS }),
});

/** `[<venue>]`; the venue's name and whether it has credentials are added by validateConfig. */
export const venueTable = (name: string) =>
  z.strictObject({
    /** npm package name or a path as written (relative paths are relative to configDir). */
    plugin: pluginSpec.default(`@cwts/exchange-${name}`),
    /** WebSocket URL (ws:/wss:), when overriding the plugin's default. */
    api_url: url(['ws:', 'wss:']).optional(),
    /** REST URL (http:/https:), when overriding the plugin's default. */
    rest_url: url(['http:', 'https:']).optional(),
    api_key: secret.optional(),
    api_secret: secret.optional(),
    passphrase: secret.optional(),
    testnet: bool.default(false),
    symbols: symbolList.default([]),
    market: oneOf(MARKET_TYPES).default('spot'),
    /** `[<venue>.options]`, owned and validated by the plugin. Secret-named strings are Secrets. */
    options: table.default({}),
  });

export const riskTable = z.strictObject({
  /** Max absolute position notional per symbol, in quote currency. */
  max_position: num(positive),
  /** Fraction of peak equity, 0 < x <= 1; reaching it trips the kill switch. */
  max_drawdown: num(unitInterval),
  /**
   * The default fraction of full Kelly the Kelly sizer applies (risk/kelly.ts), 0 < x <= 1;
   * default 0.25 (quarter Kelly).
   */
  kelly_fraction: num(unitInterval).default(DEFAULT_KELLY_FRACTION),
  /** 0 < x < 1. */
  var_confidence: num({ min: 0, minExclusive: true, max: 1, maxExclusive: true }),
  max_total_position: num(positive).optional(),
  max_order_notional: num(positive).optional(),
  max_open_orders: int({ min: 1 }).default(50),
  price_band_bps: num(positive).default(500),
  orders_per_second: num(positive).default(50),
  /** Starting capital in quote currency; default max_total_position, else max_position. */
  initial_equity: num(positive).optional(),
  /** REDUCING from this fraction of max_drawdown (default 0.8); HALTED at max_drawdown. */
  reduce_at_drawdown: num(unitInterval).default(0.8),
  /** Positions are marked to the book mid (default) or the last trade. */
  mark: oneOf(['mid', 'last']).default('mid'),
  /** A book with no update for this long is stale: no new risk on it (default 10 000). */
  stale_after_ms: int({ min: 1 }).default(10_000),
  /** A book unsynced this long is a feed loss (default 5000)... */
  feed_loss_grace_ms: int({ min: 0 }).default(5000),
  /** ...which moves the state to REDUCING ("reduce", default) or HALTED ("halt"). */
  feed_loss_action: oneOf(['reduce', 'halt']).default('reduce'),
  var_method: oneOf(['historical', 'parametric', 'montecarlo']).default('historical'),
  /** VaR above this (quote currency) moves the state to REDUCING; default max_drawdown x initial equity. */
  var_budget: num(positive).optional(),
  /**
   * VaR horizon in sampling periods (default 1), at most the return window (VAR_RETURN_WINDOW):
   * an H-period VaR needs H sampled returns, and the window never holds more.
   */
  var_horizon: int({ min: 1 })
    .refine((h) => h <= VAR_RETURN_WINDOW, {
      error: (iss) => `must be at most ${VAR_RETURN_WINDOW} (the sampled returns kept per instrument for VaR: an H-period VaR needs H of them, so a longer horizon never has a VaR), got ${String(iss.input)}`,
    })
    .default(1),
  /** Marks are sampled for returns every this many ms (default 60 000). */
  var_sample_ms: int({ min: 1 }).default(60_000),
  /** VaR is recomputed every this many seconds, off the hot path (default 60). */
  var_interval_s: num(positive).default(60),
});

export const monitoringTable = z.strictObject({
  /** 0 = pick a free port. */
  metrics_port: port.default(9090),
  /** 0 = pick a free port. */
  health_check_port: port.default(8080),
  bind_address: host.default('127.0.0.1'),
  /** OpenTelemetry spans (observability/tracing/), with tracing_endpoint and tracing_sample_ratio. */
  enable_tracing: bool.default(false),
  ...tracingKeys,
  /** Where the manual kill-switch endpoint listens (loopback only). */
  control_bind_address: host.default('127.0.0.1'),
  /** Port of the kill-switch endpoint (default 8081; 0 picks a free port). */
  control_port: port.default(8081),
});

const detectorTable = z
  .custom<Record<string, unknown>>((v) => table.safeParse(v).success, say(({ key, got }) => `expected a [detectors.${key}] table, got ${got}`))
  .pipe(
    z.looseObject({
      enabled: bool.default(true),
      /** Package name or path; absent: the detector is a built-in. */
      plugin: pluginSpec.optional(),
    }),
  );

export const detectorsTable = z
  .record(z.string(), detectorTable)
  .superRefine((t, ctx) => {
    for (const k of Object.keys(t)) {
      if (!NAME_RE.test(k)) ctx.addIssue({ code: 'custom', path: [k], input: t[k], message: `"${k}" is not a valid detector name (${NAME_RULE})` });
    }
  })
  // In file order.
  .transform((t) =>
    Object.entries(t).map(([name, { enabled, plugin, ...settings }]) => ({
      /** The key of `[detectors.<name>]`. */
      name,
      enabled,
      ...(plugin === undefined ? {} : { plugin }),
      /** Every other key of the table, unvalidated (the detector validates it). */
      settings: settings as Record<string, unknown>,
    })),
  );

export const strategyTable = z.looseObject({ plugin: pluginSpec }).transform(({ plugin, ...settings }) => ({
  plugin,
  /** Every other key of `[strategy]`, unvalidated (the strategy validates it). */
  settings: settings as Record<string, unknown>,
}));

export const journalTable = z.strictObject({
  /**
   * As written; undefined means `<data dir>/<system.name>.db`. A relative path is relative to
   * the data directory (config/data-dir.ts), never to the config directory.
   */
  path: nonEmptyString.optional(),
  fsync: oneOf(FSYNC_POLICIES).default('batch'),
  /** Commit interval under fsync "batch" and "never", ms (default 50). */
  batch_ms: int({ min: 1, max: 10_000 }).default(50),
});

/** `[reconcile]`: what a mismatch between the journal and a venue at start does. */
export const reconcileTable = z.strictObject({
  /** "adopt-venue" (default): the venue's view wins and trading starts; "halt": start HALTED. */
  on_mismatch: oneOf(['adopt-venue', 'halt']).default('adopt-venue'),
});

const bps = num({ min: -100, max: 1000 });

/** `[paper]`: how paper mode simulates fills on a real venue's market data. */
export const paperTable = z.strictObject({
  /** Simulated order latency in milliseconds (default 5). */
  latency_ms: int({ min: 0, max: 60_000 }).default(5),
  /** Fee rates in basis points of notional (defaults 2 maker, 10 taker; negative = rebate). */
  maker_fee_bps: bps.default(2),
  taker_fee_bps: bps.default(10),
});

/** The tables read before the venues, in the order their issues are reported. */
export const headTables = z.object({
  system: systemTable,
  performance: performanceTable.prefault({}),
  exchanges: exchangesTable,
});

/** The tables read after the venues, in the order their issues are reported. */
export const tailTables = z.object({
  risk: riskTable,
  monitoring: monitoringTable.prefault({}),
  detectors: detectorsTable.prefault({}),
  journal: journalTable.prefault({}),
  reconcile: reconcileTable.prefault({}),
  paper: paperTable.prefault({}),
  strategy: strategyTable.optional(),
});

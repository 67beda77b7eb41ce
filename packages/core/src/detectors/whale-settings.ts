/**
 * `[detectors.<name>]` of the whale detector: the zod schema, defaults and the parsed settings,
 * with per-symbol thresholds under `symbols`.
 */
import { z } from 'zod';
import { parseDetectorSettings, PerSymbol, perSymbolTable, settingFields } from './settings.js';

/** Thresholds that may differ per symbol (`[detectors.whale.symbols."<symbol>"]`). */
export interface WhaleThresholds {
  /** (a) robust z-score of log notional at or above which a single trade fires. */
  zThreshold: number;
  /** (a) a single trade below this notional (quote units) never fires. */
  minNotional: number;
  /** (b) same-side notional inside the window at or above which a burst may fire. */
  burstMinNotional: number;
  /** (b) ...and at least this multiple of the usual same-side notional per window. */
  burstRatio: number;
  /** (b) ...made of at least this many trades. */
  burstMinTrades: number;
  /** (c) a level near the touch is a wall from this notional... */
  wallMinNotional: number;
  /** (c) ...and this multiple of the usual level size near the touch. */
  wallRatio: number;
}

export interface WhaleSettings extends WhaleThresholds {
  trades: boolean;
  bursts: boolean;
  walls: boolean;
  /** (a) trades used only to learn the size distribution before (a) can fire. */
  warmupTrades: number;
  /** (a, c) step of the streaming median / deviation updates. */
  learningRate: number;
  /** (b) sliding window length, ms of venue time. */
  burstWindowMs: number;
  /** (b) time constant of the usual-flow baseline, in windows. */
  burstBaselineWindows: number;
  /** (b) windows of history before (b) can fire. */
  burstWarmupWindows: number;
  /** (b) the largest trade may be at most this share of the window's notional. */
  burstMaxShare: number;
  /** (b) most trades kept per side in the window (older ones leave early when full). */
  burstMaxTrades: number;
  /** (c) only levels within this distance of their side's best price are watched, bps. */
  wallDepthBps: number;
  /** (c) a wall that loses this fraction of its peak size to cancels (not trades) was pulled. */
  wallPullFraction: number;
  /** (c) walls tracked at once per side. */
  wallsPerSide: number;
  /** (c) level updates near the touch used to learn the usual level size before (c) can fire. */
  wallWarmupLevels: number;
  symbols: PerSymbol<WhaleThresholds>;
}

export const DEFAULT_WHALE_THRESHOLDS: Readonly<WhaleThresholds> = Object.freeze({
  zThreshold: 4,
  minNotional: 10_000,
  burstMinNotional: 100_000,
  burstRatio: 8,
  burstMinTrades: 3,
  wallMinNotional: 1_000_000,
  wallRatio: 20,
});

const f = settingFields;

/** The keys of WhaleThresholds as they are written in the config. */
const thresholdFields = {
  z_threshold: f.positive(),
  min_notional: f.positive({ allowZero: true }),
  burst_min_notional: f.positive({ allowZero: true }),
  burst_ratio: f.positive(),
  burst_min_trades: f.integer(1, 1_000_000),
  wall_min_notional: f.positive({ allowZero: true }),
  wall_ratio: f.positive(),
};
type ThresholdKeys = { [K in keyof typeof thresholdFields]?: number };

// Thresholds left out take DEFAULT_WHALE_THRESHOLDS (readThresholds), like a symbol's override.
const whaleSettingsSchema = z.strictObject(thresholdFields).partial().extend({
  trades: f.bool().default(true),
  bursts: f.bool().default(true),
  walls: f.bool().default(true),
  warmup_trades: f.integer(1, 1_000_000).default(200),
  learning_rate: f.fraction().default(0.01),
  burst_window_ms: f.positive().default(1000),
  burst_baseline_windows: f.atLeast(1).default(300),
  burst_warmup_windows: f.integer(0, 1_000_000).default(60),
  burst_max_share: f.fraction().default(0.5),
  burst_max_trades: f.integer(4, 1 << 20).default(1024),
  wall_depth_bps: f.positive().default(5),
  wall_pull_fraction: f.fraction().default(0.5),
  walls_per_side: f.integer(1, 256).default(8),
  wall_warmup_levels: f.integer(1, 1_000_000).default(200),
  symbols: perSymbolTable(thresholdFields).optional(),
});

function readThresholds(t: ThresholdKeys, base: WhaleThresholds): WhaleThresholds {
  return {
    zThreshold: t.z_threshold ?? base.zThreshold,
    minNotional: t.min_notional ?? base.minNotional,
    burstMinNotional: t.burst_min_notional ?? base.burstMinNotional,
    burstRatio: t.burst_ratio ?? base.burstRatio,
    burstMinTrades: t.burst_min_trades ?? base.burstMinTrades,
    wallMinNotional: t.wall_min_notional ?? base.wallMinNotional,
    wallRatio: t.wall_ratio ?? base.wallRatio,
  };
}

/** Parses and validates `[detectors.<name>]` of the whale detector; throws a ConfigError. */
export function parseWhaleSettings(raw: Readonly<Record<string, unknown>>, name = 'whale'): WhaleSettings {
  const o = parseDetectorSettings(whaleSettingsSchema, raw, name);
  const base = readThresholds(o, DEFAULT_WHALE_THRESHOLDS);
  return {
    ...base,
    trades: o.trades,
    bursts: o.bursts,
    walls: o.walls,
    warmupTrades: o.warmup_trades,
    learningRate: o.learning_rate,
    burstWindowMs: o.burst_window_ms,
    burstBaselineWindows: o.burst_baseline_windows,
    burstWarmupWindows: o.burst_warmup_windows,
    burstMaxShare: o.burst_max_share,
    burstMaxTrades: o.burst_max_trades,
    wallDepthBps: o.wall_depth_bps,
    wallPullFraction: o.wall_pull_fraction,
    wallsPerSide: o.walls_per_side,
    wallWarmupLevels: o.wall_warmup_levels,
    symbols: PerSymbol.from(base, o.symbols, readThresholds),
  };
}

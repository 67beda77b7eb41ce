/** The config's enumerations and defaults that code outside config needs at runtime (no zod here). */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const satisfies readonly LogLevel[];

export type TradingMode = 'paper' | 'live';
export const TRADING_MODES = ['paper', 'live'] as const satisfies readonly TradingMode[];

/** What happens to open orders on SIGTERM. */
export type ShutdownPolicy = 'cancel' | 'keep';
export const SHUTDOWN_POLICIES = ['cancel', 'keep'] as const satisfies readonly ShutdownPolicy[];

export type MarketType = 'spot' | 'usdm';
export const MARKET_TYPES = ['spot', 'usdm'] as const satisfies readonly MarketType[];

export type FsyncPolicy = 'always' | 'batch' | 'never';
export const FSYNC_POLICIES = ['always', 'batch', 'never'] as const satisfies readonly FsyncPolicy[];

/**
 * `[risk] kelly_fraction` when the file does not set it: quarter Kelly keeps a little under half
 * of full Kelly's growth rate at a quarter of its volatility, and survives an edge over-estimated
 * by a factor of two or more (full Kelly on an over-estimated edge loses money).
 */
export const DEFAULT_KELLY_FRACTION = 0.25;

/**
 * Sampled returns the risk layer keeps per instrument for VaR (RiskManager's window). `[risk]
 * var_horizon` may not exceed it: a VaR over more periods than the window holds can never be
 * computed.
 */
export const VAR_RETURN_WINDOW = 500;

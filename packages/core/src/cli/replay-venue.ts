/**
 * The simulated venue `cwts-ultra replay` plays a recorded exchange with. Its fills must cost
 * what the config's `run` would charge for that exchange: a replay that judges a strategy on the
 * sim's built-in fees (5 bps taker) while the paper run charges 10 or 20 shows a profit the
 * deployment never makes.
 */
import type { CwtsConfig, PaperConfig, VenueConfig } from '../config/index.js';
import type { InstrumentSpec } from '../domain/instrument.js';
import { paperSettingsOf } from '../engine/paper-execution.js';
import { SIM_PACKAGE } from './benchmark/sim-package.js';

/** The `[<venue>.options]` keys of the sim that price and time its fills (exchange-sim's options.ts). */
const SIM_EXECUTION_KEYS = ['latency_ms', 'maker_fee_bps', 'taker_fee_bps'] as const;

/** `[paper]` as sim options: paper mode's settings (paperSettingsOf), so both price a fill alike through `feeAtoms`. */
export function paperAsSimOptions(p: PaperConfig): Record<string, unknown> {
  const s = paperSettingsOf(p);
  return { latency_ms: s.latencyMs, maker_fee_bps: s.makerFeeBps, taker_fee_bps: s.takerFeeBps };
}

/**
 * What `run` uses to fill orders on the venue named `exchange`: the sim's own latency and fees
 * where the config's table for it is the sim (the sim fills its own orders in every mode), else
 * `[paper]` (paper mode's PaperExecutionClient; a recording of a real venue is replayed as its
 * paper run).
 */
export function replayExecutionOptions(cfg: Pick<CwtsConfig, 'venues' | 'paper'>, exchange: string): Record<string, unknown> {
  const table = cfg.venues.find((v) => v.name === exchange);
  if (table?.plugin !== SIM_PACKAGE) return paperAsSimOptions(cfg.paper);
  const own: Record<string, unknown> = {};
  for (const k of SIM_EXECUTION_KEYS) if (Object.hasOwn(table.options, k)) own[k] = table.options[k];
  return own;
}

/** The sim venue that replays `file` for `exchange`, with the config's execution settings for it. */
export function replayVenue(cfg: Pick<CwtsConfig, 'venues' | 'paper'>, exchange: string, instruments: readonly InstrumentSpec[], file: string): VenueConfig {
  return {
    name: exchange,
    plugin: SIM_PACKAGE,
    hasCredentials: false,
    testnet: false,
    market: 'spot',
    symbols: instruments.filter((i) => i.exchange === exchange).map((i) => i.symbol),
    // The replay keys last: a config's own replay_file (a sim that replays) must not replace the file given.
    options: { ...replayExecutionOptions(cfg, exchange), replay_file: file, replay_format: 'jsonl', replay_speed: 0 },
  };
}

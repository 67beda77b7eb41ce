import type { Clock } from '../contracts/clock.js';
import type { MarketDataClient } from '../contracts/exchange.js';
import type { PerformanceConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import { WorkerIntake } from './worker-intake.js';

export interface IntakeSelection {
  exchange: string;
  performance: PerformanceConfig;
  logger: Logger;
  clock: Clock;
  /** Registers a worker's ring with the back-pressure monitor (absent in replay). */
  watchRing?: (exchange: string, fill: () => number) => () => void;
}

/**
 * `[performance] intake`: the venue's client as it is ("inline"), or run on a worker thread
 * ("worker") when its adapter offers an intake spec; a venue that does not stays inline.
 */
export function selectIntake(client: MarketDataClient, o: IntakeSelection): MarketDataClient {
  const p = o.performance;
  if (p.intake !== 'worker') return client;
  if (!WorkerIntake.supports(client)) {
    o.logger.info({ exchange: o.exchange }, `${o.exchange}: intake stays on the engine thread ([performance] intake = "worker" is not supported by this venue's adapter)`);
    return client;
  }
  return new WorkerIntake(client, {
    exchange: o.exchange, logger: o.logger, clock: o.clock,
    ringRecords: p.intake_ring_records, hungAfterMs: p.intake_hung_after_ms, maxRestarts: p.intake_max_restarts,
    watchRing: o.watchRing, logLevel: o.logger.level,
  });
}

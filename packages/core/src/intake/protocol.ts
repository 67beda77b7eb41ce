/**
 * What the engine thread (worker-intake.ts) and an intake worker (worker-main.ts) share: the
 * worker's start data, the control words on a small SharedArrayBuffer, and the few messages
 * that are not market data (those travel as feed records on the ring, records.ts).
 */
import type { Clock } from '../contracts/clock.js';
import type { MarketDataClient } from '../contracts/exchange.js';
import type { Logger } from '../observability/logger.js';

/** Int32 indexes in the control buffer. */
export const CONTROL = {
  /** Bumped by the worker every heartbeat interval and while it waits for ring space. */
  HEARTBEAT: 0,
  /** Set by the engine thread: stop writing (a writer waiting for space gives up). */
  STOP: 1,
} as const;
export const CONTROL_BYTES = 16;

export interface IntakeWorkerData {
  exchange: string;
  symbols: string[];
  ring: SharedArrayBuffer;
  control: SharedArrayBuffer;
  heartbeatMs: number;
  module: string;
  factory: string;
  args: unknown;
  logLevel: string;
}

/** Worker -> engine thread. */
export type IntakeWorkerMessage =
  | { t: 'started' }
  | { t: 'start-failed'; message: string }
  | { t: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg: string }
  | { t: 'stopped' };

/** Engine thread -> worker: stop, or the engine asks for a book's snapshot (MarketDataClient.requestResync). */
export type IntakeHostMessage = { t: 'stop' } | { t: 'resync'; symbol: string; reason: string };

/** What an intake worker's factory gets besides its args. */
export interface IntakeWorkerEnv {
  exchange: string;
  /** The system clock: receive times on the worker are wall time, as on the engine thread. */
  clock: Clock;
  /** Forwards to the engine thread's logger. */
  logger: Logger;
}

/** The export an IntakeWorkerSpec names: builds the venue's MarketDataClient on the worker. */
export type IntakeWorkerFactory = (args: unknown, env: IntakeWorkerEnv) => MarketDataClient | Promise<MarketDataClient>;

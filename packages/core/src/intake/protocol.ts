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
  /** What the workers before this one left (WorkerIntake keeps it on the engine thread). */
  resume: IntakeResume;
}

/**
 * A trade an earlier worker of the venue left behind: one the engine took (or threw on: it may
 * have acted on it), or one its feed marked as seen without emitting it (IntakeTradeMarkSink).
 */
export interface IntakeResumeTrade {
  tradeId: string;
  /** The trade's venue time (TradeEvent.ts). */
  ts: number;
}

/**
 * What an intake worker's sink (IntakeRecordWriter) offers a feed besides MarketEventSink: a feed
 * that takes trades as seen without emitting them (the first snapshot of recent trades of a
 * session, which is history from before it started) says so here, in order with its trades, so
 * the mark reaches IntakeResume.trades like a trade the engine took. Without it a worker replaced
 * before it emitted a live trade leaves no mark, and its successor takes its own first snapshot
 * for history again: everything printed while no worker ran is lost. A feed checks for the method
 * (an inline sink has none: an inline feed keeps its marks across reconnects itself).
 */
export interface IntakeTradeMarkSink {
  onTradeMark(symbol: string, tradeId: string, ts: number): void;
}

/** Trades per symbol an IntakeResume carries at most. */
export const RESUME_TRADES = 4;

/**
 * The venue state that outlives one intake worker. A worker replaced after a crash or a hang
 * takes its socket, books and limiter with it; what its successor must not forget travels here,
 * from the engine thread, in the new worker's start data. The first worker of a start() gets
 * no trades, as an inline client's first connection has none.
 */
export interface IntakeResume {
  /**
   * Per symbol, the last trades the engine took from earlier workers or their feeds marked as
   * seen (oldest first, at most RESUME_TRADES): a feed that backfills by id (a snapshot of recent
   * trades) resumes after them instead of taking its first snapshot for history, so what printed
   * while no worker ran is not lost, and what the engine was handed is not handed again.
   */
  trades: Record<string, IntakeResumeTrade[]>;
  /**
   * Wall-clock ms until which the venue refuses our requests, as a worker was told (429/418
   * Retry-After, an IP ban); 0: none. A fresh limiter that forgot it would send into the ban,
   * which venues extend (Binance: 2 minutes up to 3 days) and which blocks order entry too.
   */
  blockedUntilMs: number;
}

/** Worker -> engine thread. */
export type IntakeWorkerMessage =
  | { t: 'started' }
  | { t: 'start-failed'; message: string }
  | { t: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg: string }
  | { t: 'stopped' }
  /** The venue told the worker to send no request until `untilMs` (wall-clock ms): kept for its successors. */
  | { t: 'blocked'; untilMs: number };

/** Engine thread -> worker: stop, or the engine asks for a book's snapshot (MarketDataClient.requestResync). */
export type IntakeHostMessage = { t: 'stop' } | { t: 'resync'; symbol: string; reason: string };

/** What an intake worker's factory gets besides its args. */
export interface IntakeWorkerEnv {
  exchange: string;
  /** The system clock: receive times on the worker are wall time, as on the engine thread. */
  clock: Clock;
  /** Forwards to the engine thread's logger. */
  logger: Logger;
  /** What the venue's earlier workers left (absent outside a worker: tests that call a factory directly). */
  resume?: IntakeResume;
  /**
   * Tells the engine thread that the venue refuses requests until `untilMs` (wall-clock ms, the
   * worker's clock): the next worker starts blocked, and the engine thread's client hears of it
   * (MarketDataClient.intakeVenueBlocked). Call it where the client's own limiter is blocked.
   */
  venueBlocked?: (untilMs: number) => void;
}

/**
 * An engine-thread client that hears of the venue blocks its intake workers were told of.
 * @deprecated Implement MarketDataClient.intakeVenueBlocked (core API 1.13), which this names.
 */
export type IntakeBlockAware = Required<Pick<MarketDataClient, 'intakeVenueBlocked'>>;

/** The export an IntakeWorkerSpec names: builds the venue's MarketDataClient on the worker. */
export type IntakeWorkerFactory = (args: unknown, env: IntakeWorkerEnv) => MarketDataClient | Promise<MarketDataClient>;

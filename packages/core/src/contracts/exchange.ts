import type { Instrument } from '../domain/instrument.js';
import type { FeedStatusEvent, MarketEvent } from '../domain/events.js';
import type { ExecutionReport, Order } from '../domain/orders.js';

/** Where an adapter delivers normalized events. Called synchronously on the engine thread. */
export interface MarketEventSink {
  onMarketEvent(event: MarketEvent): void;
  onFeedStatus(status: FeedStatusEvent): void;
  /** A problem the adapter recovered from (malformed frame, gap, checksum); counted and logged. */
  onFeedError(component: string, message: string): void;
  /** A finite source (a replay) has delivered its last event. */
  onEndOfStream?(exchange: string): void;
}

/**
 * What a recorded source (a replay) found wrong with its recording; see docs/reliability.md,
 * "Replay of damaged recordings", for what each count means.
 */
export interface RecordingIntegrity {
  /** Lines that are not a valid record (not JSON, binary, failing validation): not replayed. */
  malformed: number;
  /** Valid records not applicable (an instrument the recording does not declare): not replayed. */
  skipped: number;
  /** Valid records going back in their stream (sequence or time): replayed as recorded. */
  outOfOrder: number;
  /** Files that end inside a record (the cut record is not replayed). */
  truncated: number;
}

/** Market data half of an exchange plugin. */
export interface MarketDataClient {
  readonly exchange: string;
  /** Instruments for the configured symbols (tick, lot, min notional). */
  loadInstruments(symbols: readonly string[]): Promise<Instrument[]>;
  /** Connects and subscribes; resolves once subscribed (books may still be syncing). */
  start(symbols: readonly string[], sink: MarketEventSink): Promise<void>;
  /** Stops intake; no event is delivered after the promise resolves. */
  stop(): Promise<void>;
  /** Recorded sources only: the damage found in the recording so far (final after end of stream). */
  recordingIntegrity?(): RecordingIntegrity | undefined;
}

export type TradingAvailability = { canTrade: true } | { canTrade: false; reason: string };

/** Execution half of an exchange plugin (live, or paper for a simulated venue). */
export interface ExecutionClient {
  readonly exchange: string;
  /** True for venues whose fills are simulated (the sim venue); they run in paper mode. */
  readonly simulated: boolean;
  availability(): TradingAvailability;
  start(onReport: (report: ExecutionReport) => void): Promise<void>;
  /** Sends an order; the outcome arrives as execution reports. Never throws for venue errors. */
  submit(order: Readonly<Order>): void;
  cancel(order: Readonly<Order>): void;
  /** Open orders the venue knows about, for reconciliation after a restart. */
  openOrders(): Promise<Order[]>;
  stop(): Promise<void>;
  /**
   * Optional: sees every market event of its venue after the engine's books took it, so a paper
   * executor can fill resting orders from the tape. Synchronous, on the engine thread.
   */
  onMarketEvent?(event: MarketEvent): void;
}

/** The pair an exchange plugin provides for one configured venue instance. */
export interface ExchangeInstance {
  marketData: MarketDataClient;
  execution: ExecutionClient;
}

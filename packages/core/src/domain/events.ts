/**
 * Normalized market events. Prices are integer ticks and quantities integer lots of the
 * event's instrument. Adapters may reuse event objects between calls, so a consumer that keeps
 * an event past its handler must copy it (see `copyMarketEvent`).
 */

export type Side = 'buy' | 'sell';

export interface BookLevel {
  /** Price in ticks. */
  price: number;
  /** Quantity in lots; 0 in a delta removes the level. */
  qty: number;
}

interface EventBase {
  exchange: string;
  symbol: string;
  /** Venue timestamp, epoch milliseconds. */
  ts: number;
  /** Local receive time from the engine Clock, epoch milliseconds. */
  recvTs: number;
}

export interface TradeEvent extends EventBase {
  type: 'trade';
  tradeId: string;
  price: number;
  qty: number;
  /** Aggressor side. */
  side: Side;
}

export interface BookSnapshotEvent extends EventBase {
  type: 'book_snapshot';
  /** Venue sequence (update id) the snapshot is valid at; 0 when the venue has none. */
  seq: number;
  /** Best first. */
  bids: BookLevel[];
  /** Best first. */
  asks: BookLevel[];
  /** Why this snapshot was taken: initial sync or a resync after a problem. */
  reason: 'initial' | 'resync';
}

export interface BookDeltaEvent extends EventBase {
  type: 'book_delta';
  /** First and last venue sequence covered by this delta (equal for single-update venues). */
  firstSeq: number;
  seq: number;
  /** Absolute new quantities per level; qty 0 deletes. */
  bids: BookLevel[];
  asks: BookLevel[];
}

export interface LiquidationEvent extends EventBase {
  type: 'liquidation';
  /** Side of the forced order: 'sell' liquidates a long, 'buy' liquidates a short. */
  side: Side;
  price: number;
  qty: number;
}

export type MarketEvent = TradeEvent | BookSnapshotEvent | BookDeltaEvent | LiquidationEvent;
export type MarketEventType = MarketEvent['type'];

export function copyMarketEvent<E extends MarketEvent>(ev: E): E {
  switch (ev.type) {
    case 'book_snapshot':
    case 'book_delta':
      return { ...ev, bids: ev.bids.map((l) => ({ ...l })), asks: ev.asks.map((l) => ({ ...l })) };
    default:
      return { ...ev };
  }
}

/** State of a feed or a book as seen by the engine; drives health and risk. */
export type FeedState = 'connecting' | 'synced' | 'resyncing' | 'stale' | 'crossed' | 'disconnected' | 'stopped';

export interface FeedStatusEvent {
  type: 'feed_status';
  exchange: string;
  /** Empty string for connection-level changes. */
  symbol: string;
  state: FeedState;
  reason: string;
  ts: number;
}

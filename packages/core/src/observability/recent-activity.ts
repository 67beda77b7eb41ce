import { lotsToQty, ticksToPrice, type Instrument } from '../domain/instrument.js';
import type { ExecutionReport } from '../domain/orders.js';
import type { Signal } from '../domain/signal.js';

export interface RecentSignal {
  ts: number;
  detector: string;
  exchange: string;
  symbol: string;
  direction: number;
  strength: number;
}

export interface RecentFill {
  ts: number;
  exchange: string;
  symbol: string;
  side: string;
  price: string;
  qty: string;
  clientOrderId: string;
}

/**
 * The last N signals and fills for the live page, kept as small display records in fixed-size
 * rings (an engine observer: called on the engine thread, so it only copies a few fields).
 */
export class RecentActivity {
  private readonly signals: RecentSignal[] = [];
  private readonly fills: RecentFill[] = [];

  constructor(private readonly keep = 20) {}

  signal(s: Signal): void {
    push(this.signals, { ts: s.ts, detector: s.detector, exchange: s.exchange, symbol: s.symbol, direction: s.direction, strength: s.strength }, this.keep);
  }

  fill(r: ExecutionReport, instrument: Instrument): void {
    push(this.fills, { ts: r.ts, exchange: r.exchange, symbol: r.symbol, side: r.side, price: ticksToPrice(instrument, r.lastPrice), qty: lotsToQty(instrument, r.lastQty), clientOrderId: r.clientOrderId }, this.keep);
  }

  /** Newest first. */
  snapshot(): { signals: RecentSignal[]; fills: RecentFill[] } {
    return { signals: [...this.signals].reverse(), fills: [...this.fills].reverse() };
  }
}

function push<T>(ring: T[], item: T, keep: number): void {
  ring.push(item);
  if (ring.length > keep) ring.shift();
}

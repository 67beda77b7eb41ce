import type { ReplayItem } from './replay-types.js';

type TradeItem = Extract<ReplayItem, { type: 'trade' }>;

/**
 * How far back in its stream's time a repeated trade is still recognized: one minute. Files of
 * one replay are merged by time, so a trade in two files (overlapping rotated recordings, one
 * file listed twice) meets its copy at once; only a repeat within one file (a recorder or a copy
 * that wrote a block again) comes back later, and a minute covers any such block. A repeat from
 * further back goes unrecognized, and is counted out of order instead.
 */
export const TRADE_REPEAT_WINDOW_MS = 60_000;

/**
 * Trades remembered per stream in one window at most (two windows are held): at ~2,000 trades
 * a second a minute fits; past it the window is cut short, so memory stays bounded whatever the
 * rate (about 100 bytes a trade).
 */
export const MAX_TRADES_PER_WINDOW = 1 << 17;

/** The trades of one stream delivered in the current window and in the one before it. */
interface StreamTrades {
  windowStart: number;
  current: Set<string>;
  previous: Set<string>;
}

/**
 * Trades one replay has delivered, across all its files, to recognize the same trade delivered
 * again: same stream (recorded exchange and symbol), same venue `tradeId`, same venue time,
 * price, quantity and side, i.e. the same line. Every field is compared, not the id alone, so
 * ids a source makes up (tardis rows without one) can never drop a different trade. Trades
 * without an id are never taken for repeats.
 */
export class DeliveredTrades {
  private readonly streams = new Map<string, StreamTrades>();

  /** Whether `t` was delivered before (within the window); if not, remembers it. */
  repeated(t: TradeItem): boolean {
    if (t.tradeId === '') return false;
    const stream = `${t.exchange}\u0000${t.symbol}`;
    const line = `${t.tradeId}\u0000${t.ts}\u0000${t.price}\u0000${t.qty}\u0000${t.side}`;
    let s = this.streams.get(stream);
    if (!s) this.streams.set(stream, (s = { windowStart: t.ts, current: new Set(), previous: new Set() }));
    if (s.current.has(line) || s.previous.has(line)) return true;
    // Two windows held: a trade is remembered for at least one window of its stream's time.
    if (t.ts >= s.windowStart + TRADE_REPEAT_WINDOW_MS || s.current.size >= MAX_TRADES_PER_WINDOW) {
      s.previous = s.current;
      s.current = new Set();
      s.windowStart = Math.max(s.windowStart, t.ts);
    }
    s.current.add(line);
    return false;
  }
}

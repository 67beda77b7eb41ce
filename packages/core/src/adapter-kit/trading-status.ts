/**
 * A venue's pair trading status, shared by every adapter: mapping a venue's status words onto
 * InstrumentTrading, the startup warning for a pair that is not open, and the periodic re-read
 * that notices a pair halting (or reopening) mid-day. The engine enforces the status before an
 * order is sent (docs/venues.md, "Pair trading status").
 */
import type { ExecutionClient } from '../contracts/exchange.js';
import type { DecimalScale, Instrument } from '../domain/instrument.js';
import type { InstrumentTrading } from '../domain/trading-status.js';
import type { Logger } from '../observability/logger.js';
import type { TimerSet } from './timers.js';

/** A venue's status words -> ours. Words not in the table are unknown, hence closed. */
export type VenueStatusTable = Readonly<Record<string, InstrumentTrading>>;

/**
 * The venue's status word through its table. An absent word (the venue's answer has no status
 * field) is `undefined`: the venue did not say, the pair trades as before this feature. A word not
 * in the table is `closed`: an unknown status is never taken as tradable.
 */
export function tradingFromTable(table: VenueStatusTable, word: string | undefined): InstrumentTrading | undefined {
  if (word === undefined) return undefined;
  return Object.hasOwn(table, word) ? table[word] : 'closed';
}

/** Default interval of the status re-read (`options.instrument_refresh_ms`); 0 turns it off. */
export const DEFAULT_INSTRUMENT_REFRESH_MS = 60_000;

export interface TradingStatusBoardOptions {
  exchange: string;
  logger?: Logger;
  /** Whether the venue's status word is one the adapter knows (an unknown one is named in the warning). */
  isKnownStatus?: (venueStatus: string) => boolean;
  /** Clock ms (the venue's Clock), for spacing re-reads after refusals. */
  now?: () => number;
}

/** Least time between two re-reads triggered by venue refusals (refreshSoon). */
export const REFUSAL_REFRESH_MIN_MS = 5000;

/**
 * The live trading status of one venue's pairs. `note()` takes freshly loaded instruments; a
 * pair that is not open is warned about (at load, naming the pair and its venue status), and
 * every later change is logged (warn when it closes or narrows, info when it reopens).
 */
export class TradingStatusBoard {
  private readonly current = new Map<string, { trading: InstrumentTrading | undefined; venueStatus: string | undefined }>();
  /** Each pair's tick and lot as first loaded: the grid every price and quantity of this run is counted in. */
  private readonly grid = new Map<string, { tickSize: string; lotSize: string; priceScale: DecimalScale; qtyScale: DecimalScale }>();
  /** Pairs whose tick or lot the venue has changed since: not tradable here until a restart loads the new grid. */
  private readonly gridChanged = new Set<string>();
  private refreshing: Promise<void> | undefined;
  private reload: (() => Promise<readonly Instrument[]>) | undefined;
  /** Re-reads that failed (network, venue error): the last known status stays. */
  refreshErrors = 0;
  refreshes = 0;
  private lastSoon = Number.NEGATIVE_INFINITY;

  constructor(private readonly o: TradingStatusBoardOptions) {}

  /** The pair's status now; undefined when the venue never said (treated as open). */
  get(symbol: string): InstrumentTrading | undefined {
    if (this.gridChanged.has(symbol)) return 'closed';
    return this.current.get(symbol)?.trading;
  }

  /**
   * A venue may change a pair's tick or lot size. This process keeps the grid it loaded: its
   * books, orders and positions are counted in it, and cannot be recounted mid-run. So a pair
   * whose grid changed is not tradable here until a restart (error once; info when it is back).
   */
  private noteGrid(i: Instrument): void {
    const g = this.grid.get(i.symbol);
    if (g === undefined) {
      this.grid.set(i.symbol, { tickSize: i.tickSize, lotSize: i.lotSize, priceScale: i.priceScale, qtyScale: i.qtyScale });
      return;
    }
    const changed = !sameIncrement(g.priceScale, i.priceScale) || !sameIncrement(g.qtyScale, i.qtyScale);
    if (changed === this.gridChanged.has(i.symbol)) return;
    const fields = { exchange: this.o.exchange, symbol: i.symbol, tickSize: i.tickSize, lotSize: i.lotSize, loadedTickSize: g.tickSize, loadedLotSize: g.lotSize };
    if (changed) {
      this.gridChanged.add(i.symbol);
      this.o.logger?.error(fields, `${this.o.exchange}: ${i.symbol} now has tick ${i.tickSize} and lot ${i.lotSize} at the venue; this run counts prices and quantities in tick ${g.tickSize} and lot ${g.lotSize}, so new orders on it are refused (VENUE_NOT_TRADING) until a restart loads the new grid`);
    } else {
      this.gridChanged.delete(i.symbol);
      this.o.logger?.info(fields, `${this.o.exchange}: ${i.symbol} has its loaded tick ${g.tickSize} and lot ${g.lotSize} at the venue again: orders on it are allowed again`);
    }
  }

  note(list: readonly Instrument[]): void {
    for (const i of list) {
      this.noteGrid(i);
      const before = this.current.get(i.symbol);
      const now = { trading: i.trading, venueStatus: i.venueStatus };
      this.current.set(i.symbol, now);
      if (before === undefined) {
        if (now.trading !== undefined && now.trading !== 'open') this.o.logger?.warn({ exchange: this.o.exchange, symbol: i.symbol, trading: now.trading, venueStatus: now.venueStatus }, `${this.o.exchange}: ${i.symbol} is ${this.describe(now.trading, now.venueStatus)} at the venue: market data runs, new orders the venue would refuse are refused locally (VENUE_NOT_TRADING)`);
        continue;
      }
      if (before.trading === now.trading && before.venueStatus === now.venueStatus) continue;
      const fields = { exchange: this.o.exchange, symbol: i.symbol, trading: now.trading, was: before.trading, venueStatus: now.venueStatus };
      if (now.trading === undefined || now.trading === 'open') this.o.logger?.info(fields, `${this.o.exchange}: ${i.symbol} is open again at the venue (was ${this.describe(before.trading, before.venueStatus)})`);
      else this.o.logger?.warn(fields, `${this.o.exchange}: ${i.symbol} is now ${this.describe(now.trading, now.venueStatus)} at the venue (was ${this.describe(before.trading, before.venueStatus)}): new orders the venue would refuse are refused locally (VENUE_NOT_TRADING)`);
    }
  }

  private describe(trading: InstrumentTrading | undefined, venueStatus: string | undefined): string {
    const t = trading ?? 'open';
    if (venueStatus === undefined) return t;
    const unknown = this.o.isKnownStatus !== undefined && !this.o.isKnownStatus(venueStatus);
    return `${t} (venue status ${JSON.stringify(venueStatus)}${unknown ? ', a status this adapter does not know: not tradable' : ''})`;
  }

  /**
   * Re-reads the statuses every `intervalMs` on `timers` (cleared with them at stop); 0 never.
   * `reload` returns the configured pairs as the venue describes them now.
   */
  startRefresh(timers: TimerSet, intervalMs: number, reload: () => Promise<readonly Instrument[]>): void {
    this.reload = reload;
    if (intervalMs > 0) timers.interval(() => void this.refresh(), intervalMs);
  }

  /**
   * The venue refused an order as not trading although the status we hold let it through: it is
   * stale, so re-read now instead of at the next interval; at most once per
   * REFUSAL_REFRESH_MIN_MS, so a venue that refuses while it says TRADING costs no request storm.
   */
  refreshSoon(): void {
    const now = (this.o.now ?? Date.now)();
    if (now - this.lastSoon < REFUSAL_REFRESH_MIN_MS) return;
    this.lastSoon = now;
    void this.refresh();
  }

  /** One re-read now (also what the timer runs); concurrent calls share one request. A failure keeps the last known status. */
  refresh(): Promise<void> {
    const reload = this.reload;
    if (reload === undefined) return Promise.resolve();
    this.refreshing ??= reload()
      .then((list) => {
        this.refreshes++;
        this.note(list);
      })
      .catch((err: unknown) => {
        this.refreshErrors++;
        this.o.logger?.warn({ exchange: this.o.exchange }, `${this.o.exchange}: re-reading pair trading status failed (${err instanceof Error ? err.message : String(err)}); keeping the last known status`);
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }
}

/** Whether two increments are the same number ("0.01" and "0.010"). */
function sameIncrement(a: DecimalScale, b: DecimalScale): boolean {
  return a.exponent >= b.exponent ? a.mantissa === b.mantissa * 10n ** BigInt(a.exponent - b.exponent) : b.mantissa === a.mantissa * 10n ** BigInt(b.exponent - a.exponent);
}

/**
 * Makes `execution` report its venue's VENUE_NOT_TRADING refusals to `onRefusal` (the market data
 * client's refreshTradingStatusSoon) before they reach the engine: the venue knew of a halt before
 * our next periodic re-read, so the status is re-read at once and the following orders are
 * refused locally. Wraps the report callback given to start(); the client is otherwise untouched.
 */
export function refreshOnVenueRefusal(execution: ExecutionClient, onRefusal: (symbol: string) => void): void {
  const start = execution.start.bind(execution);
  execution.start = (onReport) =>
    start((r) => {
      if (r.kind === 'rejected' && r.rejectReason === 'VENUE_NOT_TRADING') onRefusal(r.symbol);
      onReport(r);
    });
}

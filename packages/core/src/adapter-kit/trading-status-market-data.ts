/**
 * The pair-trading-status half that every venue's MarketDataClient has in common: the
 * TradingStatusBoard it holds, the three contract methods that read and refresh it, and the
 * periodic re-read, either with the venue's own feed (`startTradingStatusRefresh` in start())
 * or on its own while the feed runs on an intake worker (`keepTradingStatusFresh`). A venue
 * extends it and says how it reads its instruments and how often.
 */
import type { Instrument } from '../domain/instrument.js';
import type { InstrumentTrading } from '../domain/trading-status.js';
import { TimerSet } from './timers.js';
import { TradingStatusBoard, type TradingStatusBoardOptions } from './trading-status.js';

export abstract class TradingStatusMarketData {
  protected readonly trading: TradingStatusBoard;

  protected constructor(board: TradingStatusBoardOptions) {
    this.trading = new TradingStatusBoard(board);
  }

  /** The configured pairs as the venue describes them now (its instruments read). */
  protected abstract reloadInstruments(symbols: readonly string[]): Promise<readonly Instrument[]>;

  /** How often the status is re-read (the venue's `options.instrument_refresh_ms`); 0 never. */
  protected abstract get instrumentRefreshMs(): number;

  /** What the venue allows on `symbol` now (docs/venues.md, "Pair trading status"). */
  tradingStatus(symbol: string): InstrumentTrading | undefined {
    return this.trading.get(symbol);
  }

  /** The venue refused an order as not trading: re-read the status now (spaced; see TradingStatusBoard.refreshSoon). */
  refreshTradingStatusSoon(): void {
    this.trading.refreshSoon();
  }

  /** Re-reads the pairs' trading status now (the `instrument_refresh_ms` timer does it too). */
  refreshTradingStatus(): Promise<void> {
    return this.trading.refresh();
  }

  /** The status re-read without the feed, for when the feed runs on an intake worker; returns what stops it. */
  keepTradingStatusFresh(symbols: readonly string[]): () => void {
    const timers = new TimerSet();
    this.startTradingStatusRefresh(timers, symbols);
    return () => timers.close();
  }

  /** The periodic re-read on the feed's timers (cleared with them at stop). */
  protected startTradingStatusRefresh(timers: TimerSet, symbols: readonly string[]): void {
    this.trading.startRefresh(timers, this.instrumentRefreshMs, () => this.reloadInstruments(symbols));
  }
}

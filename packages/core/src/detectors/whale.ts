/**
 * Whale flow: (a) single trades far above the symbol's usual size (whale-trades.ts), (b) bursts
 * of same-side trades inside a short window (whale-bursts.ts), (c) large resting levels near the
 * touch ("walls") appearing, and pulled before being hit (whale-walls.ts). One detector, one
 * settings table (whale-settings.ts), one signal sequence per symbol. O(1) amortized per event,
 * no allocation per event once a symbol's state exists (signals allocate, they are rare by
 * construction).
 */
import type { Detector, DetectorContext } from '../contracts/trading.js';
import type { MarketEvent, TradeEvent } from '../domain/events.js';
import { SymbolTable } from './common.js';
import { noteBookTime, onBurstTrade } from './whale-bursts.js';
import { parseWhaleSettings, type WhaleSettings } from './whale-settings.js';
import { WhaleSymbol, type WhaleDetectorStats, type WhaleRuleContext } from './whale-symbol.js';
import { onWhaleTrade } from './whale-trades.js';
import { onWallBook, onWallTrade } from './whale-walls.js';

export { parseWhaleSettings, DEFAULT_WHALE_THRESHOLDS, type WhaleSettings, type WhaleThresholds } from './whale-settings.js';
export type { WhaleDetectorStats } from './whale-symbol.js';

/**
 * Signals (`kind`): `whale_trade` (a), `whale_burst` (b), `wall_appeared` and `wall_pulled` (c).
 * Direction: the aggressor side for (a) and (b); +1 for a bid wall appearing and -1 for an ask
 * wall; a pulled bid wall (support that was not real) is -1, a pulled ask wall +1.
 */
export class WhaleDetector implements Detector, WhaleRuleContext {
  readonly settings: WhaleSettings;
  private readonly table = new SymbolTable<WhaleSymbol>();
  readonly stats: WhaleDetectorStats = { symbols: 0, tradesSeen: 0, levelsSeen: 0, wallsConsumed: 0, wallsDropped: 0, sizeRelearns: 0 };
  readonly alpha: number;

  constructor(
    readonly name: string,
    settings: WhaleSettings | Readonly<Record<string, unknown>> = {},
  ) {
    this.settings = isParsed(settings) ? settings : parseWhaleSettings(settings, name);
    this.alpha = 1 / this.settings.burstBaselineWindows;
  }

  diagnostics(): Readonly<WhaleDetectorStats> {
    return { ...this.stats, symbols: this.table.size };
  }

  onMarketEvent(ev: MarketEvent, ctx: DetectorContext): void {
    switch (ev.type) {
      case 'trade': {
        const st = this.state(ev.exchange, ev.symbol, ctx);
        if (st) this.onTrade(st, ev, ctx);
        return;
      }
      case 'book_delta':
      case 'book_snapshot': {
        const s = this.settings;
        if (!s.walls && !s.bursts) return;
        const st = this.state(ev.exchange, ev.symbol, ctx);
        if (!st) return;
        if (s.bursts) noteBookTime(st, ev);
        if (s.walls) onWallBook(this, st, ev, ctx);
        return;
      }
      default:
        return;
    }
  }

  private state(exchange: string, symbol: string, ctx: DetectorContext): WhaleSymbol | undefined {
    const st = this.table.get(exchange, symbol);
    if (st !== undefined) return st;
    const instrument = ctx.instrument(exchange, symbol);
    if (!instrument) return undefined;
    const created = new WhaleSymbol(exchange, symbol, instrument, this.settings.symbols.resolve(exchange, symbol), this.settings);
    this.table.set(exchange, symbol, created);
    return created;
  }

  nextId(st: WhaleSymbol): string {
    return `${this.name}:${st.exchange}:${st.symbol}:${++st.signals}`;
  }

  private onTrade(st: WhaleSymbol, ev: TradeEvent, ctx: DetectorContext): void {
    this.stats.tradesSeen++;
    const notional = ev.price * st.tickValue * ev.qty * st.lotValue;
    if (!(notional > 0)) return;
    const s = this.settings;
    if (s.trades) onWhaleTrade(this, st, ev, notional, ctx);
    if (s.bursts) onBurstTrade(this, st, ev, notional, ctx);
    if (s.walls) onWallTrade(st, ev);
  }
}

function isParsed(s: WhaleSettings | Readonly<Record<string, unknown>>): s is WhaleSettings {
  return typeof (s as WhaleSettings).symbols === 'object' && (s as WhaleSettings).symbols !== null && typeof (s as WhaleSettings).symbols.resolve === 'function';
}


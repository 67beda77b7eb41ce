import { defineInstrument, type Instrument } from '@cwts/core';
import { tradingFromTable, type VenueStatusTable } from '@cwts/core/adapter-kit';

/**
 * exchangeInfo `status` -> ours. Spot: TRADING, and PRE_TRADING, POST_TRADING, END_OF_DAY, HALT,
 * AUCTION_MATCH, BREAK in which no new order is accepted (cancels are). USD-M futures: TRADING,
 * and PENDING_TRADING, PRE_DELIVERING, DELIVERING, DELIVERED, PRE_SETTLE, SETTLING, CLOSE. Any
 * other word is unknown, hence closed.
 */
export const BINANCE_STATUS: VenueStatusTable = Object.freeze({
  TRADING: 'open',
  PRE_TRADING: 'closed', POST_TRADING: 'closed', END_OF_DAY: 'closed', HALT: 'closed', AUCTION_MATCH: 'closed', BREAK: 'closed',
  PENDING_TRADING: 'closed', PRE_DELIVERING: 'closed', DELIVERING: 'closed', DELIVERED: 'closed', PRE_SETTLE: 'closed', SETTLING: 'closed', CLOSE: 'closed',
});

/** Binance sends increments with trailing zeros ("0.01000000"); keep the canonical form. */
export function trimDecimal(s: string): string {
  if (!s.includes('.')) return s;
  const t = s.replace(/0+$/, '').replace(/\.$/, '');
  return t === '' ? '0' : t;
}

interface Filter {
  filterType: string;
  tickSize?: string;
  stepSize?: string;
  minNotional?: string;
}
interface SymbolInfo {
  symbol: string;
  status?: string;
  baseAsset: string;
  quoteAsset: string;
  filters: Filter[];
}

/**
 * Instruments from GET /api/v3/exchangeInfo: tick from PRICE_FILTER.tickSize, lot from
 * LOT_SIZE.stepSize, min notional from NOTIONAL (or the older MIN_NOTIONAL).
 */
export function instrumentsFromExchangeInfo(exchange: string, info: unknown, symbols: readonly string[]): Instrument[] {
  const list = (info as { symbols?: SymbolInfo[] } | undefined)?.symbols;
  if (!Array.isArray(list)) throw new Error(`${exchange}: exchangeInfo has no symbols array`);
  const bySymbol = new Map(list.map((s) => [s.symbol, s]));
  const missing = symbols.filter((s) => !bySymbol.has(s));
  if (missing.length > 0) throw new Error(`${exchange}: unknown symbol(s) ${missing.join(', ')} (not in exchangeInfo)`);
  return symbols.map((sym) => {
    const s = bySymbol.get(sym)!;
    const f = (t: string) => s.filters.find((x) => x.filterType === t);
    const tick = f('PRICE_FILTER')?.tickSize;
    const step = f('LOT_SIZE')?.stepSize;
    if (!tick || !step) throw new Error(`${exchange}: ${sym} has no PRICE_FILTER.tickSize or LOT_SIZE.stepSize`);
    const minNotional = f('NOTIONAL')?.minNotional ?? f('MIN_NOTIONAL')?.minNotional ?? '0';
    const venueStatus = typeof s.status === 'string' ? s.status : undefined;
    const trading = tradingFromTable(BINANCE_STATUS, venueStatus);
    return defineInstrument({ exchange, symbol: sym, base: s.baseAsset, quote: s.quoteAsset, tickSize: trimDecimal(tick), lotSize: trimDecimal(step), minNotional: trimDecimal(minNotional), ...(trading ? { trading, venueStatus } : {}) });
  });
}

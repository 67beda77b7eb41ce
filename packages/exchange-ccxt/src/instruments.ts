import { defineInstrument, type Instrument } from '@cwts/core';
import { PrecisionMode, type CcxtExchange, type CcxtMarket } from './ccxt-exchange.js';

/**
 * ccxt markets -> our instrument model. The symbol is the venue's own id (market.id, e.g.
 * "BTCUSDT" on Binance, "BTC-USDT" on OKX) so instruments keep their venue identity; config may
 * name a market by that id or by ccxt's unified symbol ("BTC/USDT").
 */
export function findMarket(ex: Pick<CcxtExchange, 'markets_by_id'>, markets: Record<string, CcxtMarket>, symbol: string): CcxtMarket | undefined {
  return markets[symbol] ?? ex.markets_by_id?.[symbol]?.[0];
}

/** A precision value as an increment decimal string ("0.01"), per ccxt's precision mode. */
export function incrementOf(ex: Pick<CcxtExchange, 'precisionMode' | 'numberToString'>, precision: number | undefined, what: string): string {
  if (precision === undefined || !Number.isFinite(precision) || precision <= 0) {
    if (ex.precisionMode === PrecisionMode.DECIMAL_PLACES && precision === 0) return '1';
    throw new Error(`${what}: ccxt reports no usable precision (${String(precision)})`);
  }
  if (ex.precisionMode === PrecisionMode.TICK_SIZE) return ex.numberToString(precision);
  if (ex.precisionMode === PrecisionMode.DECIMAL_PLACES && Number.isInteger(precision)) return precision === 0 ? '1' : `0.${'0'.repeat(precision - 1)}1`;
  throw new Error(`${what}: ccxt precision mode ${ex.precisionMode} (significant digits) has no fixed tick; not supported`);
}

export function instrumentFromMarket(exchange: string, ex: Pick<CcxtExchange, 'precisionMode' | 'numberToString'>, m: CcxtMarket): Instrument {
  const minCost = m.limits?.cost?.min;
  return defineInstrument({
    exchange,
    symbol: m.id,
    base: m.base,
    quote: m.quote,
    tickSize: incrementOf(ex, m.precision.price, `${exchange} ${m.id} price`),
    lotSize: incrementOf(ex, m.precision.amount, `${exchange} ${m.id} amount`),
    minNotional: minCost !== undefined && Number.isFinite(minCost) && minCost > 0 ? ex.numberToString(minCost) : '0',
    ...ccxtTrading(m),
  });
}

/**
 * ccxt's unified `active` flag: true is open, false closed (ccxt sets it from the venue's own
 * status, e.g. Binance's TRADING). Anything but a boolean (ccxt leaves it undefined where the
 * venue does not say) says nothing. ccxt has no unified post-only or cancel-only state.
 */
export function ccxtTrading(m: Pick<CcxtMarket, 'active'>): { trading: 'open' | 'closed'; venueStatus: string } | undefined {
  if (m.active === true) return { trading: 'open', venueStatus: 'active' };
  if (m.active === false) return { trading: 'closed', venueStatus: 'inactive' };
  return undefined;
}

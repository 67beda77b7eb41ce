import { defineInstrument, type Instrument } from '@cwts/core';
import { describeSchemaError, tradingFromTable, type VenueStatusTable } from '@cwts/core/adapter-kit';
import { z } from 'zod';

export type BybitCategory = 'spot' | 'linear';

/**
 * instruments-info `status` -> ours: Trading is open; PreLaunch (pre-market auction phases we
 * do not trade), Delivering, Settling and Closed take no new order from us. Any other word is
 * unknown, hence closed.
 */
export const BYBIT_STATUS: VenueStatusTable = Object.freeze({ Trading: 'open', PreLaunch: 'closed', Delivering: 'closed', Settling: 'closed', Closed: 'closed' });

const Decimal = z.string().regex(/^\d+(\.\d+)?$/, 'must be a plain decimal string');

/** One entry of GET /v5/market/instruments-info (only the fields we use). */
const InstrumentInfoSchema = z.object({
  symbol: z.string().min(1).max(64),
  status: z.string().max(64).optional(),
  baseCoin: z.string().min(1),
  quoteCoin: z.string().min(1),
  priceFilter: z.object({ tickSize: Decimal }),
  // spot: basePrecision (the quantity step) and minOrderAmt (quote); linear: qtyStep and minNotionalValue
  lotSizeFilter: z.object({ basePrecision: Decimal.optional(), qtyStep: Decimal.optional(), minOrderAmt: Decimal.optional(), minNotionalValue: Decimal.optional() }),
});

const InstrumentsInfoResponseSchema = z.object({
  retCode: z.number(),
  retMsg: z.string().optional(),
  result: z.object({ category: z.string().optional(), list: z.array(z.unknown()) }).optional(),
});

/** Bybit prints increments with trailing zeros ("0.10"); keep the canonical form. */
export function trimDecimal(s: string): string {
  if (!s.includes('.')) return s;
  const t = s.replace(/0+$/, '').replace(/\.$/, '');
  return t === '' ? '0' : t;
}

/**
 * Instruments from GET /v5/market/instruments-info?category=spot|linear: tick from
 * priceFilter.tickSize, lot from lotSizeFilter.basePrecision (spot) or qtyStep (linear), min
 * notional from minOrderAmt (spot) or minNotionalValue (linear). Symbols are Bybit's own
 * (`BTCUSDT`): base and quote come from baseCoin/quoteCoin, never from splitting the name.
 * A symbol the answer does not list throws, or with `skipMissing` is left out (an answer filtered
 * by `status` that does not hold it).
 */
export function instrumentsFromInstrumentsInfo(exchange: string, category: BybitCategory, body: unknown, symbols: readonly string[], opts: { skipMissing?: boolean } = {}): Instrument[] {
  const res = InstrumentsInfoResponseSchema.safeParse(body);
  if (!res.success) throw new Error(`${exchange}: instruments-info answer is not in Bybit's shape (${describeSchemaError(res.error)})`);
  if (res.data.retCode !== 0) throw new Error(`${exchange}: instruments-info failed: retCode ${res.data.retCode} ${res.data.retMsg ?? ''}`.trim());
  const bySymbol = new Map<string, z.infer<typeof InstrumentInfoSchema>>();
  for (const raw of res.data.result?.list ?? []) {
    const e = InstrumentInfoSchema.safeParse(raw);
    if (e.success) bySymbol.set(e.data.symbol, e.data);
  }
  const missing = symbols.filter((s) => !bySymbol.has(s));
  if (missing.length > 0 && !opts.skipMissing) throw new Error(`${exchange}: unknown ${category} symbol(s) ${missing.join(', ')} (not in instruments-info)`);
  return symbols.filter((sym) => bySymbol.has(sym)).map((sym) => {
    const s = bySymbol.get(sym)!;
    const lot = category === 'spot' ? (s.lotSizeFilter.basePrecision ?? s.lotSizeFilter.qtyStep) : (s.lotSizeFilter.qtyStep ?? s.lotSizeFilter.basePrecision);
    if (!lot) throw new Error(`${exchange}: ${sym} has no lotSizeFilter.${category === 'spot' ? 'basePrecision' : 'qtyStep'}`);
    const minNotional = (category === 'spot' ? s.lotSizeFilter.minOrderAmt : s.lotSizeFilter.minNotionalValue) ?? '0';
    const status = s.status !== undefined ? { trading: tradingFromTable(BYBIT_STATUS, s.status), venueStatus: s.status } : {};
    return defineInstrument({ exchange, symbol: sym, base: s.baseCoin, quote: s.quoteCoin, tickSize: trimDecimal(s.priceFilter.tickSize), lotSize: trimDecimal(lot), minNotional: trimDecimal(minNotional), ...status });
  });
}

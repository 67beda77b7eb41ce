import { defineInstrument, type Instrument } from '@cwts/core';
import { tradingFromTable, type VenueStatusTable } from '@cwts/core/adapter-kit';
import { z } from 'zod';
import { krakenPrecision, type KrakenPrecision } from './checksum.js';

/** One pair of the `instrument` channel snapshot (the fields we use; others are ignored). */
const PairSchema = z.object({
  symbol: z.string().min(3).max(40),
  base: z.string().min(1).max(20),
  quote: z.string().min(1).max(20),
  status: z.string().max(64).optional(),
  price_precision: z.number().int().min(0).max(18),
  qty_precision: z.number().int().min(0).max(18),
  price_increment: z.number().positive(),
  qty_increment: z.number().positive(),
  // a string is used as the instrument's min notional as is: it must be a plain decimal (the risk
  // check parses it on every order; garbage here would make every order on the pair throw)
  cost_min: z.union([z.number().nonnegative(), z.string().max(40).regex(/^\d+(\.\d+)?$/)]).optional(),
});
export const InstrumentSnapshotSchema = z.object({
  channel: z.literal('instrument'),
  type: z.enum(['snapshot', 'update']),
  data: z.object({ pairs: z.array(z.unknown()) }),
});

/**
 * The `instrument` channel's pair `status` -> ours: online, the restricted modes (cancel_only,
 * post_only, limit_only, reduce_only), and the closed ones (delisted, maintenance,
 * work_in_progress). Any other word is unknown, hence closed.
 */
export const KRAKEN_STATUS: VenueStatusTable = Object.freeze({
  online: 'open', cancel_only: 'cancel_only', post_only: 'post_only', limit_only: 'limit_only', reduce_only: 'reduce_only',
  delisted: 'closed', maintenance: 'closed', work_in_progress: 'closed',
});

export interface KrakenInstrument {
  instrument: Instrument;
  precision: KrakenPrecision;
}

/** A JSON number from the venue (0.1, 1e-08) as a plain decimal string with at most `precision` decimals. */
export function numberToDecimal(n: number, precision: number): string {
  const s = n.toFixed(precision);
  if (Number(s) !== n) throw new Error(`${n} does not fit ${precision} decimals`);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/**
 * Kraken v2 names pairs BASE/QUOTE with the common asset codes ("BTC/USD", not v0 REST's
 * "XXBTZUSD" or v1's "XBT/USD"). Config symbols must use that form; anything else is named in
 * the error with the v2 spelling when we can guess it.
 */
export function checkKrakenSymbol(symbol: string): string | undefined {
  if (/^[A-Z0-9.]+\/[A-Z0-9.]+$/.test(symbol)) {
    if (/^XBT\//.test(symbol) || /\/XBT$/.test(symbol)) return `${symbol}: Kraken WebSocket v2 calls bitcoin BTC (${symbol.replace(/XBT/g, 'BTC')})`;
    return undefined;
  }
  const guess = /^([A-Z0-9]+)[-_]([A-Z0-9]+)$/.exec(symbol.toUpperCase());
  return `${symbol}: Kraken symbols are BASE/QUOTE like "BTC/USD"${guess ? ` (did you mean "${guess[1]}/${guess[2]}"?)` : ''}`;
}

/** Instruments (and checksum precision) for `symbols` from the `instrument` channel's pairs. */
export function instrumentsFromPairs(exchange: string, pairs: readonly unknown[], symbols: readonly string[]): KrakenInstrument[] {
  const bad = symbols.map(checkKrakenSymbol).filter((x): x is string => x !== undefined);
  if (bad.length > 0) throw new Error(`${exchange}: ${bad.join('; ')}`);
  const bySymbol = new Map<string, z.output<typeof PairSchema>>();
  for (const raw of pairs) {
    const r = PairSchema.safeParse(raw);
    if (r.success) bySymbol.set(r.data.symbol, r.data);
  }
  const missing = symbols.filter((s) => !bySymbol.has(s));
  if (missing.length > 0) throw new Error(`${exchange}: unknown symbol(s) ${missing.join(', ')} (not in the instrument channel)`);
  return symbols.map((sym) => {
    const p = bySymbol.get(sym)!;
    const instrument = defineInstrument({
      exchange,
      symbol: sym,
      base: p.base,
      quote: p.quote,
      tickSize: numberToDecimal(p.price_increment, p.price_precision),
      lotSize: numberToDecimal(p.qty_increment, p.qty_precision),
      minNotional: p.cost_min === undefined ? '0' : typeof p.cost_min === 'string' ? p.cost_min : numberToDecimal(p.cost_min, 12),
      ...(p.status !== undefined ? { trading: tradingFromTable(KRAKEN_STATUS, p.status), venueStatus: p.status } : {}),
    });
    return { instrument, precision: krakenPrecision(instrument, p.price_precision, p.qty_precision) };
  });
}

import { defineInstrument, type Instrument } from '@cwts/core';
import { z } from 'zod';

/** Coinbase sends increments like "0.01000000"; keep the canonical form. */
export function trimDecimal(s: string): string {
  if (!s.includes('.')) return s;
  const t = s.replace(/0+$/, '').replace(/\.$/, '');
  return t === '' ? '0' : t;
}

const decimal = z.string().max(40).regex(/^\d+(\.\d+)?$/, 'must be a decimal string');

/** The fields we use of one product from GET /api/v3/brokerage/market/products. */
const ProductSchema = z.object({
  product_id: z.string().min(1).max(64),
  price_increment: decimal,
  base_increment: decimal,
  base_currency_id: z.string().optional(),
  quote_currency_id: z.string().optional(),
  quote_min_size: decimal.optional(),
  status: z.string().optional(),
});
const ProductsSchema = z.object({ products: z.array(z.unknown()).max(100_000) });

/**
 * Instruments from the public products list: tick = price_increment, lot = base_increment,
 * min notional = quote_min_size. Symbols are Coinbase product ids (`BTC-USD`); base and quote
 * come from the product (falling back to the two halves of the id).
 */
export function instrumentsFromProducts(exchange: string, body: unknown, symbols: readonly string[]): Instrument[] {
  const top = ProductsSchema.safeParse(body);
  if (!top.success) throw new Error(`${exchange}: products response has no products array`);
  const byId = new Map<string, z.infer<typeof ProductSchema>>();
  for (const raw of top.data.products) {
    const p = ProductSchema.safeParse(raw);
    if (p.success) byId.set(p.data.product_id, p.data);
  }
  const missing = symbols.filter((s) => !byId.has(s));
  if (missing.length > 0) throw new Error(`${exchange}: unknown product(s) ${missing.join(', ')} (not in the products list, or without price_increment/base_increment)`);
  return symbols.map((sym) => {
    const p = byId.get(sym)!;
    const [b, q] = sym.split('-');
    return defineInstrument({
      exchange, symbol: sym, base: p.base_currency_id || b || sym, quote: p.quote_currency_id || q || '',
      tickSize: trimDecimal(p.price_increment), lotSize: trimDecimal(p.base_increment), minNotional: trimDecimal(p.quote_min_size ?? '0'),
    });
  });
}

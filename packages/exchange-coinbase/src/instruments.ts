import { defineInstrument, type Instrument, type InstrumentTrading } from '@cwts/core';
import { tradingFromTable, type VenueStatusTable } from '@cwts/core/adapter-kit';
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
  status: z.string().max(64).optional(),
  is_disabled: z.boolean().optional(),
  trading_disabled: z.boolean().optional(),
  cancel_only: z.boolean().optional(),
  post_only: z.boolean().optional(),
  limit_only: z.boolean().optional(),
});

/** A product's `status` word -> ours (before its mode flags). Any other word is unknown, hence closed. */
export const COINBASE_STATUS: VenueStatusTable = Object.freeze({ online: 'open', offline: 'closed', delisted: 'closed', internal: 'closed' });

/**
 * A product's trading status: `is_disabled` or `trading_disabled` close it; otherwise its
 * `status` word (online, or a closed one; unknown: closed), narrowed by the mode flags
 * `cancel_only` > `post_only` > `limit_only` (the most restrictive wins). `venueStatus` is the
 * status word with the flags that are set ("online+post_only"), for the logs.
 */
export function coinbaseTrading(p: { status?: string | undefined; is_disabled?: boolean | undefined; trading_disabled?: boolean | undefined; cancel_only?: boolean | undefined; post_only?: boolean | undefined; limit_only?: boolean | undefined }): { trading: InstrumentTrading; venueStatus: string } | undefined {
  const flags = (['is_disabled', 'trading_disabled', 'cancel_only', 'post_only', 'limit_only'] as const).filter((f) => p[f] === true);
  if (p.status === undefined && flags.length === 0) return undefined;
  const venueStatus = [p.status ?? '', ...flags].filter((x) => x !== '').join('+');
  const base = tradingFromTable(COINBASE_STATUS, p.status) ?? 'open';
  let trading: InstrumentTrading = base;
  if (base === 'open') {
    if (p.is_disabled === true || p.trading_disabled === true) trading = 'closed';
    else if (p.cancel_only === true) trading = 'cancel_only';
    else if (p.post_only === true) trading = 'post_only';
    else if (p.limit_only === true) trading = 'limit_only';
  }
  return { trading, venueStatus };
}

/** Whether a venueStatus from coinbaseTrading starts with a status word we know. */
export const isKnownCoinbaseStatus = (venueStatus: string): boolean => {
  const word = venueStatus.split('+')[0]!;
  return Object.hasOwn(COINBASE_STATUS, word) || ['is_disabled', 'trading_disabled', 'cancel_only', 'post_only', 'limit_only'].includes(word);
};
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
      ...coinbaseTrading(p),
    });
  });
}

/**
 * -USDC products with a book of their own on the public channels. Coinbase's WebSocket docs:
 * "Subscribing to '-USDC' based products are only available on the user channel. Other channels
 * will return the same data as the corresponding '-USD' based products. USDT-USDC and EURC-USDC
 * are available on all channels."
 */
export const COINBASE_OWN_USDC_BOOKS: ReadonlySet<string> = new Set(['USDT-USDC', 'EURC-USDC']);

/**
 * The product id Coinbase's public market-data channels (level2, market_trades) use for a
 * configured product: `X-USD` for `X-USDC` (the venue answers a `-USDC` subscribe with the
 * `-USD` product's frames, named `-USD`), the id itself otherwise. Orders and the `user` channel
 * keep the configured id: there the `-USDC` product is its own.
 */
export function marketDataProductId(productId: string): string {
  if (!productId.endsWith('-USDC') || COINBASE_OWN_USDC_BOOKS.has(productId) || productId.length <= 5) return productId;
  return productId.slice(0, -1);
}

/**
 * Building one ccxt (pro) exchange instance for a venue: the class by id, our settings, every
 * endpoint re-rooted when the venue table overrides its URLs, and a tap on ccxt's message
 * handler so frames ccxt cannot use are counted instead of vanishing.
 */
import type { CcxtOptions } from './options.js';

/** Level as ccxt hands it: [price, amount, ...] numbers (or strings on some venues). */
export type CcxtLevel = [number | string, number | string, ...unknown[]];
export interface CcxtBook { bids: CcxtLevel[]; asks: CcxtLevel[]; nonce?: number; timestamp?: number }
export interface CcxtTrade { id?: string; timestamp?: number; side?: string; price: number; amount: number; info?: unknown }
export interface CcxtMarket {
  id: string;
  symbol: string;
  base: string;
  quote: string;
  spot?: boolean;
  active?: boolean;
  precision: { price?: number; amount?: number };
  limits?: { cost?: { min?: number } };
}
export interface CcxtOrder { id: string; clientOrderId?: string; symbol: string; status?: string; side?: string; price?: number; amount?: number; filled?: number; remaining?: number; average?: number; timestamp?: number; trades?: CcxtMyTrade[] }
/** `id` undefined where the venue gives none (ccxt hollaex, coinspot). `fees`: ccxt's list of every commission charged (one per currency), where `fee` may be left out. */
export interface CcxtMyTrade { id?: string; order?: string; symbol: string; side?: string; price: number; amount: number; timestamp?: number; takerOrMaker?: string; fee?: CcxtFee; fees?: CcxtFee[] }
export interface CcxtFee { cost?: number; currency?: string }

/** The part of a ccxt pro exchange this package uses. */
export interface CcxtExchange {
  id: string;
  urls: { api: unknown };
  options: Record<string, unknown>;
  markets_by_id?: Record<string, CcxtMarket[]>;
  precisionMode: number;
  has: Record<string, boolean | 'emulated' | undefined>;
  loadMarkets(reload?: boolean): Promise<Record<string, CcxtMarket>>;
  watchOrderBook(symbol: string, limit?: number): Promise<CcxtBook>;
  watchTrades(symbol: string): Promise<CcxtTrade[]>;
  createOrder(symbol: string, type: string, side: string, amount: string | number, price?: string | number, params?: object): Promise<CcxtOrder>;
  cancelOrder(id: string, symbol: string, params?: object): Promise<CcxtOrder>;
  fetchOrder(id: string, symbol: string, params?: object): Promise<CcxtOrder>;
  fetchOpenOrders(symbol?: string): Promise<CcxtOrder[]>;
  /** Where `has.fetchClosedOrders` says so. */
  fetchClosedOrders?(symbol?: string, since?: number, limit?: number): Promise<CcxtOrder[]>;
  /** Where `has.fetchOrders` says so: every status, unfiltered (Binance allOrders). */
  fetchOrders?(symbol?: string, since?: number, limit?: number): Promise<CcxtOrder[]>;
  fetchMyTrades(symbol: string, since?: number, limit?: number, params?: object): Promise<CcxtMyTrade[]>;
  fetchBalance(): Promise<{ total?: Record<string, number | undefined> }>;
  handleMessage(client: unknown, message: unknown): unknown;
  numberToString(n: number | string): string;
  close(): Promise<void>;
  loadHttpProxyAgent(): Promise<unknown>;
}

/** ccxt's precision modes (ccxt/js/src/base/functions/number.js). */
export const PrecisionMode = { DECIMAL_PLACES: 2, SIGNIFICANT_DIGITS: 3, TICK_SIZE: 4 } as const;

export interface CcxtExchangeSpec {
  ccxtId: string;
  options: CcxtOptions;
  apiUrl?: string;
  restUrl?: string;
  apiKey?: string;
  apiSecret?: string;
  password?: string;
}

/** Replaces the scheme and host of every URL under `urls` (ws(s) by wsRoot, http(s) by restRoot), keeping paths. */
export function rerootUrls(urls: unknown, wsRoot: string | undefined, restRoot: string | undefined): unknown {
  if (typeof urls === 'string') {
    const root = /^wss?:\/\//.test(urls) ? wsRoot : /^https?:\/\//.test(urls) ? restRoot : undefined;
    if (root === undefined) return urls;
    return urls.replace(/^[a-z]+:\/\/[^/]+/, new URL(root).origin);
  }
  if (urls && typeof urls === 'object') {
    const o = urls as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = rerootUrls(o[k], wsRoot, restRoot);
  }
  return urls;
}

type ProModule = { pro: Record<string, new (config: object) => CcxtExchange> };

/** Loads ccxt lazily (it is large) and builds the pro class for `ccxtId`. */
export async function createCcxtExchange(spec: CcxtExchangeSpec): Promise<CcxtExchange> {
  const mod = (await import('ccxt')) as unknown as { default?: ProModule } & Partial<ProModule>;
  const pro = (mod.default ?? mod).pro!;
  const Ctor = pro[spec.ccxtId];
  if (typeof Ctor !== 'function') throw new Error(`ccxt has no WebSocket (pro) exchange "${spec.ccxtId}"`);
  const ex = new Ctor({
    enableRateLimit: false, // our order limiter decides; ccxt's would double-throttle
    timeout: spec.options.rest_timeout_ms,
    ...(spec.apiKey !== undefined ? { apiKey: spec.apiKey } : {}),
    ...(spec.apiSecret !== undefined ? { secret: spec.apiSecret } : {}),
    ...(spec.password !== undefined ? { password: spec.password } : {}),
    options: { ...spec.options.ccxt_options },
  });
  // Every endpoint is re-rooted, so nothing can reach a host other than the configured one.
  if (spec.apiUrl !== undefined || spec.restUrl !== undefined) rerootUrls(ex.urls.api, spec.apiUrl, spec.restUrl);
  // ccxt refuses plain ws:// (local servers) until its node http agent is loaded.
  if (spec.apiUrl?.startsWith('ws://')) await ex.loadHttpProxyAgent();
  return ex;
}

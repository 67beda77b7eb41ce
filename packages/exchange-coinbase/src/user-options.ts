/**
 * The `user` channel's keys of `[coinbase.options]` (zod), merged into CoinbaseOptionsSchema.
 * The channel runs only when a CDP key is configured (it is private); these keys can turn it off
 * or point it elsewhere.
 */
import { z } from 'zod';

export const CoinbaseUserStreamOptionsSchema = z.object({
  /** Order updates in push over the `user` channel (polling stays the safety net). Default true. */
  user_stream: z.boolean(),
  /**
   * The private WebSocket. Default: Coinbase's User Order Data endpoint
   * (wss://advanced-trade-ws-user.coinbase.com), or `api_url` when that is overridden (a local
   * server: the docs serve the user channel on both endpoints).
   */
  user_api_url: z.string().regex(/^wss?:\/\/\S+$/, 'a ws:// or wss:// URL'),
});

export type CoinbaseUserStreamOptions = z.infer<typeof CoinbaseUserStreamOptionsSchema>;

/** `user_api_url: ''` means "derived" (see above). */
export const DEFAULT_USER_STREAM_OPTIONS: Readonly<CoinbaseUserStreamOptions> = Object.freeze({ user_stream: true, user_api_url: '' });

export const COINBASE_USER_WS_URL = 'wss://advanced-trade-ws-user.coinbase.com';

import { z } from 'zod';

/**
 * `[kraken.options]` keys of the private executions stream (WebSocket v2 `executions` channel on
 * Kraken's authenticated endpoint). Merged into KrakenOptionsSchema; documented in the README.
 */
export const KRAKEN_PRIVATE_WS_URL = 'wss://ws-auth.kraken.com/v2';

export const KrakenExecutionsOptionsShape = {
  /**
   * Push order updates and fills over the `executions` channel. Polling stays on either way as
   * the safety net; false: polling only (fills up to one poll_interval_ms late).
   */
  executions_stream: z.boolean().default(true),
  /**
   * The authenticated v2 endpoint. Unset: derived from the public one (ws.kraken.com ->
   * ws-auth.kraken.com, beta-ws -> beta-ws-auth; any other host, such as a local server or a
   * proxy, serves both on the same URL).
   */
  private_ws_url: z
    .string()
    .regex(/^wss?:\/\/[^\s/]+(\/\S*)?$/, 'must be a ws:// or wss:// URL')
    .optional(),
  /**
   * A stream that has not delivered its snapshot this long after subscribing is dropped and
   * reconnected (with a fresh token).
   */
  executions_subscribe_timeout_ms: z.number().int().min(100).max(600_000).default(10_000),
};

/** The private endpoint for a public v2 URL (see private_ws_url). */
export function krakenPrivateWsUrl(privateWsUrl: string | undefined, publicWsUrl: string): string {
  if (privateWsUrl) return privateWsUrl;
  try {
    const u = new URL(publicWsUrl);
    if (u.hostname === 'ws.kraken.com' || u.hostname === 'beta-ws.kraken.com') {
      u.hostname = u.hostname.replace('ws.kraken.com', 'ws-auth.kraken.com');
      return u.toString().replace(/\/$/, '');
    }
  } catch {
    return KRAKEN_PRIVATE_WS_URL;
  }
  return publicWsUrl;
}

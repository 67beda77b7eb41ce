/** An IP ban's end as Binance states it, held to its longest ban; and holding a connection through it. */
import type { WsConnection } from '@cwts/core/adapter-kit';

/**
 * Binance's longest IP ban ("IP bans are tracked and scale in duration for repeat offenders, from
 * 2 minutes to 3 days": spot REST API, LIMITS). A ban's end further off comes from a broken or
 * hostile answer (a Retry-After of years, a mangled "banned until"): believed, it stopped every
 * request and connection of the adapter for that long. Held to 3 days, a real ban that outlasts
 * it is answered again (418) and held again.
 */
export const BINANCE_MAX_BAN_MS = 3 * 24 * 3600_000;

/** `untilMs`, or the end of the longest ban Binance gives from `nowMs` when it lies further off (`capped`). */
export function capBanEnd(untilMs: number, nowMs: number): { untilMs: number; capped: boolean } {
  const max = nowMs + BINANCE_MAX_BAN_MS;
  return untilMs > max ? { untilMs: max, capped: true } : { untilMs, capped: false };
}

/**
 * WsConnection.holdReconnectUntil came with core API 1.13 and this package declares 1.7: an older
 * core's connection lacks it and reconnects on its backoff, as it did before.
 */
export function holdReconnect(conn: WsConnection, untilMs: number, reason: string): void {
  const c = conn as Partial<Pick<WsConnection, 'holdReconnectUntil'>>;
  if (typeof c.holdReconnectUntil === 'function') c.holdReconnectUntil(untilMs, reason);
}

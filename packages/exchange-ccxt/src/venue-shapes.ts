/**
 * Shapes of the market-data frames ccxt reads leniently, for the venues we know. ccxt takes a
 * missing or mistyped field as "undefined" and carries on (a depth frame whose bids are an
 * object applies its asks; an update id that is a string is coerced), so for these venues the
 * frame is checked before ccxt sees it and a frame that does not match is counted as malformed.
 * Venues not listed get only the generic number check (market-data.ts).
 */
import { z } from 'zod';
import { venueTable } from '@cwts/core/adapter-kit';

const decimal = z.string().regex(/^\d+(\.\d+)?$/);
const updateId = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const levels = z.array(z.tuple([decimal, decimal]).rest(z.unknown()));

// a venue word ("toString" in `e`) must find nothing here, not an Object member
const BINANCE_EVENTS = venueTable<z.ZodType>({
  depthUpdate: z.looseObject({ s: z.string().min(1), E: z.number().int(), U: updateId, u: updateId, b: levels, a: levels }).refine((m) => m.u >= m.U, 'u < U'),
  trade: z.looseObject({ s: z.string().min(1), t: updateId, p: decimal, q: decimal, T: z.number().int(), m: z.boolean() }),
  aggTrade: z.looseObject({ s: z.string().min(1), a: updateId, p: decimal, q: decimal, T: z.number().int(), m: z.boolean() }),
});

/** Why a frame of `ccxtId` does not have the shape of the event it names (undefined: fine, or not known here). */
export function venueShapeProblem(ccxtId: string, message: unknown): string | undefined {
  if (ccxtId !== 'binance' || message === null || typeof message !== 'object' || Array.isArray(message)) return undefined;
  let m = message as Record<string, unknown>;
  // the combined-stream wrapper, as ccxt unwraps it
  if (typeof m.stream === 'string' && m.data !== null && typeof m.data === 'object') m = m.data as Record<string, unknown>;
  const schema = typeof m.e === 'string' ? BINANCE_EVENTS[m.e] : undefined;
  if (!schema) return undefined;
  const r = schema.safeParse(m);
  return r.success ? undefined : `${String(m.e)}: ${r.error.issues[0]?.path.join('.') ?? ''} ${r.error.issues[0]?.message ?? ''}`;
}

/** Venues whose market data is text only: a binary frame from them is not theirs (ccxt would decode it as text). */
export function sendsTextOnly(ccxtId: string): boolean {
  return ccxtId === 'binance';
}

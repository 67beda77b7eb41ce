import { z } from 'zod';
import type { FeedRejectReason } from '../contracts/exchange.js';
import type { BookLevel } from '../domain/events.js';
import { unitsOf, type InstrumentScales } from './fast-decimal.js';
import { levelProblem } from './feed-guard.js';

/**
 * Cold-path (REST snapshot) validation with zod: the shape first, then every decimal into
 * integer units, then the same value rules the hot path applies to deltas (`levelProblem`).
 * Venues build their snapshot object schema from these pieces.
 */

/** ["price", "qty", ...] as decimal strings (extra venue fields after the pair are allowed). */
export const DecimalLevelSchema = z.tuple([z.string().max(64), z.string().max(64)]).rest(z.unknown());
export const DecimalLevelsSchema = z.array(DecimalLevelSchema).max(100_000);
/** An update id / sequence number: a non-negative integer within 2^53. */
export const SequenceIdSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * A REST book snapshot `{ <seqKey>: id, <bidsKey>: [[p, q], ...], <asksKey>: [...] }` (other keys
 * pass through), e.g. Binance `snapshotSchema('lastUpdateId', 'bids', 'asks')`.
 */
export function snapshotSchema(seqKey: string, bidsKey = 'bids', asksKey = 'asks') {
  return z.looseObject({ [seqKey]: SequenceIdSchema, [bidsKey]: DecimalLevelsSchema, [asksKey]: DecimalLevelsSchema });
}

export type SnapshotLevelsResult = { ok: true; levels: BookLevel[] } | { ok: false; reason: FeedRejectReason; detail: string };

/**
 * Decimal levels -> integer levels on the instrument's grid. Snapshot levels must have a
 * positive price and quantity (zero means "delete" only in a delta).
 */
export function snapshotLevelsToUnits(raw: readonly (readonly [string, string, ...unknown[]])[], sc: InstrumentScales, side: 'bid' | 'ask'): SnapshotLevelsResult {
  const out: BookLevel[] = [];
  for (const l of raw) {
    const p = l[0];
    const q = l[1];
    const level = { price: unitsOf(p, 0, p.length, sc.price), qty: unitsOf(q, 0, q.length, sc.qty) };
    const reason = levelProblem(level, false);
    if (reason !== undefined) return { ok: false, reason, detail: `snapshot ${side} ${JSON.stringify(p.slice(0, 32))} x ${JSON.stringify(q.slice(0, 32))} of ${sc.instrument.symbol}: ${reason.replace(/_/g, ' ')}` };
    out.push(level);
  }
  return { ok: true, levels: out };
}

/** One line naming the first problem of a failed zod parse (path and message), for the log. */
export function describeSchemaError(err: z.ZodError): string {
  const i = err.issues[0];
  return i ? `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}` : 'invalid';
}

import { z } from 'zod';

import { defineInstrument, type Instrument } from '../domain/instrument.js';
import type { ExecutionReport } from '../domain/orders.js';
import { INSTRUMENT_TRADING_VALUES } from '../domain/trading-status.js';
import { fillProblem } from '../engine/order-manager.js';

/**
 * What `journal import` checks in each line before it becomes a journal record. A JSON-lines
 * file is anyone's text (an old journal, a hand edit, a damaged copy that still parses): what is
 * imported is restored at the next start as positions and risk state, so a line the engine could
 * not have written (a quantity as a string, a fill of -5 lots, a risk state "LOL") is skipped
 * and named, never stored. The engine's own checks decide where it has them (fillProblem, the
 * report check of OrderManager.apply, defineInstrument); the rest are shapes.
 */

const text = z.string().min(1).max(200);
const finite = z.number().refine(Number.isFinite, 'not a finite number');
const positiveUnits = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const units = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const side = z.enum(['buy', 'sell']);
const riskState = z.enum(['ACTIVE', 'REDUCING', 'HALTED']);

const importedOrder = z
  .object({
    exchange: text,
    symbol: text,
    clientOrderId: text,
    side,
    type: z.enum(['limit', 'market']),
    price: positiveUnits.optional(),
    qty: positiveUnits,
    tif: z.enum(['GTC', 'IOC', 'FOK', 'POST_ONLY']),
    source: z.string().max(200),
    reduceOnly: z.boolean().optional(),
    reason: z.string().optional(),
    createdTs: finite,
    updatedTs: finite,
  })
  .refine((o) => (o.type === 'limit') === (o.price !== undefined), { message: 'a limit order has a price in ticks, a market order none', path: ['price'] });

const importedReport = z.object({
  kind: z.enum(['ack', 'fill', 'cancelled', 'expired', 'rejected']),
  exchange: text,
  symbol: text,
  clientOrderId: text,
  venueOrderId: z.string().optional(),
  side,
  // As the engine accepts them (order-manager.ts fieldProblem): a finite number or absent; a
  // fill's lots, ticks and fee are fillProblem's (below).
  lastPrice: finite.optional(),
  lastQty: finite.optional(),
  leavesQty: finite.optional(),
  cumQty: finite.optional(),
  feeAtoms: z.bigint().optional(),
  feeAsset: z.string().optional(),
  liquidity: z.enum(['maker', 'taker']).optional(),
  tradeId: z.string().optional(),
  rejectReason: text.optional(),
  rejects: z.enum(['order', 'request']).optional(),
  text: z.string().optional(),
  ts: finite,
});

const importedSignal = z.object({
  id: text,
  detector: text,
  kind: text,
  exchange: text,
  symbol: text,
  ts: finite,
  direction: z.union([z.literal(1), z.literal(-1), z.literal(0)]),
  // a detector's NaN strength was written as null (JSON): the row's column holds 0
  strength: z.number().nullable(),
  evidence: z.record(z.string(), z.unknown()),
});

/**
 * Each kind but order, report and instrument, as the engine writes it (journal/records.ts), and
 * the export's client id reservation (the `meta` row).
 */
const OTHER_KINDS: Record<string, z.ZodType> = {
  risk: z.object({ from: riskState, to: riskState, reason: z.string(), who: z.string(), ts: finite }),
  peak: z.object({ peak: z.bigint(), equity: z.bigint(), why: z.string(), ts: finite }),
  signal: z.object({ signal: importedSignal, ts: finite }),
  snapshot: z.object({ why: z.enum(['timer', 'fill', 'stop']), equity: z.bigint(), realized: z.bigint(), unrealized: z.bigint(), fees: z.bigint(), marks: z.record(z.string(), finite), ts: finite }),
  state: z.object({ scope: text, key: text, value: z.unknown(), ts: finite }),
  client_ids_reserved: z.object({ upTo: units }),
  // The JSON-lines journal of earlier versions wrote { clientOrderId, status: 'cancelled' }.
  reconcile: z.object({
    exchange: text.optional(),
    clientOrderId: text.optional(),
    kind: z.enum(['closed', 'mismatch', 'recovered', 'adopted', 'halted', 'unavailable']).optional(),
    detail: z.string().optional(),
  }),
};

function issue(r: z.ZodSafeParseResult<unknown>): string | undefined {
  if (r.success) return undefined;
  const first = r.error.issues[0]!;
  return `${first.path.map(String).join('.') || 'value'}: ${first.message}`;
}

/** Why an imported order line cannot be an order the engine sent, or undefined. */
export function importedOrderProblem(order: unknown): string | undefined {
  return issue(importedOrder.safeParse(order));
}

/**
 * Why an imported report line cannot be a report the engine booked, or undefined. The report's
 * check against its order is OrderManager.apply's (the caller's), this is the report alone.
 */
export function importedReportProblem(report: unknown): string | undefined {
  const shape = issue(importedReport.safeParse(report));
  if (shape !== undefined) return shape;
  const r = report as ExecutionReport;
  return r.kind === 'fill' ? fillProblem(r)?.detail : undefined;
}

/** The instrument of an imported line, rebuilt from its definition (grid strings checked), or why not. */
export function importedInstrument(value: unknown): { instrument: Instrument } | { problem: string } {
  const spec = z
    .object({ exchange: text, symbol: text, base: text, quote: text, tickSize: text, lotSize: text, minNotional: text.optional(), trading: z.enum(INSTRUMENT_TRADING_VALUES as [string, ...string[]]).optional(), venueStatus: z.string().max(200).optional() })
    .safeParse(value);
  if (!spec.success) return { problem: issue(spec)! };
  try {
    const i = defineInstrument(spec.data as Parameters<typeof defineInstrument>[0]);
    // the minimum notional is a decimal too (0 when none)
    if (!/^\d+(\.\d+)?$/.test(i.minNotional)) return { problem: `minNotional ${JSON.stringify(i.minNotional)} is not a decimal` };
    return { instrument: i };
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

/** Why an imported line of another kind (risk, peak, signal, snapshot, state, reconcile, client_ids_reserved) cannot be what the engine writes. */
export function importedOtherProblem(kind: string, line: unknown): string | undefined {
  const schema = Object.hasOwn(OTHER_KINDS, kind) ? OTHER_KINDS[kind] : undefined;
  return schema === undefined ? `unknown record kind ${JSON.stringify(kind.slice(0, 40))}` : issue(schema.safeParse(line));
}

import type { Database as Db } from 'better-sqlite3';

import type { ExecutionReport, Order, OrderStatus } from '../domain/orders.js';
import { journalParse } from './json.js';
import { decodeFoldedReports, decodeOrder, decodeReport, type OrderColumns, type ReportColumns } from './record-body.js';

/** A row recovery could not read: refused (left out of the replay) and counted. */
export interface UnreadableRow {
  /** `orders.reports`: reports kept in an order's row (schema v4). */
  table: 'orders' | 'execution_reports' | 'orders.reports';
  /** The row's seq, or its client id when even that is missing. */
  at: string;
  reason: string;
}

export interface OrderRowRecord {
  seq: number;
  /** The order as it was appended. */
  order: Order;
  createdTs: number;
}

export interface ReportRowRecord {
  seq: number;
  report: ExecutionReport;
  feeAsset: string;
  statusAfter: OrderStatus;
  ts: number;
}

type OrderRow = OrderColumns & { seq: number; body: unknown; json: unknown };
type ReportRow = ReportColumns & { seq: number; status_after: OrderStatus; ts: number; body: unknown; json: unknown };

/**
 * The orders as appended, in seq order, from either row form: a v3 `body` (record-body.ts) or
 * the `json` of rows written before v3 (and of a journal not yet migrated, opened read-only).
 * A row neither form reads is passed to `unreadable` and left out; reading goes on.
 */
export function* readOrderRows(db: Db, unreadable: (row: UnreadableRow) => void): Generator<OrderRowRecord> {
  const body = hasColumn(db, 'orders', 'body') ? 'body' : 'NULL AS body';
  const json = hasColumn(db, 'orders', 'json') ? 'json' : 'NULL AS json';
  const sql = `SELECT seq, client_id, exchange, symbol, side, type, price, qty, tif, source, created_ts, ${body}, ${json} FROM orders ORDER BY seq`;
  for (const row of db.prepare(sql).iterate() as Iterable<OrderRow>) {
    try {
      const order = row.body !== null ? decodeOrder(row) : legacyOrder(row.json);
      yield { seq: row.seq, order, createdTs: row.created_ts };
    } catch (err) {
      unreadable({ table: 'orders', at: `seq ${row.seq} (${String(row.client_id)})`, reason: (err as Error).message });
    }
  }
}

/**
 * The execution reports as appended, in seq order, from both places they are kept: their own
 * `execution_reports` rows (as readOrderRows) and, from schema v4, the `reports` of an order's
 * row (reports without a fill, committed with their order: journal/writer.ts). A folded report
 * that does not read is passed to `unreadable` with the ones after it in that row (their
 * lengths cannot be trusted past it).
 */
export function* readReportRows(db: Db, unreadable: (row: UnreadableRow) => void): Generator<ReportRowRecord> {
  const folded = readFoldedReports(db, unreadable);
  let f = 0;
  const body = hasColumn(db, 'execution_reports', 'body') ? 'body' : 'NULL AS body';
  const json = hasColumn(db, 'execution_reports', 'json') ? 'json' : 'NULL AS json';
  const sql = `SELECT seq, client_id, exchange, kind, status_after, venue_ts, ts, ${body}, ${json} FROM execution_reports ORDER BY seq`;
  for (const row of db.prepare(sql).iterate() as Iterable<ReportRow>) {
    while (f < folded.length && folded[f]!.seq < row.seq) yield folded[f++]!;
    try {
      const { report, feeAsset } = row.body !== null ? decodeReport(row) : legacyReport(row.json);
      yield { seq: row.seq, report, feeAsset, statusAfter: row.status_after, ts: row.ts };
    } catch (err) {
      unreadable({ table: 'execution_reports', at: `seq ${row.seq} (${String(row.client_id)})`, reason: (err as Error).message });
    }
  }
  while (f < folded.length) yield folded[f++]!;
}

/** The reports kept in order rows, sorted by seq (an order's interleave with other orders'). */
function readFoldedReports(db: Db, unreadable: (row: UnreadableRow) => void): ReportRowRecord[] {
  if (!hasColumn(db, 'orders', 'reports')) return [];
  const out: ReportRowRecord[] = [];
  const sql = 'SELECT seq, client_id, exchange, symbol, side, reports FROM orders WHERE reports IS NOT NULL ORDER BY seq';
  for (const row of db.prepare(sql).iterate() as Iterable<{ seq: number; client_id: string; exchange: string; symbol: string; side: string; reports: unknown }>) {
    try {
      decodeFoldedReports(row, row.reports, (r) => out.push(r));
    } catch (err) {
      unreadable({ table: 'orders.reports', at: `order seq ${row.seq} (${String(row.client_id)})`, reason: (err as Error).message });
    }
  }
  return out.sort((a, b) => a.seq - b.seq);
}

function hasColumn(db: Db, table: string, column: string): boolean {
  return (db.prepare(`SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`).pluck().get(table, column) as number) > 0;
}

/** A v1/v2 row: the order as JSON with bigints as "123n". */
function legacyOrder(json: unknown): Order {
  const order = parseJsonObject(json);
  if (typeof order.clientOrderId !== 'string' || typeof order.exchange !== 'string' || typeof order.symbol !== 'string') throw new Error('json order without clientOrderId, exchange or symbol');
  return order as unknown as Order;
}

/** A v1/v2 row: the report as JSON with the booked fee asset folded in as `feeAsset`. */
function legacyReport(json: unknown): { report: ExecutionReport; feeAsset: string } {
  const { feeAsset, ...report } = parseJsonObject(json);
  if (typeof report.clientOrderId !== 'string' || typeof report.exchange !== 'string' || typeof report.kind !== 'string') throw new Error('json report without clientOrderId, exchange or kind');
  return { report: report as unknown as ExecutionReport, feeAsset: typeof feeAsset === 'string' ? feeAsset : '' };
}

function parseJsonObject(json: unknown): Record<string, unknown> {
  if (typeof json !== 'string') throw new Error('row has neither a body nor json');
  let v: unknown;
  try {
    v = journalParse(json);
  } catch (err) {
    throw new Error(`json does not parse: ${(err as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('json is not an object');
  return v as Record<string, unknown>;
}

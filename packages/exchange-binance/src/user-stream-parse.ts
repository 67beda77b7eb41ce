/**
 * Reader of the spot user data stream's frames (user-data-stream.md; web-socket-api.md for the
 * answers on the same connection). Every value of an `executionReport` is checked before the
 * execution client sees it: ids are safe integers, quantities and prices are plain decimals on
 * the instrument's grid, a trade's quantity and price are positive, the cumulative quantity
 * covers the last trade and stays within the order's. Hostile-input safe: never throws; a frame
 * that fails is refused whole and counted by reason, with what could be read of the order it was
 * about, so the client can read that order over REST instead (nothing unchecked is applied, and a
 * fill it carried is not lost).
 *
 * Orders on symbols this process does not trade (another program on the same account) are
 * `foreign`: not ours to follow, and not bad data either.
 */
import { type Instrument } from '@cwts/core';
import { gridUnits, isPlainDecimal, tradeValuesProblem } from '@cwts/core/adapter-kit';

/** Bound on a frame: an executionReport is under 1 KB; a balance list of a large account is far below this. */
export const MAX_USER_STREAM_FRAME = 1 << 20;

/** user-data-stream.md "Execution types" (REPLACED: unused; TRADE_PREVENTION: self-trade prevention expired it). */
export const EXEC_TYPES = ['NEW', 'CANCELED', 'REPLACED', 'REJECTED', 'TRADE', 'EXPIRED', 'TRADE_PREVENTION'] as const;
export type ExecType = (typeof EXEC_TYPES)[number];
/** rest-api.md "Order status". */
export const ORDER_STATUSES = ['NEW', 'PENDING_NEW', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'PENDING_CANCEL', 'REJECTED', 'EXPIRED', 'EXPIRED_IN_MATCH'] as const;
export type OrderStatusWord = (typeof ORDER_STATUSES)[number];

/** One trade of one of the account's orders, from whichever source saw it (strings as the venue wrote them). */
export interface VenueTrade {
  tradeId: number;
  price: string;
  qty: string;
  commission: string;
  commissionAsset: string | null;
  maker: boolean | undefined;
  ts: number;
}

/** A checked executionReport. Quantities in lots, prices in ticks of the symbol's instrument. */
export interface BinanceOrderUpdate {
  symbol: string;
  orderId: number;
  /** The order's client id (a cancel's report names the cancel request in `c` and the order in `C`). */
  clientOrderId: string;
  execType: ExecType;
  status: OrderStatusWord;
  side: 'BUY' | 'SELL';
  orderType: string;
  qtyLots: number;
  /** 0 for a market order. */
  priceTicks: number;
  /** What the venue counts as filled after this event (`z`). */
  cumLots: number;
  /** `r`: the reject or expiry reason ("NONE" when none). */
  reason: string | undefined;
  /** Identifies the event across connections (rotation overlap): the execution id `I`, else its contents. */
  key: string;
  /** TRADE only. */
  trade: (VenueTrade & { lots: number; ticks: number }) | undefined;
}

export type UserStreamMessage =
  | { kind: 'answer'; id: unknown; status: unknown; error: { code?: number; msg?: string; retryAfter?: number } | undefined }
  | { kind: 'order'; update: BinanceOrderUpdate }
  | { kind: 'foreign'; symbol: string }
  | { kind: 'terminated' }
  | { kind: 'other' }
  | { kind: 'rejected'; reason: string; message: string; symbol: string | undefined; clientOrderId: string | undefined };

/** An executionReport nests 2 deep, a balance list 3: far deeper is refused before JSON.parse builds it. */
const MAX_DEPTH = 16;

/** Whether the JSON text nests deeper than `max` (brackets inside strings do not count). Linear, no allocation. */
function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c === 34 /* " */) {
      for (k++; k < text.length; k++) {
        const d = text.charCodeAt(k);
        if (d === 92 /* \ */) k++;
        else if (d === 34) break;
      }
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) return true;
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return false;
}

const ID_TEXT = /^[\x21-\x7e]{1,64}$/;

/** An order, trade or execution id as Binance writes it: a JSON number, a non-negative safe integer. */
export const isVenueId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isId = isVenueId;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * What is wrong with one trade of an order on `i` (any source: stream, REST answer, myTrades),
 * or undefined when nothing is: a positive price and quantity on the grid, a non-negative
 * commission, a trade id and a time.
 */
export function venueTradeProblem(i: Instrument, t: VenueTrade): string | undefined {
  if (!isId(t.tradeId)) return `trade id ${String(t.tradeId)} is not a non-negative safe integer`;
  const values = tradeValuesProblem(i, t.price, t.qty);
  if (values !== undefined) return values;
  if (!isPlainDecimal(t.commission)) return `commission ${JSON.stringify(t.commission)} is not a non-negative decimal`;
  if (t.commissionAsset !== null && (typeof t.commissionAsset !== 'string' || !ID_TEXT.test(t.commissionAsset))) return `commission asset ${JSON.stringify(t.commissionAsset)} is not an asset name`;
  if (t.maker !== undefined && typeof t.maker !== 'boolean') return 'maker flag is not a boolean';
  if (!isTime(t.ts)) return `trade time ${String(t.ts)} is not a positive integer`;
  return undefined;
}

/**
 * One reader per user stream. `instrument` resolves the symbols this process trades; counts are
 * the stream's statistics (frames read, refused in all and by reason).
 */
export class BinanceUserStreamParser {
  frames = 0;
  rejected = 0;
  readonly rejects = new Map<string, number>();

  constructor(private readonly instrument: (symbol: string) => Instrument | undefined) {}

  parse(text: string): UserStreamMessage {
    this.frames++;
    try {
      return this.parseFrame(text);
    } catch (err) {
      // nothing above should throw; a bug here must not take the stream down
      return this.reject('internal', `reader error: ${String((err as Error)?.message ?? err)}`.slice(0, 200));
    }
  }

  private reject(reason: string, message: string, symbol?: string, clientOrderId?: string): UserStreamMessage {
    this.rejected++;
    this.rejects.set(reason, (this.rejects.get(reason) ?? 0) + 1);
    return { kind: 'rejected', reason, message, symbol, clientOrderId };
  }

  private parseFrame(text: string): UserStreamMessage {
    if (typeof text !== 'string' || text.length === 0 || text.length > MAX_USER_STREAM_FRAME) return this.reject('unreadable', 'empty or oversized frame');
    if (nestsDeeperThan(text, MAX_DEPTH)) return this.reject('unreadable', 'frame nests too deep');
    let root: unknown;
    try {
      root = JSON.parse(text);
    } catch {
      return this.reject('unreadable', 'frame is not JSON');
    }
    if (root === null || typeof root !== 'object' || Array.isArray(root)) return this.reject('unreadable', 'frame is not a JSON object');
    const m = root as Record<string, unknown>;
    if (m.event === undefined) {
      // an answer to one of our requests (the subscription)
      if (m.id === undefined) return { kind: 'other' };
      const e = m.error;
      // a 418/429's data.retryAfter (epoch ms, web-socket-api.md "Rate limits"): kept only when it is a time
      const retryAfter = e !== null && typeof e === 'object' ? (e as { data?: { retryAfter?: unknown } }).data?.retryAfter : undefined;
      const error = e !== null && typeof e === 'object' ? {
        ...(typeof (e as { code?: unknown }).code === 'number' ? { code: (e as { code: number }).code } : {}),
        ...(typeof (e as { msg?: unknown }).msg === 'string' ? { msg: String((e as { msg: string }).msg).slice(0, 300) } : {}),
        ...(typeof retryAfter === 'number' && Number.isSafeInteger(retryAfter) && retryAfter > 0 ? { retryAfter } : {}),
      } : undefined;
      return { kind: 'answer', id: m.id, status: m.status, error };
    }
    const ev = m.event;
    if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) return this.reject('shape', 'event is not an object');
    const type = (ev as { e?: unknown }).e;
    if (type === 'eventStreamTerminated') return { kind: 'terminated' };
    if (type === 'executionReport') return this.executionReport(ev as Record<string, unknown>);
    if (typeof type !== 'string') return this.reject('shape', 'event has no type');
    // account and balance updates, list status: positions come from reconciliation, not from these
    return { kind: 'other' };
  }

  private executionReport(r: Record<string, unknown>): UserStreamMessage {
    const symbol = typeof r.s === 'string' && ID_TEXT.test(r.s) ? r.s : undefined;
    const execType = EXEC_TYPES.find((x) => x === r.x);
    const cText = typeof r.c === 'string' && ID_TEXT.test(r.c) ? r.c : undefined;
    const origText = typeof r.C === 'string' && ID_TEXT.test(r.C) ? r.C : undefined;
    // a cancel's report names the order in C (c is the cancel request's own id)
    const clientOrderId = execType === 'CANCELED' && origText !== undefined ? origText : cText;
    const bad = (reason: string, message: string) => this.reject(reason, `executionReport: ${message}`, symbol, clientOrderId);
    if (symbol === undefined) return bad('shape', 'no symbol');
    const i = this.instrument(symbol);
    if (!i) return { kind: 'foreign', symbol };
    if (clientOrderId === undefined) return bad('shape', 'no client order id');
    if (execType === undefined) return bad('unknown_type', `unknown execution type ${JSON.stringify(r.x)?.slice(0, 40)}`);
    const status = ORDER_STATUSES.find((x) => x === r.X);
    if (status === undefined) return bad('unknown_status', `unknown order status ${JSON.stringify(r.X)?.slice(0, 40)}`);
    if (!isId(r.i)) return bad('shape', 'order id is not a non-negative safe integer');
    if (r.S !== 'BUY' && r.S !== 'SELL') return bad('shape', 'side is not BUY or SELL');
    if (typeof r.o !== 'string' || !ID_TEXT.test(r.o)) return bad('shape', 'no order type');
    const qtyLots = gridUnits(r.q, i.qtyScale);
    if (qtyLots === undefined) return bad('off_grid', `order quantity ${JSON.stringify(r.q)?.slice(0, 40)} is not on the ${i.lotSize} grid`);
    const priceTicks = gridUnits(r.p, i.priceScale);
    if (priceTicks === undefined) return bad('off_grid', `order price ${JSON.stringify(r.p)?.slice(0, 40)} is not on the ${i.tickSize} grid`);
    const cumLots = gridUnits(r.z, i.qtyScale);
    if (cumLots === undefined) return bad('off_grid', `filled quantity ${JSON.stringify(r.z)?.slice(0, 40)} is not on the ${i.lotSize} grid`);
    // a quote-quantity market order may report q = 0; otherwise nothing fills past the order
    if (qtyLots > 0 && cumLots > qtyLots) return bad('overfill', `filled quantity ${String(r.z)} is more than the order's ${String(r.q)}`);
    if (r.I !== undefined && !isId(r.I)) return bad('shape', 'execution id is not a non-negative safe integer');
    if (r.r !== undefined && typeof r.r !== 'string') return bad('shape', 'reason is not a string');
    let trade: BinanceOrderUpdate['trade'];
    if (execType === 'TRADE') {
      const t: VenueTrade = { tradeId: r.t as number, price: r.L as string, qty: r.l as string, commission: r.n as string, commissionAsset: (r.N ?? null) as string | null, maker: r.m as boolean, ts: r.T as number };
      if (typeof r.m !== 'boolean') return bad('shape', 'maker flag is not a boolean');
      const problem = venueTradeProblem(i, t);
      if (problem !== undefined) return bad('invalid_trade', problem);
      const lots = gridUnits(t.qty, i.qtyScale)!;
      if (lots > cumLots) return bad('invalid_trade', `trade quantity ${t.qty} is more than the filled quantity ${String(r.z)}`);
      trade = { ...t, lots, ticks: gridUnits(t.price, i.priceScale)! };
    }
    const key = r.I !== undefined ? `${symbol}|${r.I as number}` : `${symbol}|${r.i}|${execType}|${trade?.tradeId ?? -1}|${cumLots}`;
    return {
      kind: 'order',
      update: {
        symbol, orderId: r.i, clientOrderId, execType, status, side: r.S, orderType: r.o, qtyLots, priceTicks, cumLots,
        reason: typeof r.r === 'string' ? r.r.slice(0, 200) : undefined, key, trade,
      },
    };
  }
}

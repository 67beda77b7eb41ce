/**
 * Parser of Kraken's private WebSocket v2 `executions` channel (docs.kraken.com, "Spot WebSocket
 * v2 - Executions"): `{"channel":"executions","type":"snapshot"|"update","data":[...],"sequence":N}`
 * where each entry reports one order event named by `exec_type` (pending_new, new, trade,
 * filled, canceled, expired, amended, restated, status, iceberg_refill) with the order's state
 * in `order_status`, and for `trade` the execution (`exec_id`, `last_qty`, `last_price`,
 * `liquidity_ind`, `fees`). Also the subscribe acknowledgement or error, heartbeat, status and pong.
 *
 * Quantities and prices are bare JSON numbers on Kraken's wire. JSON.parse would turn them into
 * doubles, so before parsing every number outside a string is rewritten as a marked string
 * holding its exact source text; zod then checks the shape, and each value becomes an exact
 * decimal string (exponent form expanded), checked against the instrument's grid.
 *
 * Hostile-input safe: never throws; a frame that is unreadable, of the wrong shape, holds an
 * unknown exec_type, or a value off the grid is rejected whole and counted by reason.
 * The channel is account-wide: its snapshot and updates name every pair the account trades,
 * also pairs this venue does not configure (an order placed by hand, another program on the same
 * key). An event on such a pair is normal activity, not hostile input: checked for shape like
 * any other, then left out of the frame and counted (`foreign`); none of our orders is on a pair
 * we do not configure. Refused whole, every frame naming one would keep the stream from ever
 * going live (a reconnect, a fresh token and a REST read of every working order, over and over).
 * Events that name no symbol (Kraken's cancel and expiry events) are held to exact decimals
 * here and to the order's grid by the execution client (the adapter kit's OrderUpdateSink.execution),
 * which also leaves out events about orders it does not follow.
 * A rejected executions frame may have carried a fill: the stream answers it with a REST
 * reconcile, so nothing is lost and nothing unvalidated is applied.
 */
import { addDecimalStrings, rfc3339Ms, type PushedExecution, type VenueFill, type VenueOrderView } from '@cwts/core/adapter-kit';
import { decimalToUnits, type Instrument } from '@cwts/core';
import { z } from 'zod';

/** Marker that starts a number rewritten as a string (a NUL cannot appear raw in JSON text). */
const NUM = '\u0000';
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
/** Bound on a frame: the snapshot (open orders + 50 trades) is far below it. */
export const MAX_EXECUTIONS_FRAME = 8 << 20;

/** Nesting bound: an executions frame nests 4 deep; anything far deeper is refused unparsed. */
const MAX_DEPTH = 16;

/**
 * The text with every number outside a string turned into `"\u0000<number text>"`, or
 * undefined when it nests deeper than MAX_DEPTH. Linear, no recursion. Anything that is not
 * JSON stays not JSON (JSON.parse refuses it after).
 */
export function quoteJsonNumbers(text: string): string | undefined {
  let out = '';
  let from = 0;
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; ) {
    const c = text.charCodeAt(i);
    if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > MAX_DEPTH) return undefined;
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
    if (c === 34 /* " */) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i += 2;
        else if (d === 34) break;
        else i++;
      }
      i++;
      continue;
    }
    if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if ((d >= 48 && d <= 57) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45) i++;
        else break;
      }
      out += `${text.slice(from, start)}"\\u0000${text.slice(start, i)}"`;
      from = i;
      continue;
    }
    i++;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** A JSON number's exact text as a plain decimal string ("5e-08" -> "0.00000005"), or undefined. */
export function numberTextToDecimal(t: string): string | undefined {
  if (!JSON_NUMBER.test(t) || t.length > 64) return undefined;
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(t)!;
  if (m[4] === undefined) return t;
  const exp = Number(m[4]);
  if (exp > 40 || exp < -40) return undefined;
  const digits = m[2]! + (m[3] ?? '');
  const point = m[2]!.length + exp;
  const plain = point <= 0 ? `0.${'0'.repeat(-point)}${digits}` : point >= digits.length ? digits + '0'.repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return m[1] + plain.replace(/^0+(?=\d)/, '');
}

/** A bare JSON number (marked by quoteJsonNumbers) as an exact decimal string; a JSON string is refused. */
const Num = z
  .string()
  .refine((s) => s.startsWith(NUM), 'expected a number')
  .transform((s, ctx) => {
    const d = numberTextToDecimal(s.slice(1));
    if (d === undefined) {
      ctx.addIssue({ code: 'custom', message: 'not a JSON number' });
      return z.NEVER;
    }
    return d;
  });
const Int = Num.refine((d) => /^\d{1,15}$/.test(d), 'expected a non-negative integer').transform(Number);
const Text = (max: number) => z.string().min(1).max(max).refine((s) => !s.startsWith(NUM), 'expected a string');

export const EXEC_TYPES = ['pending_new', 'new', 'trade', 'filled', 'iceberg_refill', 'canceled', 'expired', 'amended', 'restated', 'status'] as const;
export const ORDER_STATUSES = ['pending_new', 'new', 'partially_filled', 'filled', 'canceled', 'expired'] as const;

const ExecutionEntry = z.object({
  exec_type: z.enum(EXEC_TYPES),
  order_id: Text(64),
  cl_ord_id: Text(64).nullish(),
  symbol: Text(32).optional(),
  order_status: z.enum(ORDER_STATUSES).optional(),
  cum_qty: Num.optional(),
  order_qty: Num.optional(),
  exec_id: Text(64).optional(),
  last_qty: Num.optional(),
  last_price: Num.optional(),
  liquidity_ind: z.enum(['m', 't']).optional(),
  fees: z.array(z.object({ asset: Text(16), qty: Num })).max(8).optional(),
  timestamp: Text(40),
  reason: z.string().max(200).nullish(),
});
const ExecutionsMessage = z.object({
  channel: z.literal('executions'),
  type: z.enum(['snapshot', 'update']),
  data: z.array(z.unknown()).max(100_000),
  sequence: Int.optional(),
});
const MethodAnswer = z.object({
  method: Text(40),
  success: z.boolean().optional(),
  error: z.string().max(500).optional(),
  result: z.object({ channel: z.string().max(40).optional() }).passthrough().optional(),
  req_id: Int.optional(),
});

export type ExecutionsMessageKind =
  /** `foreign`: events of the frame left out, on pairs this venue does not configure. */
  | { kind: 'executions'; snapshot: boolean; sequence: number | undefined; events: PushedExecution[]; foreign: number }
  | { kind: 'subscribed'; reqId: number | undefined }
  | { kind: 'subscribe-failed'; error: string; reqId: number | undefined }
  | { kind: 'heartbeat' | 'status' | 'pong' | 'other' }
  | { kind: 'rejected'; reason: string; message: string };

const STATE: Record<(typeof ORDER_STATUSES)[number], VenueOrderView['state']> = {
  pending_new: 'pending', new: 'open', partially_filled: 'open', filled: 'filled', canceled: 'cancelled', expired: 'expired',
};

/** What `event` makes of an event on a pair this venue does not configure. */
const FOREIGN = Symbol('foreign pair');

/**
 * One parser per private connection's consumer. `instrument` resolves a v2 symbol ("BTC/USD");
 * an event naming a symbol it does not know is on another pair of the account: left out, counted.
 */
export class KrakenExecutionsParser {
  frames = 0;
  rejected = 0;
  /** Well-formed events left out because their pair is not configured here (see the file comment). */
  foreign = 0;
  /** Trades passed on without their fill because they carried no `fees` (REST books them). */
  feeless = 0;
  /** Rejections by reason (unreadable, shape, unknown_exec_type, off_grid, ...). */
  readonly rejects = new Map<string, number>();

  constructor(private readonly instrument: (symbol: string) => Instrument | undefined) {}

  /** Does this text look like a frame of the executions channel (or its subscribe answer)? */
  static claims(text: string): boolean {
    return /"channel"\s*:\s*"executions"/.test(text);
  }

  private reject(reason: string, message: string): ExecutionsMessageKind {
    this.rejected++;
    this.rejects.set(reason, (this.rejects.get(reason) ?? 0) + 1);
    return { kind: 'rejected', reason, message };
  }

  /** A binary frame: Kraken sends text only. */
  binary(bytes: number): ExecutionsMessageKind {
    this.frames++;
    return this.reject('binary', `a binary frame of ${bytes} bytes`);
  }

  parse(text: string): ExecutionsMessageKind {
    this.frames++;
    try {
      return this.parseFrame(text);
    } catch (err) {
      // nothing above should throw; a bug here must not take the stream down
      return this.reject('internal', `parser error: ${(err as Error)?.message ?? String(err)}`.slice(0, 200));
    }
  }

  private parseFrame(text: string): ExecutionsMessageKind {
    if (typeof text !== 'string' || text.length === 0 || text.length > MAX_EXECUTIONS_FRAME) return this.reject('unreadable', 'empty or oversized frame');
    const quoted = quoteJsonNumbers(text);
    if (quoted === undefined) return this.reject('unreadable', 'frame nests too deep');
    let root: unknown;
    try {
      root = JSON.parse(quoted);
    } catch {
      return this.reject('unreadable', 'frame is not JSON');
    }
    if (root === null || typeof root !== 'object' || Array.isArray(root)) return this.reject('unreadable', 'frame is not a JSON object');
    const o = root as Record<string, unknown>;
    if (o.method !== undefined) return this.answer(o);
    if (o.channel === 'heartbeat' && Object.keys(o).length === 1) return { kind: 'heartbeat' };
    if (o.channel === 'status') return { kind: 'status' };
    if (o.channel !== 'executions') return this.reject('unknown_message', `unknown channel ${JSON.stringify(o.channel)?.slice(0, 40)}`);
    const msg = ExecutionsMessage.safeParse(o);
    if (!msg.success) return this.reject('shape', `executions frame: ${issueText(msg.error)}`);
    const events: PushedExecution[] = [];
    let foreign = 0;
    let feeless = 0;
    for (let k = 0; k < msg.data.data.length; k++) {
      const e = ExecutionEntry.safeParse(msg.data.data[k]);
      if (!e.success) return this.reject(unknownTypeOf(msg.data.data[k]) ? 'unknown_exec_type' : 'shape', `executions entry ${k}: ${issueText(e.error)}`);
      const ev = this.event(e.data);
      if (ev === FOREIGN) foreign++;
      else if (typeof ev === 'string') return this.reject(ev.split(':')[0]!, `executions entry ${k}: ${ev}`);
      else {
        if (e.data.exec_type === 'trade' && !ev.fill) feeless++;
        events.push(ev);
      }
    }
    // counted once the frame is taken: a frame refused for another entry leaves out nothing
    this.foreign += foreign;
    this.feeless += feeless;
    return { kind: 'executions', snapshot: msg.data.type === 'snapshot', sequence: msg.data.sequence, events, foreign };
  }

  private answer(o: Record<string, unknown>): ExecutionsMessageKind {
    const a = MethodAnswer.safeParse(o);
    if (!a.success) return this.reject('shape', `method answer: ${issueText(a.error)}`);
    if (a.data.method === 'pong') return { kind: 'pong' };
    if (a.data.method !== 'subscribe') return { kind: 'other' };
    if (a.data.success === true && a.data.result?.channel === 'executions') return { kind: 'subscribed', reqId: a.data.req_id };
    if (a.data.success === false) return { kind: 'subscribe-failed', error: a.data.error ?? 'subscribe refused', reqId: a.data.req_id };
    return this.reject('shape', 'subscribe answer without success or channel');
  }

  /**
   * One entry as a PushedExecution, FOREIGN when it is on a pair not configured here, or the
   * reason it is refused ("reason: detail").
   */
  private event(e: z.output<typeof ExecutionEntry>): PushedExecution | typeof FOREIGN | string {
    const i = e.symbol !== undefined ? this.instrument(e.symbol) : undefined;
    // Another pair of the account: its values have no grid here, but a negative one is no
    // venue's data (checked below like any other event's), so only a sound entry is left out
    const foreign = e.symbol !== undefined && !i;
    const onGrid = (v: string, scale: 'qty' | 'price', what: string, positive: boolean): string | undefined => {
      if (v.startsWith('-')) return `negative: ${what} ${v}`;
      if (!i) return undefined;
      try {
        const u = decimalToUnits(v, scale === 'qty' ? i.qtyScale : i.priceScale, what);
        if (positive && !(u > 0)) return `non_positive: ${what} ${v}`;
        if (!Number.isSafeInteger(u)) return `off_grid: ${what} ${v}`;
      } catch {
        return `off_grid: ${what} ${v}`;
      }
      return undefined;
    };
    const bad =
      (e.cum_qty !== undefined ? onGrid(e.cum_qty, 'qty', 'cum_qty', false) : undefined) ??
      (e.order_qty !== undefined ? onGrid(e.order_qty, 'qty', 'order_qty', true) : undefined);
    if (bad) return bad;
    if (foreign) {
      if (e.exec_type !== 'trade') return FOREIGN;
      // a trade is whole on any pair: the fields that make it one, none negative
      if (e.exec_id === undefined || e.last_qty === undefined || e.last_price === undefined) return 'shape: a trade without exec_id, last_qty or last_price';
      return onGrid(e.last_qty, 'qty', 'last_qty', true) ?? onGrid(e.last_price, 'price', 'last_price', true) ?? FOREIGN;
    }
    const ev: PushedExecution = { venueOrderId: e.order_id };
    if (e.cl_ord_id) ev.clientOrderId = e.cl_ord_id;
    if (e.cum_qty !== undefined) ev.filledQty = e.cum_qty;
    if (e.reason) ev.text = `kraken: ${e.reason}`;
    // the order's state; an exec_type that closes the order says so even when order_status lags
    let state: VenueOrderView['state'] | undefined = e.order_status ? STATE[e.order_status] : undefined;
    if (e.exec_type === 'filled') state = 'filled';
    else if (e.exec_type === 'canceled') state = 'cancelled';
    else if (e.exec_type === 'expired') state = 'expired';
    if (state) ev.state = state;
    if (e.exec_type !== 'trade') return ev;
    // a trade: every field of the execution is needed to apply it
    if (!i || e.symbol === undefined) return 'shape: a trade without a symbol';
    if (e.exec_id === undefined || e.last_qty === undefined || e.last_price === undefined) return 'shape: a trade without exec_id, last_qty or last_price';
    const badTrade = onGrid(e.last_qty, 'qty', 'last_qty', true) ?? onGrid(e.last_price, 'price', 'last_price', true);
    if (badTrade) return badTrade;
    const ts = rfc3339Ms(e.timestamp, 0, e.timestamp.length);
    if (!(ts > 0)) return `shape: unreadable timestamp ${e.timestamp.slice(0, 40)}`;
    // A trade without `fees` says how much the order filled but not what it cost. Booked from
    // here with fee 0, the REST read of the same trade (QueryTrades, with its real fee) would be
    // a duplicate by trade id and the fee never booked. The event goes on without its fill, as
    // the stream already does with a snapshot's fills from before the start: its state and
    // cum_qty are sound (checked above), and refused as `shape` like a trade without exec_id, it
    // would throw away the rest of the frame too (a snapshot's other fills and open orders). A
    // cum_qty above what is booked, or a `filled` state, reads the order's trades over REST at
    // once; without either, the next poll does. Kraken writes no fee as
    // `fees: [{asset, qty: 0}]`: that trade is still booked from the push.
    if (e.fees === undefined || e.fees.length === 0) return ev;
    const fee = feeOf(e.fees);
    if (typeof fee === 'string') return fee;
    const fill: VenueFill = { tradeId: e.exec_id, venueOrderId: e.order_id, symbol: i.symbol, price: e.last_price, qty: e.last_qty, fee: fee.amount, feeAsset: fee.asset, ts };
    if (e.liquidity_ind) fill.liquidity = e.liquidity_ind === 'm' ? 'maker' : 'taker';
    ev.fill = fill;
    return ev;
  }
}

/** The trade's fee as one amount in one asset (entries in the same asset summed exactly). */
function feeOf(fees: { asset: string; qty: string }[]): { amount: string; asset: string } | string {
  const asset = fees[0]!.asset;
  let amount = '0';
  for (const f of fees) {
    if (f.asset !== asset) return `shape: fees in two assets (${asset}, ${f.asset.slice(0, 16)})`;
    amount = addDecimalStrings(amount, f.qty);
  }
  return { amount, asset };
}

function unknownTypeOf(entry: unknown): boolean {
  const t = (entry as { exec_type?: unknown } | null)?.exec_type;
  return typeof t === 'string' && !(EXEC_TYPES as readonly string[]).includes(t);
}

function issueText(err: z.ZodError): string {
  const i = err.issues[0];
  return i ? `${i.path.join('.') || '(root)'}: ${i.message}`.slice(0, 200) : 'invalid';
}

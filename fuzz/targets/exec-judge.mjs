/**
 * What the execution-reader targets (bybit-exec, ccxt-exec) share: a venue answer decoded as ccxt
 * decodes a REST body, and the judge of the ExecutionReports an execution client hands the engine.
 *
 * The judge holds every report to what the engine may trust: a fill of exact, positive whole
 * lots and ticks, its trade id once, its cumulative quantity the sum of the order's fills and
 * never past the order's size, nothing after the order's end. It also tells whether a report
 * matches the venue model (`consistent`): a mutated answer may carry a believable lie (another
 * trade id, an earlier cancel), which a reader cannot tell from the truth; the order is then
 * `tainted` and only the invariants, not the read-back, hold for it.
 */
import { FuzzFailure } from '../failure.mjs';

const QUOTE_JSON_NUMBERS = /":([+.0-9eE-]+)(?=[,}])/g;

const unsafe = (v) => {
  if (typeof v === 'number') return v > Number.MAX_SAFE_INTEGER || v < -Number.MAX_SAFE_INTEGER;
  if (v !== null && typeof v === 'object') return Object.values(v).some(unsafe);
  return false;
};

/**
 * A REST body as ccxt's handleRestResponse reads it (ccxt 4.5: parseJson, then the raw text when
 * that is not JSON; numbers past 2^53 quoted as strings). Bybit's handleErrors throws for a
 * retCode that is not 0 (`checkRetCode`).
 */
export function ccxtBody(text, venue, checkRetCode) {
  const body = text.trim();
  let parsed;
  if (body[0] === '{' || body[0] === '[') {
    try {
      parsed = JSON.parse(body);
      if (unsafe(parsed)) parsed = JSON.parse(body.replace(QUOTE_JSON_NUMBERS, '":"$1"'));
    } catch {
      parsed = undefined;
    }
  }
  if (checkRetCode && parsed !== undefined) {
    const raw = parsed?.retCode ?? parsed?.ret_code;
    const code = raw === undefined || raw === null ? undefined : typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw : undefined;
    if (code !== '0') throw Object.assign(new Error(`${venue} ${body.slice(0, 300)}`), { name: 'ExchangeError' });
  }
  const defined = parsed !== undefined && parsed !== null && parsed !== false && parsed !== 0 && parsed !== '';
  return defined ? parsed : body;
}

/** Per client order id: what the engine has been told. */
export class ReportJudge {
  constructor() {
    this.orders = new Map();
    this.tradeIds = new Set();
  }

  /** Follow `o` (the order as submitted: clientOrderId, qty in lots) under the model's venue id. */
  expect(o, venueOrderId) {
    this.orders.set(o.clientOrderId, { qty: o.qty, venueOrderId, cum: 0, fills: 0, final: undefined, acked: false, tainted: false });
  }

  state(cid) {
    return this.orders.get(cid);
  }

  /**
   * Checks one report; returns whether it matches the model (`model.trade(id)`: the model's trade
   * of that id `{ lots, ticks }` or undefined; `model.final`: the end the model reached, if any).
   */
  check(r, model, text) {
    const where = () => `${JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 300)} after ${String(text).slice(0, 200)}`;
    const fail = (what) => {
      throw new FuzzFailure('invalid-event', `${what}: ${where()}`);
    };
    const s = this.orders.get(r.clientOrderId);
    if (!s) fail('a report about an order never submitted');
    if (s.final !== undefined && !(r.kind === 'rejected' && r.rejects === 'request')) fail(`a ${r.kind} report after the order ended (${s.final})`);
    if (r.kind === 'ack') {
      if (typeof r.venueOrderId !== 'string' || r.venueOrderId === '') fail('an ack without a venue order id');
      const first = !s.acked;
      s.acked = true;
      return first && r.venueOrderId === s.venueOrderId;
    }
    if (r.kind === 'fill') {
      if (!Number.isSafeInteger(r.lastQty) || r.lastQty <= 0) fail(`a fill of ${r.lastQty} lots`);
      if (!Number.isSafeInteger(r.lastPrice) || r.lastPrice <= 0) fail(`a fill at ${r.lastPrice} ticks`);
      if (typeof r.feeAtoms !== 'bigint') fail(`fee ${r.feeAtoms}`);
      if (!Number.isFinite(r.ts)) fail(`fill time ${r.ts}`);
      if (r.tradeId !== undefined) {
        if (typeof r.tradeId !== 'string' || r.tradeId === '') fail(`trade id ${JSON.stringify(r.tradeId)}`);
        if (this.tradeIds.has(`${r.symbol}|${r.tradeId}`)) fail(`trade ${r.tradeId} reported twice`);
        this.tradeIds.add(`${r.symbol}|${r.tradeId}`);
      }
      if (r.cumQty !== s.cum + r.lastQty) fail(`cumQty ${r.cumQty} after ${s.cum} + ${r.lastQty}`);
      if (r.cumQty > s.qty) fail(`filled ${r.cumQty} of ${s.qty} lots`);
      if (r.leavesQty !== s.qty - r.cumQty) fail(`leavesQty ${r.leavesQty} of ${s.qty} - ${r.cumQty}`);
      s.cum = r.cumQty;
      s.fills++;
      if (s.cum === s.qty) s.final = 'filled';
      const t = r.tradeId === undefined ? undefined : model.trade(r.tradeId);
      return t !== undefined && t.lots === r.lastQty && t.ticks === r.lastPrice && r.venueOrderId === s.venueOrderId;
    }
    if (r.kind === 'cancelled' || r.kind === 'expired' || r.kind === 'rejected') {
      // a refused cancel changes nothing: the client reads the order again
      if (r.kind === 'rejected' && r.rejects === 'request') return true;
      if (r.cumQty !== s.cum) fail(`an end at cumQty ${r.cumQty} after fills of ${s.cum} lots`);
      if (r.leavesQty !== 0) fail(`an end leaving ${r.leavesQty} lots`);
      s.final = r.kind;
      return model.final === r.kind && model.cum === s.cum;
    }
    fail(`report kind ${r.kind}`);
  }
}

/** Every Order of an openOrders listing must be one the engine can hold. */
export function checkListed(o, qtyMax, text) {
  const fail = (what) => {
    throw new FuzzFailure('invalid-event', `a listed order ${what}: ${JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 300)} from ${String(text).slice(0, 200)}`);
  };
  // qty 0 (a listing without an amount) is what the engine's check of a listed order refuses
  if (!Number.isSafeInteger(o.qty) || o.qty < 0 || o.qty > qtyMax) fail(`of ${o.qty} lots`);
  if (!Number.isSafeInteger(o.filledQty) || o.filledQty < 0 || o.filledQty > o.qty) fail(`filled ${o.filledQty} of ${o.qty} lots`);
  // a price of 0 or below is the venue's, handed on: the engine's check refuses it
  if (o.price !== undefined && !Number.isSafeInteger(o.price)) fail(`at ${o.price} ticks`);
  if (typeof o.venueOrderId !== 'string' || o.venueOrderId === '' || typeof o.clientOrderId !== 'string' || o.clientOrderId === '') fail('without ids');
}

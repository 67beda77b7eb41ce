/**
 * ccxt-exec: the unified order and trade structures a ccxt exchange hands back (createOrder,
 * cancelOrder, fetchOrder, fetchOpenOrders, fetchOrders, fetchMyTrades; shapes of ccxt 4.5's
 * safeOrder and safeTrade) through the adapter's own CcxtExecution. A venue model runs order
 * lifecycles (place, trades polled, cancels) and the reconciliation reads a restart makes
 * (queryOrder, tradesSince, openOrders). Each fuzz frame is one step with one method's answer
 * mutated (the generic JSON mutations, NaN and Infinity included, plus what a ccxt venue gets
 * wrong: a trade listed twice under one id or two, filled past the amount, a status ccxt does
 * not know, amounts as strings, ids missing), then the same step answered clean. Findings:
 * anything thrown out of the client (crash), a report the engine must not get (a fill that is
 * not positive whole lots and ticks, a trade twice, a cumulative quantity past the order or not
 * the sum of its fills, anything after the end; invalid-event), a listing's order the engine
 * cannot hold, an answer that is no list read as one that lost entries, and a clean answer after
 * a mutated one not brought to the venue's state (lost-data).
 */
import { defineInstrument } from '@cwts/core';
import { CcxtExecution, resolveCcxtOptions } from '@cwts/exchange-ccxt';
import { FuzzFailure } from '../failure.mjs';
import { OrderVenueModel, createExecTarget, working } from './exec-common.mjs';

export { execCoverage as coverage } from './exec-common.mjs';

export const description = 'ccxt unified orders and trades -> CcxtExecution: exact lots and ticks, each trade once, no overfill, unknown statuses';

const SYMBOL = 'BTCUSDT';
const CCXT_SYMBOL = 'BTC/USDT';
const BTC = defineInstrument({ exchange: 'x', symbol: SYMBOL, base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });
const OPTIONS = resolveCcxtOptions({ poll_interval_ms: 600_000, orders_per_interval: 100_000 });

/** ccxt's class names, by which the client maps what a call threw. */
class OrderNotFound extends Error {}
class BadResponse extends Error {}

/** ccxt's numberToString (base/functions/number.js): numbers without the exponent form. */
function numberToString(x) {
  if (x === undefined) return undefined;
  if (typeof x !== 'number') return x.toString();
  const s = x.toString();
  if (s.indexOf('e') < 0) return s;
  if (Math.abs(x) < 1.0) {
    const [m, e] = s.split('e-');
    const n = m.replace('.', '');
    const k = parseInt(e);
    const neg = s[0] === '-';
    if (k) return (neg ? '-' : '') + '0.' + new Array(k).join('0') + n.substring(neg);
  } else {
    const parts = s.split('e');
    if (parts[1]) {
      let e = parseInt(parts[1]);
      const m = parts[0].split('.');
      let part = '';
      if (m[1]) {
        e -= m[1].length;
        part = m[1];
      }
      return m[0] + part + new Array(e + 1).join('0');
    }
  }
  return s;
}

/** Units as the float ccxt makes of the venue's decimal. */
const num = (units, d) => Number(`${units}e-${d}`);
const ROUND = (x) => Math.round(x * 1e10) / 1e10;

class VenueModel extends OrderVenueModel {
  constructor(rng) {
    super(rng);
    this.trades = 9_100_000;
  }
  start() {
    const r = this.rng;
    const n = ++this.n;
    // now and then an amount past 2^53 units of a float's exact integers: ccxt's float is exact
    // only to 15-16 significant digits, and the lot count must come out exact or not at all
    const lots = r.chance(0.1) ? 100_000_000_000 + r.int(900_000_000_000) : 1 + r.int(500_000);
    this.o = { n, id: String(7_000_000_000 + n), cid: `cwts-${n}`, side: r.chance(0.5) ? 'buy' : 'sell', lots, ticks: 6_000_000 + r.int(100_000), status: 'open', cum: 0, trades: [], created: this.t, final: undefined };
  }
  trade() {
    const o = this.o;
    const r = this.rng;
    const lots = this.takeFill();
    o.trades.push({ id: String(++this.trades), lots, ticks: o.ticks, fee: 1 + r.int(10_000), ts: this.t, maker: r.chance(0.5) });
    if (o.cum === o.lots) {
      o.status = 'closed';
      o.final = 'filled';
    }
  }
  cancel() {
    this.o.status = 'canceled';
    this.o.final = 'cancelled';
  }
}

function orderObj(s, status = s.status) {
  const amount = num(s.lots, 5);
  const filled = num(s.cum, 5);
  const price = num(s.ticks, 2);
  return {
    id: s.id, clientOrderId: s.cid, timestamp: s.created, datetime: new Date(s.created).toISOString(), lastTradeTimestamp: s.trades.at(-1)?.ts, lastUpdateTimestamp: s.t,
    symbol: CCXT_SYMBOL, type: 'limit', timeInForce: 'GTC', postOnly: false, reduceOnly: undefined, side: s.side, price, triggerPrice: undefined, amount,
    cost: ROUND(filled * price), average: s.cum > 0 ? price : undefined, filled, remaining: num(s.lots - s.cum, 5), status, fee: undefined, trades: [], fees: [], info: { orderId: Number(s.id), clientOrderId: s.cid },
  };
}

function tradeObj(s, t) {
  const amount = num(t.lots, 5);
  const price = num(t.ticks, 2);
  const fee = { cost: num(t.fee, 4), currency: 'USDT' };
  return {
    id: t.id, info: { id: Number(t.id), orderId: Number(s.id) }, timestamp: t.ts, datetime: new Date(t.ts).toISOString(), symbol: CCXT_SYMBOL, order: s.id, type: 'limit', side: s.side,
    takerOrMaker: t.maker ? 'maker' : 'taker', price, amount, cost: ROUND(amount * price), fee, fees: [fee],
  };
}

/** What each unified method answers for the order in `s` (as JSON text: the frame). */
function answer(s, method, a = {}) {
  if (method === 'create') return JSON.stringify(orderObj(s, 'open'));
  if (method === 'cancel') return JSON.stringify(orderObj(s));
  if (method === 'order') return JSON.stringify(orderObj(s));
  if (method === 'open') return JSON.stringify(working(s) ? [orderObj(s)] : []);
  if (method === 'history') return JSON.stringify([orderObj(s)].filter((o) => a.since === undefined || o.timestamp >= a.since));
  // oldest first from `since`, as ccxt pages them
  return JSON.stringify(s.trades.filter((t) => a.since === undefined || t.ts >= a.since).map((t) => tradeObj(s, t)));
}

/** JSON with ccxt's non-JSON numbers (NaN, Infinity) where a mutation wrote them bare. */
function decode(text) {
  const marked = text.replace(/("(?:[^"\\]|\\.)*")|(-?Infinity|NaN)\b/g, (m, str, tok) => (str !== undefined ? str : `"\u0001${tok}"`));
  return JSON.parse(marked, (_k, v) => (typeof v === 'string' && v[0] === '\u0001' ? Number(v.slice(1)) : v));
}

/** What a ccxt venue gets wrong, beyond the generic mutations (on the answer's parsed value). */
function ccxtMutate(rng, text) {
  const v = JSON.parse(text);
  const items = Array.isArray(v) ? v : [v];
  if (items.length === 0) return [text, 'ccxt-none'];
  const x = rng.pick(items);
  const op = rng.int(9);
  if (op === 0 && Array.isArray(v)) v.push(structuredClone(x)); // one trade listed twice, one id
  else if (op === 1 && Array.isArray(v)) v.push({ ...structuredClone(x), id: `${x.id}-2` }); // and under two
  else if (op === 2) x.filled = (x.amount ?? 1) * rng.pick([2, 1.5, 1.00001]);
  else if (op === 3) x.status = rng.pick(['new', 'partially_filled', 'PENDING', 'expired', 'rejected', 'cancelled', 'closed', '', 'NaN']);
  else if (op === 4) for (const k of ['amount', 'price', 'filled']) if (typeof x[k] === 'number') x[k] = String(x[k]);
  else if (op === 5) delete x[rng.pick(['id', 'order', 'amount', 'price', 'filled', 'status', 'side', 'timestamp', 'clientOrderId'])];
  else if (op === 6) x[rng.pick(['amount', 'price', 'filled'])] = rng.pick([-0.001, 0, 1e308, 9007199254740993, 0.000001, 123456789.123456789]);
  else if (op === 7) x.timestamp = rng.pick([0, -1, 1e20, 'x']);
  else x.id = rng.pick([null, '', 0, 7, x.id === undefined ? 'x' : Number(x.id) + 1]);
  return [JSON.stringify(v), `ccxt-${op}`];
}

/** Is `text` a list answer (what a reader may take as "these and no others")? */
function isList(text) {
  try {
    const v = decode(text);
    return Array.isArray(v) && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x));
  } catch {
    return false;
  }
}

/** A ccxt exchange as the client uses it: each method answers the model, or the frame's mutated text. */
class FakeCcxt {
  constructor() {
    this.id = 'x';
    this.has = { fetchOrders: true };
    this.markets_by_id = { [SYMBOL]: [{ id: SYMBOL, symbol: CCXT_SYMBOL, base: 'BTC', quote: 'USDT', precision: {} }] };
    this.s = undefined;
    this.mutation = undefined;
  }
  reply(method, a, check) {
    const m = this.mutation;
    const text = m !== undefined && m.call === method ? m.text : answer(this.s, method, a);
    return Promise.resolve().then(() => {
      let v;
      try {
        v = decode(text);
      } catch (err) {
        throw new BadResponse(`x ${String(err?.message).slice(0, 100)}`);
      }
      check?.(v);
      return v;
    });
  }
  createOrder() {
    return this.reply('create');
  }
  cancelOrder(id, sym) {
    return this.reply('cancel', {}, () => {
      if (id !== this.s.id || sym !== CCXT_SYMBOL) throw new OrderNotFound(`x order ${id} not found`);
    });
  }
  fetchOrder(id, sym, params) {
    const m = this.mutation;
    const asked = id !== '' ? id === this.s.id : params?.clientOrderId === this.s.cid;
    if (!(m !== undefined && m.call === 'order') && (!asked || sym !== CCXT_SYMBOL)) return Promise.reject(new OrderNotFound(`x order ${id} not found`));
    return this.reply('order');
  }
  fetchOpenOrders(sym) {
    return sym === CCXT_SYMBOL || this.mutation?.call === 'open' ? this.reply('open') : Promise.resolve([]);
  }
  fetchOrders(sym, since) {
    return sym === CCXT_SYMBOL || this.mutation?.call === 'history' ? this.reply('history', { since }) : Promise.resolve([]);
  }
  fetchMyTrades(sym, since) {
    return sym === CCXT_SYMBOL || this.mutation?.call === 'trades' ? this.reply('trades', { since }) : Promise.resolve([]);
  }
  fetchBalance() {
    return Promise.resolve({ total: {} });
  }
  numberToString(n) {
    return numberToString(n);
  }
}

const MUTATED = {
  place: [['create', 0.85], ['open', 1]],
  poll: [['order', 0.5], ['trades', 1]],
  cancel: [['cancel', 0.4], ['order', 0.7], ['trades', 1]],
  query: [['order', 0.45], ['trades', 0.8], ['open', 0.9], ['history', 1]],
  since: [['trades', 0.7], ['order', 1]],
  open: [['open', 1]],
};

/**
 * @param {{ seed: number, patch?: (client: CcxtExecution) => void }} o `patch`: breaks the client
 * (fuzz/test-targets: proves the target catches a broken reader)
 */
export async function create({ seed, patch }) {
  return createExecTarget(seed, ({ rng, mut }) => ({
    Venue: VenueModel,
    exchange: 'x',
    symbol: SYMBOL,
    mutatedCalls: MUTATED,
    mutated(s, step, method) {
      const text = answer(s, method);
      const kind = `${step}-${method}`;
      if (rng.chance(0.15)) {
        const [out, op] = ccxtMutate(rng, text);
        mut.ops.set(op, (mut.ops.get(op) ?? 0) + 1);
        return out;
      }
      return mut.mutate(text, kind);
    },
    newFake: () => new FakeCcxt(),
    newClient(fake, clock) {
      const c = new CcxtExecution({
        exchange: 'x', ccxt: async () => fake, options: OPTIONS, clock, hasCredentials: true,
        instrument: (s) => (s === SYMBOL ? BTC : undefined), ccxtSymbol: (s) => (s === SYMBOL ? CCXT_SYMBOL : undefined),
      });
      patch?.(c);
      return c;
    },
    act(run, f, engineOrder) {
      if (f.step === 'place' && !f.clean) run.client.submit(engineOrder(f.s, false));
      // the clean answer to a cancel the mutated answer already made: the venue has ended the
      // order (a second cancel is refused), so the clean run reads it; unless the client still
      // follows it, when its cancel goes out again
      // the engine cancels only an order it holds working (a mutated answer may have ended it)
      else if (f.step === 'cancel' && run.judge.state(f.s.cid).final === undefined && (!f.clean || run.client.tracked.has(f.s.cid))) run.client.cancel(engineOrder(f.s, true));
      else return run.client.poll();
    },
    parse: decode,
    isList,
    listName: 'list',
    tradeListCall: 'trades',
    namesReads: false,
    // by venue id the client asks fetchOrder, which answers this order or throws
    unknownOrderMisread: (f, listOk) => (f.byVenueId || !listOk || (f.call !== 'open' && f.call !== 'history') ? 'queryOrder read "the venue does not know the order" from an answer that does not say so' : undefined),
    checkSinceFill(r, seen, where) {
      // a side the venue did not give is handed over as it came: the engine's check of a fill refuses it
      if (r.tradeId !== undefined && (typeof r.tradeId !== 'string' || r.tradeId === '' || seen.has(r.tradeId))) throw new FuzzFailure('invalid-event', `tradesSince handed over trade ${JSON.stringify(r.tradeId)} twice: ${where()}`);
    },
    afterSince(f, fills, mutated, where) {
      if (!mutated && fills.some((r) => r.clientOrderId !== f.s.cid)) throw new FuzzFailure('lost-data', `tradesSince handed over a clean trade under client id ${fills.find((r) => r.clientOrderId !== f.s.cid).clientOrderId}: ${where()}`);
    },
    lostWorkingOrder: (mutated) => `openOrders left out the working order on an answer that is ${mutated ? 'no list' : 'clean'}`,
  }));
}

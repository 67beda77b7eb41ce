/**
 * bybit-exec: Bybit v5 REST answers (order/create, order/cancel, order/realtime and
 * order/history, execution/list; shapes from Bybit's v5 docs) through the adapter's own
 * BybitExecution: its BybitOrderDriver and the adapter kit's PolledExecutionClient, with ccxt
 * replaced by a stand-in that decodes each body as ccxt does (not JSON: the raw text; a retCode
 * other than 0: an ExchangeError). A venue model runs order lifecycles (place, trades polled,
 * cancels) and the reconciliation reads a restart makes (queryOrder, tradesSince, openOrders).
 * Each fuzz frame is one step with one endpoint's answer mutated, then the same step answered
 * clean. Findings: anything thrown out of the client (crash), a report the engine must not get
 * (a fill that is not positive whole lots and ticks, a trade twice, a cumulative quantity past the
 * order or not the sum of its fills, anything after the end; invalid-event), an answer that is
 * no v5 list read as one (an unknown order, a trade list or a listing that lost entries;
 * lost-data), and a clean answer after a mutated one not brought to the venue's state
 * (lost-data).
 */
import { defineInstrument } from '@cwts/core';
import { BybitExecution, bybitEndpoints, DEFAULT_BYBIT_OPTIONS } from '@cwts/exchange-bybit';
import { FuzzFailure } from '../failure.mjs';
import { ccxtBody } from './exec-judge.mjs';
import { OrderVenueModel, createExecTarget, working } from './exec-common.mjs';

export { execCoverage as coverage } from './exec-common.mjs';

export const description = 'Bybit v5 order/execution REST answers -> BybitExecution (driver + adapter kit): exact lots and ticks, each trade once, no overfill';

const SYMBOL = 'BTCUSDT';
const BTC = defineInstrument({ exchange: 'bybit', symbol: SYMBOL, base: 'BTC', quote: 'USDT', tickSize: '0.1', lotSize: '0.001' });
const OPTIONS = { ...DEFAULT_BYBIT_OPTIONS, poll_interval_ms: 600_000, query_requests_per_second: 1_000_000, orders_per_interval: 1_000_000 };

/** Bybit's decimal strings: prices at 2 decimals (tick 0.1), quantities at 3 (lot 0.001). */
const dec = (units, d) => {
  const s = String(units).padStart(d + 1, '0');
  return `${s.slice(0, s.length - d)}.${s.slice(s.length - d)}`;
};
const price = (ticks) => dec(ticks * 10, 2);
const qty = (lots) => dec(lots, 3);
const wrap = (result, t) => JSON.stringify({ retCode: 0, retMsg: 'OK', result, retExtInfo: {}, time: t });
const bybitSide = (side) => (side === 'buy' ? 'Buy' : 'Sell');

/** The venue: one order at a time (`id`: Bybit's orderId, `cid`: its orderLinkId), its trades (`id`: execId). */
class VenueModel extends OrderVenueModel {
  constructor(rng) {
    super(rng);
    this.seq = 4_688_002_127;
  }
  start() {
    const r = this.rng;
    const n = ++this.n;
    const lots = r.chance(0.1) ? 8_000_000_000_000_000 + r.int(1_000_000_000_000_000) : 1 + r.int(5000);
    this.o = {
      n, id: `${n.toString(16).padStart(8, '0')}-7c1e-4a8b-9d2f-${(this.seq + n).toString(16).padStart(12, '0')}`, cid: `cwts-${n}`, side: r.chance(0.5) ? 'buy' : 'sell',
      lots, ticks: 600_000 + r.int(10_000), status: 'New', cum: 0, trades: [], created: this.t, final: undefined,
    };
  }
  trade() {
    const o = this.o;
    const r = this.rng;
    const lots = this.takeFill();
    const t = { id: `${(0xe0000000 + o.n * 64 + o.trades.length).toString(16)}-4e2b-5a3c-8d1f-0a9b8c7d6e5f`, lots, ticks: o.ticks, fee: dec(1 + r.int(100_000), 4), ts: this.t, maker: r.chance(0.5), seq: ++this.seq };
    o.trades.push(t);
    o.status = o.cum === o.lots ? 'Filled' : 'PartiallyFilled';
    if (o.cum === o.lots) o.final = 'filled';
  }
  cancel() {
    const o = this.o;
    o.status = o.cum > 0 ? 'PartiallyFilledCanceled' : 'Cancelled';
    o.final = 'cancelled';
  }
}

function orderJson(s) {
  const leaves = s.final === undefined ? s.lots - s.cum : 0;
  return {
    orderId: s.id, orderLinkId: s.cid, blockTradeId: '', symbol: SYMBOL, price: price(s.ticks), qty: qty(s.lots), side: bybitSide(s.side), isLeverage: '', positionIdx: 0,
    orderStatus: s.status, cancelType: s.status.includes('Cancel') ? 'CancelByUser' : 'UNKNOWN', rejectReason: 'EC_NoError', avgPrice: s.cum > 0 ? price(s.ticks) : '0',
    leavesQty: qty(leaves), leavesValue: '0', cumExecQty: qty(s.cum), cumExecValue: '0', cumExecFee: '0', timeInForce: 'GTC', orderType: 'Limit', stopOrderType: '', orderIv: '',
    triggerPrice: '0.00', takeProfit: '0.00', stopLoss: '0.00', tpTriggerBy: '', slTriggerBy: '', triggerDirection: 0, triggerBy: '', lastPriceOnCreated: '', reduceOnly: false,
    closeOnTrigger: false, smpType: 'None', smpGroup: 0, smpOrderId: '', tpslMode: '', tpLimitPrice: '', slLimitPrice: '', placeType: '', createdTime: String(s.created), updatedTime: String(s.t),
  };
}

function execJson(s, t) {
  return {
    symbol: SYMBOL, orderId: s.id, orderLinkId: s.cid, side: bybitSide(s.side), orderPrice: price(s.ticks), orderQty: qty(s.lots), leavesQty: qty(s.lots - s.cum), createType: 'CreateByUser',
    orderType: 'Limit', stopOrderType: '', execFee: t.fee, execId: t.id, execPrice: price(t.ticks), execQty: qty(t.lots), execType: 'Trade', execValue: '0', execTime: String(t.ts),
    feeCurrency: '', isMaker: t.maker, feeRate: '0.0002', tradeIv: '', markIv: '', markPrice: price(s.ticks), indexPrice: '', underlyingPrice: '', blockTradeId: '', closedSize: '', seq: t.seq,
  };
}

/** The v5 body `endpoint` answers for the order in `s`, asked with `p`. */
function answer(s, endpoint, p) {
  if (endpoint === 'create' || endpoint === 'cancel') return wrap({ orderId: s.id, orderLinkId: s.cid }, s.t);
  if (endpoint === 'order') {
    const asked = p.orderId !== undefined || p.orderLinkId !== undefined;
    const hit = p.symbol === SYMBOL && (asked ? (p.orderId ?? s.id) === s.id && (p.orderLinkId ?? s.cid) === s.cid : working(s));
    return wrap({ nextPageCursor: '', category: 'linear', list: hit ? [orderJson(s)] : [] }, s.t);
  }
  if (endpoint === 'executions') {
    // newest first, as Bybit lists them
    const list = s.trades.filter((t) => p.symbol === SYMBOL && (p.orderId === undefined || p.orderId === s.id) && (p.startTime === undefined || t.ts >= p.startTime) && (p.endTime === undefined || t.ts <= p.endTime));
    return wrap({ nextPageCursor: '', category: 'linear', list: list.reverse().map((t) => execJson(s, t)) }, s.t);
  }
  return wrap({ list: [] }, s.t);
}

/** Is `text` a v5 list answer (what a reader may take as "these and no others")? */
function isV5List(text) {
  try {
    const b = ccxtBody(text, 'bybit', true);
    return b !== null && typeof b === 'object' && !Array.isArray(b) && b.result !== null && typeof b.result === 'object' && Array.isArray(b.result.list);
  } catch {
    return false;
  }
}

/** ccxt's bybit, as far as the driver uses it: each endpoint answers the model, or the frame's mutated text. */
class FakeBybit {
  constructor() {
    this.urls = { api: {} };
    this.s = undefined;
    this.mutation = undefined;
    this.calls = 0;
  }
  reply(endpoint, p) {
    this.calls++;
    const m = this.mutation;
    const text = m !== undefined && m.call === endpoint ? m.text : answer(this.s, endpoint, p ?? {});
    return Promise.resolve().then(() => ccxtBody(text, 'bybit', true));
  }
  privatePostV5OrderCreate(p) {
    return this.reply('create', p);
  }
  privatePostV5OrderCancel(p) {
    return this.reply('cancel', p);
  }
  privateGetV5OrderRealtime(p) {
    return this.reply('order', p);
  }
  privateGetV5OrderHistory(p) {
    return this.reply('order', p);
  }
  privateGetV5ExecutionList(p) {
    return this.reply('executions', p);
  }
  privateGetV5AccountWalletBalance() {
    return this.reply('wallet', {});
  }
  privateGetV5PositionList() {
    return this.reply('positions', {});
  }
}

/** Which endpoint a step's mutated answer stands in for. */
const MUTATED = {
  place: [['create', 0.85], ['order', 1]],
  poll: [['order', 0.5], ['executions', 1]],
  cancel: [['cancel', 0.4], ['order', 0.7], ['executions', 1]],
  query: [['order', 0.6], ['executions', 1]],
  since: [['executions', 0.7], ['order', 1]],
  open: [['order', 1]],
};

/**
 * @param {{ seed: number, patch?: (client: BybitExecution) => void }} o `patch`: breaks the client
 * (fuzz/test-targets: proves the target catches a broken reader)
 */
export async function create({ seed, patch }) {
  return createExecTarget(seed, ({ mut }) => ({
    Venue: VenueModel,
    exchange: 'bybit',
    symbol: SYMBOL,
    mutatedCalls: MUTATED,
    // a place frame mutates the create answer's text, whichever endpoint it then stands in for
    mutated: (s, step, endpoint) => (step === 'place' ? mut.mutate(answer(s, 'create', {}), 'create') : mut.mutate(answer(s, endpoint, { symbol: SYMBOL, orderId: s.id }), `${step}-${endpoint}`)),
    newFake: () => new FakeBybit(),
    newClient(fake, clock) {
      const c = new BybitExecution({
        exchange: 'bybit', endpoints: bybitEndpoints({ rest_url: 'http://127.0.0.1:1', market: 'usdm' }), options: OPTIONS, clock,
        apiKey: { isEmpty: false, reveal: () => 'k' }, apiSecret: { isEmpty: false, reveal: () => 's' }, instrument: (s) => (s === SYMBOL ? BTC : undefined), symbols: () => [SYMBOL],
      });
      // ccxt itself is never loaded: the driver gets the stand-in
      const d = c.driver;
      d.connect = async () => {
        d.queryTimers.reopen();
        d.ccxt = fake;
      };
      patch?.(c);
      return c;
    },
    /** The order's step on the live client (place, poll, cancel). */
    async act(run, f, engineOrder) {
      if (f.step === 'place') {
        if (f.clean) await run.client.reconcile('fuzz');
        else run.client.submit(engineOrder(f.s, false));
      } else if (f.step === 'poll') await run.client.reconcile('fuzz');
      // the engine cancels only an order it holds working (a mutated answer may have ended it)
      else if (run.judge.state(f.s.cid).final === undefined) run.client.cancel(engineOrder(f.s, true));
    },
    parse: (text) => ccxtBody(text, 'bybit', false),
    isList: isV5List,
    listName: 'v5 list',
    tradeListCall: 'executions',
    namesReads: true,
    unknownOrderMisread: (f, listOk) => (!listOk || f.call !== 'order' ? 'queryOrder read an answer that is no v5 list as "the venue does not know the order"' : undefined),
    checkSinceFill(r, seen, where) {
      if (typeof r.venueOrderId !== 'string' || r.venueOrderId === '' || typeof r.clientOrderId !== 'string' || r.clientOrderId === '') throw new FuzzFailure('invalid-event', `tradesSince handed over a fill of order ${JSON.stringify(r.venueOrderId)} (${JSON.stringify(r.clientOrderId)}): ${where()}`);
      if (typeof r.tradeId !== 'string' || r.tradeId === '' || seen.has(r.tradeId)) throw new FuzzFailure('invalid-event', `tradesSince handed over trade ${JSON.stringify(r.tradeId)} twice or without an id: ${where()}`);
    },
    lostWorkingOrder: (mutated) => (mutated ? 'openOrders read an answer that is no v5 list as no working order' : 'openOrders left out the working order'),
  }));
}

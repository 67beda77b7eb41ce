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
import { ManualClock, defineInstrument } from '@cwts/core';
import { BybitExecution, bybitEndpoints, DEFAULT_BYBIT_OPTIONS } from '@cwts/exchange-bybit';
import { Prng } from '../prng.mjs';
import { Mutator } from '../mutate.mjs';
import { FuzzFailure } from '../failure.mjs';
import { ReportJudge, ccxtBody, checkListed } from './exec-judge.mjs';

export const description = 'Bybit v5 order/execution REST answers -> BybitExecution (driver + adapter kit): exact lots and ticks, each trade once, no overfill';

const SYMBOL = 'BTCUSDT';
const BTC = defineInstrument({ exchange: 'bybit', symbol: SYMBOL, base: 'BTC', quote: 'USDT', tickSize: '0.1', lotSize: '0.001' });
const T0 = Date.parse('2026-12-05T10:00:00Z');
const STEP_MS = 1000;
const QTY_MAX = 2 ** 53;
const OPTIONS = { ...DEFAULT_BYBIT_OPTIONS, poll_interval_ms: 600_000, query_requests_per_second: 1_000_000, orders_per_interval: 1_000_000 };

/** Bybit's decimal strings: prices at 2 decimals (tick 0.1), quantities at 3 (lot 0.001). */
const dec = (units, d) => {
  const s = String(units).padStart(d + 1, '0');
  return `${s.slice(0, s.length - d)}.${s.slice(s.length - d)}`;
};
const price = (ticks) => dec(ticks * 10, 2);
const qty = (lots) => dec(lots, 3);
const wrap = (result, t) => JSON.stringify({ retCode: 0, retMsg: 'OK', result, retExtInfo: {}, time: t });

/** The venue: one order at a time, its trades, and the v5 bodies that describe them. */
class VenueModel {
  constructor(rng) {
    this.rng = rng;
    this.n = 0;
    this.seq = 4_688_002_127;
    this.t = T0;
    this.o = undefined;
  }
  start() {
    const r = this.rng;
    const n = ++this.n;
    const lots = r.chance(0.1) ? 8_000_000_000_000_000 + r.int(1_000_000_000_000_000) : 1 + r.int(5000);
    this.o = {
      n, orderId: `${n.toString(16).padStart(8, '0')}-7c1e-4a8b-9d2f-${(this.seq + n).toString(16).padStart(12, '0')}`, link: `cwts-${n}`, side: r.chance(0.5) ? 'Buy' : 'Sell',
      lots, ticks: 600_000 + r.int(10_000), status: 'New', cum: 0, trades: [], created: this.t, final: undefined,
    };
  }
  trade() {
    const o = this.o;
    const r = this.rng;
    const left = o.lots - o.cum;
    const lots = r.chance(0.3) ? left : Math.min(left, 1 + r.int(Math.max(1, Math.floor(left / 2))));
    o.cum += lots;
    const t = { execId: `${(0xe0000000 + o.n * 64 + o.trades.length).toString(16)}-4e2b-5a3c-8d1f-0a9b8c7d6e5f`, lots, ticks: o.ticks, fee: dec(1 + r.int(100_000), 4), ts: this.t, maker: r.chance(0.5), seq: ++this.seq };
    o.trades.push(t);
    o.status = o.cum === o.lots ? 'Filled' : 'PartiallyFilled';
    if (o.cum === o.lots) o.final = 'filled';
  }
  cancel() {
    const o = this.o;
    o.status = o.cum > 0 ? 'PartiallyFilledCanceled' : 'Cancelled';
    o.final = 'cancelled';
  }
  /** A frozen copy of the order (a frame answers from the state it was made in). */
  snap() {
    return { ...this.o, trades: [...this.o.trades], t: this.t };
  }
}

const working = (s) => s.final === undefined;

function orderJson(s) {
  const leaves = s.final === undefined ? s.lots - s.cum : 0;
  return {
    orderId: s.orderId, orderLinkId: s.link, blockTradeId: '', symbol: SYMBOL, price: price(s.ticks), qty: qty(s.lots), side: s.side, isLeverage: '', positionIdx: 0,
    orderStatus: s.status, cancelType: s.status.includes('Cancel') ? 'CancelByUser' : 'UNKNOWN', rejectReason: 'EC_NoError', avgPrice: s.cum > 0 ? price(s.ticks) : '0',
    leavesQty: qty(leaves), leavesValue: '0', cumExecQty: qty(s.cum), cumExecValue: '0', cumExecFee: '0', timeInForce: 'GTC', orderType: 'Limit', stopOrderType: '', orderIv: '',
    triggerPrice: '0.00', takeProfit: '0.00', stopLoss: '0.00', tpTriggerBy: '', slTriggerBy: '', triggerDirection: 0, triggerBy: '', lastPriceOnCreated: '', reduceOnly: false,
    closeOnTrigger: false, smpType: 'None', smpGroup: 0, smpOrderId: '', tpslMode: '', tpLimitPrice: '', slLimitPrice: '', placeType: '', createdTime: String(s.created), updatedTime: String(s.t),
  };
}

function execJson(s, t) {
  return {
    symbol: SYMBOL, orderId: s.orderId, orderLinkId: s.link, side: s.side, orderPrice: price(s.ticks), orderQty: qty(s.lots), leavesQty: qty(s.lots - s.cum), createType: 'CreateByUser',
    orderType: 'Limit', stopOrderType: '', execFee: t.fee, execId: t.execId, execPrice: price(t.ticks), execQty: qty(t.lots), execType: 'Trade', execValue: '0', execTime: String(t.ts),
    feeCurrency: '', isMaker: t.maker, feeRate: '0.0002', tradeIv: '', markIv: '', markPrice: price(s.ticks), indexPrice: '', underlyingPrice: '', blockTradeId: '', closedSize: '', seq: t.seq,
  };
}

/** The v5 body `endpoint` answers for the order in `s`, asked with `p`. */
function answer(s, endpoint, p) {
  if (endpoint === 'create' || endpoint === 'cancel') return wrap({ orderId: s.orderId, orderLinkId: s.link }, s.t);
  if (endpoint === 'order') {
    const asked = p.orderId !== undefined || p.orderLinkId !== undefined;
    const hit = p.symbol === SYMBOL && (asked ? (p.orderId ?? s.orderId) === s.orderId && (p.orderLinkId ?? s.link) === s.link : working(s));
    return wrap({ nextPageCursor: '', category: 'linear', list: hit ? [orderJson(s)] : [] }, s.t);
  }
  if (endpoint === 'executions') {
    // newest first, as Bybit lists them
    const list = s.trades.filter((t) => p.symbol === SYMBOL && (p.orderId === undefined || p.orderId === s.orderId) && (p.startTime === undefined || t.ts >= p.startTime) && (p.endTime === undefined || t.ts <= p.endTime));
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
    const text = m !== undefined && m.endpoint === endpoint ? m.text : answer(this.s, endpoint, p ?? {});
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

const settle = () => new Promise((r) => setImmediate(r));

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
  const rng = new Prng(seed);
  const venue = new VenueModel(rng);
  const mut = new Mutator(new Prng(seed ^ 0x5bd1e995), 'json');
  const totals = { steps: {}, readBacks: 0, tainted: 0, refusedReads: 0, listChecks: 0, fills: 0, ends: 0, cleanFills: 0, rejections: {} };
  let life = 0;
  let lifeOver = true;
  /** per lifecycle, in run(): the client, its reports, the judge */
  let run = { life: -1 };

  const newClient = (fake, clock) => {
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
  };

  const engineOrder = (s, withVenueId) => ({
    exchange: 'bybit', symbol: SYMBOL, side: s.side === 'Buy' ? 'buy' : 'sell', type: 'limit', price: s.ticks, qty: s.lots, tif: 'GTC', source: 'fuzz', clientOrderId: s.link,
    ...(withVenueId ? { venueOrderId: s.orderId } : {}), status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: s.created, updatedTs: s.created,
  });

  const model = (s) => ({
    trade: (id) => s.trades.find((t) => t.execId === id),
    final: s.final === 'filled' ? 'filled' : s.final,
    cum: s.cum,
  });

  const addRejections = (c) => {
    for (const [k, n] of c.inputRejections()) totals.rejections[k] = n + (totals.rejections[k] ?? 0);
  };

  const begin = async (f) => {
    if (run.client) {
      addRejections(run.client);
      await run.client.stop();
    }
    const clock = new ManualClock(f.s.t);
    const fake = new FakeBybit();
    const client = newClient(fake, clock);
    run = { life: f.life, clock, fake, client, reports: [], judge: new ReportJudge(), tainted: false };
    await client.start((r) => run.reports.push(r));
  };

  /** Judges the reports of one run; a report that does not match the model taints the order. */
  const judgeReports = (s, text, mutated) => {
    for (const r of run.reports) {
      const ok = run.judge.check(r, model(s), text);
      if (r.kind === 'fill') totals.fills++;
      else if (r.kind !== 'ack') totals.ends++;
      if (!ok && !run.tainted) {
        if (!mutated) throw new FuzzFailure('invalid-event', `a clean answer made a report the venue never sent: ${JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 300)}`);
        run.tainted = true;
        totals.tainted++;
      }
      if (!mutated && r.kind === 'fill') totals.cleanFills++;
    }
    run.reports = [];
  };

  /** The order's step on the live client (place, poll, cancel). */
  const act = async (f) => {
    if (f.step === 'place') {
      if (f.clean) await run.client.reconcile('fuzz');
      else run.client.submit(engineOrder(f.s, false));
    } else if (f.step === 'poll') await run.client.reconcile('fuzz');
    // the engine cancels only an order it holds working (a mutated answer may have ended it)
    else if (run.judge.state(f.s.link).final === undefined) run.client.cancel(engineOrder(f.s, true));
    await settle();
  };

  /** A restart's reconciliation read on a client of its own; the answer is held to the model. */
  const reconcile = async (f, text, mutated) => {
    const clock = new ManualClock(f.s.t);
    const fake = new FakeBybit();
    fake.s = f.s;
    fake.mutation = mutated ? { endpoint: f.endpoint, text } : undefined;
    const c = newClient(fake, clock);
    await c.start(() => {});
    const listOk = !mutated || isV5List(text);
    const where = () => `${f.step} (${f.endpoint}${mutated ? ' mutated' : ''}): ${text.slice(0, 240)}`;
    try {
      if (f.step === 'query') {
        let q;
        try {
          q = await c.queryOrder(engineOrder(f.s, f.byVenueId));
        } catch {
          if (!mutated) throw new FuzzFailure('lost-data', `queryOrder failed on a clean answer: ${where()}`);
          totals.refusedReads++;
          return;
        }
        if (q === undefined) {
          if (!listOk || f.endpoint !== 'order') throw new FuzzFailure('lost-data', `queryOrder read an answer that is no v5 list as "the venue does not know the order": ${where()}`);
          return;
        }
        const judge = new ReportJudge();
        judge.expect(engineOrder(f.s, true), f.s.orderId);
        for (const r of q.fills) judge.check(r, model(f.s), text);
        if (!Number.isSafeInteger(q.filledQty) || q.filledQty < 0 || q.filledQty > f.s.lots) throw new FuzzFailure('invalid-event', `queryOrder answered filled ${q.filledQty} of ${f.s.lots}: ${where()}`);
        if (!mutated && (judge.state(f.s.link).cum !== f.s.cum || q.fills.length !== f.s.trades.length)) throw new FuzzFailure('lost-data', `queryOrder handed over ${q.fills.length} fills (${judge.state(f.s.link).cum} lots) of the venue's ${f.s.trades.length} (${f.s.cum}): ${where()}`);
        totals.listChecks++;
      } else if (f.step === 'since') {
        let fills;
        try {
          fills = await c.tradesSince([SYMBOL], f.s.created - STEP_MS);
        } catch {
          if (!mutated) throw new FuzzFailure('lost-data', `tradesSince failed on a clean answer: ${where()}`);
          totals.refusedReads++;
          return;
        }
        const seen = new Set();
        for (const r of fills) {
          if (!Number.isSafeInteger(r.lastQty) || r.lastQty <= 0 || !Number.isSafeInteger(r.lastPrice) || r.lastPrice <= 0) throw new FuzzFailure('invalid-event', `tradesSince handed over a fill of ${r.lastQty} lots at ${r.lastPrice} ticks: ${where()}`);
          if (typeof r.venueOrderId !== 'string' || r.venueOrderId === '' || typeof r.clientOrderId !== 'string' || r.clientOrderId === '') throw new FuzzFailure('invalid-event', `tradesSince handed over a fill of order ${JSON.stringify(r.venueOrderId)} (${JSON.stringify(r.clientOrderId)}): ${where()}`);
          if (typeof r.tradeId !== 'string' || r.tradeId === '' || seen.has(r.tradeId)) throw new FuzzFailure('invalid-event', `tradesSince handed over trade ${JSON.stringify(r.tradeId)} twice or without an id: ${where()}`);
          seen.add(r.tradeId);
        }
        const missing = f.s.trades.filter((t) => !fills.some((r) => r.tradeId === t.execId && r.lastQty === t.lots && r.lastPrice === t.ticks));
        if (missing.length > 0 && (!mutated || (f.endpoint === 'executions' && !listOk))) throw new FuzzFailure('lost-data', `tradesSince lost ${missing.length} of the venue's ${f.s.trades.length} trades on an answer that is ${mutated ? 'no v5 list' : 'clean'}: ${where()}`);
        totals.listChecks++;
      } else {
        let orders;
        try {
          orders = await c.openOrders();
        } catch {
          if (!mutated) throw new FuzzFailure('lost-data', `openOrders failed on a clean answer: ${where()}`);
          totals.refusedReads++;
          return;
        }
        for (const o of orders) checkListed(o, QTY_MAX, text);
        const listed = orders.some((o) => o.venueOrderId === f.s.orderId && o.qty === f.s.lots && o.filledQty === f.s.cum);
        if (working(f.s) && !listed && listOk) {
          if (!mutated) throw new FuzzFailure('lost-data', `openOrders left out the working order: ${where()}`);
        } else if (working(f.s) && !listed && !listOk) throw new FuzzFailure('lost-data', `openOrders read an answer that is no v5 list as no working order: ${where()}`);
        totals.listChecks++;
      }
    } finally {
      addRejections(c);
      await c.stop();
    }
  };

  return {
    next() {
      if (lifeOver) {
        venue.t += STEP_MS;
        venue.start();
        life++;
        lifeOver = false;
        const s = venue.snap();
        const clean = answer(s, 'create', {});
        return { life, step: 'place', endpoint: pick(rng, MUTATED.place), s, data: mut.mutate(clean, 'create'), first: true };
      }
      venue.t += STEP_MS;
      const o = venue.o;
      const roll = rng.next();
      let step;
      if (o.final !== undefined) {
        // after its end, now and then a restart's reading of it, then the next order
        step = roll < 0.5 ? pick(rng, [['query', 0.4], ['since', 0.8], ['open', 1]]) : undefined;
        lifeOver = true;
        if (step === undefined) return this.next();
      } else if (roll < 0.62) {
        step = 'poll';
        if (rng.chance(0.6)) venue.trade();
      } else if (roll < 0.74) {
        step = 'cancel';
        venue.cancel();
      } else step = pick(rng, [['query', 0.4], ['since', 0.7], ['open', 1]]);
      const s = venue.snap();
      const endpoint = pick(rng, MUTATED[step]);
      const canonical = endpoint === 'executions' ? answer(s, endpoint, { symbol: SYMBOL, orderId: s.orderId }) : answer(s, endpoint, { symbol: SYMBOL, orderId: s.orderId });
      return { life, step, endpoint, s, byVenueId: rng.chance(0.5), data: mut.mutate(canonical, `${step}-${endpoint}`) };
    },
    saved: (f) => `${f.step} ${f.endpoint}: ${f.data}`,
    async run(f) {
      totals.steps[f.step] = (totals.steps[f.step] ?? 0) + 1;
      if (f.step === 'query' || f.step === 'since' || f.step === 'open') {
        await reconcile(f, f.data, true);
        await reconcile(f, '', false);
        return;
      }
      if (f.first) await begin(f);
      else if (run.life !== f.life) return; // a lifecycle whose start a restarted worker skipped
      if (f.first) run.judge.expect(engineOrder(f.s, false), f.s.orderId);
      run.clock.set(f.s.t);
      run.fake.s = f.s;
      // the mutated answer, then the same step answered clean
      run.fake.mutation = { endpoint: f.endpoint, text: f.data };
      await act(f);
      judgeReports(f.s, f.data, true);
      run.fake.mutation = undefined;
      await act({ ...f, clean: true });
      judgeReports(f.s, '(clean)', false);
      if (run.tainted) return;
      // read back: the clean answer brought the client to the venue's state
      const st = run.judge.state(f.s.link);
      const want = f.s.final === 'filled' ? 'filled' : f.s.final;
      if (!st.acked || st.cum !== f.s.cum || st.final !== want) {
        throw new FuzzFailure('lost-data', `after a clean ${f.step} the engine holds ${st.acked ? 'an acked' : 'an unacked'} order filled ${st.cum} (${st.final ?? 'working'}); the venue ${f.s.cum} of ${f.s.lots} (${want ?? 'working'}); mutated ${f.endpoint}: ${f.data.slice(0, 200)}`);
      }
      totals.readBacks++;
    },
    async reset() {
      if (run.client) await run.client.stop();
      run = { life: -1 };
    },
    async probe(f) {
      const t0 = performance.now();
      if (f.step === 'query' || f.step === 'since' || f.step === 'open') await reconcile(f, f.data, true).catch(() => {});
      else ccxtBody(f.data, 'bybit', false);
      return performance.now() - t0;
    },
    counts: () => ({ ...totals, mutations: Object.fromEntries(mut.ops) }),
  };
}

function pick(rng, table) {
  const x = rng.next();
  return table.find(([, p]) => x < p)[0];
}

/** Floors (shares of the run's frames): below them the run checked too little to mean anything. */
export function coverage(c, frames) {
  const out = [];
  const floor = (name, have, share) => {
    if ((have ?? 0) < frames * share) out.push({ kind: 'vacuous', message: `${name}: ${have ?? 0} in ${frames} frames (floor ${Math.ceil(frames * share)})` });
  };
  floor('clean state read back', c.readBacks, 0.3);
  floor('fills judged', c.fills, 0.15);
  floor('clean fills', c.cleanFills, 0.05);
  floor('order ends judged', c.ends, 0.03);
  floor('reconciliation answers judged', c.listChecks, 0.1);
  floor('mutated reads refused', c.refusedReads, 0.02);
  return out;
}

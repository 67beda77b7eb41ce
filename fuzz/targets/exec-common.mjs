/**
 * The fuzz target both execution-reader targets (bybit-exec, ccxt-exec) are, less the venue: a
 * venue model runs order lifecycles (place, trades polled, cancels) and the reconciliation reads
 * a restart makes (queryOrder, tradesSince, openOrders); each frame is one step with one venue
 * call's answer mutated, then the same step answered clean. The target hands `createExecTarget`
 * what is its venue's own: the model, its answers and how a frame mutates them, the stand-in for
 * ccxt, the client, how a step acts on it, and the few judgements that differ by venue.
 *
 * The random draws of a frame are made here in one fixed order (the step, the mutated call,
 * whether the order is asked by venue id, then the target's mutation): a seed's run must not
 * change when a target changes what it answers.
 */
import { ManualClock } from '@cwts/core';
import { Prng } from '../prng.mjs';
import { Mutator } from '../mutate.mjs';
import { FuzzFailure } from '../failure.mjs';
import { ReportJudge, checkListed } from './exec-judge.mjs';

export const T0 = Date.parse('2026-12-05T10:00:00Z');
export const STEP_MS = 1000;
export const QTY_MAX = 2 ** 53;

/** `table`: [value, cumulative share] rows; one draw of `rng` picks a row. */
export function pickByShare(rng, table) {
  const x = rng.next();
  return table.find(([, p]) => x < p)[0];
}

export const working = (s) => s.final === undefined;

const settle = () => new Promise((r) => setImmediate(r));

const RECONCILE_STEPS = new Set(['query', 'since', 'open']);

const shown = (r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v));

/**
 * The venue's side of a model: one order at a time (`o`: n, id, cid, side 'buy'|'sell', lots,
 * ticks, cum, trades of { id, lots, ticks, ts }, created, final), the venue's clock `t`.
 */
export class OrderVenueModel {
  constructor(rng) {
    this.rng = rng;
    this.n = 0;
    this.t = T0;
    this.o = undefined;
  }
  /** The lots of the working order's next trade (now and then all it has left), booked to `cum`. */
  takeFill() {
    const o = this.o;
    const r = this.rng;
    const left = o.lots - o.cum;
    const lots = r.chance(0.3) ? left : Math.min(left, 1 + r.int(Math.max(1, Math.floor(left / 2))));
    o.cum += lots;
    return lots;
  }
  /** A frozen copy of the order (a frame answers from the state it was made in). */
  snap() {
    return { ...this.o, trades: [...this.o.trades], t: this.t };
  }
}

/**
 * @param {number} seed
 * @param {(x: { rng: Prng, mut: Mutator }) => object} defineVenue the venue's parts:
 *   `Venue` (an OrderVenueModel's class), `exchange` and `symbol` (the engine's), `mutatedCalls`
 *   ({ step: [call, cumulative share] rows }), `mutated(s, step, call)` (the frame's text),
 *   `newFake()` (the stand-in: `s`, the order it answers; `mutation`, { call, text }),
 *   `newClient(fake, clock)`, `act(run, f)` (the step on the live client), `parse(text)` (what
 *   a slow frame is timed on), `isList(text)`, `listName`, `tradeListCall`, and the judgements
 *   that differ: `namesReads` (whether a refused read is named by the client's method),
 *   `unknownOrderMisread(f, listOk)`, `checkSinceFill(r, seen, where)`, `afterSince?(f, fills,
 *   mutated, where)`, `lostWorkingOrder(mutated)`.
 */
export async function createExecTarget(seed, defineVenue) {
  const rng = new Prng(seed);
  const mut = new Mutator(new Prng(seed ^ 0x5bd1e995), 'json');
  const v = defineVenue({ rng, mut });
  const venue = new v.Venue(rng);
  const totals = { steps: {}, readBacks: 0, tainted: 0, refusedReads: 0, listChecks: 0, fills: 0, ends: 0, cleanFills: 0, rejections: {} };
  let life = 0;
  let lifeOver = true;
  /** per lifecycle, in run(): the client, its reports, the judge */
  let run = { life: -1 };

  const engineOrder = (s, withVenueId) => ({
    exchange: v.exchange, symbol: v.symbol, side: s.side, type: 'limit', price: s.ticks, qty: s.lots, tif: 'GTC', source: 'fuzz', clientOrderId: s.cid,
    ...(withVenueId ? { venueOrderId: s.id } : {}), status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: s.created, updatedTs: s.created,
  });

  const model = (s) => ({ trade: (id) => s.trades.find((t) => t.id === id), final: s.final, cum: s.cum });

  const addRejections = (c) => {
    for (const [k, n] of c.inputRejections()) totals.rejections[k] = n + (totals.rejections[k] ?? 0);
  };

  const begin = async (f) => {
    if (run.client) {
      addRejections(run.client);
      await run.client.stop();
    }
    const clock = new ManualClock(f.s.t);
    const fake = v.newFake();
    const client = v.newClient(fake, clock);
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
        if (!mutated) throw new FuzzFailure('invalid-event', `a clean answer made a report the venue never sent: ${shown(r).slice(0, 300)}`);
        run.tainted = true;
        totals.tainted++;
      }
      if (!mutated && r.kind === 'fill') totals.cleanFills++;
    }
    run.reports = [];
  };

  const act = async (f) => {
    await v.act(run, f, engineOrder);
    await settle();
  };

  /** A restart's reconciliation read on a client of its own; the answer is held to the model. */
  const reconcile = async (f, text, mutated) => {
    const clock = new ManualClock(f.s.t);
    const fake = v.newFake();
    fake.s = f.s;
    fake.mutation = mutated ? { call: f.call, text } : undefined;
    const c = v.newClient(fake, clock);
    await c.start(() => {});
    const listOk = !mutated || v.isList(text);
    const where = () => `${f.step} (${f.call}${mutated ? ' mutated' : ''}): ${text.slice(0, 240)}`;
    const REFUSED = Symbol('refused');
    /** A read that throws: refused on a mutated answer, lost data on a clean one. */
    const read = async (method, call) => {
      try {
        return await call();
      } catch {
        if (!mutated) throw new FuzzFailure('lost-data', `${v.namesReads ? method : f.step} failed on a clean answer: ${where()}`);
        totals.refusedReads++;
        return REFUSED;
      }
    };
    try {
      if (f.step === 'query') {
        const q = await read('queryOrder', () => c.queryOrder(engineOrder(f.s, f.byVenueId)));
        if (q === REFUSED) return;
        if (q === undefined) {
          const misread = v.unknownOrderMisread(f, listOk);
          if (misread !== undefined) throw new FuzzFailure('lost-data', `${misread}: ${where()}`);
          return;
        }
        const judge = new ReportJudge();
        judge.expect(engineOrder(f.s, true), f.s.id);
        for (const r of q.fills) judge.check(r, model(f.s), text);
        if (!Number.isSafeInteger(q.filledQty) || q.filledQty < 0 || q.filledQty > f.s.lots) throw new FuzzFailure('invalid-event', `queryOrder answered filled ${q.filledQty} of ${f.s.lots}: ${where()}`);
        if (!mutated && (judge.state(f.s.cid).cum !== f.s.cum || q.fills.length !== f.s.trades.length)) throw new FuzzFailure('lost-data', `queryOrder handed over ${q.fills.length} fills (${judge.state(f.s.cid).cum} lots) of the venue's ${f.s.trades.length} (${f.s.cum}): ${where()}`);
      } else if (f.step === 'since') {
        const fills = await read('tradesSince', () => c.tradesSince([v.symbol], f.s.created - STEP_MS));
        if (fills === REFUSED) return;
        const seen = new Set();
        for (const r of fills) {
          if (!Number.isSafeInteger(r.lastQty) || r.lastQty <= 0 || !Number.isSafeInteger(r.lastPrice) || r.lastPrice <= 0) throw new FuzzFailure('invalid-event', `tradesSince handed over a fill of ${r.lastQty} lots at ${r.lastPrice} ticks: ${where()}`);
          v.checkSinceFill(r, seen, where);
          seen.add(r.tradeId);
        }
        const missing = f.s.trades.filter((t) => !fills.some((r) => r.tradeId === t.id && r.lastQty === t.lots && r.lastPrice === t.ticks));
        if (missing.length > 0 && (!mutated || (f.call === v.tradeListCall && !listOk))) throw new FuzzFailure('lost-data', `tradesSince lost ${missing.length} of the venue's ${f.s.trades.length} trades on an answer that is ${mutated ? `no ${v.listName}` : 'clean'}: ${where()}`);
        v.afterSince?.(f, fills, mutated, where);
      } else {
        const orders = await read('openOrders', () => c.openOrders());
        if (orders === REFUSED) return;
        for (const o of orders) checkListed(o, QTY_MAX, text);
        const listed = orders.some((o) => o.venueOrderId === f.s.id && o.qty === f.s.lots && o.filledQty === f.s.cum);
        // a clean answer is a list: a working order left out of it is lost either way
        if (working(f.s) && !listed && (!mutated || !listOk)) throw new FuzzFailure('lost-data', `${v.lostWorkingOrder(mutated)}: ${where()}`);
      }
      totals.listChecks++;
    } finally {
      addRejections(c);
      await c.stop();
    }
  };

  const frame = (s, step, first) => {
    const call = pickByShare(rng, v.mutatedCalls[step]);
    if (first) return { life, step, call, s, data: v.mutated(s, step, call), first: true };
    const byVenueId = rng.chance(0.5);
    return { life, step, call, s, byVenueId, data: v.mutated(s, step, call) };
  };

  return {
    next() {
      if (lifeOver) {
        venue.t += STEP_MS;
        venue.start();
        life++;
        lifeOver = false;
        return frame(venue.snap(), 'place', true);
      }
      venue.t += STEP_MS;
      const o = venue.o;
      const roll = rng.next();
      let step;
      if (o.final !== undefined) {
        // after its end, now and then a restart's reading of it, then the next order
        step = roll < 0.5 ? pickByShare(rng, [['query', 0.4], ['since', 0.8], ['open', 1]]) : undefined;
        lifeOver = true;
        if (step === undefined) return this.next();
      } else if (roll < 0.62) {
        step = 'poll';
        if (rng.chance(0.6)) venue.trade();
      } else if (roll < 0.74) {
        step = 'cancel';
        venue.cancel();
      } else step = pickByShare(rng, [['query', 0.4], ['since', 0.7], ['open', 1]]);
      return frame(venue.snap(), step, false);
    },
    saved: (f) => `${f.step} ${f.call}: ${f.data}`,
    async run(f) {
      totals.steps[f.step] = (totals.steps[f.step] ?? 0) + 1;
      if (RECONCILE_STEPS.has(f.step)) {
        await reconcile(f, f.data, true);
        await reconcile(f, '', false);
        return;
      }
      if (f.first) await begin(f);
      else if (run.life !== f.life) return; // a lifecycle whose start a restarted worker skipped
      if (f.first) run.judge.expect(engineOrder(f.s, false), f.s.id);
      run.clock.set(f.s.t);
      run.fake.s = f.s;
      // the mutated answer, then the same step answered clean
      run.fake.mutation = { call: f.call, text: f.data };
      await act(f);
      judgeReports(f.s, f.data, true);
      run.fake.mutation = undefined;
      await act({ ...f, clean: true });
      judgeReports(f.s, '(clean)', false);
      if (run.tainted) return;
      // read back: the clean answer brought the client to the venue's state
      const st = run.judge.state(f.s.cid);
      if (!st.acked || st.cum !== f.s.cum || st.final !== f.s.final) {
        throw new FuzzFailure('lost-data', `after a clean ${f.step} the engine holds ${st.acked ? 'an acked' : 'an unacked'} order filled ${st.cum} (${st.final ?? 'working'}); the venue ${f.s.cum} of ${f.s.lots} (${f.s.final ?? 'working'}); mutated ${f.call}: ${f.data.slice(0, 200)}`);
      }
      totals.readBacks++;
    },
    async reset() {
      if (run.client) await run.client.stop();
      run = { life: -1 };
    },
    async probe(f) {
      const t0 = performance.now();
      if (RECONCILE_STEPS.has(f.step)) await reconcile(f, f.data, true).catch(() => {});
      else {
        try {
          v.parse(f.data);
        } catch {}
      }
      return performance.now() - t0;
    },
    counts: () => ({ ...totals, mutations: Object.fromEntries(mut.ops) }),
  };
}

/** Floors (shares of the run's frames): below them the run checked too little to mean anything. */
export function execCoverage(c, frames) {
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

/**
 * kraken-executions: frames of Kraken's private WebSocket v2 `executions` channel (order
 * lifecycles: pending_new, new, trades with bare-number quantities, some in exponent form,
 * filled or canceled; snapshots, subscribe answers, heartbeats) through the adapter's own
 * KrakenExecutionsParser. Each fuzz frame is a mutated copy of the venue's next frame, then that
 * frame itself. Findings: a parser error escaping its guard (crash), an accepted event whose
 * money is not an exact positive value on the instrument's grid (invalid-event), a clean frame
 * refused after a mutated one (lost-data).
 */
import { defineInstrument } from '@cwts/core';
import { KrakenExecutionsParser } from '@cwts/exchange-kraken';
import { Prng } from '../prng.mjs';
import { FuzzFailure } from '../failure.mjs';
import { parserTarget } from './parser-target.mjs';

export const description = 'Kraken executions frames -> KrakenExecutionsParser (exact decimals, grid checks)';

const BTC = defineInstrument({ exchange: 'kraken', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', tickSize: '0.1', lotSize: '0.00000001' });
const PLAIN = /^\d+(\.\d+)?$/;

/** Units of a plain decimal string at `dec` decimals, exactly, or undefined off the grid. */
function unitsAt(text, dec) {
  if (!PLAIN.test(text)) return undefined;
  const [w, f = ''] = text.split('.');
  if (f.replace(/0+$/, '').length > dec) return undefined;
  return BigInt(w) * 10n ** BigInt(dec) + BigInt((f.replace(/0+$/, '') || '0').padEnd(dec, '0'));
}

/** A value in units as the JSON number Kraken writes (tiny quantities in exponent form). */
function wire(units, dec) {
  if (units > 0 && units < 100 && dec >= 8) return `${units}e-${dec}`;
  const s = String(units).padStart(dec + 1, '0');
  const t = dec === 0 ? s : `${s.slice(0, s.length - dec)}.${s.slice(s.length - dec)}`;
  return t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t;
}

class VenueModel {
  constructor(rng) {
    this.rng = rng;
    this.seq = 0;
    this.n = 0;
    this.queue = [];
  }
  id(prefix) {
    const s = (++this.n).toString(36).toUpperCase().padStart(16, '0');
    return `${prefix}${s.slice(0, 5)}-${s.slice(5, 10)}-${s.slice(10, 16)}`;
  }
  frame(type, data) {
    return `{"channel":"executions","type":"${type}","data":[${data.join(',')}],"sequence":${++this.seq}}`;
  }
  /** The frames of one order's life, queued. */
  order() {
    const r = this.rng;
    const oid = this.id('O');
    const cl = `cwts-${this.n}`;
    // now and then a quantity near 2^53 lots: 16-17 significant digits, where a float would round
    const qty = r.chance(0.1) ? 8_000_000_000_000_000 + r.int(1_000_000_000_000_000) : 1 + r.int(300_000_000);
    const price = 600_000 + r.int(10_000);
    const ts = () => `2026-12-05T06:${String(r.int(60)).padStart(2, '0')}:00.${String(r.int(1e6)).padStart(6, '0')}Z`;
    const q = [];
    const expects = new Map();
    q.push(this.frame('update', [`{"order_id":"${oid}","cl_ord_id":"${cl}","symbol":"BTC/USD","order_qty":${wire(qty, 8)},"cum_cost":0,"time_in_force":"GTC","exec_type":"pending_new","side":"buy","order_type":"limit","limit_price":${wire(price, 1)},"order_status":"pending_new","fee_usd_equiv":0,"timestamp":"${ts()}"}`]));
    q.push(this.frame('update', [`{"timestamp":"${ts()}","order_status":"new","exec_type":"new","order_id":"${oid}","cl_ord_id":"${cl}"}`]));
    let cum = 0;
    while (cum < qty && r.chance(0.8)) {
      const last = Math.min(qty - cum, 1 + r.int(Math.max(1, Math.floor(qty / 2))));
      cum += last;
      const fee = r.int(1_000_000);
      const execId = this.id('T');
      expects.set(q.length, { execId, qty: BigInt(last), price: BigInt(price), cum: BigInt(cum) });
      q.push(this.frame('update', [`{"order_id":"${oid}","cl_ord_id":"${cl}","exec_id":"${execId}","exec_type":"trade","trade_id":${this.n},"symbol":"BTC/USD","side":"buy","last_qty":${wire(last, 8)},"last_price":${wire(price, 1)},"liquidity_ind":"${r.chance(0.5) ? 'm' : 't'}","cost":0,"order_status":"partially_filled","order_type":"limit","fees":[{"asset":"USD","qty":${wire(fee, 8)}}],"fee_usd_equiv":0,"cum_qty":${wire(cum, 8)},"cum_cost":0,"avg_price":${wire(price, 1)},"timestamp":"${ts()}"}`]));
    }
    if (cum === qty) q.push(this.frame('update', [`{"timestamp":"${ts()}","order_status":"filled","exec_type":"filled","cum_qty":${wire(cum, 8)},"order_id":"${oid}"}`]));
    else q.push(this.frame('update', [`{"timestamp":"${ts()}","order_status":"canceled","exec_type":"canceled","cum_qty":${wire(cum, 8)},"order_id":"${oid}","reason":"User requested"}`]));
    this.queue.push(...q.map((text, k) => ({ text, kind: 'update', expect: expects.get(k) })));
  }
  next() {
    const r = this.rng.next();
    if (r < 0.03) return { text: '{"channel":"heartbeat"}', kind: 'heartbeat' };
    if (r < 0.05) return { text: '{"method":"subscribe","result":{"channel":"executions","maxratecount":125,"snap_orders":true,"snap_trades":true},"success":true,"time_in":"2026-12-05T06:00:00.000000Z","time_out":"2026-12-05T06:00:00.000100Z","req_id":2}', kind: 'ack' };
    if (r < 0.07) {
      this.seq = 0;
      return { text: this.frame('snapshot', [`{"order_id":"${this.id('O')}","symbol":"BTC/USD","order_qty":0.5,"exec_type":"new","order_status":"new","cum_qty":0,"timestamp":"2026-12-05T06:00:00.000000Z"}`]), kind: 'snapshot' };
    }
    if (this.queue.length === 0) this.order();
    return this.queue.shift();
  }
}

/** Accepted events must carry exact, positive, on-grid money. */
function checkAccepted(m, text) {
  if (m.kind === 'rejected' && m.reason === 'internal') throw new FuzzFailure('invalid-event', `the parser's guard caught an error: ${m.message}; frame ${text.slice(0, 200)}`);
  if (m.kind !== 'executions') return;
  for (const e of m.events) {
    if (typeof e.venueOrderId !== 'string' || e.venueOrderId.length === 0) throw new FuzzFailure('invalid-event', `an event without an order id: ${text.slice(0, 200)}`);
    // an event without a symbol (cancel, expiry) cannot be held to a grid here: its cum_qty must be
    // an exact plain decimal, and the execution client converts it against the order's instrument
    if (e.filledQty !== undefined && !PLAIN.test(e.filledQty)) throw new FuzzFailure('invalid-event', `cum_qty ${e.filledQty} accepted: ${text.slice(0, 200)}`);
    const f = e.fill;
    if (!f) continue;
    if (e.filledQty !== undefined && unitsAt(e.filledQty, 8) === undefined) throw new FuzzFailure('invalid-event', `a trade's cum_qty ${e.filledQty} accepted: ${text.slice(0, 200)}`);
    const q = unitsAt(f.qty, 8);
    const p = unitsAt(f.price, 1);
    if (q === undefined || q <= 0n || q > 2n ** 53n) throw new FuzzFailure('invalid-event', `trade qty ${f.qty} accepted: ${text.slice(0, 200)}`);
    if (p === undefined || p <= 0n || p > 2n ** 53n) throw new FuzzFailure('invalid-event', `trade price ${f.price} accepted: ${text.slice(0, 200)}`);
    if (!/^-?\d+(\.\d+)?$/.test(f.fee)) throw new FuzzFailure('invalid-event', `fee ${f.fee} accepted: ${text.slice(0, 200)}`);
    if (!(f.ts > 0) || typeof f.tradeId !== 'string' || f.tradeId.length === 0 || f.symbol !== 'BTC/USD') throw new FuzzFailure('invalid-event', `trade fields accepted: ${JSON.stringify(f).slice(0, 200)}`);
  }
}

export async function create({ seed }) {
  return parserTarget({
    seed,
    venue: new VenueModel(new Prng(seed)),
    newParser: () => new KrakenExecutionsParser((s) => (s === 'BTC/USD' ? BTC : undefined)),
    parse: (p, data) => (typeof data === 'string' ? p.parse(data) : p.binary(data.byteLength)),
    check: checkAccepted,
    readBack(c, expect, text) {
      const t = c.kind === 'executions' ? c.events[0] : undefined;
      const got = t?.fill && { execId: t.fill.tradeId, qty: unitsAt(t.fill.qty, 8), price: unitsAt(t.fill.price, 1), cum: unitsAt(t.filledQty ?? '', 8) };
      if (!got || got.execId !== expect.execId || got.qty !== expect.qty || got.price !== expect.price || got.cum !== expect.cum) {
        throw new FuzzFailure('invalid-event', `a clean trade read back as ${JSON.stringify(t?.fill ?? null)} (cum ${t?.filledQty}); expected ${expect.qty} lots at ${expect.price} ticks, cum ${expect.cum}: ${text.slice(0, 200)}`);
      }
    },
  });
}

/**
 * coinbase-user: frames of Coinbase Advanced Trade's private `user` channel (order lifecycles:
 * a snapshot of open orders, updates as cumulative_quantity grows, final states; heartbeats and
 * subscriptions on the same sequence_num) through the adapter's own CoinbaseUserFeed. Each fuzz
 * frame is a mutated copy of the venue's next frame, then that frame itself. Findings: anything
 * thrown (crash), an accepted order view whose quantities are not exact whole lots with
 * filled <= size, or an unknown state (invalid-event), a clean frame whose orders are not all
 * delivered after a mutated one (lost-data).
 */
import { defineInstrument } from '@cwts/core';
import { CoinbaseUserFeed } from '@cwts/exchange-coinbase';
import { Prng } from '../prng.mjs';
import { Mutator } from '../mutate.mjs';
import { FuzzFailure } from '../failure.mjs';

export const description = 'Coinbase user channel frames -> CoinbaseUserFeed (exact lots, states)';

const BTC = defineInstrument({ exchange: 'coinbase', symbol: 'BTC-USD', base: 'BTC', quote: 'USD', tickSize: '0.01', lotSize: '0.00000001' });
const LOT_TEXT = /^\d+(\.\d{1,8})?$/;
const STATES = new Set(['pending', 'open', 'filled', 'cancelled', 'expired', 'rejected']);
const TIME = '2026-12-05T06:00:00.000000Z';

const lots = (text) => {
  const [w, f = ''] = text.split('.');
  return BigInt(w) * 10n ** 8n + BigInt(f.padEnd(8, '0'));
};
const qty = (units) => {
  const s = units.toString().padStart(9, '0');
  return `${s.slice(0, -8)}.${s.slice(-8)}`;
};

/** The venue's frames for a few orders at a time, on one connection's sequence_num. */
class VenueModel {
  constructor(rng) {
    this.rng = rng;
    this.seq = 0;
    this.n = 0;
    this.queue = [];
  }
  envelope(channel, events) {
    return JSON.stringify({ channel, client_id: '', timestamp: TIME, sequence_num: this.seq++, events });
  }
  order(o) {
    return {
      order_id: o.id, client_order_id: o.cid, cumulative_quantity: qty(o.cum), leaves_quantity: qty(o.status === 'OPEN' ? o.size - o.cum : 0n), avg_price: '64000.00',
      total_fees: '0.5', status: o.status, product_id: 'BTC-USD', creation_time: TIME, order_side: o.side, order_type: 'Limit', cancel_reason: '', reject_reason: '',
      time_in_force: 'GOOD_UNTIL_CANCELLED', number_of_fills: String(o.fills), filled_value: '0', post_only: false, product_type: 'SPOT',
    };
  }
  user(type, orders) {
    return { text: this.envelope('user', [{ type, orders: orders.map((o) => this.order(o)), positions: { perpetual_futures_positions: [], expiring_futures_positions: [] } }]), kind: `user ${type}`, orders: orders.length };
  }
  lifecycle() {
    const r = this.rng;
    const o = { id: `${(++this.n).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`, cid: `cwts-${this.n}`, size: BigInt(1 + r.int(300_000_000)), cum: 0n, status: 'OPEN', side: r.chance(0.5) ? 'BUY' : 'SELL', fills: 0 };
    const q = [this.user('update', [{ ...o }])];
    while (o.cum < o.size && r.chance(0.75)) {
      o.cum += BigInt(1 + r.int(Number(o.size - o.cum)));
      o.fills++;
      if (o.cum === o.size) o.status = 'FILLED';
      q.push(this.user('update', [{ ...o }]));
    }
    if (o.status === 'OPEN') {
      o.status = r.pick(['CANCELLED', 'EXPIRED']);
      q.push(this.user('update', [{ ...o }]));
    }
    this.queue.push(...q);
  }
  next() {
    const r = this.rng.next();
    if (r < 0.1) return { text: this.envelope('heartbeats', [{ current_time: TIME, heartbeat_counter: this.seq }]), kind: 'heartbeat', orders: 0 };
    if (r < 0.12) return { text: this.envelope('subscriptions', [{ subscriptions: { user: ['BTC-USD'], heartbeats: ['heartbeats'] } }]), kind: 'subscriptions', orders: 0 };
    if (r < 0.15) {
      const open = Array.from({ length: this.rng.int(4) }, (_, k) => ({ id: `snap-${this.n}-${k}`, cid: `cwts-s${k}`, size: 100_000_000n, cum: BigInt(this.rng.int(100_000_000)), status: 'OPEN', side: 'BUY', fills: 1 }));
      return this.user('snapshot', open);
    }
    if (this.queue.length === 0) this.lifecycle();
    return this.queue.shift();
  }
}

function check(v, text) {
  const where = () => text.slice(0, 200);
  if (typeof v.venueOrderId !== 'string' || v.venueOrderId.length === 0) throw new FuzzFailure('invalid-event', `an order view without an order id: ${where()}`);
  if (v.symbol !== 'BTC-USD') throw new FuzzFailure('invalid-event', `an order view on ${v.symbol}: ${where()}`);
  if (!STATES.has(v.state)) throw new FuzzFailure('invalid-event', `state ${v.state}: ${where()}`);
  if (!LOT_TEXT.test(v.filledQty) || !LOT_TEXT.test(v.qty)) throw new FuzzFailure('invalid-event', `quantities ${v.filledQty} / ${v.qty} accepted: ${where()}`);
  const f = lots(v.filledQty);
  const q = lots(v.qty);
  if (q < f || q > 2n ** 53n) throw new FuzzFailure('invalid-event', `filled ${v.filledQty} of ${v.qty}: ${where()}`);
}

export async function create({ seed }) {
  const rng = new Prng(seed);
  const venue = new VenueModel(rng);
  const mut = new Mutator(new Prng(seed ^ 0x5bd1e995), 'json');
  const totals = { parserCalls: 0, views: 0, missed: 0 };
  let out = [];
  const make = () => {
    const f = new CoinbaseUserFeed({
      exchange: 'coinbase', instrument: (s) => (s === 'BTC-USD' ? BTC : undefined), onOrder: (v) => out.push(v), onMissed: () => totals.missed++, onSnapshot: () => {}, sink: () => undefined, now: () => 0,
    });
    f.connectionOpened();
    return f;
  };
  let feed = make();
  return {
    next() {
      const clean = venue.next();
      return { data: mut.mutate(clean.text, clean.kind), clean: clean.text, orders: clean.orders };
    },
    saved: (f) => f.data,
    run(f) {
      out = [];
      if (typeof f.data === 'string') feed.onFrame(f.data);
      else feed.onBinaryFrame(f.data.byteLength);
      for (const v of out) check(v, typeof f.data === 'string' ? f.data : '(binary)');
      totals.views += out.length;
      out = [];
      feed.onFrame(f.clean);
      for (const v of out) check(v, f.clean);
      if (out.length !== f.orders) throw new FuzzFailure('lost-data', `the clean frame delivered ${out.length} of its ${f.orders} orders after a mutated one: ${f.clean.slice(0, 200)}`);
      totals.views += out.length;
      totals.parserCalls += 2;
    },
    reset() {
      feed = make();
    },
    probe(f) {
      const p = make();
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        if (typeof f.data === 'string') p.onFrame(f.data);
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    },
    counts: () => ({ ...totals, ...feed.stats, rejected: feed.rejected, mutations: Object.fromEntries(mut.ops) }),
  };
}

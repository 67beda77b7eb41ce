/**
 * binance-user: frames of Binance's spot user data stream on the WebSocket API (order lifecycles
 * as executionReports: NEW, trades with cumulative quantities, CANCELED naming the order in `C`,
 * or FILLED; account and balance updates, subscription answers, stream termination) through the
 * adapter's own BinanceUserStreamParser. Each fuzz frame is a mutated copy of the venue's next
 * frame, then that frame itself. Findings: a parser error escaping its guard (crash), an accepted
 * report whose money is not an exact positive value on the instrument's grid or does not add up
 * (invalid-event), a clean frame refused after a mutated one, or read back other than the model
 * wrote it (lost-data, invalid-event).
 */
import { defineInstrument } from '@cwts/core';
import { BinanceUserStreamParser } from '@cwts/exchange-binance';
import { Prng } from '../prng.mjs';
import { FuzzFailure } from '../failure.mjs';
import { parserTarget } from './parser-target.mjs';

export const description = 'Binance user data stream frames -> BinanceUserStreamParser (exact decimals, grid checks, cumulative quantities)';

const LOT_DEC = 5;
const TICK_DEC = 2;
const BTC = defineInstrument({ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });
const instrument = (s) => (s === 'BTCUSDT' ? BTC : undefined);
const PLAIN = /^\d+(\.\d+)?$/;

/** Units as Binance writes them: 8 decimals, whatever the grid. */
const wire = (units, dec) => {
  const s = String(units).padStart(dec + 1, '0');
  return `${s.slice(0, s.length - dec)}.${s.slice(s.length - dec)}`.padEnd(s.length + 1 + (8 - dec), '0');
};

/** Units of a plain decimal at `dec` decimals, exactly, or undefined off the grid. */
function unitsAt(text, dec) {
  if (typeof text !== 'string' || !PLAIN.test(text)) return undefined;
  const [w, f = ''] = text.split('.');
  if (f.replace(/0+$/, '').length > dec) return undefined;
  return BigInt(w) * 10n ** BigInt(dec) + BigInt((f.replace(/0+$/, '') || '0').padEnd(dec, '0'));
}

class VenueModel {
  constructor(rng) {
    this.rng = rng;
    this.orderId = 4_000_000;
    this.tradeId = 70_000_000;
    this.execId = 900_000_000;
    this.ts = 1_764_921_600_000;
    this.queue = [];
  }
  frame(ev) {
    return JSON.stringify({ subscriptionId: 0, event: ev });
  }
  /** The events of one order's life, queued. */
  order() {
    const r = this.rng;
    const id = ++this.orderId;
    const cid = `cwts-${id.toString(36)}`;
    // now and then a quantity near 2^53 lots, where a float would round
    const qty = r.chance(0.1) ? 8_000_000_000_000_000 + r.int(1_000_000_000_000_000) : 1 + r.int(3_000_000);
    const price = 6_000_000 + r.int(100_000);
    const side = r.chance(0.5) ? 'BUY' : 'SELL';
    const base = (x, X, extra) => ({
      e: 'executionReport', E: (this.ts += 1 + r.int(50)), s: 'BTCUSDT', c: cid, S: side, o: 'LIMIT', f: 'GTC', q: wire(qty, LOT_DEC), p: wire(price, TICK_DEC),
      P: '0.00000000', F: '0.00000000', g: -1, C: '', x, X, r: 'NONE', i: id, l: '0.00000000', z: '0.00000000', L: '0.00000000', n: '0', N: null,
      T: this.ts, t: -1, I: ++this.execId, w: true, m: false, M: false, O: this.ts, Z: '0.00000000', Y: '0.00000000', Q: '0.00000000', W: this.ts, V: 'NONE', ...extra,
    });
    this.queue.push({ text: this.frame(base('NEW', 'NEW', {})), kind: 'new', expect: { cum: 0n } });
    let cum = 0;
    while (cum < qty && r.chance(0.8)) {
      const last = Math.min(qty - cum, 1 + r.int(Math.max(1, Math.floor(qty / 2))));
      cum += last;
      const fee = r.int(10_000_000);
      const tradeId = ++this.tradeId;
      const X = cum === qty ? 'FILLED' : 'PARTIALLY_FILLED';
      const ev = base('TRADE', X, { l: wire(last, LOT_DEC), z: wire(cum, LOT_DEC), L: wire(price, TICK_DEC), n: wire(fee, 8), N: r.chance(0.2) ? 'BNB' : 'USDT', t: tradeId, m: r.chance(0.5) });
      this.queue.push({ text: this.frame(ev), kind: 'trade', expect: { cum: BigInt(cum), trade: { tradeId, lots: BigInt(last), ticks: BigInt(price) } } });
    }
    if (cum < qty) {
      this.queue.push({ text: this.frame(base('CANCELED', 'CANCELED', { c: `cancel-${id}`, C: cid, z: wire(cum, LOT_DEC) })), kind: 'cancel', expect: { cum: BigInt(cum), cid } });
    }
  }
  next() {
    const r = this.rng.next();
    if (r < 0.03) return { text: this.frame({ e: 'outboundAccountPosition', E: this.ts, u: this.ts, B: [{ a: 'BTC', f: '1.00000000', l: '0.00000000' }, { a: 'USDT', f: '1000.00000000', l: '0.00000000' }] }), kind: 'account' };
    if (r < 0.04) return { text: this.frame({ e: 'balanceUpdate', E: this.ts, a: 'BTC', d: '0.50000000', T: this.ts }), kind: 'balance' };
    if (r < 0.05) return { text: '{"id":"uds-1","status":200,"result":{"subscriptionId":0},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":2}]}', kind: 'answer' };
    if (r < 0.055) return { text: this.frame({ e: 'eventStreamTerminated', E: this.ts }), kind: 'terminated' };
    if (this.queue.length === 0) this.order();
    return this.queue.shift();
  }
}

/** Accepted reports must carry exact, positive, on-grid money that adds up. */
function checkAccepted(m, text) {
  if (m.kind === 'rejected' && m.reason === 'internal') throw new FuzzFailure('invalid-event', `the parser's guard caught an error: ${m.message}; frame ${text.slice(0, 200)}`);
  if (m.kind !== 'order') return;
  const u = m.update;
  const fail = (what) => {
    throw new FuzzFailure('invalid-event', `${what} accepted: ${text.slice(0, 240)}`);
  };
  if (u.symbol !== 'BTCUSDT' || typeof u.clientOrderId !== 'string' || u.clientOrderId.length === 0) fail('an order without symbol or client id');
  if (!Number.isSafeInteger(u.orderId) || u.orderId < 0) fail(`order id ${u.orderId}`);
  for (const [k, v] of [['qtyLots', u.qtyLots], ['priceTicks', u.priceTicks], ['cumLots', u.cumLots]]) if (!Number.isSafeInteger(v) || v < 0) fail(`${k} ${v}`);
  if (u.qtyLots > 0 && u.cumLots > u.qtyLots) fail(`filled ${u.cumLots} of ${u.qtyLots}`);
  if (u.execType === 'TRADE') {
    const t = u.trade;
    if (!t) fail('a trade without its trade');
    if (!(Number.isSafeInteger(t.lots) && t.lots > 0 && t.lots <= u.cumLots)) fail(`trade lots ${t.lots} (cum ${u.cumLots})`);
    if (!(Number.isSafeInteger(t.ticks) && t.ticks > 0)) fail(`trade ticks ${t.ticks}`);
    if (unitsAt(t.qty, LOT_DEC) !== BigInt(t.lots) || unitsAt(t.price, TICK_DEC) !== BigInt(t.ticks)) fail(`trade text ${t.qty} @ ${t.price} read as ${t.lots} lots @ ${t.ticks} ticks`);
    if (!Number.isSafeInteger(t.tradeId) || t.tradeId < 0) fail(`trade id ${t.tradeId}`);
    if (!PLAIN.test(t.commission)) fail(`commission ${t.commission}`);
    if (!(Number.isSafeInteger(t.ts) && t.ts > 0)) fail(`trade time ${t.ts}`);
  } else if (u.trade !== undefined) fail(`a trade on a ${u.execType} report`);
}

export async function create({ seed }) {
  return parserTarget({
    seed,
    venue: new VenueModel(new Prng(seed)),
    newParser: () => new BinanceUserStreamParser(instrument),
    parse: (p, data) => p.parse(typeof data === 'string' ? data : new TextDecoder().decode(data)),
    check: checkAccepted,
    readBack(c, want, text) {
      const u = c.kind === 'order' ? c.update : undefined;
      const t = u?.trade;
      const ok = u && BigInt(u.cumLots) === want.cum && (want.cid === undefined || u.clientOrderId === want.cid) &&
        (want.trade ? t && t.tradeId === want.trade.tradeId && BigInt(t.lots) === want.trade.lots && BigInt(t.ticks) === want.trade.ticks : t === undefined);
      if (!ok) throw new FuzzFailure('invalid-event', `a clean report read back as ${JSON.stringify(u ?? c)}; expected ${JSON.stringify(want, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}: ${text.slice(0, 200)}`);
    },
  });
}

/**
 * bybit-ws: Bybit v5 public spot frames (`orderbook.50.<symbol>` snapshots and deltas kept in
 * order by `u`, `publicTrade.<symbol>` with string trade ids, subscribe/unsubscribe replies and
 * refusals, `{"op":"ping"}` answers, a topic we did not subscribe) through the real
 * `BybitMarketData` adapter, without a socket, into the engine's `L2BookStore`. Spot category only
 * (linear's `allLiquidation` topic and UUID trade ids are not driven). Two symbols on different
 * grids: BTCUSDT (tick 0.01, lot 0.000001) and DOGEUSDT (tick 0.00001, lot 0.1).
 *
 * The model venue keeps a true book of at most 30 levels a side per symbol (inside the subscribed
 * depth 50, so no level leaves scope) and an update id `u` per symbol, and answers the adapter's
 * own messages, sent on a fake open connection: `subscribe` (a reply, then a snapshot per book
 * topic; "already subscribed" refused), `unsubscribe` (a reply), `ping` (spot's pong reply, except
 * for a few pings it leaves unanswered: the adapter must then reconnect, which the harness plays as
 * a new connection). Now and then the venue pushes a snapshot mid-stream, and now and then it
 * restarts its service: a snapshot with u=1, deltas from 2; and now and then a delta never
 * reaches the client (a gap in `u`: the next one must not be applied). Spot trade ids are numeric strings of
 * 19 digits (beyond 2^53: consecutive ids are equal as floats).
 *
 * Each fuzz frame is a mutated copy of the venue's next frame, the frame itself, then the answers
 * the adapter's resyncs asked for (untouched), so a book is SYNCED again within the fuzz frame.
 * An accepted copy of a delta takes its `u`, so the real frame after it is a repeat (dropped).
 *
 * The reference consumer reads frames strictly (JSON.parse, no repeated key; `u` a safe integer;
 * each level exactly ["price","qty"], decimal strings on the symbol's grid, price > 0, qty >= 0,
 * > 0 in a snapshot; `data.s` the topic's symbol) and applies Bybit's documented rules: a snapshot
 * is the symbol's whole book (u=1 too: a service restart); a delta sets qty at price, "0" deletes;
 * a delta with `u` = last + 1 applies, one at or below the last is a repeat and is dropped, any
 * other leaves the symbol untrusted until its next snapshot; a book frame it cannot read for a
 * topic it names, a crossed book or a snapshot listing a price twice leaves it untrusted too.
 */
import * as BYBIT from '@cwts/exchange-bybit';
import { strictUnits } from '../reference-book.mjs';
import { FakeConn, ReferenceBooks, WsBookHarness, createWsBookTarget, isJsonObject, nextOwedFrame, parseStrictJson, settle, venueMutate, wsBookCoverage, seedVenueBook } from './ws-book-common.mjs';
import { FuzzFailure } from '../failure.mjs';

export const description = 'Bybit v5 spot orderbook/publicTrade frames -> BybitMarketData (BybitFeed, BookSync, trade ring) -> L2BookStore';

const EXCHANGE = 'bybit';
const DEPTH = 50;
/** True-book price slots per side (about 70 % hold a level), all within DEPTH. */
const SLOTS = 30;
const PING_MS = 1000;
const PONG_MS = 500;
const TIME0 = Date.parse('2026-12-05T06:00:00.000Z');

export const SYMBOLS_INFO = [
  { symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lot: '0.000001', tickDec: 2, lotDec: 6, mid: 6_500_000, maxQty: 3_000_000 },
  { symbol: 'DOGEUSDT', base: 'DOGE', quote: 'USDT', tickSize: '0.00001', lot: '0.1', tickDec: 5, lotDec: 1, mid: 40_000, maxQty: 500_000 },
];
const BY_SYMBOL = new Map(SYMBOLS_INFO.map((p) => [p.symbol, p]));
const SYMBOLS = SYMBOLS_INFO.map((p) => p.symbol);
const bookTopic = (s) => `orderbook.${DEPTH}.${s}`;
const tradeTopic = (s) => `publicTrade.${s}`;
const BOOK_TOPICS = new Map(SYMBOLS.map((s) => [bookTopic(s), s]));
const TRADE_TOPICS = new Map(SYMBOLS.map((s) => [tradeTopic(s), s]));

/** instruments-info as Bybit answers it for spot (the fields the adapter reads). */
const INSTRUMENTS_INFO = {
  retCode: 0,
  retMsg: 'OK',
  result: { category: 'spot', list: SYMBOLS_INFO.map((p) => ({ symbol: p.symbol, status: 'Trading', baseCoin: p.base, quoteCoin: p.quote, priceFilter: { tickSize: p.tickSize }, lotSizeFilter: { basePrecision: p.lot, minOrderAmt: '1' } })) },
};

/** units of 10^-d as a decimal string: `pad` keeps every decimal (Bybit's "16578.50"), else trailing zeros trimmed. */
export function dec(units, d, pad) {
  const s = String(units).padStart(d + 1, '0');
  const out = d === 0 ? s : `${s.slice(0, s.length - d)}.${s.slice(s.length - d)}`;
  return pad || d === 0 ? out : out.replace(/0+$/, '').replace(/\.$/, '');
}

let venueTime = TIME0;
const CONN = 'cmo2cjn1c84hb8d3rtpg-5t8r';

/** The venue: true books, update ids and trades of both symbols, the subscriptions of one connection. */
class VenueModel {
  constructor(rng) {
    this.rng = rng;
    this.books = new Map();
    this.u = new Map();
    this.seq = 60_000_000_000 + rng.int(1_000_000);
    this.tradeId = 2_290_000_000_061_666_000n + BigInt(rng.int(100_000));
    for (const p of SYMBOLS_INFO) {
      this.books.set(p.symbol, seedVenueBook(rng, p.mid, p.maxQty, SLOTS));
      this.u.set(p.symbol, 100_000_000 + rng.int(1_000_000));
    }
    this.onRealTrade = () => {};
    this.silentPings = 0;
    this.lostDeltas = 0;
    this.connectionOpened();
  }

  connectionOpened() {
    this.topics = new Set();
    this.queue = [];
    /** virtual time of the first ping left unanswered on this connection */
    this.silentSince = undefined;
  }

  control(op, m, success, retMsg) {
    return `{"success":${success},"ret_msg":${JSON.stringify(retMsg)},"conn_id":"${CONN}"${m.req_id !== undefined ? `,"req_id":${JSON.stringify(m.req_id)}` : ''},"op":"${op}"}`;
  }

  onClientMessage(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    const args = Array.isArray(m?.args) ? m.args : [];
    if (m?.op === 'ping') {
      // a few pings go unanswered: the adapter must give up on the connection
      if (this.rng.chance(0.04)) {
        this.silentPings++;
        this.silentSince ??= venueTime;
        return;
      }
      this.queue.push(() => ({ text: this.control('ping', m, true, 'pong'), kind: 'pong' }));
    } else if (m?.op === 'subscribe') {
      this.queue.push(() => {
        const known = args.every((t) => BOOK_TOPICS.has(t) || TRADE_TOPICS.has(t));
        const dup = args.find((t) => this.topics.has(t));
        // Bybit takes at most 10 topics in one request (the adapter splits longer lists)
        if (args.length > 10) return { text: this.control('subscribe', m, false, `error:args size >10`), kind: 'error' };
        if (!known || dup) return { text: this.control('subscribe', m, false, dup ? `error:already subscribed,topic:${dup}` : `error:handler not found,topic:${args.join(',')}`), kind: 'error' };
        for (const t of args) this.topics.add(t);
        return { text: this.control('subscribe', m, true, 'subscribe'), kind: 'reply' };
      });
      for (const t of args) if (BOOK_TOPICS.has(t)) this.queue.push(() => (this.topics.has(t) ? this.snapshot(BOOK_TOPICS.get(t)) : undefined));
    } else if (m?.op === 'unsubscribe') {
      this.queue.push(() => {
        for (const t of args) this.topics.delete(t);
        return { text: this.control('unsubscribe', m, true, ''), kind: 'reply' };
      });
    }
  }

  owed() {
    return nextOwedFrame(this.queue);
  }

  side(symbol, side) {
    const m = this.books.get(symbol)[side];
    return [...m].sort(side === 'bids' ? (a, b) => b[0] - a[0] : (a, b) => a[0] - b[0]).map(([price, qty]) => ({ price, qty }));
  }

  bookFrame(type, symbol, bids, asks, u) {
    const p = BY_SYMBOL.get(symbol);
    const pad = this.rng.chance(0.5);
    const lv = (ls) => `[${ls.map((l) => `["${dec(l.price, p.tickDec, true)}","${dec(l.qty, p.lotDec, pad)}"]`).join(',')}]`;
    this.seq += 1 + this.rng.int(50);
    return `{"topic":"${bookTopic(symbol)}","type":"${type}","ts":${venueTime},"data":{"s":"${symbol}","b":${lv(bids)},"a":${lv(asks)},"u":${u},"seq":${this.seq}},"cts":${venueTime - 2}}`;
  }

  snapshot(symbol, restart = false) {
    if (restart) this.u.set(symbol, 1);
    return { text: this.bookFrame('snapshot', symbol, this.side(symbol, 'bids'), this.side(symbol, 'asks'), this.u.get(symbol)), kind: `book snapshot ${symbol}` };
  }

  delta(symbol) {
    const p = BY_SYMBOL.get(symbol);
    const b = this.books.get(symbol);
    const r = this.rng;
    const bids = new Map();
    const asks = new Map();
    for (let i = 0, n = 1 + r.int(3); i < n; i++) {
      const bid = r.chance(0.5);
      const k = r.chance(0.5) ? 1 + r.int(8) : 1 + r.int(SLOTS);
      const price = bid ? p.mid - k : p.mid + k;
      const side = bid ? b.bids : b.asks;
      const out = bid ? bids : asks;
      if (side.has(price) && side.size > 3 && r.chance(0.4)) {
        side.delete(price);
        out.set(price, 0);
      } else {
        const q = 1 + r.int(p.maxQty);
        side.set(price, q);
        out.set(price, q);
      }
    }
    const u = this.u.get(symbol) + 1;
    this.u.set(symbol, u);
    const list = (m) => [...m].map(([price, qty]) => ({ price, qty }));
    return { text: this.bookFrame('delta', symbol, list(bids), list(asks), u), kind: 'book delta' };
  }

  trades(symbol) {
    const p = BY_SYMBOL.get(symbol);
    const r = this.rng;
    const pad = r.chance(0.5);
    const rows = [];
    for (let i = 0, n = 1 + r.int(3); i < n; i++) {
      this.tradeId += 1n;
      const id = String(this.tradeId);
      const t = { symbol, id, price: p.mid + r.int(21) - 10, qty: 1 + r.int(p.maxQty / 3), side: r.chance(0.5) ? 'buy' : 'sell' };
      this.onRealTrade(t);
      rows.push(`{"T":${venueTime - 1},"s":"${symbol}","S":"${t.side === 'buy' ? 'Buy' : 'Sell'}","v":"${dec(t.qty, p.lotDec, pad)}","p":"${dec(t.price, p.tickDec, true)}","L":"PlusTick","i":"${id}","BT":false}`);
    }
    return { text: `{"topic":"${tradeTopic(symbol)}","ts":${venueTime},"type":"snapshot","data":[${rows.join(',')}]}`, kind: 'trade' };
  }

  next() {
    venueTime += 50;
    const r = this.rng.next();
    const books = SYMBOLS.filter((s) => this.topics.has(bookTopic(s)));
    const trades = SYMBOLS.filter((s) => this.topics.has(tradeTopic(s)));
    if (r < 0.58 && books.length > 0) {
      const s = this.rng.pick(books);
      const d = this.delta(s);
      if (!this.rng.chance(0.04)) return d;
      // the frame never reaches the client (a gap in `u`): the next delta must not be applied
      this.lostDeltas++;
      return this.delta(s);
    }
    if (r < 0.84 && trades.length > 0) return this.trades(this.rng.pick(trades));
    if (r < 0.87 && books.length > 0) return this.snapshot(this.rng.pick(books)); // "a snapshot will be re-sent"
    if (r < 0.88 && books.length > 0) return this.snapshot(this.rng.pick(books), true); // service restart: u = 1
    if (r < 0.95) return { text: `{"topic":"orderbook.50.ETHUSDT","type":"delta","ts":${venueTime},"data":{"s":"ETHUSDT","b":[["3000.12","1.5"]],"a":[],"u":5,"seq":7},"cts":${venueTime}}`, kind: 'foreign' };
    if (r < 0.98) return { text: `{"topic":"tickers.BTCUSDT","ts":${venueTime},"type":"snapshot","cs":1,"data":{"symbol":"BTCUSDT","lastPrice":"65000.00"}}`, kind: 'foreign' };
    return { text: this.control('subscribe', {}, false, 'Invalid topic'), kind: 'error' };
  }
}

/** A BookSync mirror's side, best first. */
function mirrorLevels(sync, side) {
  const m = side === 'bid' ? sync.mirror.bids : sync.mirror.asks;
  const out = [];
  for (let i = 0; i < m.n; i++) out.push({ price: m.priceAt(i), qty: m.qtyAt(i) });
  return out;
}

/**
 * The reference's reading of a frame: a book frame ({symbol, snapshot, u, bids, asks} or
 * {symbol, bad}) for a topic of ours, the trades of a trade frame, or other.
 */
function readFrame(o) {
  if (!isJsonObject(o) || typeof o.topic !== 'string') return { kind: 'other' };
  const bs = BOOK_TOPICS.get(o.topic);
  if (bs) {
    const p = BY_SYMBOL.get(bs);
    const bad = (why) => ({ kind: 'book', symbol: bs, bad: why });
    if (o.type !== 'snapshot' && o.type !== 'delta') return bad(`type ${JSON.stringify(o.type)}`);
    const d = o.data;
    if (!isJsonObject(d) || d.s !== bs) return bad('data without this topic\'s symbol');
    if (!Number.isSafeInteger(d.u) || d.u < 0) return bad(`u ${JSON.stringify(d.u)}`);
    const snapshot = o.type === 'snapshot';
    let long = false;
    const levels = (list) => {
      if (!Array.isArray(list)) return undefined;
      const out = [];
      for (const l of list) {
        if (!Array.isArray(l) || l.length < 2) return undefined;
        if (l.length > 2) long = true;
        const price = strictUnits(l[0], p.tickDec);
        const qty = strictUnits(l[1], p.lotDec);
        if (price === undefined || qty === undefined || !(price > 0) || !(qty >= 0) || (snapshot && !(qty > 0))) return undefined;
        // strictUnits reads digits beyond the grid only when they are zeros; "-0" is 0
        out.push({ price, qty: qty === 0 ? 0 : qty });
      }
      return out;
    };
    const bids = levels(d.b);
    const asks = levels(d.a);
    if (!bids || !asks) return bad('a level the reference cannot read');
    const repeated = snapshot && [bids, asks].some((ls) => new Set(ls.map((l) => l.price)).size !== ls.length);
    // a level is ["price","qty"]: one with more entries is not Bybit's shape (`long`: the harness
    // decides, see Harness.frame)
    return { kind: 'book', symbol: bs, snapshot, u: d.u, bids, asks, repeated, long };
  }
  const ts = TRADE_TOPICS.get(o.topic);
  if (ts) {
    const p = BY_SYMBOL.get(ts);
    const trades = [];
    if (Array.isArray(o.data)) {
      for (const t of o.data) {
        if (!isJsonObject(t) || t.s !== ts || typeof t.i !== 'string' || t.i.length === 0) continue;
        const price = strictUnits(t.p, p.tickDec);
        const qty = strictUnits(t.v, p.lotDec);
        if (price === undefined || qty === undefined || !(price > 0) || !(qty > 0) || (t.S !== 'Buy' && t.S !== 'Sell')) continue;
        trades.push({ symbol: ts, id: t.i, price, qty, side: t.S === 'Buy' ? 'buy' : 'sell' });
      }
    }
    return { kind: 'trade', trades };
  }
  return { kind: 'other' };
}

/** A correct consumer of Bybit's v5 orderbook topic, fed the same frames as the adapter. */
class ReferenceConsumer extends ReferenceBooks {
  constructor(counts) {
    super(SYMBOLS, { u: -1 });
    this.counts = counts;
  }

  onBook(e) {
    const b = this.books.get(e.symbol);
    if (e.bad) return this.lose(e.symbol, `a ${e.symbol} book frame it cannot read: ${e.bad}`);
    if (e.repeated) return this.lose(e.symbol, `a ${e.symbol} snapshot that lists a price twice`);
    if (e.snapshot) {
      if (e.u === 1) this.counts.referenceRestarts++;
      b.book.load(e.bids, e.asks);
      b.u = e.u;
      b.synced = true;
      b.reason = '';
    } else {
      if (!b.synced) return;
      if (e.u <= b.u) {
        this.counts.referenceRepeats++;
        return; // a delta at or below the last applied u: a repeat
      }
      if (e.u !== b.u + 1) return this.lose(e.symbol, `u ${e.u} after ${b.u}: a gap`);
      b.book.apply(e.bids, e.asks);
      b.u = e.u;
    }
    if (b.book.crossed()) {
      b.synced = false;
      b.reason = 'crossed';
    }
  }
}

/** The open connection the adapter believes it has; a pong-timeout reconnect is recorded. */
class BybitConn extends FakeConn {
  reconnect(reason) {
    this.reconnectAsked = String(reason);
  }
}

/**
 * One BybitMarketData under test (see WsBookHarness), its ping/pong deadline included: a
 * reconnect the adapter asks for is played as a new connection, and besides the engine's books
 * the adapter's own SYNCED BookSync mirror is judged.
 */
class Harness extends WsBookHarness {
  constructor(venue, vt, mod) {
    super(venue, vt, mod, { exchange: EXCHANGE, target: 'bybit-ws', symbols: SYMBOLS, counts: { referenceRestarts: 0, referenceRepeats: 0, pongs: 0, pongReconnects: 0, checksMirror: 0 }, stringTradeIds: true, startupMs: 200 });
    this.ref = new ReferenceConsumer(this.counts);
  }

  createAdapter() {
    const vt = this.vt;
    const { BybitMarketData: MD, DEFAULT_BYBIT_OPTIONS: DEF, instrumentsFromInstrumentsInfo } = this.mod;
    return new MD({
      exchange: EXCHANGE,
      // unparsable on purpose: the adapter's WsConnection never opens a socket; the fake connection stands in
      endpoints: { wsUrl: 'fuzz:no-socket', restRoot: 'fuzz:no-rest', category: 'spot' },
      options: { ...DEF, depth: DEPTH, instrument_refresh_ms: 0, start_timeout_ms: 100, stale_after_ms: 0, ping_interval_ms: PING_MS, pong_timeout_ms: PONG_MS, trade_id_memory: 32 },
      clock: { now: () => vt.now, monoNs: () => process.hrtime.bigint() },
      random: () => 0.5,
      instruments: instrumentsFromInstrumentsInfo(EXCHANGE, 'spot', INSTRUMENTS_INFO, SYMBOLS),
    });
  }

  connection(onSend) {
    return new BybitConn(onSend);
  }

  onAnswer(f) {
    if (f.kind === 'pong') this.counts.pongs++;
  }

  async frame(text, clean) {
    const o = parseStrictJson(text);
    let read = readFrame(o);
    this.ledger.beginFrame(read.kind === 'trade' ? read.trades : []);
    const stats = this.feed.stats;
    const bookBefore = stats.deltas + stats.snapshots;
    const tradesBefore = stats.trades + stats.duplicateTrades;
    let lenient;
    if (o === undefined) {
      // not strict JSON: the reference reads nothing. Should the adapter take it anyway, its
      // JSON.parse reading (a repeated key: the last value) stands in for the trade ledger.
      try {
        lenient = readFrame(JSON.parse(text));
      } catch {
        lenient = { kind: 'other' };
      }
      if (lenient.kind === 'trade') this.ledger.beginFrame(lenient.trades);
    }
    const refused = this.deliver(text);
    const tookBook = stats.deltas + stats.snapshots !== bookBefore;
    const tookTrades = stats.trades + stats.duplicateTrades !== tradesBefore;
    if (o === undefined && !refused && (tookBook || tookTrades)) {
      // a book or trade frame that is not strict JSON (a repeated key, a broken value the fast
      // path skips) must be refused, never taken
      throw new FuzzFailure('invalid-event', `a ${tookBook ? 'book' : 'trade'} frame that is not strict JSON was accepted instead of refused\n${text.slice(0, 300)}`);
    }
    // a level with more than two entries (["p","q","x"]) is not Bybit's shape: the reference
    // cannot read the frame (the adapter must refuse it; the judge fails a SYNCED book otherwise)
    if (read.kind === 'book' && read.long && !read.bad) read = { kind: 'book', symbol: read.symbol, bad: 'a level that is not ["price","qty"]' };
    // a snapshot listing a price twice leaves the reference untrusted (ReferenceConsumer.onBook):
    // the adapter must refuse it (bad_snapshot) and ask again
    if (read.kind === 'book') {
      this.ref.onBook(read);
    }
    if (clean && read.kind === 'trade') this.ledger.checkCleanFrame(read.trades, new Map(), refused);
    await settle();
    this.check();
  }

  async advance(ms) {
    const ran = this.vt.advance(ms);
    if (ran > 0) await settle();
    const asked = this.conn.reconnectAsked;
    if (asked !== undefined) {
      if (this.venue.silentSince === undefined) throw new FuzzFailure('lost-data', `the adapter reconnected (${asked}) though the venue answered every ping`);
      this.counts.pongReconnects++;
      // the connection drops and a new one opens: every book starts over from its snapshot
      this.md.onDown(asked);
      this.ref.loseAll('connection lost');
      this.open(true, asked);
      await settle();
      await this.drain();
    } else if (this.venue.silentSince !== undefined && this.vt.now - this.venue.silentSince > PONG_MS + 2 * PING_MS) {
      throw new FuzzFailure('lost-data', `a ping unanswered since ${this.vt.now - this.venue.silentSince} ms and the adapter did not reconnect (pong timeout ${PONG_MS} ms)`);
    }
    this.check();
  }

  check() {
    super.check();
    // The adapter's own SYNCED book too (its BookSync mirror, what it emits from): the engine's
    // L2BookStore checks the sequence of what it is given, and would hide an adapter that let a
    // gap through (it goes to resyncing and asks the adapter for a snapshot).
    for (const s of SYMBOLS) {
      const sync = this.md.syncOf(s);
      if (sync?.state !== 'synced') continue;
      this.counts.checksMirror++;
      const ref = this.ref.books.get(s);
      if (!ref.synced) throw new FuzzFailure('wrong-synced-book', `${s}: the adapter's book (BookSync mirror) is SYNCED but the reference consumer is not (${ref.reason})`);
      for (const side of ['bid', 'ask']) {
        const a = mirrorLevels(sync, side);
        const b = ref.book.levels(side);
        for (let i = 0; i < Math.max(a.length, b.length); i++) {
          const x = a[i];
          const y = b[i];
          if (!x || !y || x.price !== y.price || x.qty !== y.qty) {
            const f = (l) => (l ? `${l.price}x${l.qty}` : 'none');
            throw new FuzzFailure('wrong-synced-book', `${s}: the adapter's SYNCED book (BookSync mirror at u=${sync.lastSeq}) differs from the reference (u=${ref.u}): ${side} level ${i}: adapter ${f(x)}, reference ${f(y)} (adapter has ${a.length} ${side}s, reference ${b.length})`);
          }
        }
      }
    }
  }
}

const ALTS = {
  topic: ['orderbook.50.BTCUSDT', 'orderbook.50.DOGEUSDT', 'orderbook.1.BTCUSDT', 'publicTrade.BTCUSDT', 'publicTrade.DOGEUSDT'],
  s: ['BTCUSDT', 'DOGEUSDT', 'ETHUSDT'],
  type: ['snapshot', 'delta'],
  S: ['Buy', 'Sell'],
  p: ['65000.01', '64999.99', '65000.00', '0.40001', '0.39999', '0'],
  v: ['0', '1', '0.5', '0.000001', '12.3', '-1'],
};

/** A level's price or quantity string swapped for a plausible other (a neighbour, "0", the other one of the pair). */
function levelMutate(text, rng) {
  const hits = [...text.matchAll(/\["(\d+(?:\.\d+)?)","(\d+(?:\.\d+)?)"\]/g)];
  if (hits.length === 0) return undefined;
  const h = hits[rng.int(hits.length)];
  const [price, qty] = [h[1], h[2]];
  const nudge = (s) => {
    const d = (s.split('.')[1] ?? '').length;
    const n = BigInt(s.replace('.', '')) + (rng.chance(0.5) ? 1n : -1n);
    return n < 0n ? '0' : dec(n, d, true);
  };
  const c = [`["${nudge(price)}","${qty}"]`, `["${price}","${nudge(qty)}"]`, `["${price}","0"]`, `["${qty}","${price}"]`, `["${price}","${qty}"],["${price}","${nudge(qty)}"]`, `["${price}"]`, `["${price}","${qty}","${qty}"]`];
  return [text.slice(0, h.index) + c[rng.int(c.length)] + text.slice(h.index + h[0].length), 'venue-level'];
}

export function create({ seed }) {
  return createWsBookTarget({
    seed,
    adapter: BYBIT,
    adapterCopyEnv: 'CWTS_FUZZ_BYBIT_MODULE',
    Venue: VenueModel,
    Harness,
    venueMutation: (text, rng) => (rng.chance(0.35) ? levelMutate(text, rng) : venueMutate(text, rng, { idKeys: ['u', 'seq', 'i'], alts: ALTS })),
    venueCounts: (venue) => ({ silentPings: venue.silentPings, lostDeltas: venue.lostDeltas }),
  });
}

/**
 * What a run must have exercised (runner kind `vacuous`), and the trade floor (`lost-data`), as
 * shares of the run's own counts, about half of what the lowest of seeds 1-3 gave at 3,000
 * frames on main (per fuzz frame: 6.46-6.52 SYNCED checks of the engine's books and as many of
 * the adapter's own, 0.208-0.219 snapshots adopted, 0.255-0.275 clean trade frames checked,
 * 0.046-0.047 pongs; 98.6-99.4 % of the venue's trades emitted), so they hold for any seed and fail an adapter or harness that stopped syncing,
 * stopped emitting, stopped answering pings, or was never reached.
 * - checksSynced >= 3 x frames: both books are checked after each of the (about three) frames a
 *   fuzz frame delivers, and they are SYNCED again once the venue's answers are in.
 * - checksMirror >= 3 x frames: the same for the adapter's own BookSync mirror.
 * - snapshotsAdopted >= 0.1 x frames: mutated book frames end in a resync (unsubscribe,
 *   subscribe), answered by a snapshot; the venue also pushes snapshots and restarts (u=1).
 * - cleanTradeFramesChecked >= frames / 8: trade frames delivered clean and not refused, whose
 *   trades must each be emitted.
 * - pongs >= frames / 50: the venue answered the adapter's `{"op":"ping"}` (one a second of
 *   virtual time, 50 ms a fuzz frame), so the heartbeat ran.
 * - cleanTradesEmitted >= 0.8 x cleanTrades: the venue's trades reach the tape (Bybit resends no
 *   trade: one whose id a mutated copy took with other values is lost for good).
 */
export function coverage(c, frames) {
  return wsBookCoverage(c, frames, [
    ['checksSynced', frames * 3],
    ['checksMirror', frames * 3, (n, f, min) => `only ${n} checks of the adapter's own SYNCED books in ${f} frames (floor ${min})`],
    ['snapshotsAdopted', Math.floor(frames * 0.1)],
    ['cleanTradeFramesChecked', Math.floor(frames / 8)],
    ['pongs', Math.floor(frames / 50), (n, f, min) => `only ${n} pongs delivered in ${f} frames (floor ${min}): the heartbeat hardly ran`],
  ]);
}

/**
 * coinbase-ws: Coinbase Advanced Trade market-data frames (level2 `l2_data` snapshots and
 * updates, `market_trades` snapshots and updates, heartbeats, subscription replies, venue errors,
 * a product we did not subscribe) through the real `CoinbaseMarketData` adapter, without a
 * socket, into the engine's `L2BookStore`. Two products on different grids (BTC-USD: 0.01 /
 * 1e-8, DOGE-USD: 0.00001 / 0.1), so a level read on the wrong product's grid is 1000x off.
 *
 * The adapter's subscribes reach the model venue through a fake connection: a level2 subscribe
 * is answered with a snapshot per product (the book now, on the connection's sequence_num), a
 * market_trades subscribe with the recent trades. Each fuzz frame is a mutated copy of the
 * venue's next frame followed by the frame itself (same sequence_num: an accepted copy makes the
 * real frame a gap, as it would be on the venue). Timers (resubscribe backoff, snapshot
 * deadline) run on virtual time.
 *
 * The reference consumer applies the clean reading of every frame by Coinbase's documented
 * rules: `sequence_num` counts every message of the connection (a gap: no book can be trusted
 * until its next snapshot); a level2 `snapshot` event is the product's whole book; an `update`
 * event sets `new_quantity` at `price_level` (0 deletes); a frame that is not strict JSON
 * (a repeated key included), has no valid sequence_num, or holds an event or level it cannot
 * read is not applied and leaves every book it names untrusted.
 */
import { defineInstrument } from '@cwts/core';
import * as COINBASE from '@cwts/exchange-coinbase';
import { strictUnits } from '../reference-book.mjs';
import { RAW_CONTROL_CHAR, RAW_CONTROL_CHARS, ReferenceBooks, WsBookHarness, createWsBookTarget, isJsonObject, nextOwedFrame, parseStrictJson, settle, venueMutate, wsBookCoverage } from './ws-book-common.mjs';
import { FuzzFailure } from '../failure.mjs';

export const description = 'Coinbase level2/market_trades frames -> CoinbaseMarketData (CoinbaseFeed, BookSync) -> L2BookStore';

const EXCHANGE = 'coinbase';
const TIME = '2026-12-05T06:00:00.000000Z';

const PRODUCTS = [
  { symbol: 'BTC-USD', priceDec: 2, qtyDec: 8, mid: 6_500_000, maxQty: 200_000_000, instrument: defineInstrument({ exchange: EXCHANGE, symbol: 'BTC-USD', base: 'BTC', quote: 'USD', tickSize: '0.01', lotSize: '0.00000001' }) },
  { symbol: 'DOGE-USD', priceDec: 5, qtyDec: 1, mid: 40_000, maxQty: 1_000_000, instrument: defineInstrument({ exchange: EXCHANGE, symbol: 'DOGE-USD', base: 'DOGE', quote: 'USD', tickSize: '0.00001', lotSize: '0.1' }) },
];
const BY_SYMBOL = new Map(PRODUCTS.map((p) => [p.symbol, p]));
const SYMBOLS = PRODUCTS.map((p) => p.symbol);

const dec = (units, d) => {
  if (d === 0) return String(units);
  const s = String(units).padStart(d + 1, '0');
  return `${s.slice(0, s.length - d)}.${s.slice(s.length - d)}`;
};

/** Coinbase's envelope, in its own key order. */
/** The venue's clock (ms): every frame of its own is 100 ms after the last; times written as Coinbase does (microseconds). */
let venueTime = Date.parse(TIME);
const iso = (ms) => `${new Date(ms).toISOString().slice(0, 23)}000Z`;
const envelope = (channel, seq, events) => `{"channel":"${channel}","client_id":"","timestamp":"${iso(venueTime)}","sequence_num":${seq},"events":${events}}`;
const level = (p, side, price, qty) => `{"side":"${side}","event_time":"${iso(venueTime)}","price_level":"${dec(price, p.priceDec)}","new_quantity":"${dec(qty, p.qtyDec)}"}`;

/** The venue: the true books and trades of both products, and the frames of one connection. */
class VenueModel {
  constructor(rng) {
    this.rng = rng;
    this.books = new Map();
    this.tradeId = new Map();
    /** The last trades per product, newest last (the market_trades snapshot). */
    this.recent = new Map();
    for (const p of PRODUCTS) {
      const bids = new Map();
      const asks = new Map();
      for (let k = 1; k <= 20; k++) {
        bids.set(p.mid - k, 1 + rng.int(p.maxQty));
        asks.set(p.mid + k, 1 + rng.int(p.maxQty));
      }
      this.books.set(p.symbol, { bids, asks });
      this.tradeId.set(p.symbol, 100_000 + rng.int(1_000_000));
      this.recent.set(p.symbol, []);
    }
    /** Trades the venue made (the ledger learns them from here). */
    this.onRealTrade = () => {};
    this.connectionOpened();
  }

  connectionOpened() {
    this.seq = 0;
    /** Frames owed to the client (answers to its subscribes), sent before anything new. */
    this.queue = [];
  }

  /** What the adapter sent on the connection. */
  onClientMessage(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    if (m.type !== 'subscribe') return;
    const ids = Array.isArray(m.product_ids) ? m.product_ids.filter((s) => BY_SYMBOL.has(s)) : [];
    this.queue.push(() => ({ text: envelope('subscriptions', this.seq++, `[{"subscriptions":{${JSON.stringify(m.channel)}:${JSON.stringify(ids)}}}]`), kind: 'subscriptions' }));
    if (m.channel === 'level2') for (const s of ids) this.queue.push(() => this.snapshot(s));
    if (m.channel === 'market_trades') this.queue.push(() => this.tradesSnapshot(ids));
  }

  /** The next frame owed to the client, or undefined. */
  owed() {
    return nextOwedFrame(this.queue);
  }

  /** The venue's next frame of its own (answers owed are sent by the harness first, see `drain`). */
  next() {
    venueTime += 100;
    const r = this.rng.next();
    if (r < 0.56) return this.update();
    if (r < 0.84) return this.trades();
    // unasked snapshots: the venue's book again (the adapter replaces a SYNCED book with it), recent trades
    if (r < 0.9) return this.snapshot(this.rng.pick(SYMBOLS));
    if (r < 0.91) return this.tradesSnapshot(SYMBOLS);
    if (r < 0.96) return { text: envelope('heartbeats', this.seq++, `[{"current_time":"${TIME}","heartbeat_counter":${this.seq}}]`), kind: 'heartbeat' };
    if (r < 0.98) return { text: envelope('l2_data', this.seq++, `[{"type":"update","product_id":"ETH-USD","updates":[{"side":"bid","event_time":"${TIME}","price_level":"3000.00","new_quantity":"1.5"}]}]`), kind: 'foreign' };
    return { text: '{"type":"error","message":"rate limit exceeded"}', kind: 'error' };
  }

  snapshot(symbol) {
    const p = BY_SYMBOL.get(symbol);
    const b = this.books.get(symbol);
    const bids = [...b.bids].sort((x, y) => y[0] - x[0]).map(([px, q]) => level(p, 'bid', px, q));
    const asks = [...b.asks].sort((x, y) => x[0] - y[0]).map(([px, q]) => level(p, 'offer', px, q));
    return { text: envelope('l2_data', this.seq++, `[{"type":"snapshot","product_id":"${symbol}","updates":[${[...bids, ...asks].join(',')}]}]`), kind: `l2 snapshot ${symbol}` };
  }

  /** One product's level changes (applied to the true book), as an event's updates array. */
  changes(p) {
    const r = this.rng;
    const b = this.books.get(p.symbol);
    const out = [];
    const n = 1 + r.int(4);
    for (let i = 0; i < n; i++) {
      const bid = r.chance(0.5);
      const price = bid ? p.mid - 1 - r.int(25) : p.mid + 1 + r.int(25);
      const qty = r.chance(0.3) ? 0 : 1 + r.int(p.maxQty);
      out.push(level(p, bid ? 'bid' : 'offer', price, qty));
      const side = bid ? b.bids : b.asks;
      if (qty === 0) side.delete(price);
      else side.set(price, qty);
    }
    return `{"type":"update","product_id":"${p.symbol}","updates":[${out.join(',')}]}`;
  }

  update() {
    const r = this.rng;
    // now and then one frame carries an update event of each product
    const list = r.chance(0.1) ? PRODUCTS : [r.pick(PRODUCTS)];
    return { text: envelope('l2_data', this.seq++, `[${list.map((p) => this.changes(p)).join(',')}]`), kind: list.length > 1 ? 'l2 update x2' : 'l2 update' };
  }

  trade(p) {
    const r = this.rng;
    const id = this.tradeId.get(p.symbol) + 1 + (r.chance(0.1) ? r.int(3) : 0);
    this.tradeId.set(p.symbol, id);
    const t = { symbol: p.symbol, id, price: p.mid + r.int(21) - 10, qty: 1 + r.int(p.maxQty / 2), side: r.chance(0.5) ? 'buy' : 'sell', time: venueTime };
    const recent = this.recent.get(p.symbol);
    recent.push(t);
    if (recent.length > 30) recent.shift();
    this.onRealTrade(t);
    return t;
  }

  trades() {
    const p = this.rng.pick(PRODUCTS);
    const rows = Array.from({ length: 1 + this.rng.int(3) }, () => this.trade(p));
    return { text: envelope('market_trades', this.seq++, `[{"type":"update","trades":[${rows.map(tradeRow).join(',')}]}]`), kind: 'trades update' };
  }

  tradesSnapshot(ids) {
    // newest first, as the venue lists them
    const rows = ids.flatMap((s) => [...this.recent.get(s)].reverse());
    return { text: envelope('market_trades', this.seq++, `[{"type":"snapshot","trades":[${rows.map(tradeRow).join(',')}]}]`), kind: 'trades snapshot' };
  }
}

function tradeRow(t) {
  const p = BY_SYMBOL.get(t.symbol);
  return `{"trade_id":"${t.id}","product_id":"${t.symbol}","price":"${dec(t.price, p.priceDec)}","size":"${dec(t.qty, p.qtyDec)}","side":"${t.side === 'buy' ? 'BUY' : 'SELL'}","time":"${iso(t.time)}"}`;
}

/** The reference's reading of a frame: {seq, channel, events} or undefined (not applied, sequence_num unknown). */
function readEnvelope(text) {
  const o = parseStrictJson(text);
  if (!isJsonObject(o)) return undefined;
  if (!Number.isSafeInteger(o.sequence_num) || o.sequence_num < 0) return undefined;
  return o;
}

/**
 * An l2_data frame's events as the reference reads them. Each event is one product's message:
 * a valid event is applied whatever the others hold; an event the reference cannot read leaves
 * its product untrusted (`bad`), and every product when it names none it can read (`badAll`).
 * An event of a product we did not subscribe is not ours (ignored).
 */
function readL2(o) {
  const events = [];
  const bad = [];
  if (!Array.isArray(o.events)) return { events, bad, badAll: 'events is not an array' };
  for (const e of o.events) {
    if (!isJsonObject(e) || typeof e.product_id !== 'string') return { events: [], bad, badAll: 'an event without a product_id' };
    const p = BY_SYMBOL.get(e.product_id);
    if (!p) continue;
    const fail = (why) => bad.push({ symbol: p.symbol, why });
    if ((e.type !== 'snapshot' && e.type !== 'update') || !Array.isArray(e.updates)) {
      fail('event without type/updates');
      continue;
    }
    const bids = [];
    const asks = [];
    let ok = true;
    for (const u of e.updates) {
      const price = isJsonObject(u) ? strictUnits(u.price_level, p.priceDec) : undefined;
      const qty = isJsonObject(u) ? strictUnits(u.new_quantity, p.qtyDec) : undefined;
      if (!isJsonObject(u) || (u.side !== 'bid' && u.side !== 'offer') || price === undefined || qty === undefined || price <= 0 || qty < 0) {
        fail(`level ${JSON.stringify(u)?.slice(0, 80)} of ${p.symbol} is invalid`);
        ok = false;
        break;
      }
      (u.side === 'bid' ? bids : asks).push({ price, qty });
    }
    if (ok) events.push({ symbol: p.symbol, snapshot: e.type === 'snapshot', bids, asks });
  }
  return { events, bad };
}

/** A market_trades frame's trades as the reference reads them ([] when any is unreadable). */
function readTrades(o) {
  if (!Array.isArray(o.events)) return { trades: [] };
  const out = [];
  let snapshot = false;
  for (const e of o.events) {
    if (!isJsonObject(e) || (e.type !== 'snapshot' && e.type !== 'update') || !Array.isArray(e.trades)) return { trades: [] };
    if (e.type === 'snapshot') snapshot = true;
    for (const t of e.trades) {
      if (!isJsonObject(t)) return { trades: [] };
      const p = BY_SYMBOL.get(t.product_id);
      if (!p || typeof t.trade_id !== 'string' || !/^\d{1,16}$/.test(t.trade_id) || !Number.isSafeInteger(Number(t.trade_id))) return { trades: [] };
      const price = strictUnits(t.price, p.priceDec);
      const qty = strictUnits(t.size, p.qtyDec);
      if (price === undefined || qty === undefined || price <= 0 || qty <= 0 || (t.side !== 'BUY' && t.side !== 'SELL')) return { trades: [] };
      out.push({ symbol: p.symbol, id: Number(t.trade_id), price, qty, side: t.side === 'BUY' ? 'buy' : 'sell' });
    }
  }
  return { trades: out, snapshot };
}

/** A correct consumer of Coinbase's level2 channel, fed the same frames as the adapter. */
class ReferenceConsumer extends ReferenceBooks {
  constructor() {
    super(SYMBOLS);
    this.lastSeq = -1;
  }

  /** One frame; returns the reference's reading of it (for the trade ledger). */
  onFrame(text) {
    const o = readEnvelope(text);
    if (!o) return undefined;
    const seq = o.sequence_num;
    const gap = this.lastSeq >= 0 && seq !== this.lastSeq + 1;
    const prev = this.lastSeq;
    this.lastSeq = seq;
    if (gap) {
      this.loseAll(`sequence gap: expected sequence_num ${prev + 1}, got ${seq}`);
      return { o, gap: true };
    }
    if (o.channel !== 'l2_data') return { o };
    const r = readL2(o);
    if (r.badAll) this.loseAll(`level2 frame ${seq} refused: ${r.badAll}`);
    for (const b of r.bad) this.lose(b.symbol, `level2 frame ${seq}: ${b.why}`);
    const refused = new Set(r.bad.map((b) => b.symbol));
    for (const e of r.events) {
      if (refused.has(e.symbol)) continue;
      const b = this.books.get(e.symbol);
      if (e.snapshot) {
        b.book.load(e.bids.filter((l) => l.qty > 0), e.asks.filter((l) => l.qty > 0));
        b.synced = true;
        b.reason = '';
      } else if (b.synced) b.book.apply(e.bids, e.asks);
      if (b.synced && b.book.crossed()) {
        b.synced = false;
        b.reason = `crossed after frame ${seq}`;
      }
    }
    return { o };
  }
}

/**
 * One CoinbaseMarketData under test (see WsBookHarness). Its sink has no onFeedReject, so every
 * rejection reaches onFeedError (`feedErrors`). A backfill that re-emits trades fails the run:
 * once known (2026-12-07, seed 1 frame 893), a backfill re-emitted trades when the trade-id mark
 * carried an early time.
 */
class Harness extends WsBookHarness {
  constructor(venue, vt, mod) {
    super(venue, vt, mod, { exchange: EXCHANGE, target: 'coinbase-ws', symbols: SYMBOLS, counts: { gaps: 0 }, startupMs: 2, rejectsAsFeedErrors: true });
    this.ref = new ReferenceConsumer();
    // trades from before this adapter started (the first market_trades snapshot is history)
    for (const list of venue.recent.values()) for (const t of list) this.ledger.addReal(t.symbol, t.id, t, false);
  }

  createAdapter() {
    const vt = this.vt;
    const { CoinbaseMarketData: MD, DEFAULT_COINBASE_OPTIONS: DEF } = this.mod;
    return new MD({
      exchange: EXCHANGE,
      // unparsable on purpose: the adapter's WsConnection never opens a socket; the fake connection stands in
      endpoints: { wsUrl: 'fuzz:no-socket', restRoot: 'http://127.0.0.1:9' },
      options: { ...DEF, instrument_refresh_ms: 0, start_timeout_ms: 1 },
      clock: { now: () => vt.now, monoNs: () => process.hrtime.bigint() },
      random: () => 0.5,
      instruments: PRODUCTS.map((p) => p.instrument),
    });
  }

  /** One ws text frame into the adapter, then the reference. */
  async frame(text, clean) {
    const env = readEnvelope(text);
    // a frame that is JSON but for raw control characters inside its strings (not JSON: RFC 8259
    // requires them escaped), read as if they were escaped, for the case the adapter accepts it
    const lenient = env === undefined && RAW_CONTROL_CHAR.test(text) ? readEnvelope(text.replace(RAW_CONTROL_CHARS, ' ')) : undefined;
    const read = (env ?? lenient)?.channel === 'market_trades' ? readTrades(env ?? lenient) : { trades: [] };
    this.ledger.beginFrame(read.trades, read.snapshot === true);
    const maxBefore = new Map(this.ledger.maxEmitted);
    const gaps = this.feed.stats.gaps;
    const frames = this.feed.stats.l2 + this.feed.stats.trades + this.feed.stats.heartbeats;
    const refused = this.deliver(text);
    const gap = this.feed.stats.gaps !== gaps;
    if (gap) this.counts.gaps++;
    if (lenient && !refused && this.feed.stats.l2 + this.feed.stats.trades + this.feed.stats.heartbeats !== frames) {
      // once known (2026-12-07, seed 1 frame 182): the parser's fast path skipped strings without
      // looking for raw control characters, so such a frame was applied. Refused since.
      throw new FuzzFailure('invalid-event', 'a frame that is not JSON (a raw control character inside a string) was accepted instead of counted as malformed');
    }
    this.ref.onFrame(text);
    if (clean && env?.channel === 'market_trades' && !read.snapshot) this.ledger.checkCleanFrame(read.trades, maxBefore, gap || refused);
    await settle();
    this.check();
  }
}

const ALTS = {
  product_id: ['BTC-USD', 'DOGE-USD', 'ETH-USD'],
  side: ['bid', 'offer', 'BUY', 'SELL'],
  type: ['snapshot', 'update'],
  channel: ['l2_data', 'market_trades', 'heartbeats'],
  price_level: ['65000.01', '64999.99', '0.40001', '0.39999', '65001.00', '0.40010'],
  new_quantity: ['0', '1.00000000', '0.5', '12345.6'],
  price: ['65000.01', '0.40001'],
  size: ['0.00100000', '100.0'],
};

export function create({ seed }) {
  return createWsBookTarget({
    seed,
    adapter: COINBASE,
    adapterCopyEnv: 'CWTS_FUZZ_COINBASE_MODULE',
    Venue: VenueModel,
    Harness,
    venueMutation: (text, rng) => venueMutate(text, rng, { idKeys: ['sequence_num', 'trade_id', 'heartbeat_counter'], alts: ALTS }),
  });
}

/**
 * What a run must have exercised (runner kind `vacuous`), and the trade floor (`lost-data`), as
 * shares of the run's own counts, about half of what the lowest of seeds 1-3 gave at 3,000
 * frames (per fuzz frame: 6.9 SYNCED checks, 1.0 snapshots adopted, 0.14-0.16 clean trade
 * frames checked; 98-99 % of the venue's trades emitted), so they hold for any seed and fail an
 * adapter or harness that stopped syncing, stopped emitting, or was never reached.
 * - checksSynced >= 2 x frames: both books are checked after each of the (on average four) frames
 *   a fuzz frame delivers, and they are SYNCED again once the venue's answers are in.
 * - snapshotsAdopted >= frames / 4: most mutated frames end in a resync, answered by a snapshot.
 * - cleanTradeFramesChecked >= frames / 20: trade frames delivered clean, neither refused nor
 *   behind a gap, whose new trades must each be emitted.
 * - cleanTradesEmitted >= 0.8 x cleanTrades: the venue's trades reach the tape, directly or by
 *   the backfill after a gap (a trade-id mark poisoned by a mutated id costs a few).
 */
export function coverage(c, frames) {
  return wsBookCoverage(c, frames, [
    ['checksSynced', frames * 2],
    ['snapshotsAdopted', Math.floor(frames / 4)],
    ['cleanTradeFramesChecked', Math.floor(frames / 20)],
  ]);
}

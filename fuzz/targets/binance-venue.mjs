/**
 * The Binance harness both Binance targets share: a model venue that knows the true book, the
 * real `BinanceMarketData` adapter (its frame parser, trade de-duplication, REST snapshot
 * handling and the adapter kit's BookSync machine) driven without a socket, the engine's
 * `L2BookStore` fed by the adapter's sink, and the reference consumer beside it.
 *
 * No network: the adapter's REST calls reach `node:http`'s `request`, which this worker replaces
 * with an in-memory venue (`syncBuiltinESMExports` makes the ESM import see it), and its ws URL
 * is unparsable so no socket is ever opened. Frames go straight into the adapter's private
 * `onFrame` (or its BinanceFeed's, what its WsConnection calls); timers run on virtual time.
 */
import http from 'node:http';
import { EventEmitter } from 'node:events';
import { syncBuiltinESMExports } from 'node:module';
import { defineInstrument } from '@cwts/core';
import { L2BookStore } from '@cwts/core/microstructure';
import { BinanceMarketData, DEFAULT_BINANCE_OPTIONS } from '@cwts/exchange-binance';
import { ReferenceBook, bookDifference, parseStrictJson, strictUnits, syncedBookViolation } from '../reference-book.mjs';
import { FuzzFailure } from '../failure.mjs';

export const SYMBOL = 'BTCUSDT';
const PRICE_DEC = 2;
const QTY_DEC = 5;
export const INSTRUMENT = defineInstrument({ exchange: 'binance', symbol: SYMBOL, base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });

/**
 * The reference's plausibility bound for trade-id jumps (an emitted trade further ahead than this
 * is poison). The mutator's id jumps are small or at least 2^44; the adapter's own bound
 * (max_trade_id_jump, 10^7) is far below, so it never lets through what this one flags.
 */
export const MAX_PLAUSIBLE_JUMP = 2 ** 40;

/**
 * The bound on update-id jumps: the adapter's configured `max_sequence_jump` (an update whose ids
 * span more, or run further ahead of the book, is treated as a gap). Binance documents no bound;
 * this one is part of the adapter's documented contract, so the reference applies the same
 * configured value. (A fixed 2^40 here disagreed with any adapter bound for the jumps that byte
 * mutations of a digit make, e.g. U..u = 232525816..23269788000: the adapter refused the update,
 * the reference buffered it and then saw a gap the adapter could not have seen.)
 */
export const SEQ_JUMP_BOUND = DEFAULT_BINANCE_OPTIONS.max_sequence_jump;

const dec = (units, d) => {
  const s = String(units).padStart(d + 1, '0');
  return `${s.slice(0, s.length - d)}.${s.slice(s.length - d)}000000`;
};

/** The venue: the true book and the frames it sends, generated from a seeded PRNG. */
export class VenueModel {
  constructor(rng) {
    this.rng = rng;
    this.mid = 6_500_000;
    this.bids = new Map();
    this.asks = new Map();
    this.seq = 1_000_000 + rng.int(1_000_000);
    this.tradeId = 5_000_000 + rng.int(1_000_000);
    // Binance's aggTrade ids ("a") are a sequence of their own, well behind the trade ids ("t")
    this.aggTradeId = 3_000_000 + rng.int(1_000_000);
    this.time = 1_767_225_600_000;
    for (let k = 1; k <= 20; k++) {
      this.bids.set(this.mid - k, 1 + rng.int(200_000));
      this.asks.set(this.mid + k, 1 + rng.int(200_000));
    }
  }

  /** The next depth update (applied to the true book). */
  depth() {
    const r = this.rng;
    const U = this.seq + 1;
    this.seq += 1 + r.int(3);
    const b = [];
    const a = [];
    const n = 1 + r.int(4);
    for (let i = 0; i < n; i++) {
      const bid = r.chance(0.5);
      const price = bid ? this.mid - 1 - r.int(25) : this.mid + 1 + r.int(25);
      const qty = r.chance(0.3) ? 0 : 1 + r.int(200_000);
      (bid ? b : a).push([dec(price, PRICE_DEC), dec(qty, QTY_DEC)]);
      const side = bid ? this.bids : this.asks;
      if (qty === 0) side.delete(price);
      else side.set(price, qty);
    }
    this.time += 100;
    const data = `{"e":"depthUpdate","E":${this.time},"s":"${SYMBOL}","U":${U},"u":${this.seq},"b":${JSON.stringify(b)},"a":${JSON.stringify(a)}}`;
    return this.wrap('btcusdt@depth@100ms', data, 'depth');
  }

  trade() {
    const r = this.rng;
    const price = this.mid + r.int(21) - 10;
    const qty = 1 + r.int(100_000);
    if (r.chance(0.7)) {
      this.tradeId += 1 + (r.chance(0.1) ? r.int(3) : 0);
      const data = `{"e":"trade","E":${this.time},"s":"${SYMBOL}","t":${this.tradeId},"p":"${dec(price, PRICE_DEC)}","q":"${dec(qty, QTY_DEC)}","T":${this.time - 1},"m":${r.chance(0.5)},"M":true}`;
      return this.wrap('btcusdt@trade', data, 'trade');
    }
    // an aggTrade covers the trade ids f..l
    this.aggTradeId += 1;
    const f = this.tradeId + 1;
    this.tradeId += 1 + r.int(3);
    const data = `{"e":"aggTrade","E":${this.time},"s":"${SYMBOL}","a":${this.aggTradeId},"p":"${dec(price, PRICE_DEC)}","q":"${dec(qty, QTY_DEC)}","f":${f},"l":${this.tradeId},"T":${this.time - 1},"m":${r.chance(0.5)},"M":true}`;
    return this.wrap('btcusdt@aggTrade', data, 'trade');
  }

  /** Control and foreign frames a real stream carries. */
  other() {
    const r = this.rng;
    const pick = r.int(4);
    if (pick === 0) return { text: '{"result":null,"id":1}', kind: 'reply' };
    if (pick === 1) return this.wrap('ethusdt@depth@100ms', `{"e":"depthUpdate","E":${this.time},"s":"ETHUSDT","U":7,"u":9,"b":[["3000.00","1.0"]],"a":[]}`, 'foreign');
    if (pick === 2) return { text: '{"code":2,"msg":"Invalid request: unknown stream"}', kind: 'error' };
    return this.wrap('btcusdt@kline_1m', `{"e":"kline","E":${this.time},"s":"${SYMBOL}","k":{"t":1,"o":"1.00"}}`, 'unknown');
  }

  wrap(stream, data, kind) {
    return this.rng.chance(0.7) ? { text: `{"stream":"${stream}","data":${data}}`, kind: `${kind}-combined` } : { text: data, kind: `${kind}-raw` };
  }

  /** REST /api/v3/depth body for the true book now. */
  snapshotText() {
    const side = (m, desc) =>
      JSON.stringify([...m].sort((x, y) => (desc ? y[0] - x[0] : x[0] - y[0])).map(([p, q]) => [dec(p, PRICE_DEC), dec(q, QTY_DEC)]));
    return `{"lastUpdateId":${this.seq},"bids":${side(this.bids, true)},"asks":${side(this.asks, false)}}`;
  }
}

/** The spec's reading of a depth frame: valid delta, or undefined (dropped as bad or foreign). */
function referenceDepth(text) {
  let o = parseStrictJson(text);
  if (o === undefined || o === null || typeof o !== 'object' || Array.isArray(o)) return undefined;
  if (typeof o.stream === 'string' && o.data !== null && typeof o.data === 'object') o = o.data;
  if (o.e !== 'depthUpdate' || o.s !== SYMBOL) return undefined;
  const { U, u } = o;
  if (!Number.isSafeInteger(U) || !Number.isSafeInteger(u) || U < 0 || U > u || u - U > SEQ_JUMP_BOUND) return undefined;
  const levels = (arr) => {
    if (!Array.isArray(arr)) return undefined;
    const out = [];
    for (const l of arr) {
      if (!Array.isArray(l) || l.length < 2) return undefined;
      const price = strictUnits(l[0], PRICE_DEC);
      const qty = strictUnits(l[1], QTY_DEC);
      if (price === undefined || qty === undefined || price <= 0 || qty < 0) return undefined;
      out.push({ price, qty });
    }
    return out;
  };
  const bids = levels(o.b);
  const asks = levels(o.a);
  if (!bids || !asks) return undefined;
  return { U, u, bids, asks };
}

/** The spec's reading of a REST snapshot body: {seq, bids, asks} or a reason it is unusable. */
export function referenceSnapshot(text, lastStreamSeq) {
  let o;
  try {
    o = JSON.parse(text);
  } catch {
    return { error: 'snapshot is not JSON' };
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return { error: 'snapshot is not an object' };
  const L = o.lastUpdateId;
  if (!Number.isSafeInteger(L) || L < 0) return { error: `lastUpdateId ${typeof L === 'number' ? String(L) : JSON.stringify(L)} is not a non-negative integer` };
  if (lastStreamSeq > 0 && L - lastStreamSeq > SEQ_JUMP_BOUND) return { error: `lastUpdateId ${L} is implausibly far ahead of the stream (${lastStreamSeq})` };
  const levels = (arr, what) => {
    if (!Array.isArray(arr)) return `${what} is not an array`;
    const out = [];
    for (const l of arr) {
      if (!Array.isArray(l) || l.length < 2 || typeof l[0] !== 'string' || typeof l[1] !== 'string') return `${what} level ${JSON.stringify(l)} is not ["price","qty"]`;
      const price = strictUnits(l[0], PRICE_DEC);
      const qty = strictUnits(l[1], QTY_DEC);
      if (price === undefined || qty === undefined || price <= 0 || qty < 0) return `${what} level ${JSON.stringify(l)} is invalid (price must be > 0, qty >= 0, both on the grid)`;
      // a zero level in a snapshot carries nothing (the adapter skips it too)
      if (qty > 0) out.push({ price, qty });
    }
    return out;
  };
  const bids = levels(o.bids, 'bids');
  if (typeof bids === 'string') return { error: bids };
  const asks = levels(o.asks, 'asks');
  if (typeof asks === 'string') return { error: asks };
  return { seq: L, bids, asks };
}

/**
 * A correct consumer of Binance's documented local-book procedure, fed the same frames and the
 * same snapshots as the adapter. It never decides when to resync (policy may differ); it adopts
 * every snapshot the adapter adopts and judges only what a SYNCED book may contain.
 */
class ReferenceConsumer {
  constructor() {
    this.book = new ReferenceBook();
    this.synced = false;
    this.reason = 'awaiting the first snapshot';
    this.last = 0;
    this.maxStreamSeq = 0;
    this.buffer = [];
    /** The updates kept by the gap the last frame or snapshot revealed: the one after the gap on. */
    this.keptFromGap = undefined;
  }

  /**
   * `realRejected`: whether the adapter counted the frame as an error. Used for one case only: a
   * frame that is JSON but for a number written with leading zeros (`"E":0767...`). JSON.parse
   * rejects it, a lenient reader may not; when the adapter applied it, the reference follows (so
   * the books stay comparable) and the harness reports the leniency itself.
   */
  onFrame(text, realRejected) {
    let d = referenceDepth(text);
    this.lenientAccepted = undefined;
    this.keptFromGap = undefined;
    if (!d) {
      const lenient = realRejected ? undefined : referenceDepth(text.replace(/([:,[]\s*-?)0+(?=\d)/g, '$1'));
      if (!lenient) return;
      this.lenientAccepted = text;
      d = lenient;
    }
    if (d.u > this.maxStreamSeq && d.u - Math.max(this.maxStreamSeq, d.U) <= SEQ_JUMP_BOUND) this.maxStreamSeq = d.u;
    if (!this.synced) {
      this.buffer.push(d);
      if (this.buffer.length > 10_000) this.buffer.shift();
      return;
    }
    if (d.u <= this.last) return;
    if (this.firstPending) {
      // the first update after a snapshot: U <= lastUpdateId + 1 <= u (Binance's procedure)
      if (d.U > this.last + 1 || d.u - this.last > SEQ_JUMP_BOUND) {
        this.lose(`gap after snapshot ${this.last}: ${d.U}..${d.u}`);
        this.buffer.push(d);
        this.keptFromGap = [d];
        return;
      }
      this.firstPending = false;
      this.apply(d);
      return;
    }
    if (d.u - this.last > SEQ_JUMP_BOUND) {
      // implausibly far ahead of the book: refused (not buffered), and the book starts over
      this.lose(`update ${d.U}..${d.u} runs more than ${SEQ_JUMP_BOUND} ids ahead of ${this.last}`);
      return;
    }
    if (d.U !== this.last + 1) {
      this.lose(`gap: expected ${this.last + 1}, got ${d.U}..${d.u}`);
      this.buffer.push(d);
      this.keptFromGap = [d];
      return;
    }
    this.apply(d);
  }

  apply(d) {
    this.book.apply(d.bids, d.asks);
    this.last = d.u;
    if (this.book.crossed()) this.lose(`crossed after update ${d.u}`);
  }

  lose(reason) {
    this.synced = false;
    this.reason = reason;
  }

  /**
   * The adapter started its procedure over (feed_status resyncing), right after the frame or the
   * snapshot that made it. Binance's procedure buffers the stream from that moment and matches
   * the buffer with the next snapshot; the reference restarts with it, so the snapshot the
   * adapter adopts next is matched with the same stretch of the stream. (It used to keep applying
   * while the adapter was resyncing, and then missed an update that the first-event rule,
   * U <= lastUpdateId + 1 <= u, applies after the snapshot.) What is buffered from before is
   * dropped, except the updates from a gap the same frame or snapshot revealed: they come after
   * the gap, so they are the start of the new buffer (the adapter keeps them too). The reference
   * still judges on its own every update in that buffer.
   */
  restart(reason) {
    if (this.synced) this.lose(`adapter resyncing: ${reason}`);
    this.buffer = this.keptFromGap ?? [];
    this.keptFromGap = undefined;
  }

  /** The adapter adopted a snapshot; `text` is the body the venue served for it. */
  onSnapshot(text) {
    const s = referenceSnapshot(text, this.maxStreamSeq);
    const buf = this.buffer;
    this.buffer = [];
    this.keptFromGap = undefined;
    if (s.error) {
      this.book.clear();
      this.lose(`snapshot rejected by the reference: ${s.error}`);
      return;
    }
    this.book.load(s.bids, s.asks);
    this.last = s.seq;
    this.synced = true;
    this.reason = '';
    this.firstPending = true;
    if (this.book.crossed()) return this.lose(`snapshot ${s.seq} is crossed`);
    let first = true;
    for (let k = 0; k < buf.length; k++) {
      const d = buf[k];
      if (d.u <= this.last) continue;
      const ok = first ? d.U <= this.last + 1 : d.U === this.last + 1;
      if (!ok || d.u - this.last > SEQ_JUMP_BOUND) {
        this.buffer = buf.slice(k);
        this.keptFromGap = this.buffer.slice();
        return this.lose(`gap after snapshot ${s.seq}: ${d.U}..${d.u}`);
      }
      first = false;
      this.firstPending = false;
      this.apply(d);
      if (!this.synced) return;
    }
  }
}

/** The event type ("e") of a ws frame, raw or combined, by JSON.parse; undefined if it has none. */
function eventTypeOf(text) {
  let o;
  try {
    o = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (o === null || typeof o !== 'object') return undefined;
  if (typeof o.stream === 'string' && o.data !== null && typeof o.data === 'object') o = o.data;
  return typeof o.e === 'string' ? o.e : undefined;
}

/** Adds the numbers of `from` into `into` (a harness's counts survive the reset that replaces it). */
export function addCounts(into, from) {
  for (const [k, v] of Object.entries(from)) if (typeof v === 'number') into[k] = (into[k] ?? 0) + v;
  return into;
}
export const sumCounts = (a, b) => addCounts(addCounts({}, a), b);

let httpInstalled = false;
/**
 * Harnesses by id. Each adapter's REST root names its harness, so a request is served by the
 * venue of the adapter that made it. (Requests once went to whichever harness ran last: when the
 * re-timing of a slow frame advanced virtual time on a spare harness, the main adapter's snapshot
 * retry was served from the spare's queue, or the spare's from the main's, and the reference
 * judged a body the adapter never adopted: the three binance-rest findings of the 1M-frame run.)
 */
const harnesses = new Map();
let nextHarnessId = 1;
const HARNESS_IN_URL = /\/fuzz-harness-(\d+)\//;

/** Routes each adapter's REST requests to its own harness's venue. */
function installFakeHttp() {
  if (httpInstalled) return;
  httpInstalled = true;
  http.request = (url, _opts, onResponse) => {
    const req = new EventEmitter();
    req.write = () => true;
    req.destroy = (err) => {
      if (err) req.emit('error', err);
    };
    req.end = () => {
      const owner = harnesses.get(Number(HARNESS_IN_URL.exec(String(url))?.[1]));
      const { status, text } = owner ? owner.serve(String(url)) : { status: 503, text: '{"code":-1003,"msg":"harness stopped"}' };
      const res = new EventEmitter();
      res.statusCode = status;
      res.headers = {};
      onResponse(res);
      res.emit('data', Buffer.from(text, 'utf8'));
      res.emit('end');
    };
    return req;
  };
  syncBuiltinESMExports();
}

/**
 * One adapter instance under test, with its engine-side book, reference and venue. `check()`
 * throws a FuzzFailure when the engine's SYNCED book is wrong or an invalid event got through.
 */
export class BinanceHarness {
  /** The venue outlives harness resets, so the frame stream depends on the seed alone. */
  constructor(venue, vt) {
    installFakeHttp();
    this.id = nextHarnessId++;
    this.vt = vt;
    this.venue = venue;
    this.store = new L2BookStore();
    this.ref = new ReferenceConsumer();
    /** Bodies to serve to the next snapshot requests; the true book once it is empty. */
    this.restQueue = [];
    this.lastServed = '';
    this.requests = 0;
    /** The highest trade id emitted, per id sequence: raw trades ("t") and aggTrades ("a"). */
    this.lastTradeId = { trade: -1, aggTrade: -1 };
    /** The event type of the frame being delivered, by JSON.parse (the reference's reading). */
    this.frameEvent = undefined;
    /** Inside the adapter's onFrame; a resync it starts then reaches the reference after the frame. */
    this.delivering = false;
    this.pendingRestart = undefined;
    this.violation = undefined;
    this.counts = { snapshotsServed: 0, snapshotsAdopted: 0, checksSynced: 0, feedErrors: 0, tradesEmitted: 0, cleanTradeFrames: 0, cleanTradesEmitted: 0, cleanTradesExcused: 0 };
    /**
     * The reference's own record of the clean trade frames it was given, per id sequence: the
     * highest id so far (the venue's ids only grow, so "higher than the mark" is "not seen before").
     */
    this.cleanTradeMark = { trade: -1, aggTrade: -1 };
    /** Trades the adapter emitted while the current frame was delivered. */
    this.emittedInFrame = 0;
    const self = this;
    this.sink = {
      onMarketEvent(ev) {
        if (ev.type === 'book_snapshot') {
          self.counts.snapshotsAdopted++;
          self.store.apply(ev);
          self.ref.onSnapshot(self.lastServed);
        } else if (ev.type === 'book_delta') self.store.apply(ev);
        else if (ev.type === 'trade') self.checkTrade(ev);
      },
      onFeedStatus(st) {
        self.store.applyStatus(st);
        if (st.state !== 'resyncing' || st.symbol !== SYMBOL) return;
        // caused by the frame being delivered: the reference reads that frame first
        if (self.delivering) self.pendingRestart = st.reason;
        else self.ref.restart(st.reason);
      },
      onFeedError() {
        self.counts.feedErrors++;
      },
    };
  }

  async start() {
    harnesses.set(this.id, this);
    const vt = this.vt;
    this.md = new BinanceMarketData({
      exchange: 'binance',
      // unparsable on purpose: the adapter's WsConnection fails to construct a socket and backs off
      endpoints: { wsRoot: 'fuzz:no-socket', restRoot: `http://127.0.0.1:9/fuzz-harness-${this.id}`, market: 'spot' },
      options: { ...DEFAULT_BINANCE_OPTIONS, request_weight_per_minute: 1e9, start_timeout_ms: 1 },
      clock: { now: () => vt.now, monoNs: () => process.hrtime.bigint() },
      random: () => 0.5,
    });
    this.md.instruments.set(SYMBOL, INSTRUMENT);
    const started = this.md.start([SYMBOL], this.sink);
    vt.advance(2);
    await started;
    // what the WsConnection does when the socket opens
    this.md.onOpen({ send: () => true }, { reconnect: false, reason: 'initial' });
    this.sync = this.md.syncOf(SYMBOL);
    // what the adapter's WsConnection calls per text frame: its own onFrame, or (once the
    // adapter is split into an I/O-free BinanceFeed) the feed's
    const md = this.md;
    if (typeof md.onFrame === 'function') this.deliver = (text) => md.onFrame(text);
    else if (typeof md.feed?.onFrame === 'function') this.deliver = (text) => md.feed.onFrame(text);
    else throw new Error('BinanceMarketData has neither onFrame nor feed.onFrame: update fuzz/targets/binance-venue.mjs');
  }

  serve(url) {
    if (!url.includes('/depth')) return { status: 404, text: '{"code":-1,"msg":"not here"}' };
    this.requests++;
    this.counts.snapshotsServed++;
    this.lastServed = this.restQueue.length > 0 ? this.restQueue.shift() : this.venue.snapshotText();
    return { status: 200, text: this.lastServed };
  }

  /**
   * One ws text frame into the adapter, then whatever async work it started. `clean`: the frame is
   * the venue's own, unmutated (a trade in it must reach the sink unless it is a duplicate).
   */
  async frame(text, clean = false) {
    const req = this.sync.snapshotsRequested;
    const served = this.requests;
    const errors = this.counts.feedErrors;
    this.frameEvent = eventTypeOf(text);
    this.emittedInFrame = 0;
    this.delivering = true;
    try {
      this.deliver(text);
    } finally {
      this.delivering = false;
    }
    if (clean) this.checkCleanTrade(text);
    this.ref.onFrame(text, this.counts.feedErrors > errors);
    if (this.pendingRestart !== undefined) {
      this.ref.restart(this.pendingRestart);
      this.pendingRestart = undefined;
    }
    if (this.ref.lenientAccepted !== undefined) this.violation ??= new FuzzFailure('invalid-event', 'a depth frame that is not valid JSON (a number with a leading zero) was applied instead of counted as malformed');
    if (this.sync.snapshotsRequested !== req || this.requests !== served || this.sync.state === 'buffering') await this.settle();
    this.check(text);
  }

  /** Lets promise chains (limiter, fake HTTP) finish. */
  async settle() {
    for (let i = 0; i < 3; i++) {
      const before = this.requests;
      await new Promise((r) => setImmediate(r));
      if (this.requests === before) break;
    }
  }

  /** Advances virtual time (snapshot retries, backoff) and settles. */
  async advance(ms) {
    const ran = this.vt.advance(ms);
    if (ran > 0 || this.sync.state === 'buffering') await this.settle();
    this.check('(timers)');
  }

  /**
   * Lost trades: a clean trade frame the reference has not seen before must emit its trade. The
   * one excuse is the adapter's de-duplication: the id is at or behind an id the adapter already
   * emitted on that sequence (a mutated copy delivered before it, with the same or a slightly
   * higher id, was accepted). Anything else that emits nothing dropped a real trade.
   */
  checkCleanTrade(text) {
    const kind = this.frameEvent;
    if (kind !== 'trade' && kind !== 'aggTrade') return;
    let o = JSON.parse(text);
    if (typeof o.stream === 'string') o = o.data;
    const id = kind === 'trade' ? o.t : o.a;
    if (!(id > this.cleanTradeMark[kind])) return;
    this.cleanTradeMark[kind] = id;
    this.counts.cleanTradeFrames++;
    if (this.emittedInFrame > 0) this.counts.cleanTradesEmitted++;
    else if (this.lastTradeId[kind] >= id) this.counts.cleanTradesExcused++;
    else this.violation ??= new FuzzFailure('lost-data', `clean ${kind} ${id} emitted no trade (the highest ${kind} id emitted so far is ${this.lastTradeId[kind]}): a real trade was dropped`);
  }

  checkTrade(ev) {
    this.emittedInFrame++;
    this.counts.tradesEmitted++;
    const id = Number(ev.tradeId);
    // trade ids and aggTrade ids are different sequences on Binance: each is compared with its own
    const kind = this.frameEvent;
    const last = this.lastTradeId[kind];
    let bad;
    if (kind !== 'trade' && kind !== 'aggTrade') bad = `trade emitted from a frame whose event type is ${JSON.stringify(kind)} by JSON.parse`;
    else if (!Number.isSafeInteger(ev.price) || ev.price <= 0) bad = `trade emitted with price ${ev.price} ticks`;
    else if (!Number.isSafeInteger(ev.qty) || ev.qty <= 0) bad = `trade emitted with qty ${ev.qty} lots`;
    else if (!Number.isSafeInteger(id) || id < 0) bad = `trade emitted with id ${ev.tradeId}`;
    else if (last >= 0 && id - last > MAX_PLAUSIBLE_JUMP) bad = `${kind} id ${ev.tradeId} accepted ${id - last} ahead of the stream (${last}): later real trades become "duplicates"`;
    if (last !== undefined && Number.isSafeInteger(id) && id > last) this.lastTradeId[kind] = id;
    if (bad && !this.violation) this.violation = new FuzzFailure('invalid-event', bad);
  }

  check(text) {
    if (this.violation) {
      const v = this.violation;
      this.violation = undefined;
      throw v;
    }
    const book = this.store.get('binance', SYMBOL);
    if (!book || book.state !== 'synced') return;
    this.counts.checksSynced++;
    const bad = syncedBookViolation(book);
    if (bad) throw new FuzzFailure('wrong-synced-book', `SYNCED book holds an invalid level: ${bad}`);
    if (!this.ref.synced) throw new FuzzFailure('wrong-synced-book', `book is SYNCED but the reference consumer is not (${this.ref.reason})`);
    const diff = bookDifference(book, this.ref.book);
    if (diff) throw new FuzzFailure('wrong-synced-book', `SYNCED book differs from the reference: ${diff}`);
  }

  async stop() {
    harnesses.delete(this.id);
    await this.md.stop();
  }
}

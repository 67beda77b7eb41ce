/**
 * Shared pieces of the market-data targets whose venue pushes its book snapshots on the socket
 * (coinbase-ws, kraken-ws, bybit-ws): a fake socket that hands the adapter's subscribe messages
 * to the model venue, venue-aware mutations the generic mutator does not make, the judge that
 * compares every SYNCED book of the engine's `L2BookStore` with the target's reference consumer,
 * the trade ledger (every emitted trade is one the frame says, no venue trade emitted twice,
 * a clean trade frame's new trades emitted), the harness around one adapter (`WsBookHarness`),
 * the runner-facing target built on it (`createWsBookTarget`), and the coverage floors
 * (`wsBookCoverage`).
 *
 * The adapters run on virtual time (fuzz/virtual-time.mjs); their real WsConnection is given an
 * unparsable URL so it never opens a socket, and the fake below stands in as the open connection
 * (what `onOpen` receives and what the adapter sends subscribes on).
 */
import { L2BookStore } from '@cwts/core/microstructure';
import { ReferenceBook, bookDifference, parseStrictJson, syncedBookViolation } from '../reference-book.mjs';
import { FuzzFailure } from '../failure.mjs';
import { Prng } from '../prng.mjs';
import { Mutator } from '../mutate.mjs';
import { VirtualTime } from '../virtual-time.mjs';

export { parseStrictJson };

/** Known-failing checks (open adapter findings) fail the run only when this is set. */
export const STRICT = process.env.CWTS_FUZZ_STRICT === '1';

/** A JSON object: not null, not an array. */
export const isJsonObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * A raw control character (U+0000-U+001F): JSON requires them escaped inside a string, so a
 * frame holding one is not JSON. `RAW_CONTROL_CHARS` finds them all (to read such a frame as if
 * they were escaped, for the case an adapter accepts it).
 */
export const RAW_CONTROL_CHAR = /[\u0000-\u001f]/;
export const RAW_CONTROL_CHARS = /[\u0000-\u001f]/g;

/** The open connection the adapter believes it has: what it sends goes to the model venue. */
export class FakeConn {
  constructor(onSend) {
    this.onSend = onSend;
    this.isOpen = true;
    this.sent = 0;
  }
  send(text) {
    this.sent++;
    this.onSend(String(text));
    return true;
  }
  reconnect() {}
  reconnectWithBackoff() {}
  async close() {
    this.isOpen = false;
  }
  get pendingTimers() {
    return 0;
  }
}

/** Lets microtasks and immediate callbacks (a resubscribe queued with queueMicrotask) run. */
export async function settle(turns = 2) {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

/**
 * The next frame a model venue owes the client from its queue of answers, each made when it is
 * sent (so it shows the venue as it is then); an answer that no longer applies (a snapshot for a
 * subscription dropped since) makes nothing and is skipped. undefined when nothing is owed.
 */
export function nextOwedFrame(queue) {
  while (queue.length > 0) {
    const f = queue.shift()();
    if (f) return f;
  }
  return undefined;
}

const jump = (n, rng) => {
  const c = [n + 1, n - 1, n + 2, n + 1000, n - 1000, 0, -1, 2 ** 53 - 1, 2 ** 53 + 1, 1e15, 9e15, n + 2 ** 44, n + 0.5];
  return c[rng.int(c.length)];
};

/**
 * Mutations of a venue frame the generic mutator does not make, because they need to know the
 * venue's fields: (1) a jump of a numeric id field the venue names differently from Binance
 * (`sequence_num`, `seq`, `u`, `trade_id`...); (2) a key repeated with a plausible other value
 * (another product, the other side, a neighbouring price, another quantity), the layout of the
 * Coinbase bug in which a repeated `product_id` put one product's levels into another's SYNCED
 * book; (3) a plausible value swapped in place (the frame stays valid and means something else).
 * `alts` maps a key to plausible values for it. Returns [text, op] or undefined when nothing fits.
 */
export function venueMutate(text, rng, { idKeys = [], alts = {} }) {
  const r = rng.next();
  if (r < 0.35 && idKeys.length > 0) {
    const key = idKeys[rng.int(idKeys.length)];
    const re = new RegExp(`"${key}":("?)(-?\\d+)\\1`, 'g');
    const hits = [...text.matchAll(re)];
    if (hits.length === 0) return undefined;
    const h = hits[rng.int(hits.length)];
    const v = jump(Number(h[2]), rng);
    const raw = h[1] ? `"${v}"` : String(v);
    return [text.slice(0, h.index) + `"${key}":${raw}` + text.slice(h.index + h[0].length), 'venue-id-jump'];
  }
  const keys = Object.keys(alts);
  if (keys.length === 0) return undefined;
  const key = keys[rng.int(keys.length)];
  const re = new RegExp(`"${key}":("(?:[^"\\\\]|\\\\.)*"|-?[\\d.eE+-]+)`, 'g');
  const hits = [...text.matchAll(re)];
  if (hits.length === 0) return undefined;
  const h = hits[rng.int(hits.length)];
  const choices = alts[key].filter((v) => JSON.stringify(v) !== h[1]);
  if (choices.length === 0) return undefined;
  const other = `"${key}":${JSON.stringify(choices[rng.int(choices.length)])}`;
  if (r < 0.8) {
    // the key twice in one object, the other value before or after the real one
    const at = h.index;
    const end = h.index + h[0].length;
    return [rng.chance(0.5) ? `${text.slice(0, at)}${other},${text.slice(at)}` : `${text.slice(0, end)},${other}${text.slice(end)}`, 'venue-dup-key'];
  }
  return [text.slice(0, h.index) + other + text.slice(h.index + h[0].length), 'venue-swap'];
}

/**
 * Judges the engine's books after every frame: a SYNCED book must hold only positive integer
 * levels, must not be crossed, and must equal the reference's book of that symbol, level for
 * level, while the reference is synced too. `refOf(symbol)` returns {synced, reason, book}.
 */
export function judgeBooks(store, exchange, symbols, refOf, counts) {
  for (const s of symbols) {
    const book = store.get(exchange, s);
    if (!book || book.state !== 'synced') continue;
    counts.checksSynced++;
    const bad = syncedBookViolation(book);
    if (bad) throw new FuzzFailure('wrong-synced-book', `${s}: SYNCED book holds an invalid level: ${bad}`);
    const ref = refOf(s);
    if (!ref.synced) throw new FuzzFailure('wrong-synced-book', `${s}: book is SYNCED but the reference consumer is not (${ref.reason})`);
    const diff = bookDifference(book, ref.book);
    if (diff) throw new FuzzFailure('wrong-synced-book', `${s}: SYNCED book differs from the reference: ${diff}`);
  }
}

/**
 * Trades: what the venue really traded (`real`, by symbol and id), what the adapter emitted, and
 * the frame being delivered as the reference reads it.
 *
 * - every emitted trade must be one the frame holds by the reference's strict reading, with the
 *   same id, price (ticks), quantity (lots) and side: nothing invented, nothing from a frame whose
 *   meaning is open (a repeated key), no value the reference refuses (invalid-event);
 * - no real trade is emitted twice (a second emission of an id whose first emission carried the
 *   real trade's values: invalid-event), whatever the frames before it were;
 * - a clean trade frame that the adapter neither refused nor found behind a gap must emit every
 *   trade of it with an id beyond the highest the adapter emitted on that symbol (lost-data);
 *   a trade the adapter dropped behind a gap must come back from the backfill snapshot within
 *   the floor counted at the end (`cleanTradesEmitted`).
 */
export class TradeLedger {
  /**
   * `stringIds`: trade ids are opaque strings (Bybit v5 `publicTrade` ids are UUIDs): ids are kept
   * as text, per symbol, and have no order, so a clean frame's trade is excused only when it was
   * emitted before (from a copy carrying the real values) or the adapter refused the frame.
   */
  constructor(counts, { stringIds = false } = {}) {
    this.counts = counts;
    this.stringIds = stringIds;
    /** symbol -> Map(id -> {price, qty, side}) of every trade the venue made. */
    this.real = new Map();
    /** symbol -> Map(id -> true when the emission carried the real values). */
    this.emitted = new Map();
    /** symbol -> the highest id emitted. */
    this.maxEmitted = new Map();
    /** The trades the frame being delivered holds, by the reference's reading: `${symbol}|${id}` -> trade. */
    this.frameTrades = new Map();
    this.frameEmitted = [];
    this.violation = undefined;
    Object.assign(counts, { tradesEmitted: 0, cleanTrades: 0, cleanTradesEmitted: 0, cleanTradeFrames: 0, cleanTradeFramesChecked: 0, cleanTradesExcused: 0 });
  }

  /** A trade the venue made; `counted`: made while this adapter runs (the lost-data floor counts it). */
  addReal(symbol, id, t, counted = true) {
    let m = this.real.get(symbol);
    if (!m) this.real.set(symbol, (m = new Map()));
    if (!m.has(id)) {
      m.set(id, t);
      if (counted) this.counts.cleanTrades++;
    }
  }

  /** Before a frame: the trades it holds by the reference's reading (an array of {symbol, id, price, qty, side}), or [] */
  beginFrame(trades, snapshot = false) {
    this.frameTrades.clear();
    // a frame may list one id twice (a duplicated row, perhaps with other values): either reading is the frame's
    for (const t of trades) {
      const k = `${t.symbol}|${t.id}`;
      const list = this.frameTrades.get(k);
      if (list) list.push(t);
      else this.frameTrades.set(k, [t]);
    }
    this.frameEmitted = [];
    this.snapshotFrame = snapshot;
  }

  onTrade(ev) {
    this.counts.tradesEmitted++;
    // numeric ids (Coinbase, Kraken) compare as numbers; a ledger made with `stringIds` keeps the
    // venue's id text (Bybit's UUIDs) and orders nothing by it (see `checkCleanFrame`)
    const id = this.stringIds ? String(ev.tradeId) : Number(ev.tradeId);
    const key = `${ev.symbol}|${id}`;
    this.frameEmitted.push(key);
    let bad;
    const rows = this.frameTrades.get(key);
    const t = rows?.find((x) => x.price === ev.price && x.qty === ev.qty && x.side === ev.side) ?? rows?.[0];
    if (!Number.isSafeInteger(ev.price) || ev.price <= 0) bad = `trade emitted with price ${ev.price} ticks`;
    else if (!Number.isSafeInteger(ev.qty) || ev.qty <= 0) bad = `trade emitted with qty ${ev.qty} lots`;
    else if (!t) bad = `${ev.symbol} trade ${ev.tradeId} (${ev.price} x ${ev.qty}) emitted, but the frame holds no such trade by the reference's reading`;
    else if (t.price !== ev.price || t.qty !== ev.qty || t.side !== ev.side) bad = `${ev.symbol} trade ${id} emitted as ${ev.price} x ${ev.qty} ${ev.side}, the frame says ${t.price} x ${t.qty} ${t.side}`;
    const real = this.real.get(ev.symbol)?.get(id);
    const isReal = real !== undefined && real.price === ev.price && real.qty === ev.qty && real.side === ev.side;
    let em = this.emitted.get(ev.symbol);
    if (!em) this.emitted.set(ev.symbol, (em = new Map()));
    if (!bad && isReal && em.get(id) === true) {
      // a backfill snapshot too (fixed 2026-12-07: TradeIdGuard's move back lands only on ids never emitted)
      bad = `${ev.symbol} trade ${id} emitted twice${this.snapshotFrame ? ' (by a backfill snapshot)' : ''}`;
    }
    if (isReal && em.get(id) !== true) this.counts.cleanTradesEmitted++;
    if (isReal || !em.has(id)) em.set(id, isReal);
    if (!this.stringIds && Number.isSafeInteger(id) && id > (this.maxEmitted.get(ev.symbol) ?? -1)) this.maxEmitted.set(ev.symbol, id);
    if (bad) this.violation ??= new FuzzFailure('invalid-event', bad);
  }

  /**
   * After a clean trade-update frame: `excused` when the adapter refused it or found it behind a
   * gap (its trades come back by backfill), `maxBefore` the highest ids emitted before the frame.
   */
  checkCleanFrame(trades, maxBefore, excused) {
    if (trades.length === 0) return;
    this.counts.cleanTradeFrames++;
    if (excused) return;
    this.counts.cleanTradeFramesChecked++;
    for (const t of trades) {
      if (this.frameEmitted.includes(`${t.symbol}|${t.id}`)) continue;
      if (this.emitted.get(t.symbol)?.get(t.id) === true) continue; // emitted before, from a copy with the real values
      if (this.stringIds && this.emitted.get(t.symbol)?.has(t.id)) {
        // opaque ids have no order: a copy that carried this id with other values took it (the
        // adapter de-duplicates by id, as it must), and the real trade is lost (the 80 % floor)
        this.counts.cleanTradesExcused++;
        continue;
      }
      if (!this.stringIds && (maxBefore.get(t.symbol) ?? -1) >= t.id) {
        this.counts.cleanTradesExcused++;
        continue;
      }
      this.violation ??= new FuzzFailure('lost-data', `clean ${t.symbol} trade ${t.id} emitted nothing (highest id emitted so far ${maxBefore.get(t.symbol) ?? 'none'}; the frame was neither refused nor behind a gap)`);
    }
  }

  take() {
    const v = this.violation;
    this.violation = undefined;
    return v;
  }
}

/** Adds the numbers of `from` into `into`. */
export function addCounts(into, from) {
  for (const [k, v] of Object.entries(from ?? {})) if (typeof v === 'number') into[k] = (into[k] ?? 0) + v;
  return into;
}

/**
 * The reference consumer's books, one per symbol, with whether it trusts each (`synced`) and, when
 * not, why (`reason`, what the judge reports); `fields` are the target's own per-book fields (Bybit's
 * last update id). A target's reference consumer extends it with the venue's rules.
 */
export class ReferenceBooks {
  constructor(symbols, fields = {}) {
    this.symbols = symbols;
    this.books = new Map(symbols.map((s) => [s, { book: new ReferenceBook(), synced: false, reason: 'awaiting the first snapshot', ...fields }]));
  }

  /** The symbol's book is untrusted until its next snapshot; the first reason it was lost stands. */
  lose(symbol, reason) {
    const b = this.books.get(symbol);
    if (b.synced) {
      b.synced = false;
      b.reason = reason;
    }
  }

  /** Every book is untrusted (a gap in a connection-wide sequence, a frame naming no symbol, a new connection). */
  loseAll(reason) {
    for (const s of this.symbols) this.lose(s, reason);
  }
}

/**
 * One adapter under test with its engine-side books, reference consumer, trade ledger and model
 * venue: the adapter's sink feeds the engine's `L2BookStore` (counting snapshots, resyncs and
 * feed errors) and the trade ledger; `start` starts the adapter on virtual time and opens the
 * fake connection; `drain` delivers what the venue owes; `check` judges after every frame.
 *
 * A target's harness extends it with `createAdapter()` (the adapter on this harness's virtual
 * clock, no socket), `frame(text, clean)` (one ws text frame into the adapter, then into its
 * reference consumer, then `check`) and `this.ref` (a ReferenceBooks); `connection`,
 * `notifyOpen` and `onAnswer` are hooks for a venue that differs. `options`: `exchange`, `target`
 * (its file name, for the error when the adapter changed shape), `symbols`, `counts` (the target's
 * own counters, after the shared ones), `stringTradeIds` (TradeLedger), `startupMs` (virtual time
 * the adapter's start is given), `rejectsAsFeedErrors` (a sink without `onFeedReject`: the
 * adapter then reports every rejection through `onFeedError`, counted in `feedErrors`).
 */
export class WsBookHarness {
  constructor(venue, vt, mod, options) {
    const { exchange, target, symbols, counts = {}, stringTradeIds = false, startupMs, rejectsAsFeedErrors = false } = options;
    this.venue = venue;
    this.vt = vt;
    this.mod = mod;
    this.exchange = exchange;
    this.target = target;
    this.symbols = symbols;
    this.startupMs = startupMs;
    this.store = new L2BookStore();
    this.counts = { answers: 0, snapshotsAdopted: 0, checksSynced: 0, resyncs: 0, feedErrors: 0, framesRefused: 0, ...counts };
    this.ledger = new TradeLedger(this.counts, { stringIds: stringTradeIds });
    venue.onRealTrade = (t) => this.ledger.addReal(t.symbol, t.id, t);
    const self = this;
    this.sink = {
      onMarketEvent(ev) {
        if (ev.type === 'book_snapshot') {
          self.counts.snapshotsAdopted++;
          self.store.apply(ev);
        } else if (ev.type === 'book_delta') self.store.apply(ev);
        else if (ev.type === 'trade') self.ledger.onTrade(ev);
      },
      onFeedStatus(st) {
        self.store.applyStatus(st);
        if (st.state === 'resyncing') self.counts.resyncs++;
      },
      onFeedError() {
        self.counts.feedErrors++;
      },
    };
    if (!rejectsAsFeedErrors) this.sink.onFeedReject = () => {};
  }

  async start() {
    this.md = this.createAdapter();
    const started = this.md.start(this.symbols, this.sink);
    this.vt.advance(this.startupMs);
    await started;
    this.open(false, 'initial');
    this.feed = this.md.feed;
    if (typeof this.feed?.onFrame !== 'function') throw new Error(`${this.md.constructor.name} has no feed.onFrame: update fuzz/targets/${this.target}.mjs`);
    await settle();
    await this.drain();
  }

  /** What the WsConnection does when a socket opens (a new connection on the venue): the adapter subscribes on it. */
  open(reconnect, reason) {
    this.venue.connectionOpened();
    this.conn = this.connection((text) => this.venue.onClientMessage(text));
    this.md.conn = this.conn;
    this.notifyOpen({ reconnect, reason });
  }

  /** The fake open connection; what the adapter sends on it goes to the model venue. */
  connection(onSend) {
    return new FakeConn(onSend);
  }

  /** The adapter's onOpen, as its WsConnection calls it. */
  notifyOpen(info) {
    this.md.onOpen(this.conn, info);
  }

  /**
   * The venue's answers to what the adapter sent (subscription replies, snapshots, backfills,
   * pongs), delivered untouched, so that a resync the fuzz frame caused ends within the same
   * fuzz frame (bounded: an adapter resubscribing for ever is not waited for).
   */
  async drain() {
    for (let n = 0; n < 40; n++) {
      const f = this.venue.owed();
      if (!f) return;
      this.counts.answers++;
      this.onAnswer(f);
      await this.frame(f.text, true);
    }
  }

  /** An answer of the venue about to be delivered (for a target's own counters). */
  onAnswer() {}

  /** The frame into the adapter's feed (what its WsConnection's onMessage does); true when the feed refused it (counted). */
  deliver(text) {
    const rejectedBefore = this.feed.rejected;
    this.feed.onFrame(text);
    const refused = this.feed.rejected !== rejectedBefore;
    if (refused) this.counts.framesRefused++;
    return refused;
  }

  /** Virtual time passes (the adapter's timers run), then the books are judged. */
  async advance(ms) {
    const ran = this.vt.advance(ms);
    if (ran > 0) await settle();
    this.check();
  }

  /** After every frame: the trade ledger's finding, then every SYNCED book of the engine against the reference. */
  check() {
    const v = this.ledger.take();
    if (v) throw v;
    judgeBooks(this.store, this.exchange, this.symbols, (s) => this.ref.books.get(s), this.counts);
  }

  async stop() {
    await this.md.stop();
  }
}

/**
 * The target the runner drives (fuzz/worker.mjs: next, saved, run, reset, probe, counts) around
 * a WsBookHarness. Each fuzz frame is a mutated copy of the venue's next frame (15 % of them by
 * `venueMutation(text, rng)`, returning [text, op] or undefined, the rest and those it cannot make
 * by the generic mutator), the frame itself, then the venue's answers (`drain`), after 50 ms of
 * virtual time. `adapter` is the built package; `adapterCopyEnv` names the environment variable
 * that points at a copy of it instead (to prove the target fails on a broken adapter).
 * `venueCounts(venue)`: the venue model's own counters, reported after the harness's.
 */
export async function createWsBookTarget({ seed, adapter, adapterCopyEnv, Venue, Harness, venueMutation, venueCounts = () => ({}) }) {
  const vt = new VirtualTime().install();
  const copy = process.env[adapterCopyEnv];
  const mod = copy ? await import(copy) : adapter;
  const rng = new Prng(seed);
  const venue = new Venue(rng);
  const mrng = new Prng(seed ^ 0x5bd1e995);
  const mut = new Mutator(mrng, 'json');
  const venueOps = {};
  let h = new Harness(venue, vt, mod);
  await h.start();
  const totals = { parserCalls: 0 };
  const past = {};
  let prober;
  return {
    next() {
      const clean = venue.next();
      let data;
      if (mrng.chance(0.15)) {
        const m = venueMutation(clean.text, mrng);
        if (m) {
          data = m[0];
          venueOps[m[1]] = (venueOps[m[1]] ?? 0) + 1;
        }
      }
      data ??= mut.mutate(clean.text, clean.kind);
      return { data, clean: clean.text };
    },
    saved: (f) => f.data,
    async run(f) {
      await h.advance(50);
      await h.frame(f.data, false);
      await h.frame(f.clean, true);
      await h.drain();
      totals.parserCalls += 2;
    },
    async reset() {
      addCounts(past, h.counts);
      await h.stop().catch(() => {});
      venue.connectionOpened();
      h = new Harness(venue, vt, mod);
      await h.start();
    },
    // timing only: the frame alone, on a harness of its own (a fresh venue), best of three
    async probe(f) {
      if (!prober) {
        prober = new Harness(new Venue(new Prng(1)), vt, mod);
        await prober.start();
      }
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        try {
          prober.feed.onFrame(f.data);
        } catch {
          // timing only
        }
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    },
    counts: () => ({ ...totals, ...addCounts(addCounts({}, past), h.counts), ...venueCounts(venue), mutations: { ...Object.fromEntries(mut.ops), ...venueOps } }),
  };
}

/** The messages of the floors the ws-book targets share (count, frames, floor). */
const FLOOR_MESSAGES = {
  checksSynced: (n, frames, min) => `only ${n} SYNCED book checks in ${frames} frames (floor ${min}): the books were hardly ever SYNCED, so nothing was compared`,
  snapshotsAdopted: (n, frames, min) => `only ${n} snapshots adopted in ${frames} frames (floor ${min})`,
  cleanTradeFramesChecked: (n, frames, min) => `only ${n} clean trade frames checked in ${frames} frames (floor ${min})`,
};

/**
 * A ws-book target's end-of-run floors (its `coverage`): `floors` lists [count, minimum,
 * message?] in the order they are reported, each below its minimum a `vacuous` finding (the
 * message of a count not in FLOOR_MESSAGES is the target's own); then the trade floor, at least
 * 80 % of the venue's trades emitted (`lost-data`).
 */
export function wsBookCoverage(c, frames, floors) {
  const out = [];
  for (const [name, min, message = FLOOR_MESSAGES[name]] of floors) {
    if ((c[name] ?? 0) < min) out.push({ kind: 'vacuous', message: message(c[name] ?? 0, frames, min) });
  }
  if ((c.cleanTradesEmitted ?? 0) < (c.cleanTrades ?? 0) * 0.8) out.push({ kind: 'lost-data', message: `${c.cleanTradesEmitted ?? 0} of the venue's ${c.cleanTrades ?? 0} trades emitted (floor: 80 %)` });
  return out;
}

/**
 * A JSON number read from the frame's text, not rounded by JSON.parse: `text` is exactly what
 * the venue wrote (`0.00100000`, `5e-08`, `65000.0`).
 */
export class JsonNumber {
  constructor(text) {
    this.text = text;
  }
}

/**
 * The reference's exact reading of a JSON text: `parseStrictJson` (JSON.parse, no repeated key),
 * then every number replaced by a JsonNumber holding its own text. Written for the Kraken target
 * (v2 writes prices and quantities as bare JSON numbers) apart from the adapter's
 * `quoteJsonNumbers`, so that the two do not share a bug: the text is parsed a second time with
 * every number token quoted, and the two trees are walked together (a number in the first is
 * the string at the same place in the second). undefined when the text is not strict JSON
 * (`repeatedKeys`: JSON.parse's reading of a text that repeats a key, the last value kept).
 */
export function parseExactJson(text, { repeatedKeys = false } = {}) {
  let plain;
  if (repeatedKeys) {
    // JSON.parse's own reading of a repeated key (the last value): for known-finding paths only
    try {
      plain = JSON.parse(text);
    } catch {
      return undefined;
    }
  } else plain = parseStrictJson(text);
  if (plain === undefined) return undefined;
  let quoted = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (ch === '-' || (ch >= '0' && ch <= '9')) {
      let j = i;
      while (j < text.length && /[-+.eE0-9]/.test(text[j])) j++;
      quoted += `${text.slice(from, i)}"${text.slice(i, j)}"`;
      from = j;
      i = j - 1;
    }
  }
  quoted += text.slice(from);
  let texts;
  try {
    texts = JSON.parse(quoted);
  } catch {
    return undefined;
  }
  const merge = (v, t) => {
    if (typeof v === 'number') return new JsonNumber(t);
    if (Array.isArray(v)) return v.map((x, k) => merge(x, t[k]));
    if (v !== null && typeof v === 'object') {
      const o = {};
      for (const k of Object.keys(v)) o[k] = merge(v[k], t[k]);
      return o;
    }
    return v;
  };
  return merge(plain, texts);
}

/**
 * A JsonNumber as an exact integer count of 10^-decimals units (exponent form included:
 * `5e-08` at 8 decimals is 5), or undefined when it is not a JsonNumber, not on that grid, or
 * beyond 2^53 units. `-0` is 0 (JSON's zero with a sign).
 */
export function numberUnits(v, decimals) {
  if (!(v instanceof JsonNumber)) return undefined;
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(v.text);
  if (!m) return undefined;
  const digits = `${m[2]}${m[3] ?? ''}`.replace(/^0+/, '');
  if (digits === '') return 0;
  // value = digits x 10^(exp - fraction length); in units: x 10^shift
  const shift = Number(m[4] ?? 0) - (m[3]?.length ?? 0) + decimals;
  let units;
  if (shift >= 0) {
    if (digits.length + shift > 17) return undefined;
    units = BigInt(digits) * 10n ** BigInt(shift);
  } else {
    const cut = -shift;
    if (cut >= digits.length) return undefined; // a non-zero value finer than the grid
    if (/[1-9]/.test(digits.slice(digits.length - cut))) return undefined;
    units = BigInt(digits.slice(0, digits.length - cut));
  }
  if (units > 9007199254740991n) return undefined;
  return m[1] === '-' ? -Number(units) : Number(units);
}

/**
 * A model venue's opening book around `mid` (ticks): the three levels nearest the mid on each
 * side always, the rest of `slots` with probability 0.7, sizes 1..maxQty lots. Same draws in the
 * same order for every target that uses it.
 */
export function seedVenueBook(rng, mid, maxQty, slots) {
  const bids = new Map();
  const asks = new Map();
  for (let k = 1; k <= slots; k++) {
    if (k <= 3 || rng.chance(0.7)) bids.set(mid - k, 1 + rng.int(maxQty));
    if (k <= 3 || rng.chance(0.7)) asks.set(mid + k, 1 + rng.int(maxQty));
  }
  return { bids, asks };
}

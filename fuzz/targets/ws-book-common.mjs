/**
 * Shared pieces of the market-data targets whose venue pushes its book snapshots on the socket
 * (coinbase-ws, kraken-ws, bybit-ws): a fake socket that hands the adapter's subscribe messages
 * to the model venue, venue-aware mutations the generic mutator does not make, the judge that
 * compares every SYNCED book of the engine's `L2BookStore` with the target's reference consumer,
 * and the trade ledger (every emitted trade is one the frame says, no venue trade emitted twice,
 * a clean trade frame's new trades emitted).
 *
 * The adapters run on virtual time (fuzz/virtual-time.mjs); their real WsConnection is given an
 * unparsable URL so it never opens a socket, and the fake below stands in as the open connection
 * (what `onOpen` receives and what the adapter sends subscribes on).
 */
import { ReferenceBook, bookDifference, parseStrictJson, syncedBookViolation } from '../reference-book.mjs';
import { FuzzFailure } from '../failure.mjs';

export { ReferenceBook, parseStrictJson };

/** Known-failing checks (open adapter findings) fail the run only when this is set. */
export const STRICT = process.env.CWTS_FUZZ_STRICT === '1';

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

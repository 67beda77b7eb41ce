/**
 * The reference model the fuzzer holds beside the engine's L2 book: a plain Map per side, no
 * cleverness, so that when the two disagree the engine's book is the suspect. Also the checks a
 * SYNCED book must pass whatever the input was.
 */
export class ReferenceBook {
  constructor() {
    this.bids = new Map();
    this.asks = new Map();
  }
  clear() {
    this.bids.clear();
    this.asks.clear();
  }
  set(side, price, qty) {
    const m = side === 'bid' ? this.bids : this.asks;
    if (qty === 0) m.delete(price);
    else m.set(price, qty);
  }
  load(bids, asks) {
    this.clear();
    for (const l of bids) this.set('bid', l.price, l.qty);
    for (const l of asks) this.set('ask', l.price, l.qty);
  }
  apply(bids, asks) {
    for (const l of bids) this.set('bid', l.price, l.qty);
    for (const l of asks) this.set('ask', l.price, l.qty);
  }
  /** Best first. */
  levels(side) {
    const m = side === 'bid' ? this.bids : this.asks;
    return [...m].map(([price, qty]) => ({ price, qty })).sort(side === 'bid' ? (a, b) => b.price - a.price : (a, b) => a.price - b.price);
  }
  crossed() {
    if (this.bids.size === 0 || this.asks.size === 0) return false;
    return Math.max(...this.bids.keys()) >= Math.min(...this.asks.keys());
  }
}

const fmt = (l) => (l ? `${l.price}x${l.qty}` : 'none');

/** Every level of an L2Book side, best first. */
export function l2Levels(book, side) {
  const out = [];
  book.topLevels(side, book.levelCount(side), out);
  return out;
}

/**
 * What a SYNCED book must satisfy whatever arrived: positive integer prices, positive integer
 * quantities, not crossed. Returns a description of the first violation.
 */
export function syncedBookViolation(book) {
  for (const side of ['bid', 'ask']) {
    for (const l of l2Levels(book, side)) {
      if (!Number.isSafeInteger(l.price) || l.price <= 0) return `${side} level at price ${l.price} ticks (not a positive integer)`;
      if (!Number.isSafeInteger(l.qty) || l.qty <= 0) return `${side} level ${l.price} with qty ${l.qty} lots (not a positive integer)`;
    }
  }
  if (book.isCrossed()) return `crossed: best bid ${book.bestBid()} >= best ask ${book.bestAsk()}`;
  return undefined;
}

/** First difference between an L2Book and the reference, or undefined when they agree level for level. */
export function bookDifference(book, ref) {
  for (const side of ['bid', 'ask']) {
    const a = l2Levels(book, side);
    const b = ref.levels(side);
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const x = a[i];
      const y = b[i];
      if (!x || !y || x.price !== y.price || x.qty !== y.qty) return `${side} level ${i}: book ${fmt(x)}, reference ${fmt(y)} (book has ${a.length} ${side}s, reference ${b.length})`;
    }
  }
  return undefined;
}

/**
 * Strict decimal -> integer units, the reference's own reading of a venue decimal: digits with
 * an optional leading '-' and fraction, exactly on the grid of 10^-decimals, within 2^53 units.
 * Returns undefined for anything else.
 */
export function strictUnits(text, decimals) {
  if (typeof text !== 'string') return undefined;
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return undefined;
  const frac = m[3] ?? '';
  if (/[1-9]/.test(frac.slice(decimals))) return undefined;
  const digits = `${m[2]}${frac.slice(0, decimals).padEnd(decimals, '0')}`;
  const v = BigInt(digits);
  if (v > 9007199254740991n) return undefined;
  const n = Number(v);
  return m[1] === '-' ? -n : n;
}

/**
 * JSON.parse, refusing text whose objects repeat a key (undefined then, as for text that is not
 * JSON). RFC 8259 leaves the meaning of a repeated name open (JSON.parse keeps the last value, a
 * streaming reader may keep the first), and the venue never sends one: a frame that repeats a key
 * is not a valid update, whatever either reading makes of it. Written apart from the adapter
 * kit's duplicate-key scan so the reference does not share its bugs: the key names in the text
 * are counted and compared with the keys of the parsed tree, which JSON.parse has de-duplicated.
 */
export function parseStrictJson(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return keyNamesInText(text) === keysInTree(value) ? value : undefined;
}

function keyNamesInText(text) {
  let names = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '"') continue;
    for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
    let j = i + 1;
    while (j < text.length && ' \t\r\n'.includes(text[j])) j++;
    if (text[j] === ':') names++;
  }
  return names;
}

function keysInTree(v) {
  if (v === null || typeof v !== 'object') return 0;
  let n = 0;
  for (const x of Array.isArray(v) ? v : Object.values(v)) n += keysInTree(x);
  return Array.isArray(v) ? n : n + Object.keys(v).length;
}

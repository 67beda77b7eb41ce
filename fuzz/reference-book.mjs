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

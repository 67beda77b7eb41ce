import type { BookView } from '../contracts/trading.js';
import { pow10n, type DecimalScale, type Instrument } from '../domain/instrument.js';
import type { L2Book, LevelOut } from './l2-book.js';

export interface ConsolidatedMember {
  book: L2Book;
  /**
   * Integer factor from the venue's ticks to the consolidated ticks (consolidated price =
   * venue price x tickMultiplier). Use the finest tick across venues as the consolidated tick.
   * Quantities must already share a lot size. Default 1. With instruments given, the
   * constructor checks both: tickSize / tickMultiplier and lotSize must be equal (as exact
   * decimals) for every member.
   */
  tickMultiplier?: number;
  /** The member's instrument: when every member gives one, they must be equivalent (below) and share one price and lot grid. */
  instrument?: Instrument;
}

export interface ConsolidationOptions {
  /**
   * Asset codes declared interchangeable, e.g. `[['USD', 'USDT']]` to merge BTC-USD with
   * BTCUSDT deliberately. Without a declaration only the same base and the same quote merge.
   */
  equivalentAssets?: readonly (readonly string[])[];
}

/**
 * Whether two venues' instruments may share one consolidated book: the same base and the same
 * quote asset, or assets the caller declared equivalent. Symbols never decide it: `BTCUSDT` on
 * two venues is one pair, `BTCUSDT` and `BTC-USD` are two (USDT is not USD) unless declared.
 */
export function equivalentInstruments(a: Instrument, b: Instrument, opts: ConsolidationOptions = {}): boolean {
  const same = (x: string, y: string) => x === y || (opts.equivalentAssets ?? []).some((g) => g.includes(x) && g.includes(y));
  return same(a.base, b.base) && same(a.quote, b.quote);
}

/** Whether a / aDiv equals b / bDiv exactly (decimals as mantissa x 10^-exponent; bigint, no floats). */
function sameDecimal(a: DecimalScale, aDiv: bigint, b: DecimalScale, bDiv: bigint): boolean {
  return a.mantissa * bDiv * pow10n(b.exponent) === b.mantissa * aDiv * pow10n(a.exponent);
}

/**
 * Consolidated view of one instrument across venues, for routing. Only members whose book is
 * `synced` contribute (a book known to be wrong is never routed to). Reads allocate nothing.
 * Same-price levels of several venues are summed; `sweep` plans a fill venue by venue.
 */
export class ConsolidatedBook implements BookView {
  readonly exchange = 'consolidated';
  private readonly books: L2Book[];
  private readonly mult: Float64Array;
  private readonly cursor: Int32Array;
  /** Worst price reached by the last sweep (consolidated ticks), NaN if nothing filled. */
  lastSweepWorstPrice = NaN;

  constructor(
    readonly symbol: string,
    members: readonly ConsolidatedMember[],
    opts: ConsolidationOptions = {},
  ) {
    // A book of another asset pair would be summed into prices it does not trade at.
    const withInstrument = members.filter((m) => m.instrument !== undefined);
    if (withInstrument.length > 0 && withInstrument.length < members.length) throw new Error(`consolidated ${symbol}: give every member's instrument or none`);
    this.mult = Float64Array.from(members, (m) => {
      const k = m.tickMultiplier ?? 1;
      if (!Number.isSafeInteger(k) || k <= 0) throw new Error(`tickMultiplier must be a positive integer, got ${k}`);
      return k;
    });
    for (let i = 0; i < withInstrument.length; i++) {
      const a = withInstrument[0]!;
      const b = withInstrument[i]!;
      const ai = a.instrument!;
      const bi = b.instrument!;
      if (!equivalentInstruments(ai, bi, opts)) {
        throw new Error(`consolidated ${symbol}: ${bi.exchange}:${bi.symbol} (${bi.base}/${bi.quote}) is not equivalent to ${ai.exchange}:${ai.symbol} (${ai.base}/${ai.quote}); declare the assets equivalent to merge them`);
      }
      // Prices and quantities are compared and summed as integers: every member's ticks must
      // land on one consolidated grid (tick / tickMultiplier) and its lots be the same size.
      const ak = BigInt(this.mult[0]!);
      const bk = BigInt(this.mult[i]!);
      if (!sameDecimal(ai.priceScale, ak, bi.priceScale, bk)) {
        throw new Error(
          `consolidated ${symbol}: ${bi.exchange}:${bi.symbol} tick ${bi.tickSize} / tickMultiplier ${bk} is not the consolidated tick of ${ai.exchange}:${ai.symbol} (${ai.tickSize} / ${ak}); ` +
            'give each member the tickMultiplier that takes its tick to the finest tick',
        );
      }
      if (!sameDecimal(ai.qtyScale, 1n, bi.qtyScale, 1n)) {
        throw new Error(`consolidated ${symbol}: ${bi.exchange}:${bi.symbol} lot ${bi.lotSize} differs from ${ai.exchange}:${ai.symbol}'s lot ${ai.lotSize}; quantities are summed in lots, so every member needs the same lot size`);
      }
    }
    this.books = members.map((m) => m.book);
    this.cursor = new Int32Array(members.length);
  }

  get memberCount(): number {
    return this.books.length;
  }
  member(i: number): L2Book {
    return this.books[i]!;
  }

  /** True when at least one member is synced. */
  get synced(): boolean {
    for (const b of this.books) if (b.synced) return true;
    return false;
  }

  bestBid(): number | undefined {
    const v = this.bestBidVenue();
    return v < 0 ? undefined : this.books[v]!.bestBidOr(0) * this.mult[v]!;
  }
  bestAsk(): number | undefined {
    const v = this.bestAskVenue();
    return v < 0 ? undefined : this.books[v]!.bestAskOr(0) * this.mult[v]!;
  }

  /** Index of the member with the best bid (first member on ties), -1 when none. */
  bestBidVenue(): number {
    let best = -Infinity;
    let at = -1;
    for (let i = 0; i < this.books.length; i++) {
      const b = this.books[i]!;
      if (!b.synced) continue;
      const p = b.bestBidOr(-Infinity) * this.mult[i]!;
      if (p > best) {
        best = p;
        at = i;
      }
    }
    return at;
  }
  bestAskVenue(): number {
    let best = Infinity;
    let at = -1;
    for (let i = 0; i < this.books.length; i++) {
      const b = this.books[i]!;
      if (!b.synced) continue;
      const p = b.bestAskOr(Infinity) * this.mult[i]!;
      if (p < best) {
        best = p;
        at = i;
      }
    }
    return at;
  }

  qtyAt(side: 'bid' | 'ask', price: number): number {
    let q = 0;
    for (let i = 0; i < this.books.length; i++) {
      const b = this.books[i]!;
      const k = this.mult[i]!;
      if (b.synced && price % k === 0) q += b.qtyAt(side, price / k);
    }
    return q;
  }

  /** Consolidated quantity at prices at least as good as limitPrice (see L2Book.qtyUpTo). */
  qtyUpTo(side: 'bid' | 'ask', limitPrice: number): number {
    let q = 0;
    for (let i = 0; i < this.books.length; i++) {
      const b = this.books[i]!;
      if (!b.synced) continue;
      const k = this.mult[i]!;
      q += b.qtyUpTo(side, side === 'ask' ? Math.floor(limitPrice / k) : Math.ceil(limitPrice / k));
    }
    return q;
  }

  /** Merged levels best-first, same prices summed; reuses `out`'s objects. */
  topLevels(side: 'bid' | 'ask', n: number, out: LevelOut[]): number {
    const code = side === 'bid' ? 0 : 1;
    const cur = this.cursor;
    cur.fill(0);
    let count = 0;
    while (count < n) {
      const p = this.nextPrice(code);
      if (p !== p) break; // NaN: exhausted
      let q = 0;
      for (let i = 0; i < this.books.length; i++) {
        const b = this.books[i]!;
        if (!b.synced) continue;
        const vp = b.priceAtDepth(code, cur[i]!);
        if (vp === vp && vp * this.mult[i]! === p) {
          q += b.qtyAtDepth(code, cur[i]!);
          cur[i]!++;
        }
      }
      const o = out[count];
      if (o !== undefined) {
        o.price = p;
        o.qty = q;
      } else out[count] = { price: p, qty: q };
      count++;
    }
    return count;
  }

  /**
   * Plans taking `qty` from `side` ('ask' for a buy, 'bid' for a sell) at prices at least as
   * good as limitPrice (use ±Infinity for none), best price first and, at one price, in member
   * order. Writes each member's quantity into perVenue (length >= memberCount; zeroed here)
   * and returns the total planned; lastSweepWorstPrice holds the worst price touched.
   */
  sweep(side: 'bid' | 'ask', qty: number, limitPrice: number, perVenue: Float64Array): number {
    const code = side === 'bid' ? 0 : 1;
    const cur = this.cursor;
    cur.fill(0);
    perVenue.fill(0, 0, this.books.length);
    let left = qty;
    this.lastSweepWorstPrice = NaN;
    while (left > 0) {
      const p = this.nextPrice(code);
      if (p !== p) break;
      if (code === 1 ? p > limitPrice : p < limitPrice) break;
      for (let i = 0; i < this.books.length && left > 0; i++) {
        const b = this.books[i]!;
        if (!b.synced) continue;
        const vp = b.priceAtDepth(code, cur[i]!);
        if (vp === vp && vp * this.mult[i]! === p) {
          const avail = b.qtyAtDepth(code, cur[i]!);
          const take = avail < left ? avail : left;
          perVenue[i]! += take;
          left -= take;
          cur[i]!++;
          this.lastSweepWorstPrice = p;
        }
      }
    }
    return qty - left;
  }

  /** Best next price across members' cursors (consolidated ticks), NaN when exhausted. */
  private nextPrice(code: 0 | 1): number {
    let best = NaN;
    for (let i = 0; i < this.books.length; i++) {
      const b = this.books[i]!;
      if (!b.synced) continue;
      const vp = b.priceAtDepth(code, this.cursor[i]!);
      if (vp !== vp) continue;
      const p = vp * this.mult[i]!;
      if (best !== best || (code === 0 ? p > best : p < best)) best = p;
    }
    return best;
  }
}

/**
 * tardis.dev normalized CSV: `trades` and `incremental_book_L2` files (optionally .gz),
 * timestamps in microseconds. Consecutive is_snapshot=true rows of a symbol with the same
 * timestamp form one snapshot; consecutive incremental rows of a symbol with the same timestamp
 * form one delta.
 */
import { decimalToUnits, defineInstrument, type BookLevel, type Instrument, type MarketEvent, type Side } from '@cwts/core';
import { L2Book } from '@cwts/core/microstructure';
import { splitSymbol, toPlainDecimal, type InstrumentOverride } from './options.js';
import { LINE_TOO_LONG, readLines, type LineReaderEvents } from './replay-lines.js';
import type { Keyed, ReplayDamageSink, ReplayItem } from './replay-types.js';

const TRADE_COLS = ['exchange', 'symbol', 'timestamp', 'local_timestamp', 'id', 'side', 'price', 'amount'];
const BOOK_COLS = ['exchange', 'symbol', 'timestamp', 'local_timestamp', 'is_snapshot', 'side', 'price', 'amount'];

type TardisKind = 'trades' | 'book';
interface TardisHeader {
  kind: TardisKind;
  col: Record<string, number>;
}

export function tardisHeader(line: string): TardisHeader | undefined {
  const cols = line.split(',').map((c) => c.trim());
  const col: Record<string, number> = {};
  cols.forEach((c, i) => (col[c] = i));
  if (BOOK_COLS.every((c) => c in col)) return { kind: 'book', col };
  if (TRADE_COLS.every((c) => c in col)) return { kind: 'trades', col };
  return undefined;
}

const decimals = (plain: string): number => {
  const dot = plain.indexOf('.');
  return dot < 0 ? 0 : plain.length - dot - 1;
};
const incrementOf = (dec: number): string => (dec === 0 ? '1' : `0.${'0'.repeat(dec - 1)}1`);

/** Reading the first rows to infer increments is not the replay: damage is counted when replayed. */
const quiet: LineReaderEvents = { onTruncated: () => {}, onUnreadable: () => {} };

/**
 * Instruments of tardis files: tick and lot from options, else inferred from the most decimals
 * seen in the first `limit` rows of each file. `exchanges`: how many of those rows name each exchange.
 */
export function inferTardisInstruments(
  files: readonly string[],
  o: { exchange?: string; instruments?: Record<string, InstrumentOverride>; limit: number },
): { map: Map<string, Instrument>; exchanges: Map<string, number> } {
  const maxDec = new Map<string, { exchange: string; price: number; amount: number }>();
  const exchanges = new Map<string, number>();
  for (const f of files) {
    const lines = readLines(f, quiet);
    const h = lines.next();
    if (h.done || h.value === null) continue;
    const header = tardisHeader(h.value);
    if (!header) continue;
    let n = 0;
    for (const line of lines) {
      if (n++ >= o.limit) break;
      if (line === null) continue;
      const cells = line.split(',');
      const sym = cells[header.col.symbol!];
      const price = toPlainDecimal(cells[header.col.price!]);
      const amount = toPlainDecimal(cells[header.col.amount!]);
      if (!sym || price === undefined || amount === undefined) continue;
      const exchange = cells[header.col.exchange!] ?? 'tardis';
      exchanges.set(exchange, (exchanges.get(exchange) ?? 0) + 1);
      const m = maxDec.get(sym) ?? { exchange, price: 0, amount: 0 };
      m.price = Math.max(m.price, decimals(price));
      m.amount = Math.max(m.amount, decimals(amount));
      maxDec.set(sym, m);
    }
    lines.return?.(undefined);
  }
  const map = new Map<string, Instrument>();
  const syms = new Set([...maxDec.keys(), ...Object.keys(o.instruments ?? {})]);
  for (const sym of syms) {
    const over = o.instruments?.[sym] ?? {};
    const d = maxDec.get(sym);
    const split = splitSymbol(sym);
    map.set(
      sym,
      defineInstrument({
        exchange: o.exchange ?? d?.exchange ?? 'tardis',
        symbol: sym,
        base: over.base ?? split.base,
        quote: over.quote ?? split.quote,
        tickSize: over.tickSize ?? incrementOf(d?.price ?? 2),
        lotSize: over.lotSize ?? incrementOf(d?.amount ?? 3),
        minNotional: over.minNotional ?? '0',
      }),
    );
  }
  return { map, exchanges };
}

class MalformedRow extends Error {}

/** Microseconds from a timestamp cell: digits only (Number('') and Number(' ') are 0, epoch). */
const micros = (text: string | undefined): number => (text !== undefined && /^[0-9]+$/.test(text) ? Number(text) : NaN);

/** A trade whose side the file says is `unknown`: inferred when it is delivered. */
interface UnknownSideTrade extends Keyed {
  inferSide: true;
}

/**
 * State shared by the tardis files of one replay. The merge reads each file one record ahead of
 * what it delivers, and several files of one symbol (days) are all opened at the start, so what
 * depends on the order of delivery is set in `delivered()`, never while reading: book sequence
 * numbers, a snapshot's reason and the `synced` status after the first, and the side of an
 * `unknown` trade, from the book as delivered so far.
 */
export class TardisStreams {
  private readonly seq = new Map<string, number>();
  private readonly synced = new Set<string>();
  private readonly books = new Map<string, L2Book>();

  constructor(
    /** The instrument of a symbol (configured, inferred, or defaults for a late symbol). */
    private readonly instrument: (symbol: string, exchange: string) => Instrument,
    private readonly damage: ReplayDamageSink,
  ) {}

  /**
   * The items of one file. Rows must not go back in arrival time (`local_timestamp`, the order
   * tardis writes them in); one that does is replayed and counted as out of order.
   */
  *records(file: string): Generator<Keyed> {
    const damage = this.damage;
    /** Why the line read last is not text (readLines yields it as null). */
    let badLine = LINE_TOO_LONG;
    const lines = readLines(file, {
      onTruncated: (d) => damage.truncated(file, d),
      onUnreadable: (d) => damage.malformed(file, 0, d),
      onBadLine: (d) => {
        badLine = d;
      },
    });
    const first = lines.next();
    if (first.done) return;
    const header = first.value === null ? undefined : tardisHeader(first.value);
    if (!header) {
      damage.malformed(file, 1, `not a tardis trades or incremental_book_L2 header: ${(first.value ?? `(${badLine})`).slice(0, 120)}`);
      lines.return?.(undefined);
      return;
    }
    const { col } = header;
    const width = Math.max(...Object.values(col)) + 1;
    let lineNo = 1;
    let lastLocalUs = -Infinity;
    interface Group {
      snapshot: boolean;
      symbol: string;
      exchange: string;
      tsUs: number;
      localUs: number;
      bids: Map<number, number>;
      asks: Map<number, number>;
    }
    let group: Group | undefined;

    for (const line of lines) {
      lineNo++;
      if (line === null) {
        damage.malformed(file, lineNo, badLine);
        continue;
      }
      if (line.trim() === '') continue;
      let keyed: Keyed | UnknownSideTrade | undefined;
      try {
        const c = line.split(',');
        if (c.length < width) throw new MalformedRow(`expected ${width} columns, got ${c.length}`);
        const exchange = c[col.exchange!]!;
        const symbol = c[col.symbol!]!;
        if (symbol === '') throw new MalformedRow('empty symbol');
        const tsUs = micros(c[col.timestamp!]);
        const local = micros(c[col.local_timestamp!]);
        if (!Number.isSafeInteger(tsUs)) throw new MalformedRow(`bad timestamp ${JSON.stringify(c[col.timestamp!]?.slice(0, 40))}`);
        // the arrival time is what detectors and the out-of-order check read: no stand-in for it
        if (!Number.isSafeInteger(local)) throw new MalformedRow(`bad local_timestamp ${JSON.stringify(c[col.local_timestamp!]?.slice(0, 40))}`);
        const instrument = this.instrument(symbol, exchange);
        const priceText = toPlainDecimal(c[col.price!]);
        const amountText = toPlainDecimal(c[col.amount!]);
        if (priceText === undefined || priceText.startsWith('-')) throw new MalformedRow(`bad price ${JSON.stringify(c[col.price!]?.slice(0, 40))}`);
        if (amountText === undefined || amountText.startsWith('-')) throw new MalformedRow(`bad amount ${JSON.stringify(c[col.amount!]?.slice(0, 40))}`);
        const price = decimalToUnits(priceText, instrument.priceScale, `price of ${symbol}`);
        const qty = decimalToUnits(amountText, instrument.qtyScale, `amount of ${symbol}`);
        if (header.kind === 'trades') {
          const sideText = c[col.side!]!;
          if (sideText !== 'buy' && sideText !== 'sell' && sideText !== 'unknown') throw new MalformedRow(`bad side ${JSON.stringify(sideText.slice(0, 40))}`);
          // 'unknown' is set in delivered(); 'buy' holds its place
          const side: Side = sideText === 'unknown' ? 'buy' : sideText;
          if (price <= 0 || qty <= 0) throw new MalformedRow('trade price and amount must be positive');
          const ev: MarketEvent = {
            type: 'trade',
            exchange,
            symbol,
            ts: Math.floor(tsUs / 1000),
            recvTs: Math.floor(local / 1000),
            tradeId: c[col.id!] || `${symbol}-${lineNo}`,
            price,
            qty,
            side,
          };
          keyed = sideText === 'unknown' ? { key: tsUs, item: ev, lineNo, inferSide: true } : { key: tsUs, item: ev, lineNo };
        } else {
          const snapText = c[col.is_snapshot!];
          if (snapText !== 'true' && snapText !== 'false') throw new MalformedRow(`bad is_snapshot ${JSON.stringify(snapText?.slice(0, 40))}`);
          const side = c[col.side!]!;
          if (side !== 'bid' && side !== 'ask') throw new MalformedRow(`bad side ${JSON.stringify(side.slice(0, 40))}`);
          if (price <= 0) throw new MalformedRow('price must be positive');
          const snapshot = snapText === 'true';
          // A snapshot is one timestamp too: a second snapshot right after the first (a
          // reconnect with no update between) replaces it, it does not add to it.
          if (group && (group.snapshot !== snapshot || group.symbol !== symbol || group.tsUs !== tsUs)) {
            yield* this.flush(group);
            group = undefined;
          }
          group ??= { snapshot, symbol, exchange, tsUs, localUs: local, bids: new Map(), asks: new Map() };
          (side === 'bid' ? group.bids : group.asks).set(price, qty);
        }
        if (local >= lastLocalUs) lastLocalUs = local;
        // a trade's disorder is counted when it is delivered, unless it is dropped then as a repeat
        else if (keyed) keyed.late = `local_timestamp ${local} before ${lastLocalUs}`;
        else damage.outOfOrder(file, lineNo, `local_timestamp ${local} before ${lastLocalUs}`);
      } catch (e) {
        damage.malformed(file, lineNo, (e as Error).message);
        continue;
      }
      if (keyed) yield keyed;
    }
    if (group) yield* this.flush(group);
  }

  /**
   * Completes an item as the merge delivers it (see the class comment). Returns the `synced`
   * status to deliver right after a symbol's first snapshot, else undefined.
   */
  delivered(k: Keyed): ReplayItem | undefined {
    const item = k.item;
    if (item.type === 'trade') {
      if ((k as Partial<UnknownSideTrade>).inferSide) {
        const book = this.books.get(item.symbol);
        const bid = book?.bestBid();
        const ask = book?.bestAsk();
        // below the mid of the book as delivered so far: the seller hit a bid
        item.side = bid !== undefined && ask !== undefined && 2 * item.price < bid + ask ? 'sell' : 'buy';
      }
      return undefined;
    }
    if (item.type !== 'book_snapshot' && item.type !== 'book_delta') return undefined;
    // One sequence per symbol in delivered order, whichever file (day) the update comes from.
    const seq = (this.seq.get(item.symbol) ?? 0) + 1;
    this.seq.set(item.symbol, seq);
    let book = this.books.get(item.symbol);
    if (!book) this.books.set(item.symbol, (book = new L2Book(item.exchange, item.symbol)));
    if (item.type === 'book_delta') {
      item.firstSeq = item.seq = seq;
      book.applyLevels(item.bids, item.asks);
      return undefined;
    }
    item.seq = seq;
    book.applySnapshot(item);
    if (this.synced.has(item.symbol)) {
      item.reason = 'resync';
      return undefined;
    }
    this.synced.add(item.symbol);
    return { type: 'feed_status', exchange: item.exchange, symbol: item.symbol, state: 'synced', reason: 'snapshot replayed', ts: item.ts };
  }

  /** Sequence numbers and a snapshot's reason are placeholders until `delivered()`. */
  private flush(g: { snapshot: boolean; symbol: string; exchange: string; tsUs: number; localUs: number; bids: Map<number, number>; asks: Map<number, number> }): Keyed[] {
    const ts = Math.floor(g.tsUs / 1000);
    const recvTs = Math.floor(g.localUs / 1000);
    const levels = (m: Map<number, number>, desc: boolean, dropZero: boolean): BookLevel[] => {
      const out: BookLevel[] = [];
      for (const [price, qty] of m) if (!dropZero || qty > 0) out.push({ price, qty });
      out.sort(desc ? (a, b) => b.price - a.price : (a, b) => a.price - b.price);
      return out;
    };
    const bids = levels(g.bids, true, g.snapshot);
    const asks = levels(g.asks, false, g.snapshot);
    if (g.snapshot) return [{ key: g.tsUs, item: { type: 'book_snapshot', exchange: g.exchange, symbol: g.symbol, ts, recvTs, seq: 0, bids, asks, reason: 'initial' } }];
    return [{ key: g.tsUs, item: { type: 'book_delta', exchange: g.exchange, symbol: g.symbol, ts, recvTs, firstSeq: 0, seq: 0, bids, asks } }];
  }
}

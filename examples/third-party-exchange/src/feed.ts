import {
  lotsToQty,
  priceToTicks,
  qtyToLots,
  ticksToPrice,
  type BookLevel,
  type FeedRejectReason,
  type Instrument,
  type MarketEventSink,
} from '@cwts/core';
import {
  BookSync,
  CONSECUTIVE_RULES,
  FeedErrorReporter,
  TradeIdGuard,
  TradeIdVerdict,
  tradeProblem,
  type MirrorBook,
} from '@cwts/core/adapter-kit';
import { tinyexChecksum } from './protocol.js';

export interface TinyExFeedOptions {
  exchange: string;
  instruments: readonly Instrument[];
  sink: () => MarketEventSink | undefined;
  now: () => number;
  /** Ask the venue for a snapshot of the symbol (a message on the socket). */
  requestSnapshot: (symbol: string) => void;
}

interface Sym {
  instrument: Instrument;
  sync: BookSync;
  trades: TradeIdGuard;
}

/** A rejection with its reason, thrown inside message handling and counted once. */
class Rejected extends Error {
  constructor(
    readonly reason: FeedRejectReason,
    message: string,
  ) {
    super(message);
  }
}

/**
 * TinyEx messages -> validated events, without I/O: what TinyExMarketData runs on every ws
 * frame, and what the conformance suite's frame harness drives in a worker. Parsing uses
 * JSON.parse (TinyEx is small; see the Binance adapter for a hot path); values go through the
 * adapter kit's rules (BookSync validates levels and ids, `tradeProblem` and `TradeIdGuard`
 * validate trades) and every rejection is counted by one FeedErrorReporter.
 */
export class TinyExFeed {
  readonly reporter: FeedErrorReporter;
  readonly syms = new Map<string, Sym>();
  frames = 0;

  constructor(private readonly o: TinyExFeedOptions) {
    this.reporter = new FeedErrorReporter({ exchange: o.exchange, component: `${o.exchange}:feed`, sink: o.sink, now: o.now });
    for (const instrument of o.instruments) {
      const symbol = instrument.symbol;
      const sync = new BookSync({
        exchange: o.exchange,
        symbol,
        rules: CONSECUTIVE_RULES,
        sink: o.sink,
        // TinyEx pushes snapshots: asking for one is a message on the socket
        snapshotWhen: 'venue',
        requestSnapshot: () => o.requestSnapshot(symbol),
        checksum: (book, expected) => checksumOf(instrument, book) === expected,
        reporter: this.reporter,
        now: o.now,
      });
      this.syms.set(symbol, { instrument, sync, trades: new TradeIdGuard() });
    }
  }

  onBinaryFrame(bytes: number): void {
    this.frames++;
    this.reporter.reject('', 'binary_frame', `binary frame of ${bytes} bytes dropped`);
  }

  onMessage(text: string): void {
    this.frames++;
    let m: unknown;
    try {
      m = JSON.parse(text);
    } catch {
      return this.reporter.reject('', 'malformed', 'malformed JSON dropped');
    }
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return this.reporter.reject('', 'malformed', 'message is not a JSON object');
    const msg = m as Record<string, unknown>;
    if (typeof msg.type !== 'string' || !['snapshot', 'update', 'trade'].includes(msg.type)) return this.reporter.reject('', 'unknown_message', `unknown message dropped: ${text.slice(0, 80)}`);
    const s = typeof msg.symbol === 'string' ? this.syms.get(msg.symbol) : undefined;
    if (!s) return this.reporter.reject('', 'unknown_symbol', `unknown symbol ${String(msg.symbol).slice(0, 40)}`);
    try {
      this.handle(msg, s);
    } catch (err) {
      const reason = err instanceof Rejected ? err.reason : 'off_grid';
      this.reporter.reject(s.instrument.symbol, reason, `bad ${msg.type} dropped: ${(err as Error).message}`);
      // an update we cannot apply leaves the book behind the venue: resync
      if (msg.type === 'update') s.sync.resync(`invalid update rejected (${reason}): ${(err as Error).message}`);
      // a snapshot we cannot use: ask for another
      if (msg.type === 'snapshot') s.sync.requestAgain('invalid snapshot');
    }
  }

  private handle(m: Record<string, unknown>, s: Sym): void {
    const i = s.instrument;
    const now = this.o.now();
    // Event times: the venue's where it sends one (trades), else the receive time (TinyEx's book
    // messages carry none). Never 0: detectors and strategies bucket by event time, and a 0 reads
    // as 1970 (it started core's cascade detector's clock there and voided its warm-up).
    switch (m.type) {
      case 'snapshot':
        s.sync.onSnapshot({ seq: seqOf(m.seq), bids: levels(i, m.bids), asks: levels(i, m.asks), ts: now });
        return;
      case 'update': {
        if (!Array.isArray(m.changes)) throw new Rejected('malformed', 'update without changes');
        if (typeof m.checksum !== 'number' || !Number.isInteger(m.checksum)) throw new Rejected('malformed', 'update without an integer checksum');
        const bids: BookLevel[] = [];
        const asks: BookLevel[] = [];
        for (const c of m.changes as unknown[]) {
          if (!Array.isArray(c) || (c[0] !== 'b' && c[0] !== 'a') || typeof c[1] !== 'string' || typeof c[2] !== 'string') throw new Rejected('malformed', 'change is not ["b"|"a","price","qty"]');
          (c[0] === 'b' ? bids : asks).push({ price: priceToTicks(i, c[1]), qty: qtyToLots(i, c[2]) });
        }
        const seq = seqOf(m.seq);
        s.sync.onDelta({ type: 'book_delta', exchange: this.o.exchange, symbol: i.symbol, ts: now, recvTs: now, firstSeq: seq, seq, bids, asks }, m.checksum);
        return;
      }
      case 'trade': {
        if (typeof m.price !== 'string' || typeof m.qty !== 'string' || (m.side !== 'buy' && m.side !== 'sell')) throw new Rejected('malformed', 'trade without price, qty or side');
        const id = seqOf(m.id);
        const price = priceToTicks(i, m.price);
        const qty = qtyToLots(i, m.qty);
        const bad = tradeProblem(price, qty);
        if (bad !== undefined) throw new Rejected(bad, `trade ${id}: ${bad.replace(/_/g, ' ')}`);
        // The trade's venue time where it sends a usable one: the guard needs it to follow the
        // stream back behind one id that was far ahead (a corrupted digit); given ids alone it
        // dropped every real trade as a duplicate until the stream caught up with that id.
        const venueTs = typeof m.ts === 'number' && Number.isFinite(m.ts) && m.ts > 0 ? m.ts : undefined;
        const v = s.trades.check(id, venueTs);
        if (v === TradeIdVerdict.DUPLICATE) return;
        if (v === TradeIdVerdict.JUMP) throw new Rejected('trade_id_jump', `trade id ${id} is implausibly far ahead of ${s.trades.last}`);
        this.o.sink()?.onMarketEvent({ type: 'trade', exchange: this.o.exchange, symbol: i.symbol, ts: venueTs ?? now, recvTs: now, tradeId: String(id), price, qty, side: m.side });
        return;
      }
    }
  }
}

function seqOf(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Rejected('malformed', `id ${String(v).slice(0, 30)} is not an integer`);
  return v;
}

function levels(i: Instrument, raw: unknown): BookLevel[] {
  if (!Array.isArray(raw)) throw new Rejected('malformed', 'snapshot side is not an array');
  return raw.map((l: unknown) => {
    if (!Array.isArray(l) || typeof l[0] !== 'string' || typeof l[1] !== 'string') throw new Rejected('malformed', 'level is not ["price","qty"]');
    return { price: priceToTicks(i, l[0]), qty: qtyToLots(i, l[1]) };
  });
}

export function checksumOf(i: Instrument, book: MirrorBook): number {
  const side = (s: MirrorBook['bids']): [string, string][] => {
    const out: [string, string][] = [];
    for (let k = 0; k < Math.min(10, s.n); k++) out.push([ticksToPrice(i, s.priceAt(k)), lotsToQty(i, s.qtyAt(k))]);
    return out;
  };
  return tinyexChecksum(side(book.bids), side(book.asks));
}

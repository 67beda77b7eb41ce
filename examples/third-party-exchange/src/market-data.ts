import {
  BookSync,
  CONSECUTIVE_RULES,
  TimerSet,
  WsConnection,
  defineInstrument,
  httpJson,
  lotsToQty,
  priceToTicks,
  qtyToLots,
  ticksToPrice,
  type BookLevel,
  type Clock,
  type Instrument,
  type MarketDataClient,
  type MarketEventSink,
  type MirrorBook,
} from '@cwts/core';
import { tinyexChecksum } from './protocol.js';

export interface TinyExSettings {
  exchange: string;
  /** e.g. ws://127.0.0.1:8000 (the feed is at /v1/feed) */
  wsUrl: string;
  /** e.g. http://127.0.0.1:8000 */
  restUrl: string;
  clock: Clock;
  reconnectInitialMs?: number;
}

interface Sym {
  instrument: Instrument;
  sync: BookSync;
  lastTradeId: number;
}

/**
 * Market data for TinyEx, built from the public adapter kit of @cwts/core: WsConnection for
 * the socket, BookSync with CONSECUTIVE_RULES and a checksum for the book, TimerSet for clean
 * shutdown. Parsing uses JSON.parse (TinyEx is small; see the Binance adapter for a hot path).
 */
export class TinyExMarketData implements MarketDataClient {
  readonly exchange: string;
  private readonly timers = new TimerSet();
  private readonly instruments = new Map<string, Instrument>();
  private readonly syms = new Map<string, Sym>();
  private conn: WsConnection | undefined;
  private sink: MarketEventSink | undefined;

  constructor(private readonly s: TinyExSettings) {
    this.exchange = s.exchange;
  }

  async loadInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    const res = await httpJson(`${this.s.restUrl}/v1/instruments`);
    if (res.status !== 200 || !Array.isArray(res.body)) throw new Error(`${this.exchange}: GET /v1/instruments failed (HTTP ${res.status})`);
    const all = res.body as { symbol: string; base: string; quote: string; tick: string; lot: string; min_notional: string }[];
    return symbols.map((sym) => {
      const x = all.find((i) => i.symbol === sym);
      if (!x) throw new Error(`${this.exchange}: unknown symbol ${sym}`);
      const i = defineInstrument({ exchange: this.exchange, symbol: sym, base: x.base, quote: x.quote, tickSize: x.tick, lotSize: x.lot, minNotional: x.min_notional });
      this.instruments.set(sym, i);
      return i;
    });
  }

  async start(symbols: readonly string[], sink: MarketEventSink): Promise<void> {
    for (const s of symbols) if (!this.instruments.has(s)) await this.loadInstruments([s]);
    this.sink = sink;
    this.timers.reopen();
    for (const symbol of symbols) {
      const instrument = this.instruments.get(symbol)!;
      const sync = new BookSync({
        exchange: this.exchange,
        symbol,
        rules: CONSECUTIVE_RULES,
        sink: () => this.sink,
        // TinyEx pushes snapshots: asking for one is a message on the socket
        snapshotWhen: 'venue',
        requestSnapshot: () => void this.conn?.send(JSON.stringify({ op: 'snapshot', symbol })),
        checksum: (book, expected) => checksumOf(instrument, book) === expected,
        now: () => this.s.clock.now(),
      });
      this.syms.set(symbol, { instrument, sync, lastTradeId: -1 });
    }
    this.conn = new WsConnection({
      name: `${this.exchange} feed`,
      url: () => `${this.s.wsUrl}/v1/feed`,
      timers: this.timers,
      backoff: { initialMs: this.s.reconnectInitialMs ?? 250, maxMs: 5000 },
      pingIntervalMs: 15_000,
      staleAfterMs: 30_000,
      onOpen: (c, info) => {
        c.send(JSON.stringify({ op: 'subscribe', symbols: [...this.syms.keys()] }));
        for (const s of this.syms.values()) s.sync.begin(info.reconnect ? `reconnect after ${info.reason}` : 'initial');
      },
      onDown: (reason) => {
        for (const s of this.syms.values()) s.sync.suspend();
        this.sink?.onFeedStatus({ type: 'feed_status', exchange: this.exchange, symbol: '', state: 'disconnected', reason: `disconnected: ${reason}`, ts: this.s.clock.now() });
      },
      onError: (m) => this.sink?.onFeedError(`${this.exchange}:feed`, m),
      onMessage: (text) => this.onMessage(text),
    });
    await this.conn.start();
  }

  async stop(): Promise<void> {
    for (const s of this.syms.values()) s.sync.suspend();
    const sink = this.sink;
    this.sink = undefined;
    await this.conn?.close();
    this.timers.close();
    void sink;
  }

  pendingTimers(): number {
    return this.timers.size;
  }

  private bad(message: string): void {
    this.sink?.onFeedError(`${this.exchange}:feed`, `${this.exchange}: ${message}`);
  }

  private onMessage(text: string): void {
    if (!this.sink) return;
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return this.bad('malformed JSON dropped');
    }
    const s = typeof m?.symbol === 'string' ? this.syms.get(m.symbol) : undefined;
    if (!s) return this.bad(`unknown message dropped: ${text.slice(0, 80)}`);
    const i = s.instrument;
    try {
      const now = this.s.clock.now();
      switch (m.type) {
        case 'snapshot':
          s.sync.onSnapshot({ seq: Number(m.seq), bids: levels(i, m.bids), asks: levels(i, m.asks), ts: 0 });
          return;
        case 'update': {
          const bids: BookLevel[] = [];
          const asks: BookLevel[] = [];
          for (const [side, p, q] of m.changes as [string, string, string][]) (side === 'b' ? bids : asks).push({ price: priceToTicks(i, p), qty: qtyToLots(i, q) });
          const seq = Number(m.seq);
          s.sync.onDelta({ type: 'book_delta', exchange: this.exchange, symbol: i.symbol, ts: 0, recvTs: now, firstSeq: seq, seq, bids, asks }, Number(m.checksum));
          return;
        }
        case 'trade': {
          const id = Number(m.id);
          if (id <= s.lastTradeId) return;
          s.lastTradeId = id;
          this.sink.onMarketEvent({ type: 'trade', exchange: this.exchange, symbol: i.symbol, ts: Number(m.ts) || 0, recvTs: now, tradeId: String(id), price: priceToTicks(i, String(m.price)), qty: qtyToLots(i, String(m.qty)), side: m.side === 'sell' ? 'sell' : 'buy' });
          return;
        }
        default:
          return this.bad(`unknown message type ${String(m.type)} dropped`);
      }
    } catch (err) {
      this.bad(`bad ${String(m.type)} dropped: ${(err as Error).message}`);
      if (m.type === 'update') s.sync.resync(`invalid update: ${(err as Error).message}`);
    }
  }
}

function levels(i: Instrument, raw: unknown): BookLevel[] {
  return (raw as [string, string][]).map(([p, q]) => ({ price: priceToTicks(i, p), qty: qtyToLots(i, q) }));
}

function checksumOf(i: Instrument, book: MirrorBook): number {
  const side = (s: MirrorBook['bids']): [string, string][] => {
    const out: [string, string][] = [];
    for (let k = 0; k < Math.min(10, s.n); k++) out.push([ticksToPrice(i, s.priceAt(k)), lotsToQty(i, s.qtyAt(k))]);
    return out;
  };
  return tinyexChecksum(side(book.bids), side(book.asks));
}

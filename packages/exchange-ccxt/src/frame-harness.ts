import { HarnessSink, type FrameHarness, type FrameHarnessState, type FrameSample } from '@cwts/core/adapter-kit';
import type { CcxtBook, CcxtExchange, CcxtMarket, CcxtTrade } from './ccxt-exchange.js';
import { instrumentFromMarket } from './instruments.js';
import { CcxtMarketData, type SymbolState } from './market-data.js';
import { resolveCcxtOptions } from './options.js';

/**
 * The ccxt adapter's frame harness for the conformance suite's malformed-input section, with
 * ccxt_id "binance". The frame parsing is ccxt's own, so the harness runs the real thing with no
 * socket: a ccxt pro binance instance with its markets set, our frame tap installed, and ccxt's
 * own WsClient (never connected) whose onMessage does exactly what it does for a socket frame
 * (JSON parse, handleMessage). Whatever ccxt resolves for our symbol goes through the adapter's
 * conversion (onBook / onTrade: integer ticks and lots, edge validation, trade-id guard), as the
 * watch loops would hand it; what ccxt rejects takes the book out of SYNCED, as a failed watch does.
 * Loaded in a worker: { module: '<path>/frame-harness.ts', export: 'createCcxtBinanceFrameHarness' }.
 */
const SYMBOL = 'BTCUSDT';
const CCXT_SYMBOL = 'BTC/USDT';
const WS_URL = 'wss://stream.binance.com:9443/ws';
const SNAPSHOT_ID = 1000;
const SNAPSHOT = { lastUpdateId: SNAPSHOT_ID, bids: [['65000.00', '1.00000'], ['64999.00', '2.00000'], ['64998.00', '3.00000']], asks: [['65001.00', '1.50000'], ['65002.00', '2.50000'], ['65003.00', '4.00000']] };
const BASE_TRADE_ID = 5000;
const MARKET = {
  id: SYMBOL, symbol: CCXT_SYMBOL, base: 'BTC', quote: 'USDT', baseId: 'BTC', quoteId: 'USDT', settle: undefined,
  type: 'spot', spot: true, margin: false, swap: false, future: false, option: false, contract: false, linear: undefined, inverse: undefined,
  active: true, precision: { price: 0.01, amount: 0.00001 }, limits: { cost: { min: 5 }, amount: {}, price: {} },
};

type WsClientLike = {
  onMessage(ev: { data: unknown }): void;
  resolve(result: unknown, hash?: string): unknown;
  reject(err: unknown, hash?: string): unknown;
  log: (...a: unknown[]) => void;
};
type ProCtor = new (config: object) => CcxtExchange & {
  setMarkets(m: unknown): unknown;
  client(url: string): WsClientLike;
  orderBook(snapshot: object, depth?: number): CcxtBook & { reset(s: object): void };
  parseOrderBook(body: unknown, symbol: string, ts?: number, bidsKey?: string, asksKey?: string): object & { nonce?: number };
  orderbooks: Record<string, unknown>;
};

class CcxtBinanceFrameHarness implements FrameHarness {
  private readonly sink = new HarnessSink();
  private md!: CcxtMarketData;
  private st!: SymbolState;
  private ex!: InstanceType<ProCtor>;
  private client!: WsClientLike;
  private frames = 0;

  constructor(private readonly Ctor: ProCtor) {
    this.reset();
  }

  samples(): FrameSample[] {
    const U = SNAPSHOT_ID + 2;
    const price = (p: (string | number)[], crossing?: string) => ({ path: p, role: 'price' as const, ...(crossing ? { crossing } : {}) });
    return [
      {
        kind: 'depth',
        text: JSON.stringify({ e: 'depthUpdate', E: 1764900000000, s: SYMBOL, U, u: U + 2, b: [['64999.50', '0.25000'], ['64999.00', '0']], a: [['65001.00', '0.75000']] }),
        fields: [
          { path: ['e'], role: 'type' },
          { path: ['s'], role: 'symbol' },
          { path: ['U'], role: 'firstSeq' },
          { path: ['u'], role: 'seq' },
          { path: ['b'], role: 'required' },
          { path: ['a'], role: 'required' },
          price(['b', 0, 0], '65001.00'),
          { path: ['b', 0, 1], role: 'levelQty' },
          price(['a', 0, 0]),
          { path: ['a', 0, 1], role: 'levelQty' },
        ],
      },
      {
        kind: 'trade',
        text: JSON.stringify({ e: 'trade', E: 1764900000002, s: SYMBOL, t: BASE_TRADE_ID + 1, p: '65000.50', q: '0.00100', T: 1764900000001, m: true, M: true }),
        fields: [
          { path: ['e'], role: 'type' },
          { path: ['s'], role: 'symbol' },
          { path: ['t'], role: 'tradeId' },
          price(['p']),
          { path: ['q'], role: 'qty' },
          { path: ['m'], role: 'required' },
        ],
      },
    ];
  }

  reset(_mode: 'synced' | 'awaiting-snapshot' = 'synced'): FrameHarnessState {
    this.sink.reset();
    this.frames = 0;
    const ex = (this.ex = new this.Ctor({ enableRateLimit: false }));
    ex.setMarkets([MARKET]);
    const options = resolveCcxtOptions({ ccxt_id: 'binance' });
    this.md = new CcxtMarketData({ exchange: 'ccxt-binance', ccxt: async () => ex, options, clock: { now: () => 0 } as never });
    this.md.attach(ex, this.sink);
    this.st = this.md.track(instrumentFromMarket('ccxt-binance', ex, MARKET), CCXT_SYMBOL);
    // ccxt's own client (built after the tap, as start() does before any watch), never connected
    const client = (this.client = ex.client(WS_URL));
    client.log = () => {};
    client.resolve = (result: unknown, hash?: string) => this.route(result, hash);
    client.reject = (err: unknown, hash?: string) => this.routeError(err, hash);
    // the book ccxt holds after its REST snapshot (what handleOrderBookSubscription does)
    const book = ex.orderBook({}, 1000);
    ex.orderbooks[CCXT_SYMBOL] = book;
    const snap = ex.parseOrderBook(SNAPSHOT, CCXT_SYMBOL);
    snap.nonce = SNAPSHOT_ID;
    book.reset(snap);
    this.md.onBook(ex, this.st, book);
    // the first diff after the snapshot, so samples meet ccxt's steady-state continuity rule (U = previous u + 1)
    this.feed(JSON.stringify({ e: 'depthUpdate', E: 1764899999999, s: SYMBOL, U: SNAPSHOT_ID + 1, u: SNAPSHOT_ID + 1, b: [['64997.00', '1.00000']], a: [] }));
    this.feed(JSON.stringify({ e: 'trade', E: 1, s: SYMBOL, t: BASE_TRADE_ID, p: '65000.00', q: '0.00100', T: 1, m: false, M: true }));
    this.sink.trades = [];
    this.frames = 0;
    if (!this.sink.synced) throw new Error(`ccxt harness did not sync: ${this.sink.logs.join('; ')}`);
    return this.state();
  }

  /** What a watch loop would receive for a resolved future. */
  private route(result: unknown, hash?: string): void {
    if (hash === `orderbook::${CCXT_SYMBOL}`) this.md.onBook(this.ex, this.st, result as CcxtBook);
    else if (hash === `trade::${CCXT_SYMBOL}`) {
      // watchTrades hands the new trades: one frame appends one trade
      const trades = result as CcxtTrade[];
      const last = trades[trades.length - 1];
      if (last) this.md.onTrade(this.ex, this.st, last);
    }
  }

  private routeError(err: unknown, hash?: string): void {
    if (hash === undefined || hash === `orderbook::${CCXT_SYMBOL}`) this.md.onBookWatchError(this.st, err);
    if (hash === undefined || hash === `trade::${CCXT_SYMBOL}`) this.md.onTradeWatchError(this.st, err);
  }

  feed(input: string | Uint8Array, _channel: 'ws' | 'snapshot' = 'ws'): FrameHarnessState {
    this.frames++;
    // the ws library hands binary frames to ccxt as a Buffer
    this.client.onMessage({ data: typeof input === 'string' ? input : Buffer.from(input) });
    return this.state();
  }

  state(): FrameHarnessState {
    return this.sink.snapshot(this.frames, this.md.reporter.total);
  }
}

export async function createCcxtBinanceFrameHarness(): Promise<FrameHarness> {
  const mod = (await import('ccxt')) as unknown as { default?: { pro: Record<string, ProCtor> }; pro?: Record<string, ProCtor> };
  const pro = (mod.default ?? mod).pro!;
  return new CcxtBinanceFrameHarness(pro.binance!);
}

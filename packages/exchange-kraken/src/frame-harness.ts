import { HarnessSink, MirrorBook, type FrameHarness, type FrameHarnessState, type FrameSample } from '@cwts/core/adapter-kit';
import { krakenChecksum } from './checksum.js';
import { KrakenExecutionsParser } from './executions-parse.js';
import { KrakenFeed, type FeedSymbol } from './feed.js';
import { instrumentsFromPairs, type KrakenInstrument } from './instruments.js';
import { numberUnits } from './parse.js';

/**
 * Kraken's frame harness for the exchange conformance suite's malformed-input section: the
 * adapter's own KrakenFeed (parser, edge validation, checksum-guarded book sync, trade-id guard)
 * with no socket. Loaded in a worker thread by module path:
 *   { module: '<path>/frame-harness.js', export: 'createKrakenFrameHarness' }
 *
 * Kraken v2 has no REST snapshot and no sequence numbers: every sample is a ws frame, and the
 * book's integrity rests on the CRC32 checksum each book message carries, which the samples
 * compute from their levels so that a clean frame applies and any altered level fails it.
 *
 * The private `executions` channel's parser rides along: its frames (told apart by their
 * channel, as on the private connection they arrive alone) go to KrakenExecutionsParser, whose
 * rejections are counted with the feed's. Nothing it accepts touches the book or the trades.
 */
export interface KrakenHarnessOptions {
  bookDepth?: number;
  maxTradeIdJump?: number;
}

const SYMBOL = 'BTC/USD';
const BASE_TRADE_ID = 5000;
type Level = [price: string, qty: string];

/** BTC/USD as Kraken's instrument channel describes it (0.1 tick, 8 qty decimals). */
export function krakenHarnessInstrument(): KrakenInstrument {
  const pair = { symbol: SYMBOL, base: 'BTC', quote: 'USD', status: 'online', qty_precision: 8, qty_increment: 1e-8, price_precision: 1, price_increment: 0.1, cost_precision: 5, marginable: false, has_index: true, cost_min: 0.5, tick_size: 0.1, qty_min: 0.0001 };
  return instrumentsFromPairs('kraken', [pair], [SYMBOL])[0]!;
}

const BASE_BIDS: Level[] = [['65000.0', '1.0'], ['64999.0', '2.0'], ['64998.0', '3.0']];
const BASE_ASKS: Level[] = [['65001.0', '1.5'], ['65002.0', '2.5'], ['65003.0', '4.0']];

/** A book frame; numbers bare, as Kraken writes them. */
function bookFrame(type: 'snapshot' | 'update', bids: Level[], asks: Level[], checksum: number): string {
  const lv = (ls: Level[]) => `[${ls.map(([p, q]) => `{"price":${p},"qty":${q}}`).join(',')}]`;
  return `{"channel":"book","type":"${type}","data":[{"symbol":"${SYMBOL}","bids":${lv(bids)},"asks":${lv(asks)},"checksum":${checksum},"timestamp":"2026-12-05T06:00:00.123456Z"}]}`;
}

function tradeFrame(id: number, price: string, qty: string): string {
  return `{"channel":"trade","type":"update","data":[{"symbol":"${SYMBOL}","side":"buy","price":${price},"qty":${qty},"ord_type":"limit","trade_id":${id},"timestamp":"2026-12-05T06:00:00.200000Z"}]}`;
}

const ORDER_ID = 'OQCLML-BW3P3-BUCMWZ';
/** An executions `trade` event for one of our orders, numbers bare as Kraken writes them. */
function executionTradeFrame(): string {
  return `{"channel":"executions","type":"update","data":[{"order_id":"${ORDER_ID}","cl_ord_id":"cwts-1-7","exec_id":"TJE4LS-FRIFQ-5PO2Y4","exec_type":"trade","trade_id":7,"symbol":"${SYMBOL}","side":"buy","last_qty":0.25,"last_price":65000.5,"liquidity_ind":"m","cost":16250.125,"order_userref":0,"order_status":"partially_filled","order_type":"limit","fees":[{"asset":"USD","qty":2.6}],"fee_usd_equiv":2.6,"cum_qty":0.25,"cum_cost":16250.125,"avg_price":65000.5,"timestamp":"2026-12-05T06:00:00.300000Z"}],"sequence":12}`;
}

class KrakenFrameHarness implements FrameHarness {
  private readonly sink = new HarnessSink();
  private executions!: KrakenExecutionsParser;
  private feedInstance!: KrakenFeed;
  private sym!: FeedSymbol;
  private readonly instrument = krakenHarnessInstrument();

  constructor(private readonly opts: KrakenHarnessOptions) {
    this.reset();
  }

  /** The checksum Kraken would send for the base book after `bids`/`asks` (or for them alone, `replace`). */
  private checksumOf(bids: Level[], asks: Level[], replace: boolean): number {
    const sc = this.sym.scales;
    const toUnits = (ls: Level[]) => ls.map(([p, q]) => ({ price: numberUnits(p, 0, p.length, sc.price), qty: numberUnits(q, 0, q.length, sc.qty) }));
    const m = new MirrorBook();
    if (!replace) m.apply(toUnits(BASE_BIDS), toUnits(BASE_ASKS));
    m.apply(toUnits(bids), toUnits(asks));
    return krakenChecksum(m, this.sym.precision);
  }

  private book(type: 'snapshot' | 'update', bids: Level[], asks: Level[]): string {
    return bookFrame(type, bids, asks, this.checksumOf(bids, asks, type === 'snapshot'));
  }

  samples(): FrameSample[] {
    const price = (p: (string | number)[], crossing?: string) => ({ path: p, role: 'price' as const, ...(crossing ? { crossing } : {}) });
    const bookFields = (qtyRole: 'levelQty' | 'qty') => [
      { path: ['channel'], role: 'stream' as const },
      { path: ['type'], role: 'type' as const },
      { path: ['data'], role: 'required' as const },
      { path: ['data', 0, 'symbol'], role: 'symbol' as const },
      { path: ['data', 0, 'bids'], role: 'required' as const },
      { path: ['data', 0, 'asks'], role: 'required' as const },
      { path: ['data', 0, 'checksum'], role: 'required' as const },
      price(['data', 0, 'bids', 0, 'price'], '65001.0'),
      { path: ['data', 0, 'bids', 0, 'qty'], role: qtyRole },
      price(['data', 0, 'asks', 0, 'price']),
      { path: ['data', 0, 'asks', 0, 'qty'], role: qtyRole },
    ];
    return [
      {
        kind: 'book update',
        text: this.book('update', [['64999.5', '0.25'], ['64999.0', '0']], [['65001.0', '0.75']]),
        fields: bookFields('levelQty'),
      },
      {
        // Kraken replays a snapshot after every (re)subscription; one arriving while synced replaces the book
        kind: 'book snapshot',
        text: this.book('snapshot', [['65000.5', '1.25'], ['64999.0', '2.0']], [['65001.5', '0.5'], ['65003.0', '4.0']]),
        fields: bookFields('qty'),
      },
      {
        kind: 'trade',
        text: tradeFrame(BASE_TRADE_ID + 1, '65000.5', '0.001'),
        fields: [
          { path: ['channel'], role: 'stream' },
          { path: ['type'], role: 'type' },
          { path: ['data'], role: 'required' },
          { path: ['data', 0, 'symbol'], role: 'symbol' },
          { path: ['data', 0, 'side'], role: 'required' },
          price(['data', 0, 'price']),
          { path: ['data', 0, 'qty'], role: 'qty' },
          { path: ['data', 0, 'trade_id'], role: 'tradeId' },
        ],
      },
      { kind: 'heartbeat', text: '{"channel":"heartbeat"}', fields: [{ path: ['channel'], role: 'type' }] },
      {
        kind: 'status',
        text: '{"channel":"status","type":"update","data":[{"version":"2.0.9","system":"online","api_version":"v2","connection_id":12345678901234567890}]}',
        fields: [{ path: ['channel'], role: 'type' }],
      },
      {
        kind: 'executions trade',
        text: executionTradeFrame(),
        fields: [
          { path: ['channel'], role: 'stream' },
          { path: ['type'], role: 'type' },
          { path: ['data'], role: 'required' },
          { path: ['data', 0, 'exec_type'], role: 'type' },
          { path: ['data', 0, 'order_id'], role: 'required' },
          { path: ['data', 0, 'exec_id'], role: 'required' },
          // required, not 'symbol': the channel is account-wide, so an event on a pair not
          // configured here is another pair's activity, left out and counted, not a rejection
          { path: ['data', 0, 'symbol'], role: 'required' },
          price(['data', 0, 'last_price']),
          { path: ['data', 0, 'last_qty'], role: 'qty' },
          { path: ['data', 0, 'timestamp'], role: 'required' },
        ],
      },
      {
        kind: 'executions cancel',
        text: `{"channel":"executions","type":"update","data":[{"timestamp":"2026-12-05T06:00:01.000000Z","order_status":"canceled","exec_type":"canceled","cum_qty":0.25,"cum_cost":16250.125,"fee_usd_equiv":2.6,"avg_price":65000.5,"order_userref":0,"cancel_reason":"User requested","reason":"User requested","order_id":"${ORDER_ID}"}],"sequence":13}`,
        fields: [
          { path: ['channel'], role: 'stream' },
          { path: ['type'], role: 'type' },
          { path: ['data'], role: 'required' },
          { path: ['data', 0, 'exec_type'], role: 'type' },
          { path: ['data', 0, 'order_id'], role: 'required' },
          { path: ['data', 0, 'timestamp'], role: 'required' },
        ],
      },
      {
        kind: 'executions subscribe reply',
        text: '{"method":"subscribe","result":{"channel":"executions","maxratecount":125,"snap_orders":true,"snap_trades":true},"success":true,"time_in":"2026-12-05T06:00:00.000000Z","time_out":"2026-12-05T06:00:00.000100Z","req_id":2}',
        fields: [{ path: ['method'], role: 'required' }],
      },
      {
        kind: 'subscribe reply',
        text: `{"method":"subscribe","result":{"channel":"trade","snapshot":false,"symbol":"${SYMBOL}"},"success":true,"time_in":"2026-12-05T06:00:00.000000Z","time_out":"2026-12-05T06:00:00.000100Z","req_id":1}`,
        fields: [{ path: ['method'], role: 'required' }],
      },
    ];
  }

  reset(mode: 'synced' | 'awaiting-snapshot' = 'synced'): FrameHarnessState {
    this.sink.reset();
    const i = this.instrument.instrument;
    this.executions = new KrakenExecutionsParser((s) => (s === i.symbol ? i : undefined));
    this.feedInstance = new KrakenFeed({
      exchange: 'kraken',
      instruments: [this.instrument],
      bookDepth: this.opts.bookDepth ?? 25,
      sink: () => this.sink,
      now: () => 0,
      // Kraken answers a (re)subscription with a snapshot on the socket: nothing to do here
      requestSnapshot: () => {},
      maxTradeIdJump: this.opts.maxTradeIdJump,
    });
    this.sym = this.feedInstance.symbol(SYMBOL)!;
    this.sym.sync.begin('initial');
    if (mode === 'synced') {
      this.feedInstance.onFrame(this.book('snapshot', BASE_BIDS, BASE_ASKS));
      this.feedInstance.onFrame(tradeFrame(BASE_TRADE_ID, '65000.0', '0.001'));
      this.sink.trades = [];
      if (!this.sink.synced) throw new Error(`kraken harness did not sync: ${this.sink.logs.join('; ')}`);
    }
    return this.state();
  }

  feed(input: string | Uint8Array, _channel: 'ws' | 'snapshot' = 'ws'): FrameHarnessState {
    if (typeof input !== 'string') this.feedInstance.onBinaryFrame(input.byteLength);
    else if (KrakenExecutionsParser.claims(input)) this.executions.parse(input);
    else this.feedInstance.onFrame(input);
    return this.state();
  }

  state(): FrameHarnessState {
    return this.sink.snapshot(this.feedInstance.stats.frames + this.executions.frames, this.feedInstance.rejected + this.executions.rejected);
  }
}

export function createKrakenFrameHarness(options: KrakenHarnessOptions = {}): FrameHarness {
  return new KrakenFrameHarness(options);
}

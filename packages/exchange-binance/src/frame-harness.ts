import { defineInstrument, type FeedReject, type Instrument, type MarketEvent } from '@cwts/core';
import { HarnessSink, type FrameHarness, type FrameHarnessState, type FrameSample } from '@cwts/core/adapter-kit';
import { BinanceFeed, type FeedSymbol } from './feed.js';

/**
 * Binance's frame harness for the exchange conformance suite's malformed-input section and for
 * `pnpm fuzz`: the adapter's own BinanceFeed (parser, edge validation, book sync, trade-id
 * guard) with no socket and no REST client. Loaded in a worker thread by module path:
 *   { module: '<path>/frame-harness.js', export: 'createBinanceFrameHarness' }
 */
export interface BinanceHarnessOptions {
  futures?: boolean;
  maxSeqJump?: number;
  maxTradeIdJump?: number;
}

const SYMBOL = 'BTCUSDT';
const SNAPSHOT_ID = 1000;
const SNAPSHOT = `{"lastUpdateId":${SNAPSHOT_ID},"bids":[["65000.00","1.00000"],["64999.00","2.00000"],["64998.00","3.00000"]],"asks":[["65001.00","1.50000"],["65002.00","2.50000"],["65003.00","4.00000"]]}`;
/** Triggers the snapshot request (Binance buffers before fetching) and applies right after it. */
const OPENING_DEPTH = depth(SNAPSHOT_ID + 1, SNAPSHOT_ID + 1, [['64997.00', '1.00000']], []);
const BASE_TRADE_ID = 5000;

function depth(U: number, u: number, b: [string, string][], a: [string, string][]): string {
  return `{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1764900000000,"s":"${SYMBOL}","U":${U},"u":${u},"b":${JSON.stringify(b)},"a":${JSON.stringify(a)}}}`;
}

export function binanceHarnessInstrument(): Instrument {
  return defineInstrument({ exchange: 'binance', symbol: SYMBOL, base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });
}

class BinanceFrameHarness implements FrameHarness {
  private readonly sink = new HarnessSink();
  private feedInstance!: BinanceFeed;
  private sym!: FeedSymbol;
  private snapshotPending = false;
  private readonly instrument = binanceHarnessInstrument();

  constructor(private readonly opts: BinanceHarnessOptions) {
    this.reset();
  }

  samples(): FrameSample[] {
    const U = SNAPSHOT_ID + 2;
    const t = BASE_TRADE_ID + 1;
    const price = (p: (string | number)[], crossing?: string) => ({ path: p, role: 'price' as const, ...(crossing ? { crossing } : {}) });
    return [
      {
        kind: 'depth',
        text: depth(U, U + 2, [['64999.50', '0.25000'], ['64999.00', '0']], [['65001.00', '0.75000']]),
        fields: [
          { path: ['stream'], role: 'stream' },
          { path: ['data', 'e'], role: 'type' },
          { path: ['data', 's'], role: 'symbol' },
          { path: ['data', 'U'], role: 'firstSeq' },
          { path: ['data', 'u'], role: 'seq' },
          { path: ['data', 'b'], role: 'required' },
          { path: ['data', 'a'], role: 'required' },
          price(['data', 'b', 0, 0], '65001.00'),
          { path: ['data', 'b', 0, 1], role: 'levelQty' },
          price(['data', 'a', 0, 0]),
          { path: ['data', 'a', 0, 1], role: 'levelQty' },
        ],
      },
      {
        kind: 'depth (raw stream)',
        text: JSON.stringify({ e: 'depthUpdate', E: 1764900000001, s: SYMBOL, U, u: U, b: [], a: [['65002.00', '0.10000']] }),
        fields: [
          { path: ['e'], role: 'type' },
          { path: ['s'], role: 'symbol' },
          { path: ['U'], role: 'firstSeq' },
          { path: ['u'], role: 'seq' },
          price(['a', 0, 0]),
          { path: ['a', 0, 1], role: 'levelQty' },
        ],
      },
      {
        kind: 'trade',
        text: `{"stream":"btcusdt@trade","data":{"e":"trade","E":1764900000002,"s":"${SYMBOL}","t":${t},"p":"65000.50","q":"0.00100","T":1764900000001,"m":true,"M":true}}`,
        fields: [
          { path: ['stream'], role: 'stream' },
          { path: ['data', 'e'], role: 'type' },
          { path: ['data', 's'], role: 'symbol' },
          { path: ['data', 't'], role: 'tradeId' },
          price(['data', 'p']),
          { path: ['data', 'q'], role: 'qty' },
          { path: ['data', 'm'], role: 'required' },
        ],
      },
      {
        kind: 'aggTrade',
        text: `{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1764900000003,"s":"${SYMBOL}","a":${t},"p":"65001.00","q":"0.01000","f":1,"l":2,"T":1764900000002,"m":false,"M":true}}`,
        fields: [
          { path: ['data', 'e'], role: 'type' },
          { path: ['data', 's'], role: 'symbol' },
          { path: ['data', 'a'], role: 'tradeId' },
          price(['data', 'p']),
          { path: ['data', 'q'], role: 'qty' },
          { path: ['data', 'm'], role: 'required' },
        ],
      },
      {
        kind: 'snapshot',
        channel: 'snapshot',
        text: SNAPSHOT,
        fields: [
          { path: ['lastUpdateId'], role: 'seq' },
          { path: ['bids'], role: 'required' },
          { path: ['asks'], role: 'required' },
          price(['bids', 0, 0], '65001.00'),
          { path: ['bids', 0, 1], role: 'qty' },
          price(['asks', 0, 0]),
          { path: ['asks', 0, 1], role: 'qty' },
        ],
      },
    ];
  }

  reset(mode: 'synced' | 'awaiting-snapshot' = 'synced'): FrameHarnessState {
    this.sink.reset();
    this.snapshotPending = false;
    this.feedInstance = new BinanceFeed({
      exchange: 'binance',
      instruments: [this.instrument],
      futures: this.opts.futures,
      sink: () => this.sink,
      now: () => 0,
      requestSnapshot: () => {
        this.snapshotPending = true;
      },
      maxSeqJump: this.opts.maxSeqJump,
      maxTradeIdJump: this.opts.maxTradeIdJump,
    });
    this.sym = this.feedInstance.symbol(SYMBOL)!;
    this.sym.sync.begin('initial');
    this.feedInstance.onFrame(OPENING_DEPTH);
    if (mode === 'synced') {
      this.answerSnapshot(SNAPSHOT);
      // both trade streams have been running: trade ids (t) and aggTrade ids (a) are separate sequences
      this.feedInstance.onFrame(`{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"${SYMBOL}","t":${BASE_TRADE_ID},"p":"65000.00","q":"0.00100","T":1,"m":false,"M":true}}`);
      this.feedInstance.onFrame(`{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1,"s":"${SYMBOL}","a":${BASE_TRADE_ID},"p":"65000.00","q":"0.00100","f":1,"l":1,"T":1,"m":false,"M":true}}`);
      this.sink.trades = [];
      if (!this.sink.synced) throw new Error(`binance harness did not sync: ${this.sink.logs.join('; ')}`);
    }
    return this.state();
  }

  private answerSnapshot(text: string): void {
    this.snapshotPending = false;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined; // as httpJson hands over a body that is not JSON
    }
    this.feedInstance.onSnapshotBody(this.sym, body);
  }

  feed(input: string | Uint8Array, channel: 'ws' | 'snapshot' = 'ws'): FrameHarnessState {
    if (typeof input !== 'string') this.feedInstance.onBinaryFrame(input.byteLength);
    else if (channel === 'snapshot') {
      // a REST answer is counted as an input like a frame
      this.snapshotFrames++;
      if (this.snapshotPending || this.sym.sync.state === 'buffering') this.answerSnapshot(input);
    } else this.feedInstance.onFrame(input);
    return this.state();
  }

  private snapshotFrames = 0;

  state(): FrameHarnessState {
    return this.sink.snapshot(this.feedInstance.stats.frames + this.snapshotFrames, this.feedInstance.rejected);
  }
}

export function createBinanceFrameHarness(options: BinanceHarnessOptions = {}): FrameHarness {
  return new BinanceFrameHarness(options);
}

export interface ParsedFrames {
  events: MarketEvent[];
  rejects: FeedReject[];
  state: FrameHarnessState;
}

/**
 * Pure entry point for fuzzers: frames (text, or bytes for binary frames) through a fresh
 * Binance pipeline that starts SYNCED at the harness's known book; returns every normalized
 * event emitted, every rejection, and the final book state. Deterministic (no clock, no I/O).
 */
export function parseBinanceFrames(frames: readonly (string | Uint8Array)[], options: BinanceHarnessOptions = {}): ParsedFrames {
  const events: MarketEvent[] = [];
  const rejects: FeedReject[] = [];
  const h = new BinanceFrameHarness(options);
  const sink = (h as unknown as { sink: HarnessSink }).sink;
  const onEvent = sink.onMarketEvent.bind(sink);
  const onReject = sink.onFeedReject.bind(sink);
  sink.onMarketEvent = (e) => {
    events.push(structuredClone(e));
    onEvent(e);
  };
  sink.onFeedReject = (r) => {
    rejects.push({ ...r });
    onReject(r);
  };
  let state = h.state();
  for (const f of frames) state = h.feed(f);
  return { events, rejects, state };
}

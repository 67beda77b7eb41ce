import { defineInstrument, type Instrument } from '@cwts/core';
import { HarnessSink, type FrameField, type FrameHarness, type FrameHarnessState, type FrameSample } from '@cwts/core/adapter-kit';
import { BybitFeed, type SymbolState } from './feed.js';
import type { BybitCategory } from './instruments.js';

/**
 * Bybit's frame harness for the exchange conformance suite's malformed-input section: the
 * adapter's own BybitFeed (parser, edge validation, in-band snapshots, book sync, trade
 * de-duplication) with no socket. Loaded in a worker thread by module path:
 *   { module: '<path>/frame-harness.ts', export: 'createBybitFrameHarness', options: { category } }
 *
 * Bybit sends book snapshots in-band on the socket, so every sample is a 'ws' frame. Trade ids
 * are declared 'required', not 'tradeId': they are opaque to the adapter (UUIDs on linear,
 * 19-digit numbers beyond 2^53 on spot) and de-duplicated by a set of recent ids, so a far-ahead
 * id cannot make later trades look like duplicates and no id value is "too far".
 */
export interface BybitHarnessOptions {
  category?: BybitCategory;
}

const SYMBOL = 'BTCUSDT';
const DEPTH = 50;
const BOOK_TOPIC = `orderbook.${DEPTH}.${SYMBOL}`;
const SNAPSHOT_U = 1000;

interface Grid {
  tick: string;
  lot: string;
  fmtPrice: (p: string) => string;
  fmtQty: (q: string) => string;
}

/** A decimal written with exactly `places` fraction digits, as Bybit writes them ("0" -> "0.000"). */
function fixed(v: string, places: number): string {
  const [int, frac = ''] = v.split('.');
  return `${int}.${frac.padEnd(places, '0')}`;
}

const GRIDS: Record<BybitCategory, Grid> = {
  spot: { tick: '0.01', lot: '0.000001', fmtPrice: (p) => fixed(p, 2), fmtQty: (q) => fixed(q, 6) },
  linear: { tick: '0.1', lot: '0.001', fmtPrice: (p) => fixed(p, 1), fmtQty: (q) => fixed(q, 3) },
};

function bookFrame(type: 'snapshot' | 'delta', u: number, b: [string, string][], a: [string, string][]): string {
  return JSON.stringify({ topic: BOOK_TOPIC, type, ts: 1764900000000 + u, data: { s: SYMBOL, b, a, u, seq: 50_000 + u }, cts: 1764900000000 + u - 1 });
}

export function bybitHarnessInstrument(category: BybitCategory = 'spot'): Instrument {
  const g = GRIDS[category];
  return defineInstrument({ exchange: `bybit-${category}`, symbol: SYMBOL, base: 'BTC', quote: 'USDT', tickSize: g.tick, lotSize: g.lot });
}

class BybitFrameHarness implements FrameHarness {
  private readonly sink = new HarnessSink();
  private feedInstance!: BybitFeed;
  private sym!: SymbolState;
  private readonly category: BybitCategory;
  private readonly grid: Grid;
  private readonly instrument: Instrument;

  constructor(opts: BybitHarnessOptions) {
    this.category = opts.category ?? 'spot';
    this.grid = GRIDS[this.category];
    this.instrument = bybitHarnessInstrument(this.category);
    this.reset();
  }

  private level(p: string, q: string): [string, string] {
    return [this.grid.fmtPrice(p), this.grid.fmtQty(q)];
  }

  /** The book every 'synced' reset starts from (and the clean snapshot sample re-sends). */
  private snapshotText(u = SNAPSHOT_U): string {
    const l = (p: string, q: string) => this.level(p, q);
    return bookFrame('snapshot', u, [l('65000', '1.0'), l('64999', '2.0'), l('64998', '3.0')], [l('65001', '1.5'), l('65002', '2.5'), l('65003', '4.0')]);
  }

  private tradeText(id: string, price: string, qty: string): string {
    return JSON.stringify({ topic: `publicTrade.${SYMBOL}`, type: 'snapshot', ts: 1764900000500, data: [{ T: 1764900000499, s: SYMBOL, S: 'Buy', v: this.grid.fmtQty(qty), p: this.grid.fmtPrice(price), L: 'PlusTick', i: id, BT: false, RPI: false, seq: 51_000 }] });
  }

  samples(): FrameSample[] {
    const price = (path: (string | number)[], crossing?: string): FrameField => ({ path, role: 'price', ...(crossing ? { crossing } : {}) });
    const bookFields = (qtyRole: 'levelQty' | 'qty'): FrameField[] => [
      { path: ['topic'], role: 'stream' },
      { path: ['type'], role: 'type' },
      { path: ['ts'], role: 'required' },
      { path: ['data'], role: 'required' },
      { path: ['data', 's'], role: 'symbol' },
      { path: ['data', 'u'], role: 'seq' },
      { path: ['data', 'b'], role: 'required' },
      { path: ['data', 'a'], role: 'required' },
      price(['data', 'b', 0, 0], this.grid.fmtPrice('65001')),
      { path: ['data', 'b', 0, 1], role: qtyRole },
      price(['data', 'a', 0, 0]),
      { path: ['data', 'a', 0, 1], role: qtyRole },
    ];
    const tradeId = this.category === 'spot' ? '2290000000007764263' : '8c5b8d2e-4f6a-5b1e-9a7c-3d2e1f0a9b8c';
    const out: FrameSample[] = [
      {
        kind: 'orderbook delta',
        text: bookFrame('delta', SNAPSHOT_U + 1, [this.level('64999.5', '0.25'), this.level('64999', '0')], [this.level('65001', '0.75')]),
        fields: bookFields('levelQty'),
      },
      {
        // the venue re-sends its snapshot mid-stream (depth 1 every 3 s unchanged; any depth after
        // a service restart): it replaces the book
        kind: 'orderbook snapshot',
        text: this.snapshotText(),
        fields: bookFields('qty'),
      },
      {
        kind: 'publicTrade',
        text: this.tradeText(tradeId, '65000.5', '0.001'),
        fields: [
          { path: ['topic'], role: 'stream' },
          { path: ['data'], role: 'required' },
          { path: ['data', 0, 's'], role: 'symbol' },
          { path: ['data', 0, 'i'], role: 'required' },
          { path: ['data', 0, 'S'], role: 'required' },
          price(['data', 0, 'p']),
          { path: ['data', 0, 'v'], role: 'qty' },
        ],
      },
      {
        kind: 'pong',
        text: this.category === 'spot' ? '{"success":true,"ret_msg":"pong","conn_id":"c-1","req_id":"ping-1","op":"ping"}' : '{"req_id":"ping-1","op":"pong","args":["1764900000000"],"conn_id":"c-1"}',
        fields: [],
      },
    ];
    if (this.category === 'linear') {
      out.push({
        kind: 'allLiquidation',
        text: JSON.stringify({ topic: `allLiquidation.${SYMBOL}`, type: 'snapshot', ts: 1764900000600, data: [{ T: 1764900000599, s: SYMBOL, S: 'Buy', v: this.grid.fmtQty('0.5'), p: this.grid.fmtPrice('64990') }] }),
        fields: [
          { path: ['topic'], role: 'stream' },
          { path: ['data'], role: 'required' },
          { path: ['data', 0, 's'], role: 'symbol' },
          { path: ['data', 0, 'S'], role: 'required' },
          price(['data', 0, 'p']),
          { path: ['data', 0, 'v'], role: 'qty' },
        ],
      });
    }
    return out;
  }

  reset(mode: 'synced' | 'awaiting-snapshot' = 'synced'): FrameHarnessState {
    this.sink.reset();
    this.feedInstance = new BybitFeed({
      exchange: `bybit-${this.category}`,
      instruments: [this.instrument],
      depth: DEPTH,
      tradeIdMemory: 4096,
      sink: () => this.sink,
      now: () => 0,
      // the socket side would resubscribe; here the next snapshot frame answers
      requestSnapshot: () => {},
    });
    this.sym = this.feedInstance.symbol(SYMBOL)!;
    // as on (re)connect: subscribed, waiting for the in-band snapshot
    this.sym.awaitingSnapshot = true;
    this.sym.sync.begin('initial');
    if (mode === 'synced') {
      this.feedInstance.onFrame(this.snapshotText());
      this.feedInstance.onFrame(this.tradeText(this.category === 'spot' ? '2290000000007764262' : '0d6b8c1e-1111-4a2b-8c3d-000000000001', '65000', '0.001'));
      this.sink.trades = [];
      if (!this.sink.synced) throw new Error(`bybit harness did not sync: ${this.sink.logs.join('; ')}`);
    }
    return this.state();
  }

  feed(input: string | Uint8Array): FrameHarnessState {
    if (typeof input !== 'string') this.feedInstance.onBinaryFrame(input.byteLength);
    else this.feedInstance.onFrame(input);
    return this.state();
  }

  state(): FrameHarnessState {
    return this.sink.snapshot(this.feedInstance.stats.frames, this.feedInstance.rejected);
  }
}

export function createBybitFrameHarness(options: BybitHarnessOptions = {}): FrameHarness {
  return new BybitFrameHarness(options);
}

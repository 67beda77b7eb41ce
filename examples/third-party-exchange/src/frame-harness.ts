import { defineInstrument } from '@cwts/core';
import { HarnessSink, type FrameHarness, type FrameHarnessState, type FrameSample } from '@cwts/core/adapter-kit';
import { TinyExFeed } from './feed.js';
import { tinyexChecksum } from './protocol.js';

/**
 * TinyEx's frame harness for the exchange conformance suite's malformed-input section: the
 * adapter's own TinyExFeed with no socket. The suite loads it in a worker thread:
 *   frameHarness: { module: '<path>/frame-harness.ts', export: 'createTinyExFrameHarness' }
 */
const SYMBOL = 'BTC-USD';
const SNAPSHOT = { type: 'snapshot', symbol: SYMBOL, seq: 7, bids: [['100', '1'], ['99.5', '2']], asks: [['101', '1.5'], ['101.5', '2']] };
// the first update after the snapshot (its checksum is of the book after it); sent before a
// snapshot the venue pushes, it is superseded by it (BookSync 'venue' mode), never applied
const OPENING = { type: 'update', symbol: SYMBOL, seq: 8, changes: [['b', '99', '3']], checksum: tinyexChecksum([['100', '1'], ['99.5', '2'], ['99', '3']], [['101', '1.5'], ['101.5', '2']]) };

class TinyExFrameHarness implements FrameHarness {
  private readonly sink = new HarnessSink();
  private pipeline!: TinyExFeed;
  private readonly instrument = defineInstrument({ exchange: 'tinyex', symbol: SYMBOL, base: 'BTC', quote: 'USD', tickSize: '0.5', lotSize: '0.001', minNotional: '1' });

  constructor() {
    this.reset();
  }

  samples(): FrameSample[] {
    const update = { type: 'update', symbol: SYMBOL, seq: 9, changes: [['b', '100.5', '0.25'], ['a', '101', '0']], checksum: tinyexChecksum([['100.5', '0.25'], ['100', '1'], ['99.5', '2'], ['99', '3']], [['101.5', '2']]) };
    return [
      {
        kind: 'update',
        text: JSON.stringify(update),
        fields: [
          { path: ['type'], role: 'type' },
          { path: ['symbol'], role: 'symbol' },
          { path: ['seq'], role: 'seq' },
          { path: ['changes'], role: 'required' },
          { path: ['checksum'], role: 'required' },
          { path: ['changes', 0, 1], role: 'price', crossing: '101.5' },
          { path: ['changes', 0, 2], role: 'levelQty' },
          { path: ['changes', 1, 1], role: 'price' },
          { path: ['changes', 1, 2], role: 'levelQty' },
        ],
      },
      {
        kind: 'trade',
        text: JSON.stringify({ type: 'trade', symbol: SYMBOL, id: 42, price: '100.5', qty: '0.002', side: 'buy', ts: 1 }),
        fields: [
          { path: ['type'], role: 'type' },
          { path: ['symbol'], role: 'symbol' },
          { path: ['id'], role: 'tradeId' },
          { path: ['price'], role: 'price' },
          { path: ['qty'], role: 'qty' },
          { path: ['side'], role: 'required' },
        ],
      },
      {
        kind: 'snapshot',
        channel: 'snapshot',
        text: JSON.stringify(SNAPSHOT),
        fields: [
          { path: ['type'], role: 'type' },
          { path: ['symbol'], role: 'symbol' },
          { path: ['seq'], role: 'seq' },
          { path: ['bids'], role: 'required' },
          { path: ['asks'], role: 'required' },
          { path: ['bids', 0, 0], role: 'price', crossing: '101' },
          { path: ['bids', 0, 1], role: 'qty' },
          { path: ['asks', 0, 0], role: 'price' },
          { path: ['asks', 0, 1], role: 'qty' },
        ],
      },
    ];
  }

  reset(mode: 'synced' | 'awaiting-snapshot' = 'synced'): FrameHarnessState {
    this.sink.reset();
    this.pipeline = new TinyExFeed({ exchange: 'tinyex', instruments: [this.instrument], sink: () => this.sink, now: () => 0, requestSnapshot: () => {} });
    this.pipeline.syms.get(SYMBOL)!.sync.begin('initial');
    if (mode === 'awaiting-snapshot') this.pipeline.onMessage(JSON.stringify(OPENING));
    if (mode === 'synced') {
      this.pipeline.onMessage(JSON.stringify(SNAPSHOT));
      this.pipeline.onMessage(JSON.stringify(OPENING));
      this.pipeline.onMessage(JSON.stringify({ type: 'trade', symbol: SYMBOL, id: 41, price: '100', qty: '0.001', side: 'sell', ts: 0 }));
      this.sink.trades = [];
      if (!this.sink.synced) throw new Error(`tinyex harness did not sync: ${this.sink.logs.join('; ')}`);
    }
    return this.state();
  }

  /** Snapshots arrive on the socket like every other TinyEx message, so the channel is moot. */
  feed(input: string | Uint8Array): FrameHarnessState {
    if (typeof input === 'string') this.pipeline.onMessage(input);
    else this.pipeline.onBinaryFrame(input.byteLength);
    return this.state();
  }

  state(): FrameHarnessState {
    return this.sink.snapshot(this.pipeline.frames, this.pipeline.reporter.total);
  }
}

export function createTinyExFrameHarness(): FrameHarness {
  return new TinyExFrameHarness();
}

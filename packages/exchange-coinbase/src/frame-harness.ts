import { defineInstrument, type Instrument } from '@cwts/core';
import { HarnessSink, type FrameField, type FrameHarness, type FrameHarnessState, type FrameSample } from '@cwts/core/adapter-kit';
import { CoinbaseFeed } from './feed.js';

/**
 * Coinbase's frame harness for the exchange conformance suite's malformed-input section: the
 * adapter's own CoinbaseFeed (parser, connection-wide sequence_num check, book sync, trade-id
 * guard) with no socket. Loaded in a worker thread by module path:
 *   { module: '<path>/frame-harness.js', export: 'createCoinbaseFrameHarness' }
 *
 * Coinbase sends the level2 snapshot on the socket after a (re)subscribe; the suite's
 * 'snapshot' channel is that frame arriving while the book awaits it (reset('awaiting-snapshot')).
 */
export interface CoinbaseHarnessOptions {
  maxSeqJump?: number;
  maxTradeIdJump?: number;
}

const SYMBOL = 'BTC-USD';
const TIME = '2026-12-05T06:00:00.000000000Z';
const BASE_TRADE_ID = 5000;
/** sequence_num of the connection's messages before a sample: heartbeat 0, level2 snapshot 1, trades snapshot 2. */
const HEARTBEAT_SEQ = 0;
const SNAPSHOT_SEQ = 1;
const SAMPLE_SEQ = 3;

type Level = [side: 'bid' | 'offer', price: string, qty: string];

function envelope(channel: string, seq: number, events: unknown[]): string {
  return JSON.stringify({ channel, client_id: '', timestamp: TIME, sequence_num: seq, events });
}

function l2(seq: number, type: 'snapshot' | 'update', levels: Level[]): string {
  return envelope('l2_data', seq, [{ type, product_id: SYMBOL, updates: levels.map(([side, price_level, new_quantity]) => ({ side, event_time: TIME, price_level, new_quantity })) }]);
}

function trades(seq: number, type: 'snapshot' | 'update', rows: [id: number, price: string, size: string, side: 'BUY' | 'SELL'][]): string {
  return envelope('market_trades', seq, [{ type, trades: rows.map(([id, price, size, side]) => ({ trade_id: String(id), product_id: SYMBOL, price, size, side, time: TIME })) }]);
}

const heartbeat = (seq: number) => envelope('heartbeats', seq, [{ current_time: TIME, heartbeat_counter: 100 + seq }]);

const SNAPSHOT_LEVELS: Level[] = [
  ['bid', '65000.00', '1.00000000'],
  ['bid', '64999.00', '2.00000000'],
  ['bid', '64998.00', '3.00000000'],
  ['offer', '65001.00', '1.50000000'],
  ['offer', '65002.00', '2.50000000'],
  ['offer', '65003.00', '4.00000000'],
];

export function coinbaseHarnessInstrument(): Instrument {
  return defineInstrument({ exchange: 'coinbase', symbol: SYMBOL, base: 'BTC', quote: 'USD', tickSize: '0.01', lotSize: '0.00000001' });
}

class CoinbaseFrameHarness implements FrameHarness {
  private readonly sink = new HarnessSink();
  private feedInstance!: CoinbaseFeed;

  constructor(private readonly opts: CoinbaseHarnessOptions) {
    this.reset();
  }

  samples(): FrameSample[] {
    const env = (): FrameField[] => [
      { path: ['channel'], role: 'stream' },
      { path: ['sequence_num'], role: 'seq' },
      { path: ['events'], role: 'required' },
    ];
    const level = (i: number, crossing?: string): FrameField[] => [
      { path: ['events', 0, 'updates', i, 'side'], role: 'required' },
      { path: ['events', 0, 'updates', i, 'price_level'], role: 'price', ...(crossing ? { crossing } : {}) },
      { path: ['events', 0, 'updates', i, 'new_quantity'], role: 'levelQty' },
    ];
    const l2Event: FrameField[] = [
      { path: ['events', 0, 'type'], role: 'type' },
      { path: ['events', 0, 'product_id'], role: 'symbol' },
      { path: ['events', 0, 'updates'], role: 'required' },
    ];
    return [
      {
        kind: 'level2 update',
        text: l2(SAMPLE_SEQ, 'update', [['bid', '64999.50', '0.25000000'], ['bid', '64999.00', '0'], ['offer', '65001.00', '0.75000000']]),
        fields: [...env(), ...l2Event, ...level(0, '65001.00'), ...level(1), ...level(2)],
      },
      {
        kind: 'level2 snapshot',
        channel: 'snapshot',
        text: l2(SNAPSHOT_SEQ, 'snapshot', [['bid', '65000.00', '1.00000000'], ['bid', '64999.00', '2.00000000'], ['offer', '65001.00', '1.50000000']]),
        fields: [
          ...env(),
          ...l2Event,
          { path: ['events', 0, 'updates', 0, 'side'], role: 'required' },
          { path: ['events', 0, 'updates', 0, 'price_level'], role: 'price', crossing: '65001.00' },
          // a snapshot has the update's shape: a zero new_quantity is an absent level, not an error
          { path: ['events', 0, 'updates', 0, 'new_quantity'], role: 'levelQty' },
          { path: ['events', 0, 'updates', 2, 'price_level'], role: 'price' },
          { path: ['events', 0, 'updates', 2, 'new_quantity'], role: 'levelQty' },
        ],
      },
      {
        kind: 'market_trades update',
        text: trades(SAMPLE_SEQ, 'update', [[BASE_TRADE_ID + 1, '65000.50', '0.00100000', 'BUY']]),
        fields: [
          ...env(),
          { path: ['events', 0, 'type'], role: 'type' },
          { path: ['events', 0, 'trades'], role: 'required' },
          { path: ['events', 0, 'trades', 0, 'trade_id'], role: 'tradeId' },
          { path: ['events', 0, 'trades', 0, 'product_id'], role: 'symbol' },
          { path: ['events', 0, 'trades', 0, 'price'], role: 'price' },
          { path: ['events', 0, 'trades', 0, 'size'], role: 'qty' },
          { path: ['events', 0, 'trades', 0, 'side'], role: 'required' },
        ],
      },
      {
        kind: 'heartbeat',
        text: heartbeat(SAMPLE_SEQ),
        // heartbeat_counter is read (as a number or a numeric string) but nothing depends on it
        fields: env(),
      },
    ];
  }

  reset(mode: 'synced' | 'awaiting-snapshot' = 'synced'): FrameHarnessState {
    this.sink.reset();
    this.feedInstance = new CoinbaseFeed({
      exchange: 'coinbase',
      instruments: [coinbaseHarnessInstrument()],
      sink: () => this.sink,
      now: () => 0,
      // the venue answers a (re)subscribe with a snapshot frame: the suite plays that part
      requestSnapshot: () => {},
      onSequenceGap: () => {},
      maxSeqJump: this.opts.maxSeqJump,
      maxTradeIdJump: this.opts.maxTradeIdJump,
    });
    const f = this.feedInstance;
    f.connectionOpened();
    f.products[0]!.sync.begin('initial');
    f.onFrame(heartbeat(HEARTBEAT_SEQ));
    if (mode === 'synced') {
      f.onFrame(l2(SNAPSHOT_SEQ, 'snapshot', SNAPSHOT_LEVELS));
      f.onFrame(trades(SNAPSHOT_SEQ + 1, 'snapshot', [[BASE_TRADE_ID, '65000.00', '0.00100000', 'SELL']]));
      this.sink.trades = [];
      if (!this.sink.synced) throw new Error(`coinbase harness did not sync: ${this.sink.logs.join('; ')}`);
    }
    return this.state();
  }

  feed(input: string | Uint8Array, _channel: 'ws' | 'snapshot' = 'ws'): FrameHarnessState {
    // both channels are the socket: Coinbase's level2 snapshot is a ws frame
    if (typeof input !== 'string') this.feedInstance.onBinaryFrame(input.byteLength);
    else this.feedInstance.onFrame(input);
    return this.state();
  }

  state(): FrameHarnessState {
    return this.sink.snapshot(this.feedInstance.stats.frames, this.feedInstance.rejected);
  }
}

export function createCoinbaseFrameHarness(options: CoinbaseHarnessOptions = {}): FrameHarness {
  return new CoinbaseFrameHarness(options);
}

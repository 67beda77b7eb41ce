import type { VenueOrderView } from '@cwts/core/adapter-kit';
import { HarnessSink, type FrameField, type FrameHarness, type FrameHarnessState, type FrameSample } from '@cwts/core/adapter-kit';
import { coinbaseHarnessInstrument } from './frame-harness.js';
import { CoinbaseUserFeed } from './user-feed.js';

/**
 * The `user` channel's frame harness for the malformed-input suite (and fuzzing): the adapter's
 * own CoinbaseUserFeed with no socket. Loaded in a worker thread by module path:
 *   { module: '<path>/user-frame-harness.js', export: 'createCoinbaseUserFrameHarness' }
 *
 * The channel has no book and no public trades, so the suite's book stays empty and its trade
 * list too; what it checks is that every input is counted, every bad one rejected, and nothing
 * throws or hangs. `state` is 'synced' while the feed holds no doubt, 'unsynced' once it asked
 * for a reconciliation poll (a gap, rejected content): in production that poll answers it.
 * Accepted order updates are kept in `orders` (tests read them directly).
 */
const SYMBOL = 'BTC-USD';
const TIME = '2026-12-05T06:00:00.000000000Z';
/** sequence_num on the harness's connection: subscriptions 0, heartbeat 1, snapshot 2, then the sample. */
const SAMPLE_SEQ = 3;

function envelope(channel: string, seq: number, events: unknown[]): string {
  return JSON.stringify({ channel, client_id: '', timestamp: TIME, sequence_num: seq, events });
}

/** One order as the user channel writes it (Coinbase's field names; values of a partly filled buy). */
export function userOrderJson(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    order_id: '11111111-0000-4000-8000-000000000001', client_order_id: 'cwts-1', cumulative_quantity: '0.004', leaves_quantity: '0.006', avg_price: '64000.00',
    total_fees: '1.28', status: 'OPEN', product_id: SYMBOL, creation_time: TIME, order_side: 'BUY', order_type: 'Limit', cancel_reason: '', reject_reason: '',
    time_in_force: 'GOOD_UNTIL_CANCELLED', number_of_fills: '1', filled_value: '256', limit_price: '64000.00', post_only: false, product_type: 'SPOT', ...extra,
  };
}

export function userFrame(seq: number, type: 'snapshot' | 'update', orders: Record<string, unknown>[]): string {
  return envelope('user', seq, [{ type, orders, positions: { perpetual_futures_positions: [], expiring_futures_positions: [] } }]);
}

const heartbeat = (seq: number) => envelope('heartbeats', seq, [{ current_time: TIME, heartbeat_counter: 100 + seq }]);
const subscriptions = (seq: number) => envelope('subscriptions', seq, [{ subscriptions: { heartbeats: ['heartbeats'], user: [SYMBOL] } }]);

class CoinbaseUserFrameHarness implements FrameHarness {
  private readonly sink = new HarnessSink();
  private feedInstance!: CoinbaseUserFeed;
  private missed = false;
  readonly orders: VenueOrderView[] = [];

  constructor() {
    this.reset();
  }

  samples(): FrameSample[] {
    const env = (): FrameField[] => [
      { path: ['channel'], role: 'stream' },
      { path: ['sequence_num'], role: 'seq' },
      { path: ['events'], role: 'required' },
    ];
    const order = (k: number): FrameField[] => [
      { path: ['events', 0, 'orders', k, 'order_id'], role: 'required' },
      { path: ['events', 0, 'orders', k, 'product_id'], role: 'symbol' },
      { path: ['events', 0, 'orders', k, 'status'], role: 'required' },
      { path: ['events', 0, 'orders', k, 'cumulative_quantity'], role: 'required' },
      { path: ['events', 0, 'orders', k, 'leaves_quantity'], role: 'required' },
      { path: ['events', 0, 'orders', k, 'order_side'], role: 'required' },
    ];
    const event: FrameField[] = [
      { path: ['events', 0, 'type'], role: 'type' },
      { path: ['events', 0, 'orders'], role: 'required' },
    ];
    return [
      { kind: 'user update', text: userFrame(SAMPLE_SEQ, 'update', [userOrderJson()]), fields: [...env(), ...event, ...order(0)] },
      {
        kind: 'user snapshot',
        text: userFrame(SAMPLE_SEQ, 'snapshot', [userOrderJson(), userOrderJson({ order_id: '11111111-0000-4000-8000-000000000002', client_order_id: 'cwts-2', cumulative_quantity: '0', leaves_quantity: '0.5', order_side: 'SELL' })]),
        fields: [...env(), ...event, ...order(0), ...order(1)],
      },
      { kind: 'heartbeat', text: heartbeat(SAMPLE_SEQ), fields: env() },
      { kind: 'subscriptions', text: subscriptions(SAMPLE_SEQ), fields: env() },
    ];
  }

  reset(): FrameHarnessState {
    this.sink.reset();
    this.orders.length = 0;
    this.missed = false;
    this.feedInstance = new CoinbaseUserFeed({
      exchange: 'coinbase',
      instrument: (s) => (s === SYMBOL ? coinbaseHarnessInstrument() : undefined),
      onOrder: (v) => this.orders.push(v),
      onMissed: () => (this.missed = true),
      onSnapshot: () => {},
      sink: () => this.sink,
      now: () => 0,
    });
    const f = this.feedInstance;
    f.connectionOpened();
    f.onFrame(subscriptions(0));
    f.onFrame(heartbeat(1));
    f.onFrame(userFrame(2, 'snapshot', []));
    if (this.missed || f.rejected > 0) throw new Error(`coinbase user harness did not start clean: ${this.sink.logs.join('; ')}`);
    return this.state();
  }

  feed(input: string | Uint8Array): FrameHarnessState {
    if (typeof input !== 'string') this.feedInstance.onBinaryFrame(input.byteLength);
    else this.feedInstance.onFrame(input);
    return this.state();
  }

  state(): FrameHarnessState {
    const s = this.sink.snapshot(this.feedInstance.stats.frames, this.feedInstance.rejected);
    return { ...s, state: this.missed ? 'unsynced' : 'synced' };
  }
}

export function createCoinbaseUserFrameHarness(): FrameHarness & { readonly orders: VenueOrderView[] } {
  return new CoinbaseUserFrameHarness();
}

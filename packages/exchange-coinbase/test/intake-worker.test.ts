/**
 * `[performance] intake = "worker"` for Coinbase gives the engine exactly what inline intake
 * gives it: the same frames (level2 snapshots and updates, trades with a history snapshot, a
 * connection-wide sequence gap and the resubscribe that heals it, hostile frames, a reconnect)
 * through CoinbaseFeed inline, through feed records on a ring, and on a real worker thread give
 * the same sink calls in order and the same books; a dead or hung worker takes the books out of
 * SYNCED (core's describeIntakeParity).
 */
import { expect } from 'vitest';
import { defineInstrument } from '@cwts/core';
import { describeIntakeParity, IntakeScriptSteps } from '@cwts/core/testing';
import { createCoinbaseScriptIntake, playCoinbaseScript, type CoinbaseScript } from '../src/index.js';

const EX = 'coinbase';
const TIME = '2026-12-05T06:00:00.000000000Z';
const BTC = defineInstrument({ exchange: EX, symbol: 'BTC-USD', base: 'BTC', quote: 'USD', tickSize: '0.01', lotSize: '0.00000001' });
const ETH = defineInstrument({ exchange: EX, symbol: 'ETH-USD', base: 'ETH', quote: 'USD', tickSize: '0.01', lotSize: '0.00000001' });
type Level = [side: 'bid' | 'offer', price: string, qty: string];

/** Frames of one connection: sequence_num counts every message of every channel. */
class Connection extends IntakeScriptSteps {
  seq = 0;
  private frame(channel: string, events: unknown[]): this {
    this.steps.push({ frame: JSON.stringify({ channel, client_id: '', timestamp: TIME, sequence_num: this.seq++, events }) });
    return this;
  }
  heartbeat(): this {
    return this.frame('heartbeats', [{ current_time: TIME, heartbeat_counter: this.seq }]);
  }
  l2(type: 'snapshot' | 'update', product: string, levels: Level[]): this {
    return this.frame('l2_data', [{ type, product_id: product, updates: levels.map(([side, price_level, new_quantity]) => ({ side, event_time: TIME, price_level, new_quantity })) }]);
  }
  trades(type: 'snapshot' | 'update', rows: [product: string, id: number, price: string, size: string, side: 'BUY' | 'SELL'][]): this {
    return this.frame('market_trades', [{ type, trades: rows.map(([product_id, id, price, size, side]) => ({ trade_id: String(id), product_id, price, size, side, time: TIME })) }]);
  }
  /** Messages the socket lost: the next frame's sequence_num jumps. */
  lose(n: number): this {
    this.seq += n;
    return this;
  }
  /** A new connection counts sequence_num from 0 again. */
  override reconnect(why: string): this {
    this.seq = 0;
    return super.reconnect(why);
  }
  /** Both books' snapshots, as a level2 (re)subscribe brings them. */
  snapshots(shift = 0): this {
    const p = (x: number) => (x + shift).toFixed(2);
    return this.l2('snapshot', 'BTC-USD', [['bid', p(65000), '1.0'], ['bid', p(64999), '2.0'], ['offer', p(65001), '1.5'], ['offer', p(65002), '2.5']])
      .l2('snapshot', 'ETH-USD', [['bid', p(3000), '10.0'], ['offer', p(3001), '12.0']]);
  }
}

const script = (c: Connection): CoinbaseScript => ({ exchange: EX, instruments: [BTC, ETH], nowMs: 1_764_900_000_500, steps: c.steps });

const syncing = new Connection().heartbeat().snapshots().trades('snapshot', [['BTC-USD', 100, '65000.00', '0.1', 'BUY']]).l2('update', 'BTC-USD', [['bid', '64999.50', '0.7']]).heartbeat();

const gap = new Connection()
  .heartbeat()
  .snapshots()
  .trades('snapshot', [['BTC-USD', 100, '65000.00', '0.1', 'BUY'], ['ETH-USD', 500, '3000.00', '1', 'SELL']])
  .l2('update', 'BTC-USD', [['bid', '65000.00', '0'], ['offer', '65000.50', '0.3']])
  .trades('update', [['BTC-USD', 101, '65000.50', '0.2', 'BUY']])
  .l2('update', 'ETH-USD', [['bid', '2999.50', '4.0']])
  .lose(2)
  // the frame that reveals the gap is not applied: its trade comes back in the backfill
  .trades('update', [['BTC-USD', 103, '65001.00', '0.4', 'SELL']])
  // the books await the resubscribe's snapshots
  .l2('update', 'BTC-USD', [['bid', '64990.00', '9.9']])
  .heartbeat()
  .snapshots(5)
  .trades('snapshot', [['BTC-USD', 103, '65001.00', '0.4', 'SELL'], ['BTC-USD', 102, '65000.50', '0.1', 'BUY'], ['BTC-USD', 101, '65000.50', '0.2', 'BUY']])
  .l2('update', 'BTC-USD', [['offer', '65006.00', '0'], ['offer', '65007.50', '1.1']])
  .heartbeat();

const hostile = new Connection()
  .heartbeat()
  .snapshots()
  .raw('garbage')
  .binary(17)
  .raw('{"channel":"l2_data","client_id":"","timestamp":"x","sequence_num":')
  .l2('update', 'BTC-USD', [['bid', '65000.005', '1.0']])
  .l2('update', 'ETH-USD', [['offer', '3001.00', '-2']])
  .l2('update', 'DOGE-USD', [['bid', '0.10', '5']])
  .trades('update', [['ETH-USD', 7, '3000.50', 'abc', 'BUY']])
  .raw('{"type":"error","message":"rate limit exceeded"}')
  .heartbeat()
  .snapshots(1)
  .reconnect('connection reset')
  .heartbeat()
  .l2('update', 'BTC-USD', [['bid', '65001.00', '3.0']])
  .snapshots(2)
  .trades('snapshot', [['BTC-USD', 200, '65002.00', '0.5', 'BUY']])
  .trades('update', [['BTC-USD', 201, '65002.00', '0.5', 'BUY']]);

describeIntakeParity<CoinbaseScript>({
  exchange: EX,
  symbols: [BTC.symbol, ETH.symbol],
  play: playCoinbaseScript,
  module: new URL('../dist/intake-worker.js', import.meta.url).href,
  factory: 'createCoinbaseScriptIntake',
  scriptFactory: createCoinbaseScriptIntake,
  syncing: script(syncing),
  scripts: [
    {
      name: 'a sequence gap and the resubscribe that heals it',
      script: script(gap),
      check: (o) => {
        expect(o.calls).toContainEqual({ error: ['coinbase:market-data', 'coinbase: sequence gap: expected sequence_num 7, got 9'] });
        expect(o.statuses().filter((s) => s.endsWith(':synced'))).toEqual(['BTC-USD:synced', 'ETH-USD:synced', 'BTC-USD:synced', 'ETH-USD:synced']);
        // the backfill brings the trade lost in the gap (102) and the one dropped with the gap's frame (103), each once
        const trades = o.calls.filter((c) => (c as { type?: string }).type === 'trade').map((c) => (c as { tradeId: string }).tradeId);
        expect(trades).toEqual(['101', '102', '103']);
      },
    },
    {
      name: 'hostile frames and a reconnect',
      script: script(hostile),
      check: (o) => {
        expect(o.rejections().length).toBeGreaterThanOrEqual(7);
        expect(o.statuses()).toContain(':disconnected');
        expect(o.bookView().map((b) => (b as { state: string }).state)).toEqual(['synced', 'synced']);
      },
    },
  ],
});

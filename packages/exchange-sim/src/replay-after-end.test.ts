/**
 * After a timer-driven replay has delivered its last event, the simulated venue still answers
 * orders and cancels (at their arrival times on the virtual timeline): an engine stopping with
 * `on_shutdown = "cancel"` gets its cancels answered instead of waiting out its deadline and
 * reporting orders left open. No timer is left once the queue is empty.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ExecutionReport, type MarketEventSink, type Order } from '@cwts/core';
import { resolveSimOptions } from './options.js';
import { SimVenue } from './venue.js';

const T = 1_700_000_000_000;
const dir = mkdtempSync(join(tmpdir(), 'cwts-sim-after-end-'));
const header = { kind: 'cwts-recording', version: 1, instruments: [{ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' }] };

const order = (id: string, extra: Partial<Order>): Order => ({
  exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_900_000, qty: 100, tif: 'GTC', source: 't',
  clientOrderId: id, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0, ...extra,
});

afterEach(() => vi.useRealTimers());

describe('the sim venue after the end of a timer-driven replay', () => {
  for (const speed of [0, 1]) {
    it(`answers a cancel and an order sent after the end of stream, then holds no timer (replay_speed ${speed})`, async () => {
      vi.useFakeTimers({ now: 5_000 });
      const lines = [
        header,
        { type: 'book_snapshot', exchange: 'binance', symbol: 'BTCUSDT', ts: T, recvTs: T, seq: 1, reason: 'initial', bids: [{ price: 5_999_900, qty: 300 }], asks: [{ price: 6_000_000, qty: 100 }] },
        { type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 10, recvTs: T + 10, tradeId: 'a', price: 6_000_000, qty: 1, side: 'buy' },
        { type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 50, recvTs: T + 50, tradeId: 'b', price: 6_000_000, qty: 1, side: 'buy' },
      ];
      const file = join(dir, `rec-${speed}.jsonl`);
      writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      const clock = { now: () => Date.now(), monoNs: () => 0n };
      const venue = new SimVenue({ exchange: 'sim', clock, options: resolveSimOptions({ replay_file: file, replay_speed: speed, latency_ms: 5 }), symbols: ['BTCUSDT'] });
      const reports: ExecutionReport[] = [];
      await venue.execution.start((r) => reports.push(r));
      const resting = order('g1', {});
      let ended = false;
      const sink: MarketEventSink = {
        onMarketEvent: (e) => {
          if (e.type === 'trade' && e.tradeId === 'a') venue.execution.submit(resting); // rests far below the bid
        },
        onFeedStatus: () => {},
        onFeedError: () => {},
        onEndOfStream: () => {
          ended = true;
        },
      };
      venue.start([], sink);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(ended).toBe(true);
      expect(venue.activeTimers()).toBe(0);
      expect(reports.map((r) => [r.clientOrderId, r.kind])).toEqual([['g1', 'ack']]);

      // the engine shuts down (on_shutdown = "cancel"), or the strategy cancels or trades on
      venue.execution.cancel({ ...resting, status: 'open' });
      venue.execution.submit(order('m1', { type: 'market', price: undefined, tif: 'IOC' }));
      expect(venue.activeTimers()).toBe(1);
      await vi.advanceTimersByTimeAsync(10_000);
      // both arrive latency_ms after the virtual time of the last event (T+50)
      expect(reports.slice(1).map((r) => [r.clientOrderId, r.kind, r.lastPrice, r.ts])).toEqual([
        ['g1', 'cancelled', 0, T + 55],
        ['m1', 'ack', 0, T + 55],
        ['m1', 'fill', 6_000_000, T + 55],
      ]);
      expect(venue.now).toBe(T + 55);
      expect(venue.activeTimers()).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
      venue.stop();
    });
  }

  it('an order sent from a report of an order answered after the end is answered too', async () => {
    vi.useFakeTimers({ now: 5_000 });
    const lines = [
      header,
      { type: 'book_snapshot', exchange: 'binance', symbol: 'BTCUSDT', ts: T, recvTs: T, seq: 1, reason: 'initial', bids: [{ price: 5_999_900, qty: 300 }], asks: [{ price: 6_000_000, qty: 100 }] },
    ];
    const file = join(dir, 'rec-chain.jsonl');
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const clock = { now: () => Date.now(), monoNs: () => 0n };
    const venue = new SimVenue({ exchange: 'sim', clock, options: resolveSimOptions({ replay_file: file, replay_speed: 0, latency_ms: 5 }), symbols: ['BTCUSDT'] });
    const reports: ExecutionReport[] = [];
    await venue.execution.start((r) => {
      reports.push(r);
      // the strategy answers the first order's ack with a second one
      if (r.clientOrderId === 'g1' && r.kind === 'ack') venue.execution.submit(order('g2', { price: 5_900_100 }));
    });
    venue.start([], { onMarketEvent: () => {}, onFeedStatus: () => {}, onFeedError: () => {} });
    await vi.advanceTimersByTimeAsync(100);
    expect(venue.endOfStream).toBe(true);
    venue.execution.submit(order('g1', {}));
    await vi.advanceTimersByTimeAsync(100);
    expect(reports.map((r) => [r.clientOrderId, r.kind, r.ts])).toEqual([
      ['g1', 'ack', T + 5],
      ['g2', 'ack', T + 10],
    ]);
    expect(venue.activeTimers()).toBe(0);
    venue.stop();
  });
});

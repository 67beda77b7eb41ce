/**
 * Found by the kraken-ws fuzz target (seed 4, 10,000 frames: 3687 of 4781 venue trades emitted);
 * fixed in the adapter kit's TradeIdGuard (`floor2`).
 *
 * Two mutated copies of trade frames, two frames apart, each carried a trade id 1000 ahead of the
 * real one (within `maxTradeIdJump`): the first became the mark, the second a forward take from it,
 * so `floor` (the "id emitted before the mark") became the first poisoned id. Every real trade
 * after that is at or below `floor`, which TradeIdGuard reads as "emitted already": only a venue
 * restart may take it, and that needs times later than `maxTs`. One earlier mutated copy had a
 * trade time 20 days ahead; the Kraken feed gives the guard no clock, so that time became `maxTs`
 * for good. From then on every real DOGE/USD trade (1032 of them, on a live, subscribed
 * connection, every frame clean) was dropped as a duplicate, until the stream would reach the
 * poisoned id ~1000 trades later. The guard's contract: at most `rebaseAfter - 1` (2) real trades
 * dropped behind a poisoned mark.
 */
import type { MarketEventSink, TradeEvent } from '@cwts/core';
import { describe, expect, it } from 'vitest';
import { KrakenFeed } from '../src/feed.js';
import { instrumentsFromPairs } from '../src/instruments.js';

const pair = { symbol: 'BTC/USD', base: 'BTC', quote: 'USD', status: 'online', qty_precision: 8, qty_increment: 1e-8, price_precision: 1, price_increment: 0.1, cost_precision: 5, marginable: false, has_index: true, cost_min: 0.5, tick_size: 0.1, qty_min: 0.0001 };

function boot() {
  const instruments = instrumentsFromPairs('kraken', [pair], ['BTC/USD']);
  const trades: TradeEvent[] = [];
  const sink = { onMarketEvent: (e: { type: string }) => (e.type === 'trade' ? trades.push(e as TradeEvent) : undefined), onFeedStatus: () => {}, onFeedError: () => {}, onFeedReject: () => {} } as unknown as MarketEventSink;
  const T0 = Date.parse('2026-12-05T06:00:00.000Z');
  const feed = new KrakenFeed({ exchange: 'kraken', instruments, bookDepth: 25, sink: () => sink, now: () => T0, requestSnapshot: () => {} });
  /** One trade frame: rows of [trade_id, venue time in ms]. */
  const frame = (rows: [number, number][]) =>
    `{"channel":"trade","type":"update","data":[${rows.map(([id, ms]) => `{"symbol":"BTC/USD","side":"buy","price":65000.1,"qty":0.5,"ord_type":"limit","trade_id":${id},"timestamp":"${new Date(ms).toISOString().slice(0, 23)}000Z"}`).join(',')}]}`;
  const emitted = () => trades.map((t) => Number(t.tradeId));
  return { feed, frame, emitted, T0 };
}

const DAY = 86_400_000;

describe('KrakenFeed trade ids: two poisoned marks in a row (kraken-ws fuzz seed 4)', () => {
  function run(withFutureTime: boolean) {
    const { feed, frame, emitted, T0 } = boot();
    let t = T0;
    feed.onFrame(frame([[100, t], [101, t], [102, t]]));
    t += 100;
    // a mutated copy: the right id, a time 20 days ahead; then the real frame
    if (withFutureTime) feed.onFrame(frame([[103, t + 20 * DAY]]));
    feed.onFrame(frame([[103, t]]));
    t += 100;
    feed.onFrame(frame([[104, t], [105, t]]));
    t += 100;
    // a mutated copy with the first id 1000 ahead (fuzz frame 5898), then the real frame
    feed.onFrame(frame([[1106, t], [107, t], [108, t]]));
    feed.onFrame(frame([[106, t], [107, t], [108, t]]));
    t += 100;
    // two frames later another mutated copy 1000 ahead (fuzz frame 5900), then the real frame
    feed.onFrame(frame([[1109, t]]));
    feed.onFrame(frame([[109, t]]));
    // the real stream goes on, one trade a frame, each later than the last
    for (let id = 110; id <= 140; id++) {
      t += 100;
      feed.onFrame(frame([[id, t]]));
    }
    return emitted();
  }

  it('control: without the far-future trade time the real stream is followed again after 3 trades', () => {
    const got = run(false);
    for (let id = 113; id <= 140; id++) expect(got).toContain(id);
  });

  it('with one far-future trade time earlier on, the real stream behind the two marks is still followed again', () => {
    const got = run(true);
    // the guard's contract: at most rebaseAfter - 1 real trades dropped behind a poisoned mark
    const missing = [];
    for (let id = 113; id <= 140; id++) if (!got.includes(id)) missing.push(id);
    expect(missing).toEqual([]);
    // and none twice
    expect(new Set(got).size).toBe(got.length);
  });
});

/**
 * Replay: the recording's own feed statuses hold for the venue's copy of the book. A paper order
 * that reaches the venue while the recorded feed had declared its book broken (a sequence gap
 * it resynced after, a silent or lost connection) is refused BOOK_NOT_SYNCED, never filled at
 * the levels known before the break; the next snapshot makes the book usable again.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock, type ExecutionReport, type MarketEvent, type MarketEventSink, type Order } from '@cwts/core';
import { resolveSimOptions } from './options.js';
import { ReplaySource } from './replay.js';
import { SimVenue } from './venue.js';

const T = 1_700_000_000_000;
const dir = mkdtempSync(join(tmpdir(), 'cwts-sim-feed-status-'));

const spec = (symbol: string, base: string) => ({ exchange: 'binance', symbol, base, quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' });
const header = { kind: 'cwts-recording', version: 1, instruments: [spec('BTCUSDT', 'BTC'), spec('ETHUSDT', 'ETH')] };

function marketBuy(id: string, symbol = 'BTCUSDT'): Order {
  return { exchange: 'sim', symbol, side: 'buy', type: 'market', qty: 100, tif: 'IOC', source: 't', clientOrderId: id, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0 };
}

function writeRecording(name: string, lines: unknown[]): string {
  const file = join(dir, name);
  writeFileSync(file, [header, ...lines].map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

/** Replays `file`; on each trade whose id is a key of `orders`, sends that market buy (arrives latency_ms = 5 later). */
function replayWithOrders(file: string, orders: Record<string, Order>) {
  const venue = new SimVenue({ exchange: 'sim', clock: new ManualClock(0), options: resolveSimOptions({ replay_file: file, drive: 'manual', latency_ms: 5 }), symbols: ['BTCUSDT', 'ETHUSDT'] });
  const reports: ExecutionReport[] = [];
  void venue.execution.start((r) => reports.push(r));
  const sink: MarketEventSink = {
    onMarketEvent: (e) => {
      const o = e.type === 'trade' ? orders[e.tradeId] : undefined;
      if (o) venue.execution.submit(o);
    },
    onFeedStatus: () => {},
    onFeedError: () => {},
  };
  venue.start([], sink);
  return { venue, reports };
}

const snapshot = (symbol: string, ts: number, seq: number, bid: number, ask: number, reason: 'initial' | 'resync') => ({
  type: 'book_snapshot', exchange: 'binance', symbol, ts, recvTs: ts, seq, reason, bids: [{ price: bid, qty: 300 }], asks: [{ price: ask, qty: 100 }],
});
const trade = (symbol: string, ts: number, tradeId: string, price: number) => ({ type: 'trade', exchange: 'binance', symbol, ts, recvTs: ts, tradeId, price, qty: 1, side: 'buy' });
const status = (symbol: string, ts: number, state: string, reason: string) => ({ type: 'feed_status', exchange: 'binance', symbol, state, reason, ts });

describe('replay: the recorded feed status applies to the venue book', () => {
  for (const state of ['resyncing', 'stale', 'disconnected'] as const) {
    it(`an order arriving while the recorded feed is ${state} is refused BOOK_NOT_SYNCED; after the resync snapshot orders fill at the new book`, () => {
      const file = writeRecording(`rec-${state}.jsonl`, [
        snapshot('BTCUSDT', T, 100, 5_999_900, 6_000_000, 'initial'),
        status('BTCUSDT', T, 'synced', 'snapshot'),
        // m1 is sent on this trade (T+8) and reaches the venue at T+13
        trade('BTCUSDT', T + 8, 'a', 6_000_000),
        // the live feed lost updates at T+10: the book is unknown until the resync snapshot
        status('BTCUSDT', T + 10, state, 'sequence_gap: expected 101, got 140'),
        // the market had moved 1% up meanwhile
        snapshot('BTCUSDT', T + 500, 200, 6_059_900, 6_060_000, 'resync'),
        status('BTCUSDT', T + 500, 'synced', 'snapshot'),
        // m2 is sent on this trade and reaches the venue at T+605
        trade('BTCUSDT', T + 600, 'b', 6_060_000),
      ]);
      const { venue, reports } = replayWithOrders(file, { a: marketBuy('m1'), b: marketBuy('m2') });
      venue.runToEnd();
      expect(reports.map((r) => [r.clientOrderId, r.kind, r.rejectReason, r.lastPrice, r.ts])).toEqual([
        // not bought at 60000.00, the price of a book the feed had already declared unusable
        ['m1', 'rejected', 'BOOK_NOT_SYNCED', 0, T + 13],
        ['m2', 'ack', undefined, 0, T + 605],
        ['m2', 'fill', undefined, 6_060_000, T + 605],
      ]);
    });
  }

  it('a status with an empty symbol marks every book of the venue; each book is usable again after its own snapshot', () => {
    const file = writeRecording('rec-venue-wide.jsonl', [
      snapshot('BTCUSDT', T, 100, 5_999_900, 6_000_000, 'initial'),
      snapshot('ETHUSDT', T, 50, 299_900, 300_000, 'initial'),
      status('', T, 'synced', 'snapshot'),
      status('', T + 10, 'disconnected', 'connection lost'),
      snapshot('BTCUSDT', T + 400, 300, 6_000_900, 6_001_000, 'resync'),
      trade('ETHUSDT', T + 450, 'e', 300_000),
    ]);
    const { venue, reports } = replayWithOrders(file, { e: marketBuy('m-eth', 'ETHUSDT') });
    venue.advanceTo(T + 10);
    expect([venue.book('BTCUSDT')?.state, venue.book('ETHUSDT')?.state]).toEqual(['stale', 'stale']);
    venue.runToEnd();
    // BTCUSDT got its snapshot; ETHUSDT none since the disconnect: its order is refused
    expect([venue.book('BTCUSDT')?.state, venue.book('ETHUSDT')?.state]).toEqual(['synced', 'stale']);
    expect(reports.map((r) => [r.clientOrderId, r.kind, r.rejectReason])).toEqual([['m-eth', 'rejected', 'BOOK_NOT_SYNCED']]);
  });

  it('a resyncing status that repeats the last one delivered still marks a book a snapshot had synced in between', () => {
    const file = writeRecording('rec-repeat.jsonl', [
      snapshot('BTCUSDT', T, 100, 5_999_900, 6_000_000, 'initial'),
      status('BTCUSDT', T + 10, 'resyncing', 'sequence_gap'),
      snapshot('BTCUSDT', T + 20, 200, 5_999_900, 6_000_000, 'resync'),
      // no `synced` status recorded between the two gaps
      status('BTCUSDT', T + 30, 'resyncing', 'sequence_gap'),
      trade('BTCUSDT', T + 40, 'a', 6_000_000),
    ]);
    const { venue, reports } = replayWithOrders(file, { a: marketBuy('m1') });
    venue.runToEnd();
    expect(venue.book('BTCUSDT')?.state).toBe('resyncing');
    expect(reports.map((r) => [r.clientOrderId, r.kind, r.rejectReason])).toEqual([['m1', 'rejected', 'BOOK_NOT_SYNCED']]);
  });

  describe('a status time is the recording host\'s, not the venue\'s: it never moves the venue clock', () => {
    const DAY = 86_400_000;
    const ahead = () => [
      snapshot('BTCUSDT', T, 100, 5_999_900, 6_000_000, 'initial'),
      // a status whose (host) time is a day ahead: a stepped host clock, or one corrupted digit
      status('BTCUSDT', T + DAY, 'synced', 'snapshot'),
      trade('BTCUSDT', T + 100, 'a', 6_000_000),
      // the market moves 1% up 1 s later
      { type: 'book_delta', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 1_000, recvTs: T + 1_000, firstSeq: 101, seq: 101, bids: [{ price: 5_999_900, qty: 0 }, { price: 6_059_900, qty: 300 }], asks: [{ price: 6_000_000, qty: 0 }, { price: 6_060_000, qty: 100 }] },
    ];

    it('an order sent on a trade after a status stamped a day ahead arrives latency_ms after that trade, at the book of that moment', () => {
      const { venue, reports } = replayWithOrders(writeRecording('rec-status-ahead.jsonl', ahead()), { a: marketBuy('m1') });
      venue.runToEnd();
      expect(venue.replay!.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
      // it arrived a day on, after the end of the recording, and bought at 60600.00
      expect(reports.map((r) => [r.clientOrderId, r.kind, r.lastPrice, r.ts])).toEqual([
        ['m1', 'ack', 0, T + 105],
        ['m1', 'fill', 6_000_000, T + 105],
      ]);
    });

    it('does not hold back the records after it: advancing to T+200 delivers the trade at T+100', () => {
      const { venue } = replayWithOrders(writeRecording('rec-status-ahead-timed.jsonl', ahead()), {});
      venue.advanceTo(T + 200);
      expect([venue.replay!.delivered, venue.now]).toEqual([3, T + 100]);
    });

    it('a status stamped far ahead is merged with other files right after the record before it in its own file', () => {
      const a = writeRecording('merge-a.jsonl', [trade('BTCUSDT', T + 1, 'a1', 6_000_000), trade('BTCUSDT', T + 3, 'a3', 6_000_000)]);
      const b = writeRecording('merge-b.jsonl', [trade('ETHUSDT', T, 'b0', 300_000), status('ETHUSDT', T + DAY, 'synced', 'snapshot'), trade('ETHUSDT', T + 2, 'b2', 300_000)]);
      const src = new ReplaySource({ files: [a, b] });
      expect([...src].map((i) => (i.type === 'trade' ? i.tradeId : i.type))).toEqual(['b0', 'feed_status', 'a1', 'b2', 'a3']);
      expect(src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
    });

    describe('a status before the first market record of its file (the recorder writes `connecting` first)', () => {
      afterEach(() => vi.useRealTimers());

      it('stamped a day ahead, it does not hold back the rest of its file behind every other file in the merge', () => {
        const a = writeRecording('first-a.jsonl', [trade('BTCUSDT', T + 1, 'a1', 6_000_000), trade('BTCUSDT', T + 3, 'a3', 6_000_000)]);
        const b = writeRecording('first-b.jsonl', [status('ETHUSDT', T + DAY, 'connecting', 'start'), trade('ETHUSDT', T, 'b0', 300_000), trade('ETHUSDT', T + 2, 'b2', 300_000)]);
        const src = new ReplaySource({ files: [a, b] });
        // merged at its file's first market record (b0), not at its host time
        expect([...src].map((i) => (i.type === 'trade' ? i.tradeId : i.type))).toEqual(['feed_status', 'b0', 'a1', 'b2', 'a3']);
        expect(src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
      });

      it('stamped before that record, it is merged at its own time; in a file of statuses only, at theirs', () => {
        const a = writeRecording('first-own-a.jsonl', [trade('BTCUSDT', T + 1, 'a1', 6_000_000), trade('BTCUSDT', T + 3, 'a3', 6_000_000)]);
        const b = writeRecording('first-own-b.jsonl', [status('ETHUSDT', T, 'connecting', 'start'), trade('ETHUSDT', T + 2, 'b2', 300_000)]);
        const c = writeRecording('first-own-c.jsonl', [status('ETHUSDT', T + 2, 'disconnected', 'closed'), status('ETHUSDT', T + 2, 'connecting', 'retry')]);
        const src = new ReplaySource({ files: [a, b, c] });
        expect([...src].map((i) => (i.type === 'trade' ? i.tradeId : `${i.state}`))).toEqual(['connecting', 'a1', 'b2', 'disconnected', 'connecting', 'a3']);
      });

      it('timed replay (speed 1) is paced from the first market record, not from the status host time', async () => {
        const file = writeRecording('first-timed.jsonl', [
          status('BTCUSDT', T + DAY, 'connecting', 'start'),
          trade('BTCUSDT', T, 'x0', 6_000_000),
          trade('BTCUSDT', T + 5_000, 'x5', 6_000_000),
          trade('BTCUSDT', T + 10_000, 'x10', 6_000_000),
        ]);
        vi.useFakeTimers({ now: 5_000 });
        const clock = { now: () => Date.now(), monoNs: () => 0n };
        const venue = new SimVenue({ exchange: 'sim', clock, options: resolveSimOptions({ replay_file: file, replay_speed: 1 }) });
        const events: string[] = [];
        const sink: MarketEventSink = {
          onMarketEvent: (e: MarketEvent) => events.push(e.type === 'trade' ? e.tradeId : e.type),
          onFeedStatus: (st) => events.push(st.state),
          onFeedError: () => {},
        };
        venue.start(['BTCUSDT'], sink);
        await vi.advanceTimersByTimeAsync(1_000);
        // 1 s of wall time at speed 1: the status and the trade at T, not the 10 s of recording at once
        expect(events).toEqual(['connecting', 'x0']);
        await vi.advanceTimersByTimeAsync(5_000);
        expect(events).toEqual(['connecting', 'x0', 'x5']);
        venue.stop();
      });
    });
  });
});

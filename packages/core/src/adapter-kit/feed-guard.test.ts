import { describe, expect, it } from 'vitest';
import type { FeedReject, MarketEventSink } from '../contracts/exchange.js';
import type { BookDeltaEvent, FeedStatusEvent, MarketEvent } from '../domain/events.js';
import { BINANCE_SPOT_RULES, BookSync } from './book-sync.js';
import { FeedErrorReporter, TradeIdGuard, TradeIdVerdict, levelProblem, tradeProblem } from './feed-guard.js';

class Collect implements MarketEventSink {
  events: MarketEvent[] = [];
  status: FeedStatusEvent[] = [];
  logs: string[] = [];
  rejects: FeedReject[] = [];
  onMarketEvent(e: MarketEvent) {
    this.events.push(structuredClone(e));
  }
  onFeedStatus(s: FeedStatusEvent) {
    this.status.push(s);
  }
  onFeedError(_c: string, m: string) {
    this.logs.push(m);
  }
  onFeedReject(r: FeedReject) {
    this.rejects.push(r);
  }
}

const lv = (l: [number, number][]) => l.map(([price, qty]) => ({ price, qty }));
function delta(U: number, u: number, bids: [number, number][] = [], asks: [number, number][] = []): BookDeltaEvent {
  return { type: 'book_delta', exchange: 'x', symbol: 'S', ts: 0, recvTs: 0, firstSeq: U, seq: u, bids: lv(bids), asks: lv(asks) };
}

function syncedBook(maxSeqJump?: number) {
  const sink = new Collect();
  const asks: string[] = [];
  const sync = new BookSync({ exchange: 'x', symbol: 'S', rules: BINANCE_SPOT_RULES, sink: () => sink, requestSnapshot: (_s, why) => asks.push(why), now: () => 1, maxSeqJump });
  sync.begin();
  sync.onDelta(delta(101, 101, [[99, 1]]));
  sync.onSnapshot({ seq: 100, bids: lv([[100, 5]]), asks: lv([[101, 5]]), ts: 0 });
  expect(sync.state).toBe('synced');
  return { sink, asks, sync };
}

describe('feed value rules', () => {
  it('rejects non-positive prices, negative quantities and zero quantity outside deltas', () => {
    expect(levelProblem({ price: 1, qty: 0 }, true)).toBeUndefined();
    expect(levelProblem({ price: 1, qty: 0 }, false)).toBe('zero_qty');
    expect(levelProblem({ price: 0, qty: 1 }, true)).toBe('non_positive_price');
    expect(levelProblem({ price: -42990, qty: 1 }, true)).toBe('non_positive_price');
    expect(levelProblem({ price: 1, qty: -1 }, true)).toBe('negative_qty');
    expect(levelProblem({ price: NaN, qty: 1 }, true)).toBe('off_grid');
    expect(tradeProblem(43000, 0)).toBe('zero_qty');
    expect(tradeProblem(-43000, 1)).toBe('non_positive_price');
    expect(tradeProblem(43000, -1)).toBe('negative_qty');
    expect(tradeProblem(43000, 1)).toBeUndefined();
  });

  it('does not let one far-ahead trade id turn later real trades into duplicates', () => {
    const g = new TradeIdGuard(1000, 3);
    expect(g.check(500)).toBe(TradeIdVerdict.NEW);
    expect(g.check(9e15)).toBe(TradeIdVerdict.JUMP);
    expect(g.check(501)).toBe(TradeIdVerdict.NEW);
    expect(g.check(501)).toBe(TradeIdVerdict.DUPLICATE);
    // a venue that really moved on: three consistent far-ahead ids and the guard follows
    expect(g.check(1_000_000)).toBe(TradeIdVerdict.JUMP);
    expect(g.check(1_000_001)).toBe(TradeIdVerdict.JUMP);
    expect(g.check(1_000_002)).toBe(TradeIdVerdict.NEW);
    expect(g.check(1_000_003)).toBe(TradeIdVerdict.NEW);
  });

  it('does not follow far-ahead ids that real trades (even repeated ones) keep interrupting', () => {
    // the fuzzer's case: the mark sits a little ahead of the real stream, so every real trade is
    // a duplicate, and poison ids 2^44 ahead arrive between them
    const g = new TradeIdGuard(1000, 3);
    expect(g.check(900)).toBe(TradeIdVerdict.NEW);
    for (let k = 0; k < 5; k++) {
      expect(g.check(2 ** 44 + k), `poison ${k}`).toBe(TradeIdVerdict.JUMP);
      expect(g.check(500 + k), `real ${k}`).toBe(TradeIdVerdict.DUPLICATE);
    }
    expect(g.last).toBe(900);
  });

  it('moves a mark a little ahead of the stream back to the later real trades behind it, but never for a replay', () => {
    const g = new TradeIdGuard(1000, 3);
    expect(g.check(500, 10)).toBe(TradeIdVerdict.NEW);
    // one mutated digit: 900 is within the bound, so it becomes the mark (at the real time 11)
    expect(g.check(900, 11)).toBe(TradeIdVerdict.NEW);
    // a replay after a reconnect: ids behind the mark at times not after it stay duplicates
    for (const [id, ts] of [[498, 9], [499, 10], [500, 10], [501, 11], [502, 11]] as const) expect(g.check(id, ts), `replay ${id}`).toBe(TradeIdVerdict.DUPLICATE);
    expect(g.last).toBe(900);
    // the real stream goes on after the mark's time: the third such trade in a row moves the mark back
    expect(g.check(503, 12)).toBe(TradeIdVerdict.DUPLICATE);
    expect(g.check(504, 12)).toBe(TradeIdVerdict.DUPLICATE);
    expect(g.check(505, 13)).toBe(TradeIdVerdict.NEW);
    expect(g.last).toBe(505);
    expect(g.rebasedBack).toBe(1);
    expect(g.check(506, 13)).toBe(TradeIdVerdict.NEW);
    expect(g.check(505, 13)).toBe(TradeIdVerdict.DUPLICATE);
  });

  it('does not move back on later trades that are interrupted, out of order, or without times', () => {
    const g = new TradeIdGuard(1000, 3);
    expect(g.check(900, 10)).toBe(TradeIdVerdict.NEW);
    // interrupted by a trade at the mark's time
    expect(g.check(503, 12)).toBe(TradeIdVerdict.DUPLICATE);
    expect(g.check(504, 12)).toBe(TradeIdVerdict.DUPLICATE);
    expect(g.check(890, 10)).toBe(TradeIdVerdict.DUPLICATE);
    expect(g.check(505, 13)).toBe(TradeIdVerdict.DUPLICATE);
    // ids not increasing
    expect(g.check(507, 13)).toBe(TradeIdVerdict.DUPLICATE);
    expect(g.check(506, 14)).toBe(TradeIdVerdict.DUPLICATE);
    // no times: the id rule alone
    for (let k = 0; k < 5; k++) expect(g.check(600 + k)).toBe(TradeIdVerdict.DUPLICATE);
    expect(g.last).toBe(900);
    expect(g.rebasedBack).toBe(0);
  });

  it('counts every rejection and logs at most one line per (symbol, reason) per window on the injected clock', () => {
    const sink = new Collect();
    let now = 0;
    const r = new FeedErrorReporter({ exchange: 'x', component: 'x:md', sink: () => sink, now: () => now, logEveryMs: 1000 });
    for (let k = 0; k < 5; k++) r.reject('S', 'malformed', `frame ${k}`);
    r.reject('S', 'off_grid', 'level');
    expect(sink.rejects).toHaveLength(6);
    expect(sink.logs).toHaveLength(2);
    now = 999;
    r.reject('S', 'malformed', 'again');
    expect(sink.logs).toHaveLength(2);
    now = 1000;
    r.reject('S', 'malformed', 'later');
    expect(sink.logs).toHaveLength(3);
    expect(sink.logs[2]).toMatch(/later \(and 5 more like it not logged\)/);
    expect(r.counts).toEqual({ malformed: 7, off_grid: 1 });
  });
});

describe('BookSync validation', () => {
  it('never applies a delta with a non-positive price or negative qty, and leaves SYNCED', () => {
    for (const bad of [delta(101, 102, [[-42990, 1]]), delta(101, 102, [[0, 1]]), delta(101, 102, [], [[105, -1]])]) {
      const { sink, sync } = syncedBook();
      const n = sink.events.length;
      sync.onDelta(bad);
      expect(sink.events.length).toBe(n);
      expect(sync.state).toBe('buffering');
      expect(sink.status.at(-1)).toMatchObject({ state: 'resyncing', reason: expect.stringMatching(/^invalid update/) });
      expect(sink.rejects).toHaveLength(1);
      expect(sync.mirror.bids.n + sync.mirror.asks.n).toBe(0);
    }
  });

  it('rejects a frame with a valid U and a huge u instead of letting it poison the sequence', () => {
    const { sink, sync } = syncedBook();
    sync.onDelta(delta(102, 9007199254740000, [[100, 9]]));
    expect(sink.rejects.map((r) => r.reason)).toEqual(['seq_jump']);
    expect(sync.state).toBe('buffering');
    expect(sink.events.some((e) => e.type === 'book_delta' && e.seq === 9007199254740000)).toBe(false);
    // the resync restores the book from the real stream
    sync.onDelta(delta(102, 103, [[100, 7]]));
    sync.onSnapshot({ seq: 102, bids: lv([[100, 6]]), asks: lv([[101, 5]]), ts: 0 });
    expect(sync.state).toBe('synced');
    expect(sync.mirror.bids.get(100)).toBe(7);
  });

  it('resyncs when updates fall far behind the book (the book seq itself is wrong)', () => {
    const { sink, sync } = syncedBook(1000);
    sync.onDelta(delta(102, 102));
    expect(sync.state).toBe('synced');
    (sync.mirror as { seq: number }).seq = 5000; // as if a poisoned snapshot id had been taken
    sync.onDelta(delta(103, 103));
    expect(sync.state).toBe('buffering');
    expect(sink.rejects.at(-1)!.reason).toBe('seq_jump');
  });

  describe('updates buffered while a snapshot is awaited', () => {
    function awaiting(maxSeqJump = 1000) {
      const sink = new Collect();
      const asks: string[] = [];
      const sync = new BookSync({ exchange: 'x', symbol: 'S', rules: BINANCE_SPOT_RULES, sink: () => sink, requestSnapshot: (_s, why) => asks.push(why), now: () => 1, maxSeqJump });
      sync.begin();
      return { sink, asks, sync };
    }
    const shown = (sink: Collect, price: number) => sink.events.some((e) => (e.type === 'book_delta' || e.type === 'book_snapshot') && e.bids.some((l) => l.price === price));

    it('a far-ahead update after buffered ones is rejected (seq_jump) and the buffer starts over: the next snapshot syncs', () => {
      const { sink, sync } = awaiting();
      sync.onDelta(delta(101, 102, [[99, 1]]));
      sync.onDelta(delta(9_000_000, 9_000_001, [[42, 1]]));
      expect(sink.rejects.map((r) => r.reason)).toEqual(['seq_jump']);
      expect(sync.buffered).toBe(0);
      sync.onDelta(delta(103, 104, [[98, 1]]));
      sync.onDelta(delta(105, 106, [[97, 1]]));
      sync.onSnapshot({ seq: 104, bids: lv([[100, 5]]), asks: lv([[101, 5]]), ts: 0 });
      expect(sync.state).toBe('synced');
      expect(sync.lastSeq).toBe(106);
      expect(shown(sink, 42)).toBe(false);
    });

    it('a far-off update buffered first is purged by the next real one (ahead or behind), and the book syncs', () => {
      // ahead: the snapshot looks older than the buffer and another is asked for; behind: the
      // snapshot looks far ahead of the buffer and is rejected too (one update cannot tell which is wrong)
      for (const [bad, rejects] of [
        [delta(9_000_000, 9_000_001, [[42, 1]]), ['seq_jump']],
        [delta(1, 2, [[42, 1]]), ['seq_jump', 'seq_jump']],
      ] as const) {
        const { sink, asks, sync } = awaiting();
        sync.onDelta(bad);
        sync.onSnapshot({ seq: 50_002, bids: lv([[100, 5]]), asks: lv([[101, 5]]), ts: 0 });
        expect(sync.state).toBe('buffering');
        sync.onDelta(delta(50_003, 50_004, [[98, 1]]));
        expect(sync.buffered).toBe(0);
        sync.onDelta(delta(50_005, 50_006, [[97, 1]]));
        expect(sync.buffered).toBe(1);
        const n = asks.length;
        sync.onSnapshot({ seq: 50_004, bids: lv([[100, 5]]), asks: lv([[101, 5]]), ts: 0 });
        expect(sync.state).toBe('synced');
        expect(sync.lastSeq).toBe(50_006);
        expect(asks.length).toBe(n);
        expect(sink.rejects.map((r) => r.reason)).toEqual(rejects);
        expect(shown(sink, 42)).toBe(false);
      }
    });

    it('a far-ahead update after a snapshot awaiting confirmation is rejected, not buffered', () => {
      const { sink, sync } = awaiting();
      sync.onDelta(delta(101, 102));
      sync.onSnapshot({ seq: 110, bids: lv([[100, 5]]), asks: lv([[101, 5]]), ts: 0 });
      expect(sync.awaitingConfirmation).toBe(true);
      sync.onDelta(delta(9_000_000, 9_000_001, [[42, 1]]));
      expect(sink.rejects.map((r) => r.reason)).toEqual(['seq_jump']);
      expect(sync.buffered).toBe(0);
      sync.onDelta(delta(111, 112));
      sync.onSnapshot({ seq: 111, bids: lv([[100, 5]]), asks: lv([[101, 5]]), ts: 0 });
      expect(sync.state).toBe('synced');
    });

    it('a venue whose ids really moved on by more than the bound still syncs: after a long disconnect, and while buffering', () => {
      const { sink, sync } = syncedBook(1000);
      // a long disconnect: the venue's ids moved on by far more than the bound meanwhile
      sync.suspend();
      sync.begin('reconnect');
      sync.onDelta(delta(5_000_001, 5_000_002, [[99, 2]]));
      sync.onSnapshot({ seq: 5_000_001, bids: lv([[100, 5]]), asks: lv([[101, 5]]), ts: 0 });
      expect(sync.state).toBe('synced');
      expect(sync.lastSeq).toBe(5_000_002);
      // while buffering, without a disconnect: one update is lost, the buffer starts at the new ids
      sync.resync('test');
      sync.onDelta(delta(5_000_003, 5_000_004));
      sync.onDelta(delta(9_000_001, 9_000_002));
      sync.onDelta(delta(9_000_003, 9_000_004, [[98, 1]]));
      sync.onSnapshot({ seq: 9_000_003, bids: lv([[100, 5]]), asks: lv([[101, 5]]), ts: 0 });
      expect(sync.state).toBe('synced');
      expect(sync.lastSeq).toBe(9_000_004);
      expect(sink.rejects.map((r) => r.reason)).toEqual(['seq_jump']);
    });
  });

  it('rejects invalid snapshots (negative bid, zero qty, crossed, far ahead of the stream) and asks again', () => {
    for (const [snap, reason] of [
      [{ seq: 100, bids: lv([[-1, 5]]), asks: lv([[101, 5]]) }, 'non_positive_price'],
      [{ seq: 100, bids: lv([[100, 0]]), asks: lv([[101, 5]]) }, 'zero_qty'],
      [{ seq: 100, bids: lv([[102, 1]]), asks: lv([[101, 5]]) }, 'bad_snapshot'],
      [{ seq: 9007199254740000, bids: lv([[100, 1]]), asks: lv([[101, 5]]) }, 'seq_jump'],
    ] as const) {
      const sink = new Collect();
      const asks: string[] = [];
      const sync = new BookSync({ exchange: 'x', symbol: 'S', rules: BINANCE_SPOT_RULES, sink: () => sink, requestSnapshot: (_s, why) => asks.push(why), now: () => 1 });
      sync.begin();
      sync.onDelta(delta(101, 101, [[99, 1]]));
      sync.onSnapshot({ ...snap, bids: [...snap.bids], asks: [...snap.asks], ts: 0 });
      expect(sync.state, reason).toBe('buffering');
      expect(sink.events, reason).toHaveLength(0);
      expect(sink.rejects.map((r) => r.reason)).toEqual([reason]);
      expect(asks).toHaveLength(2);
    }
  });
});
